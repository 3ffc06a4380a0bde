"""Rendering pages: one Jinja2 environment with Chinese formats, the actor's navigation and the CSRF token."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from civicgrid.http import csrf
from civicgrid.org.actor import Actor, name_in
from civicgrid.org.roles import Permission, Role

BEIJING = ZoneInfo("Asia/Shanghai")
TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")


def beijing(value: dt.datetime | None, style: str = "minute") -> str:
    """2025年10月9日 10:05 in Beijing time ("date" drops the clock, "short" drops the year)."""
    if value is None:
        return ""
    local = value.astimezone(BEIJING)
    if style == "date":
        return f"{local.year}年{local.month}月{local.day}日"
    if style == "short":
        return f"{local.month}月{local.day}日 {local:%H:%M}"
    if style == "input":
        return f"{local:%Y-%m-%dT%H:%M}"
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def number(value: int | float | None, digits: int = 0) -> str:
    """38,606 / 99.6 — digit grouping as Chinese reports print it."""
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def duration_minutes(value: int | None) -> str:
    """Working minutes as 2天3小时 style (8-hour days are not assumed: shown in hours and minutes)."""
    if value is None:
        return ""
    hours, minutes = divmod(int(value), 60)
    if hours and minutes:
        return f"{hours}小时{minutes}分钟"
    return f"{hours}小时" if hours else f"{minutes}分钟"


TEMPLATES.env.filters["bj"] = beijing
TEMPLATES.env.filters["num"] = number
TEMPLATES.env.filters["workmins"] = duration_minutes
TEMPLATES.env.filters["person"] = name_in  # a recorded actor label without its user name


@dataclass(frozen=True)
class NavItem:
    href: str
    label: str
    key: str


def navigation(actor: Actor) -> list[NavItem]:
    """What the top bar offers this actor: each entry only for the roles that use it."""
    if not actor.is_authenticated:
        return [
            NavItem("/public/report", "我要反映", "public_report"),
            NavItem("/public/track", "进度查询", "public_track"),
            NavItem("/public/map", "公开地图", "public_map"),
        ]
    items = [NavItem("/", "工作台", "home")]
    staff = actor.has(Permission.CASE_READ) and Role.RESIDENT not in actor.roles
    if actor.has(Permission.CASE_INTAKE) and staff and Role.GRID_WORKER not in actor.roles:
        items.append(NavItem("/cases/new", "受理登记", "intake"))
    if Role.GRID_WORKER in actor.roles:
        items.append(NavItem("/m", "我的任务", "mobile"))
        items.append(NavItem("/m/report", "上报问题", "mobile_report"))
    if Role.DEPT_STAFF in actor.roles:
        items.append(NavItem("/inbox", "部门待办", "inbox"))
    if staff:
        items.append(NavItem("/cases", "案件", "cases"))
        items.append(NavItem("/map", "地图", "map"))
    if Role.RESIDENT in actor.roles:
        items.append(NavItem("/public/report", "我要反映", "public_report"))
        items.append(NavItem("/public/track", "进度查询", "public_track"))
        items.append(NavItem("/public/map", "公开地图", "public_map"))
    if actor.has(Permission.REGISTRY_READ):
        items += [NavItem("/registry", "登记信息", "registry"), NavItem("/campaigns", "摸排走访", "campaigns")]
    items += [NavItem("/dashboard", "数据看板", "dashboard")] if actor.has(Permission.KPI_READ) else []
    if actor.has(Permission.USER_MANAGE) or actor.has(Permission.CASE_CONFIGURE) or actor.has(Permission.GRID_MANAGE):
        items.append(NavItem("/admin", "系统管理", "admin"))
    return items


def page(
    request: Request, template: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    given = (context or {}).get("actor")
    actor = given if isinstance(given, Actor) else _actor_of(request)
    active = getattr(request.state, "web_session", None)
    token = active.csrf_token if active is not None else csrf.anonymous_token(request)
    full = {
        "actor": actor,
        "nav": navigation(actor),
        "csrf_token": token,
        "current_path": request.url.path,
        "map_tiles": _map_tiles(request.app.state.settings),
        **(context or {}),
    }
    response = TEMPLATES.TemplateResponse(request, template, full, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    csrf.set_anonymous_cookie(request, response)
    return response


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    """The Chinese error page of every page route (``civicgrid.http.errors`` calls it)."""
    return page(request, "error.html", {"status": status, "message": message}, status_code=status)


def _map_tiles(settings: Any) -> dict[str, str] | None:
    """The base tiles every small map draws on (location pickers, a case's map), with their coordinate system;
    None: the grid itself is the base map."""
    if not settings.map_tile_url:
        return None
    return {"url": settings.map_tile_url, "attribution": settings.map_tile_attribution, "crs": settings.map_tile_crs}


def _actor_of(request: Request) -> Actor:
    active = getattr(request.state, "web_session", None)
    if active is not None:
        actor: Actor = active.actor
        return actor
    return Actor.anonymous(public_grid_map=request.app.state.settings.public_grid_map)
