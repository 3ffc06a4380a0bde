"""The indicators (指标): each defined once, here, with its formula in its docstring.

Which cases count: the **cohort** of a period is every case *reported* (受理) in it, whatever happened to it
later, in its state at the moment of counting (统计截至). A month's 办结率 counted today therefore includes the
month's cases closed since; a report states the moment it counted. The edge rules:

- a case reported before the period and closed in it belongs to its own period, not this one;
- a merged duplicate (重复件) counts in 受理量 and 重复诉求率 only — it is handled as part of its master case, so it
  is never 立案, 办结 or rated on its own (also after it was closed together with its master);
- a suspended case (挂账) is taken out of 办结率's denominator while it is suspended;
- a reopened case (重办) counts once, in its current state: closed again → 办结, back at work → not;
  its rating is the one given after the last closing (reopening clears the earlier 不满意);
- a case without a rating is left out of 满意率 (the denominator is the rated cases), but counts as 解决 when closed;
- the handling time of a case is that of its last handling round, in working time (the holiday calendar), without
  the time it was suspended.

``docs/KPI.md`` repeats every formula for users; a test keeps both in step.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, func, not_, or_

from civicgrid.cases.models import OPEN_STATES, Case, CaseState, Rating


@dataclass(frozen=True)
class Counts:
    """The counters one SQL aggregate produces per group; every indicator is a formula over them."""

    received: int = 0  # 受理量
    duplicates: int = 0  # 重复件
    registered: int = 0  # 立案数 (= 应办结)
    rejected: int = 0
    dispatched: int = 0
    linked: int = 0
    suspended: int = 0  # 挂账 (now)
    closed: int = 0  # 办结
    closed_on_time: int = 0
    overdue_now: int = 0
    ever_overdue: int = 0
    reworked: int = 0
    extended: int = 0
    self_handled: int = 0
    rated: int = 0
    satisfied: int = 0
    basically_satisfied: int = 0
    unsatisfied: int = 0
    due_to_respond: int = 0
    responded_on_time: int = 0
    resolved: int = 0
    reopened: int = 0
    handle_minutes_total: int = 0
    handle_minutes_count: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    @classmethod
    def from_mapping(cls, values: Mapping[Any, Any]) -> Counts:
        return cls(**{f.name: int(values.get(f.name) or 0) for f in fields(cls)})


COUNTER_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Counts))


def counter_columns(now: dt.datetime | None) -> dict[str, ColumnElement[Any]]:
    """The SQL expression of each counter of ``Counts`` (summed per group). ``now`` decides which open cases are
    already due to have been answered; without it (the roll-up, built once and read later) ``due_to_respond``
    counts the answered cases only and the reader adds the unanswered ones due by its own ``now``."""
    # count(*) FILTER (WHERE …): both backends have it, and SQLite evaluates it faster than sum(CASE …).
    columns: dict[str, ColumnElement[Any]] = {
        name: func.count().filter(condition) for name, condition in counter_conditions(now).items()
    }
    handled_time = handling_time_condition()
    columns["handle_minutes_total"] = func.coalesce(func.sum(Case.handle_work_minutes).filter(handled_time), 0)
    columns["handle_minutes_count"] = func.count().filter(handled_time)
    return columns


def counter_conditions(now: dt.datetime | None) -> dict[str, ColumnElement[bool]]:
    """Which cases each case counter counts: the one definition the aggregates sum and the case lists select."""
    own = Case.merged_into_id.is_(None)
    closed = and_(Case.state == CaseState.CLOSED.value, own)
    dispatched = and_(Case.dispatched_at.is_not(None), Case.self_handled.is_(False), own)
    in_time = or_(Case.response_due_at.is_(None), Case.responded_at <= Case.response_due_at)
    answered = Case.responded_at.is_not(None)
    return {
        "received": Case.id.is_not(None),
        "duplicates": Case.merged_into_id.is_not(None),
        "registered": and_(Case.registered_at.is_not(None), own),
        "rejected": Case.state == CaseState.REJECTED.value,
        "dispatched": dispatched,
        "linked": and_(Case.linked.is_(True), own),
        "suspended": and_(Case.state == CaseState.SUSPENDED.value, own),
        "closed": closed,
        "closed_on_time": and_(
            closed, or_(Case.deadline_at.is_(None), Case.handled_at.is_(None), Case.handled_at <= Case.deadline_at)
        ),
        "overdue_now": and_(Case.overdue.is_(True), Case.state.in_(OPEN_STATES), own),
        "ever_overdue": and_(Case.ever_overdue.is_(True), own),
        "reworked": and_(closed, Case.rework_count > 0),
        "extended": and_(dispatched, Case.extension_count > 0),
        "self_handled": and_(closed, Case.self_handled.is_(True)),
        "rated": and_(Case.rating.is_not(None), own),
        "satisfied": and_(Case.rating == Rating.SATISFIED.value, own),
        "basically_satisfied": and_(Case.rating == Rating.BASICALLY.value, own),
        "unsatisfied": and_(Case.rating == Rating.UNSATISFIED.value, own),
        "due_to_respond": answered if now is None else or_(answered, due_unanswered(now)),
        "responded_on_time": and_(Case.responded_at.is_not(None), in_time),
        "resolved": and_(closed, or_(Case.rating.is_(None), Case.rating != Rating.UNSATISFIED.value)),
        "reopened": and_(Case.reopen_count > 0, own),
    }


def due_unanswered(now: dt.datetime) -> ColumnElement[bool]:
    """Not answered yet, and past the time to answer (立案时限) by ``now``: counts in 应响应, not in 按时响应."""
    return and_(Case.responded_at.is_(None), Case.response_due_at <= now)


def handling_time_condition() -> ColumnElement[bool]:
    """The cases whose handling time enters 平均处置时长 and its median / P90."""
    return and_(
        Case.state == CaseState.CLOSED.value,
        Case.merged_into_id.is_(None),
        not_(Case.self_handled),
        Case.handle_work_minutes.is_not(None),
    )


@dataclass(frozen=True)
class Weights:
    """综合得分 weights of the 12345 三率, in percent (a setting; default 30/35/35)."""

    response: float = 30.0
    resolution: float = 35.0
    satisfaction: float = 35.0


@dataclass(frozen=True)
class Figures:
    """One group's counters plus what SQL sums cannot give (the median and P90 of the handling time)."""

    counts: Counts
    median_handle_minutes: int | None = None
    p90_handle_minutes: int | None = None
    weights: Weights = field(default_factory=Weights)


