"""Case types (with their extra fields) and the category taxonomy (with default department, priority and limits).

Limits are per stage — register (立案), dispatch (派遣), handle (处置), verify (核查) — each a value with a unit
(hours / days of working time). A category without its own limit for a stage inherits its parent's, then the
defaults below.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid import audit
from civicgrid.cases.models import CaseType, Category
from civicgrid.errors import ConflictError, InvalidInputError, NotFoundError
from civicgrid.importing import ImportReport
from civicgrid.org.actor import Actor
from civicgrid.org.roles import Permission
from civicgrid.org.service import get_department
from civicgrid.text import checked_text, clean_label
from civicgrid.worktime.calendar import parse_limit
from civicgrid.worktime.service import load_calendar

STAGES = ("register", "dispatch", "handle", "verify")
STAGE_LABELS = {"register": "立案", "dispatch": "派遣", "handle": "处置", "verify": "核查"}
DEFAULT_LIMITS: dict[str, dict[str, Any]] = {
    "register": {"value": 2, "unit": "hours"},
    "dispatch": {"value": 1, "unit": "hours"},
    "handle": {"value": 5, "unit": "days"},
    "verify": {"value": 1, "unit": "days"},
}
UNITS = {"hours": "hours", "小时": "hours", "days": "days", "工作日": "days", "天": "days", "日": "days"}
FIELD_TYPES = ("text", "integer", "number", "boolean", "date", "choice")
CODE_DIGITS_PER_LEVEL = 2


# --- case types ----------------------------------------------------------------------------------------------


def _field(
    name: str, label: str, kind: str = "text", *, required: bool = False, choices: list[str] | None = None
) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": name, "label": label, "type": kind, "required": required}
    if choices:
        spec["choices"] = choices
    return spec


BUILTIN_TYPES: tuple[tuple[str, str, list[dict[str, Any]]], ...] = (
    ("city_management", "城市管理事件/部件问题", [_field("component_code", "部件编码")]),
    (
        "hotline",
        "12345诉求",
        [
            _field("ticket_no", "热线工单号"),
            _field("appeal_kind", "诉求类型", "choice", choices=["咨询", "求助", "投诉", "举报", "建议", "表扬"]),
        ],
    ),
    (
        "dispute",
        "矛盾纠纷",
        [
            _field("parties", "当事人", required=True),
            _field("mediator", "调解员"),
            _field("agreement_reached", "是否达成调解协议", "boolean"),
        ],
    ),
    ("petition", "信访", [_field("owner_leader", "包案领导", required=True), _field("petition_no", "信访件编号")]),
    (
        "safety_hazard",
        "安全隐患",
        [
            _field("unit_inspected", "检查单位", required=True),
            _field("hazard_level", "隐患等级", "choice", required=True, choices=["一般", "较大", "重大"]),
        ],
    ),
    ("ecology", "生态环境问题", [_field("monitoring_point", "监测点位"), _field("indicator", "超标指标")]),
    (
        "proposal",
        "人大建议/政协提案",
        [_field("proposal_no", "建议提案编号", required=True), _field("proposer", "提出人", required=True)],
    ),
    (
        "rectification",
        "督察整改",
        [_field("batch", "督察批次", required=True), _field("item_no", "整改事项编号", required=True)],
    ),
)


def ensure_builtin_types(session: Session) -> int:
    """Create the built-in case types that are missing; never overwrites an admin's edits. Returns how many."""
    existing = set(session.execute(select(CaseType.code)).scalars())
    created = 0
    for code, name, fields in BUILTIN_TYPES:
        if code not in existing:
            session.add(CaseType(code=code, name=name, fields=fields))
            created += 1
    session.flush()
    return created


def create_case_type(session: Session, actor: Actor, *, code: str, name: str, fields: list[dict[str, Any]]) -> CaseType:
    actor.require(Permission.CASE_CONFIGURE, "配置案件类型")
    code = code.strip()
    if not code.isascii() or not code.replace("_", "").isalnum() or not 1 <= len(code) <= 32:
        raise InvalidInputError(f"类型代码“{code}”无效：1–32位字母、数字或下划线", code="invalid_type_code")
    if session.get(CaseType, code) is not None:
        raise ConflictError(f"案件类型“{code}”已存在", code="duplicate_type")
    case_type = CaseType(code=code, name=clean_label(name, max_length=50, what="类型名称"), fields=check_fields(fields))
    session.add(case_type)
    session.flush()
    audit.record(session, actor, "case.type.create", "case_type", code, {"fields": [f["name"] for f in fields]})
    return case_type


