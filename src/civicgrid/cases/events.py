"""Appending to a case's history. Every change to a case goes through here, in the change's own transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from civicgrid import timesource
from civicgrid.cases.models import Case, CaseEvent, CaseState
from civicgrid.org.actor import Actor


def append_event(
    session: Session,
    case: Case,
    actor: Actor,
    action: str,
    from_state: CaseState | None,
    to_state: CaseState,
    note: str = "",
    data: dict[str, Any] | None = None,
) -> CaseEvent:
    """Record one step. The sequence number comes from the case row, whose version check makes a concurrent
    writer fail instead of interleaving histories."""
    case.event_count = (case.event_count or 0) + 1
    event = CaseEvent(
        case_id=case.id,
        seq=case.event_count,
        at=timesource.now(),
        actor_user_id=actor.user_id,
        actor_label=actor.label,
        action=action,
        from_state=from_state.value if from_state else None,
        to_state=to_state.value,
        note=note,
        data=data or {},
    )
    session.add(event)
    session.flush()
    return event