def ratio(numerator: int, denominator: int) -> float | None:
    """A rate in percent; None (shown as “—”) when nothing is counted."""
    if denominator <= 0:
        return None
    return 100.0 * numerator / denominator


# --- the indicators -------------------------------------------------------------------------------------------


def received(f: Figures) -> int:
    """受理量 = 期内受理（上报、来电、留言……）的全部诉求件数，含重复件和不予立案的。"""
    return f.counts.received


def registered(f: Figures) -> int:
    """立案数 = 受理件中已立案的件数（自处置视为立案；重复件不单独立案）。"""
    return f.counts.registered


def registration_rate(f: Figures) -> float | None:
    """立案率 = 立案数 ÷ (受理量 − 重复件数) × 100%。"""
    return ratio(f.counts.registered, f.counts.received - f.counts.duplicates)


def dispatched(f: Figures) -> int:
    """派遣数 = 立案件中派遣到部门处置的件数（自处置不派遣）。"""
    return f.counts.dispatched


def closed(f: Figures) -> int:
    """办结数 = 已结案的件数（不含重复件；重办后尚未再次结案的不算）。"""
    return f.counts.closed


def closure_rate(f: Figures) -> float | None:
    """办结率 = 办结数 ÷ (应办结数 − 挂账数) × 100%，应办结数 = 立案数，挂账数 = 统计时挂账中的件数。"""
    return ratio(f.counts.closed, f.counts.registered - f.counts.suspended)


def on_time_closure_rate(f: Figures) -> float | None:
    """按期办结率 = 按期办结数 ÷ 办结数 × 100%，按期 = 处置结果在处置时限（含批准的延期、扣除挂账）内提交。"""
    return ratio(f.counts.closed_on_time, f.counts.closed)


def suspended(f: Figures) -> int:
    """挂账数 = 统计时处于挂账状态的件数。"""
    return f.counts.suspended


def overdue_now(f: Figures) -> int:
    """超期数 = 统计时仍在办且已超过当前环节时限的件数。"""
    return f.counts.overdue_now


def ever_overdue(f: Figures) -> int:
    """曾超期数 = 任一环节曾超过时限的件数（无论现在是否办结）。"""
    return f.counts.ever_overdue


def rework_rate(f: Figures) -> float | None:
    """返工率 = 办结件中曾因核查不通过而返工的件数 ÷ 办结数 × 100%。"""
    return ratio(f.counts.reworked, f.counts.closed)


def extension_rate(f: Figures) -> float | None:
    """延期率 = 派遣件中获批延期的件数 ÷ 派遣数 × 100%。"""
    return ratio(f.counts.extended, f.counts.dispatched)


