"""实有人口: recording, correcting and reading the people of the actor's grids.

Every query goes through the actor's grid scope. ID numbers and phones are checked before they are stored, sealed
at rest and shown masked; seeing one in full takes ``REGISTRY_REVEAL`` and a reason, and is an audited event. Every
change — a field correction, a move-out — is a ``RegistryChange`` with the old and new values, written with the
change, and a stale write (someone changed the record since it was read) is refused, not merged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, delete, func, or_, select, update
from sqlalchemy.orm import Session

from civicgrid import audit, timesource
from civicgrid.cases.auth import mask_phone
from civicgrid.cases.models import Placement
from civicgrid.code_prefix import code_in_subtrees, code_starts_with
from civicgrid.db import get_by_id
from civicgrid.errors import ConflictError, InvalidInputError, NotFoundError, Problems
from civicgrid.grid.index import grid_index
from civicgrid.json_list import json_list_has, like_pattern
from civicgrid.org.actor import Actor
from civicgrid.org.roles import Permission
from civicgrid.registry.history import changes_of, diff, record_change, replay, require_reason, require_version
from civicgrid.registry.identifiers import ResidentId, check_mobile, check_resident_id, mask_id_number
from civicgrid.registry.kinds import TAGS, FieldType, parse_value
from civicgrid.registry.kinds import Field as KindField
from civicgrid.registry.models import CaseSubject, Person, RegistryChange, Residence
from civicgrid.registry.placing import Where, place
from civicgrid.registry.protect import Protector
from civicgrid.text import checked_text, optional_text

OBJECT_TYPE = "person"
SEALED = ("id_number", "phone")  # kept sealed in the record and in its history
TRACKED = (
    "name",
    "residence",
    "household_no",
    "house_id",
    "tags",
    "address",
    "lon",
    "lat",
    "scope_code",
    "moved_out_at",
    "merged_into_id",
)
EDITABLE = ("name", "residence", "household_no", "tags", "address", "scope_code", *SEALED)
PERSON_FIELDS = (
    KindField("name", "姓名", required=True, max_length=100),
    KindField("id_number", "身份证号码", max_length=18, note="18位，末位可为X"),
    KindField("phone", "手机号码", max_length=11),
    KindField("residence", "居住类型", FieldType.CHOICE, choices=tuple((r.value, r.label) for r in Residence)),
    KindField("household_no", "户号", max_length=40, note="同一户填相同户号"),
    KindField("address", "地址"),
    TAGS,
)
_FIELD = {field.name: field for field in PERSON_FIELDS}


@dataclass(frozen=True)
class PersonInput:
    name: str
    id_number: str | None = None
    phone: str | None = None
    residence: Residence = Residence.RESIDENT
    household_no: str | None = None
    tags: tuple[str, ...] = ()
    address: str | None = None
    lon: float | None = None
    lat: float | None = None
    crs: str | None = None
    grid_code: str | None = None  # where to keep a record without coordinates (the grid worker's own grid)


@dataclass(frozen=True)
class PeopleFilter:
    """Which people a list, an export or a campaign is about (``text``: part of the name or the address)."""

    grid_code: str | None = None
    tag: str | None = None
    text: str | None = None
    residence: Residence | None = None
    household_no: str | None = None
    include_moved_out: bool = False


@dataclass(frozen=True)
class PersonView:
    """A person as the actor may see them: ID number and phone masked."""

    id: int
    name: str
    id_number: str | None
    phone: str | None
    birth_date: dt.date | None
    male: bool | None
    residence: Residence
    household_no: str | None
    tags: tuple[str, ...]
    address: str | None
    scope_code: str
    placement: Placement
    moved_out: bool
    version: int


def register_person(session: Session, actor: Actor, data: PersonInput, protector: Protector) -> Person:
    """A new person in the actor's grids; the same ID number registered twice is refused with the existing record."""
    actor.require(Permission.REGISTRY_WRITE, "登记人口信息")
    columns = person_columns(check_person(data), protector)
    if columns["id_number_index"]:
        _refuse_duplicate(session, Person(), columns["id_number_index"])
    person = Person(**columns)
    _place(session, actor, person, data)
    session.add(person)
    session.flush()
    record_change(session, actor, OBJECT_TYPE, person.id, "create", diff({}, _tracked(person)))
    return person


