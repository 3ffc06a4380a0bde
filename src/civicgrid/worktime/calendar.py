"""Working time: which days are working days, and how a deadline in working minutes falls on the clock.

Pure: no database. ``civicgrid.worktime.service.load_calendar`` builds a ``WorkCalendar`` from the admin table.

Rules
-----
* **Working days.** For a date, the first of these that has an answer decides:

  1. an administrator's override (the holiday table, ``overrides``);
  2. ``chinese_calendar`` for the years it knows (State Council notices, make-up workdays 调休 included);
  3. the plain rule "Monday to Friday", *only* for a year an administrator confirmed as entered completely;
  4. otherwise ``UnknownCalendarYearError`` — an unknown year is never silently treated as Monday to Friday.

* **Working time** is the office periods (Beijing wall-clock time, e.g. ``08:30-12:00,13:30-17:30``) of working
  days, each period half-open ``[start, end)``: 12:00 is not a working instant, 08:30 is.
* ``add(start, d)`` is the earliest instant by which ``d`` working minutes have elapsed since ``start``. A deadline
  can therefore fall on the end of a period (11:00 + 1 h = 12:00, not 13:30). A start outside working time is
  moved to the next working instant first; so ``add(start, 0)`` is the next working instant (``start`` itself
  when ``start`` is a working instant, 13:30 when it is 12:00).
* ``working_minutes_between(start, end)`` is the working time in ``[start, end)``, in whole minutes rounded down.
  For every ``start`` (working or not) and ``d``: ``working_minutes_between(start, add(start, d)) == d.minutes``.
* Arithmetic is exact to the microsecond (``timedelta``), whole days are skipped a day at a time with no
  per-minute loop, and only the days that matter are looked up (a range ending at midnight on 1 January does not
  need the new year's calendar).
* Aware datetimes in (any zone), aware UTC datetimes out; naive datetimes are refused with ``ValueError``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import chinese_calendar

from civicgrid.errors import InvalidInputError

Periods = tuple[tuple[dt.time, dt.time], ...]

MAX_LIMIT_WORKING_DAYS = 1000  # about four years: a sanity bound on configured limits
_DAY = dt.timedelta(days=1)
_MINUTE = dt.timedelta(minutes=1)
_MIDNIGHT = dt.time(0, 0)


class UnknownCalendarYearError(InvalidInputError):
    """The calendar needs a year that neither chinese-calendar nor a confirmed admin table covers."""

    code = "calendar_year_unknown"

    def __init__(self, year: int) -> None:
        super().__init__(
            f"{year}年的节假日安排尚未录入：请管理员在节假日表中录入并确认该年度",
            detail={"year": year},
        )
        self.year = year


# --- durations ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class WorkDuration:
    """An amount of working time, in whole minutes (never negative)."""

    minutes: int

    def __post_init__(self) -> None:
        if isinstance(self.minutes, bool) or not isinstance(self.minutes, int) or self.minutes < 0:
            raise InvalidInputError(
                f"工作时长须为不小于0的整数分钟，收到“{self.minutes!r}”",
                code="invalid_duration",
                detail={"minutes": repr(self.minutes)},
            )

    @classmethod
    def from_hours(cls, hours: float) -> WorkDuration:
        return parse_limit(hours, "hours", 24 * 60)

    @property
    def hours(self) -> float:
        return self.minutes / 60

    def __add__(self, other: WorkDuration) -> WorkDuration:
        return WorkDuration(self.minutes + other.minutes)

    def scaled(self, factor: float) -> WorkDuration:
        """This duration times ``factor`` (0 ≤ factor), rounded down to a whole minute: the 80 % point of a limit."""
        if not math.isfinite(factor) or factor < 0:
            raise InvalidInputError(f"比例须为不小于0的数，收到“{factor!r}”", code="invalid_duration")
        return WorkDuration(math.floor(self.minutes * factor))

    def label(self, day_minutes: int | None = None) -> str:
        """Chinese wording: "15个工作日" (when ``day_minutes`` divides it), "4小时", "2小时30分钟", "0分钟"."""
        if day_minutes and self.minutes >= day_minutes and self.minutes % day_minutes == 0:
            return f"{self.minutes // day_minutes}个工作日"
        hours, minutes = divmod(self.minutes, 60)
        if hours and minutes:
            return f"{hours}小时{minutes}分钟"
        if hours:
            return f"{hours}小时"
        return f"{minutes}分钟"


_UNIT_MINUTES: dict[str, str] = {
    "minutes": "minutes",
    "minute": "minutes",
    "分钟": "minutes",
    "工作分钟": "minutes",
    "hours": "hours",
    "hour": "hours",
    "小时": "hours",
    "工作小时": "hours",
    "days": "days",
    "day": "days",
    "天": "days",
    "日": "days",
    "工作日": "days",
    "个工作日": "days",
}


def parse_limit(value: int | float, unit: str, day_minutes: int) -> WorkDuration:
    """A time limit as working minutes: ``N`` working days is ``N × day_minutes`` (the office day's length).

    Units: ``minutes``/``分钟``, ``hours``/``小时``, ``days``/``工作日``/``天`` (天 means working days here). The
    result is rounded to the nearest whole minute; a positive limit shorter than half a minute, a negative or
    non-finite value, and limits beyond ``MAX_LIMIT_WORKING_DAYS`` working days are refused.
    """
    if isinstance(day_minutes, bool) or not isinstance(day_minutes, int) or not 0 < day_minutes <= 24 * 60:
        raise InvalidInputError(f"每个工作日的工作分钟数须在1到1440之间，收到“{day_minutes!r}”", code="invalid_limit")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInputError(f"时限须为数字，收到“{value!r}”", code="invalid_limit", detail={"value": repr(value)})
    if not math.isfinite(value) or value < 0:
        raise InvalidInputError(
            f"时限须为不小于0的有限数字，收到“{value!r}”", code="invalid_limit", detail={"value": repr(value)}
        )
    key = unit.strip().lower() if isinstance(unit, str) else ""
    kind = _UNIT_MINUTES.get(key)
    if kind is None:
        if key == "自然日":
            message = "不支持按自然日计的时限：请换算为工作日或小时"
        else:
            message = f"时限单位“{unit}”无效：可用 小时（hours）、工作日（days）、分钟（minutes）"
        raise InvalidInputError(message, code="invalid_limit_unit", detail={"unit": str(unit)})
    factor = {"minutes": 1, "hours": 60, "days": day_minutes}[kind]
    exact = value * factor
    if exact > MAX_LIMIT_WORKING_DAYS * day_minutes:
        raise InvalidInputError(
            f"时限过长：最多{MAX_LIMIT_WORKING_DAYS}个工作日",
            code="invalid_limit",
            detail={"value": value, "unit": unit},
        )
    minutes = round(exact)
    if exact > 0 and minutes == 0:
        raise InvalidInputError("时限过短：不足1分钟", code="invalid_limit", detail={"value": value, "unit": unit})
    return WorkDuration(minutes)


# --- office hours ------------------------------------------------------------------------------------------------

_PERIOD = re.compile(r"^(\d{1,2})[:：](\d{2})\s*[-–—~～至]\s*(\d{1,2})[:：](\d{2})$")
_SEPARATORS = re.compile(r"[,，;；、]")


def parse_office_hours(text: str) -> Periods:
    """``"08:30-12:00,13:30-17:30"`` → ((08:30, 12:00), (13:30, 17:30)).

    Periods are ``HH:MM-HH:MM``, separated by commas (full-width ones and 、；too), in order, each ending after it
    starts, and apart from each other (touching periods must be written as one). ``24:00`` may end the last
    period and is returned as ``time.max``.
    """
    source = text.strip() if isinstance(text, str) else ""
    if not source:
        raise InvalidInputError(
            "办公时间不能为空，格式如“08:30-12:00,13:30-17:30”", code="invalid_office_hours", detail={"text": text}
        )
    periods: list[tuple[dt.time, dt.time]] = []
    for part in _SEPARATORS.split(source):
        segment = part.strip()
        match = _PERIOD.match(segment)
        if match is None:
            raise InvalidInputError(
                f"办公时间段“{segment}”格式不正确，应如“08:30-12:00”",
                code="invalid_office_hours",
                detail={"text": text, "segment": segment},
            )
        h1, m1, h2, m2 = (int(group) for group in match.groups())
        start = _clock_time(h1, m1, segment, text, allow_24=False)
        end = _clock_time(h2, m2, segment, text, allow_24=True)
        periods.append((start, end))
    return _check_periods(tuple(periods), text)


def format_office_hours(periods: Periods) -> str:
    return ",".join(f"{_hhmm(start)}-{_hhmm(end)}" for start, end in periods)


def _hhmm(value: dt.time) -> str:
    return "24:00" if value == dt.time.max else value.strftime("%H:%M")


def _clock_time(hour: int, minute: int, segment: str, text: str, *, allow_24: bool) -> dt.time:
    if allow_24 and hour == 24 and minute == 0:
        return dt.time.max
    if hour > 23 or minute > 59:
        raise InvalidInputError(
            f"办公时间段“{segment}”中的时刻无效", code="invalid_office_hours", detail={"text": text, "segment": segment}
        )
    return dt.time(hour, minute)


def _minute_of_day(value: dt.time) -> int:
    if value == dt.time.max:
        return 24 * 60
    return value.hour * 60 + value.minute


def _check_periods(periods: Periods, text: str) -> Periods:
    if not periods:
        raise InvalidInputError("办公时间不能为空", code="invalid_office_hours", detail={"text": text})
    previous: tuple[dt.time, dt.time] | None = None
    for start, end in periods:
        label = f"{_hhmm(start)}-{_hhmm(end)}"
        for moment in (start, end):
            if moment.tzinfo is not None or (moment != dt.time.max and (moment.second or moment.microsecond)):
                raise InvalidInputError(
                    f"办公时间段“{label}”须精确到分钟且不带时区", code="invalid_office_hours", detail={"text": text}
                )
        if _minute_of_day(end) <= _minute_of_day(start):
            raise InvalidInputError(
                f"办公时间段“{label}”的结束时间须晚于开始时间", code="invalid_office_hours", detail={"text": text}
            )
        if previous is not None:
            before = f"{_hhmm(previous[0])}-{_hhmm(previous[1])}"
            if _minute_of_day(start) < _minute_of_day(previous[0]):
                message = f"办公时间段须按先后顺序填写：“{label}”排在了“{before}”之后"
            elif _minute_of_day(start) < _minute_of_day(previous[1]):
                message = f"办公时间段“{before}”与“{label}”重叠"
            elif _minute_of_day(start) == _minute_of_day(previous[1]):
                message = f"办公时间段“{before}”与“{label}”首尾相接，请合并为一段"
            else:
                message = ""
            if message:
                raise InvalidInputError(message, code="invalid_office_hours", detail={"text": text})
        previous = (start, end)
    return periods


# --- the calendar ------------------------------------------------------------------------------------------------


@lru_cache(maxsize=32768)
def builtin_is_workday(day: dt.date) -> bool | None:
    """chinese-calendar's answer, or None for a year it does not know."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return None


def builtin_knows_year(year: int) -> bool:
    return builtin_is_workday(dt.date(year, 7, 1)) is not None


class WorkCalendar:
    """Working days (overrides > chinese-calendar > confirmed years' weekday rule) and office periods."""

    def __init__(
        self,
        *,
        overrides: Mapping[dt.date, bool],
        confirmed_years: Collection[int],
        office_hours: Periods,
        tz: str = "Asia/Shanghai",
    ) -> None:
        self.office_hours: Periods = _check_periods(tuple(office_hours), format_office_hours(tuple(office_hours)))
        try:
            self._tz = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise InvalidInputError(f"未知时区“{tz}”", code="invalid_timezone", detail={"tz": tz}) from error
        self.tz = tz
        self._overrides: dict[dt.date, bool] = {day: bool(flag) for day, flag in overrides.items()}
        self._confirmed: frozenset[int] = frozenset(confirmed_years)
        self._periods: tuple[tuple[dt.timedelta, dt.timedelta], ...] = tuple(
            (dt.timedelta(minutes=_minute_of_day(start)), dt.timedelta(minutes=_minute_of_day(end)))
            for start, end in self.office_hours
        )
        self._day_length = sum((end - start for start, end in self._periods), dt.timedelta())
        self._first_start = self._periods[0][0]
        self._last_end = self._periods[-1][1]

    # days

    def is_workday(self, day: dt.date) -> bool:
        if isinstance(day, dt.datetime):
            raise ValueError("is_workday takes a date; convert a datetime to local time first")
        override = self._overrides.get(day)
        if override is not None:
            return override
        builtin = builtin_is_workday(day)
        if builtin is not None:
            return builtin
        if day.year in self._confirmed:
            return day.weekday() < 5
        raise UnknownCalendarYearError(day.year)

    def day_minutes(self) -> int:
        """Working minutes of one working day (the office periods' total)."""
        return self._day_length // _MINUTE

    # instants

    def is_working_instant(self, moment: dt.datetime) -> bool:
        day, offset = self._local(moment)
        if not any(start <= offset < end for start, end in self._periods):
            return False
        return self.is_workday(day)

    def add(self, start: dt.datetime, duration: WorkDuration) -> dt.datetime:
        """The earliest instant (UTC) by which ``duration`` of working time has elapsed since ``start``.

        A start outside working time waits for the next working instant; a zero duration returns that instant.
        """
        day, offset = self._local(start)
        remaining = dt.timedelta(minutes=duration.minutes)
        found, remaining = self._consume(day, offset, remaining)
        while found is None:
            if day == dt.date.max:
                raise InvalidInputError("期限超出可计算的日期范围", code="calendar_out_of_range")
            day += _DAY
            if remaining > self._day_length:
                # a whole working day is used up (strictly more is left, so the deadline is not on this day)
                if self.is_workday(day):
                    remaining -= self._day_length
                continue
            found, remaining = self._consume(day, dt.timedelta(), remaining)
        return self._utc(day, found)

    def working_minutes_between(self, start: dt.datetime, end: dt.datetime) -> int:
        """Working minutes in ``[start, end)``, rounded down; 0 when ``end <= start``."""
        first_day, first_offset = self._local(start)
        last_day, last_offset = self._local(end)  # both checked first: a naive end is refused even if before start
        if end <= start:
            return 0
        total = dt.timedelta()
        day = first_day
        while day <= last_day:
            low = first_offset if day == first_day else dt.timedelta()
            high = last_offset if day == last_day else _DAY
            if low <= self._first_start and high >= self._last_end:
                overlap = self._day_length
            else:
                overlap = sum(
                    (max(dt.timedelta(), min(end_, high) - max(start_, low)) for start_, end_ in self._periods),
                    dt.timedelta(),
                )
            if overlap and self.is_workday(day):
                total += overlap
            day += _DAY
        return total // _MINUTE

    # helpers

    def _consume(
        self, day: dt.date, offset: dt.timedelta, remaining: dt.timedelta
    ) -> tuple[dt.timedelta | None, dt.timedelta]:
        """Spend ``day``'s working time from ``offset``: (where ``remaining`` runs out, 0) or (None, what is left)."""
        if offset >= self._last_end or not self.is_workday(day):
            return None, remaining
        for start, end in self._periods:
            if end <= offset:
                continue
            begin = max(start, offset)
            available = end - begin
            if remaining <= available:
                return begin + remaining, dt.timedelta()
            remaining -= available
        return None, remaining

    def _local(self, moment: dt.datetime) -> tuple[dt.date, dt.timedelta]:
        if not isinstance(moment, dt.datetime):
            raise TypeError(f"expected a datetime, got {type(moment).__name__}")
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("naive datetime: pass an aware datetime (UTC or Asia/Shanghai)")
        wall = moment.astimezone(self._tz).replace(tzinfo=None)
        day = wall.date()
        return day, wall - dt.datetime.combine(day, _MIDNIGHT)

    def _utc(self, day: dt.date, offset: dt.timedelta) -> dt.datetime:
        wall = dt.datetime.combine(day, _MIDNIGHT) + offset
        return wall.replace(tzinfo=self._tz).astimezone(dt.UTC)
