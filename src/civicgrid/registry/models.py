"""The registry's tables: people (实有人口) first, with every change kept as a versioned event.

Residents' ID numbers and phones are never stored in the clear: ``*_sealed`` holds the encrypted value and
``*_index`` its keyed fingerprint (``registry.protect``), which is how duplicates are found. Where a record is on
the grid follows the cases' rules: a point inside a grid is placed there, one outside every grid is kept and
flagged (``placement``), never dropped.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from civicgrid.cases.models import Placement
from civicgrid.db import Base, JSONType, UTCDateTime, sql_in_list, utcnow


class Residence(StrEnum):
    HOUSEHOLD = "household"  # 户籍人口
    RESIDENT = "resident"  # 常住人口（非户籍）
    FLOATING = "floating"  # 流动人口

    @property
    def label(self) -> str:
        return {"household": "户籍", "resident": "常住", "floating": "流动"}[self.value]


# Tags a street office keeps for the people it looks after (seeds 001, 004); others may be added freely.
PERSON_TAGS = ("独居老人", "空巢老人", "低保", "特困", "残疾", "退役军人", "重点优抚", "留守儿童", "孕产妇", "社区矫正")


class Person(Base):
    __tablename__ = "registry_person"
    __table_args__ = (
        CheckConstraint(sql_in_list("residence", [r.value for r in Residence]), name="residence_known"),
        CheckConstraint(sql_in_list("placement", [p.value for p in Placement]), name="placement_known"),
        UniqueConstraint("id_number_index"),
        Index(None, "scope_code"),
        Index(None, "phone_index"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    id_number_sealed: Mapped[str | None] = mapped_column(Text)
    id_number_index: Mapped[str | None] = mapped_column(String(64))
    phone_sealed: Mapped[str | None] = mapped_column(Text)
    phone_index: Mapped[str | None] = mapped_column(String(64))
    birth_date: Mapped[dt.date | None] = mapped_column(Date)  # from the ID number
    male: Mapped[bool | None] = mapped_column()
    residence: Mapped[str] = mapped_column(String(16), default=Residence.RESIDENT.value)
    household_no: Mapped[str | None] = mapped_column(String(40))  # 户号: people of one household share it
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    address: Mapped[str | None] = mapped_column(String(200))
    lon: Mapped[float | None] = mapped_column(Float)  # WGS-84
    lat: Mapped[float | None] = mapped_column(Float)
    placement: Mapped[str] = mapped_column(String(16))
    grid_node_id: Mapped[int | None] = mapped_column(ForeignKey("grid_node.id", ondelete="SET NULL"))
    scope_code: Mapped[str] = mapped_column(String(32))  # who looks after the record: its grid, or the fallback
    moved_out_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("registry_person.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy reads it as-is


class RegistryChange(Base):
    """One change to a registry object: who, when, why, and each field's old and new value (sealed fields stay
    sealed here too). Replaying them answers "what did it look like on date X"."""

    __tablename__ = "registry_change"
    __table_args__ = (UniqueConstraint("object_type", "object_id", "seq"), Index(None, "at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    actor_label: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(32))  # create, update, move_out, merge
    reason: Mapped[str | None] = mapped_column(String(500))
    fields: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # {field: [old, new]}
