"""The integrity check: codes, invalid geometry (and its safe repair), outside-parent, overlaps, gaps."""

from __future__ import annotations

import shapely
from shapely.geometry import Polygon, box
from sqlalchemy.orm import Session

from civicgrid.grid import service
from civicgrid.grid.check import IssueKind, check_grid
from civicgrid.grid.codes import GridLevel
from civicgrid.grid.models import GridNode
from civicgrid.importing import ImportReport
from civicgrid.org.actor import Actor
from civicgrid.org.roles import Permission


def _street(session: Session, system: Actor, suffix: str, geometry: Polygon | None) -> GridNode:
    return service.create_node(
        session,
        system,
        code=f"370215{suffix}",
        name=f"街道{suffix}",
        level=GridLevel.STREET,
        parent_code="370215",
        geometry=geometry,
    )


def test_real_osm_streets_tile_their_district_and_only_missing_boundaries_are_noted(
    session: Session, system: Actor, jimo_with_boundaries: ImportReport
) -> None:
    report = check_grid(session, system, "370215", tolerance_m=5.0)
    assert report.problems == []
    missing = [issue for issue in report.issues if issue.kind is IssueKind.MISSING_GEOMETRY]
    assert any("通济新经济区" in issue.message for issue in missing)


def test_overlap_outside_and_gap_are_reported_in_square_metres(session: Session, system: Actor) -> None:
    service.create_node(
        session,
        system,
        code="370215",
        name="即墨区",
        level=GridLevel.DISTRICT,
        geometry=box(120.40, 36.30, 120.50, 36.40),
    )
    _street(session, system, "001", box(120.40, 36.30, 120.46, 36.40))  # overlaps 002 by 0.01 degree
    _street(session, system, "002", box(120.45, 36.30, 120.50, 36.40))
    _street(session, system, "003", box(120.49, 36.30, 120.55, 36.31))  # reaches far outside the district
    report = check_grid(session, system, "370215", tolerance_m=5.0)
    kinds = {(issue.kind, issue.code) for issue in report.issues}
    assert (IssueKind.SIBLING_OVERLAP, "370215001") in kinds
    assert (IssueKind.OUTSIDE_PARENT, "370215003") in kinds
    overlap = next(i for i in report.issues if i.kind is IssueKind.SIBLING_OVERLAP)
    assert overlap.other_code == "370215002"
    assert overlap.area_m2 is not None
    assert 8e6 < overlap.area_m2 < 10e6


def test_gaps_inside_a_parent_are_found_and_slivers_within_tolerance_are_not(session: Session, system: Actor) -> None:
    service.create_node(
        session,
        system,
        code="370215",
        name="即墨区",
        level=GridLevel.DISTRICT,
        geometry=box(120.40, 36.30, 120.50, 36.40),
    )
    _street(session, system, "001", box(120.40, 36.30, 120.45, 36.40))
    _street(session, system, "002", box(120.45002, 36.30, 120.50, 36.40))  # a 2 m sliver: noise
    assert check_grid(session, system, "370215", tolerance_m=5.0).problems == []
    gaps = [i for i in check_grid(session, system, "370215", tolerance_m=0.5).issues if i.kind is IssueKind.GAP]
    assert len(gaps) == 1
    assert gaps[0].code == "370215"


def test_invalid_stored_geometry_is_reported_and_repaired_only_with_fix_and_only_if_safe(
    session: Session, system: Actor
) -> None:
    service.create_node(session, system, code="370215", name="即墨区", level=GridLevel.DISTRICT)
    pinched = Polygon(
        [(120.40, 36.30), (120.50, 36.30), (120.45, 36.35), (120.50, 36.40), (120.40, 36.40), (120.45, 36.35)]
    )
    bowtie = Polygon([(120.3, 36.3), (120.4, 36.4), (120.4, 36.3), (120.3, 36.4)])
    safe = _street(session, system, "001", None)
    unsafe = _street(session, system, "002", None)
    for node, geometry in ((safe, pinched), (unsafe, bowtie)):  # written past the service's checks, as old data is
        node.geometry = shapely.to_wkb(geometry)
        node.min_lon, node.min_lat, node.max_lon, node.max_lat = geometry.bounds
    session.flush()
    report = check_grid(session, system, "370215")
    assert {(i.kind, i.code) for i in report.issues} >= {
        (IssueKind.INVALID_GEOMETRY, "370215001"),
        (IssueKind.INVALID_GEOMETRY, "370215002"),
    }
    fixed = check_grid(session, system, "370215", fix=True)
    assert (IssueKind.REPAIRED, "370215001") in {(i.kind, i.code) for i in fixed.issues}
    assert (IssueKind.INVALID_GEOMETRY, "370215002") in {(i.kind, i.code) for i in fixed.issues}
    assert shapely.is_valid(service.node_geometry(service.get_node(session, system, "370215001")))
    again = check_grid(session, system, "370215")
    assert IssueKind.INVALID_GEOMETRY in {i.kind for i in again.issues if i.code == "370215002"}
    assert not any(i.code == "370215001" and i.kind is IssueKind.INVALID_GEOMETRY for i in again.issues)


def test_a_scoped_checker_sees_no_false_gaps_and_misparented_nodes_are_reported(
    session: Session, system: Actor, jimo_with_boundaries: ImportReport
) -> None:
    street_admin = Actor(
        user_id=None,
        username="a",
        display_name="潮海管理员",
        grid_codes=("370215002",),
        permissions=frozenset(Permission),
    )
    assert check_grid(session, street_admin).problems == []
    orphan = service.get_node(session, system, "370215002009")
    orphan.parent_id = service.get_node(session, system, "370215").id  # as an old import might have left it
    session.flush()
    issues = check_grid(session, system).problems
    assert {issue.kind for issue in issues} == {IssueKind.CODE_RULE}
    misparented = next(issue for issue in issues if issue.code == "370215002009")
    assert "370215002" in misparented.message  # where it belongs
    assert any("长度不一致" in issue.message for issue in issues)  # and the district's children no longer match
