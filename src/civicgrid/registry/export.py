"""The registry out to Excel, in the import template's columns so a file exported, corrected and imported again
means the same thing: values in words (a choice by its label, a reference by the other record's name), the
position as WGS-84 经度/纬度 with 坐标系 wgs84, the grid code, and the record's 编号 first.

People are exported masked (3702**********1234, 138****5678). A full export is for an actor with
``registry.reveal`` who gives a reason, and it is audited with the filters and the number of people in it; every
export of people is audited, masked or not, because the names and addresses are personal data too."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict
from typing import Any

import shapely
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from civicgrid import audit
from civicgrid.cases.auth import mask_phone
from civicgrid.excel import workbook_bytes
from civicgrid.org.actor import Actor
from civicgrid.org.models import Department
from civicgrid.org.roles import Permission
from civicgrid.registry import objects, people
from civicgrid.registry.history import require_reason
from civicgrid.registry.identifiers import mask_id_number
from civicgrid.registry.kinds import Field, FieldType, Kind, Shape, kind_of
from civicgrid.registry.models import Person, PlacedObject, Residence
from civicgrid.registry.objects_import import CRS_COLUMN, GRID, LAT, LON, SHAPE
from civicgrid.registry.people import PeopleFilter
from civicgrid.registry.people_import import COLUMNS as PEOPLE_COLUMNS
from civicgrid.registry.presenting import PLACEMENT_LABELS
from civicgrid.registry.protect import Protector

CHUNK = 2000
EXTRA = ("定位", "注销时间")


def export_objects(
    session: Session,
    actor: Actor,
    kind_key: str,
    *,
    grid_code: str | None = None,
    tag: str | None = None,
    text: str | None = None,
    include_retired: bool = False,
) -> bytes:
    kind = kind_of(kind_key)
    stmt = objects.matching(
        kind.key, actor, grid_code=grid_code, tag=tag, text=text, include_retired=include_retired
    ).order_by(kind.model.scope_code, kind.model.id)
    records = list(session.scalars(stmt))
    names = _reference_names(session, kind, records)
    headers = ["编号", *_object_headers(kind), *EXTRA]
    rows = (_object_row(kind, record, names) for record in records)
    return workbook_bytes(kind.label.replace("/", "、"), headers, rows)


def export_people(
    session: Session,
    actor: Actor,
    protector: Protector,
    chosen: PeopleFilter,
    *,
    full: bool = False,
    reason: str | None = None,
) -> bytes:
    """Masked unless ``full`` — which needs ``registry.reveal`` and a reason."""
    why = None
    if full:
        actor.require(Permission.REGISTRY_REVEAL, "导出完整身份证号码和电话")
        why = require_reason(reason or "")
    stmt = people.matching(actor, chosen).order_by(Person.scope_code, Person.id)
    headers = ["编号", *(column.header for column in PEOPLE_COLUMNS), "出生日期", "性别", "状态"]
    rows = list(_people_rows(session, stmt, protector, full))
    filters = {name: str(value) for name, value in asdict(chosen).items() if value}
    detail = {"count": len(rows), "full": full, "filters": filters} | ({"reason": why} if why else {})
    audit.record(session, actor, "registry.people.export", people.OBJECT_TYPE, "export", detail)
    return workbook_bytes("实有人口", headers, rows, note="" if full else "身份证号码和手机号码已脱敏")


def _people_rows(session: Session, stmt: Select[Any], protector: Protector, full: bool) -> Iterator[list[Any]]:
    for person in session.scalars(stmt.execution_options(yield_per=CHUNK)):
        id_number, phone = people.opened(person, protector)
        if not full:
            id_number, phone = mask_id_number(id_number), mask_phone(phone)
        sex = "" if person.male is None else ("男" if person.male else "女")
        yield [
            person.id,
            person.name,
            id_number,
            phone,
            Residence(person.residence).label,
            person.household_no,
            "、".join(person.tags or ()),
            person.address,
            person.lon,
            person.lat,
            "wgs84" if person.lon is not None else None,
            person.scope_code,
            person.birth_date,
            sex,
            "已迁出" if person.moved_out_at is not None else "在册",
        ]


def _object_headers(kind: Kind) -> list[str]:
    headers = [field.label for field in kind.all_fields] + [LON, LAT, CRS_COLUMN]
    if kind.shape is not Shape.POINT:
        headers.append(SHAPE)
    return [*headers, GRID]


def _object_row(kind: Kind, record: PlacedObject, names: Mapping[tuple[str, int], str]) -> list[Any]:
    values = [_in_words(field, getattr(record, field.name), names) for field in kind.all_fields]
    values += [record.lon, record.lat, "wgs84" if record.lon is not None else None]
    if kind.shape is not Shape.POINT:
        values.append(
            shapely.to_wkt(shapely.from_wkb(record.geometry), rounding_precision=7) if record.geometry else None
        )
    values += [record.scope_code, PLACEMENT_LABELS.get(record.placement, record.placement), record.retired_at]
    return [record.id, *values]


def _in_words(field: Field, value: Any, names: Mapping[tuple[str, int], str]) -> Any:
    if value is None:
        return None
    if field.name == "tags":
        return "、".join(value)
    if field.type is FieldType.CHOICE:
        return field.label_of(value)
    if field.type is FieldType.REF:
        return names.get((field.ref, value), str(value))
    if field.type is FieldType.DEPARTMENT:
        return names.get(("department", value), str(value))
    return value


def _reference_names(session: Session, kind: Kind, records: Sequence[PlacedObject]) -> dict[tuple[str, int], str]:
    """The names of the records and departments the rows refer to, fetched once per target."""
    names: dict[tuple[str, int], str] = {}
    for field in kind.fields:
        if field.type not in (FieldType.REF, FieldType.DEPARTMENT):
            continue
        ids = sorted({value for record in records if (value := getattr(record, field.name)) is not None})
        target: Any = Department if field.type is FieldType.DEPARTMENT else kind_of(field.ref).model
        key = "department" if field.type is FieldType.DEPARTMENT else field.ref
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            for record_id, name in session.execute(select(target.id, target.name).where(target.id.in_(chunk))):
                names[(key, record_id)] = name
    return names
