"""Tables of the grid: nodes (a tree of polygons) and the people assigned to them."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from civicgrid.db import Base, UTCDateTime, sql_in_list, utcnow
from civicgrid.grid.codes import GridLevel, nbs_code


class GridNode(Base):
    """One node of the grid tree: 区县, 街道/乡镇, 社区/村, or a 网格单元 (which may nest)."""

    __tablename__ = "grid_node"
    __table_args__ = (
        CheckConstraint(sql_in_list("level", [level.value for level in GridLevel]), name="level_known"),
        CheckConstraint("depth >= 0", name="depth_not_negative"),
        Index(None, "parent_id"),
        Index(None, "level"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("grid_node.id", ondelete="RESTRICT"))
    depth: Mapped[int] = mapped_column(Integer, default=0)
    district_code: Mapped[str | None] = mapped_column(String(6))
    # Polygon or MultiPolygon as WKB, always WGS-84 lon/lat; the bounding box and area are derived on write.
    geometry: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    min_lon: Mapped[float | None] = mapped_column(Float)
    min_lat: Mapped[float | None] = mapped_column(Float)
    max_lon: Mapped[float | None] = mapped_column(Float)
    max_lat: Mapped[float | None] = mapped_column(Float)
    area_m2: Mapped[float | None] = mapped_column(Float)
    geometry_source: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    parent: Mapped[GridNode | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[GridNode]] = relationship(back_populates="parent")
    assignments: Mapped[list[GridAssignment]] = relationship(
        back_populates="grid_node", cascade="all, delete-orphan", passive_deletes=True
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy reads it as-is

    @property
    def grid_level(self) -> GridLevel:
        return GridLevel(self.level)

    @property
    def nbs_code(self) -> str | None:
        return nbs_code(self.code, self.grid_level)

    @property
    def has_geometry(self) -> bool:
        return self.min_lon is not None

    def __repr__(self) -> str:
        return f"GridNode({self.code} {self.name} {self.level})"


class GridDuty(StrEnum):
    GRID_WORKER = "grid_worker"
    GRID_LEADER = "grid_leader"
    SUNK_CADRE = "sunk_cadre"

    @property
    def label(self) -> str:
        return {"grid_worker": "专职网格员", "grid_leader": "网格长", "sunk_cadre": "下沉干部"}[self.value]


class GridAssignment(Base):
    """A person responsible for a grid node: its grid worker, its grid leader, or a cadre sent down to it."""

    __tablename__ = "grid_assignment"
    __table_args__ = (
        UniqueConstraint("grid_node_id", "user_id", "duty"),
        CheckConstraint(sql_in_list("duty", [duty.value for duty in GridDuty]), name="duty_known"),
        Index(None, "user_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grid_node_id: Mapped[int] = mapped_column(ForeignKey("grid_node.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    duty: Mapped[str] = mapped_column(String(24), default=GridDuty.GRID_WORKER.value)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    grid_node: Mapped[GridNode] = relationship(back_populates="assignments")