@dataclass(frozen=True)
class CheckedPerson:
    """A person's own fields, checked (the ID number read: birth date and sex), before sealing and placing."""

    name: str
    resident_id: ResidentId | None
    phone: str | None
    residence: Residence
    household_no: str | None
    tags: list[str]
    address: str | None


def check_person(data: PersonInput) -> CheckedPerson:
    """Everything about a new person that needs no database: name, ID number (GB 11643), mobile, tags."""
    problems = Problems()  # every wrong field named at once
    id_number = problems.check(lambda: _value("id_number", data.id_number), None)
    phone = problems.check(lambda: _value("phone", data.phone), None)
    name = problems.check(lambda: _name(data.name), "")
    resident_id = problems.check(lambda: check_resident_id(id_number), None) if id_number else None
    mobile = problems.check(lambda: check_mobile(phone), None) if phone else None
    household_no = problems.check(lambda: _value("household_no", data.household_no), None)
    address = problems.check(lambda: _value("address", data.address), None)
    problems.raise_any()
    return CheckedPerson(
        name=name,
        resident_id=resident_id,
        phone=mobile,
        residence=data.residence,
        household_no=household_no,
        tags=_tags(data.tags),
        address=address,
    )


def person_columns(checked: CheckedPerson, protector: Protector) -> dict[str, Any]:
    """The registry_person columns of a checked person, identifiers sealed and blind-indexed (not yet placed)."""
    resident = checked.resident_id
    columns: dict[str, Any] = {"name": checked.name, "residence": checked.residence.value, "tags": checked.tags}
    columns |= {"household_no": checked.household_no, "address": checked.address}
    columns |= {"birth_date": resident.birth_date if resident else None, "male": resident.male if resident else None}
    for name, value in (("id_number", resident.number if resident else None), ("phone", checked.phone)):
        column = f"person.{name}"
        columns[f"{name}_sealed"] = protector.seal(value, column) if value else None
        columns[f"{name}_index"] = protector.blind_index(value, column) if value else None
    return columns


def tracked_values(row: Mapping[str, Any]) -> dict[str, Any]:
    """The versioned fields of a person given as columns (a record's or a row about to be inserted)."""
    values: dict[str, Any] = {name: row.get(name) for name in TRACKED}
    values["tags"] = list(row.get("tags") or [])
    if values["moved_out_at"] is not None:
        values["moved_out_at"] = values["moved_out_at"].isoformat()
    values["id_number"] = row.get("id_number_sealed")
    values["phone"] = row.get("phone_sealed")
    return values


def correct_person(
    session: Session,
    actor: Actor,
    person_id: int,
    changes: Mapping[str, Any],
    *,
    expected_version: int,
    protector: Protector,
    reason: str | None = None,
) -> Person:
    """Change some fields of a person (a grid worker's correction in the field). ``expected_version`` is the version
    the actor read: if the record changed since, nothing is changed and a conflict is raised."""
    actor.require(Permission.REGISTRY_WRITE, "修改人口信息")
    person = _in_scope(session, actor, person_id)
    require_version(person.version, expected_version)
    before = _tracked(person)
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise InvalidInputError(f"不能修改的字段：{'、'.join(unknown)}", code="unknown_field")
    _apply(session, actor, person, changes, protector)
    changed = diff(before, _tracked(person))
    if not changed:
        return person
    person.updated_at = timesource.now()
    session.flush()
    record_change(session, actor, OBJECT_TYPE, person.id, "update", changed, reason)
    return person


