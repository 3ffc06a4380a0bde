"""Importing 实有人口 from the template: a real .xlsx written from the downloaded template, with broken rows — each
reported with its row number and reason; nothing written unless asked to keep the good rows, which then go in."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from stdnum.cn import ric
from tests.cases.conftest import IN_OTHER_STREET, IN_UNIT, OTHER_UNIT, UNIT, District
from tests.registry.test_people import ID_NUMBER, PROTECTOR, at_home

from civicgrid import timesource
from civicgrid.geo.coords import wgs84_to_gcj02
from civicgrid.registry import people
from civicgrid.registry.models import Person, Residence
from civicgrid.registry.people_import import COLUMNS, import_people, people_template
from civicgrid.tables import read_table_bytes

SECOND_ID = "370285199001011238"


def workbook(rows: list[list[Any]]) -> bytes:
    """The downloaded template with its example row replaced by ``rows``."""
    book = load_workbook(io.BytesIO(people_template()))
    sheet = book.active
    assert sheet is not None
    for row_number, row in enumerate(rows, start=2):  # over the example row; the text formats go down to row 2000
        for column_number, value in enumerate(row, start=1):
            sheet.cell(row=row_number, column=column_number, value=value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def rows() -> list[list[Any]]:
    lon, lat = wgs84_to_gcj02(*IN_UNIT)
    blank = [""] * 4
    return [
        [
            "王秀兰",
            ID_NUMBER,
            "13812345678",
            "户籍",
            "HC-0001",
            "独居老人、低保",
            "泰和路12号",
            lon,
            lat,
            "gcj02",
            "",
        ],  # 2
        ["李四", "110105194912310021", "", "常住", "", "", "", *blank],  # 3: check character
        ["王秀兰（又一次）", ID_NUMBER.lower(), "", "户籍", "", "", "", *blank],  # 4: same as row 2
        ["赵敏", "", "13900001111", "流动", "", "孕产妇", "泰和路14号", "", "", "", UNIT],  # 5
        ["钱七", "", "", "常住", "", "", "", "", "", "", OTHER_UNIT],  # 6: not her grid
        ["孙八", "", "", "常住", "", "", "", lon, "", "", ""],  # 7: longitude without latitude
        ["周九", "", "", "外来", "", "", "", "", "", "", UNIT],  # 8: unknown residence
        ["吴十", SECOND_ID, "", "", "", "", "", "", "", "", int(UNIT)],  # 9: a grid code typed as a number
        ["郑十一", int(SECOND_ID), "", "", "", "", "", "", "", "", UNIT],  # 10: an ID number Excel made a number
    ]


def imported(d: District, *, keep_good: bool) -> Any:
    table = read_table_bytes(Path("人口.xlsx"), workbook(rows()))
    return import_people(d.session, d.grid_worker, table, PROTECTOR, source="人口.xlsx", keep_good=keep_good)


def test_broken_rows_are_reported_by_number_and_nothing_goes_in(district: District) -> None:
    report = imported(district, keep_good=False)
    assert not report.applied and report.total == 9
    assert [(item.index, item.code) for item in report.rejected] == [
        (3, "id_number_checksum"),
        (4, "duplicate_row"),
        (6, "out_of_scope"),
        (7, "incomplete_coordinates"),
        (8, "unknown_residence"),
        (10, "id_number_as_number"),
    ]
    assert "第2行" in report.rejected[1].reason and "未写入任何数据" in report.summary()
    assert district.session.execute(select(func.count()).select_from(Person)).scalar_one() == 0


def test_with_keep_good_the_good_rows_go_in_with_everything_a_form_gives(district: District) -> None:
    d = district
    report = imported(d, keep_good=True)
    assert report.applied and len(report.created) == 3 and len(report.rejected) == 6
    found = {person.name: person for person in people.list_people(d.session, d.grid_worker)}
    assert set(found) == {"王秀兰", "赵敏", "吴十"}
    shown = people.view(found["王秀兰"], PROTECTOR)
    assert shown.id_number == "1101**********002X" and shown.tags == ("低保", "独居老人")
    assert found["赵敏"].placement == "manual" and found["赵敏"].residence == Residence.FLOATING.value
    assert people.view(found["吴十"], PROTECTOR).id_number == "3702**********1238"
    again = imported(d, keep_good=True)  # the same file again: everyone with an ID number is already there
    assert {item.code for item in again.rejected if item.index in (2, 9)} == {"duplicate_person"}


def test_a_row_with_five_problems_is_refused_for_all_five(district: District) -> None:
    lon, _ = wgs84_to_gcj02(*IN_UNIT)
    four = ["", "110105194912310021", "2390000123", "外来", "", "", "", lon, "", "", ""]  # 2
    one = ["钱七", "", "", "常住", "", "", "", "", "", "", OTHER_UNIT]  # 3: a problem found when placing
    table = read_table_bytes(Path("人口.xlsx"), workbook([four, one]))
    report = import_people(district.session, district.grid_worker, table, PROTECTOR, source="人口.xlsx")
    assert [(item.index, item.code) for item in report.rejected] == [(2, "incomplete_coordinates"), (3, "out_of_scope")]
    problems = report.rejected[0].problems
    assert [code for _, code in problems] == [
        "incomplete_coordinates",
        "unknown_residence",
        "name_required",
        "id_number_checksum",
        "mobile_format",
    ]
    assert all(reason in report.rejected[0].reason for reason, _ in problems)
    assert report.rejected[1].reasons == (report.rejected[1].reason,)
    listed = report.to_dict()["rejected"][0]["problems"]
    assert [problem["code"] for problem in listed] == [code for _, code in problems]


def test_the_template_has_headers_an_example_and_drop_down_lists() -> None:
    book = load_workbook(io.BytesIO(people_template()))
    sheet = book.active
    assert sheet is not None
    assert [cell.value for cell in sheet[1]] == [column.header for column in COLUMNS]
    assert sheet["B2"].value == ID_NUMBER and sheet["B3"].number_format == "@"  # ID numbers stay text
    lists = {str(validation.sqref): validation.formula1 for validation in sheet.data_validations.dataValidation}
    assert lists["D2:D2000"] == '"户籍,常住,流动"' and lists["J2:J2000"] == '"gcj02,wgs84"'


def valid_id(serial: int, born: str = "19800101") -> str:
    body = f"370202{born}{serial % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def test_hundreds_of_rows_go_in_at_once_with_the_broken_ones_reported(district: District) -> None:
    d = district
    lon, lat = wgs84_to_gcj02(*IN_UNIT)
    at_sea = wgs84_to_gcj02(121.9, 37.9)
    registered_here = people.register_person(d.session, d.grid_worker, at_home(id_number=valid_id(1)), PROTECTOR)
    elsewhere = wgs84_to_gcj02(*IN_OTHER_STREET)
    there = at_home(id_number=valid_id(2), lon=elsewhere[0], lat=elsewhere[1])
    people.register_person(d.session, d.system, there, PROTECTOR)
    good = [
        [f"居民{n}", valid_id(n), f"1390000{n:04d}", "常住", f"H{n // 3}", "", f"泰和路{n}号", lon, lat, "gcj02", ""]
        for n in range(3, 303)
    ]
    broken = {
        10: (["坏校验", valid_id(10)[:-1] + "0"], "id_number_checksum"),
        20: (["未出生", valid_id(20, "20990101")], "id_number_birth_date"),
        30: (["坏手机", valid_id(30), "2390000123"], "mobile_format"),
        40: (["重复行", good[5][1]], "duplicate_row"),
        50: (["已登记", valid_id(1)], "duplicate_person"),
        60: (["他处已登记", valid_id(2)], "duplicate_person"),
        70: (["越界网格", "", "", "常住", "", "", "", "", "", "", OTHER_UNIT], "out_of_scope"),
        80: (["坐标系不明", "", "", "常住", "", "", "", lon, lat, "北京54"], "unknown_crs"),
    }
    for index, (cells, _) in broken.items():
        good[index - 2] = cells + good[index - 2][len(cells) :]
    good[90 - 2][7:10] = [at_sea[0], at_sea[1], "gcj02"]
    table = read_table_bytes(Path("人口.xlsx"), workbook(good))
    report = import_people(d.session, d.grid_worker, table, PROTECTOR, source="人口.xlsx", keep_good=True)
    assert [(item.index, item.code) for item in report.rejected] == [(n, code) for n, (_, code) in broken.items()]
    assert "人员编号" in report.rejected[4].reason and "其他网格" in report.rejected[5].reason
    assert str(registered_here.id) in report.rejected[4].reason and "人员编号" not in report.rejected[5].reason
    assert report.applied and len(report.created) == 300 - len(broken)
    imported = {p.name: p for p in people.list_people(d.session, d.grid_worker, limit=1000)}
    assert imported["居民3"].scope_code == UNIT and imported["居民3"].placement == "located"
    assert imported["居民91"].placement == "outside" and imported["居民91"].lon == pytest.approx(121.9, abs=1e-4)
    assert people.view(imported["居民3"], PROTECTOR).phone == "139****0003"
    (created,) = people.history(d.session, d.grid_worker, imported["居民3"].id)
    (by_form,) = people.history(d.session, d.grid_worker, registered_here.id)
    assert created.action == by_form.action == "create"
    assert set(created.fields) ^ set(by_form.fields) == {"tags", "household_no"}  # what one has and the other lacks
    assert people.as_of(d.session, d.grid_worker, imported["居民3"].id, timesource.now())["name"] == "居民3"


def test_without_keep_good_a_large_file_with_one_bad_row_writes_nothing(district: District) -> None:
    d = district
    rows_ = [[f"居民{n}", valid_id(n), "", "常住"] + [""] * 6 + [UNIT] for n in range(200)]
    rows_[150][1] = "11010519491231002"
    table = read_table_bytes(Path("人口.xlsx"), workbook(rows_))
    report = import_people(d.session, d.grid_worker, table, PROTECTOR, source="人口.xlsx", keep_good=False)
    assert not report.applied and [item.index for item in report.rejected] == [152] and report.created == []
    assert d.session.execute(select(func.count()).select_from(Person)).scalar_one() == 0
