"""Export the grid as GeoJSON (WGS-84 by default, GCJ-02/BD-09 for Chinese web maps)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import shapely
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased, undefer

from civicgrid.geo.coords import CRS, transform_geometry
from civicgrid.geo.geojson import feature, feature_collection
from civicgrid.grid.auth import readable
from civicgrid.grid.codes import GridLevel
from civicgrid.grid.models import GridAssignment, GridNode
from civicgrid.grid.service import get_node
from civicgrid.org.actor import Actor


def export_geojson(
    session: Session,
    actor: Actor,
    *,
    root_code: str | None = None,
    levels: Sequence[GridLevel] | None = None,
    crs: CRS = CRS.WGS84,
    include_without_geometry: bool = False,
    simplify_m: float = 0.0,
) -> dict[str, Any]:
    """A FeatureCollection of the nodes in the actor's view. ``simplify_m`` (metres) lightens maps for display."""
    parent = aliased(GridNode)
    workers = (
        select(GridAssignment.grid_node_id, func.count().label("people"))
        .group_by(GridAssignment.grid_node_id)
        .subquery()
    )
    stmt = (
        readable(select(GridNode, parent.code, workers.c.people), actor)
        .outerjoin(parent, parent.id == GridNode.parent_id)
        .outerjoin(workers, workers.c.grid_node_id == GridNode.id)
        .options(undefer(GridNode.geometry))
        .order_by(GridNode.code)
    )
    if root_code is not None:
        stmt = stmt.where(GridNode.code.startswith(get_node(session, actor, root_code).code))
    if levels:
        stmt = stmt.where(GridNode.level.in_([level.value for level in levels]))
    if not include_without_geometry:
        stmt = stmt.where(GridNode.geometry.is_not(None))
    features = []
    for node, parent_code, people in session.execute(stmt):
        geometry = shapely.from_wkb(node.geometry) if node.geometry is not None else None
        if geometry is not None and simplify_m > 0:
            # ~111 km per degree: close enough for a display tolerance
            geometry = shapely.simplify(geometry, simplify_m / 111_000, preserve_topology=True)
        if geometry is not None and crs is not CRS.WGS84:
            geometry = transform_geometry(geometry, CRS.WGS84, crs)
        features.append(feature(geometry, _properties(node, parent_code, people or 0)))
    collection = feature_collection(features)
    if crs is CRS.WGS84:
        return collection
    collection["civicgrid:crs"] = crs.value  # so no one mistakes shifted coordinates for WGS-84
    return collection


def _properties(node: GridNode, parent_code: str | None, people: int) -> dict[str, Any]:
    level = GridLevel(node.level)
    return {
        "code": node.code,
        "nbs_code": node.nbs_code,
        "name": node.name,
        "level": level.value,
        "level_label": level.label,
        "parent_code": parent_code,
        "depth": node.depth,
        "district_code": node.district_code,
        "area_m2": round(node.area_m2, 1) if node.area_m2 is not None else None,
        "people": people,
    }
