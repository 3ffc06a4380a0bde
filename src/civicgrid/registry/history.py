"""Versioning shared by every registry object: each change is a ``RegistryChange`` (who, when, why, old → new per
field), a stale write is refused, and replaying the changes answers "what did it look like on date X"."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civicgrid import timesource
from civicgrid.errors import ConflictError, InvalidInputError
from civicgrid.org.actor import Actor
from civicgrid.registry.models import RegistryChange
from civicgrid.text import checked_text, optional_text

Diff = dict[str, list[Any]]  # {field: [old, new]}


def record_change(
    session: Session,
    actor: Actor,
    object_type: str,
    object_id: int,
    action: str,
    fields: Diff,
    reason: str | None = None,
) -> RegistryChange:
    """Append one change to the object's history (its next ``seq``), in the caller's transaction."""
    last = session.execute(
        select(func.max(RegistryChange.seq)).where(
            RegistryChange.object_type == object_type, RegistryChange.object_id == object_id
        )
    ).scalar()
    change = RegistryChange(
        object_type=object_type,
        object_id=object_id,
        seq=(last or 0) + 1,
        at=timesource.now(),
        actor_user_id=actor.user_id,
        actor_label=actor.label,
        action=action,
        reason=optional_text(reason, MAX_REASON, "原因", "reason"),
        fields=fields,
    )
    session.add(change)
    session.flush()
    return change


def creation_rows(
    actor: Actor, object_type: str, created: Mapping[int, Mapping[str, Any]], at: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """The first history row of each of many new objects (``{id: tracked values}``), for one bulk insert."""
    moment = at or timesource.now()
    return [
        {
            "object_type": object_type,
            "object_id": object_id,
            "seq": 1,
            "at": moment,
            "actor_user_id": actor.user_id,
            "actor_label": actor.label,
            "action": "create",
            "reason": None,
            "fields": {name: [None, value] for name, value in values.items()},
        }
        for object_id, values in created.items()
    ]


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> Diff:
    return {name: [before.get(name), value] for name, value in after.items() if before.get(name) != value}


def require_version(current: int, expected: int) -> None:
    """Refuse a write based on an old read: someone changed the record since the actor saw version ``expected``."""
    if current != expected:
        raise ConflictError(
            f"该记录已被他人修改（当前第{current}版，您看到的是第{expected}版），请刷新后再改",
            code="stale_version",
            detail={"current_version": current},
        )


MAX_REASON = 500  # registry_change.reason; also the reason of a full view (audit)


def require_reason(value: str | None) -> str:
    reason = checked_text(value or "", MAX_REASON, "原因", "reason")
    if len(reason) < 2:
        raise InvalidInputError("请说明原因", code="reason_required")
    return reason


def changes_of(
    session: Session, object_type: str, object_id: int, *, until: dt.datetime | None = None
) -> list[RegistryChange]:
    stmt = select(RegistryChange).where(
        RegistryChange.object_type == object_type, RegistryChange.object_id == object_id
    )
    if until is not None:
        stmt = stmt.where(RegistryChange.at <= until)
    return list(session.execute(stmt.order_by(RegistryChange.seq)).scalars())


def replay(changes: list[RegistryChange], hidden: Collection[str] = ()) -> dict[str, Any] | None:
    """The fields as the changes leave them (None: no change yet, the object did not exist); ``hidden`` fields
    (sealed values) are left out."""
    state: dict[str, Any] | None = None
    for change in changes:
        state = state or {}
        state.update({name: new for name, (_, new) in change.fields.items() if name not in hidden})
    return state
