"""JSON API of the case map: the actor's cases as compact GeoJSON points, in the coordinate system of the tiles."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

from civicgrid.cases.models import CaseState
from civicgrid.cases.points import points_collection
from civicgrid.cases.queries import CaseFilter
from civicgrid.geo.coords import parse_crs
from civicgrid.http.deps import CurrentActor, ReadSession
from civicgrid.http.errors import SignInRequiredError
from civicgrid.http.routing import session_router
from civicgrid.org.actor import Actor
from civicgrid.org.roles import Permission

router = session_router(prefix="/api/v1/cases", tags=["cases"])


@router.get("/points", summary="案件点位（GeoJSON，地图用）")
def case_points(
    session: ReadSession,
    actor: CurrentActor,
    state: Annotated[list[CaseState] | None, Query(description="状态，可重复；不给则只含未办结案件")] = None,
    open_only: Annotated[bool, Query(description="未给 state 时只含未办结案件；false 为全部")] = True,
    grid: Annotated[str | None, Query(description="只含此网格之下")] = None,
    category: Annotated[str | None, Query(description="类别代码（含下级）")] = None,
    overdue: bool | None = None,
    due_soon: bool | None = None,
    crs: Annotated[str, Query(description="wgs84 | gcj02 | bd09")] = "wgs84",
) -> dict[str, Any]:
    _require_case_reader(actor)
    target = parse_crs(crs)
    criteria = CaseFilter(
        states=state or (),
        open_only=open_only and not state,
        grid_code=grid,
        category_code=category,
        overdue=overdue,
        due_soon=due_soon,
    )
    return points_collection(session, actor, criteria, target)


def _require_case_reader(actor: Actor) -> None:
    if not actor.is_authenticated:
        raise SignInRequiredError("请先登录后再查看案件地图")
    actor.require(Permission.CASE_READ, "查看案件地图")
