"""The residents' pages, no account needed: 我要反映 (report a problem), 进度查询 (follow it with its tracking code
and rate it), 公开地图 (where problems are being dealt with, without personal data).

The tracking code never travels in a URL: it is posted, and the progress page (no-store) carries it in its
rating form.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from civicgrid import timesource
from civicgrid.cases import public
from civicgrid.cases.attachments import Upload, sniff
from civicgrid.cases.held_uploads import HeldUpload
from civicgrid.cases.intake import MAX_DESCRIPTION, MAX_TITLE, IntakeRequest
from civicgrid.cases.models import CaseState, Channel, Rating
from civicgrid.cases.public import require_public_map
from civicgrid.errors import CivicgridError, ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from civicgrid.grid import service
from civicgrid.grid.codes import GridLevel
from civicgrid.http.deps import CSRF_CHECKED, CurrentActor, ReadSession, WriteSession, protector_of
from civicgrid.http.routing import session_router
from civicgrid.org.actor import Actor
from civicgrid.settings import Settings
from civicgrid.web.app_context import map_config
from civicgrid.web.case_detail import attachment_response
from civicgrid.web.forms import error_map
from civicgrid.web.held_photos import MAX_FILES, Photos, photos_from
from civicgrid.web.render import page

router = session_router(include_in_schema=False, dependencies=CSRF_CHECKED)

MAX_NAME, MAX_ADDRESS = 50, 200
CRS_VALUES = frozenset({"wgs84", "gcj02", "bd09"})
REPORT_FIELDS = ("title", "description", "category", "lon", "lat", "crs", "address", "name", "phone")

# Which field of the report form an intake refusal is about.
_ERROR_FIELDS = {
    "empty_case": "description",
    "description_too_long": "description",
    "title_too_long": "title",
    "invalid_phone": "phone",
    "category_not_leaf": "category",
    "category_not_found": "category",
    "field_required": "category",
    "incomplete_coordinates": "location",
    "missing_crs": "location",
    "unknown_crs": "location",
    "invalid_coordinates": "location",
    "swapped_axes": "location",
    "unsupported_file_type": "photos",
    "file_too_large": "photos",
    "empty_file": "photos",
}
_TEXT_FIELDS = {"反映人姓名": "name", "地址": "address"}
LOCATION_INVALID = "位置无效，请在地图上重新点选"


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


# --- 我要反映 -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CategoryGroup:
    name: str
    options: list[tuple[str, str]]  # (code, name) of the leaf categories under it


def category_groups(session: Session) -> list[CategoryGroup]:
    """The categories a resident may pick, grouped under their parent for the select."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for category, parent in public.reportable_categories(session):
        groups.setdefault(parent.name if parent else "其他", []).append((category.code, category.name))
    return [CategoryGroup(name, options) for name, options in groups.items()]


@router.get("/public/report", response_class=HTMLResponse)
def report_form(request: Request, session: ReadSession, actor: CurrentActor) -> Response:
    try:
        public.reporter_for(actor, _settings(request))
    except PermissionDeniedError as error:
        return _unavailable(request, error)
    return _report_page(request, session, {"idempotency_key": secrets.token_urlsafe(16)}, {})


def _report_page(
    request: Request,
    session: Session,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
    kept: list[HeldUpload] | None = None,
) -> Response:
    settings = _settings(request)
    context = {
        "kept": kept or [],
        "values": values,
        "errors": errors,
        "categories": category_groups(session),
        "max_photos": MAX_FILES,
        "max_photo_mb": f"{settings.attachment_max_bytes / 1024 / 1024:g}",
    }
    return page(request, "public/report.html", context, status_code=status_code)


def _unavailable(request: Request, error: CivicgridError) -> Response:
    return page(request, "public/unavailable.html", {"message": error.message, "code": error.code}, status_code=403)


