"""Reading cases: one case, lists with filters, and the history — always through the actor's scope."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from civicgrid.cases.auth import readable
from civicgrid.cases.models import Attachment, Case, CaseAssignment, CaseEvent, CaseState, Category, Channel
from civicgrid.errors import NotFoundError
from civicgrid.org.actor import Actor


def get_case(session: Session, actor: Actor, number: str) -> Case:
    """The case, if the actor may read it. An unreadable case is reported as not found (no existence leak)."""
    stmt = readable(select(Case).where(Case.number == number.strip()), actor).options(
        selectinload(Case.assignments), selectinload(Case.category)
    )
    case = session.execute(stmt).scalar_one_or_none()
    if case is None:
        raise NotFoundError(f"找不到案件{number}，或无权查看", code="case_not_found", detail={"number": number})
    return case


@dataclass
class CaseFilter:
    states: Sequence[CaseState] = ()
    category_code: str | None = None  # a category and its subtree
    grid_code: str | None = None  # a grid subtree
    department_id: int | None = None
    channels: Sequence[Channel] = ()
    due_soon: bool | None = None
    overdue: bool | None = None
    reported_from: dt.datetime | None = None
    reported_to: dt.datetime | None = None
    text: str | None = None
    unplaced: bool | None = None


def filtered(stmt: Select[Case], criteria: CaseFilter) -> Select[Case]:
    if criteria.states:
        stmt = stmt.where(Case.state.in_([state.value for state in criteria.states]))
    if criteria.grid_code:
        stmt = stmt.where(Case.scope_code.startswith(criteria.grid_code, autoescape=True))
    if criteria.category_code:
        stmt = stmt.join(Case.category).where(Category.code.startswith(criteria.category_code, autoescape=True))
    if criteria.department_id is not None:
        stmt = stmt.where(
            Case.assignments.any((CaseAssignment.department_id == criteria.department_id) & CaseAssignment.active)
        )
    if criteria.channels:
        stmt = stmt.where(Case.channel.in_([channel.value for channel in criteria.channels]))
    if criteria.due_soon is not None:
        stmt = stmt.where(Case.due_soon.is_(criteria.due_soon))
    if criteria.overdue is not None:
        stmt = stmt.where(Case.overdue.is_(criteria.overdue))
    if criteria.reported_from is not None:
        stmt = stmt.where(Case.reported_at >= criteria.reported_from)
    if criteria.reported_to is not None:
        stmt = stmt.where(Case.reported_at < criteria.reported_to)
    if criteria.unplaced:
        stmt = stmt.where(Case.grid_node_id.is_(None))
    if criteria.text:
        pattern = criteria.text.strip()
        stmt = stmt.where(
            or_(
                Case.number == pattern,
                Case.title.contains(pattern, autoescape=True),
                Case.description.contains(pattern, autoescape=True),
            )
        )
    return stmt


def list_cases(
    session: Session, actor: Actor, criteria: CaseFilter | None = None, *, limit: int = 50, offset: int = 0
) -> tuple[list[Case], int]:
    """A page of cases, newest first, and the total count."""
    stmt = filtered(readable(select(Case), actor), criteria or CaseFilter())
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    page = session.execute(
        stmt.options(selectinload(Case.category))
        .order_by(Case.reported_at.desc(), Case.id.desc())
        .limit(limit)
        .offset(offset)
    ).scalars()
    return list(page), int(total)


def history(session: Session, actor: Actor, number: str) -> list[CaseEvent]:
    case = get_case(session, actor, number)
    return list(
        session.execute(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq)).scalars()
    )


def attachments_of(session: Session, actor: Actor, number: str) -> list[Attachment]:
    case = get_case(session, actor, number)
    return list(
        session.execute(select(Attachment).where(Attachment.case_id == case.id).order_by(Attachment.id)).scalars()
    )
