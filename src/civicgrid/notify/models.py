"""The outbox: notifications written in the same transaction as the change that causes them."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from civicgrid.db import Base, JSONType, UTCDateTime, sql_in_list, utcnow


class OutboxStatus(StrEnum):
    PENDING = "pending"  # waiting for its first or next attempt
    SENT = "sent"
    DEAD = "dead"  # gave up after the last attempt: visible, re-queueable, never silently dropped


class OutboxMessage(Base):
    __tablename__ = "notify_outbox"
    __table_args__ = (
        CheckConstraint(sql_in_list("status", [s.value for s in OutboxStatus]), name="status_known"),
        Index(None, "status", "next_attempt_at"),
        Index(None, "case_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))  # assigned, due_soon, overdue, returned, rated, supervised …
    channel: Mapped[str] = mapped_column(String(16))  # log, webhook, email, sms
    recipient: Mapped[str] = mapped_column(String(200))  # a department code, a user name, an address or phone
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
