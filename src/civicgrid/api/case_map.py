"""JSON API of the case map: the actor's cases as compact GeoJSON points, in the coordinate system of the tiles."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

from civicgrid.cases.models import CaseState
from civicgrid.cases.points import points_collection
from civicgrid.cases.queries import CaseFilter
from civicgrid.geo.coords import parse_crs
from civicgrid.http.bounds import CODE_LENGTH, CRS_LENGTH, GridFilter
from civicgrid.http.deps import CurrentActor, ReadSession
from civicgrid.http.errors import SignInRequiredError
from civicgrid.http.routing import session_router
from civicgrid.org.actor import Actor
from civicgrid.org.roles import Permission

router = session_router(prefix="/api/v1/cases", tags=["案件"])


@router.get("/points", summary="案件点位（GeoJSON，地图用）")
def case_points(
    session: ReadSession,
    actor: CurrentActor,
    state: Annotated[
        list[CaseState] | None, Query(max_length=len(CaseState), description="状态，可重复；不给则只含未办结案件")
    ] = None,
    open_only: Annotated[bool, Query(description="未给 state 时只含未办结案件；false 为全部")] = True,
    grid: GridFilter = None,
    category: Annotated[str | None, Query(max_length=CODE_LENGTH, description="类别代码（含下级）")] = None,
    overdue: Annotated[bool | None, Query(description="只看超期（true）或未超期（false）")] = None,
    due_soon: Annotated[bool | None, Query(description="只看临期（true）或未临期（false）")] = None,
    crs: Annotated[str, Query(max_length=CRS_LENGTH, description="坐标系：wgs84、gcj02 或 bd09")] = "wgs84",
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
