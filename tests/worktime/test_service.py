"""The holiday table: admin overrides, year confirmation, the cached calendar, permissions and the audit log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid.audit import AuditEntry
from civicgrid.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from civicgrid.org.actor import Actor
from civicgrid.org.roles import ROLE_PERMISSIONS, Role
from civicgrid.settings import Settings
from civicgrid.worktime import service
from civicgrid.worktime.calendar import UnknownCalendarYearError, WorkDuration
from civicgrid.worktime.service import (
    confirm_year,
    list_days,
    load_calendar,
    remove_day,
    set_day,
    unconfirm_year,
    year_status,
)

BJ = ZoneInfo("Asia/Shanghai")

# An illustrative 2027 table as an administrator would type it from a notice (NOT the real 2027 notice, which
# chinese_calendar 1.11 does not have): New Year on Friday Jan 1, a Spring Festival week Mon Feb 8 - Fri Feb 12,
# and Saturday Feb 20 as a make-up working day.
TABLE_2027: list[tuple[dt.date, bool, str]] = [
    (dt.date(2027, 1, 1), False, "元旦"),
    *[(dt.date(2027, 2, day), False, "春节") for day in range(8, 13)],
    (dt.date(2027, 2, 20), True, "春节调休上班"),
]


def bj(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=BJ)


@pytest.fixture
def settings() -> Settings:
    return Settings(office_hours="08:30-12:00,13:30-17:30", timezone="Asia/Shanghai")


@pytest.fixture
def dispatcher() -> Actor:
    return Actor(
        user_id=None,
        username="dispatcher",
        display_name="调度员小王",
        roles=frozenset({Role.DISPATCHER}),
        permissions=ROLE_PERMISSIONS[Role.DISPATCHER],
    )


def audit_entries(session: Session) -> list[AuditEntry]:
    statement = select(AuditEntry).where(AuditEntry.object_type.like("work_calendar%")).order_by(AuditEntry.id.asc())
    return list(session.execute(statement).scalars())


def test_2027_is_refused_until_entered_and_confirmed(session: Session, system: Actor, settings: Settings) -> None:
    assert year_status(session, 2027) == "unknown"
    with pytest.raises(UnknownCalendarYearError):
        load_calendar(session, settings).is_workday(dt.date(2027, 3, 3))
    with pytest.raises(UnknownCalendarYearError):
        load_calendar(session, settings).add(bj(2026, 12, 31, 16), WorkDuration(240))
    with pytest.raises(InvalidInputError) as caught:
        confirm_year(session, system, 2027, "国办发明电〔2026〕×号")  # nothing entered yet
    assert caught.value.code == "calendar_year_empty"

    for day, is_workday, name in TABLE_2027:
        set_day(session, system, day, is_workday, name)
    entered = load_calendar(session, settings)
    assert not entered.is_workday(dt.date(2027, 1, 1))  # an entered day is known even before confirmation
    with pytest.raises(UnknownCalendarYearError):
        entered.is_workday(dt.date(2027, 3, 3))  # the rest is not

    confirmed_row = confirm_year(session, system, 2027, "国办发明电〔2026〕×号")
    assert confirmed_row.confirmed_by == system.label
    assert year_status(session, 2027) == "confirmed"
    calendar = load_calendar(session, settings)
    assert calendar.is_workday(dt.date(2027, 3, 3))
    assert not calendar.is_workday(dt.date(2027, 3, 6))  # a plain Saturday
    assert calendar.is_workday(dt.date(2027, 2, 20))  # the entered make-up Saturday
    # 2026-12-31 (Thu) 16:00-17:30 is 1.5 h; Jan 1 off; weekend; Mon 2027-01-04 08:30 + 2.5 h = 11:00
    assert calendar.add(bj(2026, 12, 31, 16), WorkDuration(240)) == bj(2027, 1, 4, 11)
    # Fri 2027-02-05 16:00-17:30 is 1.5 h; weekend, Feb 8-12 off, weekend; Mon Feb 15 08:30 + 2.5 h = 11:00
    assert calendar.add(bj(2027, 2, 5, 16), WorkDuration(240)) == bj(2027, 2, 15, 11)

    with pytest.raises(ConflictError):
        confirm_year(session, system, 2027, "")
    unconfirm_year(session, system, 2027)
    assert year_status(session, 2027) == "unknown"
    with pytest.raises(UnknownCalendarYearError):
        load_calendar(session, settings).is_workday(dt.date(2027, 3, 3))


def test_confirming_needs_a_weekday_holiday_and_an_unknown_year(session: Session, system: Actor) -> None:
    set_day(session, system, dt.date(2027, 2, 20), True, "春节调休上班")  # only a make-up working day
    set_day(session, system, dt.date(2027, 2, 6), False, "春节")  # a Saturday
    with pytest.raises(InvalidInputError) as caught:
        confirm_year(session, system, 2027, "")
    assert caught.value.code == "calendar_year_empty"
    with pytest.raises(InvalidInputError) as built_in:
        confirm_year(session, system, 2025, "")
    assert built_in.value.code == "calendar_year_builtin"
    assert year_status(session, 2025) == "built-in"
    assert year_status(session, 2026) == "built-in"
    for bad_year in (1999, 2101):
        with pytest.raises(InvalidInputError):
            confirm_year(session, system, bad_year, "")
    with pytest.raises(NotFoundError):
        unconfirm_year(session, system, 2027)


def test_an_override_on_a_2025_date_beats_chinese_calendar(session: Session, system: Actor, settings: Settings) -> None:
    start, four_hours = bj(2025, 9, 30, 16), WorkDuration(240)
    assert load_calendar(session, settings).add(start, four_hours) == bj(2025, 10, 9, 11)
    set_day(session, system, dt.date(2025, 10, 8), True, "临时安排上班")  # a National Day holiday made a workday
    # 1.5 h on Sep 30, then Wed Oct 8 08:30 + 2.5 h = 11:00
    assert load_calendar(session, settings).add(start, four_hours) == bj(2025, 10, 8, 11)
    set_day(session, system, dt.date(2025, 10, 8), False, "国庆节")  # changed back: the row is updated, not added
    set_day(session, system, dt.date(2025, 10, 9), False, "临时停工")  # a plain Thursday made a holiday
    assert [(row.day, row.is_workday, row.name) for row in list_days(session, 2025)] == [
        (dt.date(2025, 10, 8), False, "国庆节"),
        (dt.date(2025, 10, 9), False, "临时停工"),
    ]
    assert load_calendar(session, settings).add(start, four_hours) == bj(2025, 10, 10, 11)
    remove_day(session, system, dt.date(2025, 10, 9))
    remove_day(session, system, dt.date(2025, 10, 8))
    assert list_days(session, 2025) == []
    assert load_calendar(session, settings).add(start, four_hours) == bj(2025, 10, 9, 11)
    with pytest.raises(NotFoundError):
        remove_day(session, system, dt.date(2025, 10, 8))


def test_the_cached_calendar_is_rebuilt_after_every_change(session: Session, system: Actor, settings: Settings) -> None:
    first = load_calendar(session, settings)
    assert load_calendar(session, settings) is first
    assert not first.is_workday(dt.date(2025, 10, 8))
    set_day(session, system, dt.date(2025, 10, 8), True, "临时安排上班")
    second = load_calendar(session, settings)
    assert second is not first
    assert second.is_workday(dt.date(2025, 10, 8))
    assert load_calendar(session, settings) is second
    remove_day(session, system, dt.date(2025, 10, 8))
    third = load_calendar(session, settings)
    assert third is not second
    assert not third.is_workday(dt.date(2025, 10, 8))
    # other office hours are a different calendar, not the cached one
    other = load_calendar(session, Settings(office_hours="09:00-17:00", timezone="Asia/Shanghai"))
    assert other.day_minutes() == 480
    assert load_calendar(session, settings).day_minutes() == 450
    assert service.calendar_revision(session) != 0


def test_only_administrators_maintain_the_table(
    session: Session, system: Actor, dispatcher: Actor, settings: Settings
) -> None:
    set_day(session, system, dt.date(2027, 2, 8), False, "春节")
    before = len(audit_entries(session))
    attempts: list[Callable[[], object]] = [
        lambda: set_day(session, dispatcher, dt.date(2025, 10, 8), True, "想上班"),
        lambda: remove_day(session, dispatcher, dt.date(2027, 2, 8)),
        lambda: confirm_year(session, dispatcher, 2027, ""),
        lambda: unconfirm_year(session, dispatcher, 2027),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDeniedError) as caught:
            attempt()
        assert "无权维护节假日表" in caught.value.message
    assert [row.day for row in list_days(session, 2025)] == []
    assert [row.day for row in list_days(session, 2027)] == [dt.date(2027, 2, 8)]
    assert year_status(session, 2027) == "unknown"
    assert len(audit_entries(session)) == before
    # reading needs no permission: everybody's deadlines run on this calendar
    assert not load_calendar(session, settings).is_workday(dt.date(2025, 10, 8))


def test_every_change_is_audited(session: Session, system: Actor) -> None:
    set_day(session, system, dt.date(2027, 2, 8), False, "春节")
    set_day(session, system, dt.date(2027, 2, 8), False, "春节假期")
    confirm_year(session, system, 2027, "按通知录入")
    unconfirm_year(session, system, 2027)
    remove_day(session, system, dt.date(2027, 2, 8))
    entries = audit_entries(session)
    assert [(entry.action, entry.object_type, entry.object_key) for entry in entries] == [
        ("worktime.day.set", "work_calendar_day", "2027-02-08"),
        ("worktime.day.set", "work_calendar_day", "2027-02-08"),
        ("worktime.year.confirm", "work_calendar_year", "2027"),
        ("worktime.year.unconfirm", "work_calendar_year", "2027"),
        ("worktime.day.remove", "work_calendar_day", "2027-02-08"),
    ]
    assert entries[0].detail == {"is_workday": False, "name": "春节", "previous": None}
    assert entries[1].detail == {
        "is_workday": False,
        "name": "春节假期",
        "previous": {"is_workday": False, "name": "春节"},
    }
    assert entries[2].detail["note"] == "按通知录入"
    assert entries[4].detail == {"previous": {"is_workday": False, "name": "春节假期"}}
    assert {entry.actor_label for entry in entries} == {system.label}


def test_bad_table_input_is_refused(session: Session, system: Actor) -> None:
    with pytest.raises(InvalidInputError, match="节假日名称"):
        set_day(session, system, dt.date(2027, 2, 8), False, "  ")
    with pytest.raises(InvalidInputError):
        set_day(session, system, dt.date(2027, 2, 8), False, "春" * 51)
    with pytest.raises(InvalidInputError, match="年份"):
        set_day(session, system, dt.date(1999, 10, 1), False, "国庆节")
    with pytest.raises(InvalidInputError, match="日期"):
        set_day(session, system, dt.datetime(2027, 2, 8, tzinfo=BJ), False, "春节")
    with pytest.raises(InvalidInputError) as caught:
        confirm_year(session, system, 2027, "长" * 201)
    assert caught.value.code == "note_too_long"
    assert list_days(session, 2027) == []
    assert audit_entries(session) == []


def test_a_long_actor_label_fits_the_table(session: Session) -> None:
    admin = Actor(
        user_id=None,
        username="admin",
        display_name="区政务服务和大数据管理局" * 10,
        roles=frozenset({Role.ADMIN}),
        permissions=ROLE_PERMISSIONS[Role.ADMIN],
    )
    row = set_day(session, admin, dt.date(2027, 2, 8), False, "春节")
    assert row.updated_by == admin.label[:100]
    assert audit_entries(session)[-1].actor_label == admin.label