@router.post("/public/report", response_class=HTMLResponse)
def submit_report(
    request: Request,
    session: WriteSession,
    actor: CurrentActor,
    description: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
    category: Annotated[str, Form()] = "",
    lon: Annotated[str, Form()] = "",
    lat: Annotated[str, Form()] = "",
    crs: Annotated[str, Form()] = "",
    address: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    phone: Annotated[str, Form()] = "",
    idempotency_key: Annotated[str, Form()] = "",
    photos: Annotated[list[UploadFile] | None, File()] = None,
    kept_photos: Annotated[list[str] | None, Form()] = None,
) -> Response:
    settings = _settings(request)
    try:
        public.reporter_for(actor, settings)
    except PermissionDeniedError as error:
        return _unavailable(request, error)
    typed = (title, description, category, lon, lat, crs, address, name, phone)
    values = {field: value.strip() for field, value in zip(REPORT_FIELDS, typed, strict=True)}
    values["idempotency_key"] = idempotency_key.strip()[:80] or secrets.token_urlsafe(16)
    chosen = photos_from(request, actor, photos or [], kept_photos or [])
    errors = _check_report(values)
    _check_photos(chosen, settings, errors)

    def again(errors: dict[str, str]) -> Response:
        return _report_page(request, session, values, errors, status_code=422, kept=chosen.keep(errors))

    if errors:
        return again(errors)
    try:
        with session.begin_nested():  # a refusal half-way leaves nothing behind, not even a case number
            result = public.report(session, actor, _intake_request(values, chosen.uploads()), settings)
    except ConflictError as error:
        if error.code != "duplicate_not_visible":
            raise
        return page(request, "public/report_done.html", {"duplicate": True})
    except (InvalidInputError, NotFoundError) as error:
        return again(_errors_of(error))
    chosen.done()
    context = {
        "duplicate": False,
        "number": result.case.number,
        "tracking_code": result.tracking_code,
        "own_account": actor.is_authenticated,
    }
    return page(request, "public/report_done.html", context, status_code=201 if result.created else 200)


def _check_report(values: dict[str, str]) -> dict[str, str]:
    """The form's own checks, each worded for the field it sits next to."""
    errors: dict[str, str] = {}
    if not values["description"]:
        errors["description"] = "请填写问题描述：发生了什么、在哪里、持续多久"
    elif len(values["description"]) > MAX_DESCRIPTION:
        errors["description"] = f"问题描述不能超过{MAX_DESCRIPTION}个字"
    if len(values["title"]) > MAX_TITLE:
        errors["title"] = f"标题不能超过{MAX_TITLE}个字"
    if len(values["name"]) > MAX_NAME:
        errors["name"] = f"姓名不能超过{MAX_NAME}个字"
    if len(values["address"]) > MAX_ADDRESS:
        errors["address"] = f"地址不能超过{MAX_ADDRESS}个字"
    try:
        values["phone"] = public.clean_phone(values["phone"]) or ""
    except InvalidInputError as error:
        errors["phone"] = error.message
    location = _location_error(values)
    if location:
        errors["location"] = location
    return errors


def _location_error(values: dict[str, str]) -> str | None:
    has_point = bool(values["lon"] or values["lat"])
    if not has_point and not values["address"]:
        return "请在地图上点选问题位置，或在下方填写详细地址"
    if not has_point:
        return None
    if not values["lon"] or not values["lat"] or values["crs"] not in CRS_VALUES:
        return LOCATION_INVALID
    try:
        point = float(values["lon"]), float(values["lat"])
    except ValueError:
        return LOCATION_INVALID
    if not all(math.isfinite(value) for value in point):
        return LOCATION_INVALID
    return None


def _check_photos(photos: Photos, settings: Settings, errors: dict[str, str]) -> None:
    """Each chosen photo checked for size and kind (by its bytes) before anything is stored; a refused one is
    named and left out (the good ones are kept for the form shown again)."""
    if photos.overflow or len(photos.kept) + len(photos.chosen) > MAX_FILES:
        errors["photos"] = f"一次最多上传{MAX_FILES}张照片"
    limit = settings.attachment_max_bytes
    good = []
    for upload in photos.chosen:
        label, content = upload.filename, upload.content
        if len(content) > limit:
            errors["photos"] = f"照片“{label}”超过{limit / 1024 / 1024:g}MB，请压缩后重新选择"
        elif not content:
            errors["photos"] = f"照片“{label}”是空文件，请重新选择"
        elif not _is_photo(content):
            errors["photos"] = f"“{label}”不是照片：只能上传 JPEG、PNG、WebP 或 HEIC 格式的照片"
        else:
            good.append(upload)
    photos.chosen = good


