"""Importing estates, buildings, enterprises and parcels from their templates (a real .xlsx written into the
downloaded template) and from GeoJSON: every broken row reported with its number, a repeat naming the earlier row,
nothing written unless every row is good or the good ones are asked for; references to rows above resolved."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string
from shapely.geometry import box, mapping
from sqlalchemy import func, select
from tests.cases.conftest import IN_UNIT, OTHER_UNIT, UNIT, District
from tests.registry.test_objects import HUAWEI, TENCENT

from civicgrid.errors import InvalidInputError, PermissionDeniedError
from civicgrid.geo.coords import wgs84_to_gcj02
from civicgrid.importing import ImportReport
from civicgrid.org.actor import Actor
from civicgrid.registry import objects
from civicgrid.registry.kinds import KINDS, kind_of
from civicgrid.registry.models import Building, Enterprise, Estate, Parcel, RegistryChange
from civicgrid.registry.objects_import import import_columns, import_geojson, import_table, objects_template
from civicgrid.registry.sheets import Column, template
from civicgrid.tables import read_table, read_table_bytes


def filled(kind: str, rows: list[dict[str, Any]]) -> bytes:
    """The downloaded template with its example row replaced by ``rows`` (header → value)."""
    book = load_workbook(io.BytesIO(objects_template(kind)))
    sheet = book.worksheets[0]
    header = [cell.value for cell in sheet[1]]
    for column in range(1, len(header) + 1):
        sheet.cell(row=2, column=column, value=None)
    for number, row in enumerate(rows, start=2):
        for name, value in row.items():
            sheet.cell(row=number, column=header.index(name) + 1, value=value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def imported(d: District, kind: str, rows: list[dict[str, Any]], *, keep_good: bool = False) -> ImportReport:
    table = read_table_bytes(Path(f"{kind}.xlsx"), filled(kind, rows))
    return import_table(d.session, d.grid_worker, kind, table, source=f"{kind}.xlsx", keep_good=keep_good)


def count(d: District, model: type) -> int:
    return d.session.execute(select(func.count()).select_from(model)).scalar_one()


def at_unit() -> dict[str, Any]:
    lon, lat = wgs84_to_gcj02(*IN_UNIT)
    return {"经度": lon, "纬度": lat, "坐标系": "gcj02"}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_kind_has_a_template_with_its_labels_an_example_and_its_choice_lists(kind: str) -> None:
    book = load_workbook(io.BytesIO(objects_template(kind)))
    sheet = book.worksheets[0]
    header = [cell.value for cell in sheet[1]]
    assert header == [column.header for column in import_columns(kind_of(kind))]
    assert header[0] == kind_of(kind).all_fields[0].label and header[-1] == "网格代码" and "经度" in header
    assert ("范围（WKT）" in header) == (kind in ("estate", "building", "parcel", "river"))
    lists = {coordinate_from_string(str(v.sqref).split(":")[0])[0] for v in sheet.data_validations.dataValidation}
    choice_columns = {f.label for f in kind_of(kind).all_fields if f.choices} | {"坐标系"}
    assert {header[column_index_from_string(letter) - 1] for letter in lists} == choice_columns


def test_a_choice_list_too_long_for_excel_points_at_a_hidden_options_sheet() -> None:
    streets = tuple(f"第{number}号街道办事处" for number in range(1, 41))  # well over Excel's 255 characters
    columns = (Column("名称", "", "泰和小区"), Column("街道", "", streets[0], streets))
    book = load_workbook(io.BytesIO(template("小区", columns)))
    options = book["选项"]
    assert options.sheet_state == "hidden"
    assert [cell.value for cell in options["B"]][1:] == list(streets)
    (validation,) = book["小区"].data_validations.dataValidation
    assert validation.formula1 == "选项!$B$2:$B$41" and str(validation.sqref).startswith("B2:")


def test_estates_and_their_buildings_go_in_with_references_to_rows_above(district: District) -> None:
    d = district
    estate_report = imported(d, "estate", [{"名称": "泰和小区", "地址": "泰和路12号", "建成年份": 1998, **at_unit()}])
    assert estate_report.applied and len(estate_report.created) == 1
    report = imported(
        d,
        "building",
        [
            {
                "名称": "泰和小区1号楼",
                "地址": "泰和路12号1号楼",
                "所属小区": "泰和小区",
                "楼宇类型": "住宅楼",
                **at_unit(),
            },
            {"名称": "泰和小区2号楼", "地址": "泰和路12号2号楼", "所属小区": "泰和小区", "层数": "6", "网格代码": UNIT},
        ],
    )
    assert report.applied and report.rejected == []
    buildings = d.session.scalars(select(Building).order_by(Building.id)).all()
    estate = d.session.scalars(select(Estate)).one()
    assert [b.estate_id for b in buildings] == [estate.id, estate.id]
    assert [b.placement for b in buildings] == ["located", "manual"] and buildings[1].floors == 6
    created = d.session.scalars(select(RegistryChange).where(RegistryChange.object_type == "building")).all()
    assert [change.action for change in created] == ["create", "create"]


def enterprise_rows() -> list[dict[str, Any]]:
    return [
        {
            "名称": "青岛海川精密机械有限公司",
            "统一社会信用代码": HUAWEI,
            "行业门类": "制造业",
            "规模": "规上",
            **at_unit(),
        },  # 2
        {"名称": "坏代码公司", "统一社会信用代码": HUAWEI[:-1] + "7", **at_unit()},  # 3: checksum
        {"名称": "重复公司", "统一社会信用代码": HUAWEI.lower(), **at_unit()},  # 4: repeats row 2
        {"名称": "别人网格的公司", "统一社会信用代码": TENCENT, "网格代码": OTHER_UNIT},  # 5: not her grid
        {"名称": "缺纬度公司", "经度": 120.4},  # 6
        {"名称": "", "地址": "泰和路20号", "网格代码": UNIT},  # 7: no name
        {"名称": "海川商贸", "从业人数": "十二", "网格代码": UNIT},  # 8
        {"名称": "泰和便利店", "单位类型": "个体工商户", "成立日期": "2019年3月8日", "网格代码": UNIT},  # 9
    ]


def test_broken_enterprise_rows_are_reported_by_number_and_nothing_goes_in(district: District) -> None:
    d = district
    report = imported(d, "enterprise", enterprise_rows())
    assert not report.applied and report.total == 8 and report.created == []
    assert [(r.index, r.code) for r in report.rejected] == [
        (3, "credit_code_checksum"),
        (4, "duplicate_row"),
        (5, "out_of_scope"),
        (6, "incomplete_coordinates"),
        (7, "name_required"),
        (8, "employees_not_a_number"),
    ]
    assert report.rejected[1].reason == "统一社会信用代码与第2行重复"
    assert "校验" in report.rejected[0].reason
    assert count(d, Enterprise) == 0 and count(d, RegistryChange) == 0


def test_a_row_with_several_problems_is_refused_for_each(district: District) -> None:
    row = {
        "名称": "问题很多的公司",
        "统一社会信用代码": "91370200MA3C0000X0",  # a wrong check character
        "行业门类": "航天",  # not a GB/T 4754 section
        "从业人数": "很多",
        "所在楼宇": "不存在的楼",
        "经度": "东经120度",  # the position cannot be read either
        "纬度": 36.4,
    }
    report = imported(district, "enterprise", [row, {"名称": "好公司", **at_unit(), "所在楼宇": "没有这栋"}])
    first, second = report.rejected
    assert first.index == 2 and len(first.problems) == 5, first.problems
    assert {code for _, code in first.problems} >= {"reference_not_found"}
    assert "东经120度" in first.reason and "航天" in first.reason and "很多" in first.reason
    assert second.index == 3 and second.problems == () and second.code == "reference_not_found"


def test_with_keep_good_the_good_rows_go_in_and_an_import_is_audited(district: District) -> None:
    d = district
    report = imported(d, "enterprise", enterprise_rows(), keep_good=True)
    assert report.applied and len(report.created) == 2 and len(report.rejected) == 6
    names = d.session.scalars(select(Enterprise.name).order_by(Enterprise.id)).all()
    assert names == ["青岛海川精密机械有限公司", "泰和便利店"]
    shop = d.session.scalars(select(Enterprise).where(Enterprise.name == "泰和便利店")).one()
    assert shop.kind == "个体工商户" and shop.established_on.isoformat() == "2019-03-08"
    again = imported(d, "enterprise", enterprise_rows()[:1])
    assert again.rejected[0].code == "duplicate_object" and "已登记" in again.rejected[0].reason


def test_a_header_without_the_required_column_is_refused_at_once(district: District, tmp_path: Path) -> None:
    path = tmp_path / "小区.csv"
    path.write_text("地址,经度\n泰和路1号,120.4\n", encoding="utf-8")
    with pytest.raises(InvalidInputError) as refused:
        import_table(district.session, district.grid_worker, "estate", read_table(path), source=path.name)
    assert refused.value.code == "missing_columns" and "名称" in refused.value.message


def test_a_resident_cannot_import(district: District) -> None:
    d = district
    resident = Actor(user_id=None, username="someone", display_name="居民", grid_codes=(UNIT,))
    table = read_table_bytes(Path("e.xlsx"), filled("estate", [{"名称": "泰和小区"}]))
    with pytest.raises(PermissionDeniedError):
        import_table(d.session, resident, "estate", table, source="e.xlsx")


def test_parcels_from_geojson_get_their_area_and_a_bad_feature_is_reported(district: District) -> None:
    d = district
    inside = mapping(box(120.41, 36.41, 120.42, 36.42))
    bow_tie = {
        "type": "Polygon",
        "coordinates": [[[120.41, 36.41], [120.42, 36.42], [120.42, 36.41], [120.41, 36.42], [120.41, 36.41]]],
    }
    document = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"名称": "北侧地块", "地块编号": "DK-1", "利用状态": "闲置"},
                "geometry": inside,
            },
            {"type": "Feature", "properties": {"name": "自交地块", "parcel_no": "DK-2"}, "geometry": bow_tie},
            {"type": "Feature", "properties": {"名称": "重复地块", "地块编号": "dk-1"}, "geometry": inside},
        ],
    }
    report = import_geojson(
        d.session, d.grid_worker, "parcel", json.dumps(document), source="地块.geojson", keep_good=True
    )
    assert [(r.index, r.code) for r in report.rejected] == [(2, "invalid_geometry"), (3, "duplicate_row")]
    assert report.rejected[1].reason == "地块编号与第1个要素重复"
    parcel = d.session.scalars(select(Parcel)).one()
    assert parcel.status == "闲置" and parcel.scope_code == UNIT
    assert parcel.area_mu == pytest.approx(1110 * 895 / (10_000 / 15), rel=0.02)  # ~1.11 km × ~0.9 km


def test_a_wkt_area_in_the_sheet_places_the_estate(district: District) -> None:
    d = district
    report = imported(
        d,
        "estate",
        [
            {
                "名称": "泰和花园",
                "范围（WKT）": "POLYGON ((120.41 36.41, 120.42 36.41, 120.42 36.42, 120.41 36.41))",
                "坐标系": "wgs84",
            },
            {"名称": "坏范围小区", "范围（WKT）": "POLYGON ((120.41 36.41, 120.42"},
        ],
        keep_good=True,
    )
    assert [(r.index, r.code) for r in report.rejected] == [(3, "bad_geometry")]
    estate = objects.get(d.session, d.grid_worker, "estate", int(report.created[0]))
    assert estate.scope_code == UNIT and estate.geometry is not None
