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
from fastapi import Path as InPath
from pydantic import AwareDatetime, BaseModel, Field

from civicgrid.errors import InvalidInputError
from civicgrid.excel import xlsx_response
from civicgrid.http.bounds import (
    CODE_LENGTH,
    CRS_LENGTH,
    GridFilter,
    Id,
    Latitude,
    Limit,
    Longitude,
    Offset,
    RecordId,
    TagFilter,
    TextFilter,
    Version,
)
from civicgrid.http.deps import CurrentActor, ReadSession, WriteSession, protector_of
from civicgrid.http.openapi import XLSX
from civicgrid.http.routing import session_router
from civicgrid.registry import links, objects, objects_import, people, people_import, presenting
from civicgrid.registry.export import export_objects, export_people
from civicgrid.registry.history import MAX_REASON
from civicgrid.registry.kinds import KINDS, MAX_TAGS, TAG_LENGTH, kind_of
from civicgrid.registry.kinds import Field as FieldSpec
from civicgrid.registry.models import RegistryChange, Residence
from civicgrid.registry.people import SEALED, PeopleFilter
from civicgrid.registry.placing import Where
from civicgrid.tables import read_table_bytes

router = session_router(prefix="/api/v1/registry", tags=["登记信息"])
PEOPLE = presenting.PEOPLE_KEY
MAX_UPLOAD = 50 * 1024 * 1024
KindKey = Annotated[
    str,
    InPath(
        max_length=32,
        description="登记类别：people（实有人口）、address、estate、building、house、enterprise、parcel、river、facility",
    ),
]
ObjectKind = Annotated[
    str,
    InPath(
        max_length=32, description="登记类别：address、estate、building、house、enterprise、parcel、river、facility"
    ),
]
AsOf = Annotated[AwareDatetime | None, Query(description="某一时刻（须带时区），返回当时的信息")]
Residency = Annotated[Residence | None, Query(description="居住类型")]
Reason = Annotated[str | None, Field(max_length=MAX_REASON, description="修改原因")]


class Position(BaseModel):
    lon: Longitude | None = None
    lat: Latitude | None = None
    crs: str | None = Field(None, max_length=CRS_LENGTH, description="坐标系：wgs84 或 gcj02；给出坐标或范围时必填")
    geometry: dict[str, Any] | None = Field(default=None, description="GeoJSON 几何（线或面）")
    grid_code: str | None = Field(None, max_length=CODE_LENGTH, description="无坐标时登记到的网格代码")

    def where(self) -> Where:
        return Where(self.lon, self.lat, self.crs, self.geometry, self.grid_code)


def _text(name: str, *, required: bool = False) -> Any:
    """A person's text field as the API declares it: the descriptor's length and label."""
    field = next(f for f in presenting.PERSON_FIELDS if f.name == name)
    return Field(... if required else None, max_length=field.max_length, description=field.label)


Tags = Annotated[
    list[Annotated[str, Field(max_length=TAG_LENGTH)]],
    Field(max_length=MAX_TAGS, description=f"标签（最多{MAX_TAGS}个，每个最多{TAG_LENGTH}字）"),
]


class PersonIn(Position):
    name: str = _text("name", required=True)
    id_number: str | None = _text("id_number")
    phone: str | None = _text("phone")
    residence: Residence = Field(Residence.RESIDENT, description="居住类型")
    household_no: str | None = _text("household_no")
    tags: Tags = Field(default_factory=list)
    address: str | None = _text("address")


class PersonPatch(BaseModel):
    expected_version: Version
    reason: Reason = None
    name: str | None = _text("name")
    id_number: str | None = _text("id_number")
    phone: str | None = _text("phone")
    residence: Residence | None = Field(None, description="居住类型")
    household_no: str | None = _text("household_no")
    tags: Tags | None = None
    address: str | None = _text("address")
    scope_code: str | None = Field(None, max_length=CODE_LENGTH, description="改到此网格（网格代码）")


class ObjectIn(Position):
    values: dict[str, Any] = Field(max_length=40, description="字段名 → 值，字段见 GET /kinds；选项可填代码或名称")


class ObjectPatch(BaseModel):
    expected_version: Version
    reason: Reason = None
    values: dict[str, Any] = Field(default_factory=dict, max_length=40, description="要修改的字段名 → 新值")
    position: Position | None = Field(None, description="新的位置")


class Ending(BaseModel):
    expected_version: Version
    reason: str = Field(max_length=MAX_REASON, description="原因")
    at: AwareDatetime | None = Field(
        default=None, description="时间，须带时区，如 2026-12-01T09:00:00+08:00；不填为现在"
    )


class Reveal(BaseModel):
    reason: str = Field(max_length=MAX_REASON, description="查看（或完整导出）的原因，记入审计日志")


# --- kinds, files -------------------------------------------------------------------------------------------------


