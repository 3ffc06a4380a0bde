"""The registry's files in the workbench: templates to download, imports with their row report, exports.

批量导入 lists every kind with its template; an upload (.xlsx, CSV or GeoJSON) comes back as the import report —
every refused row by its number and reason, and whether anything was written (all or nothing unless 保留有效部分
is ticked). Lists export what their filters show; people masked, or in full for an actor with ``registry.reveal``
who gives a reason (audited by the service).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from civicgrid.errors import CivicgridError, InvalidInputError
from civicgrid.excel import xlsx_response
from civicgrid.http.deps import CSRF_CHECKED, ReadSession, SignedIn, protector_of
from civicgrid.http.errors import status_for
from civicgrid.http.routing import session_router
from civicgrid.importing import ImportReport
from civicgrid.org.actor import Actor
from civicgrid.org.roles import Permission
from civicgrid.registry import objects_import, people_import
from civicgrid.registry.export import export_objects, export_people
from civicgrid.registry.kinds import KINDS, kind_of
from civicgrid.registry.presenting import PEOPLE_KEY
from civicgrid.tables import read_table_bytes
from civicgrid.web.admin import SubmittedForm, text, write
from civicgrid.web.registry_pages import people_filter
from civicgrid.web.render import page

router = session_router(include_in_schema=False, dependencies=CSRF_CHECKED)
MAX_UPLOAD = 50 * 1024 * 1024


def _kinds() -> list[tuple[str, str]]:
    return [(PEOPLE_KEY, "实有人口"), *((key, kind.label) for key, kind in KINDS.items())]


def _label(key: str) -> str:
    return "实有人口" if key == PEOPLE_KEY else kind_of(key).label


@router.get("/registry/import", response_class=HTMLResponse)
def import_page(request: Request, actor: SignedIn, kind: str = PEOPLE_KEY) -> HTMLResponse:
    actor.require(Permission.REGISTRY_WRITE, "导入登记信息")
    return _import_page(request, actor, kind if kind in dict(_kinds()) else PEOPLE_KEY)


@router.get("/registry/import/{key}/template.xlsx")
def template_download(actor: SignedIn, key: str) -> Response:
    actor.require(Permission.REGISTRY_READ, "下载导入模板")
    content = people_import.people_template() if key == PEOPLE_KEY else objects_import.objects_template(key)
    return xlsx_response(content, f"{_label(key).replace('/', '、')}导入模板.xlsx")


@router.post("/registry/import", response_class=HTMLResponse)
async def import_upload(request: Request, actor: SignedIn, form: SubmittedForm) -> HTMLResponse:
    key = text(form, "kind") if text(form, "kind") in dict(_kinds()) else PEOPLE_KEY
    upload = form.get("file")
    keep_good = bool(text(form, "keep_good"))
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _import_page(request, actor, key, error="请选择要导入的文件", status_code=422)
    raw = await upload.read(MAX_UPLOAD + 1)
    try:
        if len(raw) > MAX_UPLOAD:
            raise InvalidInputError("文件超过50MB，请分批导入", code="file_too_large")
        report = write(
            request, lambda session: _import(session, actor, request, key, upload.filename or "", raw, keep_good)
        )
    except CivicgridError as error:
        return _import_page(request, actor, key, error=error.message, status_code=status_for(error))
    return _import_page(request, actor, key, report=report)


def _import(
    session: Session, actor: Actor, request: Request, key: str, filename: str, raw: bytes, keep_good: bool
) -> ImportReport:
    path = Path(filename)
    if key != PEOPLE_KEY and path.suffix.lower() in (".geojson", ".json"):
        return objects_import.import_geojson(session, actor, key, raw, source=path.name, keep_good=keep_good)
    table = read_table_bytes(path, raw)
    if key == PEOPLE_KEY:
        protector = protector_of(request)
        return people_import.import_people(session, actor, table, protector, source=path.name, keep_good=keep_good)
    return objects_import.import_table(session, actor, key, table, source=path.name, keep_good=keep_good)


@router.get("/registry/people/export.xlsx")
def people_export(
    request: Request,
    actor: SignedIn,
    grid: str = "",
    tag: str = "",
    q: str = "",
    residence: str = "",
    moved_out: str = "",
) -> Response:
    chosen = people_filter(grid, tag, q, residence, moved_out)
    protector = protector_of(request)
    content = write(request, lambda writer: export_people(writer, actor, protector, chosen))
    return xlsx_response(content, "实有人口.xlsx")


@router.post("/registry/people/export.xlsx")
def people_export_full(request: Request, actor: SignedIn, form: SubmittedForm) -> Response:
    """In full: refused (the error page) without ``registry.reveal`` or without a reason."""
    chosen = people_filter(*(text(form, name) for name in ("grid", "tag", "q", "residence", "moved_out")))
    protector = protector_of(request)
    reason = text(form, "reason")
    content = write(request, lambda s: export_people(s, actor, protector, chosen, full=True, reason=reason))
    return xlsx_response(content, "实有人口（完整）.xlsx")


@router.get("/registry/{key}/export.xlsx")
def objects_export(
    session: ReadSession, actor: SignedIn, key: str, grid: str = "", tag: str = "", q: str = "", retired: str = ""
) -> Response:
    kind = kind_of(key)
    content = export_objects(
        session, actor, kind.key, grid_code=grid or None, tag=tag or None, text=q, include_retired=bool(retired)
    )
    return xlsx_response(content, f"{kind.label.replace('/', '、')}.xlsx")


def _import_page(
    request: Request,
    actor: Actor,
    key: str,
    *,
    report: ImportReport | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "actor": actor,
        "kinds": _kinds(),
        "chosen": key,
        "chosen_label": _label(key),
        "report": report,
        "error": error,
        "geojson": key != PEOPLE_KEY,
    }
    return page(request, "registry/import.html", context, status_code=status_code)
