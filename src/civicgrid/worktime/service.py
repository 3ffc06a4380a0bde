"""The holiday table in the database, and the cached ``WorkCalendar`` built from it.

Administrators (``Permission.ORG_MANAGE``) keep the table: a day's override (a holiday on a weekday, a make-up
workday 调休 on a weekend, or a correction of chinese-calendar), and the confirmation that a year chinese-calendar
does not know has been entered completely from the State Council notice. Every change is audited and renews the
``work_calendar`` token, so ``load_calendar`` rebuilds its cached calendar on the next call.

Confirming a year: only years chinese-calendar does not know ("built-in" years need no confirmation and are
refused), and only once the table holds at least one holiday on a Monday-to-Friday of that year — every real
notice has some (the Spring Festival alone has several), so a year without one has not been entered yet.
A confirmation can be withdrawn (``unconfirm_year``).

Other rules: a day's entry needs a name (“国庆节”, “国庆节调休上班”) and a year within 2000-2100; reading the
calendar needs no permission (every deadline runs on it); a change affects deadlines computed afterwards —
deadlines already stored on cases are not recomputed here.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid import audit, counters
from civicgrid.errors import ConflictError, InvalidInputError, NotFoundError
from civicgrid.org.actor import Actor
from civicgrid.org.roles import Permission
from civicgrid.settings import Settings, get_settings
from civicgrid.text import clean_label
from civicgrid.worktime.calendar import WorkCalendar, builtin_knows_year, parse_office_hours
from civicgrid.worktime.models import CalendarDay, CalendarYear

WORK_CALENDAR_COUNTER = "work_calendar"
MIN_YEAR = 2000
MAX_YEAR = 2100

YearStatus = Literal["built-in", "confirmed", "unknown"]

_DOING = "维护节假日表"


# --- reading -----------------------------------------------------------------------------------------------------

_CacheKey = tuple[int, str, str]  # (token, office hours text, timezone)
_cache: dict[str, tuple[_CacheKey, WorkCalendar]] = {}
_cache_lock = threading.Lock()


def calendar_revision(session: Session) -> int:
    return counters.current(session, WORK_CALENDAR_COUNTER)


def load_calendar(session: Session, settings: Settings | None = None) -> WorkCalendar:
    """The working calendar of the session's database (settings give office hours and time zone).

    Cached per database; rebuilt when the table changed (token renewed) or the office hours / time zone differ.
    """
    settings = settings or get_settings()
    key: _CacheKey = (calendar_revision(session), settings.office_hours, settings.timezone)
    url = str(session.get_bind().engine.url)
    cached = _cache.get(url)
    if cached is not None and cached[0] == key:
        return cached[1]
    with _cache_lock:
        cached = _cache.get(url)
        if cached is None or cached[0] != key:
            cached = (key, _build(session, settings))
            _cache[url] = cached
    return cached[1]


def _build(session: Session, settings: Settings) -> WorkCalendar:
    overrides = {row.day: row.is_workday for row in session.execute(select(CalendarDay.day, CalendarDay.is_workday))}
    confirmed = set(session.execute(select(CalendarYear.year)).scalars())
    return WorkCalendar(
        overrides=overrides,
        confirmed_years=confirmed,
        office_hours=parse_office_hours(settings.office_hours),
        tz=settings.timezone,
    )


def list_days(session: Session, year: int) -> list[CalendarDay]:
    """The overrides entered for ``year``, in date order."""
    first, last = dt.date(_check_year(year), 1, 1), dt.date(year, 12, 31)
    statement = select(CalendarDay).where(CalendarDay.day.between(first, last)).order_by(CalendarDay.day)
    return list(session.execute(statement).scalars())


def year_status(session: Session, year: int) -> YearStatus:
    """ "built-in" (chinese-calendar knows it), "confirmed" (an administrator confirmed the table) or "unknown"."""
    if builtin_knows_year(year):
        return "built-in"
    if session.get(CalendarYear, year) is not None:
        return "confirmed"
    return "unknown"


# --- changing ----------------------------------------------------------------------------------------------------


def set_day(session: Session, actor: Actor, day: dt.date, is_workday: bool, name: str) -> CalendarDay:
    """Enter or change one day's override: a holiday (``is_workday`` False) or a working day (True)."""
    actor.require(Permission.ORG_MANAGE, _DOING)
    _check_date(day)
    label = clean_label(name, max_length=50, what="节假日名称（如“国庆节”“国庆节调休上班”）")
    row = session.get(CalendarDay, day)
    previous = None if row is None else {"is_workday": row.is_workday, "name": row.name}
    if row is None:
        row = CalendarDay(day=day, is_workday=bool(is_workday), name=label, updated_by=_who(actor))
        session.add(row)
    else:
        row.is_workday = bool(is_workday)
        row.name = label
        row.updated_by = _who(actor)
    session.flush()
    audit.record(
        session,
        actor,
        "worktime.day.set",
        "work_calendar_day",
        day.isoformat(),
        {"is_workday": bool(is_workday), "name": label, "previous": previous},
    )
    _mark_changed(session)
    return row


