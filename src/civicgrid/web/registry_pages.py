"""The registry in the workbench: lists, records, history and "as of a date", new records and corrections, retiring
and moving out, the audited full view of a person's identifiers, and the cases a record is named in.

Every page goes through the services, so scope, masking, versioning and audit are theirs: a record outside the
actor's grids is a 404 (not a hidden link), a correction made from an old read shows the conflict and keeps what
was typed, and an ID number is shown in full only after a reason, once, for those with ``registry.reveal``.
Narrow screens first: grid workers correct records on the phone.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from civicgrid.errors import CivicgridError, ConflictError, InvalidInputError, NotFoundError
from civicgrid.grid.index import grid_index
from civicgrid.http.bounds import PageNumber, RecordId
from civicgrid.http.deps import CSRF_CHECKED, ReadSession, SignedIn, protector_of
from civicgrid.http.errors import status_for
from civicgrid.http.routing import session_router
from civicgrid.org.actor import Actor
from civicgrid.org.roles import Permission
from civicgrid.registry import links, objects, people, presenting
from civicgrid.registry.kinds import KINDS, Field, Kind, kind_of
from civicgrid.registry.models import Residence
from civicgrid.registry.placing import Where
from civicgrid.registry.stats import overview
from civicgrid.web.admin import SubmittedForm, text, write
from civicgrid.web.render import BEIJING, page

router = session_router(include_in_schema=False, dependencies=CSRF_CHECKED)
PAGE_SIZE = 50
PEOPLE = presenting.PEOPLE_KEY
CLEARABLE = ("household_no", "address", "tags")  # a person's fields a correction may empty


# --- overview and lists -----------------------------------------------------------------------------------------


@router.get("/registry", response_class=HTMLResponse)
def registry_index(request: Request, session: ReadSession, actor: SignedIn) -> HTMLResponse:
    view = overview(session, actor)
    kinds = [(PEOPLE, "实有人口", view.total["person"])] + [
        (key, kind.label, view.total[key]) for key, kind in KINDS.items()
    ]
    context = {"actor": actor, "view": view, "kinds": kinds, "may_write": actor.has(Permission.REGISTRY_WRITE)}
    return page(request, "registry/index.html", context)


@router.get("/registry/people", response_class=HTMLResponse)
def people_list(
    request: Request,
    session: ReadSession,
    actor: SignedIn,
    grid: str = "",
    tag: str = "",
    q: str = "",
    residence: str = "",
    moved_out: str = "",
    page_number: PageNumber = 1,
) -> HTMLResponse:
    chosen = people_filter(grid, tag, q, residence, moved_out)
    rows, total = people.find_people(
        session, actor, chosen, limit=PAGE_SIZE, offset=(max(page_number, 1) - 1) * PAGE_SIZE
    )
    protector = protector_of(request)
    shown = [people.view(person, protector) for person in rows]
    query = {"grid": grid, "tag": tag, "q": q, "residence": residence, "moved_out": moved_out}
    context = _list_context(actor, PEOPLE, "实有人口", total, page_number, query)
    context |= {"people": shown, "tags": presenting.person_tag_choices(), "residences": list(Residence)}
    context["grid_name"] = grid_index(session).name_of
    return page(request, "registry/people_list.html", context)


@router.get("/registry/people/new", response_class=HTMLResponse)
def person_new(request: Request, actor: SignedIn) -> HTMLResponse:
    actor.require(Permission.REGISTRY_WRITE, "登记人口信息")
    return _form_page(request, actor, PEOPLE, {}, {})


@router.post("/registry/people", response_class=HTMLResponse)
def person_create(request: Request, actor: SignedIn, form: SubmittedForm) -> Response:
    values = _values(form, presenting.PERSON_FIELDS)
    try:
        data = _person_input(values, form)
        created = write(request, lambda s: people.register_person(s, actor, data, protector_of(request)))
    except CivicgridError as error:
        return _form_page(
            request, actor, PEOPLE, values | _position(form), _errors(error, presenting.PERSON_FIELDS), 422
        )
    return _to(f"/registry/people/{created.id}", done="已登记")


@router.get("/registry/people/{person_id}", response_class=HTMLResponse)
def person_detail(
    request: Request, session: ReadSession, actor: SignedIn, person_id: RecordId, as_of: str = ""
) -> Response:
    return _person_page(request, session, actor, person_id, as_of=as_of)


@router.post("/registry/people/{person_id}/correct", response_class=HTMLResponse)
def person_correct(
    request: Request, session: ReadSession, actor: SignedIn, person_id: RecordId, form: SubmittedForm
) -> Response:
    typed = _values(form, presenting.PERSON_FIELDS)
    changes: dict[str, Any] = {name: value for name, value in typed.items() if value or name in CLEARABLE}
    changes["tags"] = _tags(typed.get("tags", ""))
    if "residence" in changes:
        changes["residence"] = _residence(changes["residence"])
    try:
        write(
            request,
            lambda s: people.correct_person(
                s, actor, person_id, changes, expected_version=_version(form), protector=protector_of(request),
                reason=text(form, "reason") or None,
            ),
        )  # fmt: skip
    except CivicgridError as error:
        errors = _errors(error, presenting.PERSON_FIELDS)
        return _person_page(request, session, actor, person_id, errors=errors, typed=typed, status_code=_status(error))
    return _to(f"/registry/people/{person_id}", done="已保存修改")


@router.post("/registry/people/{person_id}/move-out", response_class=HTMLResponse)
def person_move_out(
    request: Request, session: ReadSession, actor: SignedIn, person_id: RecordId, form: SubmittedForm
) -> Response:
    try:
        write(
            request,
            lambda s: people.move_out(
                s, actor, person_id, expected_version=_version(form), reason=text(form, "reason")
            ),
        )
    except CivicgridError as error:
        return _person_page(
            request, session, actor, person_id, errors={"move_out": error.message}, status_code=_status(error)
        )
    return _to(f"/registry/people/{person_id}", done="已办理迁出")


@router.post("/registry/people/{person_id}/merge", response_class=HTMLResponse)
def person_merge(
    request: Request, session: ReadSession, actor: SignedIn, person_id: RecordId, form: SubmittedForm
) -> Response:
    """合并重复人员: this record is kept; the other (by its number, as read now) is merged into it."""
    try:
        duplicate_id = _record_number(text(form, "duplicate_id"))
        duplicate_version = people.get_person(session, actor, duplicate_id).version
        versions = (_version(form), duplicate_version)
        reason = text(form, "reason")
        write(
            request,
            lambda s: people.merge_people(s, actor, person_id, duplicate_id, expected_versions=versions, reason=reason),
        )
    except CivicgridError as error:
        return _person_page(
            request, session, actor, person_id, errors={"merge": error.message}, status_code=_status(error)
        )
    return _to(f"/registry/people/{person_id}", done=f"已将人员{duplicate_id}合并到本记录")


def _record_number(value: str) -> int:
    if not value.strip().isdigit():
        raise InvalidInputError("请填写重复记录的人员编号（数字）", code="duplicate_id_required")
    return int(value)


@router.post("/registry/people/{person_id}/reveal", response_class=HTMLResponse)
def person_reveal(
    request: Request, session: ReadSession, actor: SignedIn, person_id: RecordId, form: SubmittedForm
) -> Response:
    reason = text(form, "reason")
    try:
        shown = write(
            request, lambda s: people.reveal(s, actor, person_id, reason=reason, protector=protector_of(request))
        )
    except InvalidInputError as error:
        return _person_page(request, session, actor, person_id, errors={"reveal": error.message}, status_code=422)
    return _person_page(request, session, actor, person_id, revealed=shown)


@router.get("/registry/{kind_key}", response_class=HTMLResponse)
def object_list(
    request: Request,
    session: ReadSession,
    actor: SignedIn,
    kind_key: str,
    grid: str = "",
    tag: str = "",
    q: str = "",
    retired: str = "",
    page_number: PageNumber = 1,
) -> HTMLResponse:
    kind = kind_of(kind_key)
    rows, total = objects.find(
        session,
        actor,
        kind.key,
        grid_code=grid.strip() or None,
        tag=tag.strip() or None,
        text=q,
        include_retired=bool(retired),
        limit=PAGE_SIZE,
        offset=(max(page_number, 1) - 1) * PAGE_SIZE,
    )
    columns = [field for field in kind.fields if field.type.value not in ("ref",)][:4]
    query = {"grid": grid, "tag": tag, "q": q, "retired": retired}
    context = _list_context(actor, kind.key, kind.label, total, page_number, query)
    context |= {"kind": kind, "rows": rows, "columns": columns, "grid_name": grid_index(session).name_of}
    return page(request, "registry/object_list.html", context)


@router.get("/registry/{kind_key}/new", response_class=HTMLResponse)
def object_new(request: Request, actor: SignedIn, kind_key: str) -> HTMLResponse:
    kind = kind_of(kind_key)
    actor.require(Permission.REGISTRY_WRITE, f"登记{kind.label}")
    return _form_page(request, actor, kind.key, {}, {})


@router.post("/registry/{kind_key}", response_class=HTMLResponse)
def object_create(request: Request, actor: SignedIn, kind_key: str, form: SubmittedForm) -> Response:
    kind = kind_of(kind_key)
    values = _values(form, kind.all_fields)
    try:
        created = write(request, lambda s: objects.register(s, actor, kind.key, values, _where(form)))
    except CivicgridError as error:
        return _form_page(request, actor, kind.key, values | _position(form), _errors(error, kind.all_fields), 422)
    return _to(f"/registry/{kind.key}/{created.id}", done="已登记")


@router.get("/registry/{kind_key}/{record_id}", response_class=HTMLResponse)
def object_detail(
    request: Request, session: ReadSession, actor: SignedIn, kind_key: str, record_id: RecordId, as_of: str = ""
) -> Response:
    return _object_page(request, session, actor, kind_of(kind_key), record_id, as_of=as_of)


@router.post("/registry/{kind_key}/{record_id}/correct", response_class=HTMLResponse)
def object_correct(
    request: Request, session: ReadSession, actor: SignedIn, kind_key: str, record_id: RecordId, form: SubmittedForm
) -> Response:
    kind = kind_of(kind_key)
    typed = _values(form, kind.all_fields)
    where = _where(form) if text(form, "lon") or text(form, "grid_code") else None
    try:
        write(
            request,
            lambda s: objects.correct(
                s, actor, kind.key, record_id, typed, expected_version=_version(form), where=where,
                reason=text(form, "reason") or None,
            ),
        )  # fmt: skip
    except CivicgridError as error:
        errors = _errors(error, kind.all_fields)
        return _object_page(
            request, session, actor, kind, record_id, errors=errors, typed=typed, status_code=_status(error)
        )
    return _to(f"/registry/{kind.key}/{record_id}", done="已保存修改")


@router.post("/registry/{kind_key}/{record_id}/retire", response_class=HTMLResponse)
def object_retire(
    request: Request, session: ReadSession, actor: SignedIn, kind_key: str, record_id: RecordId, form: SubmittedForm
) -> Response:
    kind = kind_of(kind_key)
    try:
        write(
            request,
            lambda s: objects.retire(
                s, actor, kind.key, record_id, expected_version=_version(form), reason=text(form, "reason")
            ),
        )
    except CivicgridError as error:
        return _object_page(
            request, session, actor, kind, record_id, errors={"retire": error.message}, status_code=_status(error)
        )
    return _to(f"/registry/{kind.key}/{record_id}", done="已注销")


@router.post("/registry/{kind_key}/{record_id}/cases", response_class=HTMLResponse)
def object_link_case(
    request: Request, session: ReadSession, actor: SignedIn, kind_key: str, record_id: RecordId, form: SubmittedForm
) -> Response:
    object_type = "person" if kind_key == PEOPLE else kind_of(kind_key).key
    try:
        write(request, lambda s: links.link(s, actor, text(form, "case_number"), object_type, record_id))
    except CivicgridError as error:
        errors = {"link": error.message}
        if kind_key == PEOPLE:
            return _person_page(request, session, actor, record_id, errors=errors, status_code=_status(error))
        return _object_page(
            request, session, actor, kind_of(kind_key), record_id, errors=errors, status_code=_status(error)
        )
    return _to(f"/registry/{kind_key}/{record_id}", done="已关联案件")


@router.post("/cases/{number}/subjects", response_class=HTMLResponse)
def case_link_subject(request: Request, actor: SignedIn, number: str, form: SubmittedForm) -> Response:
    """From the case page: the case names a registry record, given by kind and number."""
    kind_key = text(form, "kind")
    object_type = "person" if kind_key == PEOPLE else kind_key
    try:
        record_id = int(text(form, "record_id"))
        write(request, lambda s: links.link(s, actor, number, object_type, record_id))
    except ValueError:
        return _to(f"/cases/{number}", subject_error="请填写登记对象的编号（数字）")
    except (InvalidInputError, ConflictError, NotFoundError) as error:
        if error.code == "case_not_found":
            raise
        return _to(f"/cases/{number}", subject_error=error.message)
    return _to(f"/cases/{number}")


# --- the record pages -------------------------------------------------------------------------------------------


def _person_page(
    request: Request,
    session: Session,
    actor: Actor,
    person_id: int,
    *,
    as_of: str = "",
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    revealed: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    person = people.get_person(session, actor, person_id)
    view = people.view(person, protector_of(request))
    moment = _moment(as_of)
    context = _record_context(request, actor, PEOPLE, "人员", person_id, errors, status_code)
    context |= {
        "record_name": view.name,
        "version": view.version,
        "shown": presenting.person_values(view, grid_index(session).name_of(view.scope_code)),
        "history": presenting.changes_shown(people.history(session, actor, person_id), presenting.labels_of(PEOPLE)),
        "as_of": as_of,
        "past": presenting.values_as_of(people.as_of(session, actor, person_id, moment), presenting.labels_of(PEOPLE))
        if moment
        else None,
        "cases": links.cases_of(session, actor, "person", person_id),
        "fields": presenting.PERSON_FIELDS,
        "current": {
            "name": view.name,
            "residence": view.residence.value,
            "household_no": view.household_no or "",
            "address": view.address or "",
            "tags": "、".join(view.tags),
        },
        "typed": typed or {},
        "revealed": revealed,
        "may_reveal": actor.has(Permission.REGISTRY_REVEAL),
        "retired": view.moved_out,
        "retire_label": "迁出",
        "retire_action": f"/registry/people/{person_id}/move-out",
        "retire_key": "move_out",
    }
    return page(request, "registry/detail.html", context, status_code=status_code)


def _object_page(
    request: Request,
    session: Session,
    actor: Actor,
    kind: Kind,
    record_id: int,
    *,
    as_of: str = "",
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    record = objects.get(session, actor, kind.key, record_id)
    moment = _moment(as_of)
    labels = presenting.labels_of(kind.key)
    context = _record_context(request, actor, kind.key, kind.label, record_id, errors, status_code)
    current = {field.name: _form_value(getattr(record, field.name)) for field in kind.all_fields}
    context |= {
        "record_name": record.name,
        "version": record.version,
        "shown": presenting.object_values(session, kind, record),
        "history": presenting.changes_shown(objects.history(session, actor, kind.key, record_id), labels),
        "as_of": as_of,
        "past": presenting.values_as_of(objects.as_of(session, actor, kind.key, record_id, moment), labels)
        if moment
        else None,
        "cases": links.cases_of(session, actor, kind.key, record_id),
        "fields": kind.all_fields,
        "tag_choices": kind.tag_choices,
        "current": current,
        "typed": typed or {},
        "revealed": None,
        "may_reveal": False,
        "retired": record.retired_at is not None,
        "retire_label": "注销",
        "retire_action": f"/registry/{kind.key}/{record_id}/retire",
        "retire_key": "retire",
        "map_point": (record.lon, record.lat) if record.lon is not None else None,
    }
    return page(request, "registry/detail.html", context, status_code=status_code)


def _record_context(
    request: Request,
    actor: Actor,
    kind_key: str,
    label: str,
    record_id: int,
    errors: dict[str, str] | None,
    status: int,
) -> dict[str, Any]:
    return {
        "actor": actor,
        "kind_key": kind_key,
        "kind_label": label,
        "record_id": record_id,
        "errors": errors or {},
        "done": request.query_params.get("done", ""),
        "may_write": actor.has(Permission.REGISTRY_WRITE),
        "may_link": any(actor.has(p) for p in links.LINKERS),
        "tag_choices": presenting.person_tag_choices(),
    }


def _form_page(
    request: Request, actor: Actor, kind_key: str, values: dict[str, str], errors: dict[str, str], status: int = 200
) -> HTMLResponse:
    fields: tuple[Field, ...]
    if kind_key == PEOPLE:
        fields, label, tags = presenting.PERSON_FIELDS, "人员", presenting.person_tag_choices()
    else:
        kind = kind_of(kind_key)
        fields, label, tags = kind.all_fields, kind.label, kind.tag_choices
    context = {"actor": actor, "kind_key": kind_key, "kind_label": label, "fields": fields, "tag_choices": tags}
    context |= {
        "values": values,
        "errors": errors,
        "shape": "point" if kind_key == PEOPLE else kind_of(kind_key).shape.value,
    }
    return page(request, "registry/form.html", context, status_code=status)


def people_filter(grid: str, tag: str, q: str, residence: str, moved_out: str) -> people.PeopleFilter:
    """The people list's query (also its export's): blanks are no filter, an unknown residence none either."""
    return people.PeopleFilter(
        grid_code=grid.strip() or None,
        tag=tag.strip() or None,
        text=q or None,
        residence=Residence(residence) if residence in Residence._value2member_map_ else None,
        include_moved_out=bool(moved_out),
    )


def _list_context(
    actor: Actor, key: str, label: str, total: int, page_number: int, query: dict[str, str]
) -> dict[str, Any]:
    pages = max(1, -(-total // PAGE_SIZE))
    number = min(max(page_number, 1), pages)
    kept = {name: value for name, value in query.items() if value}

    def link(n: int) -> str:
        return f"/registry/{key}?{urlencode(kept | {'page_number': str(n)})}"

    return {
        "actor": actor,
        "kind_key": key,
        "kind_label": label,
        "total": total,
        "query": query,
        "page_number": number,
        "pages": pages,
        "previous_link": link(number - 1) if number > 1 else None,
        "next_link": link(number + 1) if number < pages else None,
        "may_write": actor.has(Permission.REGISTRY_WRITE),
        "may_reveal": key == PEOPLE and actor.has(Permission.REGISTRY_REVEAL),
        "export_query": urlencode(kept),
    }


# --- reading forms ----------------------------------------------------------------------------------------------


def _values(form: FormData, fields: tuple[Field, ...]) -> dict[str, str]:
    values = {field.name: text(form, field.name) for field in fields if field.name != "tags"}
    chosen = [value for value in form.getlist("tags") if isinstance(value, str) and value.strip()]
    values["tags"] = "、".join([*chosen, text(form, "tags_more")]).strip("、")
    return {name: value for name, value in values.items() if name in {f.name for f in fields}}


def _position(form: FormData) -> dict[str, str]:
    return {name: text(form, name) for name in ("lon", "lat", "crs", "grid_code", "geometry")}


def _where(form: FormData) -> Where:
    position = _position(form)
    geometry = None
    if position["geometry"]:
        try:
            geometry = json.loads(position["geometry"])
        except ValueError as error:
            raise InvalidInputError("范围应为 GeoJSON 几何", code="bad_geometry") from error
    return Where(
        lon=_number(position["lon"], "经度"),
        lat=_number(position["lat"], "纬度"),
        crs=position["crs"] or "gcj02",
        geometry=geometry,
        grid_code=position["grid_code"] or None,
    )


def _person_input(values: dict[str, str], form: FormData) -> people.PersonInput:
    where = _where(form)
    return people.PersonInput(
        name=values.get("name", ""),
        id_number=values.get("id_number") or None,
        phone=values.get("phone") or None,
        residence=_residence(values.get("residence") or Residence.RESIDENT.value),
        household_no=values.get("household_no") or None,
        tags=tuple(_tags(values.get("tags", ""))),
        address=values.get("address") or None,
        lon=where.lon,
        lat=where.lat,
        crs=where.crs,
        grid_code=where.grid_code,
    )


def _residence(value: str) -> Residence:
    if value not in Residence._value2member_map_:
        raise InvalidInputError("请选择居住类型（户籍、常住或流动）", code="residence_unknown")
    return Residence(value)


def _tags(value: str) -> list[str]:
    return [part for part in value.replace("，", "、").replace(",", "、").split("、") if part.strip()]


def _number(value: str, label: str) -> float | None:
    if not value:
        return None
    try:
        return float(value)
    except ValueError as error:
        raise InvalidInputError(f"{label}“{value}”不是数字", code="invalid_coordinates") from error


def _version(form: FormData) -> int:
    try:
        return int(text(form, "expected_version"))
    except ValueError as error:
        raise InvalidInputError("缺少版本号，请刷新页面后重试", code="version_required") from error


def _moment(as_of: str) -> dt.datetime | None:
    if not as_of:
        return None
    try:
        day = dt.date.fromisoformat(as_of)
    except ValueError as error:
        raise InvalidInputError(f"日期“{as_of}”无效，应为 2026-01-31 这样的格式", code="invalid_date") from error
    return dt.datetime.combine(day, dt.time(23, 59, 59), BEIJING)


def _errors(error: CivicgridError, fields: tuple[Field, ...]) -> dict[str, str]:
    """The refusal next to its field: a field's own codes start with its name (``employees_not_a_number``), or
    the refusal names it (``detail.field``: too long, unstorable text)."""
    named = error.detail.get("field")
    if any(field.name == named for field in fields):
        return {str(named): error.message}
    for field in fields:
        if error.code.startswith(f"{field.name}_") or error.code.startswith(field.name.removesuffix("_id") + "_"):
            return {field.name: error.message}
    if error.code.startswith(("id_number", "mobile", "phone")):
        return {"id_number" if error.code.startswith("id_number") else "phone": error.message}
    if error.code in ("incomplete_coordinates", "invalid_coordinates", "missing_crs", "unknown_crs", "grid_required"):
        return {"location": error.message}
    if error.code in ("bad_geometry", "wrong_geometry_type", "invalid_geometry"):
        return {"location": error.message}
    return {"_form": error.message}


def _status(error: CivicgridError) -> int:
    return status_for(error)


def _form_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "、".join(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()[:10]
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _to(href: str, **query: str) -> RedirectResponse:
    return RedirectResponse(f"{href}?{urlencode(query)}", status_code=303)
