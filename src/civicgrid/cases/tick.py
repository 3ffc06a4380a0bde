"""The scheduler's work: keep 临期 (due soon) and 超期 (overdue) current, and tell the departments once.

Set-based: one UPDATE per flag finds the cases whose moment has come. The flags are derived data, not actions,
so they change no case history; each transition into "due soon" or "overdue" writes one outbox message per
responsible department (or to the command centre when none is assigned yet).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from civicgrid import timesource
from civicgrid.cases import clock
from civicgrid.cases.models import OPEN_STATES, Case, CaseAssignment, CaseState
from civicgrid.cases.notifications import notify_departments
from civicgrid.cases.routing import CommandCentres
from civicgrid.org.models import Department
from civicgrid.settings import Settings, get_settings
from civicgrid.worktime.service import load_calendar

_CLOCKED = [state for state in OPEN_STATES if state not in (CaseState.SUSPENDED.value, CaseState.MERGED.value)]


@dataclass(frozen=True)
class TickReport:
    became_due_soon: int
    became_overdue: int
    deadlines_backfilled: int = 0


def tick(session: Session, *, now: dt.datetime | None = None, settings: Settings | None = None) -> TickReport:
    settings = settings or get_settings()
    now = now or timesource.now()
    backfilled = _backfill(session, now, settings)
    running = and_(Case.state.in_(_CLOCKED), Case.suspended_at.is_(None))
    overdue_ids = _flag(
        session,
        running & Case.stage_due_at.is_not(None) & (Case.stage_due_at <= now) & Case.overdue.is_(False),
        overdue=True,
        ever_overdue=True,
        due_soon=False,
    )
    due_soon_ids = _flag(
        session,
        running
        & Case.due_soon_at.is_not(None)
        & (Case.due_soon_at <= now)
        & (Case.stage_due_at > now)
        & Case.due_soon.is_(False),
        due_soon=True,
    )
    _notify(session, settings, overdue_ids, "overdue", "超期")
    _notify(session, settings, due_soon_ids, "due_soon", "临期")
    return TickReport(
        became_due_soon=len(due_soon_ids), became_overdue=len(overdue_ids), deadlines_backfilled=backfilled
    )


def _backfill(session: Session, now: dt.datetime, settings: Settings) -> int:
    """Deadlines that waited for the holiday table (see clock.start_stage) are computed once it allows."""
    waiting = (
        session.execute(
            select(Case).where(
                Case.state.in_(_CLOCKED),
                Case.suspended_at.is_(None),
                Case.stage.is_not(None),
                Case.stage_due_at.is_(None),
            )
        )
        .scalars()
        .all()
    )
    left_behind = (  # handling deadlines still pending after the case moved on (to 核查, or closed)
        session.execute(
            select(Case).where(
                Case.deadline_at.is_(None),
                Case.handle_started_at.is_not(None),
                or_(Case.stage.is_(None), Case.stage != clock.HANDLE),
            )
        )
        .scalars()
        .all()
    )
    if not waiting and not left_behind:
        return 0
    calendar = load_calendar(session, settings)
    done = sum(1 for case in waiting if clock.backfill(case, now, calendar, settings.due_soon_share))
    done += sum(1 for case in left_behind if clock.backfill_handling_deadline(case, calendar))
    session.flush()
    return done


def _flag(session: Session, condition: object, **values: bool) -> list[int]:
    ids = list(session.execute(select(Case.id).where(condition)).scalars())  # type: ignore[arg-type]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        session.execute(
            update(Case).where(Case.id.in_(chunk)).values(**values).execution_options(synchronize_session=False)
        )
    return ids


def _notify(session: Session, settings: Settings, case_ids: list[int], kind: str, label: str) -> None:
    if not case_ids:
        return
    centres = CommandCentres(session)
    for start in range(0, len(case_ids), 500):
        chunk = case_ids[start : start + 500]
        cases = session.execute(select(Case).where(Case.id.in_(chunk))).scalars().all()
        departments = _departments_by_case(session, chunk)
        for case in cases:
            targets = departments.get(case.id) or [centres.for_code(case.escalation_code or case.scope_code)]
            notify_departments(session, settings, kind, case, targets, f"案件{case.number}已{label}")


def _departments_by_case(session: Session, case_ids: list[int]) -> dict[int, list[Department]]:
    rows = session.execute(
        select(CaseAssignment.case_id, Department)
        .join(Department, Department.id == CaseAssignment.department_id)
        .where(CaseAssignment.case_id.in_(case_ids), CaseAssignment.active)
    ).all()
    result: dict[int, list[Department]] = {}
    for case_id, department in rows:
        result.setdefault(case_id, []).append(department)
    return result
