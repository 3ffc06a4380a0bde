"""A campaign's tables: the campaign (its target set, form and deadline), one task per grid that holds targets,
one target row per registry record to visit, and every submission from the field.

A submission carries the phone's own id (``client_submission_id``): sent again after a lost connection it finds
the first one instead of making a second — the unique constraint makes that hold under concurrent retries too.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from civicgrid.db import Base, JSONType, UTCDateTime, sql_in_list, utcnow


class CampaignState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Outcome(StrEnum):
    VISITED = "visited"  # 已走访: the form is filled, the target is done
    NOT_REACHED = "not_reached"  # 未遇: nobody there; recorded, the target stays to do

    @property
    def label(self) -> str:
        return {"visited": "已走访", "not_reached": "未遇（需再访）"}[self.value]


class Campaign(Base):
    __tablename__ = "campaign"
    __table_args__ = (
        CheckConstraint(sql_in_list("state", [s.value for s in CampaignState]), name="state_known"),
        Index(None, "scope_code"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    verb: Mapped[str] = mapped_column(String(8))  # 摸排 / 排查 / 走访: how the report sentence speaks
    purpose: Mapped[str | None] = mapped_column(Text)
    target_kind: Mapped[str] = mapped_column(String(32))  # "people" or a registry kind key
    target_filter: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    scope_code: Mapped[str] = mapped_column(String(32))  # the grid the campaign covers
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    deadline: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(8), default=CampaignState.OPEN.value)
    target_count: Mapped[int] = mapped_column(Integer, default=0)
    created_by_label: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class CampaignTask(Base):
    """The targets of one grid, for that grid's workers (``assignee_ids``; the nearest grid up that has some)."""

    __tablename__ = "campaign_task"
    __table_args__ = (UniqueConstraint("campaign_id", "grid_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    grid_code: Mapped[str] = mapped_column(String(32))
    grid_name: Mapped[str] = mapped_column(String(200))
    assignee_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    target_count: Mapped[int] = mapped_column(Integer, default=0)


class CampaignTarget(Base):
    """One registry record to visit; ``done_at`` once a visit's form is in."""

    __tablename__ = "campaign_target"
    __table_args__ = (
        UniqueConstraint("campaign_id", "object_type", "object_id"),
        Index(None, "campaign_id", "task_id", "done_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    task_id: Mapped[int] = mapped_column(ForeignKey("campaign_task.id", ondelete="CASCADE"))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int] = mapped_column(Integer)
    scope_code: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(200))  # name, as the registry had it at launch
    address: Mapped[str | None] = mapped_column(String(200))
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    done_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))


class CampaignSubmission(Base):
    __tablename__ = "campaign_submission"
    __table_args__ = (
        UniqueConstraint("campaign_id", "client_submission_id"),
        CheckConstraint(sql_in_list("outcome", [o.value for o in Outcome]), name="outcome_known"),
        Index(None, "target_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    target_id: Mapped[int] = mapped_column(ForeignKey("campaign_target.id", ondelete="CASCADE"))
    client_submission_id: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    answers: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    case_numbers: Mapped[list[str]] = mapped_column(JSONType, default=list)  # hazards turned into cases
    submitted_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    submitted_by_label: Mapped[str] = mapped_column(String(200))
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
