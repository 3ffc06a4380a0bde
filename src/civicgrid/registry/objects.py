"""Estates, buildings, houses, enterprises, parcels, rivers and facilities: recorded, corrected, retired and read
within the actor's grids, one service for every kind (``registry.kinds`` says what each kind holds).

Each record is placed on the grid by the locator (a line or an area by the grids it crosses), checked field by
field, refused when its natural key (credit code, address, parcel number …) is already registered, and versioned:
every change is a ``RegistryChange`` with old and new values, and a write based on an old read is refused.
Records are retired (拆除、注销、撤除) with a date and a reason, never deleted.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from functools import partial
from typing import Any

import shapely
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from civicgrid import timesource
from civicgrid.code_prefix import code_in_subtrees, code_starts_with
from civicgrid.db import MAX_INTEGER, get_by_id
from civicgrid.errors import ConflictError, InvalidInputError, NotFoundError, Problems
from civicgrid.geo.metric import LocalProjection, area_m2
from civicgrid.json_list import json_list_has, like_pattern
from civicgrid.org.actor import Actor
from civicgrid.org.models import Department
from civicgrid.org.roles import Permission
from civicgrid.registry.history import changes_of, diff, record_change, replay, require_reason, require_version
from civicgrid.registry.kinds import FieldType, Kind, Shape, kind_of, parse_value
from civicgrid.registry.models import Facility, Parcel, PlacedObject, RegistryChange, River
from civicgrid.registry.placing import AREAS, LINES, Placed, Where, place

SQUARE_METRES_PER_MU = 10_000 / 15
_POSITION = ("lon", "lat", "placement", "scope_code", "geometry")


def register(
    session: Session, actor: Actor, kind_key: str, values: Mapping[str, Any], where: Where | None = None
) -> PlacedObject:
    """A new record of ``kind_key`` in the actor's grids."""
    kind = kind_of(kind_key)
    actor.require(Permission.REGISTRY_WRITE, f"登记{kind.label}")
    problems = Problems()  # every wrong field, and the place, named at once
    resolved = resolved_values(session, actor, kind, values, problems)
    doing = f"在该网格登记{kind.label}"
    placed = problems.check(partial(place, session, actor, where or Where(), _shapes(kind), doing), None)
    problems.raise_any()
    assert placed is not None
    record = kind.model(**resolved)
    _put(record, placed)
    _compose(kind, record)
    _derive(session, record)
    _set_natural_key(session, actor, kind, record)
    session.add(record)
    session.flush()
    record_change(session, actor, kind.key, record.id, "create", diff({}, tracked(kind, record)))
    return record


def resolved_values(
    session: Session, actor: Actor, kind: Kind, values: Mapping[str, Any], problems: Problems
) -> dict[str, Any]:
    """Each field of a new record as stored (references and departments found); a wrong one is a problem kept in
    ``problems`` (its value None), so that all of them are named together."""
    unknown_fields(kind, values)
    return {
        field.name: problems.check(partial(_resolve, session, actor, kind, field.name, values.get(field.name)), None)
        for field in kind.all_fields
    }


def correct(
    session: Session,
    actor: Actor,
    kind_key: str,
    record_id: int,
    changes: Mapping[str, Any],
    *,
    expected_version: int,
    where: Where | None = None,
    reason: str | None = None,
) -> PlacedObject:
    """Change some fields (and, with ``where``, the position). A record changed since the actor read version
    ``expected_version`` is not touched: a conflict is raised."""
    kind = kind_of(kind_key)
    actor.require(Permission.REGISTRY_WRITE, f"修改{kind.label}")
    record = get(session, actor, kind.key, record_id)
    require_version(record.version, expected_version)
    unknown_fields(kind, changes)
    before = tracked(kind, record)
    for name, raw in changes.items():
        setattr(record, name, _resolve(session, actor, kind, name, raw))
    if where is not None:
        _put(record, place(session, actor, where, _shapes(kind), f"把{kind.label}移到该网格"))
    _compose(kind, record)
    _derive(session, record)
    _set_natural_key(session, actor, kind, record)
    changed = diff(before, tracked(kind, record))
    if changed:
        record.updated_at = timesource.now()
        session.flush()
        record_change(session, actor, kind.key, record.id, "update", changed, reason)
    return record


def retire(
    session: Session,
    actor: Actor,
    kind_key: str,
    record_id: int,
    *,
    expected_version: int,
    reason: str,
    at: dt.datetime | None = None,
) -> PlacedObject:
    """The object is gone (demolished, deregistered, removed): kept with the date and the reason, no longer
    counted."""
    kind = kind_of(kind_key)
    actor.require(Permission.REGISTRY_WRITE, f"注销{kind.label}")
    record = get(session, actor, kind.key, record_id)
    require_version(record.version, expected_version)
    if record.retired_at is not None:
        raise ConflictError(f"该{kind.label}已注销", code="already_retired")
    why = require_reason(reason)
    moment = at or timesource.now()
    record.retired_at = moment
    record.updated_at = timesource.now()
    session.flush()
    record_change(session, actor, kind.key, record.id, "retire", {"retired_at": [None, moment.isoformat()]}, why)
    return record