def check_fields(fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Validate a type's field declarations."""
    names: set[str] = set()
    for index, spec in enumerate(fields, start=1):
        name = str(spec.get("name", "")).strip()
        if not name.isidentifier() or name in names:
            raise InvalidInputError(f"第{index}个字段名“{name}”无效或重复", code="invalid_field")
        if spec.get("type", "text") not in FIELD_TYPES:
            raise InvalidInputError(
                f"字段“{name}”的类型“{spec.get('type')}”无效，可用：{'、'.join(FIELD_TYPES)}", code="invalid_field"
            )
        if spec.get("type") == "choice" and not spec.get("choices"):
            raise InvalidInputError(f"选择字段“{name}”必须给出选项", code="invalid_field")
        names.add(name)
    return [{**spec, "type": spec.get("type", "text"), "required": bool(spec.get("required"))} for spec in fields]


def validate_extra(case_type: CaseType, extra: Mapping[str, Any]) -> dict[str, Any]:
    """Check a case's extra fields against its type: unknown names refused, required present, values typed."""
    declared = {spec["name"]: spec for spec in case_type.fields}
    unknown = sorted(str(name)[:40] for name in set(extra) - set(declared))[:10]
    if unknown:
        raise InvalidInputError(
            f"“{case_type.name}”没有字段：{'、'.join(unknown)}", code="unknown_field", detail={"fields": unknown}
        )
    cleaned: dict[str, Any] = {}
    for name, spec in declared.items():
        value = extra.get(name)
        if value is None or value == "":
            if spec.get("required"):
                raise InvalidInputError(
                    f"“{case_type.name}”必须填写“{spec['label']}”", code="field_required", detail={"field": name}
                )
            continue
        cleaned[name] = _typed(spec, value)
    return cleaned


MAX_EXTRA_NUMBER = 1e15  # far beyond any count or amount a case records; JSON holds no infinity
MAX_EXTRA_TEXT = 1000


def _typed(spec: dict[str, Any], value: Any) -> Any:
    kind, label = spec["type"], spec["label"]
    try:
        if kind in ("integer", "number"):
            number = int(value) if kind == "integer" else float(value)
            if not abs(number) <= MAX_EXTRA_NUMBER:
                raise ValueError(label)
            return number
        if kind == "boolean":
            return _boolean(value)
        if kind == "date":
            return dt.date.fromisoformat(str(value)).isoformat()
    except (TypeError, ValueError, OverflowError) as error:
        raise InvalidInputError(
            f"“{label}”的值格式不正确", code="invalid_field_value", detail={"field": spec["name"]}
        ) from error
    text = checked_text(value, MAX_EXTRA_TEXT, f"“{label}”", spec["name"])
    if kind == "choice" and text not in spec["choices"]:
        raise InvalidInputError(
            f"“{label}”只能是：{'、'.join(spec['choices'])}", code="invalid_field_value", detail={"value": text}
        )
    return text


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "是", "y"):
        return True
    if text in ("0", "false", "no", "否", "n"):
        return False
    raise ValueError(value)


def get_case_type(session: Session, code: str) -> CaseType:
    case_type = session.get(CaseType, code)
    if case_type is None or not case_type.is_active:
        raise NotFoundError(f"案件类型“{code}”不存在或已停用", code="case_type_not_found")
    return case_type


# --- categories ----------------------------------------------------------------------------------------------


