"""JSON API of the grid: the map layers, node details, and locating a point."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from pydantic import BaseModel

from civicgrid.cases.points import map_viewer
from civicgrid.geo.coords import parse_crs, wgs84_to_gcj02
from civicgrid.grid import service
from civicgrid.grid.codes import GridLevel, parse_level
from civicgrid.grid.export import export_geojson
from civicgrid.grid.index import LocatedPoint, locate, node_path
from civicgrid.grid.service import NodeRef
from civicgrid.http.bounds import CODE_LENGTH, CRS_LENGTH
from civicgrid.http.deps import CurrentActor, ReadSession, settings_of
from civicgrid.http.routing import session_router
from civicgrid.org.actor import Actor
from civicgrid.settings import Settings

router = session_router(prefix="/api/v1/grid", tags=["网格"])


class NodeOut(BaseModel):
    code: str
    name: str
    level: GridLevel
    level_label: str

    @classmethod
    def of(cls, ref: NodeRef) -> NodeOut:
        return cls(code=ref.code, name=ref.name, level=ref.level, level_label=ref.level.label)


class LocationOut(BaseModel):
    inside: bool
    lon_wgs84: float
    lat_wgs84: float
    lon_gcj02: float  # the same point for a map drawn on GCJ-02 tiles (高德, 腾讯)
    lat_gcj02: float
    node: NodeOut | None
    path: list[NodeOut]
    on_boundary: bool
    nearest: NodeOut | None
    distance_m: float | None

    @classmethod
    def of(cls, found: LocatedPoint) -> LocationOut:
        lon_gcj02, lat_gcj02 = wgs84_to_gcj02(found.lon, found.lat)
        return cls(
            inside=found.inside,
            lon_wgs84=found.lon,
            lat_wgs84=found.lat,
            lon_gcj02=round(float(lon_gcj02), 7),
            lat_gcj02=round(float(lat_gcj02), 7),
            node=NodeOut.of(found.node) if found.node else None,
            path=[NodeOut.of(ref) for ref in found.path],
            on_boundary=found.on_boundary,
            nearest=NodeOut.of(found.nearest) if found.nearest else None,
            distance_m=round(found.distance_m, 1) if found.distance_m is not None else None,
        )


class LevelCount(BaseModel):
    level: GridLevel
    level_label: str
    nodes: int
    with_boundary: int


class NodeDetail(NodeOut):
    nbs_code: str | None
    path: list[NodeOut]
    area_m2: float | None
    children: int
    bbox: tuple[float, float, float, float] | None


def grid_viewer(request: Request, actor: CurrentActor, settings: Annotated[Settings, Depends(settings_of)]) -> Actor:
    """Who reads the grid (``cases.points.map_viewer``): the actor, a department's staff over the streets of its
    cases, a signed-in resident as a visitor while the map is public. Only the grid's endpoints. Looked up in a
    short session of its own, like the actor (``http.deps``)."""
    if actor.grid_codes:
        return actor
    with request.app.state.read_sessions() as session:
        return map_viewer(session, actor, public_grid_map=settings.public_grid_map)


GridViewer = Annotated[Actor, Depends(grid_viewer)]


@router.get("/geojson", summary="网格边界（GeoJSON）")
def grid_geojson(
    session: ReadSession,
    actor: GridViewer,
    level: Annotated[list[str] | None, Query(max_length=10, description="层级，可重复")] = None,
    root: Annotated[str | None, Query(max_length=CODE_LENGTH, description="只返回此网格之下")] = None,
    crs: Annotated[str, Query(max_length=CRS_LENGTH, description="坐标系：wgs84、gcj02 或 bd09")] = "wgs84",
) -> dict[str, Any]:
    levels = [parse_level(value) for value in level] if level else None
    return export_geojson(session, actor, root_code=root, levels=levels, crs=parse_crs(crs))


@router.get("/levels", summary="各层级网格数量")
def level_counts(session: ReadSession, actor: GridViewer) -> list[LevelCount]:
    counts = service.level_counts(session, actor)
    return [
        LevelCount(level=level, level_label=level.label, nodes=counts[level][0], with_boundary=counts[level][1])
        for level in GridLevel
        if level in counts
    ]


@router.get("/locate", summary="坐标定位到网格")
def locate_point(
    session: ReadSession,
    actor: GridViewer,
    lon: Annotated[float, Query(description="经度")],
    lat: Annotated[float, Query(description="纬度")],
    crs: Annotated[str, Query(max_length=CRS_LENGTH, description="坐标系：wgs84、gcj02 或 bd09（必填）")],
) -> LocationOut:
    return LocationOut.of(locate(session, actor, lon, lat, parse_crs(crs)))


@router.get("/nodes/{code}", summary="网格详情")
def node_detail(
    session: ReadSession,
    actor: GridViewer,
    code: Annotated[str, Path(max_length=CODE_LENGTH, description="网格代码")],
) -> NodeDetail:
    node = service.get_node(session, actor, code)
    ref = NodeRef.of(node)
    corners = (node.min_lon, node.min_lat, node.max_lon, node.max_lat)
    bbox = None if None in corners else tuple(float(value or 0) for value in corners)
    return NodeDetail(
        **NodeOut.of(ref).model_dump(),
        nbs_code=node.nbs_code,
        path=[NodeOut.of(item) for item in node_path(session, node.code)],
        area_m2=node.area_m2,
        children=len(node.children),
        bbox=bbox,
    )