def move_out(
    session: Session, actor: Actor, person_id: int, *, expected_version: int, reason: str, at: dt.datetime | None = None
) -> Person:
    """The person left the grid (迁出): kept, with the date, and no longer counted as living there."""
    actor.require(Permission.REGISTRY_WRITE, "办理迁出")
    person = _in_scope(session, actor, person_id)
    require_version(person.version, expected_version)
    if person.moved_out_at is not None:
        raise ConflictError("该人员已迁出", code="already_moved_out")
    moment = at or timesource.now()
    person.moved_out_at = moment
    person.updated_at = timesource.now()
    session.flush()
    fields = {"moved_out_at": [None, moment.isoformat()]}
    record_change(session, actor, OBJECT_TYPE, person.id, "move_out", fields, require_reason(reason))
    return person


def list_people(
    session: Session,
    actor: Actor,
    *,
    grid_code: str | None = None,
    tag: str | None = None,
    include_moved_out: bool = False,
    limit: int = 200,
) -> list[Person]:
    chosen = PeopleFilter(grid_code=grid_code, tag=tag, include_moved_out=include_moved_out)
    return find_people(session, actor, chosen, limit=limit)[0]


def find_people(
    session: Session, actor: Actor, chosen: PeopleFilter | None = None, *, limit: int = 50, offset: int = 0
) -> tuple[list[Person], int]:
    """One page of the people in the actor's grids matching the filters, and how many match in all. Merged
    duplicates are never listed."""
    chosen = chosen or PeopleFilter()
    stmt = matching(actor, chosen)
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    page = stmt.order_by(Person.scope_code, Person.id).limit(limit).offset(offset)
    return list(session.scalars(page)), total


def matching(actor: Actor, chosen: PeopleFilter) -> Select[Any]:
    """The people in the actor's grids matching the filters (for a page, an export, a campaign's targets)."""
    actor.require(Permission.REGISTRY_READ, "查看人口信息")
    stmt = select(Person).where(code_in_subtrees(Person.scope_code, actor.grid_codes), Person.merged_into_id.is_(None))
    if chosen.grid_code:
        stmt = stmt.where(code_starts_with(Person.scope_code, chosen.grid_code))
    if chosen.tag:
        stmt = stmt.where(json_list_has(Person.tags, chosen.tag))
    if chosen.text and chosen.text.strip():
        pattern = like_pattern(chosen.text)
        stmt = stmt.where(or_(Person.name.like(pattern, escape="/"), Person.address.like(pattern, escape="/")))
    if chosen.residence is not None:
        stmt = stmt.where(Person.residence == chosen.residence.value)
    if chosen.household_no:
        stmt = stmt.where(Person.household_no == chosen.household_no.strip())
    if not chosen.include_moved_out:
        stmt = stmt.where(Person.moved_out_at.is_(None))
    return stmt


def get_person(session: Session, actor: Actor, person_id: int) -> Person:
    actor.require(Permission.REGISTRY_READ, "查看人口信息")
    return _in_scope(session, actor, person_id)


def view(person: Person, protector: Protector) -> PersonView:
    """What every reader sees: the identifiers masked (the ID number 1101**********002X, the phone 138****5678)."""
    id_number, phone = opened(person, protector)
    return PersonView(
        id=person.id,
        name=person.name,
        id_number=mask_id_number(id_number),
        phone=mask_phone(phone),
        birth_date=person.birth_date,
        male=person.male,
        residence=Residence(person.residence),
        household_no=person.household_no,
        tags=tuple(person.tags or ()),
        address=person.address,
        scope_code=person.scope_code,
        placement=Placement(person.placement),
        moved_out=person.moved_out_at is not None,
        version=person.version,
    )


def reveal(session: Session, actor: Actor, person_id: int, *, reason: str, protector: Protector) -> dict[str, str]:
    """The ID number and phone in full, for an actor with ``REGISTRY_REVEAL`` who says why; the audit log records
    who, when, which record and the reason, in the same transaction."""
    actor.require(Permission.REGISTRY_REVEAL, "查看完整身份证号码和电话")
    person = get_person(session, actor, person_id)
    why = require_reason(reason)
    id_number, phone = opened(person, protector)
    shown = {name: value for name, value in (("id_number", id_number), ("phone", phone)) if value}
    audit.record(session, actor, "registry.reveal", OBJECT_TYPE, person.id, {"reason": why, "fields": sorted(shown)})
    return shown


