"""实有人口 from a spreadsheet: a downloadable template, and an import that reports every refused row by its number.

The template has the Chinese headers, one example row, drop-down lists for the coded columns and text-formatted
number columns (so Excel does not turn an 18-digit ID number into 1.10105E+17). Each row meets the rules of a
registration by form — the same checks (``people.check_person``), sealing, placement (``registry.placing``),
duplicate rule and creation history — applied set-based, so that 100,000 residents go in within seconds: all
points located in one pass, registered ID numbers looked up in chunks, one bulk insert (``registry.bulk``). A row
that fails — a bad ID number, the same ID number as an earlier row or as someone already registered, a grid outside
the importer's scope — is reported with its row number; nothing is written unless every row is good, or
``keep_good`` asks for the good rows to go in anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid import audit
from civicgrid.cases.models import Placement
from civicgrid.errors import CivicgridError, InvalidInputError, Problems
from civicgrid.geo.coords import CRS, parse_crs, to_wgs84, validate_lonlat
from civicgrid.grid.index import GridIndex, grid_index
from civicgrid.importing import ImportReport
from civicgrid.org.actor import Actor
from civicgrid.org.roles import Permission
from civicgrid.registry.bulk import insert_records
from civicgrid.registry.models import Person, Residence
from civicgrid.registry.people import (
    OBJECT_TYPE,
    CheckedPerson,
    PersonInput,
    check_person,
    person_columns,
    tracked_values,
)
from civicgrid.registry.placing import Where, fallback_grid
from civicgrid.registry.protect import Protector
from civicgrid.registry.sheets import Column, template
from civicgrid.tables import Cell, Table, blank

COLUMNS = (
    Column("姓名", "必填", "王秀兰", required=True),
    Column("身份证号码", "18位，末位可为X", "11010519491231002X", text=True),
    Column("手机号码", "11位", "13812345678", text=True),
    Column("居住类型", "户籍/常住/流动", "户籍", tuple(r.label for r in Residence)),
    Column("户号", "同一户填相同户号", "HC-0001", text=True),
    Column("标签", "多个用顿号分隔，如 独居老人、低保", "独居老人、低保"),
    Column("地址", "", "泰和路12号2单元301"),
    Column("经度", "与纬度同时填写", "120.4301"),
    Column("纬度", "", "36.4249"),
    Column("坐标系", "gcj02（高德/腾讯）或 wgs84（GPS/天地图）", "gcj02", ("gcj02", "wgs84")),
    Column("网格代码", "无坐标时填写所属网格", "", text=True),
)
_TEXT_COLUMNS = tuple(column.header for column in COLUMNS if column.text)


def people_template() -> bytes:
    """The .xlsx template: headers, one example row, drop-down lists, text-formatted number columns."""
    return template("实有人口", COLUMNS)


def import_people(
    session: Session,
    actor: Actor,
    table: Table,
    protector: Protector,
    *,
    source: str,
    keep_good: bool = False,
) -> ImportReport:
    """Set-based: every row checked, all points located at once, all identifiers sealed, the registered ID numbers
    looked up in chunks, then one bulk insert with the creation history — the same rules as one registration."""
    actor.require(Permission.REGISTRY_WRITE, "导入人口信息")
    read = _reader(table.header)
    report = ImportReport(source=source, total=len(table.rows), keep_good=keep_good)
    rows = _checked_rows(read, table)
    _place_all(session, actor, rows)
    for row in rows:
        if row.checked is not None and not row.problems:
            row.columns = person_columns(row.checked, protector) | row.columns
    _refuse_registered(session, actor, rows)
    for row in rows:
        if row.problems:
            try:
                row.problems.raise_any()
            except InvalidInputError as error:
                report.reject(row.number, row.name, error)
    if not report.should_apply:
        return report
    good = [row.columns for row in _good(rows)]
    report.created.extend(str(i) for i in insert_records(session, actor, Person, OBJECT_TYPE, good, tracked_values))
    report.applied = True
    summary = {"created": len(report.created), "rejected": len(report.rejected)}
    audit.record(session, actor, "registry.people.import", "registry_person", source[:64], summary)
    return report


@dataclass
class _Row:
    """One spreadsheet row on its way in: its number, what it said, its checked fields (None when they failed),
    its columns so far, and every problem found — a row is refused once, for all of them."""

    number: int
    name: str
    data: PersonInput
    checked: CheckedPerson | None
    problems: Problems = field(default_factory=Problems)
    columns: dict[str, Any] = field(default_factory=dict)


def _good(rows: list[_Row]) -> list[_Row]:
    return [row for row in rows if not row.problems]


def _checked_rows(read: Reader, table: Table) -> list[_Row]:
    """Every row through the same checks as a form (``people.check_person``), a repeated ID number naming the
    earlier row; each check runs whatever the others found."""
    rows: list[_Row] = []
    seen: dict[str, int] = {}
    for number, cells in table.rows:
        problems = Problems()
        data = _row(read, cells, problems)
        checked = problems.check(partial(check_person, data), None)
        if checked is not None:
            problems.check(partial(_refuse_repeat, checked, number, seen), None)
        rows.append(_Row(number, checked.name if checked else _name(read, cells), data, checked, problems))
    return rows


def _place_all(session: Session, actor: Actor, rows: list[_Row]) -> None:
    """All points located at once (converted to WGS-84 per coordinate system), then each row placed by the rules
    of ``registry.placing``: in its grid, or kept and flagged in the given or the importer's own grid — rows with
    other problems too, so that a refusal names every problem of the row."""
    index = grid_index(session)
    located = _locate_all(index, rows)
    for row in rows:
        where = Where(lon=row.data.lon, lat=row.data.lat, crs=row.data.crs, grid_code=row.data.grid_code)
        point = located.get(row.number)
        if row.data.lon is not None and point is None:
            continue  # its coordinates were refused already
        try:
            placement, node_id, code = _placement(session, actor, index, where, point)
        except CivicgridError as error:
            row.problems.add(InvalidInputError(error.message, code=error.code))
            continue
        lon, lat = (point[1], point[2]) if point else (None, None)
        row.columns = {
            "placement": placement.value,
            "grid_node_id": node_id,
            "scope_code": code,
            "lon": lon,
            "lat": lat,
        }


def _locate_all(index: GridIndex, rows: list[_Row]) -> dict[int, tuple[int, float, float]]:
    """Row number → (node id, or -1 outside every grid; WGS-84 lon, lat) for the rows with usable coordinates."""
    by_crs: dict[CRS, list[_Row]] = {}
    for row in rows:
        if row.data.lon is None or row.data.lat is None:
            continue
        crs = row.problems.check(partial(parse_crs, row.data.crs), None)
        if crs is not None:
            by_crs.setdefault(crs, []).append(row)
    for crs, group in by_crs.items():
        lons, lats = np.array([r.data.lon for r in group]), np.array([r.data.lat for r in group])
        plausible = np.isfinite(lons) & np.isfinite(lats) & (np.abs(lons) <= 180) & (np.abs(lats) <= 90)
        for row, ok in zip(group, plausible.tolist(), strict=True):
            if not ok:  # for its message
                row.problems.check(partial(validate_lonlat, np.array([row.data.lon]), np.array([row.data.lat])), None)
        by_crs[crs] = [row for row, ok in zip(group, plausible.tolist(), strict=True) if ok]
    found: dict[int, tuple[int, float, float]] = {}
    for crs, group in by_crs.items():
        lons, lats = to_wgs84(np.array([r.data.lon for r in group]), np.array([r.data.lat for r in group]), crs)
        node_ids = index.locate_many_wgs84(lons, lats, with_nearest=False).node_ids.tolist()
        for row, node_id, lon, lat in zip(group, node_ids, lons.tolist(), lats.tolist(), strict=True):
            found[row.number] = (int(node_id), float(lon), float(lat))
    return found


def _placement(
    session: Session, actor: Actor, index: GridIndex, where: Where, point: tuple[int, float, float] | None
) -> tuple[Placement, int, str]:
    doing = "在该网格登记人口"
    if point is not None and point[0] >= 0:
        ref = index.refs[point[0]]
        actor.require_grid(ref.code, doing, name=ref.name)
        return Placement.LOCATED, point[0], ref.code
    node_id, code = fallback_grid(session, actor, where, doing)
    if point is not None:
        return Placement.OUTSIDE, node_id, code
    return (Placement.MANUAL if where.grid_code else Placement.NO_LOCATION), node_id, code


def _refuse_registered(session: Session, actor: Actor, rows: list[_Row]) -> None:
    """Refuse the rows whose ID number is registered already — looked up by blind index in chunks, naming the
    record only when it is in the importer's grids."""
    by_index = {row.columns["id_number_index"]: row for row in _good(rows) if row.columns["id_number_index"]}
    keys = list(by_index)
    for start in range(0, len(keys), 500):
        stmt = select(Person.id_number_index, Person.id, Person.scope_code).where(
            Person.id_number_index.in_(keys[start : start + 500])
        )
        for index, person_id, scope_code in session.execute(stmt):
            where = f"（人员编号{person_id}）" if actor.covers_grid(scope_code) else "（在其他网格）"
            message = f"该身份证号码已登记{where}，请修改已有记录或合并"
            by_index[index].problems.add(InvalidInputError(message, code="duplicate_person"))