def get(session: Session, actor: Actor, kind_key: str, record_id: int) -> PlacedObject:
    kind = kind_of(kind_key)
    actor.require(Permission.REGISTRY_READ, f"查看{kind.label}")
    record = get_by_id(session, kind.model, record_id)
    if record is None or not actor.covers_grid(record.scope_code):
        raise NotFoundError(f"找不到{kind.label}{record_id}，或不在管辖范围内", code="object_not_found")
    return record


def find(
    session: Session,
    actor: Actor,
    kind_key: str,
    *,
    grid_code: str | None = None,
    tag: str | None = None,
    text: str | None = None,
    equal: Mapping[str, Any] | None = None,
    include_retired: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[PlacedObject], int]:
    """One page of the records in the actor's grids matching the filters, and how many match in all."""
    kind = kind_of(kind_key)
    stmt = matching(
        kind.key, actor, grid_code=grid_code, tag=tag, text=text, equal=equal, include_retired=include_retired
    )
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    page = stmt.order_by(kind.model.scope_code, kind.model.id).limit(limit).offset(offset)
    return list(session.scalars(page)), total


def history(session: Session, actor: Actor, kind_key: str, record_id: int) -> list[RegistryChange]:
    return changes_of(session, kind_key, get(session, actor, kind_key, record_id).id)


def as_of(session: Session, actor: Actor, kind_key: str, record_id: int, moment: dt.datetime) -> dict[str, Any] | None:
    """The record's fields as they stood at ``moment`` (None: not yet registered then)."""
    record = get(session, actor, kind_key, record_id)
    return replay(changes_of(session, kind_key, record.id, until=moment))


def tracked(kind: Kind, record: PlacedObject) -> dict[str, Any]:
    """The versioned fields as JSON values (dates as ISO text, a shape as WKT)."""
    values = {field.name: _json(getattr(record, field.name)) for field in kind.all_fields}
    values["tags"] = list(record.tags or [])
    values.update({name: _json(getattr(record, name)) for name in ("lon", "lat", "placement", "scope_code")})
    values["geometry"] = _wkt(record.geometry)
    values["retired_at"] = _json(record.retired_at)
    return values


def unknown_fields(kind: Kind, values: Mapping[str, Any]) -> None:
    unknown = sorted(set(values) - {field.name for field in kind.all_fields})
    if unknown:
        raise InvalidInputError(f"{kind.label}没有这些字段：{'、'.join(unknown)}", code="unknown_field")


# --- the parts --------------------------------------------------------------------------------------------------


def _shapes(kind: Kind) -> tuple[str, ...]:
    return {Shape.POINT: (), Shape.AREA: AREAS, Shape.LINE: LINES}[kind.shape]


def _put(record: PlacedObject, placed: Placed) -> None:
    record.lon, record.lat, record.geometry = placed.lon, placed.lat, placed.geometry
    record.placement, record.grid_node_id = placed.placement.value, placed.grid_node_id
    record.scope_code = placed.scope_code


def _resolve(session: Session, actor: Actor, kind: Kind, name: str, raw: Any) -> Any:
    field = kind.field(name)
    value = parse_value(field, raw)
    if value is None:
        return None
    if field.type is FieldType.REF:
        return _reference(session, actor, kind_of(field.ref), field.label, value)
    if field.type is FieldType.DEPARTMENT:
        return _department(session, field.label, value)
    return value


def _reference(session: Session, actor: Actor, target: Kind, label: str, value: Any) -> int:
    """Another record in the actor's grids, named by its number or by its name (which must be unambiguous)."""
    model = target.model
    in_scope = code_in_subtrees(model.scope_code, actor.grid_codes)
    text = str(value).strip()
    if isinstance(value, int) or (text.isascii() and text.isdigit()):
        number = int(text)
        found = None
        if number <= MAX_INTEGER:
            found = session.execute(select(model.id).where(model.id == number, in_scope)).scalar()
        if found is None:
            raise NotFoundError(f"{label}：找不到编号为{text}的{target.label}", code="reference_not_found")
        return int(found)
    ids = (
        session.execute(select(model.id).where(model.name == text, model.retired_at.is_(None), in_scope).limit(2))
        .scalars()
        .all()
    )
    if not ids:
        raise NotFoundError(f"{label}：找不到名为“{text}”的{target.label}", code="reference_not_found")
    if len(ids) > 1:
        raise InvalidInputError(f"{label}：有多个名为“{text}”的{target.label}，请填写编号", code="reference_ambiguous")
    return int(ids[0])


