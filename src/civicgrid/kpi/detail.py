"""The cases behind the numbers: one row per counted case with the raw facts every indicator is computed from,
so anyone can recount a figure in a spreadsheet (and a test recounts them all with pandas). No personal data:
reporters' names and phones are not in it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session, aliased

from civicgrid.cases.models import STATE_LABELS, Case, CaseState, Category, Channel, Rating
from civicgrid.excel import workbook_bytes
from civicgrid.kpi.service import KpiQuery, cohort
from civicgrid.org.actor import Actor
from civicgrid.org.models import Department

EXPORT_LIMIT = 1_000_000  # a district-year is a few hundred thousand cases; beyond this, narrow the query

# (header, column) in the order of the sheet; the headers are what the recount reads.
_MASTER = aliased(Case)
COLUMNS: list[tuple[str, Any]] = [
    ("案件编号", Case.number),
    ("受理时间", Case.reported_at),
    ("来源渠道", Case.channel),
    ("网格代码", Case.scope_code),
    ("类别代码", Category.code),
    ("类别", Category.name),
    ("主办部门", Department.name),
    ("状态", Case.state),
    ("主案件编号", _MASTER.number),
    ("首次响应时间", Case.responded_at),
    ("立案时限", Case.response_due_at),
    ("立案时间", Case.registered_at),
    ("派遣时间", Case.dispatched_at),
    ("处置时限", Case.deadline_at),
    ("提交结果时间", Case.handled_at),
    ("结案时间", Case.closed_at),
    ("处置用时（工作分钟）", Case.handle_work_minutes),
    ("自处置", Case.self_handled),
    ("联动", Case.linked),
    ("返工次数", Case.rework_count),
    ("延期次数", Case.extension_count),
    ("重办次数", Case.reopen_count),
    ("当前超期", Case.overdue),
    ("曾超期", Case.ever_overdue),
    ("评价", Case.rating),
]
HEADERS = [header for header, _ in COLUMNS]
_CHANNELS = {channel.value: channel.label for channel in Channel}
_STATES = {state.value: label for state, label in STATE_LABELS.items()}
_RATINGS = {rating.value: rating.label for rating in Rating}


def _statement(actor: Actor, query: KpiQuery) -> Select[Any]:
    return (
        cohort(actor, query)
        .outerjoin(Category, Category.id == Case.category_id)
        .outerjoin(Department, Department.id == Case.main_department_id)
        .outerjoin(_MASTER, _MASTER.id == Case.merged_into_id)
        .with_only_columns(*(column for _, column in COLUMNS))
        .order_by(Case.reported_at, Case.id)
    )


def detail_rows(session: Session, actor: Actor, query: KpiQuery) -> Iterator[list[Any]]:
    """The counted cases, oldest first, with codes turned into the words users read (是/否, 已结案, 12345热线)."""
    result = session.execute(_statement(actor, query).limit(EXPORT_LIMIT).execution_options(yield_per=5_000))
    for row in result:
        yield [_readable(header, value) for (header, _), value in zip(COLUMNS, row, strict=True)]


def _readable(header: str, value: Any) -> Any:
    if isinstance(value, bool):
        return "是" if value else "否"
    if header == "来源渠道":
        return _CHANNELS.get(value, value)
    if header == "状态":
        return _STATES.get(value, value)
    if header == "评价" and value is not None:
        return _RATINGS.get(value, value)
    return value


def detail_workbook(session: Session, actor: Actor, query: KpiQuery) -> bytes:
    note = (
        f"{query.period.label}受理的案件明细（不含个人信息）。"
        f"状态“{CaseState.CLOSED.label}”且有主案件编号的，是随主案件结案的重复件。"
    )
    return workbook_bytes("案件明细", HEADERS, detail_rows(session, actor, query), note=note)
