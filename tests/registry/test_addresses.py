"""标准地址 (the 一标 of 一标三实): each part checked and put in its standard form, the address named by its parts,
the same door plate spelt another way refused as a duplicate, a correction renaming it — and the same through an
import of the template."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook
from tests.cases.conftest import UNIT, District
from tests.registry.test_objects import at_unit

from civicgrid.errors import ConflictError, InvalidInputError
from civicgrid.registry import objects
from civicgrid.registry.export import export_objects
from civicgrid.registry.kinds import clean_building, clean_door_no, clean_entrance, clean_road, clean_room
from civicgrid.registry.objects_import import import_table, objects_template
from civicgrid.tables import read_table_bytes


@pytest.mark.parametrize(
    ("clean", "given", "standard"),
    [
        (clean_road, " 泰和 路 ", "泰和路"),
        (clean_road, "香港中路", "香港中路"),
        (clean_road, "八大关胡同", "八大关胡同"),
        (clean_door_no, "12", "12号"),
        (clean_door_no, "１２号", "12号"),  # full-width digits
        (clean_door_no, "12-1#", "12-1号"),
        (clean_building, "3", "3号楼"),
        (clean_building, "3栋", "3号楼"),
        (clean_building, "a座", "A座"),
        (clean_entrance, "2", "2单元"),
        (clean_room, "301", "301室"),
        (clean_room, "301户", "301室"),
    ],
)
def test_each_part_is_put_in_its_standard_form(clean: object, given: str, standard: str) -> None:
    assert clean(given) == standard  # type: ignore[operator]


@pytest.mark.parametrize(
    ("clean", "given", "code"),
    [
        (clean_road, "泰和", "road_format"),
        (clean_road, "Main Street", "road_format"),
        (clean_door_no, "十二号", "door_no_format"),
        (clean_door_no, "12号楼", "door_no_format"),
        (clean_building, "三号楼", "building_format"),
        (clean_entrance, "东单元", "entrance_format"),
        (clean_room, "3楼", "room_format"),
    ],
)
def test_a_badly_formed_part_is_refused_naming_it(clean: object, given: str, code: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        clean(given)  # type: ignore[operator]
    assert refused.value.code == code and given in refused.value.message


def test_an_address_is_named_by_its_parts_and_its_door_plate_is_unique(district: District) -> None:
    d = district
    parts = {"road": "泰和路", "door_no": "12", "building": "3", "entrance": "2", "room": "301"}
    address = objects.register(d.session, d.grid_worker, "address", parts, at_unit())
    assert address.name == address.address == "泰和路12号3号楼2单元301室" and address.scope_code == UNIT
    spelt = {"road": "泰和 路", "door_no": "１２#", "building": "3栋", "entrance": "2单元", "room": "301"}
    with pytest.raises(ConflictError):  # the same door plate, spelt another way
        objects.register(d.session, d.grid_worker, "address", spelt, at_unit())
    with pytest.raises(InvalidInputError) as missing:
        objects.register(d.session, d.grid_worker, "address", {"road": "泰和路"}, at_unit())
    assert missing.value.code == "door_no_required"
    moved = objects.correct(
        d.session, d.grid_worker, "address", address.id, {"room": "302"}, expected_version=address.version
    )
    assert moved.name == "泰和路12号3号楼2单元302室"


def test_addresses_come_in_from_the_template_and_go_out_the_same(district: District) -> None:
    d = district
    book = load_workbook(io.BytesIO(objects_template("address")))
    sheet = book.worksheets[0]
    header = [cell.value for cell in sheet[1]]
    rows = [["泰和路", "12", "3", "2", "301"], ["泰和路", "12", "3", "2", "302"], ["泰和", "8", "", "", ""]]
    for number, row in enumerate(rows, start=2):
        for column, value in enumerate(row, start=1):
            sheet.cell(row=number, column=column, value=value)
        sheet.cell(row=number, column=header.index("网格代码") + 1, value=UNIT)
    buffer = io.BytesIO()
    book.save(buffer)
    table = read_table_bytes(Path("地址.xlsx"), buffer.getvalue())
    report = import_table(d.session, d.grid_worker, "address", table, source="地址.xlsx", keep_good=True)
    assert [(r.index, r.code) for r in report.rejected] == [(4, "road_format")] and len(report.created) == 2
    exported = read_table_bytes(Path("导出.xlsx"), export_objects(d.session, d.grid_worker, "address"))
    assert [cells[1:6] for _, cells in exported.rows] == [
        ("泰和路", "12号", "3号楼", "2单元", "301室"),
        ("泰和路", "12号", "3号楼", "2单元", "302室"),
    ]
    again = import_table(d.session, d.grid_worker, "address", exported, source="导出.xlsx")
    assert {r.code for r in again.rejected} == {"duplicate_object"}  # the same door plates, recognised