Reader = Callable[[tuple[Cell, ...], str], str]


def _reader(header: tuple[str, ...]) -> Reader:
    positions = {name.strip(): index for index, name in enumerate(header)}
    missing = [column.header for column in COLUMNS if column.required and column.header not in positions]
    if missing:
        expected = "、".join(column.header for column in COLUMNS)
        raise InvalidInputError(
            f"表头缺少必填列：{'、'.join(missing)}。请使用人口导入模板（列：{expected}）", code="missing_columns"
        )

    def read(cells: tuple[Cell, ...], name: str) -> str:
        index = positions.get(name)
        if index is None or index >= len(cells) or blank(cells[index]):
            return ""
        value = cells[index]
        if name == "身份证号码" and isinstance(value, int | float) and not isinstance(value, bool):
            raise InvalidInputError(
                "身份证号码被存成了数字（Excel 只保留15位有效数字，后几位已丢失），请将该列设为文本后重新填写",
                code="id_number_as_number",
            )
        if isinstance(value, float) and value.is_integer() and name in _TEXT_COLUMNS:
            value = int(value)  # a number column Excel kept as a number
        return str(value).strip()

    return read


def _row(read: Reader, cells: tuple[Cell, ...], problems: Problems) -> PersonInput:
    """The row's fields as a form would give them; a cell that cannot be read is a problem and stays empty."""

    def cell(name: str) -> str:
        return problems.check(lambda: read(cells, name), "")

    lon_text, lat_text = cell("经度"), cell("纬度")
    lon = problems.check(lambda: _number(lon_text, "经度"), None) if lon_text else None
    lat = problems.check(lambda: _number(lat_text, "纬度"), None) if lat_text else None
    if bool(lon_text) != bool(lat_text):
        problems.add(InvalidInputError("经度和纬度须同时填写", code="incomplete_coordinates"))
    located = lon is not None and lat is not None
    return PersonInput(
        name=cell("姓名"),
        id_number=cell("身份证号码") or None,
        phone=cell("手机号码") or None,
        residence=problems.check(lambda: _residence(cell("居住类型")), Residence.RESIDENT),
        household_no=cell("户号") or None,
        tags=tuple(part for part in cell("标签").replace("，", "、").replace(",", "、").split("、") if part),
        address=cell("地址") or None,
        lon=lon if located else None,
        lat=lat if located else None,
        crs=cell("坐标系") or "gcj02",
        grid_code=cell("网格代码") or None,
    )


def _residence(text: str) -> Residence:
    if not text:
        return Residence.RESIDENT
    for residence in Residence:
        if text in (residence.label, residence.value, f"{residence.label}人口"):
            return residence
    raise InvalidInputError(f"居住类型“{text}”无法识别，应为户籍、常住或流动", code="unknown_residence")


def _number(text: str, label: str) -> float:
    try:
        return float(text)
    except ValueError as error:
        raise InvalidInputError(f"{label}“{text}”不是数字", code="not_a_number") from error


def _refuse_repeat(checked: CheckedPerson, number: int, seen: dict[str, int]) -> None:
    if checked.resident_id is None:
        return
    if checked.resident_id.number in seen:
        raise InvalidInputError(f"身份证号码与第{seen[checked.resident_id.number]}行重复", code="duplicate_row")
    seen[checked.resident_id.number] = number


def _name(read: Reader, cells: tuple[Cell, ...]) -> str:
    try:
        return read(cells, "姓名") or "（无姓名）"
    except InvalidInputError:
        return "（无姓名）"
