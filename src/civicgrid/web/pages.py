"""Server-rendered pages (Jinja2). For now: the landing page with the grid map."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from civicgrid.api.deps import CurrentActor, ReadSession
from civicgrid.grid import service
from civicgrid.grid.codes import GridLevel
from civicgrid.web.app_context import map_config

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def index(request: Request, session: ReadSession, actor: CurrentActor) -> HTMLResponse:
    counts = service.level_counts(session, actor)
    levels = [(level, counts[level]) for level in GridLevel if level in counts]
    return TEMPLATES.TemplateResponse(
        request,
        "index.html",
        {"levels": levels, "map_config": map_config(request.app.state.settings, levels), "actor": actor},
    )


@router.get("/api/docs", response_class=HTMLResponse)
def api_docs(request: Request) -> HTMLResponse:
    """The OpenAPI explorer, from vendored swagger-ui (works offline, no inline script)."""
    return TEMPLATES.TemplateResponse(request, "api_docs.html", {})


@router.get("/healthz")
def health(session: ReadSession) -> dict[str, str | int]:
    return {"status": "ok", "grid_revision": service.grid_revision(session)}