def _department(session: Session, label: str, value: Any) -> int:
    text = str(value).strip()
    found = (
        session.execute(select(Department.id).where(or_(Department.code == text, Department.name == text)).limit(2))
        .scalars()
        .all()
    )
    if len(found) != 1:
        raise NotFoundError(f"{label}：找不到部门“{text}”", code="department_not_found")
    return int(found[0])


def _compose(kind: Kind, record: PlacedObject) -> None:
    """A standard address is named by its parts: 泰和路12号3号楼2单元301室."""
    if kind.derived_name is not None:
        record.name = record.address = kind.derived_name({f.name: getattr(record, f.name) for f in kind.fields})


def _derive(session: Session, record: PlacedObject) -> None:
    """Fill what the shape tells when the user left it blank: a parcel's area, a river's length; give a facility
    without one its identification code."""
    shape = shapely.from_wkb(record.geometry) if record.geometry else None
    if isinstance(record, Parcel) and record.area_mu is None and shape is not None:
        record.area_mu = round(area_m2(shape) / SQUARE_METRES_PER_MU, 2)
    if isinstance(record, River) and record.length_km is None and shape is not None:
        metres = LocalProjection.around(shape).to_metric(shape).length
        record.length_km = round(metres / 1000, 3)
    if isinstance(record, Facility):
        record.code = _facility_code(session, record)


_FACILITY_CODE = re.compile(r"^\d{16}$")


def _facility_code(session: Session, facility: Facility) -> str:
    """部件标识码: the county's 6-digit code, the 4-digit class, a 6-digit serial within both."""
    prefix = facility.scope_code[:6] + facility.class_code
    if facility.code:
        if not _FACILITY_CODE.match(facility.code) or facility.code[6:10] != facility.class_code:
            raise InvalidInputError(
                f"部件标识码“{facility.code}”应为16位数字：6位区县代码＋4位部件类别（{facility.class_code}）＋6位序号",
                code="facility_code_format",
            )
        return facility.code
    last = session.execute(select(func.max(Facility.code)).where(code_starts_with(Facility.code, prefix))).scalar()
    serial = int(last[10:]) + 1 if last else 1
    return f"{prefix}{serial:06d}"


def _set_natural_key(session: Session, actor: Actor, kind: Kind, record: PlacedObject) -> None:
    key = kind.natural_key({field.name: getattr(record, field.name) for field in kind.all_fields})
    record.natural_key = key
    if key is None:
        return
    model = kind.model
    existing = session.execute(
        select(model.id, model.name, model.scope_code).where(model.natural_key == key, model.id != (record.id or 0))
    ).first()
    if existing is None:
        return
    where = f"（编号{existing.id}：{existing.name}）" if actor.covers_grid(existing.scope_code) else "（在其他网格）"
    raise ConflictError(
        f"该{kind.key_label}的{kind.label}已登记{where}，请修改已有记录",
        code="duplicate_object",
        detail={"id": existing.id} if actor.covers_grid(existing.scope_code) else {},
    )


def matching(
    kind_key: str,
    actor: Actor,
    *,
    grid_code: str | None = None,
    tag: str | None = None,
    text: str | None = None,
    equal: Mapping[str, Any] | None = None,
    include_retired: bool = False,
) -> Select[Any]:
    """The records of a kind in the actor's grids matching the filters (for a page, an export, a campaign)."""
    kind = kind_of(kind_key)
    actor.require(Permission.REGISTRY_READ, f"查看{kind.label}")
    model = kind.model
    stmt = select(model).where(code_in_subtrees(model.scope_code, actor.grid_codes))
    if grid_code:
        stmt = stmt.where(code_starts_with(model.scope_code, grid_code))
    if tag:
        stmt = stmt.where(json_list_has(model.tags, tag))
    if text and text.strip():
        pattern = like_pattern(text)
        stmt = stmt.where(or_(model.name.like(pattern, escape="/"), model.address.like(pattern, escape="/")))
    for name, raw in (equal or {}).items():
        stmt = stmt.where(getattr(model, name) == _equal_value(kind, name, raw))
    if not include_retired:
        stmt = stmt.where(model.retired_at.is_(None))
    return stmt


def _equal_value(kind: Kind, name: str, raw: Any) -> Any:
    """A filter's value as the column stores it (a choice by its label too); a reference by its number."""
    field = kind.field(name)
    if field.name == "tags":
        raise InvalidInputError("按标签筛选请用 tag", code="equal_tags")
    value = parse_value(field, raw)
    if field.type in (FieldType.REF, FieldType.DEPARTMENT) and not isinstance(value, int | None):
        raise InvalidInputError(f"按{field.label}筛选请填写编号", code="equal_reference")
    return value


def _wkt(wkb: bytes | None) -> str | None:
    return shapely.to_wkt(shapely.from_wkb(wkb), rounding_precision=7) if wkb else None


def _json(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value
