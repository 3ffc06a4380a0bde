"""The case clock: stage deadlines in working time, extensions, suspension, and the due-soon/overdue flags.

Stages: register (from intake), dispatch (from registration), handle (from dispatch; its deadline is the one
按期办结 is judged by, kept in ``deadline_at``), verify (from the submitted result). Extending adds working
minutes to the handling stage. Suspending (挂账) stores the working minutes left and clears nothing; resuming
starts them again from the moment of resumption, so suspended time never counts.
"""

from __future__ import annotations

import datetime as dt

from civicgrid.cases.models import Case
from civicgrid.cases.taxonomy import effective_limits
from civicgrid.worktime.calendar import UnknownCalendarYearError, WorkCalendar, WorkDuration, parse_limit

REGISTER = "register"
HANDLE = "handle"


def stage_limit(case: Case, stage: str, calendar: WorkCalendar) -> int:
    limit = effective_limits(case.category)[stage]
    return parse_limit(limit["value"], limit["unit"], calendar.day_minutes()).minutes


CLOCK_PENDING = "节假日表缺少{year}年的安排，时限暂未计算：管理员录入后由定时任务补算"


def start_stage(case: Case, stage: str, now: dt.datetime, calendar: WorkCalendar, due_soon_share: float) -> str | None:
    """Start a stage's clock. Returns a note when the deadline cannot be computed yet (a year missing from the
    holiday table): the case goes on without a deadline rather than being refused, and ``backfill`` fills it in."""
    minutes = stage_limit(case, stage, calendar)
    case.stage = stage
    case.stage_started_at = now
    case.stage_minutes = minutes
    _remember_handling(case)
    try:
        case.stage_due_at = calendar.add(now, WorkDuration(minutes))
    except UnknownCalendarYearError as error:
        case.stage_due_at = case.due_soon_at = None
        if stage == HANDLE:
            case.deadline_at = None
        refresh_flags(case, now)
        return CLOCK_PENDING.format(year=error.year)
    if stage == HANDLE:
        case.deadline_at = case.stage_due_at
    _remember_response_deadline(case)
    _set_due_soon(case, calendar, due_soon_share)
    refresh_flags(case, now)
    return None


def _remember_response_deadline(case: Case) -> None:
    """The 立案 stage's deadline is what 响应率 judges the first answer by; later stages overwrite stage_due_at."""
    if case.stage == REGISTER and case.response_due_at is None:
        case.response_due_at = case.stage_due_at


def backfill(case: Case, now: dt.datetime, calendar: WorkCalendar, due_soon_share: float) -> bool:
    """Compute a deadline that could not be computed when the stage started. True when it now could."""
    if case.stage is None or case.stage_started_at is None or case.stage_due_at is not None:
        return False
    minutes = case.stage_minutes or stage_limit(case, case.stage, calendar)
    try:
        case.stage_due_at = calendar.add(case.stage_started_at, WorkDuration(minutes))
    except UnknownCalendarYearError:
        return False
    if case.stage == HANDLE:
        case.deadline_at = case.stage_due_at
    _remember_response_deadline(case)
    _set_due_soon(case, calendar, due_soon_share)
    refresh_flags(case, now)
    return True


def backfill_handling_deadline(case: Case, calendar: WorkCalendar) -> bool:
    """The handling deadline of a case that left the handling stage while its deadline was still pending."""
    if case.deadline_at is not None or case.handle_started_at is None or case.handle_minutes is None:
        return False
    try:
        case.deadline_at = calendar.add(case.handle_started_at, WorkDuration(case.handle_minutes))
    except UnknownCalendarYearError:
        return False
    return True


def _remember_handling(case: Case) -> None:
    if case.stage == HANDLE:
        case.handle_started_at, case.handle_minutes = case.stage_started_at, case.stage_minutes


def handling_minutes_used(case: Case, now: dt.datetime, calendar: WorkCalendar) -> int | None:
    """Working minutes of the handling round that ends now, suspended time excluded: the round's length
    (extensions included) less what was left of it, or plus how late it ends. Suspension moved the deadline
    by the suspended time, so it drops out. None when the calendar cannot tell (a year not in the table)."""
    try:
        if case.deadline_at is not None and case.handle_minutes is not None:
            if now <= case.deadline_at:
                return max(case.handle_minutes - calendar.working_minutes_between(now, case.deadline_at), 0)
            return case.handle_minutes + calendar.working_minutes_between(case.deadline_at, now)
        if case.handle_started_at is not None:
            return calendar.working_minutes_between(case.handle_started_at, now)
    except UnknownCalendarYearError:
        return None
    return None


