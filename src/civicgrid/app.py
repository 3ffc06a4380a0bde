"""The web application, where the adapters meet: JSON API under /api, pages at /, assets under /static.

The one module that imports both ``api`` and ``web``; neither imports the other (what both need lives in
``civicgrid.http``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine

from civicgrid import migrate
from civicgrid.api import campaigns as campaigns_api
from civicgrid.api import case_map, cases, grid, kpi
from civicgrid.api import public as public_api
from civicgrid.api import registry as registry_api
from civicgrid.api import registry_stats as registry_stats_api
from civicgrid.db import make_session_factory, server_engine
from civicgrid.http import errors, openapi
from civicgrid.http.security import SecurityHeaders, tile_origin
from civicgrid.scheduler import Scheduler
from civicgrid.settings import Settings, get_settings
from civicgrid.web import (
    admin,
    auth_pages,
    campaign_pages,
    case_detail,
    case_list,
    dashboard,
    held_photos,
    intake_pages,
    pages,
    public,
    registry_files,
    registry_pages,
    registry_stats,
    render,
    reports,
    workbench,
)

STATIC_DIR = Path(__file__).parent / "web" / "static"


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = engine or server_engine(settings)
    migrate.ensure_current(engine)
    scheduler = Scheduler(engine, settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        scheduler.start()
        try:
            yield
        finally:
            scheduler.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="civicgrid 网格化基层治理平台",
        description="网格化基层治理平台的数据接口：以令牌（Authorization: Bearer …）或登录后的会话调用。"
        '出错时统一返回 {"error": {"code", "message", "detail"}}，message 为中文说明。',
        version="0.1.0",
        openapi_tags=openapi.TAGS,
        docs_url=None,  # served by pages.api_docs from vendored files: FastAPI's page needs a CDN and inline script
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.read_sessions = make_session_factory(engine)
    app.state.write_sessions = make_session_factory(engine, write=True)
    errors.install(app, render.error_page)
    app.add_middleware(SecurityHeaders, tile_origin=tile_origin(settings.map_tile_url))
    app.include_router(grid.router)
    app.include_router(registry_stats_api.router)  # before the registry API: /registry/stats is not a kind
    app.include_router(registry_api.router)
    app.include_router(campaigns_api.router)
    app.include_router(case_map.router)  # before cases: /cases/points is not a case number
    app.include_router(cases.router)
    app.include_router(kpi.router)
    app.include_router(public_api.router)
    app.include_router(auth_pages.router)
    app.include_router(workbench.router)
    app.include_router(intake_pages.router)  # /cases/new and /cases/hints before /cases/{number}
    app.include_router(held_photos.router)
    app.include_router(case_list.router)
    app.include_router(case_detail.router)
    app.include_router(dashboard.router)
    app.include_router(public.router)
    app.include_router(admin.router)
    app.include_router(reports.router)
    app.include_router(registry_stats.router)  # before the registry pages: /registry/stats is not a kind
    app.include_router(registry_files.router)  # nor /registry/import, nor …/export.xlsx
    app.include_router(registry_pages.router)
    app.include_router(campaign_pages.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
