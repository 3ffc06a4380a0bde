"""Estates, buildings, houses, enterprises, parcels, rivers and facilities from a spreadsheet or a GeoJSON file.

The template of each kind is made from its field descriptors (``registry.kinds``): one column per field with the
field's Chinese label as header, the choices as drop-down lists, a realistic example row, then the position —
经度/纬度/坐标系 for a point, 范围（WKT） for an area or a river, 网格代码 when there is no position. A GIS file
(a GeoJSON FeatureCollection, properties named by label or by field name) brings areas and lines as they are.

Each row is registered through ``objects.register`` in its own savepoint, so it meets every rule of the form —
checks, references (a building names its estate, possibly a row above), placement, the natural-key duplicate rule,
the creation history. A refused row is reported with its number; a repeat of an earlier row names that row.
Nothing is written unless every row is good or ``keep_good`` asks for the good rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.errors import GEOSException
from shapely.geometry import mapping
from sqlalchemy.orm import Session

from civicgrid import audit
from civicgrid.errors import CivicgridError, ConflictError, InvalidInputError, Problems
from civicgrid.geo.geojson import parse_feature_collection
from civicgrid.importing import ImportReport
from civicgrid.org.actor import Actor
from civicgrid.org.roles import Permission
from civicgrid.registry import objects
from civicgrid.registry.kinds import Field, FieldType, Kind, Shape, kind_of
from civicgrid.registry.placing import Where
from civicgrid.registry.sheets import Column, template
from civicgrid.tables import Cell, Table, blank

LON, LAT, CRS_COLUMN, GRID, SHAPE = "经度", "纬度", "坐标系", "网格代码", "范围（WKT）"

EXAMPLES: dict[str, dict[str, str]] = {
    "address": {"road": "泰和路", "door_no": "12", "building": "3", "entrance": "2", "room": "301"},
    "estate": {
        "name": "泰和小区",
        "address": "泰和路12号",
        "property_company": "青岛泰和物业有限公司",
        "built_year": "1998",
    },
    "building": {"name": "泰和小区3号楼", "address": "泰和路12号3号楼", "estate_id": "泰和小区", "floors": "6"},
    "house": {
        "name": "3号楼2单元301",
        "address": "泰和路12号3号楼",
        "building_id": "泰和小区3号楼",
        "room": "2单元301",
        "area_m2": "86.5",
        "owner_name": "王建国",
    },
    "enterprise": {
        "name": "青岛海联电子科技有限公司",
        "address": "海岸路88号",
        "credit_code": "91370203MA3C2D5X0N",
        "employees": "56",
        "annual_tax": "312.6",
        "land_mu": "12.5",
        "established_on": "2016-05-18",
    },
    "parcel": {"name": "海岸路北侧地块", "address": "海岸路北侧", "parcel_no": "DK-2021-017", "area_mu": "35.2"},
    "river": {
        "name": "李村河",
        "address": "",
        "length_km": "4.2",
        "chief_name": "刘志强",
        "chief_title": "街道办事处主任",
    },
    "facility": {"name": "", "address": "泰和路12号东侧", "code": ""},
}


def import_columns(kind: Kind) -> tuple[Column, ...]:
    examples = EXAMPLES.get(kind.key, {})
    columns = [_column(field, examples.get(field.name, "")) for field in kind.all_fields]
    columns += [
        Column(LON, "与纬度同时填写", "120.4301"),
        Column(LAT, "", "36.4249"),
        Column(CRS_COLUMN, "gcj02（高德/腾讯）或 wgs84（GPS/天地图）", "gcj02", ("gcj02", "wgs84")),
    ]
    if kind.shape is not Shape.POINT:
        wanted = "LINESTRING (lon lat, lon lat …)" if kind.shape is Shape.LINE else "POLYGON ((lon lat, …))"
        columns.append(Column(SHAPE, f"可选，WKT 格式，如 {wanted}，坐标系同上", ""))
    columns.append(Column(GRID, "无坐标时填写所属网格", "", text=True))
    return tuple(columns)


def objects_template(kind_key: str) -> bytes:
    kind = kind_of(kind_key)
    return template(kind.label.replace("/", "、"), import_columns(kind))


def _column(field: Field, example: str) -> Column:
    choices = field.choice_labels()
    if choices and not example:
        example = choices[0]
    text = field.type in (FieldType.CREDIT_CODE, FieldType.REF) or field.name in ("code", "parcel_no", "room")
    return Column(field.label, field.note, example, choices, field.required, text)


@dataclass(frozen=True)
class Item:
    """One row or feature: its number, the field values as given, where it is — or why its position could not be
    read (its fields are then still checked, to name every problem of the row)."""

    index: int
    values: dict[str, Any]
    where: Where | None
    unplaced: CivicgridError | None = None


def import_table(
    session: Session, actor: Actor, kind_key: str, table: Table, *, source: str, keep_good: bool = False
) -> ImportReport:
    kind = kind_of(kind_key)
    actor.require(Permission.REGISTRY_WRITE, f"导入{kind.label}")
    report = ImportReport(source=source, total=len(table.rows), keep_good=keep_good)
    positions = _positions(kind, table.header)
    return _import(session, actor, kind, _rows(kind, table, positions), report)


def import_geojson(
    session: Session,
    actor: Actor,
    kind_key: str,
    raw: bytes | str,
    *,
    source: str,
    crs: str = "wgs84",
    keep_good: bool = False,
) -> ImportReport:
    """Features with their properties named by the field labels (or names); coordinates in ``crs``."""
    kind = kind_of(kind_key)
    actor.require(Permission.REGISTRY_WRITE, f"导入{kind.label}")
    collection = parse_feature_collection(raw)
    report = ImportReport(source=source, item_label="个要素", total=len(collection.features), keep_good=keep_good)
    by_label = {field.label: field.name for field in kind.all_fields} | {f.name: f.name for f in kind.all_fields}

    def items() -> Iterator[Item]:
        for feature in collection.features:
            number = feature.index + 1
            name = str(feature.properties.get("名称") or feature.properties.get("name") or "")
            if feature.error is not None:
                report.reject(number, name, feature.error)
                continue
            values = {by_label[key]: value for key, value in feature.properties.items() if key in by_label}
            grid = feature.properties.get(GRID) or feature.properties.get("grid_code")
            geometry = mapping(feature.geometry) if feature.geometry is not None else None
            yield Item(number, values, Where(crs=crs, geometry=geometry, grid_code=str(grid) if grid else None))

    return _import(session, actor, kind, items(), report)


def _import(session: Session, actor: Actor, kind: Kind, items: Iterator[Item], report: ImportReport) -> ImportReport:
    outer = session.begin_nested()
    row_of: dict[int, int] = {}  # record id → the row that created it
    for item in items:
        name = kind.derived_name(item.values) if kind.derived_name else str(item.values.get("name") or "")
        try:
            with session.begin_nested():
                if item.where is None:
                    _refuse_with_fields(session, actor, kind, item)
                record = objects.register(session, actor, kind.key, item.values, item.where)
        except ConflictError as error:
            earlier = row_of.get(int(error.detail.get("id", 0))) if error.code == "duplicate_object" else None
            message = f"{kind.key_label}与第{earlier}{report.item_label}重复" if earlier else error.message
            report.reject(item.index, name, message, "duplicate_row" if earlier else error.code)
            continue
        except CivicgridError as error:
            report.reject(item.index, name, error)
            continue
        row_of[record.id] = item.index
        report.created.append(str(record.id))
    report.rejected.sort(key=lambda rejected: rejected.index)
    if not report.should_apply:
        outer.rollback()
        report.created.clear()
        return report
    outer.commit()
    report.applied = True
    summary = {"kind": kind.key, "created": len(report.created), "rejected": len(report.rejected)}
    audit.record(session, actor, f"registry.{kind.key}.import", f"registry_{kind.key}", report.source[:64], summary)
    return report


def _refuse_with_fields(session: Session, actor: Actor, kind: Kind, item: Item) -> None:
    """A row whose position was refused: refused for that and for every wrong field together."""
    problems = Problems()
    if item.unplaced is not None:
        problems.add(item.unplaced)
    objects.resolved_values(session, actor, kind, item.values, problems)
    problems.raise_any()


def _positions(kind: Kind, header: tuple[str, ...]) -> dict[str, int]:
    positions = {name.strip(): index for index, name in enumerate(header)}
    missing = [field.label for field in kind.all_fields if field.required and field.label not in positions]
    if missing:
        expected = "、".join(column.header for column in import_columns(kind))
        raise InvalidInputError(
            f"表头缺少必填列：{'、'.join(missing)}。请使用{kind.label}导入模板（列：{expected}）",
            code="missing_columns",
        )
    return positions


def _rows(kind: Kind, table: Table, positions: dict[str, int]) -> Iterator[Item]:
    for number, cells in table.rows:

        def cell(header: str, cells: tuple[Cell, ...] = cells) -> Cell:
            index = positions.get(header)
            return None if index is None or index >= len(cells) or blank(cells[index]) else cells[index]

        values = {field.name: cell(field.label) for field in kind.all_fields if field.label in positions}
        try:
            yield Item(number, values, _where(cell))
        except InvalidInputError as error:
            yield Item(number, values, None, error)


def _where(cell: Callable[[str], Cell]) -> Where:
    lon, lat, wkt, grid = cell(LON), cell(LAT), cell(SHAPE), cell(GRID)
    crs = str(cell(CRS_COLUMN) or "gcj02").strip()
    grid_code = str(int(grid) if isinstance(grid, float) else grid).strip() if grid is not None else None
    if wkt is not None:
        return Where(crs=crs, geometry=_geometry(str(wkt)), grid_code=grid_code)
    if (lon is None) != (lat is None):
        raise InvalidInputError("经度和纬度须同时填写", code="incomplete_coordinates")
    return Where(lon=_float(lon, LON), lat=_float(lat, LAT), crs=crs, grid_code=grid_code)


def _geometry(wkt: str) -> Mapping[str, Any]:
    try:
        return dict(mapping(shapely.from_wkt(wkt.strip())))
    except (GEOSException, ValueError) as error:
        raise InvalidInputError(f"范围不是有效的 WKT 几何文本：{wkt[:40]}", code="bad_geometry") from error


def _float(value: Cell, label: str) -> float | None:
    if value is None:
        return None
    try:
        return float(str(value).strip())
    except ValueError as error:
        raise InvalidInputError(f"{label}“{value}”不是数字", code="not_a_number") from error