def as_of(session: Session, actor: Actor, person_id: int, moment: dt.datetime) -> dict[str, Any] | None:
    """The tracked fields as they stood at ``moment`` (None: not yet registered then), replayed from the history."""
    person = get_person(session, actor, person_id)
    return replay(changes_of(session, OBJECT_TYPE, person.id, until=moment), hidden=SEALED)


def history(session: Session, actor: Actor, person_id: int) -> list[RegistryChange]:
    return changes_of(session, OBJECT_TYPE, get_person(session, actor, person_id).id)


def merge_people(
    session: Session,
    actor: Actor,
    kept_id: int,
    duplicate_id: int,
    *,
    expected_versions: tuple[int, int],
    reason: str,
) -> Person:
    """Two records of one person become one (合并重复人员): the kept record takes what it lacks from the duplicate
    (ID number, phone, household, address, house, tags), the duplicate stays — marked merged into the kept one,
    no longer listed or counted — and its case links move over. Both records' histories say so, with the reason.
    Records with two different ID numbers are two people and are not merged."""
    actor.require(Permission.REGISTRY_WRITE, "合并重复人员")
    if kept_id == duplicate_id:
        raise InvalidInputError("不能与自身合并", code="merge_same_person")
    kept, duplicate = _in_scope(session, actor, kept_id), _in_scope(session, actor, duplicate_id)
    for person, expected in zip((kept, duplicate), expected_versions, strict=True):
        if person.merged_into_id is not None:
            raise ConflictError(f"人员{person.id}已合并到人员{person.merged_into_id}", code="already_merged")
        require_version(person.version, expected)
    if kept.id_number_index and duplicate.id_number_index and kept.id_number_index != duplicate.id_number_index:
        raise ConflictError("两条记录的身份证号码不同，不是同一人，不能合并", code="merge_different_people")
    why = require_reason(reason)
    before_kept, before_duplicate = _tracked(kept), _tracked(duplicate)
    _take_over(session, kept, duplicate)
    duplicate.merged_into_id = kept.id
    kept.updated_at = duplicate.updated_at = timesource.now()
    session.flush()
    merged_from = diff(before_kept, _tracked(kept)) | {"merged_from": [None, duplicate.id]}
    record_change(session, actor, OBJECT_TYPE, kept.id, "merge", merged_from, why)
    record_change(session, actor, OBJECT_TYPE, duplicate.id, "merge", diff(before_duplicate, _tracked(duplicate)), why)
    _move_case_links(session, duplicate.id, kept.id)
    return kept


# --- the parts --------------------------------------------------------------------------------------------------


IDENTIFIER_INPUT_LENGTH = 40  # an ID number or phone as typed, with spaces or dashes, before its own check


def _value(name: str, raw: Any) -> Any:
    """A field of a person, checked by its descriptor (``PERSON_FIELDS``): length, storable text, choices. An ID
    number or a phone only as text here; its own rules (``registry.identifiers``) read it then."""
    if name in SEALED:
        return optional_text(raw, IDENTIFIER_INPUT_LENGTH, _FIELD[name].label, name)
    return parse_value(_FIELD[name], raw)


def _name(value: str) -> str:
    name: str = _value("name", value)
    return name


def _tags(values: Sequence[str]) -> list[str]:
    tags: list[str] = _value("tags", list(values or ()))
    return tags


def _set_identifiers(
    session: Session, person: Person, id_number: str | None, phone: str | None, protector: Protector
) -> None:
    id_number, phone = _value("id_number", id_number), _value("phone", phone)
    if id_number:
        checked = check_resident_id(id_number)
        index = protector.blind_index(checked.number, "person.id_number")
        _refuse_duplicate(session, person, index)
        person.id_number_sealed = protector.seal(checked.number, "person.id_number")
        person.id_number_index = index
        person.birth_date, person.male = checked.birth_date, checked.male
    if phone:
        number = check_mobile(phone)
        person.phone_sealed = protector.seal(number, "person.phone")
        person.phone_index = protector.blind_index(number, "person.phone")


