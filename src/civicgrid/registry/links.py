"""Which registry records a case is about (the building with the leaking roof, the enterprise with the fire
hazard, the elderly resident who called): linked and unlinked as events in the case's history, listed on the case
page and, the other way round, the cases of a record on its page.

Both ends go through the actor's scope: the case must be readable (``cases.queries.get_case``) and the record in
the actor's grids; a list shows only what the actor may see of either. A person is named masked in the case
history, never by ID number.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from civicgrid import timesource
from civicgrid.cases.auth import readable
from civicgrid.cases.events import append_event
from civicgrid.cases.models import Case, CaseState
from civicgrid.cases.queries import get_case
from civicgrid.errors import ConflictError, NotFoundError, PermissionDeniedError
from civicgrid.org.actor import Actor
from civicgrid.org.roles import Permission
from civicgrid.registry import objects, people
from civicgrid.registry.history import require_reason
from civicgrid.registry.kinds import KINDS, kind_of
from civicgrid.registry.models import CaseSubject, Person

PERSON = "person"
LINKERS = (Permission.CASE_INTAKE, Permission.CASE_DISPATCH, Permission.CASE_VERIFY)


@dataclass(frozen=True)
class Subject:
    """A record a case names, as the case page shows it."""

    object_type: str
    object_id: int
    kind_label: str
    name: str
    address: str | None
    href: str


@dataclass(frozen=True)
class LinkedCase:
    number: str
    title: str
    state: CaseState
    reported_at: str


def link(session: Session, actor: Actor, case_number: str, object_type: str, object_id: int) -> CaseSubject:
    """The case names the record; the case's history says so."""
    case, subject = _both(session, actor, case_number, object_type, object_id)
    taken = select(CaseSubject.id).where(
        CaseSubject.case_id == case.id, CaseSubject.object_type == object_type, CaseSubject.object_id == object_id
    )
    if session.execute(taken).first() is not None:
        raise ConflictError(f"案件{case.number}已关联{subject.name}", code="already_linked")
    row = CaseSubject(
        case_id=case.id,
        object_type=object_type,
        object_id=object_id,
        linked_at=timesource.now(),
        linked_by_user_id=actor.user_id,
    )
    session.add(row)
    state = CaseState(case.state)
    data = {"object_type": object_type, "object_id": object_id}
    append_event(session, case, actor, "link_subject", state, state, f"关联{subject.kind_label}：{subject.name}", data)
    return row


def unlink(session: Session, actor: Actor, case_number: str, object_type: str, object_id: int, *, reason: str) -> None:
    case, subject = _both(session, actor, case_number, object_type, object_id)
    why = require_reason(reason)
    removed = session.execute(
        delete(CaseSubject).where(
            CaseSubject.case_id == case.id, CaseSubject.object_type == object_type, CaseSubject.object_id == object_id
        )
    )
    if not getattr(removed, "rowcount", 0):
        raise NotFoundError(f"案件{case.number}未关联{subject.name}", code="not_linked")
    state = CaseState(case.state)
    note = f"取消关联{subject.kind_label}：{subject.name}（{why}）"
    append_event(
        session, case, actor, "unlink_subject", state, state, note, {"object_type": object_type, "object_id": object_id}
    )


def subjects_of(session: Session, actor: Actor, case: Case) -> list[Subject]:
    """The records the case names that the actor may see (none without registry access)."""
    if not actor.has(Permission.REGISTRY_READ):
        return []
    rows = session.execute(
        select(CaseSubject.object_type, CaseSubject.object_id)
        .where(CaseSubject.case_id == case.id)
        .order_by(CaseSubject.id)
    ).all()
    shown = []
    for object_type, object_id in rows:
        try:
            shown.append(_subject(session, actor, object_type, object_id))
        except NotFoundError:
            continue  # outside the actor's grids: not shown
    return shown


def cases_of(session: Session, actor: Actor, object_type: str, object_id: int, *, limit: int = 100) -> list[LinkedCase]:
    """The cases naming the record that the actor may read, newest first."""
    _subject(session, actor, object_type, object_id)
    stmt = readable(
        select(Case)
        .join(CaseSubject, CaseSubject.case_id == Case.id)
        .where(CaseSubject.object_type == object_type, CaseSubject.object_id == object_id),
        actor,
    )
    found = session.execute(stmt.order_by(Case.reported_at.desc()).limit(limit)).scalars()
    return [LinkedCase(c.number, c.title, CaseState(c.state), c.reported_at.isoformat()) for c in found]


def _both(session: Session, actor: Actor, case_number: str, object_type: str, object_id: int) -> tuple[Case, Subject]:
    if not any(actor.has(permission) for permission in LINKERS):
        raise PermissionDeniedError(f"{actor.display_name}无权为案件关联登记对象", code="permission_denied")
    case = get_case(session, actor, case_number)
    return case, _subject(session, actor, object_type, object_id)


def _subject(session: Session, actor: Actor, object_type: str, object_id: int) -> Subject:
    """The record as a case shows it — refused (not found) outside the actor's grids."""
    if object_type == PERSON:
        person = people.get_person(session, actor, object_id)
        return Subject(PERSON, person.id, "人员", _masked_name(person), person.address, f"/registry/people/{person.id}")
    kind = kind_of(object_type)
    record = objects.get(session, actor, kind.key, object_id)
    return Subject(kind.key, record.id, kind.label, record.name, record.address, f"/registry/{kind.key}/{record.id}")


def _masked_name(person: Person) -> str:
    """王秀兰 → 王**: the case history is read by more people than the registry."""
    return person.name[:1] + "*" * max(len(person.name) - 1, 1)


def linkable_kinds() -> list[tuple[str, str]]:
    return [(PERSON, "人员"), *((key, kind.label) for key, kind in KINDS.items())]
