"""The registry's tables (一标三实): people, estates, buildings, houses, enterprises, parcels, rivers and facilities,
with every change kept as a versioned event.

Residents' ID numbers and phones are never stored in the clear: ``*_sealed`` holds the encrypted value and
``*_index`` its keyed fingerprint (``registry.protect``), which is how duplicates are found. Where a record is on
the grid follows the cases' rules: a point inside a grid is placed there, one outside every grid is kept and
flagged (``placement``), never dropped.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

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
    house_id: Mapped[int | None] = mapped_column(ForeignKey("registry_house.id", ondelete="SET NULL"), index=True)
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


class PlacedObject:
    """What every registry object other than a person has: a name, an address, a place on the grid (a point, or
    an area or line with its representative point), tags, a natural key for duplicates, a retirement date
    (demolished, deregistered, removed) instead of deletion, and a version for refusing stale writes."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(200))
    natural_key: Mapped[str | None] = mapped_column(String(200), unique=True)  # credit code, normalised address …
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    lon: Mapped[float | None] = mapped_column(Float)  # WGS-84; for an area or a line, its representative point
    lat: Mapped[float | None] = mapped_column(Float)
    geometry: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)  # WKB, WGS-84, areas and lines
    placement: Mapped[str] = mapped_column(String(16))
    grid_node_id: Mapped[int | None] = mapped_column(ForeignKey("grid_node.id", ondelete="SET NULL"))
    scope_code: Mapped[str] = mapped_column(String(32), index=True)
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805 - SQLAlchemy's declared_attr takes the class
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]


class StandardAddress(PlacedObject, Base):
    """标准地址 (the 一标 of 一标三实): a door plate — road, door number, and where there is one the building, the
    entrance and the room; its name and address are the composed standard form (泰和路12号3号楼2单元301室)."""

    __tablename__ = "registry_address"

    road: Mapped[str] = mapped_column(String(40))
    door_no: Mapped[str] = mapped_column(String(16))
    building: Mapped[str | None] = mapped_column(String(16))
    entrance: Mapped[str | None] = mapped_column(String(8))
    room: Mapped[str | None] = mapped_column(String(16))


class Estate(PlacedObject, Base):
    """小区: a housing estate, usually an area."""

    __tablename__ = "registry_estate"

    property_company: Mapped[str | None] = mapped_column(String(200))  # 物业服务企业
    built_year: Mapped[int | None] = mapped_column(Integer)


class Building(PlacedObject, Base):
    """楼宇: a residential block in an estate, an office building (楼宇经济), a factory …"""

    __tablename__ = "registry_building"

    estate_id: Mapped[int | None] = mapped_column(ForeignKey("registry_estate.id", ondelete="SET NULL"), index=True)
    use: Mapped[str | None] = mapped_column(String(16))
    floors: Mapped[int | None] = mapped_column(Integer)


class House(PlacedObject, Base):
    """房屋: one dwelling or premises, with its use, area and who lives in it."""

    __tablename__ = "registry_house"

    building_id: Mapped[int | None] = mapped_column(ForeignKey("registry_building.id", ondelete="SET NULL"), index=True)
    room: Mapped[str | None] = mapped_column(String(40))  # 2单元301
    use: Mapped[str | None] = mapped_column(String(16))
    area_m2: Mapped[float | None] = mapped_column(Float)
    occupancy: Mapped[str | None] = mapped_column(String(16))  # 自住/出租/空置
    owner_name: Mapped[str | None] = mapped_column(String(100))


class Enterprise(PlacedObject, Base):
    """单位/企业, identified by its unified social credit code."""

    __tablename__ = "registry_enterprise"

    credit_code: Mapped[str | None] = mapped_column(String(18))
    kind: Mapped[str | None] = mapped_column(String(16))  # 企业/个体工商户/机关事业单位/社会组织
    industry: Mapped[str | None] = mapped_column(String(1))  # GB/T 4754 门类 letter
    scale: Mapped[str | None] = mapped_column(String(8))  # 规上/规下
    employees: Mapped[int | None] = mapped_column(Integer)
    annual_tax: Mapped[float | None] = mapped_column(Float)  # 万元, last full year
    land_mu: Mapped[float | None] = mapped_column(Float)  # 用地面积（亩）
    building_id: Mapped[int | None] = mapped_column(ForeignKey("registry_building.id", ondelete="SET NULL"), index=True)
    established_on: Mapped[dt.date | None] = mapped_column(Date)


class Parcel(PlacedObject, Base):
    """地块: a land parcel and what is being done with it (闲置/低效 → 盘活)."""

    __tablename__ = "registry_parcel"

    parcel_no: Mapped[str | None] = mapped_column(String(40))
    use: Mapped[str | None] = mapped_column(String(16))
    area_mu: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str | None] = mapped_column(String(8))


class River(PlacedObject, Base):
    """河道 with its responsible 河长."""

    __tablename__ = "registry_river"

    level: Mapped[str | None] = mapped_column(String(8))
    length_km: Mapped[float | None] = mapped_column(Float)
    chief_name: Mapped[str | None] = mapped_column(String(50))
    chief_title: Mapped[str | None] = mapped_column(String(100))


class Facility(PlacedObject, Base):
    """部件/设施 by the component classes of 数字城管 (GB/T 30428.2), with the department that owns it."""

    __tablename__ = "registry_facility"

    class_code: Mapped[str] = mapped_column(String(4), index=True)
    code: Mapped[str | None] = mapped_column(String(16))  # 部件标识码: county code + class + serial
    owner_department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id", ondelete="SET NULL"))
    condition: Mapped[str | None] = mapped_column(String(8))


class CaseSubject(Base):
    """A case is about this registry object (a building, an enterprise, a resident, a facility …)."""

    __tablename__ = "registry_case_subject"
    __table_args__ = (UniqueConstraint("case_id", "object_type", "object_id"), Index(None, "object_type", "object_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int] = mapped_column(Integer)
    linked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    linked_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
