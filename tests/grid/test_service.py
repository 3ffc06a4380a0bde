"""The grid service: creating, changing, deleting, staffing and reading nodes within an actor's scope."""

from __future__ import annotations

import pytest
from shapely.geometry import Point, Polygon, box
from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid.audit import AuditEntry
from civicgrid.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from civicgrid.grid import service
from civicgrid.grid.codes import GridLevel
from civicgrid.grid.models import GridDuty
from civicgrid.org.actor import Actor
from civicgrid.org.roles import Permission, Role
from civicgrid.org.service import create_user


@pytest.fixture
def tree(session: Session, system: Actor) -> None:
    service.create_node(
        session, system, code="370215", name="即墨区", level=GridLevel.DISTRICT, geometry=box(120.3, 36.3, 120.7, 36.6)
    )
    service.create_node(
        session,
        system,
        code="370215002",
        name="潮海街道",
        level=GridLevel.STREET,
        parent_code="370215",
        geometry=box(120.4, 36.35, 120.5, 36.45),
    )
    service.create_node(
        session, system, code="370215001", name="环秀街道", level=GridLevel.STREET, parent_code="370215"
    )
    service.create_node(
        session, system, code="370215002009", name="泰山社区", level=GridLevel.COMMUNITY, parent_code="370215002"
    )


def reader(*codes: str) -> Actor:
    return Actor(
        user_id=42,
        username="reader",
        display_name="读者",
        grid_codes=codes,
        permissions=frozenset({Permission.GRID_READ}),
    )


def test_nodes_get_depth_district_code_and_parent(session: Session, tree: None, system: Actor) -> None:
    node = service.get_node(session, system, "370215002009")
    assert node.depth == 2
    assert node.district_code == "370215"
    assert node.parent.code == "370215002"
    assert [n.code for n in service.ancestors(session, node)] == ["370215", "370215002"]


def test_geometry_is_stored_with_bbox_and_area_in_square_metres(session: Session, tree: None, system: Actor) -> None:
    node = service.get_node(session, system, "370215002")
    assert (node.min_lon, node.min_lat, node.max_lon, node.max_lat) == (120.4, 36.35, 120.5, 36.45)
    assert node.area_m2 == pytest.approx(0.1 * 111_320 * 0.80 * 0.1 * 110_950, rel=0.01)
    assert service.node_geometry(node).equals(box(120.4, 36.35, 120.5, 36.45))  # type: ignore[union-attr]


def test_invalid_and_non_polygonal_geometry_is_refused(session: Session, tree: None, system: Actor) -> None:
    node = service.get_node(session, system, "370215001")
    bowtie = Polygon([(120.3, 36.3), (120.4, 36.4), (120.4, 36.3), (120.3, 36.4)])
    with pytest.raises(InvalidInputError, match="几何无效") as caught:
        service.set_geometry(session, system, node, bowtie)
    assert caught.value.code == "invalid_geometry"
    with pytest.raises(InvalidInputError, match="必须是面"):
        service.set_geometry(session, system, node, Point(120.3, 36.3))  # type: ignore[arg-type]
    assert node.geometry is None


def test_duplicate_codes_missing_parents_and_sibling_lengths_are_refused(
    session: Session, tree: None, system: Actor
) -> None:
    with pytest.raises(ConflictError, match="已存在"):
        service.create_node(
            session, system, code="370215002", name="重复", level=GridLevel.STREET, parent_code="370215"
        )
    with pytest.raises(NotFoundError, match="上级网格"):
        service.create_node(
            session, system, code="370215003001", name="某社区", level=GridLevel.COMMUNITY, parent_code="370215003"
        )
    service.create_node(
        session, system, code="370215002009001", name="网格一", level=GridLevel.UNIT, parent_code="370215002009"
    )
    with pytest.raises(InvalidInputError, match="同级代码长度必须一致"):
        service.create_node(
            session,
            system,
            code="3702150020090002",
            name="网格二",
            level=GridLevel.UNIT,
            parent_code="370215002009",
            unit_code_digits=4,
        )


def test_a_node_with_children_cannot_be_deleted_a_leaf_can(session: Session, tree: None, system: Actor) -> None:
    with pytest.raises(ConflictError, match="还有1个下级"):
        service.delete_node(session, system, "370215002")
    service.delete_node(session, system, "370215002009")
    with pytest.raises(NotFoundError):
        service.get_node(session, system, "370215002009")


def test_every_change_renews_the_grid_revision_and_is_audited(session: Session, tree: None, system: Actor) -> None:
    before = service.grid_revision(session)
    service.rename_node(session, system, "370215001", "环秀街道办事处")
    assert service.grid_revision(session) != before
    entry = session.execute(select(AuditEntry).where(AuditEntry.action == "grid.node.rename")).scalar_one()
    assert entry.detail == {"from": "环秀街道", "to": "环秀街道办事处"}


def test_readers_see_their_subtree_and_the_path_above_but_not_siblings(session: Session, tree: None) -> None:
    actor = reader("370215002")
    visible = [node.code for node in service.list_nodes(session, actor)]
    assert visible == ["370215", "370215002", "370215002009"]
    with pytest.raises(NotFoundError):
        service.get_node(session, actor, "370215001")
    nobody = Actor(user_id=None, username="anon", display_name="访客")
    assert service.list_nodes(session, nobody) == []


def test_readers_cannot_change_the_grid(session: Session, tree: None) -> None:
    actor = reader("370215002")
    with pytest.raises(PermissionDeniedError, match="无权"):
        service.rename_node(session, actor, "370215002", "改名")
    with pytest.raises(PermissionDeniedError):
        service.create_node(
            session, actor, code="370215002010", name="新社区", level=GridLevel.COMMUNITY, parent_code="370215002"
        )


def test_assigning_people_to_grids(session: Session, tree: None, system: Actor) -> None:
    create_user(session, system, username="liufang", display_name="刘芳", roles=[Role.GRID_WORKER], password=None)
    first = service.assign(session, system, "370215002009", "liufang", GridDuty.GRID_WORKER)
    again = service.assign(session, system, "370215002009", "LiuFang", GridDuty.GRID_WORKER)
    assert first.id == again.id  # idempotent
    people = service.assigned_people(session, system, "370215002009")
    assert [(user.username, duty) for user, duty in people] == [("liufang", GridDuty.GRID_WORKER)]
    with pytest.raises(NotFoundError, match="用户"):
        service.assign(session, system, "370215002009", "ghost", GridDuty.GRID_WORKER)
    assert service.unassign(session, system, "370215002009", "liufang") == 1
    assert service.assigned_people(session, system, "370215002009") == []


def test_level_counts_count_nodes_and_drawn_boundaries(session: Session, tree: None, system: Actor) -> None:
    counts = service.level_counts(session, system)
    assert counts[GridLevel.STREET] == (2, 1)
    assert counts[GridLevel.COMMUNITY] == (1, 0)
    assert service.level_counts(session, system, "370215002")[GridLevel.STREET] == (1, 1)


def test_names_are_cleaned_and_bad_names_refused(session: Session, tree: None, system: Actor) -> None:
    node = service.create_node(
        session, system, code="370215002010", name="  新华社区 ", level=GridLevel.COMMUNITY, parent_code="370215002"
    )
    assert node.name == "新华社区"
    with pytest.raises(InvalidInputError, match="不能为空"):
        service.rename_node(session, system, "370215002010", "   ")
    with pytest.raises(InvalidInputError, match="控制字符"):
        service.rename_node(session, system, "370215002010", "新华\x00社区")
