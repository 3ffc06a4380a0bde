"""Pages that are not a domain's own: the grid map, the API explorer, the health check."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from civicgrid.cases.points import map_viewer
from civicgrid.grid import service
from civicgrid.grid.codes import GridLevel
from civicgrid.http.deps import CurrentActor, ReadSession
from civicgrid.http.routing import session_router
from civicgrid.org.roles import Permission
from civicgrid.web.app_context import DEADLINE_CHOICES, STATE_CHOICES, CaseMapFilters, map_config, shows_cases
from civicgrid.web.render import page

router = session_router(include_in_schema=False)


@router.get("/map", response_class=HTMLResponse)
def grid_map(
    request: Request,
    session: ReadSession,
    actor: CurrentActor,
    state: str | None = None,
    deadline: str | None = None,
) -> HTMLResponse:
    """The grid by level for everyone allowed to see it; with the actor's cases on it for those who may read them."""
    settings = request.app.state.settings
    counts = service.level_counts(session, map_viewer(session, actor, public_grid_map=settings.public_grid_map))
    levels = [(level, counts[level]) for level in GridLevel if level in counts]
    cases = shows_cases(actor)
    context = {
        "levels": levels,
        "map_config": map_config(settings, levels, cases=cases),
        "may_import_grid": actor.has(Permission.GRID_MANAGE),
        "show_cases": cases,
        "filters": CaseMapFilters.parse(state, deadline),
        "state_choices": STATE_CHOICES,
        "deadline_choices": DEADLINE_CHOICES,
    }
    return page(request, "map.html", context)


@router.get("/api/docs", response_class=HTMLResponse)
def api_docs(request: Request) -> HTMLResponse:
    """The OpenAPI explorer, from vendored swagger-ui (works offline, no inline script)."""
    return page(request, "api_docs.html")


@router.get("/healthz")
def health(session: ReadSession) -> dict[str, str | int]:
    return {"status": "ok", "grid_revision": service.grid_revision(session)}