def _is_photo(content: bytes) -> bool:
    try:
        return sniff(content)[0].startswith("image/")
    except InvalidInputError:
        return False


def _intake_request(values: dict[str, str], uploads: list[Upload]) -> IntakeRequest:
    has_point = bool(values["lon"])
    return IntakeRequest(
        channel=Channel.RESIDENT,
        title=values["title"],
        description=values["description"],
        category_code=values["category"] or None,
        lon=float(values["lon"]) if has_point else None,
        lat=float(values["lat"]) if has_point else None,
        crs=values["crs"] if has_point else None,
        address=values["address"] or None,
        reporter_name=values["name"] or None,
        reporter_phone=values["phone"] or None,
        idempotency_key=values["idempotency_key"],
        attachments=uploads,
    )


def _error_field(error: CivicgridError) -> str:
    if error.code == "text_too_long":
        return _TEXT_FIELDS.get(str(error.detail.get("field")), "_form")
    return _ERROR_FIELDS.get(error.code, "_form")


def _errors_of(error: CivicgridError) -> dict[str, str]:
    """Each problem of a refusal next to its field of this form; a place refused in its own words."""
    errors = error_map(error, _error_field)
    return errors | ({"location": LOCATION_INVALID} if "location" in errors else {})


# --- 进度查询 -----------------------------------------------------------------------------------------------


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.get("/public/track", response_class=HTMLResponse)
def track_form(request: Request, number: str = "") -> Response:
    return _track_page(request, number.strip()[: public.MAX_NUMBER_LENGTH], None)


def _track_page(request: Request, number: str, error: str | None, status_code: int = 200) -> Response:
    return page(request, "public/track.html", {"number": number, "error": error}, status_code=status_code)


_REFUSAL_STATUS: list[tuple[type[CivicgridError], int]] = [
    (public.TrackingThrottledError, 429),
    (public.TrackingRefusedError, 404),
    (InvalidInputError, 422),
]


def _open(request: Request, session: Session, number: str, code: str) -> Actor | Response:
    """The tracking-code holder, or the form again with the refusal. A refusal is rendered, not raised, so the
    request's transaction commits the failed attempt that throttling counts."""
    try:
        return public.open_tracking(session, number, code, _client(request))
    except (public.TrackingThrottledError, public.TrackingRefusedError, InvalidInputError) as error:
        status = next(status for kind, status in _REFUSAL_STATUS if isinstance(error, kind))
        return _track_page(request, number.strip()[: public.MAX_NUMBER_LENGTH], error.message, status)


@router.post("/public/track", response_class=HTMLResponse)
def track(
    request: Request,
    session: WriteSession,
    number: Annotated[str, Form()] = "",
    code: Annotated[str, Form()] = "",
) -> Response:
    holder = _open(request, session, number, code)
    if isinstance(holder, Response):
        return holder
    return _progress_page(request, session, holder, code)


def _progress_page(
    request: Request,
    session: Session,
    holder: Actor,
    code: str,
    *,
    message: str | None = None,
    message_kind: str = "ok",
    errors: dict[str, str] | None = None,
    comment: str = "",
    status_code: int = 200,
) -> Response:
    progress = public.progress(session, holder)
    context = {
        "progress": progress,
        "photo_links": _photo_links(request, progress),
        "rate_action": "/public/track/rate",
        "rate_fields": {"number": progress.number, "code": code.strip().upper()},
        "comment_field": "comment",
        "back_links": [("/public/track", "查询其他问题"), ("/public/report", "反映新问题")],
        "message": message,
        "message_kind": message_kind,
        "errors": errors or {},
        "comment": comment,
        "ratings": list(Rating),
    }
    return page(request, "public/progress.html", context, status_code=status_code)


PHOTO_LINK_SECONDS = 3600


