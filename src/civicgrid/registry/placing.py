"""Where a registry record goes on the grid, by the cases' rules: a point or shape inside a grid is placed there;
one outside every grid is kept and flagged (``outside``), looked after in the given grid or the actor's own; a
record without coordinates is kept in the given grid (``manual``) or the actor's (``no_location``). Writing
anywhere needs the actor's grid scope."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.errors import GEOSException
from shapely.geometry import shape as geometry_from_geojson
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from civicgrid.cases.models import Placement
from civicgrid.errors import InvalidInputError, NotFoundError
from civicgrid.geo.coords import CRS, parse_crs, transform_geometry, validate_lonlat
from civicgrid.grid.index import LocatedPoint, grid_index, place_point
from civicgrid.org.actor import Actor

LINES = ("LineString", "MultiLineString")
AREAS = ("Polygon", "MultiPolygon")


@dataclass(frozen=True)
class Where:
    """Where the user says a record is: a point, a GeoJSON geometry (line or area), or only a grid."""

    lon: float | None = None
    lat: float | None = None
    crs: str | None = None  # of the point or the geometry; GCJ-02 when the map gave it
    geometry: Mapping[str, Any] | None = None
    grid_code: str | None = None

    @property
    def has_position(self) -> bool:
        return self.geometry is not None or (self.lon is not None and self.lat is not None)


@dataclass(frozen=True)
class Placed:
    lon: float | None  # WGS-84
    lat: float | None
    geometry: bytes | None  # WKB, WGS-84, lines and areas only
    placement: Placement
    grid_node_id: int | None
    scope_code: str


def place(session: Session, actor: Actor, where: Where, allowed: tuple[str, ...], doing: str) -> Placed:
    """``allowed``: the geometry types this kind may have besides a point."""
    shape = _shape(where, allowed)
    if shape is not None and shape.geom_type != "Point":
        xs, ys = shapely.get_coordinates(shape).T
        validate_lonlat(xs, ys)
        in_wgs84 = transform_geometry(shape, parse_crs(where.crs), CRS.WGS84)
        found = grid_index(session).place_shape_wgs84(in_wgs84)
        return _from_found(session, actor, where, found, shapely.to_wkb(in_wgs84, output_dimension=2), doing)
    if shape is not None:
        found = place_point(session, shape.x, shape.y, parse_crs(where.crs))
        return _from_found(session, actor, where, found, None, doing)
    if where.lon is not None and where.lat is not None:
        found = place_point(session, where.lon, where.lat, parse_crs(where.crs))
        return _from_found(session, actor, where, found, None, doing)
    if where.lon is not None or where.lat is not None:
        raise InvalidInputError("经度和纬度须同时填写", code="incomplete_coordinates")
    placement = Placement.MANUAL if where.grid_code else Placement.NO_LOCATION
    node_id, code = fallback_grid(session, actor, where, doing)
    return Placed(None, None, None, placement, node_id, code)


def _from_found(
    session: Session, actor: Actor, where: Where, found: LocatedPoint, wkb: bytes | None, doing: str
) -> Placed:
    if found.node is not None:
        actor.require_grid(found.node.code, doing, name=found.node.name)
        return Placed(found.lon, found.lat, wkb, Placement.LOCATED, found.node.id, found.node.code)
    node_id, code = fallback_grid(session, actor, where, doing)
    return Placed(found.lon, found.lat, wkb, Placement.OUTSIDE, node_id, code)


def fallback_grid(session: Session, actor: Actor, where: Where, doing: str) -> tuple[int, str]:
    """The grid that looks after a record without a place on the map: the one named, else the actor's own."""
    code = where.grid_code or home_grid(actor)
    index = grid_index(session)
    node_id = index.ids_by_code.get(code)
    actor.require_grid(code, doing, name=index.refs[node_id].name if node_id is not None else None)
    if node_id is None:
        raise NotFoundError(f"找不到网格“{code}”", code="grid_not_found")
    return node_id, code


def home_grid(actor: Actor) -> str:
    roots = [code for code in actor.grid_codes if code]
    if len(roots) != 1:
        raise InvalidInputError("请选择登记的网格", code="grid_required")
    return roots[0]


def _shape(where: Where, allowed: tuple[str, ...]) -> BaseGeometry | None:
    if where.geometry is None:
        return None
    try:
        shape = geometry_from_geojson(where.geometry)
    except (GEOSException, KeyError, TypeError, ValueError, AttributeError) as error:
        raise InvalidInputError("范围不是有效的几何图形：类型或坐标不符合 GeoJSON 规范", code="bad_geometry") from error
    if shape.is_empty:
        raise InvalidInputError("范围为空", code="bad_geometry")
    if shape.geom_type != "Point" and shape.geom_type not in allowed:
        wanted = "线" if allowed == LINES else "面" if allowed == AREAS else "点"
        raise InvalidInputError(f"范围应为{wanted}，收到的是 {shape.geom_type}", code="wrong_geometry_type")
    if shape.geom_type in AREAS and not shape.is_valid:
        reason = shapely.is_valid_reason(shape)
        raise InvalidInputError(f"范围的多边形无效（{reason}），请检查边界是否自相交", code="invalid_geometry")
    return shape
