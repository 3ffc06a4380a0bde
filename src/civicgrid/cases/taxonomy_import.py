"""An administrator's category taxonomy from Excel or CSV: one row per leaf, its path in level columns.

Level columns are recognised by their headers — 一级分类/二级分类/三级分类/…, 大类/中类/小类, or level1/level2/… —
and read left to right; a row's path is its non-empty levels (a gap, such as a second level without a first, is
refused). Optional columns set the leaf's attributes:

    主办部门 / 默认部门   department code the case goes to by default (unknown codes are reported as warnings:
                          a taxonomy may be prepared before the departments exist)
    优先级               1 (most urgent) … 5, default 3
    立案时限 派遣时限 处置时限 核查时限   e.g. 4小时, 15工作日, 4h, 15d
    案件类型             the code of a case type (must exist)
    可自处置             是/否

Codes are assigned by ``taxonomy.upsert_categories`` (2 digits per level) and never change once given, so
importing a corrected file again updates the leaves in place. All or nothing unless ``keep_good``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid import audit
from civicgrid.cases.models import CaseType
from civicgrid.cases.taxonomy import STAGE_LABELS, CategorySpec, normalise_limits, upsert_categories
from civicgrid.errors import InvalidInputError, Problems
from civicgrid.importing import ImportReport
from civicgrid.org.actor import Actor
from civicgrid.org.models import Department
from civicgrid.org.roles import Permission
from civicgrid.tables import Cell, Table, blank, read_table
from civicgrid.text import clean_label

_T = TypeVar("_T")
_CHINESE_LEVELS = "一二三四五六"
_LEVEL_HEADERS = re.compile(rf"^(?:([{_CHINESE_LEVELS}1-6])级(?:分类|类别|类目)?|level\s*([1-6]))$", re.IGNORECASE)
_SIZE_HEADERS = {"大类": 1, "中类": 2, "小类": 3, "细类": 4}
_ATTRIBUTE_HEADERS = {
    "主办部门": "department",
    "默认部门": "department",
    "优先级": "priority",
    "案件类型": "case_type",
    "可自处置": "self_handle",
    **{f"{label}时限": stage for stage, label in STAGE_LABELS.items()},
}
_YES = {"是", "可", "允许", "yes", "y", "true", "1", "√"}
_NO = {"否", "不可", "不允许", "no", "n", "false", "0", "×", ""}


@dataclass(frozen=True)
class _Layout:
    levels: list[int]  # column positions of the levels, top level first
    attributes: dict[str, int]  # attribute → column position


def import_categories_file(session: Session, actor: Actor, path: Path, *, keep_good: bool = False) -> ImportReport:
    """Create or update categories from a file; the report names every refused row by its spreadsheet row."""
    actor.require(Permission.CASE_CONFIGURE, "配置案件类别")
    table = read_table(path)
    layout = _layout(table, path.name)
    report = ImportReport(source=path.name, total=len(table.rows), keep_good=keep_good)
    case_types = set(session.execute(select(CaseType.code)).scalars())
    departments = set(session.execute(select(Department.code)).scalars())
    specs: list[tuple[int, CategorySpec]] = []
    seen: dict[tuple[str, ...], int] = {}
    for number, cells in table.rows:
        try:
            spec = _spec(cells, layout, case_types)
        except InvalidInputError as error:
            report.reject(number, _label(cells, layout), error)
            continue
        if spec.path in seen:
            report.reject(number, "/".join(spec.path), f"与第{seen[spec.path]}行重复", "duplicate_row")
            continue
        seen[spec.path] = number
        if spec.default_department_code and spec.default_department_code not in departments:
            report.warnings.append(
                f"第{number}行：部门代码“{spec.default_department_code}”尚不存在，派遣时将由指挥中心兜底"
            )
        specs.append((number, spec))
    savepoint = session.begin_nested()
    try:
        upsert_categories(session, actor, specs, report)
    except BaseException:
        savepoint.rollback()
        raise
    report.rejected.sort(key=lambda rejected: rejected.index)
    if report.should_apply:
        savepoint.commit()
        report.applied = True
        summary = {"created": len(report.created), "updated": len(report.updated), "rejected": len(report.rejected)}
        audit.record(session, actor, "case.categories.import", "case_category", path.name[:100], summary)
    else:
        savepoint.rollback()
    return report


def _layout(table: Table, source: str) -> _Layout:
    numbered: dict[int, int] = {}  # 一级/二级… or level1/level2…: depth → position
    sized: dict[int, int] = {}  # 大类/中类/小类: rank → position; the ranks present become levels 1, 2, …
    attributes: dict[str, int] = {}
    for position, name in enumerate(table.header):
        key = unicodedata.normalize("NFKC", name).strip()
        target, rank = (sized, _SIZE_HEADERS[key]) if key in _SIZE_HEADERS else (numbered, _numbered_level(key))
        if rank is not None:
            if rank in target:
                raise InvalidInputError(f"{source}：分类列“{key}”出现了两次", code="duplicate_column")
            target[rank] = position
        elif key in _ATTRIBUTE_HEADERS:
            attributes.setdefault(_ATTRIBUTE_HEADERS[key], position)
    if not numbered and not sized:
        raise InvalidInputError(
            f"{source}：找不到分类列。表头应为“一级分类、二级分类、三级分类”或“大类、小类”等",
            code="missing_columns",
            detail={"header": list(table.header)},
        )
    if numbered and sized:
        raise InvalidInputError(f"{source}：“一级分类…”与“大类/小类”两种表头不能混用", code="mixed_level_columns")
    if numbered and sorted(numbered) != list(range(1, len(numbered) + 1)):
        raise InvalidInputError(
            f"{source}：分类列不连续（有第{max(numbered)}级却缺少较高的级别）", code="missing_columns"
        )
    levels = numbered or sized
    return _Layout([levels[rank] for rank in sorted(levels)], attributes)


def _numbered_level(header: str) -> int | None:
    match = _LEVEL_HEADERS.match(header)
    if match is None:
        return None
    digit = match.group(1) or match.group(2)
    return _CHINESE_LEVELS.index(digit) + 1 if digit in _CHINESE_LEVELS else int(digit)


def _text(cell: Cell) -> str:
    if blank(cell):
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return unicodedata.normalize("NFC", str(cell)).strip()


def _label(cells: tuple[Cell, ...], layout: _Layout) -> str:
    return "/".join(name for name in (_text(cells[p]) for p in layout.levels) if name)


def _spec(cells: tuple[Cell, ...], layout: _Layout, case_types: set[str]) -> CategorySpec:
    """The row as a category; every problem of the row is named at once (``errors.Problems``)."""
    problems = Problems()
    nameless: tuple[str, ...] = ()
    names = problems.check(partial(_path, cells, layout), nameless)

    def attribute(name: str) -> str:
        position = layout.attributes.get(name)
        return _text(cells[position]) if position is not None else ""

    case_type = attribute("case_type") or None
    if case_type is not None and case_type not in case_types:
        problems.add(InvalidInputError(f"案件类型“{case_type}”不存在", code="case_type_not_found"))
    limits = {stage: value for stage in STAGE_LABELS if (value := attribute(stage))}
    for stage, value in limits.items():  # each wrong limit named, not only the first
        problems.check(partial(normalise_limits, {stage: value}), None)
    priority = problems.check(partial(_parsed, attribute("priority"), _priority, 3), 3)
    self_handle = problems.check(partial(_parsed, attribute("self_handle"), _yes_no, False), False)
    problems.raise_any()
    return CategorySpec(
        path=names,
        default_department_code=attribute("department") or None,
        priority=priority,
        limits=limits,
        case_type_code=case_type,
        self_handle_allowed=self_handle,
    )


def _path(cells: tuple[Cell, ...], layout: _Layout) -> tuple[str, ...]:
    names = [_text(cells[position]) for position in layout.levels]
    while names and not names[-1]:
        names.pop()
    if not names:
        raise InvalidInputError("分类名称为空", code="empty_path")
    if "" in names:
        missing = names.index("") + 1
        raise InvalidInputError(f"第{missing}级分类为空，但其下级有内容", code="gap_in_path")
    return tuple(clean_label(name, what="类别名称") for name in names)


def _parsed(text: str, parse: Callable[[str], _T], default: _T) -> _T:
    return parse(text) if text else default


def _priority(text: str) -> int:
    try:
        priority = int(float(text))
    except ValueError:
        priority = 0
    if not 1 <= priority <= 5:
        raise InvalidInputError(f"优先级“{text}”应为1（最急）到5的数字", code="invalid_priority")
    return priority


def _yes_no(text: str) -> bool:
    value = text.strip().lower()
    if value in _YES:
        return True
    if value in _NO:
        return False
    raise InvalidInputError(f"“可自处置”应填“是”或“否”，而不是“{text}”", code="invalid_boolean")
