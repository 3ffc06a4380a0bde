"""Tables of the case engine: types, categories, cases, their departments, events, attachments, routing rules,
and hotline import runs."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from civicgrid.db import Base, JSONType, UTCDateTime, sql_in_list, utcnow


class CaseState(StrEnum):
    REPORTED = "reported"
    REGISTERED = "registered"
    DISPATCHED = "dispatched"
    IN_PROGRESS = "in_progress"
    HANDLED = "handled"
    SUSPENDED = "suspended"
    CLOSED = "closed"
    REJECTED = "rejected"
    MERGED = "merged"

    @property
    def label(self) -> str:
        return STATE_LABELS[self]

    @property
    def is_open(self) -> bool:
        return self not in (CaseState.CLOSED, CaseState.REJECTED, CaseState.MERGED)


STATE_LABELS: dict[CaseState, str] = {
    CaseState.REPORTED: "待立案",
    CaseState.REGISTERED: "待派遣",
    CaseState.DISPATCHED: "待接收",
    CaseState.IN_PROGRESS: "处置中",
    CaseState.HANDLED: "待核查",
    CaseState.SUSPENDED: "挂账中",
    CaseState.CLOSED: "已结案",
    CaseState.REJECTED: "不予立案",
    CaseState.MERGED: "已合并",
}
OPEN_STATES = tuple(state.value for state in CaseState if state.is_open)


class Channel(StrEnum):
    GRID_PATROL = "grid_patrol"
    RESIDENT = "resident"
    HOTLINE_12345 = "hotline_12345"
    HOTLINE_8890 = "hotline_8890"
    HOTLINE_96685 = "hotline_96685"
    MESSAGE_BOARD = "message_board"
    SENSOR = "sensor"
    REFERRAL = "referral"
    INSPECTION = "inspection"

    @property
    def label(self) -> str:
        return CHANNEL_LABELS[self]


CHANNEL_LABELS: dict[Channel, str] = {
    Channel.GRID_PATROL: "网格员巡查",
    Channel.RESIDENT: "群众上报",
    Channel.HOTLINE_12345: "12345热线",
    Channel.HOTLINE_8890: "8890热线",
    Channel.HOTLINE_96685: "96685热线",
    Channel.MESSAGE_BOARD: "网络留言",
    Channel.SENSOR: "感知设备",
    Channel.REFERRAL: "上级交办",
    Channel.INSPECTION: "督查检查",
}


class Placement(StrEnum):
    LOCATED = "located"  # the point fell in a grid
    OUTSIDE = "outside"  # a point outside every grid: kept, flagged for manual placement
    NO_LOCATION = "no_location"  # no coordinates (address only): flagged for manual placement
    MANUAL = "manual"  # placed by a person

    @property
    def label(self) -> str:
        return {"located": "已落图", "outside": "网格外待落图", "no_location": "无坐标待落图", "manual": "人工落图"}[
            self.value
        ]

    @property
    def awaits_placing(self) -> bool:
        return self in UNPLACED


UNPLACED = frozenset({Placement.OUTSIDE, Placement.NO_LOCATION})  # 待落图: kept, waiting for a person to place them


class Rating(StrEnum):
    SATISFIED = "satisfied"
    BASICALLY = "basically_satisfied"
    UNSATISFIED = "unsatisfied"

    @property
    def label(self) -> str:
        return {"satisfied": "满意", "basically_satisfied": "基本满意", "unsatisfied": "不满意"}[self.value]


class AssignmentRole(StrEnum):
    MAIN = "main"
    ASSIST = "assist"


class CaseType(Base):
    """A kind of case with its own extra fields, declared as data (admins add types without code)."""

    __tablename__ = "case_type"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    # [{"name": "parties", "label": "当事人", "type": "text", "required": true, "choices": [...]}, ...]
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Category(Base):
    """A node of the category taxonomy (大类/小类/…). Codes extend their parent's, like grid codes."""

    __tablename__ = "case_category"
    __table_args__ = (Index(None, "parent_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("case_category.id", ondelete="RESTRICT"))
    depth: Mapped[int] = mapped_column(Integer, default=0)
    case_type_code: Mapped[str | None] = mapped_column(ForeignKey("case_type.code", ondelete="SET NULL"))
    # Department *code* (not a key): taxonomies travel between installations whose departments differ.
    default_department_code: Mapped[str | None] = mapped_column(String(32))
    priority: Mapped[int] = mapped_column(Integer, default=3)  # 1 = most urgent
    # {"register": {"value": 2, "unit": "hours"}, "dispatch": ..., "handle": ..., "verify": ...}
    limits: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    self_handle_allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    parent: Mapped[Category | None] = relationship(remote_side=[id])


class Case(Base):
    """One case. Its state and counters are derived from the events and kept here for speed."""

    __tablename__ = "case"
    __table_args__ = (
        CheckConstraint(sql_in_list("state", [s.value for s in CaseState]), name="state_known"),
        CheckConstraint(sql_in_list("channel", [c.value for c in Channel]), name="channel_known"),
        CheckConstraint(sql_in_list("placement", [p.value for p in Placement]), name="placement_known"),
        UniqueConstraint("channel", "source_id"),
        Index(None, "state"),
        Index(None, "scope_code"),
        Index(None, "grid_node_id"),
        Index(None, "category_id"),
        Index(None, "reported_at"),
        Index(None, "deadline_at"),
        Index(None, "merged_into_id"),
        Index(None, "district_code", "reported_at"),
        # A state filter covering most cases (closed, rejected) sorted by report time: without it SQLite takes
        # ix_case_state and sorts every closed case for the first page.
        Index(None, "state", "reported_at", "id"),
        # The columns of cases.auth.readable's grid and reporter terms: counting what a narrow scope (a grid
        # worker's grid) may read scans this small index instead of every row of the table.
        Index(None, "scope_code", "escalation_code", "reporter_user_id"),
        # The few cases not yet answered (立案, 不予立案, 合并 or 自处置): the KPI roll-up counts 应响应 for them live.
        Index(
            "ix_case_unresponded_reported_at",
            "reported_at",
            sqlite_where=text("responded_at IS NULL"),
            postgresql_where=text("responded_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(24), unique=True)
    channel: Mapped[str] = mapped_column(String(24))
    source_id: Mapped[str | None] = mapped_column(String(100))
    idempotency_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    case_type_code: Mapped[str | None] = mapped_column(ForeignKey("case_type.code", ondelete="RESTRICT"))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("case_category.id", ondelete="RESTRICT"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    extra: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    state: Mapped[str] = mapped_column(String(16), default=CaseState.REPORTED.value)
    priority: Mapped[int] = mapped_column(Integer, default=3)

    reporter_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    reporter_name: Mapped[str | None] = mapped_column(String(50))
    reporter_phone: Mapped[str | None] = mapped_column(String(32))
    tracking_code_hash: Mapped[str | None] = mapped_column(String(64))  # residents follow their case with it

    lon: Mapped[float | None] = mapped_column(Float)  # WGS-84
    lat: Mapped[float | None] = mapped_column(Float)
    input_crs: Mapped[str | None] = mapped_column(String(8))
    address: Mapped[str | None] = mapped_column(String(200))
    placement: Mapped[str] = mapped_column(String(16), default=Placement.NO_LOCATION.value)
    grid_node_id: Mapped[int | None] = mapped_column(ForeignKey("grid_node.id", ondelete="SET NULL"))
    # Grid code the case is scoped by: the located grid, else the grid of whoever took it in.
    scope_code: Mapped[str] = mapped_column(String(32))
    district_code: Mapped[str | None] = mapped_column(String(6))
    nearest_grid_code: Mapped[str | None] = mapped_column(String(32))
    distance_to_grid_m: Mapped[float | None] = mapped_column(Float)

    main_department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id", ondelete="SET NULL"))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("case.id", ondelete="SET NULL"))
    escalation_code: Mapped[str | None] = mapped_column(String(32))  # grid level the case was escalated to

    reported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    registered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    handled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    # Clock: the current stage's deadline, the handling deadline that 按期办结 is judged by, and when the
    # stage becomes "due soon". Suspension stops all of them (suspended_at set, remaining work kept in minutes).
    stage: Mapped[str | None] = mapped_column(String(16))
    stage_started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    stage_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    stage_minutes: Mapped[int | None] = mapped_column(Integer)  # the stage's working-time limit, extensions included
    due_soon_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    deadline_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The handling stage's start and length, kept after it ends: a handling deadline that waited for the holiday
    # table can still be computed (for 按期办结) once the case has moved on.
    handle_started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    handle_minutes: Mapped[int | None] = mapped_column(Integer)
    suspended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    suspended_from_state: Mapped[str | None] = mapped_column(String(16))
    remaining_stage_minutes: Mapped[int | None] = mapped_column(Integer)
    remaining_deadline_minutes: Mapped[int | None] = mapped_column(Integer)
    due_soon: Mapped[bool] = mapped_column(Boolean, default=False)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    ever_overdue: Mapped[bool] = mapped_column(Boolean, default=False)

    pending_extension_minutes: Mapped[int | None] = mapped_column(Integer)
    pending_suspension: Mapped[bool] = mapped_column(Boolean, default=False)

    rework_count: Mapped[int] = mapped_column(Integer, default=0)
    return_count: Mapped[int] = mapped_column(Integer, default=0)
    extension_count: Mapped[int] = mapped_column(Integer, default=0)
    supervision_count: Mapped[int] = mapped_column(Integer, default=0)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    self_handled: Mapped[bool] = mapped_column(Boolean, default=False)
    handler_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    verifier_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    rating: Mapped[str | None] = mapped_column(String(24))
    rated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Outcomes the KPIs aggregate (kept in the row so a year is one scan; the history stays the record):
    # the 立案 stage's deadline set at intake and when the case first left 待立案 (响应率), the working minutes
    # of the last handling round without suspended time (平均处置时长), and whether assisting departments were
    # ever dispatched with it (联动).
    response_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    responded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    handle_work_minutes: Mapped[int | None] = mapped_column(Integer)
    linked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    event_count: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)

    assignments: Mapped[list[CaseAssignment]] = relationship(
        back_populates="case", cascade="all, delete-orphan", passive_deletes=True, order_by="CaseAssignment.id"
    )
    category: Mapped[Category | None] = relationship()

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy reads it as-is

    @property
    def case_state(self) -> CaseState:
        return CaseState(self.state)


class CaseAssignment(Base):
    """A department working on a case: the main one, or an assisting one (联动)."""

    __tablename__ = "case_assignment"
    __table_args__ = (
        UniqueConstraint("case_id", "department_id"),
        CheckConstraint(sql_in_list("role", [r.value for r in AssignmentRole]), name="role_known"),
        Index(None, "department_id"),
        Index(None, "role", "case_id", "department_id"),  # 协办 counts start from the assisting rows
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id", ondelete="RESTRICT"))
    role: Mapped[str] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    assigned_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[Case] = relationship(back_populates="assignments")


class CaseEvent(Base):
    """One step in a case's history. Appended in the same transaction as the change; never edited."""

    __tablename__ = "case_event"
    __table_args__ = (UniqueConstraint("case_id", "seq"), Index(None, "at"), Index(None, "action"))

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    actor_label: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class Attachment(Base):
    """A file (photo, document) stored on disk by content hash, attached to a case and usually an event."""

    __tablename__ = "case_attachment"
    __table_args__ = (Index(None, "case_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("case_event.id", ondelete="SET NULL"))
    sha256: Mapped[str] = mapped_column(String(64))
    media_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    original_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class RoutingRule(Base):
    """(category subtree, grid subtree, keywords) → main department + assisting departments."""

    __tablename__ = "routing_rule"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    category_code: Mapped[str | None] = mapped_column(String(32))  # prefix; None = any category
    grid_code: Mapped[str | None] = mapped_column(String(32))  # prefix; None = anywhere
    keywords: Mapped[list[str]] = mapped_column(JSONType, default=list)  # any of them in title/description
    main_department_id: Mapped[int] = mapped_column(ForeignKey("department.id", ondelete="CASCADE"))
    assist_department_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    priority: Mapped[int] = mapped_column(Integer, default=100)  # lower wins among equally specific rules
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class ImportRun(Base):
    """A bulk import of hotline rows; resumable after a crash from ``next_row``."""

    __tablename__ = "case_import_run"
    __table_args__ = (UniqueConstraint("file_sha256", "channel", "sheet"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_name: Mapped[str] = mapped_column(String(200))
    file_sha256: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(24))
    sheet: Mapped[str] = mapped_column(String(100), default="")  # the .xlsx sheet ("" = the first / a CSV)
    mapping: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    next_row: Mapped[int] = mapped_column(Integer, default=0)  # 0-based index of the next data row to process
    created: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="running")
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ImportRowError(Base):
    __tablename__ = "case_import_error"
    __table_args__ = (UniqueConstraint("run_id", "row_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("case_import_run.id", ondelete="CASCADE"))
    row_number: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(500))
    code: Mapped[str] = mapped_column(String(40))
