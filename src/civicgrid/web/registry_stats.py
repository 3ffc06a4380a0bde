"""登记统计: the registry's figures for a grid and its lower grids (``GET /registry/stats?grid=…``), drilled down
by clicking a lower grid, for every role that may read the registry — the numbers a work report quotes."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from civicgrid.http.deps import CSRF_CHECKED, ReadSession, SignedIn
from civicgrid.http.routing import session_router
from civicgrid.registry import stats
from civicgrid.web.render import page

router = session_router(include_in_schema=False, dependencies=CSRF_CHECKED)


@router.get("/registry/stats", response_class=HTMLResponse)
def registry_stats_page(request: Request, session: ReadSession, actor: SignedIn, grid: str = "") -> HTMLResponse:
    code = grid.strip() or None
    view = stats.overview(session, actor, code)
    context = {
        "actor": actor,
        "view": view,
        "columns": stats.COLUMNS,
        "sentence": stats.summary_sentence(view),
        "buildings": stats.building_economy(session, actor, view.grid.code, limit=20),
        "ranking": stats.tax_per_mu(session, actor, view.grid.code, limit=20),
        "parcels": stats.parcels_by_status(session, actor, view.grid.code),
        "at_the_grid": stats.AT_THE_GRID,
    }
    return page(request, "registry_stats/overview.html", context)