def average_handle_hours(f: Figures) -> float | None:
    """平均处置时长 = 办结件（不含自处置）最后一轮处置所用工作时间之和 ÷ 件数，单位：工作小时。"""
    if f.counts.handle_minutes_count <= 0:
        return None
    return f.counts.handle_minutes_total / f.counts.handle_minutes_count / 60.0


def median_handle_hours(f: Figures) -> float | None:
    """处置时长中位数 = 同上各件处置工作时间的中位数（最近秩法：从小到大第 ⌈n/2⌉ 件），单位：工作小时。"""
    return None if f.median_handle_minutes is None else f.median_handle_minutes / 60.0


def p90_handle_hours(f: Figures) -> float | None:
    """处置时长P90 = 同上各件处置工作时间的第90百分位（最近秩法：第 ⌈0.9n⌉ 件），单位：工作小时。"""
    return None if f.p90_handle_minutes is None else f.p90_handle_minutes / 60.0


def satisfaction_rate(f: Figures) -> float | None:
    """满意率 = (满意数 + 基本满意数) ÷ 已评价数 × 100%（未评价的不计入）。"""
    return ratio(f.counts.satisfied + f.counts.basically_satisfied, f.counts.rated)


def self_handle_rate(f: Figures) -> float | None:
    """自处置率 = 网格员现场自处置结案的件数 ÷ 办结数 × 100%。"""
    return ratio(f.counts.self_handled, f.counts.closed)


def linked(f: Figures) -> int:
    """联动事件数 = 派遣给一个主办部门并有协办部门共同处置的件数（两个及以上部门联动）。"""
    return f.counts.linked


def duplicate_rate(f: Figures) -> float | None:
    """重复诉求率 = 重复件数（并入主案件的件数）÷ 受理量 × 100%。"""
    return ratio(f.counts.duplicates, f.counts.received)


def response_rate(f: Figures) -> float | None:
    """响应率 = 在立案时限内响应（立案、不予立案、合并或自处置）的件数 ÷ 应响应件数 × 100%，应响应 = 已响应或已过
    立案时限的件数。"""
    return ratio(f.counts.responded_on_time, f.counts.due_to_respond)


def resolution_rate(f: Figures) -> float | None:
    """解决率 = 已解决件数 ÷ (应办结数 − 挂账数) × 100%，已解决 = 已办结且诉求人未评价为“不满意”。"""
    return ratio(f.counts.resolved, f.counts.registered - f.counts.suspended)


def composite_score(f: Figures) -> float | None:
    """综合得分 = 响应率 × 响应权重 + 解决率 × 解决权重 + 满意率 × 满意权重（权重为百分比，默认 30/35/35，满分
    100）；三率中任一无法计算（如无评价）则不计综合得分。"""
    rates = (response_rate(f), resolution_rate(f), satisfaction_rate(f))
    if any(rate is None for rate in rates):
        return None
    weights = f.weights
    total = weights.response + weights.resolution + weights.satisfaction
    response, resolution, satisfaction = (rate or 0.0 for rate in rates)
    weighted = response * weights.response + resolution * weights.resolution + satisfaction * weights.satisfaction
    return weighted / total


class Unit(StrEnum):
    CASES = "件"
    PERCENT = "%"
    HOURS = "小时"
    SCORE = "分"


@dataclass(frozen=True)
class Selection:
    """The cases behind a figure — those a count counts, those a rate or a time is computed over (its
    denominator) — as a condition on the counters' conditions, and their number from the counters: the case
    list a figure opens selects ``where`` and holds ``size`` cases."""

    describe: str  # what the list says it holds
    where: Callable[[Mapping[str, ColumnElement[bool]]], ColumnElement[bool]]
    size: Callable[[Counts], int]

    def condition(self, now: dt.datetime) -> ColumnElement[bool]:
        return self.where(counter_conditions(now))


def counted(counter: str, describe: str) -> Selection:
    """The cases one counter counts."""
    return Selection(describe, lambda conditions: conditions[counter], lambda counts: getattr(counts, counter))


RECEIVED = counted("received", "期内受理的全部案件（含重复件）")
CLOSED = counted("closed", "已结案的案件（不含重复件）")
DISPATCHED = counted("dispatched", "派遣到部门处置的案件")
TO_CLOSE = Selection(  # 应办结 − 挂账: suspended cases are registered ones, so the difference is a set
    "应办结且未挂账的案件（已立案，不含重复件和挂账中的）",
    lambda conditions: and_(conditions["registered"], not_(conditions["suspended"])),
    lambda counts: counts.registered - counts.suspended,
)
HANDLED_IN_TIME = Selection(
    "计入处置时长的案件（已结案，不含自处置和重复件）",
    lambda _: handling_time_condition(),
    lambda counts: counts.handle_minutes_count,
)


