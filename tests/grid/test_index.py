"""Locating points through the cached grid index, with ancestors, CRS conversion and cache invalidation."""

from __future__ import annotations

import pytest
from shapely.geometry import box
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from civicgrid.db import make_session_factory
from civicgrid.errors import InvalidInputError, PermissionDeniedError
from civicgrid.geo.coords import CRS, wgs84_to_gcj02
from civicgrid.grid import service
from civicgrid.grid.codes import GridLevel
from civicgrid.grid.index import grid_index, locate, node_path
from civicgrid.importing import ImportReport
from civicgrid.org.actor import Actor
from civicgrid.org.roles import Permission

INSIDE_CHAOHAI = (120.4535, 36.3887)  # a point in 潮海街道 (WGS-84)


def test_a_point_gets_its_street_and_the_whole_path(
    session: Session, system: Actor, jimo_with_boundaries: ImportReport
) -> None:
    chaohai = service.node_geometry(service.get_node(session, system, "370215002"))
    assert chaohai is not None
    point = chaohai.representative_point()
    found = locate(session, system, point.x, point.y, CRS.WGS84)
    assert found.inside
    assert found.node is not None
    assert found.node.code == "370215002"
    assert [ref.name for ref in found.path] == ["山东省", "青岛市", "即墨区", "潮海街道"]
    assert found.at_level(GridLevel.DISTRICT).code == "370215"  # type: ignore[union-attr]


def test_gcj02_input_is_converted_before_locating(
    session: Session, system: Actor, jimo_with_boundaries: ImportReport
) -> None:
    chaohai = service.node_geometry(service.get_node(session, system, "370215002"))
    assert chaohai is not None
    point = chaohai.representative_point()
    gcj_lon, gcj_lat = wgs84_to_gcj02(point.x, point.y)
    found = locate(session, system, gcj_lon, gcj_lat, CRS.GCJ02)
    assert found.node is not None
    assert found.node.code == "370215002"
    assert abs(found.lon - point.x) < 1e-7
    assert abs(found.lat - point.y) < 1e-7


def test_a_point_outside_every_grid_is_kept_with_the_nearest_grid(
    session: Session, system: Actor, jimo_with_boundaries: ImportReport
) -> None:
    found = locate(session, system, 121.5, 36.0, CRS.WGS84)  # the Yellow Sea
    assert not found.inside
    assert found.path == ()
    assert found.nearest is not None
    assert found.distance_m is not None
    assert found.distance_m > 10_000


def test_the_index_is_rebuilt_after_a_grid_change(
    session: Session, system: Actor, jimo_with_boundaries: ImportReport
) -> None:
    first = grid_index(session)
    assert grid_index(session) is first
    service.rename_node(session, system, "370215002", "潮海街道（新）")
    second = grid_index(session)
    assert second is not first
    assert node_path(session, "370215002")[-1].name == "潮海街道（新）"


def test_bad_coordinates_and_missing_permission_are_refused(
    session: Session, system: Actor, jimo_with_boundaries: ImportReport
) -> None:
    with pytest.raises(InvalidInputError):
        locate(session, system, 200.0, 36.0, CRS.WGS84)
    with pytest.raises(InvalidInputError):
        locate(session, system, float("nan"), 36.0, CRS.WGS84)
    nobody = Actor(user_id=None, username="anon", display_name="访客")
    with pytest.raises(PermissionDeniedError):
        locate(session, nobody, 120.45, 36.39, CRS.WGS84)


def test_a_scoped_reader_learns_no_more_than_her_view(
    session: Session, system: Actor, jimo_with_boundaries: ImportReport
) -> None:
    huanxiu = service.node_geometry(service.get_node(session, system, "370215001"))
    assert huanxiu is not None
    point = huanxiu.representative_point()
    chaohai_worker = Actor(
        user_id=None,
        username="w",
        display_name="潮海网格员",
        grid_codes=("370215002",),
        permissions=frozenset({Permission.GRID_READ}),
    )
    found = locate(session, chaohai_worker, point.x, point.y, CRS.WGS84)
    assert found.node is not None
    assert found.node.code == "370215"  # the district above her street, not the neighbouring street
    assert [ref.code for ref in found.path] == ["37", "3702", "370215"]
    assert locate(session, system, point.x, point.y, CRS.WGS84).node.code == "370215001"  # type: ignore[union-attr]


def test_an_index_built_inside_a_rolled_back_transaction_is_never_served_for_other_data(engine: Engine) -> None:
    factory = make_session_factory(engine, write=True)
    system = Actor.system("测试")
    for code, name in (("110109", "门头沟区"), ("110111", "房山区")):
        session = factory()
        try:
            service.create_node(
                session, system, code=code, name=name, level=GridLevel.DISTRICT, geometry=box(116.0, 39.8, 116.1, 39.9)
            )
            found = grid_index(session).locate_wgs84(116.05, 39.85)
            assert found.node is not None
            assert found.node.code == code  # a revision counter would have served the first index here
        finally:
            session.rollback()
            session.close()
