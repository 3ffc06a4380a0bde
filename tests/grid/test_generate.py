"""Generating unit grids for a street with a boundary but no unit-grid data (seed 004: 218 unit grids)."""

from __future__ import annotations

import pytest
import shapely
from shapely.geometry import box
from sqlalchemy.orm import Session

from civicgrid.errors import ConflictError, InvalidInputError, PermissionDeniedError
from civicgrid.geo.metric import area_m2
from civicgrid.grid import service
from civicgrid.grid.check import check_grid
from civicgrid.grid.codes import GridLevel
from civicgrid.grid.generate import generate_units
from civicgrid.grid.models import GridDuty
from civicgrid.importing import ImportReport
from civicgrid.org.actor import Actor
from civicgrid.org.roles import Permission, Role
from civicgrid.org.service import create_user

CHAOHAI = "370215002"


def test_a_real_street_divides_into_218_numbered_cells_that_tile_it(
    session: Session, system: Actor, jimo_with_boundaries: ImportReport
) -> None:
    service.create_node(
        session,
        system,
        code="370215002900",
        name="潮海网格片区",
        level=GridLevel.COMMUNITY,
        parent_code=CHAOHAI,
        geometry=service.node_geometry(service.get_node(session, system, CHAOHAI)),
    )
    units = generate_units(session, system, "370215002900", 218)
    assert len(units) == 218
    assert [u.code for u in units[:2]] == ["370215002900001", "370215002900002"]
    assert units[-1].code == "370215002900218"
    assert units[0].name == "潮海网格片区第001网格"
    assert {u.level for u in units} == {"unit"}
    assert {u.depth for u in units} == {5}
    parent = service.node_geometry(service.get_node(session, system, "370215002900"))
    assert parent is not None
    cells = [service.node_geometry(u) for u in units]
    union = shapely.union_all(cells)
    assert area_m2(shapely.symmetric_difference(union, parent)) < 1e-4 * area_m2(parent)
    expected = area_m2(parent) / 218
    assert all(abs((u.area_m2 or 0) - expected) / expected < 0.03 for u in units)
    report = check_grid(session, system, "370215002900", tolerance_m=1.0)
    assert report.problems == []


def test_generation_refuses_what_would_lose_data(session: Session, system: Actor) -> None:
    service.create_node(session, system, code="370215", name="即墨区", level=GridLevel.DISTRICT)
    service.create_node(
        session, system, code="370215002", name="潮海街道", level=GridLevel.STREET, parent_code="370215"
    )
    with pytest.raises(InvalidInputError, match="还没有边界"):
        generate_units(session, system, CHAOHAI, 10)
    service.set_geometry(session, system, service.get_node(session, system, CHAOHAI), box(120.4, 36.3, 120.5, 36.4))
    for template in ("{street}-{n}", "{number:>9999999999}", "{parent.__class__}", "{parent}网格", "{number!r}"):
        with pytest.raises(InvalidInputError, match="名称模板"):
            generate_units(session, system, CHAOHAI, 10, name_template=template)
    with pytest.raises(InvalidInputError, match="最多999"):
        generate_units(session, system, CHAOHAI, 1000)
    generate_units(session, system, CHAOHAI, 10)
    with pytest.raises(ConflictError, match="已有10个下级"):
        generate_units(session, system, CHAOHAI, 12)
    replaced = generate_units(session, system, CHAOHAI, 12, replace=True)
    assert len(replaced) == 12
    create_user(session, system, username="liufang", display_name="刘芳", roles=[Role.GRID_WORKER], password=None)
    service.assign(session, system, replaced[0].code, "liufang", GridDuty.GRID_WORKER)
    with pytest.raises(ConflictError, match="人员分配1项"):
        generate_units(session, system, CHAOHAI, 8, replace=True)
    assert len(service.list_nodes(session, system, root_code=CHAOHAI, levels=[GridLevel.UNIT])) == 12
    reader = Actor(
        user_id=3, username="r", display_name="读者", grid_codes=("",), permissions=frozenset({Permission.GRID_READ})
    )
    with pytest.raises(PermissionDeniedError):
        generate_units(session, reader, CHAOHAI, 4, replace=True)


def test_generated_cells_are_numbered_north_to_south(session: Session, system: Actor) -> None:
    service.create_node(
        session,
        system,
        code="370215",
        name="即墨区",
        level=GridLevel.DISTRICT,
        geometry=box(120.40, 36.30, 120.41, 36.34),
    )
    service.create_node(
        session,
        system,
        code="370215002",
        name="潮海街道",
        level=GridLevel.STREET,
        parent_code="370215",
        geometry=box(120.40, 36.30, 120.41, 36.34),
    )
    units = generate_units(session, system, CHAOHAI, 4)
    norths = [u.max_lat for u in units]
    assert norths == sorted(norths, reverse=True)