@dataclass(frozen=True)
class Indicator:
    key: str
    label: str
    unit: Unit
    compute: Callable[[Figures], float | int | None]
    higher_is_better: bool | None = None  # None: a volume, neither good nor bad
    cases: Selection | None = None  # the cases behind it; None: no one set (综合得分 weighs three)

    @property
    def changes_in_points(self) -> bool:
        """Rates and scores change in points (个百分点 / 分); counts and hours change in percent."""
        return self.unit in (Unit.PERCENT, Unit.SCORE)

    @property
    def formula(self) -> str:
        return " ".join((self.compute.__doc__ or "").split())

    def value(self, figures: Figures) -> float | int | None:
        return self.compute(figures)


_ALL = [
    Indicator("received", "受理量", Unit.CASES, received, cases=RECEIVED),
    Indicator(
        "registered", "立案数", Unit.CASES, registered, cases=counted("registered", "已立案的案件（不含重复件）")
    ),
    Indicator(
        "registration_rate",
        "立案率",
        Unit.PERCENT,
        registration_rate,
        cases=Selection(
            "受理的案件（不含重复件）",
            lambda conditions: not_(conditions["duplicates"]),
            lambda counts: counts.received - counts.duplicates,
        ),
    ),
    Indicator("dispatched", "派遣数", Unit.CASES, dispatched, cases=DISPATCHED),
    Indicator("closed", "办结数", Unit.CASES, closed, cases=CLOSED),
    Indicator("closure_rate", "办结率", Unit.PERCENT, closure_rate, True, TO_CLOSE),
    Indicator("on_time_closure_rate", "按期办结率", Unit.PERCENT, on_time_closure_rate, True, CLOSED),
    Indicator("suspended", "挂账数", Unit.CASES, suspended, False, counted("suspended", "挂账中的案件")),
    Indicator("overdue_now", "超期数", Unit.CASES, overdue_now, False, counted("overdue_now", "在办且已超期的案件")),
    Indicator("ever_overdue", "曾超期数", Unit.CASES, ever_overdue, False, counted("ever_overdue", "曾超期的案件")),
    Indicator("rework_rate", "返工率", Unit.PERCENT, rework_rate, False, CLOSED),
    Indicator("extension_rate", "延期率", Unit.PERCENT, extension_rate, False, DISPATCHED),
    Indicator("average_handle_hours", "平均处置时长", Unit.HOURS, average_handle_hours, False, HANDLED_IN_TIME),
    Indicator("median_handle_hours", "处置时长中位数", Unit.HOURS, median_handle_hours, False, HANDLED_IN_TIME),
    Indicator("p90_handle_hours", "处置时长P90", Unit.HOURS, p90_handle_hours, False, HANDLED_IN_TIME),
    Indicator("satisfaction_rate", "满意率", Unit.PERCENT, satisfaction_rate, True, counted("rated", "已评价的案件")),
    Indicator("self_handle_rate", "自处置率", Unit.PERCENT, self_handle_rate, cases=CLOSED),
    Indicator("linked", "联动事件数", Unit.CASES, linked, cases=counted("linked", "多部门联动处置的案件")),
    Indicator("duplicate_rate", "重复诉求率", Unit.PERCENT, duplicate_rate, False, RECEIVED),
    Indicator(
        "response_rate",
        "响应率",
        Unit.PERCENT,
        response_rate,
        True,
        counted("due_to_respond", "应响应的案件（已响应或已过立案时限）"),
    ),
    Indicator("resolution_rate", "解决率", Unit.PERCENT, resolution_rate, True, TO_CLOSE),
    Indicator("composite_score", "综合得分", Unit.SCORE, composite_score, True),
]
INDICATORS: dict[str, Indicator] = {indicator.key: indicator for indicator in _ALL}


def evaluate(figures: Figures) -> dict[str, float | int | None]:
    """Every indicator's value for one group."""
    return {key: indicator.value(figures) for key, indicator in INDICATORS.items()}


DECIMALS = 1  # every figure that is not a count: rates in percent, hours, scores


def rounded(value: float | int | None, unit: Unit) -> float | int | None:
    """A figure at the precision every page, report and export shows: counts whole, the rest to one decimal."""
    if value is None:
        return None
    if unit is Unit.CASES:
        return int(value)
    return round(float(value), DECIMALS)


def format_value(value: float | int | None, unit: Unit) -> str:
    """A figure as the pages and reports show it: 38,606 (件), 99.6 (%), 12.5 (小时); “—” when nothing is counted."""
    shown = rounded(value, unit)
    if shown is None:
        return "—"
    if unit is Unit.CASES:
        return f"{shown:,}"
    return f"{shown:.{DECIMALS}f}"