def continue_handling(case: Case, now: dt.datetime, calendar: WorkCalendar, due_soon_share: float) -> None:
    """Back to work on the same handling deadline (rework after a failed verification): the handling stage is
    the one that started at dispatch, so its deadline may already have passed and the case is then overdue."""
    if case.deadline_at is None:
        if case.handle_started_at is None:
            start_stage(case, HANDLE, now, calendar, due_soon_share)
            return
        # The handling deadline is still waiting for the holiday table: back to that stage, still waiting.
        case.stage, case.stage_started_at, case.stage_minutes = HANDLE, case.handle_started_at, case.handle_minutes
        case.stage_due_at = case.due_soon_at = None
        backfill(case, now, calendar, due_soon_share)
        return
    case.stage = HANDLE
    case.stage_started_at = min(case.dispatched_at or now, case.deadline_at)
    case.stage_minutes = calendar.working_minutes_between(case.stage_started_at, case.deadline_at)
    case.stage_due_at = case.deadline_at
    _set_due_soon(case, calendar, due_soon_share)
    refresh_flags(case, now)


def end_stages(case: Case) -> None:
    case.stage = None
    case.stage_due_at = None
    case.due_soon_at = None
    case.due_soon = False
    case.overdue = False


def extend(case: Case, minutes: int, now: dt.datetime, calendar: WorkCalendar, due_soon_share: float) -> None:
    case.stage_minutes = (case.stage_minutes or 0) + minutes
    _remember_handling(case)
    if case.stage_due_at is None:  # still waiting for the holiday table: backfill will count the extension
        return
    try:
        case.stage_due_at = calendar.add(case.stage_due_at, WorkDuration(minutes))
    except UnknownCalendarYearError:
        _clock_pending(case, now)
        return
    if case.stage == HANDLE:
        case.deadline_at = case.stage_due_at
    _set_due_soon(case, calendar, due_soon_share)
    refresh_flags(case, now)


def _clock_pending(case: Case, now: dt.datetime) -> None:
    case.stage_due_at = case.due_soon_at = None
    if case.stage == HANDLE:
        case.deadline_at = None
    refresh_flags(case, now)


def suspend(case: Case, now: dt.datetime, calendar: WorkCalendar) -> None:
    case.suspended_at = now
    case.remaining_stage_minutes = _left(case.stage_due_at, now, calendar)
    case.remaining_deadline_minutes = _left(case.deadline_at, now, calendar)
    case.due_soon = False
    case.overdue = False


def resume(case: Case, now: dt.datetime, calendar: WorkCalendar, due_soon_share: float) -> None:
    remaining_stage, remaining_deadline = case.remaining_stage_minutes, case.remaining_deadline_minutes
    case.suspended_at = None
    case.remaining_stage_minutes = None
    case.remaining_deadline_minutes = None
    if remaining_stage is None:  # the stage had no deadline yet: count it afresh from now
        case.stage_started_at = now
        _remember_handling(case)
        return
    try:
        case.stage_due_at = calendar.add(now, WorkDuration(remaining_stage))
        if remaining_deadline is not None and case.deadline_at is not None:
            case.deadline_at = calendar.add(now, WorkDuration(remaining_deadline))
    except UnknownCalendarYearError:
        case.stage_started_at, case.stage_minutes = now, remaining_stage
        _remember_handling(case)
        _clock_pending(case, now)
        return
    _set_due_soon(case, calendar, due_soon_share, reference=now)
    refresh_flags(case, now)


def _left(due: dt.datetime | None, now: dt.datetime, calendar: WorkCalendar) -> int | None:
    if due is None:
        return None
    return calendar.working_minutes_between(now, due) if due > now else 0


def _set_due_soon(case: Case, calendar: WorkCalendar, share: float, reference: dt.datetime | None = None) -> None:
    """Due soon once ``share`` of the stage's time is left, counted back from the stage deadline."""
    assert case.stage_due_at is not None
    start = reference or case.stage_started_at or case.stage_due_at
    total = calendar.working_minutes_between(start, case.stage_due_at)
    case.due_soon_at = calendar.add(start, WorkDuration(int(total * (1 - share))))


def refresh_flags(case: Case, now: dt.datetime) -> None:
    """Lower the 临期/超期 flags that no longer hold (a new stage, an extension, a suspension). Raising them is
    the scheduler's job alone (``tick``), because raising one tells the departments, once."""
    if case.suspended_at is not None or case.stage_due_at is None:
        case.due_soon = case.overdue = False
        return
    past_due = now >= case.stage_due_at
    case.overdue = case.overdue and past_due
    case.due_soon = case.due_soon and not past_due and case.due_soon_at is not None and now >= case.due_soon_at
    if past_due:
        case.ever_overdue = True
