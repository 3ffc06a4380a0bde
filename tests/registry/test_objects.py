"""Estates, buildings, houses, enterprises, parcels, rivers and facilities through the one service, on both
backends: each is placed on the grid by its point, line or area; checked field by field; refused when its natural
key is taken; versioned and answerable as of a date; retired rather than deleted; kept within the actor's grids."""

from __future__ import annotations

import pytest
import shapely
from shapely.geometry import box, mapping
from sqlalchemy import func, select
from tests.cases.conftest import COMMUNITY, DISTRICT, IN_OTHER_STREET, IN_UNIT, STREET, UNIT, District, beijing

from civicgrid import timesource
from civicgrid.cases.models import Placement
from civicgrid.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from civicgrid.geo.coords import wgs84_to_gcj02
from civicgrid.org.actor import Actor
from civicgrid.registry import objects
from civicgrid.registry.models import Enterprise, Facility, Parcel, RegistryChange, River
from civicgrid.registry.placing import Where

HUAWEI = "914403001922038216"
TENCENT = "9144030071526726XG"


def at_unit() -> Where:
    lon, lat = wgs84_to_gcj02(*IN_UNIT)
    return Where(lon=lon, lat=lat, crs="gcj02")


def enterprise(d: District, **values: object) -> Enterprise:
    fields: dict[str, object] = {
        "name": "青岛海川精密机械有限公司",
        "address": "泰和路88号",
        "credit_code": HUAWEI,
        "industry": "制造业",
        "scale": "规上",
        "employees": "120",
        "annual_tax": "1,350.5",
        "land_mu": 30,
        "tags": "高企培育、规上",
    }
    fields.update(values)
    record = objects.register(d.session, d.grid_worker, "enterprise", fields, at_unit())
    assert isinstance(record, Enterprise)
    return record


def test_an_enterprise_is_recorded_with_checked_values_on_its_grid(district: District) -> None:
    d = district
    company = enterprise(d)
    assert (company.placement, company.scope_code) == (Placement.LOCATED.value, UNIT)
    assert (company.industry, company.scale, company.employees, company.annual_tax) == ("C", "规上", 120, 1350.5)
    assert company.tags == ["规上", "高企培育"] and company.natural_key == HUAWEI
    (created,) = objects.history(d.session, d.grid_worker, "enterprise", company.id)
    assert created.action == "create" and created.fields["credit_code"] == [None, HUAWEI]


@pytest.mark.parametrize(
    ("values", "code"),
    [
        ({"credit_code": "914403001922038217"}, "credit_code_checksum"),
        ({"industry": "造船"}, "industry_unknown"),
        ({"employees": "一百"}, "employees_not_a_number"),
        ({"employees": "12.5"}, "employees_not_an_integer"),
        ({"annual_tax": -3}, "annual_tax_negative"),
        ({"established_on": "2031-01-01"}, "established_on_in_future"),
        ({"established_on": "2021-02-30"}, "established_on_not_a_date"),
        ({"name": " "}, "name_required"),
        ({"colour": "红"}, "unknown_field"),
    ],
)
def test_a_bad_value_is_refused_naming_the_field_and_nothing_is_stored(
    district: District, values: dict[str, object], code: str
) -> None:
    with pytest.raises(InvalidInputError) as refused:
        enterprise(district, **values)
    assert refused.value.code == code
    assert district.session.execute(select(func.count()).select_from(Enterprise)).scalar_one() == 0


def test_a_credit_code_or_an_address_already_registered_is_a_duplicate(district: District) -> None:
    d = district
    first = enterprise(d)
    with pytest.raises(ConflictError) as refused:
        enterprise(d, name="另一家", credit_code=f" {HUAWEI.lower()} ")
    assert refused.value.code == "duplicate_object" and refused.value.detail == {"id": first.id}
    estate = objects.register(d.session, d.grid_worker, "estate", {"name": "泰和花园", "address": "泰和路 12 号"})
    with pytest.raises(ConflictError):  # the same address spelt differently
        objects.register(d.session, d.grid_worker, "estate", {"name": "泰和花园二期", "address": "泰和路１２#"})
    assert estate.natural_key == "addr:泰和路12号"


def test_a_duplicate_in_another_grid_does_not_reveal_the_other_record(district: District) -> None:
    d = district
    lon, lat = IN_OTHER_STREET
    objects.register(
        d.session, d.system, "enterprise", {"name": "东城公司", "credit_code": HUAWEI}, Where(lon, lat, "wgs84")
    )
    with pytest.raises(ConflictError) as refused:
        enterprise(d)
    assert refused.value.detail == {} and "东城公司" not in str(refused.value)


