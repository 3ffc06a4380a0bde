"""Registry records as people read them — on the pages and through the API: each field with its Chinese label and
its value in words (a choice by its label, a reference by the other record's name, a date as a date), people
always masked, and the history as "who, when, what changed from what to what" with sealed values never shown."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid.grid.index import grid_index
from civicgrid.org.actor import name_in
from civicgrid.org.models import Department
from civicgrid.registry.kinds import Field, FieldType, Kind, kind_of
from civicgrid.registry.models import PERSON_TAGS, PlacedObject, RegistryChange, Residence
from civicgrid.registry.people import PERSON_FIELDS, SEALED, PersonView

PEOPLE_KEY = "people"
__all__ = ["PERSON_FIELDS"]  # the people descriptors live with the service that checks them
PERSON_LABELS = {field.name: field.label for field in PERSON_FIELDS} | {
    "house_id": "所住房屋",
    "moved_out_at": "迁出时间",
    "merged_into_id": "合并到",
    "merged_from": "合并自",
}
POSITION_LABELS = {"lon": "经度", "lat": "纬度", "placement": "定位", "scope_code": "所属网格", "geometry": "范围"}
PLACEMENT_LABELS = {
    "located": "已落图",
    "outside": "在网格范围外（已标记）",
    "manual": "按网格登记",
    "no_location": "无坐标",
}
ACTION_LABELS = {"create": "登记", "update": "修改", "retire": "注销", "move_out": "迁出", "merge": "合并"}
ACTION_LABELS |= {"import": "导入"}


@dataclass(frozen=True)
class Shown:
    label: str
    text: str
    href: str | None = None


@dataclass(frozen=True)
class ChangeShown:
    at: dt.datetime
    who: str
    action: str
    reason: str | None
    items: list[tuple[str, str, str]]  # label, before, after


def person_tag_choices() -> tuple[str, ...]:
    return PERSON_TAGS


def object_values(session: Session, kind: Kind, record: PlacedObject) -> list[Shown]:
    """Every field of the record, in words."""
    shown = [_shown(session, kind, field, getattr(record, field.name)) for field in kind.all_fields]
    shown.append(Shown("定位", PLACEMENT_LABELS.get(record.placement, record.placement)))
    shown.append(Shown("所属网格", grid_index(session).name_of(record.scope_code)))
    if record.lon is not None and record.lat is not None:
        shown.append(Shown("经纬度", f"{record.lon:.6f}, {record.lat:.6f}"))
    if record.retired_at is not None:
        shown.append(Shown("注销时间", record.retired_at.date().isoformat()))
    return shown


def object_json(kind: Kind, record: PlacedObject) -> dict[str, Any]:
    """The record for the API: stored values (choices by code), position, version."""
    values = {field.name: _plain(getattr(record, field.name)) for field in kind.all_fields}
    values |= {"id": record.id, "kind": kind.key, "lon": record.lon, "lat": record.lat, "placement": record.placement}
    values |= {"scope_code": record.scope_code, "version": record.version, "retired_at": _plain(record.retired_at)}
    return values


def person_values(view: PersonView, grid_name: str) -> list[Shown]:
    """A person as everyone without the reveal permission sees them: identifiers masked."""
    sex = "" if view.male is None else ("男" if view.male else "女")
    return [
        Shown("姓名", view.name),
        Shown("身份证号码", view.id_number or "（未登记）"),
        Shown("出生日期", view.birth_date.isoformat() if view.birth_date else ""),
        Shown("性别", sex),
        Shown("手机号码", view.phone or "（未登记）"),
        Shown("居住类型", view.residence.label),
        Shown("户号", view.household_no or ""),
        Shown("地址", view.address or ""),
        Shown("标签", "、".join(view.tags)),
        Shown("定位", PLACEMENT_LABELS.get(view.placement.value, view.placement.value)),
        Shown("所属网格", grid_name),
        Shown("状态", "已迁出" if view.moved_out else "在册"),
    ]


def person_json(view: PersonView) -> dict[str, Any]:
    return {
        "id": view.id,
        "name": view.name,
        "id_number": view.id_number,
        "phone": view.phone,
        "birth_date": _plain(view.birth_date),
        "male": view.male,
        "residence": view.residence.value,
        "household_no": view.household_no,
        "tags": list(view.tags),
        "address": view.address,
        "scope_code": view.scope_code,
        "placement": view.placement.value,
        "moved_out": view.moved_out,
        "version": view.version,
    }


def changes_shown(changes: Sequence[RegistryChange], labels: Mapping[str, str]) -> list[ChangeShown]:
    """The history, newest first; a sealed field (ID number, phone) shows only that it changed."""
    return [
        ChangeShown(
            at=change.at,
            who=name_in(change.actor_label),
            action=ACTION_LABELS.get(change.action, change.action),
            reason=change.reason,
            items=[_item(name, old_new, labels) for name, old_new in change.fields.items()],
        )
        for change in reversed(changes)
    ]


def values_as_of(values: Mapping[str, Any] | None, labels: Mapping[str, str]) -> list[Shown] | None:
    """A replayed record (``as_of``) with labels; sealed values were left out by the replay."""
    if values is None:
        return None
    return [Shown(labels.get(name, name), _text(value)) for name, value in values.items() if name not in SEALED]


def labels_of(kind_key: str) -> dict[str, str]:
    if kind_key == PEOPLE_KEY:
        return PERSON_LABELS | POSITION_LABELS
    return (
        {field.name: field.label for field in kind_of(kind_key).all_fields}
        | POSITION_LABELS
        | {"retired_at": "注销时间"}
    )


def _item(name: str, old_new: list[Any], labels: Mapping[str, str]) -> tuple[str, str, str]:
    old, new = [*old_new, None, None][:2]
    if name in SEALED:
        after = "已清除" if new is None else ("已登记" if old is None else "已修改")
        return labels.get(name, name), "" if old is None else "（已加密）", after
    words = _IN_WORDS.get(name, _text)
    return labels.get(name, name), words(old), words(new)


def _label_of(labels: Mapping[str, str]) -> Callable[[Any], str]:
    return lambda value: "" if value is None else labels.get(str(value), str(value))


# stored codes a history shows in words
_IN_WORDS: dict[str, Callable[[Any], str]] = {
    "residence": _label_of({residence.value: residence.label for residence in Residence}),
    "placement": _label_of(PLACEMENT_LABELS),
}


def _shown(session: Session, kind: Kind, field: Field, value: Any) -> Shown:
    if value is None or value == []:
        return Shown(field.label, "")
    if field.type is FieldType.REF:
        target = kind_of(field.ref)
        name = session.execute(select(target.model.name).where(target.model.id == value)).scalar()
        return Shown(field.label, name or f"编号{value}", f"/registry/{target.key}/{value}")
    if field.type is FieldType.DEPARTMENT:
        department = session.get(Department, value)
        return Shown(field.label, department.name if department else f"部门{value}")
    if field.type is FieldType.CHOICE:
        return Shown(field.label, field.label_of(value))
    return Shown(field.label, _text(value))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "、".join(str(item) for item in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date | dt.datetime) else value
