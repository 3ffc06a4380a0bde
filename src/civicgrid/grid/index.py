"""The in-memory grid index: every node with its ancestors, and the locator over the polygons.

Built once from the database and cached per database until the grid revision token changes (every grid change
renews it), so locating a point costs no query beyond reading that token.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid.errors import NotFoundError
from civicgrid.geo.coords import CRS, to_wgs84, validate_lonlat
from civicgrid.geo.locator import BatchLocation, GridPolygon, Locator
from civicgrid.grid.codes import GridLevel
from civicgrid.grid.models import GridNode
from civicgrid.grid.service import NodeRef, grid_revision
from civicgrid.org.actor import Actor
from civicgrid.org.roles import Permission


@dataclass(frozen=True)
class LocatedPoint:
    """Where a point falls. ``node`` None means outside every grid: keep the record and flag it."""

    lon: float  # WGS-84
    lat: float
    node: NodeRef | None
    path: tuple[NodeRef, ...]  # root → node (inclusive); empty when outside
    on_boundary: bool
    nearest: NodeRef | None
    distance_m: float | None

    @property
    def inside(self) -> bool:
        return self.node is not None

    def at_level(self, level: GridLevel) -> NodeRef | None:
        return next((ref for ref in self.path if ref.level is level), None)


class GridIndex:
    def __init__(self, revision: int, nodes: Sequence[tuple[int, str, str, str, int | None]], locator: Locator) -> None:
        self.revision = revision
        self.refs = {node_id: NodeRef(node_id, code, name, GridLevel(level)) for node_id, code, name, level, _ in nodes}
        self.parents = {node_id: parent_id for node_id, _, _, _, parent_id in nodes}
        self.ids_by_code = {code: node_id for node_id, code, _, _, _ in nodes}
        self.locator = locator

    @cached_property
    def children(self) -> dict[int, list[int]]:
        """Each node's children (ids, in code order); computed once per index (a new index per grid revision)."""
        found: dict[int, list[int]] = {}
        for node_id, parent_id in self.parents.items():
            if parent_id is not None:
                found.setdefault(parent_id, []).append(node_id)
        for ids in found.values():
            ids.sort(key=lambda node_id: self.refs[node_id].code)
        return found

    def first_branching(self, code: str) -> str:
        """``code``, or its first descendant with more than one child (or none) down a chain of only children."""
        node_id = self.ids_by_code[code]
        while len(self.children.get(node_id, [])) == 1:
            node_id = self.children[node_id][0]
        return self.refs[node_id].code

    def name_of(self, code: str) -> str:
        """A grid's name for people to read; its code for a grid no longer in the tree."""
        node_id = self.ids_by_code.get(code)
        return self.refs[node_id].name if node_id is not None else code

    def path(self, node_id: int) -> tuple[NodeRef, ...]:
        chain: list[NodeRef] = []
        current: int | None = node_id
        while current is not None:
            chain.append(self.refs[current])
            current = self.parents[current]
        return tuple(reversed(chain))

    def locate_wgs84(self, lon: float, lat: float) -> LocatedPoint:
        found = self.locator.locate(lon, lat)
        node = self.refs[found.node_id] if found.node_id is not None else None
        return LocatedPoint(
            lon=lon,
            lat=lat,
            node=node,
            path=self.path(node.id) if node else (),
            on_boundary=found.on_boundary,
            nearest=self.refs[found.nearest_node_id] if found.nearest_node_id is not None else None,
            distance_m=found.distance_m,
        )

    def place_shape_wgs84(self, geometry: BaseGeometry) -> LocatedPoint:
        """Where a line or an area belongs: the deepest grid holding every grid it crosses (a river through two
        streets belongs to their district). ``lon``/``lat`` is a point on the shape; outside every grid → no node."""
        anchor = anchor_point(geometry)
        crossed = set(self.locator.crossed_node_ids(geometry))
        ancestors = {ref.id for node_id in crossed for ref in self.path(node_id)[:-1]}
        common = _common_prefix([self.path(node_id) for node_id in crossed - ancestors])
        return LocatedPoint(
            lon=anchor[0],
            lat=anchor[1],
            node=common[-1] if common else None,
            path=common,
            on_boundary=False,
            nearest=None,
            distance_m=None,
        )

    def locate_many_wgs84(
        self, lons: npt.ArrayLike, lats: npt.ArrayLike, *, with_nearest: bool = True
    ) -> BatchLocation:
        return self.locator.locate_many(lons, lats, with_nearest=with_nearest)