def test_a_river_crossing_two_streets_belongs_to_their_district_with_its_length(
    district: District, street_admin: Actor
) -> None:
    d = district
    line = {"type": "LineString", "coordinates": [[120.42, 36.43], [120.58, 36.43]]}  # WGS-84, west to east
    river = objects.register(
        d.session, d.system, "river", {"name": "海川河", "chief_name": "张明"}, Where(geometry=line, crs="wgs84")
    )
    assert isinstance(river, River)
    assert (river.placement, river.scope_code) == (Placement.LOCATED.value, DISTRICT)
    assert river.length_km == pytest.approx(14.3, abs=0.2)  # 0.16° of longitude at 36.43° N
    assert river.lon == pytest.approx(120.5) and river.lat == pytest.approx(36.43)
    with pytest.raises(PermissionDeniedError):  # a street's staff cannot register what spans the district
        objects.register(d.session, street_admin, "river", {"name": "海川河支流"}, Where(geometry=line, crs="wgs84"))


def test_a_line_along_a_grid_edge_only_belongs_to_the_grid_it_runs_in(district: District, street_admin: Actor) -> None:
    d = district
    inside_unit = {"type": "LineString", "coordinates": [[120.41, 36.41], [120.44, 36.44]]}
    river = objects.register(
        d.session, d.grid_worker, "river", {"name": "小河沟"}, Where(geometry=inside_unit, crs="wgs84")
    )
    assert river.scope_code == UNIT
    to_the_edge = {"type": "LineString", "coordinates": [[120.41, 36.41], [120.45, 36.41]]}  # touches 华山社区
    along = Where(geometry=to_the_edge, crs="wgs84")
    ditch = objects.register(d.session, street_admin, "river", {"name": "排水沟"}, along)
    assert ditch.scope_code == UNIT


def test_a_parcel_gets_its_area_in_mu_from_its_polygon_and_its_community_when_it_spans_units(
    district: District, street_admin: Actor
) -> None:
    d = district
    across_units = mapping(box(120.44, 36.44, 120.441, 36.46))
    parcel = objects.register(
        d.session,
        street_admin,
        "parcel",
        {"name": "泰和路北地块", "parcel_no": "QD-2024-017", "use": "工业", "status": "闲置"},
        Where(geometry=across_units, crs="wgs84"),
    )
    assert isinstance(parcel, Parcel) and parcel.scope_code == COMMUNITY
    assert parcel.area_mu == pytest.approx(0.001 * 89_700 * 0.02 * 111_200 / (10_000 / 15), rel=0.02)
    stored = shapely.from_wkb(parcel.geometry)
    assert stored.equals_exact(box(120.44, 36.44, 120.441, 36.46), 1e-9)
    given = objects.register(
        d.session,
        street_admin,
        "parcel",
        {"name": "另一地块", "parcel_no": "QD-2024-018", "area_mu": "12.5"},
        Where(geometry=mapping(box(120.41, 36.41, 120.42, 36.42)), crs="wgs84"),
    )
    assert given.area_mu == 12.5  # the surveyed figure wins over the drawn one


@pytest.mark.parametrize(
    ("kind", "geometry", "code"),
    [
        ("parcel", {"type": "LineString", "coordinates": [[120.41, 36.41], [120.42, 36.42]]}, "wrong_geometry_type"),
        ("river", mapping(box(120.41, 36.41, 120.42, 36.42)), "wrong_geometry_type"),
        ("enterprise", mapping(box(120.41, 36.41, 120.42, 36.42)), "wrong_geometry_type"),
        (
            "parcel",
            {"type": "Polygon", "coordinates": [[[120.41, 36.41], [120.42, 36.42], [120.42, 36.41], [120.41, 36.42]]]},
            "invalid_geometry",
        ),
        ("parcel", {"type": "Polygon", "coordinates": "nonsense"}, "bad_geometry"),
        ("parcel", {"type": "Polygon", "coordinates": [[[200, 36], [201, 36], [201, 37], [200, 36]]]}, None),
    ],
)
def test_a_shape_of_the_wrong_kind_or_broken_is_refused(
    district: District, street_admin: Actor, kind: str, geometry: dict[str, object], code: str | None
) -> None:
    with pytest.raises(InvalidInputError) as refused:
        objects.register(district.session, street_admin, kind, {"name": "某物"}, Where(geometry=geometry, crs="wgs84"))
    if code is not None:
        assert refused.value.code == code


