"""The audit log: who changed or looked at what, and when.

Domain services call ``record`` inside the transaction of the change itself, so an audited change and its entry
commit or roll back together. Case history is richer and lives with the cases; this log covers the rest (grid,
organisation, imports, full views of personal data).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from civicgrid.db import Base, JSONType, UTCDateTime, utcnow

if TYPE_CHECKING:
    from civicgrid.org.actor import Actor


class AuditEntry(Base):
    __tablename__ = "audit_entry"
    __table_args__ = (Index(None, "object_type", "object_key"), Index(None, "at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    actor_label: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_key: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


def record(
    session: Session,
    actor: Actor,
    action: str,
    object_type: str,
    object_key: str | int,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        actor_user_id=actor.user_id,
        actor_label=actor.label,
        action=action,
        object_type=object_type,
        object_key=str(object_key),
        detail=detail or {},
    )
    session.add(entry)
    return entry
