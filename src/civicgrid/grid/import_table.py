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

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civicgrid import audit
from civicgrid.errors import InvalidInputError
from civicgrid.grid.codes import (
    ADMIN_CODE_LENGTH,
    NBS_CODE_LENGTH,
    GridLevel,
    district_code_of,
    parse_level,
    significant_admin_code,
    validate_node_code,
)
from civicgrid.grid.models import GridNode
from civicgrid.grid.service import mark_changed
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
        records = _within_root(session, records, _normalise_any_code(root_code), report)
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
            code, level = _unit_code(raw_code), GridLevel.UNIT
        else:
            code, code_level = significant_admin_code(raw_code)
            if level is not None and level is not code_level:
                raise InvalidInputError(
                    f"代码“{raw_code}”是{code_level.label}级，与层级列“{level.label}”不符", code="code_level_mismatch"
                )
            level = code_level
        parent = _normalise_any_code(row[parent_column]) if parent_column and row.get(parent_column) else None
        return _Record(row_number, code, clean_label(row.get(name_column, "")), level, parent)
    except InvalidInputError as error:
        report.reject(row_number, raw_code or row.get(name_column, ""), error)
        return None


def _unit_code(raw: str) -> str:
    code = raw.strip()
    if not code or not code.isdigit() or not code.isascii():
        raise InvalidInputError(f"网格代码“{raw}”只能由数字组成", code="invalid_code")
    return code


def _normalise_any_code(raw: str) -> str:
    code = raw.strip()
    if code.isdigit() and len(code) <= NBS_CODE_LENGTH:
        return significant_admin_code(code)[0]
    return _unit_code(code)


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
    """Wide rows repeat their ancestors; keep the first of equal records, reject a code with two names."""
    first: dict[str, _Record] = {}
    kept = []
    for record in records:
        seen = first.get(record.code)
        if seen is None:
            first[record.code] = record
            kept.append(record)
        elif seen.name != record.name or seen.level is not record.level:
            report.reject(
                record.row,
                record.code,
                f"代码“{record.code}”在第{seen.row}行为“{seen.name}”，此处为“{record.name}”：同一代码不能有两个名称",
                "duplicate_code",
            )
    return kept


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
            parent_code = _parent_code(record, accepted, existing, rejected_codes, digits)
            _check_record(actor, record, parent_code, accepted, digits)
            node = existing.get(record.code)
            if node is not None:
                _plan_existing(node, record, plan, report)
                continue
            _check_sibling_length(record, parent_code, sibling_lengths)
        except InvalidInputError as error:
            report.reject(record.row, record.code, error)
            rejected_codes.add(record.code)
            continue
        accepted[record.code] = record.level
        plan.creates.append((record, parent_code))
        report.created.append(record.code)
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


def _parent_code(
    record: _Record,
    accepted: dict[str, GridLevel],
    existing: dict[str, GridNode],
    rejected: set[str],
    digits: int,
) -> str | None:
    candidate = record.explicit_parent or _implied_parent(record, digits)
    if candidate is None:
        return None
    if candidate in rejected:
        raise InvalidInputError(f"上级“{candidate}”被拒绝，本行一并拒绝", code="parent_rejected")
    if candidate in accepted:
        return candidate
    if record.explicit_parent is None and not any(
        prefix in accepted or prefix in existing for prefix in _shorter_admin_prefixes(record.code)
    ):
        return None  # nothing above it is known: it becomes a root
    raise InvalidInputError(
        f"上级“{candidate}”不存在：请先导入上级，或与上级一并导入",
        code="parent_not_found",
        detail={"parent": candidate},
    )


def _implied_parent(record: _Record, digits: int) -> str | None:
    if record.level is GridLevel.UNIT:
        return record.code[:-digits] if len(record.code) > digits else None
    upper = [length for length in ADMIN_CODE_LENGTH.values() if length < len(record.code)]
    return record.code[: max(upper)] if upper else None


def _shorter_admin_prefixes(code: str) -> list[str]:
    return [code[:length] for length in ADMIN_CODE_LENGTH.values() if length < len(code)]


def _check_record(
    actor: Actor, record: _Record, parent_code: str | None, accepted: dict[str, GridLevel], digits: int
) -> None:
    scope_code = parent_code or record.code
    if not actor.covers_grid(scope_code):
        raise InvalidInputError(f"“{scope_code}”不在您的管辖范围内", code="out_of_scope")
    validate_node_code(
        record.code,
        record.level,
        parent_code=parent_code,
        parent_level=accepted.get(parent_code) if parent_code else None,
        unit_code_digits=digits,
    )


def _plan_existing(node: GridNode, record: _Record, plan: _Plan, report: ImportReport) -> None:
    if node.level != record.level.value:
        raise InvalidInputError(
            f"代码“{record.code}”已存在且层级为{GridLevel(node.level).label}，与本行不符", code="level_conflict"
        )
    if node.name == record.name:
        report.unchanged.append(record.code)
    else:
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
    nodes_by_code = {
        node.code: node
        for node in session.execute(
            select(GridNode).where(GridNode.code.in_({p for _, p in plan.creates if p is not None}))
        ).scalars()
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
        session.add_all(batch)
        session.flush()
    audit.record(
        session,
        actor,
        "grid.import.table",
        "grid_import",
        report.source[:64],
        {"created": len(report.created), "renamed": len(report.updated), "rejected": len(report.rejected)},
    )
    mark_changed(session)
