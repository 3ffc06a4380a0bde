"""The registry's figures per grid subtree, on both backends: counts per lower grid that add up (with 本级 for what
is kept at the grid itself), people by tag and residence, 楼宇经济, 亩均税收 ranking, parcels by status, the report
sentence — each within the actor's scope, leaving out what is retired, moved out or merged."""

from __future__ import annotations

import pytest
from shapely.geometry import box, mapping
from tests.cases.conftest import COMMUNITY, DISTRICT, IN_OTHER_STREET, IN_UNIT, OTHER_COMMUNITY, STREET, District
from tests.registry.test_people import PROTECTOR

from civicgrid.errors import NotFoundError, PermissionDeniedError
from civicgrid.geo.coords import wgs84_to_gcj02
from civicgrid.org.actor import Actor
from civicgrid.registry import objects, people, stats
from civicgrid.registry.models import Residence
from civicgrid.registry.placing import Where

HERE = Where(*IN_UNIT, "wgs84")
THERE = Where(*IN_OTHER_STREET, "wgs84")


def person(d: District, name: str, household: str, *tags: str, residence: Residence = Residence.HOUSEHOLD) -> int:
    lon, lat = wgs84_to_gcj02(*IN_UNIT)
    data = people.PersonInput(name, None, None, residence, household, tags, None, lon, lat, "gcj02")
    return people.register_person(d.session, d.grid_worker, data, PROTECTOR).id


@pytest.fixture
def registry(district: District, street_admin: Actor) -> District:
    d = district
    person(d, "王秀兰", "H1", "独居老人", "低保")
    person(d, "李建国", "H2", "退役军人")
    person(d, "李小红", "H2", residence=Residence.FLOATING)
    gone = person(d, "赵四", "H3", "独居老人")
    people.move_out(d.session, d.grid_worker, gone, expected_version=1, reason="搬走")
    tower = objects.register(d.session, d.grid_worker, "building", {"name": "海川大厦", "use": "商务楼宇"}, HERE)
    objects.register(d.session, d.grid_worker, "building", {"name": "空楼", "use": "商务楼宇"}, HERE)
    for name, tax, land, founded, tags in (
        ("甲公司", 300, 10, "2025-03-01", "规上"),
        ("乙公司", 90, 1.5, "2019-05-01", "高企培育、规上"),
        ("丙公司", 20, None, "2025-06-01", ""),
    ):
        values = {"name": name, "annual_tax": tax, "land_mu": land, "established_on": founded, "tags": tags}
        objects.register(d.session, d.grid_worker, "enterprise", {**values, "building_id": tower.id, "employees": 10})
    closed = objects.register(
        d.session, d.grid_worker, "enterprise", {"name": "已注销公司", "annual_tax": 999, "land_mu": 1}
    )
    objects.retire(d.session, d.grid_worker, "enterprise", closed.id, expected_version=1, reason="注销")
    objects.register(d.session, d.system, "enterprise", {"name": "东城公司", "annual_tax": 5000, "land_mu": 1}, THERE)
    for number, status, bounds in (
        ("P1", "闲置", (120.41, 36.41, 120.415, 36.415)),
        ("P2", "闲置", (120.46, 36.41, 120.465, 36.415)),
        ("P3", "盘活", (120.42, 36.42, 120.425, 36.425)),
    ):
        where = Where(geometry=mapping(box(*bounds)), crs="wgs84")
        objects.register(
            d.session, street_admin, "parcel", {"name": number, "parcel_no": number, "status": status}, where
        )
    line = {"type": "LineString", "coordinates": [[120.42, 36.43], [120.58, 36.43]]}
    objects.register(d.session, d.system, "river", {"name": "海川河"}, Where(geometry=line, crs="wgs84"))
    return d


def test_a_street_sees_its_communities_with_totals_that_add_up(registry: District) -> None:
    view = stats.overview(registry.session, registry.leader)
    assert view.grid.code == STREET and [g.code for g in view.path] == [STREET]
    assert [row.grid.code if row.grid else None for row in view.rows] == [COMMUNITY, OTHER_COMMUNITY]
    mine = view.rows[0].counts
    assert (mine["person"], mine["household"], mine["building"], mine["enterprise"]) == (3, 2, 2, 3)
    assert view.rows[1].counts == {"parcel": 1}
    assert view.total["parcel"] == 3 and view.total["river"] == 0  # the river is the district's
    assert view.people_by_tag == [("低保", 1), ("独居老人", 1), ("退役军人", 1)]  # 赵四 moved out
    assert dict(view.people_by_residence) == {"户籍": 2, "常住": 0, "流动": 1}
    assert view.enterprises_by_tag == [("规上", 2), ("高企培育", 1)]


def test_the_district_counts_what_spans_its_streets_at_its_own_level(registry: District) -> None:
    view = stats.overview(registry.session, registry.system)
    assert view.grid.code == DISTRICT
    at_district = view.rows[-1]
    assert at_district.grid is None and at_district.counts == {"river": 1}
    assert view.total["enterprise"] == 4 and view.total["river"] == 1
    sentence = stats.summary_sentence(view)
    assert sentence.startswith("海川区辖区共有楼宇2栋、单位/企业4家、地块3宗、河道1条、实有人口3人（2户）")
    assert "其中低保1人" in sentence


def test_a_grid_workers_unit_has_no_lower_grids_and_counts_its_own(registry: District) -> None:
    view = stats.overview(registry.session, registry.grid_worker)
    assert view.rows == [] and view.total["person"] == 3 and view.total["parcel"] == 2


def test_building_economy_counts_enterprises_new_this_year_and_tax(registry: District) -> None:
    (tower,) = stats.building_economy(registry.session, registry.leader, year=2025)
    assert (tower.name, tower.enterprises, tower.new_this_year, tower.employees) == ("海川大厦", 3, 2, 30)
    assert tower.annual_tax == 410


def test_tax_per_mu_ranks_the_enterprises_with_land_in_scope(registry: District) -> None:
    ranking = stats.tax_per_mu(registry.session, registry.leader)
    assert [(row.rank, row.name, row.tax_per_mu) for row in ranking.rows] == [(1, "乙公司", 60.0), (2, "甲公司", 30.0)]
    assert ranking.ranked == 2 and ranking.average == pytest.approx(390 / 11.5, abs=0.01)
    assert stats.tax_per_mu(registry.session, registry.leader, limit=1).rows[0].name == "乙公司"
    assert stats.tax_per_mu(registry.session, registry.system).rows[0].name == "东城公司"


def test_parcels_by_status_with_their_area(registry: District) -> None:
    found = stats.parcels_by_status(registry.session, registry.leader)
    assert [(row.status, row.parcels) for row in found] == [("闲置", 2), ("盘活", 1)]
    assert all(row.area_mu > 0 for row in found)


def test_another_grid_or_no_permission_is_refused(registry: District) -> None:
    with pytest.raises(NotFoundError):
        stats.overview(registry.session, registry.leader, "370299002")
    with pytest.raises(NotFoundError):
        stats.overview(registry.session, registry.grid_worker, STREET)
    with pytest.raises(PermissionDeniedError):
        stats.overview(registry.session, registry.hotline)
