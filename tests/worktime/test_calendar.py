"""Working-time arithmetic on real State Council holiday arrangements (pure: no database).

Office hours throughout: 08:30-12:00, 13:30-17:30 Beijing time, i.e. 3.5 h + 4 h = 450 minutes a working day.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from functools import cache
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from civicgrid.errors import InvalidInputError
from civicgrid.worktime.calendar import (
    UnknownCalendarYearError,
    WorkCalendar,
    WorkDuration,
    format_office_hours,
    parse_limit,
    parse_office_hours,
)

BJ = ZoneInfo("Asia/Shanghai")
UTC = dt.UTC
OFFICE = "08:30-12:00,13:30-17:30"
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def bj(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=BJ)


def make_calendar(
    overrides: dict[dt.date, bool] | None = None, confirmed: tuple[int, ...] = (), office: str = OFFICE
) -> WorkCalendar:
    return WorkCalendar(overrides=overrides or {}, confirmed_years=confirmed, office_hours=parse_office_hours(office))


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return make_calendar()


def hours(value: float) -> WorkDuration:
    return parse_limit(value, "hours", 450)


# --- working days ------------------------------------------------------------------------------------------------


def test_2025_national_day_make_up_workdays_and_holidays(cal: WorkCalendar) -> None:
    assert cal.is_workday(dt.date(2025, 9, 28))  # Sunday, 调休 working day
    assert cal.is_workday(dt.date(2025, 10, 11))  # Saturday, 调休 working day
    assert not cal.is_workday(dt.date(2025, 10, 8))  # Wednesday, last day of the 8-day holiday
    assert not cal.is_workday(dt.date(2025, 10, 1))
    assert cal.is_workday(dt.date(2025, 10, 9))  # Thursday, back to work
    assert not cal.is_workday(dt.date(2025, 10, 12))  # plain Sunday


def test_2026_spring_festival_days(cal: WorkCalendar) -> None:
    assert cal.is_workday(dt.date(2026, 2, 14))  # Saturday before the festival, 调休
    assert not cal.is_workday(dt.date(2026, 2, 16))  # Monday, 除夕
    assert not cal.is_workday(dt.date(2026, 2, 23))  # Monday, last day off
    assert cal.is_workday(dt.date(2026, 2, 24))
    assert not cal.is_workday(dt.date(2026, 2, 21))  # Saturday inside the holiday
    assert cal.is_workday(dt.date(2026, 2, 28))  # Saturday, 调休


def test_a_year_nobody_entered_is_refused_not_guessed(cal: WorkCalendar) -> None:
    for day in (dt.date(2027, 3, 3), dt.date(2003, 6, 2)):
        with pytest.raises(UnknownCalendarYearError) as caught:
            cal.is_workday(day)
        assert caught.value.code == "calendar_year_unknown"
        assert caught.value.detail == {"year": day.year}
        assert f"{day.year}年的节假日安排尚未录入" in caught.value.message
        assert isinstance(caught.value, InvalidInputError)


def test_overrides_answer_their_day_and_confirmation_covers_the_rest() -> None:
    entered = make_calendar({dt.date(2027, 1, 1): False, dt.date(2027, 2, 20): True})
    assert not entered.is_workday(dt.date(2027, 1, 1))
    assert entered.is_workday(dt.date(2027, 2, 20))  # a Saturday entered as working day
    with pytest.raises(UnknownCalendarYearError):
        entered.is_workday(dt.date(2027, 3, 3))  # entered but not confirmed: the rest is still unknown
    confirmed = make_calendar({dt.date(2027, 1, 1): False, dt.date(2027, 2, 20): True}, confirmed=(2027,))
    assert confirmed.is_workday(dt.date(2027, 3, 3))  # Wednesday
    assert not confirmed.is_workday(dt.date(2027, 3, 6))  # Saturday
    assert not confirmed.is_workday(dt.date(2027, 1, 1))
    assert confirmed.is_workday(dt.date(2027, 2, 20))


def test_an_override_beats_chinese_calendar() -> None:
    cal = make_calendar({dt.date(2025, 10, 8): True, dt.date(2025, 9, 29): False})
    assert cal.is_workday(dt.date(2025, 10, 8))
    assert not cal.is_workday(dt.date(2025, 9, 29))
    # Sep 30 16:00-17:30 (1.5 h), then Oct 8 08:30 + 2.5 h = 11:00, a day earlier than without the override
    assert cal.add(bj(2025, 9, 30, 16), hours(4)) == bj(2025, 10, 8, 11)


def test_confirmation_does_not_override_chinese_calendar() -> None:
    cal = make_calendar(confirmed=(2025,))
    assert not cal.is_workday(dt.date(2025, 10, 8))  # still the State Council's holiday, not "a Wednesday"


# --- add ---------------------------------------------------------------------------------------------------------


def test_four_hours_across_national_day_2025(cal: WorkCalendar) -> None:
    # Tue 2025-09-30 16:00 → 17:30 is 1.5 h; Oct 1-8 are off (National Day + Mid-Autumn); 2.5 h remain from
    # Thu Oct 9 08:30 → 11:00 Beijing = 03:00 UTC.
    due = cal.add(bj(2025, 9, 30, 16), hours(4))
    assert due == dt.datetime(2025, 10, 9, 3, 0, tzinfo=UTC)
    assert due.tzinfo is UTC
    assert cal.working_minutes_between(bj(2025, 9, 30, 16), due) == 240


def test_fifteen_working_days_across_national_day_2025(cal: WorkCalendar) -> None:
    # Start Fri 2025-09-26 10:00. 15 working days = 15 x 450 min, so the deadline is 10:00 on the 15th working day
    # after the start day: Sep 28 (Sun, 调休) 1, Sep 29 2, Sep 30 3, [Oct 1-8 off], Oct 9 4, Oct 10 5,
    # Oct 11 (Sat, 调休) 6, Oct 13-17 7-11, Oct 20 12, Oct 21 13, Oct 22 14, Oct 23 15 → Thu 2025-10-23 10:00.
    limit = parse_limit(15, "工作日", cal.day_minutes())
    assert limit == WorkDuration(6750)
    assert cal.add(bj(2025, 9, 26, 10), limit) == bj(2025, 10, 23, 10)


def test_three_working_days_across_spring_festival_2026(cal: WorkCalendar) -> None:
    # Fri 2026-02-13 15:00: 150 min that day (1200 left of 1350); Sat Feb 14 is a 调休 working day (450 → 750
    # left); Feb 15-23 off; Tue Feb 24 full day (→ 300 left); Wed Feb 25 08:30-12:00 (→ 90 left), 13:30 + 90 min
    # → 15:00 on Wed 2026-02-25.
    assert cal.add(bj(2026, 2, 13, 15), parse_limit(3, "days", 450)) == bj(2026, 2, 25, 15)


def test_a_start_on_a_holiday_waits_for_the_first_working_morning(cal: WorkCalendar) -> None:
    # 2026-02-18 is inside the Spring Festival: 4 h from Tue Feb 24 08:30 = 3.5 h to 12:00 + 0.5 h from 13:30.
    assert cal.add(bj(2026, 2, 18, 10), hours(4)) == bj(2026, 2, 24, 14)


@pytest.mark.parametrize(
    ("start", "limit", "expected", "why"),
    [
        (bj(2025, 10, 9, 22), hours(1), bj(2025, 10, 10, 9, 30), "at night: from 08:30 next morning"),
        (bj(2025, 10, 10, 2), hours(1), bj(2025, 10, 10, 9, 30), "after midnight: same morning"),
        (bj(2025, 10, 10, 7), WorkDuration(30), bj(2025, 10, 10, 9), "before office: from 08:30"),
        (bj(2025, 10, 10, 12, 30), hours(1), bj(2025, 10, 10, 14, 30), "at lunch: from 13:30"),
        (bj(2025, 10, 10, 12), hours(1), bj(2025, 10, 10, 14, 30), "12:00 itself is lunch"),
        (bj(2025, 10, 10, 11), hours(2), bj(2025, 10, 10, 14, 30), "across lunch"),
        (bj(2025, 10, 9, 11), hours(1), bj(2025, 10, 9, 12), "ends on a period end, not after lunch"),
        (bj(2025, 10, 9, 13, 30), hours(4), bj(2025, 10, 9, 17, 30), "exactly one afternoon"),
        (bj(2025, 10, 9, 8, 30), hours(7.5), bj(2025, 10, 9, 17, 30), "exactly one day ends that evening"),
        (bj(2025, 10, 10, 17), hours(1), bj(2025, 10, 11, 9), "Fri 17:00 → Sat 09:00: Oct 11 is 调休"),
        (bj(2025, 10, 11, 17), hours(1), bj(2025, 10, 13, 9), "Sat (调休) 17:00 → Mon 09:00"),
    ],
)
def test_starts_outside_office_time_and_period_ends(
    cal: WorkCalendar, start: dt.datetime, limit: WorkDuration, expected: dt.datetime, why: str
) -> None:
    assert cal.add(start, limit) == expected, why


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (bj(2025, 10, 9, 10, 15), bj(2025, 10, 9, 10, 15)),  # a working instant is returned as is
        (bj(2025, 10, 9, 8, 30), bj(2025, 10, 9, 8, 30)),  # a period start is working time
        (bj(2025, 10, 9, 12), bj(2025, 10, 9, 13, 30)),  # a period end is not ([start, end))
        (bj(2025, 10, 9, 12, 45), bj(2025, 10, 9, 13, 30)),
        (bj(2025, 10, 9, 17, 30), bj(2025, 10, 10, 8, 30)),
        (bj(2025, 9, 30, 20), bj(2025, 10, 9, 8, 30)),  # across the whole National Day holiday
        (bj(2026, 2, 14, 18), bj(2026, 2, 24, 8, 30)),  # across the Spring Festival 2026
    ],
)
def test_a_zero_duration_gives_the_next_working_instant(
    cal: WorkCalendar, start: dt.datetime, expected: dt.datetime
) -> None:
    assert cal.add(start, WorkDuration(0)) == expected
    assert cal.is_working_instant(expected)
    assert cal.working_minutes_between(start, expected) == 0


def test_time_zones_in_and_utc_out(cal: WorkCalendar) -> None:
    start_utc = dt.datetime(2025, 9, 30, 8, 0, tzinfo=UTC)  # = 16:00 Beijing
    assert cal.add(start_utc, hours(4)) == cal.add(bj(2025, 9, 30, 16), hours(4))
    due = cal.add(dt.datetime(2025, 9, 30, 10, 0, tzinfo=ZoneInfo("Europe/Berlin")), hours(4))  # 16:00 Beijing
    assert due.utcoffset() == dt.timedelta(0)
    assert due == dt.datetime(2025, 10, 9, 3, 0, tzinfo=UTC)
    assert cal.add(bj(2025, 10, 9, 9, 0) + dt.timedelta(seconds=30, microseconds=7), WorkDuration(1)) == bj(
        2025, 10, 9, 9, 1
    ) + dt.timedelta(seconds=30, microseconds=7)


def test_naive_datetimes_are_refused(cal: WorkCalendar) -> None:
    naive = dt.datetime(2025, 10, 9, 9, 0)
    with pytest.raises(ValueError, match="naive"):
        cal.add(naive, hours(1))
    with pytest.raises(ValueError, match="naive"):
        cal.working_minutes_between(naive, bj(2025, 10, 10))
    with pytest.raises(ValueError, match="naive"):
        cal.working_minutes_between(bj(2025, 10, 10), naive)
    with pytest.raises(ValueError, match="naive"):
        cal.is_working_instant(naive)


def test_a_deadline_running_into_an_unknown_year_is_refused(cal: WorkCalendar) -> None:
    with pytest.raises(UnknownCalendarYearError) as caught:
        cal.add(bj(2026, 12, 31, 16), hours(4))  # only 1.5 h left in 2026
    assert caught.value.detail == {"year": 2027}
    # ...but a range that ends at midnight needs nothing of 2027
    assert cal.working_minutes_between(bj(2026, 12, 31, 16), bj(2027, 1, 1)) == 90
    assert cal.add(bj(2026, 12, 31, 16), hours(1.5)) == bj(2026, 12, 31, 17, 30)
    # and a start after office hours on the last evening of an unknown year (2003) needs only the next day's status
    assert cal.add(bj(2003, 12, 31, 20), WorkDuration(0)) == bj(2004, 1, 2, 8, 30)  # Jan 1 2004 off, Jan 2 Fri


def test_a_year_of_working_time_is_exact_and_fast(cal: WorkCalendar) -> None:
    # 250 working days from Thu 2025-01-02 08:30 end at 17:30 on the 250th working day counted from Jan 2 itself
    # — in January 2026, as 2025 has only 248 (chinese_calendar's own list of working days is the check).
    workdays = chinese_calendar.get_workdays(dt.date(2025, 1, 2), dt.date(2026, 6, 30))
    assert workdays[249].year == 2026
    start = bj(2025, 1, 2, 8, 30)
    began = time.perf_counter()
    due = cal.add(start, parse_limit(250, "days", 450))
    elapsed = cal.working_minutes_between(start, due)
    took = time.perf_counter() - began
    assert due == dt.datetime.combine(workdays[249], dt.time(17, 30), tzinfo=BJ)
    assert elapsed == 250 * 450
    assert took < 1.0  # about a millisecond: whole days are skipped, never minute by minute


def test_other_office_hours() -> None:
    single = make_calendar(office="09:00-17:00")
    assert single.day_minutes() == 480
    assert single.add(bj(2025, 10, 10, 16), hours(2)) == bj(2025, 10, 11, 10)  # Sat Oct 11 is 调休
    round_the_clock = make_calendar(office="00:00-24:00")
    assert round_the_clock.day_minutes() == 1440
    # working time runs through midnight of working days; Sep 30 → Oct 9 skips the holiday
    assert round_the_clock.add(bj(2025, 10, 9, 23), hours(2)) == bj(2025, 10, 10, 1)
    assert round_the_clock.add(bj(2025, 9, 30, 23), hours(2)) == bj(2025, 10, 9, 1)
    assert round_the_clock.add(bj(2025, 10, 9, 22), hours(2)) == bj(2025, 10, 10, 0)


# --- working_minutes_between -------------------------------------------------------------------------------------


def test_working_minutes_between_examples(cal: WorkCalendar) -> None:
    assert cal.working_minutes_between(bj(2025, 10, 9, 11), bj(2025, 10, 9, 14)) == 60 + 30
    assert cal.working_minutes_between(bj(2025, 9, 30, 8), bj(2025, 10, 9, 23)) == 450 + 450
    assert cal.working_minutes_between(bj(2025, 10, 9, 14), bj(2025, 10, 9, 14)) == 0
    assert cal.working_minutes_between(bj(2025, 10, 9, 15), bj(2025, 10, 9, 14)) == 0
    assert cal.working_minutes_between(bj(2025, 10, 1), bj(2025, 10, 8, 23)) == 0
    # seconds count, and the total is rounded down to whole minutes
    assert cal.working_minutes_between(bj(2025, 10, 9, 9), bj(2025, 10, 9, 9, 1) + dt.timedelta(seconds=59)) == 1


# --- properties ----------------------------------------------------------------------------------------------------

# Starts end mid-November 2026 so that 200 working hours (~27 working days) stay inside the years chinese_calendar
# knows; seconds and microseconds are included on purpose.
starts = st.builds(
    lambda naive, zone: naive.replace(tzinfo=BJ).astimezone(zone),
    st.datetimes(min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2026, 11, 15)),
    st.sampled_from([BJ, UTC]),
)
minute_starts = st.datetimes(min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2026, 11, 15)).map(
    lambda naive: naive.replace(second=0, microsecond=0, tzinfo=BJ)
)
CALENDAR = make_calendar()


@settings(max_examples=150, deadline=None)
@given(start=starts, minutes=st.integers(min_value=0, max_value=200 * 60))
def test_add_and_working_minutes_between_are_inverse(start: dt.datetime, minutes: int) -> None:
    """For EVERY start s — a working instant or not — and every d ≥ 0:

    1. working_minutes_between(s, add(s, d)) == d: the non-working stretch before a non-working start's first
       working instant counts nothing, so the identity needs no precondition on s;
    2. add(s, d) == add(add(s, 0), d): a non-working start behaves as the next working instant;
    3. add(s, d) is the earliest such instant: one minute earlier, only d - 1 whole minutes have elapsed;
    4. add(s, 0) is a working instant at or after s.
    """
    duration = WorkDuration(minutes)
    due = CALENDAR.add(start, duration)
    assert due.utcoffset() == dt.timedelta(0)
    assert CALENDAR.working_minutes_between(start, due) == minutes
    first = CALENDAR.add(start, WorkDuration(0))
    assert first >= start
    assert CALENDAR.is_working_instant(first)
    assert CALENDAR.add(first, duration) == due
    if minutes > 0:
        assert CALENDAR.working_minutes_between(start, due - dt.timedelta(minutes=1)) == minutes - 1


# instants a positive deadline can fall on: working days (by chinese_calendar), minute in (08:30, 12:00] or
# (13:30, 17:30] — the minute BEFORE them is working time
WORKDAYS = chinese_calendar.get_workdays(dt.date(2024, 1, 1), dt.date(2026, 11, 15))
DEADLINE_MINUTES = [*range(8 * 60 + 31, 12 * 60 + 1), *range(13 * 60 + 31, 17 * 60 + 31)]
deadline_instants = st.builds(
    lambda day, minute: dt.datetime.combine(day, dt.time(), tzinfo=BJ) + dt.timedelta(minutes=minute),
    st.sampled_from(WORKDAYS),
    st.sampled_from(DEADLINE_MINUTES),
)


@settings(max_examples=100, deadline=None)
@given(end=deadline_instants, offset=st.integers(min_value=1, max_value=30 * 24 * 60))
def test_add_inverts_working_minutes_between_where_a_deadline_can_fall(end: dt.datetime, offset: int) -> None:
    """The converse, add(s, working_minutes_between(s, e)) == e, holds only for an e that a positive deadline can be:
    one whose preceding minute is working time, i.e. e in (period start, period end] of a working day (minute-
    aligned here, so no fractions are rounded away). For e = 12:45 or e = 13:30 it gives 12:00: the earliest
    instant with that much working time elapsed."""
    start = end - dt.timedelta(minutes=offset)
    assert CALENDAR.add(start, WorkDuration(CALENDAR.working_minutes_between(start, end))) == end


def test_the_converse_fails_off_the_clock_as_documented(cal: WorkCalendar) -> None:
    for end in (bj(2025, 10, 9, 12, 45), bj(2025, 10, 9, 13, 30)):
        assert cal.add(bj(2025, 10, 9, 9), WorkDuration(cal.working_minutes_between(bj(2025, 10, 9, 9), end))) == bj(
            2025, 10, 9, 12
        )


@cache
def _oracle_workday(day: dt.date) -> bool:
    return bool(chinese_calendar.is_workday(day))


def _oracle_add(start: dt.datetime, minutes: int) -> dt.datetime:
    """Brute force: walk minute by minute (whole days off skipped), count minutes inside 08:30-12:00/13:30-17:30."""
    moment = start.replace(tzinfo=None)
    counted = 0
    while True:
        if not _oracle_workday(moment.date()):
            moment = dt.datetime.combine(moment.date() + dt.timedelta(days=1), dt.time())
            continue
        clock = moment.hour * 60 + moment.minute
        working = 8 * 60 + 30 <= clock < 12 * 60 or 13 * 60 + 30 <= clock < 17 * 60 + 30
        if working:
            if counted == minutes:
                return moment.replace(tzinfo=BJ)
            counted += 1
            if counted == minutes:
                return (moment + dt.timedelta(minutes=1)).replace(tzinfo=BJ)
        moment += dt.timedelta(minutes=1)


@settings(max_examples=80, deadline=None)
@given(start=minute_starts, minutes=st.integers(min_value=0, max_value=2 * 450))
def test_add_agrees_with_a_brute_force_count(start: dt.datetime, minutes: int) -> None:
    assert CALENDAR.add(start, WorkDuration(minutes)) == _oracle_add(start, minutes)


# --- parsing -----------------------------------------------------------------------------------------------------


def test_office_hours_are_parsed() -> None:
    periods = parse_office_hours(OFFICE)
    assert periods == ((dt.time(8, 30), dt.time(12, 0)), (dt.time(13, 30), dt.time(17, 30)))
    assert parse_office_hours(" 8:30 - 12:00，13:30～17:30 ") == periods
    assert format_office_hours(periods) == OFFICE
    assert parse_office_hours("00:00-24:00") == ((dt.time(0, 0), dt.time.max),)
    assert make_calendar().day_minutes() == 450


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "不能为空"),
        ("   ", "不能为空"),
        ("08:30", "格式不正确"),
        ("08:30-12:00,", "格式不正确"),
        ("8点半到12点", "格式不正确"),
        ("12:00-08:30", "结束时间须晚于开始时间"),
        ("08:30-08:30", "结束时间须晚于开始时间"),
        ("25:00-26:00", "时刻无效"),
        ("08:60-12:00", "时刻无效"),
        ("00:00-24:30", "时刻无效"),
        ("24:00-24:00", "时刻无效"),
        ("08:30-12:00,11:00-13:00", "重叠"),
        ("13:30-17:30,08:30-12:00", "先后顺序"),
        ("08:30-12:00,12:00-17:30", "合并"),
    ],
)
def test_bad_office_hours_are_refused_in_chinese(text: str, fragment: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_office_hours(text)
    assert caught.value.code == "invalid_office_hours"
    assert fragment in caught.value.message
    assert CHINESE.search(caught.value.message)


def test_a_calendar_refuses_bad_periods_and_time_zones() -> None:
    with pytest.raises(InvalidInputError, match="重叠"):
        WorkCalendar(
            overrides={},
            confirmed_years=(),
            office_hours=((dt.time(8), dt.time(12)), (dt.time(11), dt.time(13))),
        )
    with pytest.raises(InvalidInputError, match="不能为空"):
        WorkCalendar(overrides={}, confirmed_years=(), office_hours=())
    with pytest.raises(InvalidInputError, match="精确到分钟"):
        WorkCalendar(overrides={}, confirmed_years=(), office_hours=((dt.time(8, 0, 30), dt.time(12)),))
    with pytest.raises(InvalidInputError, match="未知时区"):
        WorkCalendar(overrides={}, confirmed_years=(), office_hours=parse_office_hours(OFFICE), tz="Mars/Olympus")


@pytest.mark.parametrize(
    ("value", "unit", "minutes"),
    [
        (4, "hours", 240),
        (4, "小时", 240),
        (1.5, "hours", 90),
        (15, "days", 6750),
        (15, "工作日", 6750),
        (15, "天", 6750),
        (0.5, "days", 225),
        (30, "minutes", 30),
        (30, "分钟", 30),
        (2, " Hours ", 120),
        (0, "hours", 0),
        (0.1, "hours", 6),
    ],
)
def test_limits_are_parsed(value: float, unit: str, minutes: int) -> None:
    assert parse_limit(value, unit, 450) == WorkDuration(minutes)


@pytest.mark.parametrize(
    ("value", "unit", "day_minutes", "code", "fragment"),
    [
        (4, "weeks", 450, "invalid_limit_unit", "单位"),
        (4, "", 450, "invalid_limit_unit", "单位"),
        (4, "自然日", 450, "invalid_limit_unit", "自然日"),
        (-1, "hours", 450, "invalid_limit", "不小于0"),
        (float("nan"), "hours", 450, "invalid_limit", "有限"),
        (float("inf"), "days", 450, "invalid_limit", "有限"),
        (True, "hours", 450, "invalid_limit", "数字"),
        ("4", "hours", 450, "invalid_limit", "数字"),
        (0.001, "hours", 450, "invalid_limit", "过短"),
        (1001, "days", 450, "invalid_limit", "过长"),
        (4, "hours", 0, "invalid_limit", "工作分钟数"),
    ],
)
def test_bad_limits_are_refused_in_chinese(
    value: object, unit: str, day_minutes: int, code: str, fragment: str
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_limit(value, unit, day_minutes)  # type: ignore[arg-type]
    assert caught.value.code == code
    assert fragment in caught.value.message
    assert CHINESE.search(caught.value.message)


def test_work_duration_helpers() -> None:
    assert WorkDuration.from_hours(4) == WorkDuration(240)
    assert WorkDuration(240).hours == 4.0
    assert WorkDuration(240) + WorkDuration(30) == WorkDuration(270)
    assert WorkDuration(240).scaled(0.8) == WorkDuration(192)
    assert WorkDuration(7).scaled(0.5) == WorkDuration(3)  # rounded down
    assert WorkDuration(6750).label(450) == "15个工作日"
    assert WorkDuration(240).label(450) == "4小时"
    assert WorkDuration(150).label() == "2小时30分钟"
    assert WorkDuration(0).label() == "0分钟"
    assert WorkDuration(30) < WorkDuration(31)
    for bad in (-1, 1.5, True):
        with pytest.raises(InvalidInputError, match="工作时长"):
            WorkDuration(bad)  # type: ignore[arg-type]