def test_a_point_outside_every_grid_is_kept_and_flagged(district: District) -> None:
    d = district
    lon, lat = wgs84_to_gcj02(121.9, 37.9)  # at sea
    company = objects.register(
        d.session, d.grid_worker, "enterprise", {"name": "海上平台公司"}, Where(lon=lon, lat=lat, crs="gcj02")
    )
    assert company.placement == Placement.OUTSIDE.value and company.scope_code == UNIT
    assert company.lon == pytest.approx(121.9, abs=1e-4)
    without = objects.register(d.session, d.grid_worker, "building", {"name": "无坐标楼"})
    assert (without.placement, without.scope_code) == (Placement.NO_LOCATION.value, UNIT)
    with pytest.raises(InvalidInputError) as half:
        objects.register(d.session, d.grid_worker, "building", {"name": "半个坐标"}, Where(lon=120.4, crs="wgs84"))
    assert half.value.code == "incomplete_coordinates"


def test_a_building_names_its_estate_and_a_facility_is_coded_and_owned(district: District) -> None:
    d = district
    estate = objects.register(d.session, d.grid_worker, "estate", {"name": "泰和花园"}, at_unit())
    building = objects.register(
        d.session, d.grid_worker, "building", {"name": "泰和花园3号楼", "estate_id": "泰和花园", "floors": 18}
    )
    assert building.estate_id == estate.id  # type: ignore[attr-defined]
    with pytest.raises(NotFoundError) as missing:
        objects.register(d.session, d.grid_worker, "building", {"name": "4号楼", "estate_id": "不存在的小区"})
    assert missing.value.code == "reference_not_found"
    first = objects.register(
        d.session, d.grid_worker, "facility", {"name": "井盖", "class_code": "0102", "owner_department_id": "CGJ"}
    )
    second = objects.register(d.session, d.grid_worker, "facility", {"name": "井盖", "class_code": "污水井盖"})
    assert isinstance(first, Facility) and isinstance(second, Facility)
    assert (first.code, second.code) == ("3702990102000001", "3702990102000002")
    assert first.owner_department_id is not None
    with pytest.raises(InvalidInputError) as bad:
        objects.register(d.session, d.grid_worker, "facility", {"name": "灯", "class_code": "0120", "code": "123"})
    assert bad.value.code == "facility_code_format"
    with pytest.raises(NotFoundError):
        objects.register(
            d.session, d.grid_worker, "facility", {"name": "灯", "class_code": "0120", "owner_department_id": "无"}
        )


def test_a_correction_is_versioned_a_stale_one_refused_and_the_past_answerable(district: District) -> None:
    d = district
    with timesource.pinned(beijing(2026, 3, 1, 9)):
        company = enterprise(d)
    read = company.version
    with timesource.pinned(beijing(2026, 6, 1, 9)):
        objects.correct(
            d.session, d.grid_worker, "enterprise", company.id, {"employees": 150, "tags": ["规上"]},
            expected_version=read, reason="年报更新",
        )  # fmt: skip
    with pytest.raises(ConflictError) as stale:
        objects.correct(d.session, d.grid_worker, "enterprise", company.id, {"employees": 90}, expected_version=read)
    assert stale.value.code == "stale_version" and company.employees == 150
    before = objects.as_of(d.session, d.grid_worker, "enterprise", company.id, beijing(2026, 4, 1))
    after = objects.as_of(d.session, d.grid_worker, "enterprise", company.id, beijing(2026, 7, 1))
    assert before is not None and after is not None
    assert (before["employees"], before["tags"]) == (120, ["规上", "高企培育"])
    assert (after["employees"], after["tags"]) == (150, ["规上"])
    assert objects.as_of(d.session, d.grid_worker, "enterprise", company.id, beijing(2026, 1, 1)) is None
    update = objects.history(d.session, d.grid_worker, "enterprise", company.id)[-1]
    assert update.reason == "年报更新" and update.fields["employees"] == [120, 150]