def normalise_limits(limits: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """{"handle": {"value": 4, "unit": "hours"}} with units checked; "4h" / "15d" / "15工作日" shorthands accepted."""
    result: dict[str, dict[str, Any]] = {}
    for stage, raw in limits.items():
        if stage not in STAGES:
            raise InvalidInputError(f"未知环节“{stage}”，可用：{'、'.join(STAGES)}", code="invalid_limit")
        value, unit = _limit_parts(raw)
        if not 0 < value <= 3650:
            raise InvalidInputError(f"{STAGE_LABELS[stage]}时限“{raw}”必须大于0", code="invalid_limit")
        result[stage] = {"value": value, "unit": unit}
    return result


def _limit_parts(raw: Any) -> tuple[float, str]:
    if isinstance(raw, Mapping):
        value, unit = raw.get("value"), str(raw.get("unit", "hours"))
    else:
        text = str(raw).strip().lower()
        for suffix, unit_name in (("工作日", "days"), ("小时", "hours"), ("h", "hours"), ("d", "days"), ("天", "days")):
            if text.endswith(suffix):
                value, unit = text[: -len(suffix)], unit_name
                break
        else:
            raise InvalidInputError(f"时限“{raw}”无法识别：如 4小时、15工作日、4h、15d", code="invalid_limit")
    if unit not in UNITS:
        raise InvalidInputError(f"时限单位“{unit}”无效：小时 或 工作日", code="invalid_limit")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as error:
        raise InvalidInputError(f"时限“{raw}”不是数字", code="invalid_limit") from error
    return (int(number) if number.is_integer() else number), UNITS[unit]


def effective_limits(category: Category | None) -> dict[str, dict[str, Any]]:
    """The limits that apply: own, then inherited from ancestors, then the defaults."""
    chain: list[Category] = []
    current = category
    while current is not None:
        chain.append(current)
        current = current.parent
    limits = dict(DEFAULT_LIMITS)
    for node in reversed(chain):
        limits.update(node.limits or {})
    return limits


LIMIT_UNIT_LABELS = {"hours": "小时", "days": "工作日"}
MAX_LIMIT_VALUE = 3650


def check_stage_limit(stage: str, value: Any, unit: str, day_minutes: int) -> dict[str, Any]:
    """One stage's limit as a form gives it (a number and 小时/工作日), checked against the bounds of the deadline
    clock: positive, at least a minute, at most MAX_LIMIT_WORKING_DAYS working days. Errors name the stage in
    ``detail["stage"]`` so a page can show them next to that stage's field."""
    if stage not in STAGES:
        raise InvalidInputError(f"未知环节“{stage}”，可用：{'、'.join(STAGES)}", code="invalid_limit")
    label = STAGE_LABELS[stage]
    detail = {"stage": stage}
    if unit not in LIMIT_UNIT_LABELS:
        raise InvalidInputError(f"{label}时限的单位无效：请选择 小时 或 工作日", code="invalid_limit", detail=detail)
    try:
        number = float(str(value).strip())
    except ValueError as error:
        raise InvalidInputError(f"{label}时限须为数字，如 4 或 1.5", code="invalid_limit", detail=detail) from error
    if not math.isfinite(number) or number <= 0:
        raise InvalidInputError(f"{label}时限须大于0", code="invalid_limit", detail=detail)
    if number > MAX_LIMIT_VALUE:
        raise InvalidInputError(f"{label}时限过长：最多{MAX_LIMIT_VALUE}", code="invalid_limit", detail=detail)
    try:
        parse_limit(number, unit, day_minutes)
    except InvalidInputError as error:
        raise InvalidInputError(f"{label}{error.message}", code="invalid_limit", detail=detail) from error
    return {"value": int(number) if number.is_integer() else number, "unit": unit}


def update_category(
    session: Session,
    actor: Actor,
    code: str,
    *,
    limits: Mapping[str, Mapping[str, Any]],
    default_department_code: str | None,
    priority: int,
) -> Category:
    """Set a category's own limits (a stage left out inherits from its parent, then the defaults), its default
    department and priority. Deadlines already running keep their limits; new stages use the new ones."""
    actor.require(Permission.CASE_CONFIGURE, "配置案件类别")
    category = get_category(session, code)
    day_minutes = load_calendar(session).day_minutes()
    own = {
        stage: check_stage_limit(stage, limit.get("value"), str(limit.get("unit", "")), day_minutes)
        for stage, limit in limits.items()
    }
    if default_department_code:
        get_department(session, default_department_code)
    if isinstance(priority, bool) or not isinstance(priority, int) or not 1 <= priority <= 5:
        raise InvalidInputError("优先级应为1（最急）到5", code="invalid_priority")
    previous = {
        "limits": category.limits or {},
        "default_department": category.default_department_code,
        "priority": category.priority,
    }
    category.limits = {stage: own[stage] for stage in STAGES if stage in own}
    category.default_department_code = default_department_code or None
    category.priority = priority
    session.flush()
    audit.record(
        session,
        actor,
        "case.category.update",
        "case_category",
        category.code,
        {
            "limits": category.limits,
            "default_department": category.default_department_code,
            "priority": priority,
            "previous": previous,
        },
    )
    return category


def get_category(session: Session, code: str) -> Category:
    category = session.execute(select(Category).where(Category.code == code)).scalar_one_or_none()
    if category is None or not category.is_active:
        raise NotFoundError(f"类别“{code}”不存在或已停用", code="category_not_found", detail={"code": code})
    return category


PATH_SEPARATOR = " › "
_TYPED_SEPARATORS = re.compile(r"\s*[›>/／|｜]\s*")
MAX_CANDIDATES = 8  # candidates a refusal lists


@dataclass(frozen=True)
class CategoryEntry:
    """An active category as people read and type it."""

    category: Category
    names: tuple[str, ...]  # from the top level down
    leaf: bool
    shown: str  # what a box shows once it is chosen: its name, or its path where the name repeats

    @property
    def code(self) -> str:
        return self.category.code

    @property
    def label(self) -> str:
        """The path, 市容环境 › 暴露垃圾."""
        return PATH_SEPARATOR.join(self.names)

    @property
    def depth(self) -> int:
        return self.category.depth


def category_entries(session: Session) -> list[CategoryEntry]:
    """Every active category with its path, in code order."""
    categories = list_categories(session)
    by_id = {category.id: category for category in categories}
    parents = {category.parent_id for category in categories if category.parent_id is not None}
    paths: list[tuple[Category, tuple[str, ...]]] = []
    for category in categories:
        names: list[str] = []
        current: Category | None = category
        while current is not None:
            names.append(current.name)
            current = by_id.get(current.parent_id) if current.parent_id is not None else None
        paths.append((category, tuple(reversed(names))))
    repeated = Counter(category.name for category in categories)
    return [
        CategoryEntry(
            category,
            names,
            category.id not in parents,
            category.name if repeated[category.name] == 1 else PATH_SEPARATOR.join(names),
        )
        for category, names in paths
    ]


def find_category(session: Session, text: str, *, leaf: bool = False) -> Category:
    """The active category a person named — by its code, its name, its path (市容环境/暴露垃圾, 市容环境 › 暴露垃圾)
    or a part of its name or path that fits exactly one category (only leaves with ``leaf``: "垃圾桶" is
    垃圾桶破损). A part that fits several is refused listing them; an exact name is taken even when it is no leaf,
    so that the caller can say which smaller category to choose."""
    return named_entry(category_entries(session), text, leaf=leaf).category


def leaf_category(session: Session, text: str) -> Category:
    """The smallest-level category a case is filed under, named as ``find_category`` takes it; a larger category
    is refused naming the ones below it."""
    entries = category_entries(session)
    found = named_entry(entries, text, leaf=True)
    if not found.leaf:
        children = [entry.category.name for entry in entries if entry.category.parent_id == found.category.id]
        raise InvalidInputError(
            f"“{found.category.name}”是大类，请选择其下的具体小类：{_listed(children)}",
            code="category_not_leaf",
            detail={"code": found.code},
        )
    return found.category


def named_entry(entries: list[CategoryEntry], text: str, *, leaf: bool) -> CategoryEntry:
    """``find_category`` over entries already read (a form shown again names what its box resolved to)."""
    typed = unicodedata.normalize("NFKC", text).strip()
    if not typed:
        raise InvalidInputError("请填写类别", code="category_required")
    by_code = [entry for entry in entries if entry.code == typed]
    if by_code:
        return by_code[0]
    parts = tuple(part for part in _TYPED_SEPARATORS.split(typed) if part)
    if len(parts) > 1:
        return _only(typed, [entry for entry in entries if entry.names == parts])
    exact = [entry for entry in entries if entry.category.name == typed]
    exact_leaves = [entry for entry in exact if entry.leaf]
    if exact_leaves or (exact and not leaf):
        return _only(typed, exact_leaves if leaf else exact)
    if exact:
        return exact[0]
    return _only(typed, [entry for entry in entries if (entry.leaf or not leaf) and typed in "".join(entry.names)])


def _only(typed: str, found: list[CategoryEntry]) -> CategoryEntry:
    if len(found) == 1:
        return found[0]
    if not found:
        raise NotFoundError(
            f"没有找到类别“{typed}”：请输入类别名称（如“暴露垃圾”），或从列表中选择",
            code="category_not_found",
            detail={"code": typed},
        )
    raise InvalidInputError(
        f"“{typed}”对应{len(found)}个类别：{_listed([entry.label for entry in found])}。请输入完整名称，或从列表中选择",
        code="category_ambiguous",
        detail={"candidates": [entry.code for entry in found]},
    )


def _listed(names: list[str]) -> str:
    return "、".join(names[:MAX_CANDIDATES]) + ("等" if len(names) > MAX_CANDIDATES else "")


def is_leaf(session: Session, category: Category) -> bool:
    return session.execute(select(Category.id).where(Category.parent_id == category.id).limit(1)).first() is None


@dataclass(frozen=True)
class CategorySpec:
    path: tuple[str, ...]  # names from the top level down
    default_department_code: str | None = None
    priority: int = 3
    limits: Mapping[str, Any] | None = None
    case_type_code: str | None = None
    self_handle_allowed: bool = False


def upsert_categories(
    session: Session,
    actor: Actor,
    specs: Iterable[tuple[int, CategorySpec]],
    report: ImportReport,
    *,
    overwrite: bool = True,
) -> None:
    """Create or update categories by their name path; codes are assigned in order of appearance
    (2 digits per level: 01, 0102, 010203) and never change once given. With ``overwrite`` False existing
    categories keep their settings (defaults never undo an administrator's changes)."""
    actor.require(Permission.CASE_CONFIGURE, "配置案件类别")
    by_path = _existing_by_path(session)
    for index, spec in specs:
        try:
            names = tuple(clean_label(name, what="类别名称") for name in spec.path)
            limits = normalise_limits(spec.limits or {})
            if not 1 <= spec.priority <= 5:
                raise InvalidInputError("优先级应为1（最急）到5", code="invalid_priority")
        except InvalidInputError as error:
            report.reject(index, "/".join(spec.path), error)
            continue
        for depth in range(1, len(names) + 1):
            prefix = names[:depth]
            leaf = depth == len(names)
            node = by_path.get(prefix)
            if node is None:
                node = _create_category(session, by_path, prefix)
                report.created.append(node.code)
            elif leaf and overwrite:
                report.updated.append(node.code)
            elif leaf:
                report.unchanged.append(node.code)
                continue
            if leaf:
                node.limits = limits
                node.priority = spec.priority
                node.default_department_code = spec.default_department_code
                node.case_type_code = spec.case_type_code
                node.self_handle_allowed = spec.self_handle_allowed
    session.flush()


def _existing_by_path(session: Session) -> dict[tuple[str, ...], Category]:
    categories = list(session.execute(select(Category).order_by(Category.depth, Category.code)).scalars())
    by_id = {category.id: category for category in categories}
    paths: dict[int, tuple[str, ...]] = {}
    for category in categories:
        parent_path = paths.get(category.parent_id, ()) if category.parent_id else ()
        paths[category.id] = (*parent_path, category.name)
    return {paths[category_id]: by_id[category_id] for category_id in paths}


def _create_category(session: Session, by_path: dict[tuple[str, ...], Category], path: tuple[str, ...]) -> Category:
    parent = by_path.get(path[:-1]) if len(path) > 1 else None
    siblings = [c for p, c in by_path.items() if len(p) == len(path) and p[:-1] == path[:-1]]
    number = max((int(c.code[-CODE_DIGITS_PER_LEVEL:]) for c in siblings), default=0) + 1
    if number >= 10**CODE_DIGITS_PER_LEVEL:
        raise InvalidInputError(f"“{'/'.join(path[:-1]) or '顶层'}”下的类别超过99个", code="too_many_categories")
    code = (parent.code if parent else "") + f"{number:0{CODE_DIGITS_PER_LEVEL}d}"
    category = Category(code=code, name=path[-1], parent=parent, depth=len(path) - 1)
    session.add(category)
    session.flush()
    by_path[path] = category
    return category


def list_categories(session: Session) -> list[Category]:
    return list(session.execute(select(Category).where(Category.is_active).order_by(Category.code)).scalars())
