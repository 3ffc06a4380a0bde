"""实有人口 from a spreadsheet: a downloadable template, and an import that reports every refused row by its number.

The template has the Chinese headers, one example row, drop-down lists for the coded columns and text-formatted
number columns (so Excel does not turn an 18-digit ID number into 1.10105E+17). Each row goes through the same
``people.register_person`` as a form: the same checks, sealing, placement, duplicate rule and history. A row that
fails — a bad ID number, the same ID number as an earlier row or as someone already registered, a grid outside
the importer's scope — is reported with its row number; nothing is written unless every row is good, or
``keep_good`` asks for the good rows to go in anyway.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from civicgrid import audit
from civicgrid.errors import CivicgridError, InvalidInputError
from civicgrid.importing import ImportReport
from civicgrid.org.actor import Actor
from civicgrid.org.roles import Permission
from civicgrid.registry.identifiers import check_resident_id
from civicgrid.registry.models import Residence
from civicgrid.registry.people import PersonInput, register_person
from civicgrid.registry.protect import Protector
from civicgrid.tables import Cell, Table, blank


@dataclass(frozen=True)
class Column:
    header: str
    note: str
    example: str
    choices: tuple[str, ...] = ()
    required: bool = False


COLUMNS = (
    Column("姓名", "必填", "王秀兰", required=True),
    Column("身份证号码", "18位，末位可为X", "11010519491231002X"),
    Column("手机号码", "11位", "13812345678"),
    Column("居住类型", "户籍/常住/流动", "户籍", tuple(r.label for r in Residence)),
    Column("户号", "同一户填相同户号", "HC-0001"),
    Column("标签", "多个用顿号分隔，如 独居老人、低保", "独居老人、低保"),
    Column("地址", "", "泰和路12号2单元301"),
    Column("经度", "与纬度同时填写", "120.4301"),
    Column("纬度", "", "36.4249"),
    Column("坐标系", "gcj02（高德/腾讯）或 wgs84（GPS/天地图）", "gcj02", ("gcj02", "wgs84")),
    Column("网格代码", "无坐标时填写所属网格", ""),
)
_TEXT_COLUMNS = ("身份证号码", "手机号码", "户号", "网格代码")


def people_template() -> bytes:
    """The .xlsx template: headers, one example row, drop-down lists, text-formatted number columns."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "实有人口"
    sheet.append([column.header for column in COLUMNS])
    sheet.append([column.example for column in COLUMNS])
    for index, column in enumerate(COLUMNS, start=1):
        letter = sheet.cell(row=1, column=index).column_letter
        sheet.column_dimensions[letter].width = max(12, len(column.example) + 4)
        if column.note:
            sheet.cell(row=1, column=index).comment = Comment(column.note, "civicgrid")
        if column.header in _TEXT_COLUMNS:
            for row in range(2, 2001):
                sheet.cell(row=row, column=index).number_format = "@"
        if column.choices:
            validation = DataValidation(type="list", formula1='"' + ",".join(column.choices) + '"', allow_blank=True)
            validation.error = f"请从下拉列表中选择：{'、'.join(column.choices)}"
            sheet.add_data_validation(validation)
            validation.add(f"{letter}2:{letter}2000")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def import_people(
    session: Session,
    actor: Actor,
    table: Table,
    protector: Protector,
    *,
    source: str,
    keep_good: bool = False,
) -> ImportReport:
    actor.require(Permission.REGISTRY_WRITE, "导入人口信息")
    read = _reader(table.header)
    report = ImportReport(source=source, total=len(table.rows), keep_good=keep_good)
    seen_ids: dict[str, int] = {}
    outer = session.begin_nested()
    for number, cells in table.rows:
        try:
            data = _row(read, cells)
            _refuse_repeat(data, number, seen_ids)
        except InvalidInputError as error:
            report.reject(number, _name(read, cells), error)
            continue
        row_savepoint = session.begin_nested()
        try:
            person = register_person(session, actor, data, protector)
        except CivicgridError as error:
            row_savepoint.rollback()
            report.reject(number, _name(read, cells), error.message, error.code)
            continue
        row_savepoint.commit()
        report.created.append(f"{person.id}")
    report.rejected.sort(key=lambda rejected: rejected.index)
    if report.should_apply:
        outer.commit()
        report.applied = True
        summary = {"created": len(report.created), "rejected": len(report.rejected)}
        audit.record(session, actor, "registry.people.import", "registry_person", source[:64], summary)
    else:
        outer.rollback()
        report.created.clear()
    return report


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


def _row(read: Reader, cells: tuple[Cell, ...]) -> PersonInput:
    lon, lat = read(cells, "经度"), read(cells, "纬度")
    if bool(lon) != bool(lat):
        raise InvalidInputError("经度和纬度须同时填写", code="incomplete_coordinates")
    return PersonInput(
        name=read(cells, "姓名"),
        id_number=read(cells, "身份证号码") or None,
        phone=read(cells, "手机号码") or None,
        residence=_residence(read(cells, "居住类型")),
        household_no=read(cells, "户号") or None,
        tags=tuple(part for part in read(cells, "标签").replace("，", "、").replace(",", "、").split("、") if part),
        address=read(cells, "地址") or None,
        lon=_number(lon, "经度") if lon else None,
        lat=_number(lat, "纬度") if lat else None,
        crs=read(cells, "坐标系") or "gcj02",
        grid_code=read(cells, "网格代码") or None,
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


def _refuse_repeat(data: PersonInput, number: int, seen: dict[str, int]) -> None:
    if not data.id_number:
        return
    normalised = check_resident_id(data.id_number).number
    if normalised in seen:
        raise InvalidInputError(f"身份证号码与第{seen[normalised]}行重复", code="duplicate_row")
    seen[normalised] = number


def _name(read: Reader, cells: tuple[Cell, ...]) -> str:
    try:
        return read(cells, "姓名") or "（无姓名）"
    except InvalidInputError:
        return "（无姓名）"