def test_moving_a_record_needs_scope_at_the_new_place_and_is_versioned(district: District) -> None:
    d = district
    company = enterprise(d)
    lon, lat = IN_OTHER_STREET
    with pytest.raises(PermissionDeniedError):
        objects.correct(
            d.session, d.grid_worker, "enterprise", company.id, {}, expected_version=company.version,
            where=Where(lon=lon, lat=lat, crs="wgs84"),
        )  # fmt: skip
    moved = objects.correct(
        d.session, d.system, "enterprise", company.id, {}, expected_version=company.version,
        where=Where(lon=lon, lat=lat, crs="wgs84"), reason="迁址",
    )  # fmt: skip
    assert moved.scope_code.startswith("370299002")
    change = objects.history(d.session, d.system, "enterprise", company.id)[-1]
    assert change.fields["scope_code"] == [UNIT, moved.scope_code]
    with pytest.raises(NotFoundError):  # gone from her grid
        objects.get(d.session, d.grid_worker, "enterprise", company.id)


def test_a_retired_record_is_kept_out_of_lists_and_cannot_be_retired_twice(district: District) -> None:
    d = district
    company = enterprise(d)
    with pytest.raises(InvalidInputError):
        objects.retire(d.session, d.grid_worker, "enterprise", company.id, expected_version=company.version, reason="")
    objects.retire(
        d.session, d.grid_worker, "enterprise", company.id, expected_version=company.version, reason="注销登记"
    )
    assert objects.find(d.session, d.grid_worker, "enterprise") == ([], 0)
    rows, total = objects.find(d.session, d.grid_worker, "enterprise", include_retired=True)
    assert total == 1 and rows[0].retired_at is not None
    with pytest.raises(ConflictError) as again:
        objects.retire(
            d.session, d.grid_worker, "enterprise", company.id, expected_version=company.version, reason="再次"
        )
    assert again.value.code == "already_retired"
    actions = [
        c.action for c in d.session.scalars(select(RegistryChange).where(RegistryChange.object_id == company.id))
    ]
    assert actions == ["create", "retire"]


def test_find_filters_by_tag_text_and_field_within_scope_with_a_total(district: District) -> None:
    d = district
    enterprise(d)
    enterprise(d, name="泰和软件科技有限公司", credit_code=TENCENT, industry="I", scale="规下", tags="专精特新")
    lon, lat = IN_OTHER_STREET
    objects.register(
        d.session, d.system, "enterprise", {"name": "东城公司", "tags": ["规上"]}, Where(lon, lat, "wgs84")
    )
    names = lambda rows: sorted(r.name for r in rows)  # noqa: E731
    rows, total = objects.find(d.session, d.grid_worker, "enterprise", tag="规上")
    assert (names(rows), total) == (["青岛海川精密机械有限公司"], 1)
    rows, total = objects.find(d.session, d.system, "enterprise", tag="规上")
    assert total == 2
    rows, _ = objects.find(d.session, d.grid_worker, "enterprise", text="软件")
    assert names(rows) == ["泰和软件科技有限公司"]
    rows, _ = objects.find(d.session, d.grid_worker, "enterprise", text="100%_")
    assert rows == []  # wildcards in the text are taken literally
    rows, _ = objects.find(d.session, d.grid_worker, "enterprise", equal={"industry": "I"})
    assert names(rows) == ["泰和软件科技有限公司"]
    rows, total = objects.find(d.session, d.grid_worker, "enterprise", limit=1, offset=1)
    assert len(rows) == 1 and total == 2
    rows, total = objects.find(d.session, d.system, "enterprise", grid_code=STREET)
    assert total == 2


def test_without_registry_permission_or_outside_scope_nothing_is_read_or_written(district: District) -> None:
    d = district
    lon, lat = IN_OTHER_STREET
    theirs = objects.register(d.session, d.system, "enterprise", {"name": "东城公司"}, Where(lon, lat, "wgs84"))
    with pytest.raises(NotFoundError):
        objects.get(d.session, d.grid_worker, "enterprise", theirs.id)
    with pytest.raises(NotFoundError):
        objects.correct(d.session, d.grid_worker, "enterprise", theirs.id, {"name": "改名"}, expected_version=1)
    with pytest.raises(PermissionDeniedError):
        objects.find(d.session, d.hotline, "enterprise")
    with pytest.raises(PermissionDeniedError):
        objects.register(d.session, d.hotline, "enterprise", {"name": "某公司"}, at_unit())
    with pytest.raises(InvalidInputError) as unknown:
        objects.find(d.session, d.grid_worker, "spaceship")
    assert unknown.value.code == "unknown_kind"
