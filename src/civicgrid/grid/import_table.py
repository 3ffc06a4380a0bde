"""Import the grid tree (without polygons) from division tables: NBS 统计用区划代码 CSVs or a unit-grid list.

Accepted layouts, recognised by their header:
- wide NBS rows: province_code, province_name, city_code, city_name, county_code, county_name, town_code,
  town_name[, village_code, village_name] — every row carries its whole chain (the cn-admin extracts);
- flat rows: code/区划代码, name/名称[, parent_code/上级代码][, level/层级] — one node per row (the modood country
  files, or a street's own unit-grid list with level 网格).

Parents follow from codes (a child's code extends its parent's). Existing nodes are renamed if the name changed,
never deleted. Rows outside ``root_code`` are skipped (and counted).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civicgrid import audit
from civicgrid.errors import InvalidInputError
from civicgrid.grid.codes import (
    NBS_CODE_LENGTH,
    GridLevel,
    district_code_of,
    implied_parent_code,
    normalise_code,
    parse_level,
    significant_admin_code,
    validate_node_code,
)
from civicgrid.grid.models import GridNode
from civicgrid.grid.service import adopt_orphans, mark_changed
from civicgrid.importing import ImportReport, csv_rows
from civicgrid.org.actor import Actor
from civicgrid.org.roles import Permission
from civicgrid.settings import get_settings
from civicgrid.text import clean_label

WIDE_COLUMNS = (
    ("province_code", "province_name"),
    ("city_code", "city_name"),
    ("county_code", "county_name"),
    ("town_code", "town_name"),
    ("village_code", "village_name"),
)
CODE_COLUMNS = ("code", "区划代码", "统计用区划代码", "代码", "网格编码", "网格代码")
NAME_COLUMNS = ("name", "名称", "区划名称", "网格名称")
PARENT_COLUMNS = ("parent_code", "上级代码", "上级区划代码", "上级网格编码", "上级网格代码")
LEVEL_COLUMNS = ("level", "层级")


@dataclass
class _Record:
    row: int
    code: str
    name: str
    level: GridLevel
    explicit_parent: str | None = None


@dataclass
class _Plan:
    """What the import would do, decided before anything is written."""

    creates: list[tuple[_Record, str | None]]  # (record, parent code)
    renames: list[tuple[GridNode, str]]


def import_division_table(
    session: Session,
    actor: Actor,
    text: str,
    *,
    source: str,
    root_code: str | None = None,
    keep_good: bool = False,
    unit_code_digits: int | None = None,
) -> ImportReport:
    actor.require(Permission.GRID_MANAGE, "导入网格")
    digits = unit_code_digits or get_settings().unit_code_digits
    report = ImportReport(source=source, keep_good=keep_good)
    records = _read_records(text, report, digits)
    if root_code is not None:
        records = _within_root(session, records, normalise_code(root_code), report)
    records = _drop_duplicates(records, report)
    _reject_cycles(records, report)
    plan = _plan(session, actor, records, report, digits)
    if not report.should_apply:
        return report
    _apply(session, actor, plan, report)
    report.applied = True
    return report


# --- reading -----------------------------------------------------------------------------------------------


def _read_records(text: str, report: ImportReport, digits: int) -> list[_Record]:
    rows = list(csv_rows(text))
    report.total = len(rows)
    if not rows:
        return []
    header = set(rows[0][1])
    if {"county_code", "county_name"} <= header:
        return [record for row_number, row in rows for record in _wide_records(row_number, row, report)]
    code_column = _first_present(CODE_COLUMNS, header)
    name_column = _first_present(NAME_COLUMNS, header)
    if code_column is None or name_column is None:
        raise InvalidInputError(
            "无法识别表头：应为国家统计局区划代码宽表（province_code … village_name），"
            "或包含“代码/code”和“名称/name”两列（可选“上级代码/parent_code”“层级/level”）",
            code="unknown_layout",
            detail={"header": sorted(header)},
        )
    parent_column = _first_present(PARENT_COLUMNS, header)
    level_column = _first_present(LEVEL_COLUMNS, header)
    records: list[_Record] = []
    for row_number, row in rows:
        record = _flat_record(row_number, row, code_column, name_column, parent_column, level_column, report)
        if record is not None:
            records.append(record)
    return records


def _first_present(candidates: tuple[str, ...], header: set[str]) -> str | None:
    return next((name for name in candidates if name in header), None)


def _wide_records(row_number: int, row: dict[str, str], report: ImportReport) -> list[_Record]:
    records = []
    for code_column, name_column in WIDE_COLUMNS:
        raw_code, raw_name = row.get(code_column, ""), row.get(name_column, "")
        if not raw_code and not raw_name:
            continue
        try:
            code, level = significant_admin_code(raw_code)
            records.append(_Record(row_number, code, clean_label(raw_name), level))
        except InvalidInputError as error:
            report.reject(row_number, raw_code or raw_name, error)
            return []
    return records


def _flat_record(
    row_number: int,
    row: dict[str, str],
    code_column: str,
    name_column: str,
    parent_column: str | None,
    level_column: str | None,
    report: ImportReport,
) -> _Record | None:
    raw_code = row.get(code_column, "")
    try:
        level = parse_level(row[level_column]) if level_column and row.get(level_column) else None
        if level is GridLevel.UNIT or (level is None and len(raw_code) > NBS_CODE_LENGTH):
            code, level = normalise_code(raw_code), GridLevel.UNIT
        else:
            code, code_level = significant_admin_code(raw_code)
            if level is not None and level is not code_level:
                raise InvalidInputError(
                    f"代码“{raw_code}”是{code_level.label}级，与层级列“{level.label}”不符", code="code_level_mismatch"
                )
            level = code_level
        parent = normalise_code(row[parent_column]) if parent_column and row.get(parent_column) else None
        return _Record(row_number, code, clean_label(row.get(name_column, "")), level, parent)
    except InvalidInputError as error:
        report.reject(row_number, raw_code or row.get(name_column, ""), error)
        return None


# --- filtering ---------------------------------------------------------------------------------------------


def _within_root(session: Session, records: list[_Record], root: str, report: ImportReport) -> list[_Record]:
    kept = [r for r in records if r.code.startswith(root) or root.startswith(r.code)]
    skipped_rows = {r.row for r in records} - {r.row for r in kept}
    if skipped_rows:
        report.warnings.append(f"{len(skipped_rows)}{report.item_label}不在“{root}”范围内，已跳过")
    in_file = any(r.code == root for r in kept)
    if not in_file and session.execute(select(GridNode.id).where(GridNode.code == root)).first() is None:
        raise InvalidInputError(
            f"根区划“{root}”既不在文件中，也不在数据库中", code="root_not_found", detail={"root": root}
        )
    return kept


def _drop_duplicates(records: list[_Record], report: ImportReport) -> list[_Record]:
    """Wide rows repeat their ancestors: equal records collapse into the first. A code with two different names
    is rejected on every row that carries it — which name is right is for a person to say."""
    first: dict[str, _Record] = {}
    conflicting: set[str] = set()
    for record in records:
        seen = first.setdefault(record.code, record)
        if seen is not record and (seen.name != record.name or seen.level is not record.level):
            conflicting.add(record.code)
    reported: set[tuple[int, str]] = set()
    for record in records:
        if record.code in conflicting and (record.row, record.code) not in reported:
            reported.add((record.row, record.code))
            names = "、".join(sorted({r.name for r in records if r.code == record.code}))
            report.reject(
                record.row, record.code, f"代码“{record.code}”在文件中有不同的名称（{names}）", "duplicate_code"
            )
    kept = [r for code, r in first.items() if code not in conflicting]
    return sorted(kept, key=lambda r: r.row)


def _reject_cycles(records: list[_Record], report: ImportReport) -> None:
    """With an explicit parent column, rows can point at each other in a loop; name the loop."""
    parent_of = {r.code: r.explicit_parent for r in records if r.explicit_parent}
    by_code = {r.code: r for r in records}
    reported: set[str] = set()
    for start in parent_of:
        path = [start]
        current = parent_of.get(start)
        while current is not None and current not in path:
            path.append(current)
            current = parent_of.get(current)
        if current is None or current in reported:
            continue
        loop = path[path.index(current) :]
        chain = " → ".join([*loop, current])
        for code in loop:
            reported.add(code)
            report.reject(by_code[code].row, code, f"上级关系形成循环：{chain}", "parent_cycle")


# --- planning ----------------------------------------------------------------------------------------------


def _plan(session: Session, actor: Actor, records: list[_Record], report: ImportReport, digits: int) -> _Plan:
    rejected_codes = {item.ref for item in report.rejected}
    records = sorted((r for r in records if r.code not in rejected_codes), key=lambda r: (len(r.code), r.code))
    existing = _existing_nodes(session, records)
    sibling_lengths = _child_code_lengths(session, existing.values())
    accepted: dict[str, GridLevel] = {code: GridLevel(node.level) for code, node in existing.items()}
    plan = _Plan(creates=[], renames=[])
    for record in records:
        try:
            node = existing.get(record.code)
            if node is not None:
                _plan_existing(actor, node, record, plan, report)
                continue
            parent_code = _parent_code(record, accepted, rejected_codes, digits)
            _check_new(actor, record, parent_code, accepted, digits)
            _check_sibling_length(record, parent_code, sibling_lengths)
        except InvalidInputError as error:
            report.reject(record.row, record.code, error)
            rejected_codes.add(record.code)
            continue
        accepted[record.code] = record.level
        plan.creates.append((record, parent_code))
    return plan


def _existing_nodes(session: Session, records: list[_Record]) -> dict[str, GridNode]:
    wanted = {r.code[:length] for r in records for length in range(1, len(r.code) + 1)}
    if not wanted:
        return {}
    found: dict[str, GridNode] = {}
    ordered = sorted(wanted)
    for start in range(0, len(ordered), 900):  # stay under SQLite's bound-parameter limit
        chunk = ordered[start : start + 900]
        for node in session.execute(select(GridNode).where(GridNode.code.in_(chunk))).scalars():
            found[node.code] = node
    return found


def _child_code_lengths(session: Session, parents: Iterable[GridNode]) -> dict[str, int]:
    by_id = {node.id: node.code for node in parents}
    if not by_id:
        return {}
    rows = session.execute(
        select(GridNode.parent_id, func.min(func.length(GridNode.code)))
        .where(GridNode.parent_id.in_(list(by_id)))
        .group_by(GridNode.parent_id)
    ).all()
    return {by_id[parent_id]: int(length) for parent_id, length in rows}


def _parent_code(record: _Record, accepted: dict[str, GridLevel], rejected: set[str], digits: int) -> str | None:
    """The record's parent: explicit, or implied by its code. An administrative code with nothing above it known
    becomes a root (its ancestors, imported later, adopt it); a unit grid always needs its parent."""
    candidate = record.explicit_parent or implied_parent_code(record.code, record.level, digits)
    if candidate is None:
        return None
    if candidate in rejected:
        raise InvalidInputError(f"上级“{candidate}”被拒绝，本行一并拒绝", code="parent_rejected")
    if candidate in accepted:
        return candidate
    if (
        record.explicit_parent is None
        and record.level is not GridLevel.UNIT
        and not any(prefix in accepted for prefix in _shorter_prefixes(record.code))
    ):
        return None
    raise InvalidInputError(
        f"上级“{candidate}”不存在：请先导入上级，或与上级一并导入",
        code="parent_not_found",
        detail={"parent": candidate},
    )


def _shorter_prefixes(code: str) -> list[str]:
    return [code[:length] for length in range(1, len(code))]


def _check_new(
    actor: Actor, record: _Record, parent_code: str | None, accepted: dict[str, GridLevel], digits: int
) -> None:
    if not actor.covers_grid(record.code):
        raise InvalidInputError(f"“{record.code}”不在您的管辖范围内", code="out_of_scope")
    validate_node_code(
        record.code,
        record.level,
        parent_code=parent_code,
        parent_level=accepted.get(parent_code) if parent_code else None,
        unit_code_digits=digits,
    )


def _plan_existing(actor: Actor, node: GridNode, record: _Record, plan: _Plan, report: ImportReport) -> None:
    if node.level != record.level.value:
        raise InvalidInputError(
            f"代码“{record.code}”已存在且层级为{GridLevel(node.level).label}，与本行不符", code="level_conflict"
        )
    if node.name == record.name:
        report.unchanged.append(record.code)  # unchanged rows need no rights: re-importing a full file is fine
        return
    if not actor.covers_grid(record.code):
        raise InvalidInputError(f"“{record.code}”不在您的管辖范围内，不能改名", code="out_of_scope")
    plan.renames.append((node, record.name))
    report.updated.append(record.code)


def _check_sibling_length(record: _Record, parent_code: str | None, sibling_lengths: dict[str, int]) -> None:
    if parent_code is None:
        return
    length = sibling_lengths.setdefault(parent_code, len(record.code))
    if length != len(record.code):
        raise InvalidInputError(
            f"代码“{record.code}”为{len(record.code)}位，而同一上级下的其他代码为{length}位：同级代码长度必须一致",
            code="sibling_code_length",
        )


# --- applying ----------------------------------------------------------------------------------------------


def _apply(session: Session, actor: Actor, plan: _Plan, report: ImportReport) -> None:
    for node, new_name in plan.renames:
        node.name = new_name
    before = sorted(session.execute(select(GridNode.code)).scalars())
    parent_codes = {p for _, p in plan.creates if p is not None}
    nodes_by_code = {
        node.code: node for node in session.execute(select(GridNode).where(GridNode.code.in_(parent_codes))).scalars()
    }
    by_length: dict[int, list[tuple[_Record, str | None]]] = defaultdict(list)
    for record, parent_code in plan.creates:
        by_length[len(record.code)].append((record, parent_code))
    for length in sorted(by_length):
        batch = []
        for record, parent_code in by_length[length]:
            parent = nodes_by_code.get(parent_code) if parent_code else None
            node = GridNode(
                code=record.code,
                name=record.name,
                level=record.level.value,
                parent=parent,
                depth=parent.depth + 1 if parent else 0,
                district_code=district_code_of(record.code),
            )
            batch.append(node)
            nodes_by_code[record.code] = node
            report.created.append(record.code)
        session.add_all(batch)
        session.flush()
    _adopt_existing_descendants(session, before, [nodes_by_code[r.code] for r, _ in plan.creates])
    audit.record(
        session,
        actor,
        "grid.import.table",
        "grid_import",
        report.source[:64],
        {"created": len(report.created), "renamed": len(report.updated), "rejected": len(report.rejected)},
    )
    mark_changed(session)


def _adopt_existing_descendants(session: Session, before: list[str], created: list[GridNode]) -> None:
    """Nodes that existed before the import and whose code extends a new node's (a district imported before its
    city) move under it. ``before`` is sorted, so the codes extending X sit right after X's insertion point."""
    for node in sorted(created, key=lambda n: len(n.code), reverse=True):
        position = bisect.bisect_left(before, node.code)
        if position < len(before) and before[position].startswith(node.code):
            adopt_orphans(session, node)
