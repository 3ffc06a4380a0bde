"""Taking in a problem: the hotline operator's fast form, the grid worker's phone pages, and duplicate hints."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from civicgrid.cases import queries
from civicgrid.cases.held_uploads import HeldUpload
from civicgrid.cases.intake import ROLE_CHANNELS, IntakeRequest, intake
from civicgrid.cases.models import Channel
from civicgrid.cases.queues import QUEUES, own_reports, queue_filter, queues_for
from civicgrid.cases.taxonomy import leaf_category
from civicgrid.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from civicgrid.http.deps import CSRF_CHECKED, ReadSession, SignedIn, WriteSession
from civicgrid.http.routing import session_router
from civicgrid.org.actor import Actor
from civicgrid.org.roles import Permission, Role
from civicgrid.web.forms import (
    SubmittedForm,
    category_named,
    category_options,
    error_map,
    number,
    optional,
    shown_category,
    text,
)
from civicgrid.web.held_photos import Photos, photos_of
from civicgrid.web.render import page

router = session_router(include_in_schema=False, dependencies=CSRF_CHECKED)
FIELDS = ("channel", "title", "description", "category", "category_code", "address", "reporter_name",
          "reporter_phone", "lon", "lat", "crs", "source_id", "idempotency_key")  # fmt: skip


def channels_for(actor: Actor) -> list[Channel]:
    allowed = {c for role in actor.roles for c in ROLE_CHANNELS.get(role, frozenset())}
    return [channel for channel in Channel if channel in allowed]


def _form_page(
    request: Request,
    session: Session,
    actor: Actor,
    template: str,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    kept: list[HeldUpload] | None = None,
) -> Response:
    actor.require(Permission.CASE_INTAKE, "受理案件")
    values = values or {}
    values.setdefault("idempotency_key", secrets.token_urlsafe(16))
    categories = [option for option in category_options(session) if option.leaf]
    context = {
        "values": values | shown_category(categories, values.get("category", "")),
        "errors": errors or {},
        "channels": channels_for(actor),
        "categories": categories,
        "geolocate": template.startswith("mobile/"),
        "kept": kept or [],
    }
    return page(request, template, context, status_code=status_code)


def _intake_request(form: FormData, channel: Channel, photos: Photos) -> IntakeRequest:
    lon, lat = number(form, "lon", "经度"), number(form, "lat", "纬度")
    return IntakeRequest(
        channel=channel,
        title=text(form, "title"),
        description=text(form, "description"),
        category_code=category_named(form),
        lon=lon,
        lat=lat,
        crs=(optional(form, "crs") or "wgs84") if lon is not None else None,
        address=optional(form, "address"),
        reporter_name=optional(form, "reporter_name"),
        reporter_phone=optional(form, "reporter_phone"),
        source_id=optional(form, "source_id"),
        idempotency_key=optional(form, "idempotency_key"),
        attachments=photos.uploads(),
    )


def _take_in(
    request: Request, session: Session, actor: Actor, form: FormData, channel_value: str, template: str
) -> Response:
    values = {name: text(form, name) for name in FIELDS}
    photos = photos_of(request, actor, form)

    def again(errors: dict[str, str]) -> Response:
        kept = photos.keep(errors)
        return _form_page(request, session, actor, template, values, errors, 422, kept)

    try:
        channel = Channel(channel_value)
    except ValueError:
        return again({"channel": "请选择来源渠道"})
    settings = request.app.state.settings
    try:
        with session.begin_nested():  # a refused photo undoes the whole report: nothing half-saved
            result = intake(session, actor, _intake_request(form, channel, photos), settings=settings)
    except (InvalidInputError, ConflictError, NotFoundError) as error:
        return again(error_map(error))
    except PermissionDeniedError as error:
        if error.code != "channel_not_allowed":
            raise
        return again(error_map(error))
    photos.done()
    note = "created" if result.created else "repeat"
    return RedirectResponse(f"/cases/{result.case.number}?taken={note}", status_code=303)


@router.get("/cases/new", response_class=HTMLResponse)
def intake_form(request: Request, session: ReadSession, actor: SignedIn) -> Response:
    default = Channel.HOTLINE_12345 if Role.HOTLINE_OPERATOR in actor.roles else None
    values = {"channel": default.value} if default else {}
    return _form_page(request, session, actor, "cases/new.html", values)


@router.post("/cases/new", response_class=HTMLResponse)
def intake_submit(request: Request, form: SubmittedForm, session: WriteSession, actor: SignedIn) -> Response:
    return _take_in(request, session, actor, form, text(form, "channel"), "cases/new.html")


@router.get("/cases/hints", response_class=HTMLResponse)
def duplicate_hints(
    request: Request,
    session: ReadSession,
    actor: SignedIn,
    lon: str = "",
    lat: str = "",
    category_code: str = "",
    category: str = "",
) -> Response:
    """Open cases near the point (same category when chosen): shown while the form is filled in. The form sends
    empty coordinates until a point is picked; those mean "no point yet", not an error — nor is a category name
    still being typed (the hints are then for any category)."""
    actor.require(Permission.CASE_READ, "查看案件")
    point = _point(lon, lat)
    nearby = []
    if point is not None:
        code = _quietly_found(session, category) if category.strip() else category_code or None
        nearby = queries.nearby_open(session, actor, lon=point[0], lat=point[1], category_code=code)
    return page(request, "cases/_hints.html", {"nearby": nearby, "located": point is not None})


def _quietly_found(session: Session, typed: str) -> str | None:
    if not typed.strip():
        return None
    try:
        return leaf_category(session, typed).code
    except (InvalidInputError, NotFoundError):
        return None


def _point(lon: str, lat: str) -> tuple[float, float] | None:
    try:
        return float(lon), float(lat)
    except ValueError:
        return None


# --- the grid worker's phone pages ------------------------------------------------------------------------------


@router.get("/m", response_class=HTMLResponse)
def my_tasks(request: Request, session: ReadSession, actor: SignedIn) -> Response:
    """What waits for a grid worker — her queues, each listing exactly what she can do now (verify on site,
    close on the spot, act on the overdue ones) — and, apart from them, her own reports still open."""
    actor.require(Permission.CASE_READ, "查看任务")
    labels = {"to_register": "待立案（可自处置）"}
    tasks = [
        (labels.get(key, QUEUES[key].label), queries.page_cases(session, actor, queue_filter(actor, key), limit=30))
        for key in queues_for(actor)
        if key != "due_soon"
    ]
    own = queries.CaseFilter(open_only=True, conditions=own_reports(actor))
    return page(
        request,
        "mobile/tasks.html",
        {"sections": tasks, "own": queries.page_cases(session, actor, own, limit=30)},
    )


@router.get("/m/report", response_class=HTMLResponse)
def mobile_report_form(request: Request, session: ReadSession, actor: SignedIn) -> Response:
    return _form_page(request, session, actor, "mobile/report.html", {"channel": Channel.GRID_PATROL.value})


@router.post("/m/report", response_class=HTMLResponse)
def mobile_report(request: Request, form: SubmittedForm, session: WriteSession, actor: SignedIn) -> Response:
    return _take_in(request, session, actor, form, Channel.GRID_PATROL.value, "mobile/report.html")