@router.get(
    "/kinds",
    summary="登记类别及其字段",
    description="每个类别的字段：字段名、中文名称、类型、是否必填、可选项（代码与名称），供客户端生成表单。",
)
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


@router.get("/{key}/template.xlsx", summary="下载导入模板（Excel）", **XLSX)
def registry_template(key: KindKey, actor: CurrentActor) -> Response:
    content = people_import.people_template() if key == PEOPLE else objects_import.objects_template(key)
    return xlsx_response(content, f"{_label(key)}导入模板.xlsx")


@router.post(
    "/{key}/import",
    summary="批量导入",
    description="返回逐行报告；applied 表示是否已写入（默认全部无误才写入，keep_good 为 true 时写入无误的行）。",
)
async def registry_import(
    request: Request,
    key: KindKey,
    session: WriteSession,
    actor: CurrentActor,
    file: Annotated[UploadFile, File(description="模板格式的 .xlsx、CSV，或 GeoJSON")],
    keep_good: Annotated[bool, Form(description="写入无误的行，跳过有误的行")] = False,
    crs: Annotated[str, Form(max_length=CRS_LENGTH, description="GeoJSON 的坐标系：wgs84 或 gcj02")] = "wgs84",
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


@router.get(
    "/people/export.xlsx",
    summary="导出实有人口（脱敏，Excel）",
    description="证件号码和电话脱敏；导出记入审计日志。",
    **XLSX,
)
def people_export(
    request: Request,
    session: WriteSession,
    actor: CurrentActor,
    grid: GridFilter = None,
    tag: TagFilter = None,
    q: TextFilter = None,
    residence: Residency = None,
) -> Response:
    """Masked; audited."""
    chosen = PeopleFilter(grid_code=grid, tag=tag, text=q, residence=residence)
    return xlsx_response(export_people(session, actor, protector_of(request), chosen), "实有人口.xlsx")


@router.post(
    "/people/export.xlsx",
    summary="完整导出实有人口（Excel）",
    description="含完整证件号码和电话：须有查看完整信息的权限并说明原因，连同筛选条件和人数记入审计日志。",
    **XLSX,
)
def people_export_full(
    request: Request,
    session: WriteSession,
    actor: CurrentActor,
    body: Reveal,
    grid: GridFilter = None,
    tag: TagFilter = None,
    q: TextFilter = None,
    residence: Residency = None,
) -> Response:
    """In full: needs ``registry.reveal`` and a reason; audited with the filters and the count."""
    chosen = PeopleFilter(grid_code=grid, tag=tag, text=q, residence=residence)
    content = export_people(session, actor, protector_of(request), chosen, full=True, reason=body.reason)
    return xlsx_response(content, "实有人口（完整）.xlsx")


@router.get("/{key}/export.xlsx", summary="导出登记对象（Excel）", **XLSX)
def objects_export(
    key: ObjectKind, session: ReadSession, actor: CurrentActor, grid: GridFilter = None, tag: TagFilter = None
) -> Response:
    return xlsx_response(export_objects(session, actor, key, grid_code=grid, tag=tag), f"{_label(key)}.xlsx")


# --- people -------------------------------------------------------------------------------------------------------


@router.get("/people", summary="实有人口列表（脱敏）")
def people_list(
    request: Request,
    session: ReadSession,
    actor: CurrentActor,
    grid: GridFilter = None,
    tag: TagFilter = None,
    q: TextFilter = None,
    residence: Residency = None,
    household_no: Annotated[str | None, Query(max_length=40, description="户号")] = None,
    include_moved_out: Annotated[bool, Query(description="包括已迁出的人员")] = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    chosen = PeopleFilter(grid, tag, q, residence, household_no, include_moved_out)
    rows, total = people.find_people(session, actor, chosen, limit=limit, offset=offset)
    protector = protector_of(request)
    return {"total": total, "items": [presenting.person_json(people.view(row, protector)) for row in rows]}


@router.post("/people", summary="登记人员", status_code=status.HTTP_201_CREATED)
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


@router.get(
    "/people/{person_id}",
    summary="人员详情（脱敏）",
    description="证件号码和电话脱敏；给出 as_of 时返回当时的各项信息（不含证件号码和电话）。",
)
def person_read(
    request: Request, session: ReadSession, actor: CurrentActor, person_id: RecordId, as_of: AsOf = None
) -> dict[str, Any]:
    """Masked; with ``as_of`` the fields as they stood then (identifiers left out)."""
    if as_of is not None:
        return {"as_of": as_of.isoformat(), "values": people.as_of(session, actor, person_id, as_of)}
    return presenting.person_json(people.view(people.get_person(session, actor, person_id), protector_of(request)))


@router.patch("/people/{person_id}", summary="修改人员信息", description="须给出读取时的版本号；他人已修改则返回 409。")
def person_correct(
    request: Request, session: WriteSession, actor: CurrentActor, person_id: RecordId, body: PersonPatch
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


@router.post("/people/{person_id}/move-out", summary="办理迁出")
def person_move_out(
    request: Request, session: WriteSession, actor: CurrentActor, person_id: RecordId, body: Ending
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
    duplicate_id: Id = Field(description="重复记录的人员编号（合并后不再列出）")
    expected_version: Version = Field(description="保留记录读取时的版本号")
    duplicate_version: Version = Field(description="重复记录读取时的版本号")
    reason: str = Field(max_length=MAX_REASON, description="合并原因")


@router.post(
    "/people/{person_id}/merge",
    summary="合并重复人员",
    description="保留本记录，把重复记录合并进来（其关联案件一并转过来）。",
)
def person_merge(
    request: Request, session: WriteSession, actor: CurrentActor, person_id: RecordId, body: Merge
) -> dict[str, Any]:
    """合并重复人员: ``person_id`` is kept, ``duplicate_id`` is merged into it (its case links move over)."""
    versions = (body.expected_version, body.duplicate_version)
    person = people.merge_people(
        session, actor, person_id, body.duplicate_id, expected_versions=versions, reason=body.reason
    )
    return presenting.person_json(people.view(person, protector_of(request)))


@router.post(
    "/people/{person_id}/reveal",
    summary="查看完整证件号码和电话",
    description="须有查看完整信息的权限并说明原因；每次查看记入审计日志。",
)
def person_reveal(
    request: Request, session: WriteSession, actor: CurrentActor, person_id: RecordId, body: Reveal
) -> dict[str, str]:
    """The ID number and phone in full: needs ``registry.reveal`` and a reason; audited."""
    return people.reveal(session, actor, person_id, reason=body.reason, protector=protector_of(request))


@router.get(
    "/people/{person_id}/history", summary="人员变更记录", description="证件号码和电话只显示已变更，不显示内容。"
)
def person_history(session: ReadSession, actor: CurrentActor, person_id: RecordId) -> list[dict[str, Any]]:
    return [_change(change) for change in people.history(session, actor, person_id)]


@router.get("/people/{person_id}/cases", summary="人员关联的案件")
def person_cases(session: ReadSession, actor: CurrentActor, person_id: RecordId) -> list[dict[str, Any]]:
    return [asdict(case) for case in links.cases_of(session, actor, links.PERSON, person_id)]


# --- objects of every other kind -----------------------------------------------------------------------------------


@router.get("/{key}", summary="登记对象列表")
def objects_list(
    key: ObjectKind,
    session: ReadSession,
    actor: CurrentActor,
    grid: GridFilter = None,
    tag: TagFilter = None,
    q: TextFilter = None,
    include_retired: Annotated[bool, Query(description="包括已注销的对象")] = False,
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


@router.post("/{key}", summary="登记对象", status_code=status.HTTP_201_CREATED)
def object_create(key: ObjectKind, session: WriteSession, actor: CurrentActor, body: ObjectIn) -> dict[str, Any]:
    record = objects.register(session, actor, key, body.values, body.where())
    return presenting.object_json(kind_of(key), record)


@router.get("/{key}/{record_id}", summary="登记对象详情", description="给出 as_of 时返回当时的各项信息。")
def object_read(
    key: ObjectKind, session: ReadSession, actor: CurrentActor, record_id: RecordId, as_of: AsOf = None
) -> dict[str, Any]:
    if as_of is not None:
        return {"as_of": as_of.isoformat(), "values": objects.as_of(session, actor, key, record_id, as_of)}
    return presenting.object_json(kind_of(key), objects.get(session, actor, key, record_id))


@router.patch("/{key}/{record_id}", summary="修改登记对象", description="须给出读取时的版本号；他人已修改则返回 409。")
def object_correct(
    key: ObjectKind, session: WriteSession, actor: CurrentActor, record_id: RecordId, body: ObjectPatch
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


@router.post("/{key}/{record_id}/retire", summary="注销登记对象（拆除、注销、撤除）")
def object_retire(
    key: ObjectKind, session: WriteSession, actor: CurrentActor, record_id: RecordId, body: Ending
) -> dict[str, Any]:
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


@router.get("/{key}/{record_id}/history", summary="登记对象变更记录")
def object_history(
    key: ObjectKind, session: ReadSession, actor: CurrentActor, record_id: RecordId
) -> list[dict[str, Any]]:
    return [_change(change) for change in objects.history(session, actor, key, record_id)]


@router.get("/{key}/{record_id}/cases", summary="登记对象关联的案件")
def object_cases(
    key: ObjectKind, session: ReadSession, actor: CurrentActor, record_id: RecordId
) -> list[dict[str, Any]]:
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