def _photo_links(request: Request, progress: public.PublicProgress) -> list[str]:
    """Links to the outcome's photos that open for an hour without the tracking code (never in a URL)."""
    if progress.outcome is None:
        return []
    protector = protector_of(request)
    expires = int(timesource.now().timestamp()) + PHOTO_LINK_SECONDS
    return [
        f"/public/photos/{progress.number}/{photo}?e={expires}"
        f"&s={public.photo_link_signature(protector, progress.number, photo, expires)}"
        for photo in progress.outcome.photo_ids
    ]


@router.get("/public/photos/{number}/{attachment_id}")
def public_photo(
    request: Request, number: str, attachment_id: int, session: ReadSession, e: int = 0, s: str = ""
) -> Response:
    """A photo of a case's outcome, through a link the progress page signed (see ``_photo_links``)."""
    public.verify_photo_link(protector_of(request), number, attachment_id, e, s)
    attachment = public.public_attachment(session, Actor.tracking_holder(number), number, attachment_id)
    return attachment_response(request.app.state.settings, attachment)


@router.post("/public/track/rate", response_class=HTMLResponse)
def rate(
    request: Request,
    session: WriteSession,
    number: Annotated[str, Form()] = "",
    code: Annotated[str, Form()] = "",
    rating: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
) -> Response:
    holder = _open(request, session, number, code)
    if isinstance(holder, Response):
        return holder
    try:
        chosen = Rating(rating)
    except ValueError:
        errors = {"rating": "请选择评价：满意、基本满意或不满意"}
        return _progress_page(request, session, holder, code, errors=errors, comment=comment, status_code=422)
    try:
        with session.begin_nested():
            public.rate(session, holder, chosen, comment, settings=_settings(request))
    except InvalidInputError as error:
        errors = {"comment" if error.code == "comment_too_long" else "rating": error.message}
        return _progress_page(request, session, holder, code, errors=errors, comment=comment, status_code=422)
    except ConflictError as error:  # rated already (a second tab), or reopened meanwhile
        return _progress_page(
            request, session, holder, code, message=error.message, message_kind="info", status_code=409
        )
    return _progress_page(request, session, holder, code, message="感谢您的评价！我们会认真对待每一条意见。")


# --- 公开地图 -----------------------------------------------------------------------------------------------

STATE_COLOURS: dict[CaseState, str] = {
    CaseState.REPORTED: "#f59e0b",
    CaseState.REGISTERED: "#f59e0b",
    CaseState.DISPATCHED: "#1e88e5",
    CaseState.IN_PROGRESS: "#1e88e5",
    CaseState.HANDLED: "#7e57c2",
    CaseState.SUSPENDED: "#78909c",
    CaseState.CLOSED: "#2e7d32",
}
LEGEND: list[tuple[str, str]] = [
    ("待受理", STATE_COLOURS[CaseState.REPORTED]),
    ("办理中", STATE_COLOURS[CaseState.IN_PROGRESS]),
    ("待核查", STATE_COLOURS[CaseState.HANDLED]),
    ("挂账", STATE_COLOURS[CaseState.SUSPENDED]),
    ("近30天已办结", STATE_COLOURS[CaseState.CLOSED]),
]
PUBLIC_MAP_LEVELS = frozenset({GridLevel.DISTRICT, GridLevel.STREET, GridLevel.COMMUNITY})


@router.get("/public/map", response_class=HTMLResponse)
def public_map(request: Request, session: ReadSession, actor: CurrentActor) -> Response:
    settings = _settings(request)
    try:
        require_public_map(actor, settings)
    except PermissionDeniedError as error:
        return _unavailable(request, error)
    viewer = Actor.anonymous(public_grid_map=settings.public_grid_map)  # the boundaries every visitor sees
    counts = service.level_counts(session, viewer)
    levels = [(level, counts[level]) for level in GridLevel if level in counts and level in PUBLIC_MAP_LEVELS]
    config: dict[str, Any] = map_config(settings, levels)
    config["cases_url"] = "/api/v1/public/cases.geojson"
    config["colours"] = {state.value: colour for state, colour in STATE_COLOURS.items()}
    return page(request, "public/map.html", {"map_config": config, "legend": LEGEND})
