"""JSON API for the public pages: the cases on the public map (no account needed)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import JSONResponse

from civicgrid.cases.public import PublicPoint, public_points, require_public_map
from civicgrid.geo.coords import CRS, convert, parse_crs
from civicgrid.http.bounds import CRS_LENGTH
from civicgrid.http.deps import CurrentActor, ReadSession
from civicgrid.http.routing import session_router

router = session_router(prefix="/api/v1/public", tags=["公开信息"])


@router.get(
    "/cases.geojson",
    summary="公开地图上的案件（不含个人信息）",
    description="未办结和近期办结的案件点位：类别、状态和反映日期，位置取整到约100米；不含标题、描述、编号、地址和任何个人信息，"
    "矛盾纠纷、信访、举报类不公开。公开地图开放时无需登录；可缓存60秒。",
)
def public_cases(
    request: Request,
    session: ReadSession,
    actor: CurrentActor,
    crs: Annotated[str, Query(max_length=CRS_LENGTH, description="坐标系：wgs84、gcj02 或 bd09")] = "wgs84",
) -> JSONResponse:
    """Open and recently closed cases as points: category, state and reported date, the location snapped to
    about 100 m. No title, description, number, address or person; 矛盾纠纷, 信访 and 举报 are left out
    (see ``civicgrid.cases.public.PublicPoint``). Open to visitors while the public map is on."""
    require_public_map(actor, request.app.state.settings)
    body = feature_collection(public_points(session), parse_crs(crs))
    return JSONResponse(body, headers={"Cache-Control": "public, max-age=60"})


def feature_collection(points: list[PublicPoint], crs: CRS) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": [_feature(point, crs) for point in points]}


def _feature(point: PublicPoint, crs: CRS) -> dict[str, Any]:
    lon, lat = convert(point.lon, point.lat, CRS.WGS84, crs) if crs is not CRS.WGS84 else (point.lon, point.lat)
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [round(float(lon), 6), round(float(lat), 6)]},
        "properties": {
            "category": point.category,
            "state": point.state,
            "state_label": point.state_label,
            "reported_on": point.reported_on.isoformat(),
        },
    }
