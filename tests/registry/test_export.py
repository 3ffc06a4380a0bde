"""Exports of the registry to Excel: objects in the import template's columns with values in words (so an export
can be corrected and imported again), people masked by default, in full only for an actor with the permission who
gives a reason — and every export of people audited."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from tests.cases.conftest import IN_UNIT, UNIT, District
from tests.registry.test_objects import HUAWEI, at_unit
from tests.registry.test_people import ID_NUMBER, PHONE, PROTECTOR, registered

from civicgrid.audit import AuditEntry
from civicgrid.errors import InvalidInputError, PermissionDeniedError
from civicgrid.org.actor import Actor
from civicgrid.registry import objects
from civicgrid.registry.export import PeopleFilter, export_objects, export_people
from civicgrid.registry.kinds import kind_of
from civicgrid.registry.objects_import import import_columns, import_table
from civicgrid.tables import read_table_bytes


def first_row(raw: bytes) -> dict[str, object]:
    table = read_table_bytes(Path("导出.xlsx"), raw)
    return dict(zip(table.header, table.rows[0][1], strict=False))


def test_objects_export_in_the_template_columns_with_values_in_words(district: District) -> None:
    d = district
    estate = objects.register(
        d.session, d.grid_worker, "estate", {"name": "泰和小区", "address": "泰和路12号"}, at_unit()
    )
    objects.register(
        d.session,
        d.grid_worker,
        "building",
        {
            "name": "泰和小区1号楼",
            "address": "泰和路12号1号楼",
            "estate_id": estate.id,
            "use": "住宅楼",
            "tags": "高层建筑",
        },
        at_unit(),
    )
    table = read_table_bytes(Path("楼宇.xlsx"), export_objects(d.session, d.grid_worker, "building"))
    expected = [column.header for column in import_columns(kind_of("building"))]
    assert list(table.header) == ["编号", *expected, "定位", "注销时间"]
    ((_, row),) = table.rows
    by_header = dict(zip(table.header, row, strict=False))
    assert by_header["所属小区"] == "泰和小区" and by_header["楼宇类型"] == "住宅楼" and by_header["标签"] == "高层建筑"
    assert by_header["网格代码"] == UNIT and by_header["坐标系"] == "wgs84"
    assert by_header["经度"] == pytest.approx(IN_UNIT[0], abs=1e-6) and by_header["定位"] == "已落图"


def test_an_exported_sheet_imports_again_as_the_same_records(district: District) -> None:
    d = district
    objects.register(
        d.session, d.grid_worker, "enterprise", {"name": "海川机械", "credit_code": HUAWEI, "industry": "C"}, at_unit()
    )
    exported = export_objects(d.session, d.grid_worker, "enterprise")
    again = import_table(d.session, d.grid_worker, "enterprise", read_table_bytes(Path("e.xlsx"), exported), source="e")
    assert [r.code for r in again.rejected] == ["duplicate_object"]  # recognised as the same enterprise


def test_people_are_exported_masked_and_the_export_is_audited(district: District) -> None:
    d = district
    registered(d)
    raw = export_people(d.session, d.grid_worker, PROTECTOR, PeopleFilter())
    by_header, table = first_row(raw), read_table_bytes(Path("人口.xlsx"), raw)
    assert by_header["身份证号码"] == "1101**********002X" and by_header["手机号码"] == "138****5678"
    assert by_header["出生日期"] is not None and by_header["性别"] == "女"
    assert table.rows[-1][1][0] == "身份证号码和手机号码已脱敏"
    entry = d.session.scalars(select(AuditEntry).where(AuditEntry.action == "registry.people.export")).one()
    assert entry.detail["count"] == 1 and entry.detail["full"] is False


def test_a_full_export_needs_the_permission_and_a_reason(district: District, street_admin: Actor) -> None:
    d = district
    registered(d)
    with pytest.raises(PermissionDeniedError):
        export_people(d.session, d.grid_worker, PROTECTOR, PeopleFilter(), full=True, reason="走访")
    with pytest.raises(InvalidInputError):
        export_people(d.session, street_admin, PROTECTOR, PeopleFilter(), full=True, reason=" ")
    raw = export_people(d.session, street_admin, PROTECTOR, PeopleFilter(tag="独居老人"), full=True, reason="民政核对")
    by_header = first_row(raw)
    assert by_header["身份证号码"] == ID_NUMBER and by_header["手机号码"] == PHONE
    entry = d.session.scalars(select(AuditEntry).where(AuditEntry.action == "registry.people.export")).one()
    assert entry.detail == {"count": 1, "full": True, "filters": {"tag": "独居老人"}, "reason": "民政核对"}
    assert entry.actor_label and entry.object_type == "person"
    nobody = export_people(d.session, street_admin, PROTECTOR, PeopleFilter(tag="低保户"), full=True, reason="核对")
    assert read_table_bytes(Path("y.xlsx"), nobody).rows == []
