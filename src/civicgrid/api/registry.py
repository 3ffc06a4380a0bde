"""JSON API of the registry: people and every kind of object — list, read (also as of a date), record, correct with
the version read (409 when it changed since), retire or move out, history, the cases naming a record; the audited
full view of a person's identifiers; templates, imports and exports as files.

Everything goes through the services, so the caller's grid scope, masking, versioning and audit are theirs: a
record outside the caller's grids is a 404, identifiers are masked unless revealed (with a reason, audited).
Kinds: ``GET /api/v1/registry/kinds`` describes each kind's fields, so a client can build its forms.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

from fastapi import File, Form, Query, Request, Response, UploadFile, status
from pydantic import AwareDatetime, BaseModel, Field

from civicgrid.errors import InvalidInputError
from civicgrid.excel import xlsx_response
from civicgrid.http.deps import CurrentActor, ReadSession, WriteSession, protector_of
from civicgrid.http.routing import session_router
from civicgrid.registry import links, objects, objects_import, people, people_import, presenting
from civicgrid.registry.export import export_objects, export_people
from civicgrid.registry.kinds import KINDS, kind_of
from civicgrid.registry.kinds import Field as FieldSpec
from civicgrid.registry.models import RegistryChange, Residence
from civicgrid.registry.people import SEALED, PeopleFilter
from civicgrid.registry.placing import Where
from civicgrid.tables import read_table_bytes

router = session_router(prefix="/api/v1/registry", tags=["registry"])
PEOPLE = presenting.PEOPLE_KEY
MAX_UPLOAD = 50 * 1024 * 1024
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0)]


class Position(BaseModel):
    lon: float | None = None
    lat: float | None = None
    crs: str | None = Field(default=None, description="wgs84 | gcj02; required with coordinates or a geometry")
    geometry: dict[str, Any] | None = Field(default=None, description="GeoJSON geometry (a line or an area)")
    grid_code: str | None = None

    def where(self) -> Where:
        return Where(self.lon, self.lat, self.crs, self.geometry, self.grid_code)


class PersonIn(Position):
    name: str
    id_number: str | None = None
    phone: str | None = None
    residence: Residence = Residence.RESIDENT
    household_no: str | None = None
    tags: list[str] = Field(default_factory=list)
    address: str | None = None


class PersonPatch(BaseModel):
    expected_version: int
    reason: str | None = None
    name: str | None = None
    id_number: str | None = None
    phone: str | None = None
    residence: Residence | None = None
    household_no: str | None = None
    tags: list[str] | None = None
    address: str | None = None
    scope_code: str | None = None


class ObjectIn(Position):
    values: dict[str, Any] = Field(description="field name → value, as in GET /kinds; choices by code or label")


class ObjectPatch(BaseModel):
    expected_version: int
    reason: str | None = None
    values: dict[str, Any] = Field(default_factory=dict)
    position: Position | None = None


class Ending(BaseModel):
    expected_version: int
    reason: str
    at: AwareDatetime | None = Field(default=None, description="with its zone, e.g. 2026-12-01T09:00:00+08:00")


class Reveal(BaseModel):
    reason: str


# --- kinds, files -------------------------------------------------------------------------------------------------


@router.get("/kinds")
def registry_kinds(actor: CurrentActor) -> list[dict[str, Any]]:
    """Each kind with its fields: name, Chinese label, type, required, choices (code and label)."""
    kinds: list[tuple[str, str, tuple[FieldSpec, ...], str]] = [(PEOPLE, "实有人口", presenting.PERSON_FIELDS, "point")]
    kinds += [(key, kind.label, kind.all_fields, kind.shape.value) for key, kind in KINDS.items()]
    return [
        {
            "key": key,
            "label": label,
            "shape": shape,
            "fields": [
                {"name": f.name, "label": f.label, "type": f.type.value, "required": f.required, "choices": f.choices}
                for f in fields
            ],
        }
        for key, label, fields, shape in kinds
    ]


@router.get("/{key}/template.xlsx")
def registry_template(key: str, actor: CurrentActor) -> Response:
    content = people_import.people_template() if key == PEOPLE else objects_import.objects_template(key)
    return xlsx_response(content, f"{_label(key)}导入模板.xlsx")


@router.post("/{key}/import")
async def registry_import(
    request: Request,
    key: str,
    session: WriteSession,
    actor: CurrentActor,
    file: Annotated[UploadFile, File()],
    keep_good: Annotated[bool, Form()] = False,
    crs: Annotated[str, Form()] = "wgs84",
) -> dict[str, Any]:
    """The row report; ``applied`` says whether anything was written (all or nothing unless ``keep_good``)."""
    raw = await file.read(MAX_UPLOAD + 1)
    if len(raw) > MAX_UPLOAD:
        raise InvalidInputError("文件超过50MB，请分批导入", code="file_too_large")
    path = Path(file.filename or "upload.xlsx")
    if key == PEOPLE:
        table = read_table_bytes(path, raw)
        report = people_import.import_people(
            session, actor, table, protector_of(request), source=path.name, keep_good=keep_good
        )
    elif path.suffix.lower() in (".geojson", ".json"):
        report = objects_import.import_geojson(session, actor, key, raw, source=path.name, crs=crs, keep_good=keep_good)
    else:
        table = read_table_bytes(path, raw)
        report = objects_import.import_table(session, actor, key, table, source=path.name, keep_good=keep_good)
    return report.to_dict()


@router.get("/people/export.xlsx")
def people_export(
    request: Request,
    session: WriteSession,
    actor: CurrentActor,
    grid: str | None = None,
    tag: str | None = None,
    q: str | None = None,
    residence: Residence | None = None,
) -> Response:
    """Masked; audited."""
    chosen = PeopleFilter(grid_code=grid, tag=tag, text=q, residence=residence)
    return xlsx_response(export_people(session, actor, protector_of(request), chosen), "实有人口.xlsx")


@router.post("/people/export.xlsx")
def people_export_full(
    request: Request,
    session: WriteSession,
    actor: CurrentActor,
    body: Reveal,
    grid: str | None = None,
    tag: str | None = None,
    q: str | None = None,
    residence: Residence | None = None,
) -> Response:
    """In full: needs ``registry.reveal`` and a reason; audited with the filters and the count."""
    chosen = PeopleFilter(grid_code=grid, tag=tag, text=q, residence=residence)
    content = export_people(session, actor, protector_of(request), chosen, full=True, reason=body.reason)
    return xlsx_response(content, "实有人口（完整）.xlsx")


@router.get("/{key}/export.xlsx")
def objects_export(
    key: str, session: ReadSession, actor: CurrentActor, grid: str | None = None, tag: str | None = None
) -> Response:
    return xlsx_response(export_objects(session, actor, key, grid_code=grid, tag=tag), f"{_label(key)}.xlsx")


# --- people -------------------------------------------------------------------------------------------------------


@router.get("/people")
def people_list(
    request: Request,
    session: ReadSession,
    actor: CurrentActor,
    grid: str | None = None,
    tag: str | None = None,
    q: str | None = None,
    residence: Residence | None = None,
    household_no: str | None = None,
    include_moved_out: bool = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    chosen = PeopleFilter(grid, tag, q, residence, household_no, include_moved_out)
    rows, total = people.find_people(session, actor, chosen, limit=limit, offset=offset)
    protector = protector_of(request)
    return {"total": total, "items": [presenting.person_json(people.view(row, protector)) for row in rows]}


@router.post("/people", status_code=status.HTTP_201_CREATED)
def person_create(request: Request, session: WriteSession, actor: CurrentActor, body: PersonIn) -> dict[str, Any]:
    data = people.PersonInput(
        name=body.name,
        id_number=body.id_number,
        phone=body.phone,
        residence=body.residence,
        household_no=body.household_no,
        tags=tuple(body.tags),
        address=body.address,
        lon=body.lon,
        lat=body.lat,
        crs=body.crs,
        grid_code=body.grid_code,
    )
    person = people.register_person(session, actor, data, protector_of(request))
    return presenting.person_json(people.view(person, protector_of(request)))


@router.get("/people/{person_id}")
def person_read(
    request: Request, session: ReadSession, actor: CurrentActor, person_id: int, as_of: AwareDatetime | None = None
) -> dict[str, Any]:
    """Masked; with ``as_of`` the fields as they stood then (identifiers left out)."""
    if as_of is not None:
        return {"as_of": as_of.isoformat(), "values": people.as_of(session, actor, person_id, as_of)}
    return presenting.person_json(people.view(people.get_person(session, actor, person_id), protector_of(request)))


@router.patch("/people/{person_id}")
def person_correct(
    request: Request, session: WriteSession, actor: CurrentActor, person_id: int, body: PersonPatch
) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True, exclude={"expected_version", "reason"})
    if "residence" in changes and changes["residence"] is not None:
        changes["residence"] = Residence(changes["residence"]).value
    person = people.correct_person(
        session,
        actor,
        person_id,
        changes,
        expected_version=body.expected_version,
        protector=protector_of(request),
        reason=body.reason,
    )
    return presenting.person_json(people.view(person, protector_of(request)))


@router.post("/people/{person_id}/move-out")
def person_move_out(
    request: Request, session: WriteSession, actor: CurrentActor, person_id: int, body: Ending
) -> dict[str, Any]:
    person = people.move_out(
        session,
        actor,
        person_id,
        expected_version=body.expected_version,
        reason=body.reason,
        at=body.at,
    )
    return presenting.person_json(people.view(person, protector_of(request)))


class Merge(BaseModel):
    duplicate_id: int
    expected_version: int = Field(description="the kept record's version, as read")
    duplicate_version: int = Field(description="the duplicate's version, as read")
    reason: str


@router.post("/people/{person_id}/merge")
def person_merge(
    request: Request, session: WriteSession, actor: CurrentActor, person_id: int, body: Merge
) -> dict[str, Any]:
    """合并重复人员: ``person_id`` is kept, ``duplicate_id`` is merged into it (its case links move over)."""
    versions = (body.expected_version, body.duplicate_version)
    person = people.merge_people(
        session, actor, person_id, body.duplicate_id, expected_versions=versions, reason=body.reason
    )
    return presenting.person_json(people.view(person, protector_of(request)))


@router.post("/people/{person_id}/reveal")
def person_reveal(
    request: Request, session: WriteSession, actor: CurrentActor, person_id: int, body: Reveal
) -> dict[str, str]:
    """The ID number and phone in full: needs ``registry.reveal`` and a reason; audited."""
    return people.reveal(session, actor, person_id, reason=body.reason, protector=protector_of(request))


@router.get("/people/{person_id}/history")
def person_history(session: ReadSession, actor: CurrentActor, person_id: int) -> list[dict[str, Any]]:
    return [_change(change) for change in people.history(session, actor, person_id)]


@router.get("/people/{person_id}/cases")
def person_cases(session: ReadSession, actor: CurrentActor, person_id: int) -> list[dict[str, Any]]:
    return [asdict(case) for case in links.cases_of(session, actor, links.PERSON, person_id)]


# --- objects of every other kind -----------------------------------------------------------------------------------


@router.get("/{key}")
def objects_list(
    key: str,
    session: ReadSession,
    actor: CurrentActor,
    grid: str | None = None,
    tag: str | None = None,
    q: str | None = None,
    include_retired: bool = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    kind = kind_of(key)
    rows, total = objects.find(
        session,
        actor,
        kind.key,
        grid_code=grid,
        tag=tag,
        text=q,
        include_retired=include_retired,
        limit=limit,
        offset=offset,
    )
    return {"total": total, "items": [presenting.object_json(kind, row) for row in rows]}


@router.post("/{key}", status_code=status.HTTP_201_CREATED)
def object_create(key: str, session: WriteSession, actor: CurrentActor, body: ObjectIn) -> dict[str, Any]:
    record = objects.register(session, actor, key, body.values, body.where())
    return presenting.object_json(kind_of(key), record)


@router.get("/{key}/{record_id}")
def object_read(
    key: str, session: ReadSession, actor: CurrentActor, record_id: int, as_of: AwareDatetime | None = None
) -> dict[str, Any]:
    if as_of is not None:
        return {"as_of": as_of.isoformat(), "values": objects.as_of(session, actor, key, record_id, as_of)}
    return presenting.object_json(kind_of(key), objects.get(session, actor, key, record_id))


@router.patch("/{key}/{record_id}")
def object_correct(
    key: str, session: WriteSession, actor: CurrentActor, record_id: int, body: ObjectPatch
) -> dict[str, Any]:
    where = body.position.where() if body.position is not None else None
    record = objects.correct(
        session,
        actor,
        key,
        record_id,
        body.values,
        expected_version=body.expected_version,
        where=where,
        reason=body.reason,
    )
    return presenting.object_json(kind_of(key), record)


@router.post("/{key}/{record_id}/retire")
def object_retire(key: str, session: WriteSession, actor: CurrentActor, record_id: int, body: Ending) -> dict[str, Any]:
    record = objects.retire(
        session,
        actor,
        key,
        record_id,
        expected_version=body.expected_version,
        reason=body.reason,
        at=body.at,
    )
    return presenting.object_json(kind_of(key), record)


@router.get("/{key}/{record_id}/history")
def object_history(key: str, session: ReadSession, actor: CurrentActor, record_id: int) -> list[dict[str, Any]]:
    return [_change(change) for change in objects.history(session, actor, key, record_id)]


@router.get("/{key}/{record_id}/cases")
def object_cases(key: str, session: ReadSession, actor: CurrentActor, record_id: int) -> list[dict[str, Any]]:
    return [asdict(case) for case in links.cases_of(session, actor, kind_of(key).key, record_id)]


# --- helpers --------------------------------------------------------------------------------------------------------


def _change(change: RegistryChange) -> dict[str, Any]:
    """A sealed field (ID number, phone) shows only that it changed."""
    fields = {name: (["sealed", "changed"] if name in SEALED else old_new) for name, old_new in change.fields.items()}
    return {
        "at": change.at.isoformat(),
        "actor": change.actor_label,
        "action": change.action,
        "reason": change.reason,
        "fields": fields,
    }


def _label(key: str) -> str:
    return "实有人口" if key == PEOPLE else kind_of(key).label.replace("/", "、")