def remove_day(session: Session, actor: Actor, day: dt.date) -> None:
    """Delete a day's override: the day falls back to chinese-calendar or the confirmed year's weekday rule."""
    actor.require(Permission.ORG_MANAGE, _DOING)
    _check_date(day)
    row = session.get(CalendarDay, day)
    if row is None:
        raise NotFoundError(
            f"节假日表中没有{_chinese_date(day)}", code="calendar_day_not_found", detail={"day": day.isoformat()}
        )
    previous = {"is_workday": row.is_workday, "name": row.name}
    session.delete(row)
    session.flush()
    audit.record(session, actor, "worktime.day.remove", "work_calendar_day", day.isoformat(), {"previous": previous})
    _mark_changed(session)


def confirm_year(session: Session, actor: Actor, year: int, note: str = "") -> CalendarYear:
    """Declare ``year``'s holidays completely entered, so its other days follow the Monday-to-Friday rule."""
    actor.require(Permission.ORG_MANAGE, _DOING)
    _check_year(year)
    cleaned_note = note.strip()
    if len(cleaned_note) > 200:
        raise InvalidInputError("说明超过200个字", code="note_too_long")
    if builtin_knows_year(year):
        raise InvalidInputError(
            f"{year}年的节假日安排已内置（国务院办公厅通知），无需确认；如需调整，请修改具体日期",
            code="calendar_year_builtin",
            detail={"year": year},
        )
    if session.get(CalendarYear, year) is not None:
        raise ConflictError(f"{year}年的节假日表已确认", code="calendar_year_confirmed", detail={"year": year})
    weekday_holidays = [row.day for row in list_days(session, year) if not row.is_workday and row.day.weekday() < 5]
    if not weekday_holidays:
        raise InvalidInputError(
            f"{year}年的节假日尚未录入：请先按国务院办公厅通知录入该年度的放假日期（含调休上班日），再确认",
            code="calendar_year_empty",
            detail={"year": year},
        )
    row = CalendarYear(year=year, confirmed_by=_who(actor), note=cleaned_note)
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "worktime.year.confirm",
        "work_calendar_year",
        year,
        {"note": cleaned_note, "weekday_holidays": len(weekday_holidays)},
    )
    _mark_changed(session)
    return row


def unconfirm_year(session: Session, actor: Actor, year: int) -> None:
    """Withdraw a confirmation (entered too early or by mistake): the year's unlisted days become unknown again."""
    actor.require(Permission.ORG_MANAGE, _DOING)
    row = session.get(CalendarYear, _check_year(year))
    if row is None:
        raise NotFoundError(f"{year}年的节假日表尚未确认", code="calendar_year_not_confirmed", detail={"year": year})
    session.delete(row)
    session.flush()
    audit.record(session, actor, "worktime.year.unconfirm", "work_calendar_year", year, {"note": row.note})
    _mark_changed(session)


def _who(actor: Actor) -> str:
    # the table's columns hold 100 characters; the audit entry keeps the full label
    return actor.label[:100]


def _mark_changed(session: Session) -> int:
    return counters.renew_token(session, WORK_CALENDAR_COUNTER)


def _check_year(year: int) -> int:
    if isinstance(year, bool) or not isinstance(year, int) or not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidInputError(
            f"年份须在{MIN_YEAR}到{MAX_YEAR}之间，收到“{year}”", code="invalid_year", detail={"year": repr(year)}
        )
    return year


def _check_date(day: dt.date) -> None:
    if isinstance(day, dt.datetime) or not isinstance(day, dt.date):
        raise InvalidInputError(f"请给出日期（年月日），收到“{day}”", code="invalid_date", detail={"day": str(day)})
    _check_year(day.year)


def _chinese_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"