def _refuse_duplicate(session: Session, person: Person, index: str) -> None:
    existing = session.execute(
        select(Person.id, Person.scope_code).where(Person.id_number_index == index, Person.id != (person.id or 0))
    ).first()
    if existing is not None:
        raise ConflictError(
            f"该身份证号码已登记（人员编号{existing.id}），请修改已有记录或合并",
            code="duplicate_person",
            detail={"person_id": existing.id},
        )


def _place(session: Session, actor: Actor, person: Person, data: PersonInput) -> None:
    where = Where(lon=data.lon, lat=data.lat, crs=data.crs, grid_code=data.grid_code)
    placed = place(session, actor, where, (), "在该网格登记人口")
    person.lon, person.lat, person.placement = placed.lon, placed.lat, placed.placement.value
    person.grid_node_id, person.scope_code = placed.grid_node_id, placed.scope_code


def _apply(session: Session, actor: Actor, person: Person, changes: Mapping[str, Any], protector: Protector) -> None:
    for name, value in changes.items():
        if name in SEALED:
            _set_identifiers(
                session,
                person,
                value if name == "id_number" else None,
                value if name == "phone" else None,
                protector,
            )
        elif name == "name":
            person.name = _name(value)
        elif name == "residence":
            person.residence = _value("residence", value)
        elif name == "tags":
            person.tags = _tags(value)
        elif name == "scope_code":
            value = checked_text(value or "", 32, "所属网格", "scope_code")
            actor.require_grid(value, "把人员移到该网格")
            person.scope_code, person.placement = value, Placement.MANUAL.value
            person.grid_node_id = grid_index(session).ids_by_code.get(value)
        else:
            setattr(person, name, _value(name, value))


def _take_over(session: Session, kept: Person, duplicate: Person) -> None:
    if not kept.id_number_index and duplicate.id_number_index:
        sealed, index = duplicate.id_number_sealed, duplicate.id_number_index
        duplicate.id_number_index = None  # the index is unique: free it before the kept record takes it
        session.flush()
        kept.id_number_sealed, kept.id_number_index = sealed, index
        kept.birth_date, kept.male = duplicate.birth_date, duplicate.male
    if not kept.phone_sealed and duplicate.phone_sealed:
        kept.phone_sealed, kept.phone_index = duplicate.phone_sealed, duplicate.phone_index
    for name in ("household_no", "address", "house_id"):
        if getattr(kept, name) is None:
            setattr(kept, name, getattr(duplicate, name))
    kept.tags = _tags([*(kept.tags or []), *(duplicate.tags or [])])


def _move_case_links(session: Session, from_id: int, to_id: int) -> None:
    """The duplicate's cases now name the kept record; a case that named both keeps one link."""
    already = select(CaseSubject.case_id).where(CaseSubject.object_type == OBJECT_TYPE, CaseSubject.object_id == to_id)
    of_duplicate = (CaseSubject.object_type == OBJECT_TYPE, CaseSubject.object_id == from_id)
    session.execute(delete(CaseSubject).where(*of_duplicate, CaseSubject.case_id.in_(already)))
    session.execute(update(CaseSubject).where(*of_duplicate).values(object_id=to_id))


def _tracked(person: Person) -> dict[str, Any]:
    return tracked_values({name: getattr(person, name) for name in (*TRACKED, "id_number_sealed", "phone_sealed")})


def _in_scope(session: Session, actor: Actor, person_id: int) -> Person:
    person = get_by_id(session, Person, person_id)
    if person is None or not actor.covers_grid(person.scope_code):
        raise NotFoundError(f"找不到人员{person_id}，或不在管辖范围内", code="person_not_found")
    return person


def opened(person: Person, protector: Protector) -> tuple[str | None, str | None]:
    id_number = protector.open(person.id_number_sealed, "person.id_number") if person.id_number_sealed else None
    phone = protector.open(person.phone_sealed, "person.phone") if person.phone_sealed else None
    return id_number, phone