_cache: dict[str, GridIndex] = {}
_cache_lock = threading.Lock()


def grid_index(session: Session) -> GridIndex:
    """The index for the session's database, rebuilt only when the grid changed."""
    revision = grid_revision(session)
    key = str(session.get_bind().engine.url)
    cached = _cache.get(key)
    if cached is not None and cached.revision == revision:
        return cached
    with _cache_lock:
        cached = _cache.get(key)
        if cached is None or cached.revision != revision:
            cached = _build(session, revision)
            _cache[key] = cached
    return cached


def _build(session: Session, revision: int) -> GridIndex:
    columns = select(GridNode.id, GridNode.code, GridNode.name, GridNode.level, GridNode.parent_id)
    nodes = [(row.id, row.code, row.name, row.level, row.parent_id) for row in session.execute(columns)]
    rows = session.execute(
        select(GridNode.id, GridNode.code, GridNode.depth, GridNode.geometry).where(GridNode.geometry.is_not(None))
    ).all()
    geometries = shapely.from_wkb(np.array([row.geometry for row in rows], dtype=object)) if rows else []
    polygons = [
        GridPolygon(node_id=row.id, code=row.code, depth=row.depth, geometry=geometry)
        for row, geometry in zip(rows, geometries, strict=True)
    ]
    return GridIndex(revision, nodes, Locator(polygons))


def locate(session: Session, actor: Actor, lon: float, lat: float, crs: CRS) -> LocatedPoint:
    """Locate one point given in any supported coordinate system."""
    actor.require(Permission.GRID_READ, "定位网格")
    return visible_to(actor, place_point(session, lon, lat, crs))


def place_point(session: Session, lon: float, lat: float, crs: CRS) -> LocatedPoint:
    """Where a point falls on the whole grid, for placing records (cases, registry objects) — not for showing to
    a person, which goes through ``locate`` and the actor's view."""
    validate_lonlat(np.array([lon], dtype=float), np.array([lat], dtype=float))
    wgs_lon, wgs_lat = to_wgs84(lon, lat, crs)
    return grid_index(session).locate_wgs84(float(wgs_lon), float(wgs_lat))


def anchor_point(geometry: BaseGeometry) -> tuple[float, float]:
    """A point that lies on the shape: the middle of a line, a point inside an area."""
    if geometry.geom_type in ("LineString", "MultiLineString"):
        point = shapely.line_interpolate_point(shapely.line_merge(geometry), 0.5, normalized=True)
    else:
        point = geometry.representative_point()
    return float(point.x), float(point.y)


def _common_prefix(paths: list[tuple[NodeRef, ...]]) -> tuple[NodeRef, ...]:
    prefix = paths[0] if paths else ()
    for path in paths[1:]:
        shared = 0
        while shared < min(len(prefix), len(path)) and prefix[shared] == path[shared]:
            shared += 1
        prefix = prefix[:shared]
    return prefix


def visible_to(actor: Actor, found: LocatedPoint) -> LocatedPoint:
    """Cut a location down to what the actor may see of the grid: the deepest visible node on the path.

    A grid worker who taps a point in a neighbouring street learns the district it lies in, not the street's grids.
    """
    path = tuple(ref for ref in found.path if actor.sees_grid(ref.code))
    truncated = len(path) < len(found.path)
    nearest = found.nearest if found.nearest is not None and actor.sees_grid(found.nearest.code) else None
    return replace(
        found,
        node=path[-1] if path else None,
        path=path,
        on_boundary=found.on_boundary and not truncated,
        nearest=nearest,
        distance_m=found.distance_m if nearest is not None else None,
    )


def node_path(session: Session, code: str) -> tuple[NodeRef, ...]:
    index = grid_index(session)
    node_id = index.ids_by_code.get(code)
    if node_id is None:
        raise NotFoundError(f"找不到网格“{code}”", detail={"code": code})
    return index.path(node_id)
