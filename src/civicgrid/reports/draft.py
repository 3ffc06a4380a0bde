"""存在问题 and 下步打算: the two sections of an office's own report that the platform can only draft, from the
signals in its data, for the office to correct and complete. Every sentence restates a figure or a name the
dashboard (or the recurring problems) already has; nothing is guessed. Each problem found gets one answer in the
plan, in the same order, in the register of the street offices' reports: “一是……。二是……。”

The problems looked for, in this order, each stated only when the data shows it:

- 指标下滑: a rate, or the average handling time, worse than in the 同比 or 环比 period — by at least
  ``MIN_FALL_POINTS`` percentage points (a rate) or ``MIN_RISE_PERCENT`` percent (the handling time) — with at
  least ``MIN_BASE`` cases behind the figure in both periods. While the period is still running, 办结率 and 解决率
  are not compared: its newest cases are still being worked, the earlier period's had their time;
- 反复发生: the recurring problems (``kpi.recurring``) at the report's threshold;
- 超期积压: open cases past their deadline (the 督办 list, ``kpi.ranking.longest_overdue``) and cases suspended
  (挂账) among the period's;
- 办理质量: closed cases that were reworked after a failed verification, and cases rated 不满意;
- 考核靠后: departments and grids on the black list (黑榜).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from civicgrid.kpi.comparable import Basis
from civicgrid.kpi.dashboard import Dashboard
from civicgrid.kpi.metrics import INDICATORS, Counts, Unit
from civicgrid.kpi.ranking import MIN_CASES_TO_RANK, OverdueCase, Ranked
from civicgrid.kpi.recurring import DEFAULT_LIMIT, RecurringProblem
from civicgrid.kpi.service import Group, change
from civicgrid.reports import phrasing
from civicgrid.reports.phrasing import comparison, stated, with_unit

DRAFT_NOTE = "（系统起草，请结合实际修改）"
MIN_BASE = MIN_CASES_TO_RANK  # cases behind a figure before its change is called a fall: one case is no trend
MIN_FALL_POINTS = 1.0
MIN_RISE_PERCENT = 10.0
NAMED_RECURRING = 3  # recurring problems named in the text; the rest are “等N处”
ORDINALS = "一二三四五六七八九十"

# The cases behind each compared figure (its denominator), to tell a trend from a handful of cases.
BASES: dict[str, Callable[[Counts], int]] = {
    "closure_rate": lambda c: c.registered - c.suspended,
    "on_time_closure_rate": lambda c: c.closed,
    "response_rate": lambda c: c.due_to_respond,
    "resolution_rate": lambda c: c.registered - c.suspended,
    "satisfaction_rate": lambda c: c.rated,
    "rework_rate": lambda c: c.closed,
    "average_handle_hours": lambda c: c.handle_minutes_count,
}
MATURING = frozenset({"closure_rate", "resolution_rate"})  # still rising while the period's cases are worked


class FindingKind(StrEnum):
    FELL = "fell"  # 指标下滑
    RECURRING = "recurring"  # 反复发生
    BACKLOG = "backlog"  # 超期积压
    QUALITY = "quality"  # 办理质量
    RANKING = "ranking"  # 考核靠后


@dataclass(frozen=True)
class Finding:
    kind: FindingKind
    problem: str  # what follows “一是”: a short heading sentence, then the figures
    plan: str  # the answer in 下步打算, in the same form


def findings(
    d: Dashboard, recurring: Sequence[RecurringProblem], departments: Mapping[int, str], *, min_repeats: int
) -> list[Finding]:
    """The problems the data shows, in the module's order; ``departments``: the names of the overdue cases'
    main departments."""
    found = [
        _fell(d),
        _recurring(recurring, min_repeats),
        _backlog(d, departments),
        _quality(d.comparison.current),
        _ranking(d),
    ]
    return [finding for finding in found if finding is not None]


def ordinal(position: int) -> str:
    """一是, 二是 … 十是 (position 1-based)."""
    return f"{ORDINALS[position - 1] if position <= len(ORDINALS) else position}是"


def problem_paragraphs(found: Sequence[Finding], received: int) -> list[str]:
    if not found:
        if not received:
            return ["期内未受理群众诉求，平台数据不足以分析存在的问题，请结合实际工作填写。"]
        return [
            "从平台数据看，本期未发现指标下滑、同类问题反复发生、超期积压、返工或不满意评价、考核排名靠后等问题。"
            "其他方面存在的问题请结合实际工作补充。"
        ]
    items = [f"{ordinal(position)}{finding.problem}" for position, finding in enumerate(found, start=1)]
    return ["对照平台数据，工作中还存在一些问题和不足，主要表现在：", *items]


def plan_paragraphs(found: Sequence[Finding]) -> list[str]:
    if not found:
        return ["平台数据未显示需要专项整改的问题，下步打算请结合实际工作填写。"]
    items = [f"{ordinal(position)}{finding.plan}" for position, finding in enumerate(found, start=1)]
    return ["针对上述问题，下步重点做好以下工作：", *items]


# --- 指标下滑 -----------------------------------------------------------------------------------------------


def _fell(d: Dashboard) -> Finding | None:
    compared = d.comparison
    earlier = [("同比", compared.last_year)] if compared.comparable(Basis.LAST_YEAR) else []
    if compared.previous_period != compared.last_year_period and compared.comparable(Basis.PREVIOUS):
        earlier.append(("环比", compared.previous))  # a year's 环比 is its 同比; no fall against incomparable data
    running = d.counted_at < d.period.end_utc
    fallen: list[tuple[str, str]] = []  # (indicator key, “办结率85.7%，环比下降14.3个百分点”)
    words: set[str] = set()
    for key in BASES:
        if running and key in MATURING:
            continue
        changes = [
            (word, text)
            for word, group in earlier
            if _worse(key, compared.current, group)
            and (text := comparison(word, key, compared.current.values, group.values))
        ]
        if changes:
            words |= {word for word, _ in changes}
            fallen.append((key, f"{stated(compared.current.values, key)}，{'、'.join(text for _, text in changes)}"))
    if not fallen:
        return None
    against = {"同比": "较上年同期", "环比": "较上期"}[next(iter(words))] if len(words) == 1 else "较上年同期或上期"
    names = "、".join(INDICATORS[key].label for key, _ in fallen)
    return Finding(
        FindingKind.FELL,
        f"部分指标{against}有所下滑。{'；'.join(text for _, text in fallen)}。",
        f"推动下滑指标回稳向好。逐项分析{names}下滑的原因，找准薄弱环节，明确责任科室和整改时限，力争下期改善。",
    )


def _worse(key: str, current: Group, earlier: Group) -> bool:
    """``current`` is worse than ``earlier`` by the module's margin, both with enough cases behind the figure."""
    base = BASES[key]
    if min(base(current.figures.counts), base(earlier.figures.counts)) < MIN_BASE:
        return False
    indicator = INDICATORS[key]
    is_rate = indicator.unit is Unit.PERCENT
    delta = change(current.values[key], earlier.values[key], rate=is_rate)
    if delta is None:
        return False
    margin = MIN_FALL_POINTS if is_rate else MIN_RISE_PERCENT
    return delta <= -margin if indicator.higher_is_better else delta >= margin


# --- 反复发生 -----------------------------------------------------------------------------------------------


def _recurring(recurring: Sequence[RecurringProblem], min_repeats: int) -> Finding | None:
    if not recurring:
        return None
    named = recurring[:NAMED_RECURRING]
    more = "等" if len(recurring) > len(named) else ""
    places = places_text(recurring)
    sentences = "；".join(problem.sentence for problem in named)
    spots = "、".join(f"{problem.place.label}{problem.category_name}" for problem in named)
    counted = "" if len(recurring) == 1 else f"{more or '共'}{places}"
    threshold = with_unit(min_repeats, Unit.CASES)
    return Finding(
        FindingKind.RECURRING,
        f"同类问题在同一地点反复发生。期内同一网格同类问题达到{threshold}及以上的有{places}：{sentences}{more}，"
        "说明部分问题尚未从源头上解决。",
        f"抓好反复发生问题的源头治理。对{spots}{counted}反复发生的问题逐点分析成因，会同责任部门开展专项整治、"
        "建立长效机制，并定期回头看，防止问题反弹。",
    )


def places_text(recurring: Sequence[RecurringProblem]) -> str:
    """3处 — or 10处以上 when the list stopped at its limit (``kpi.recurring.DEFAULT_LIMIT``): there may be more."""
    count = f"{phrasing.number(len(recurring), Unit.CASES)}处"
    return f"{count}以上" if len(recurring) >= DEFAULT_LIMIT else count


# --- 超期积压 -----------------------------------------------------------------------------------------------

UNDISPATCHED = "尚未派遣"


def _backlog(d: Dashboard, departments: Mapping[int, str]) -> Finding | None:
    overdue = d.overdue_longest
    suspended = int(d.comparison.current.values["suspended"] or 0)
    if not overdue and not suspended:
        return None
    facts: list[str] = []
    answers: list[str] = []
    if overdue:
        facts.append(_overdue_fact(overdue, departments))
        leads = [name for name in _by_department(overdue, departments) if name != UNDISPATCHED]
        owners = f"督促{'、'.join(leads)}等主办部门" if leads else "督促责任单位"
        count = with_unit(len(overdue), Unit.CASES)
        answers.append(f"对督办清单中的{count}超期案件逐件挂牌督办，{owners}明确办结时限、限期办结")
    if suspended:
        count = with_unit(suspended, Unit.CASES)
        facts.append(f"期内受理的案件中挂账{count}，问题尚未解决")
        answers.append(f"对挂账的{count}案件定期研判，具备条件的及时恢复办理")
    heading = {(True, True): "超期、挂账案件仍有积压", (True, False): "超期案件仍有积压"}.get(
        (bool(overdue), bool(suspended)), "挂账案件尚未解决"
    )
    return Finding(
        FindingKind.BACKLOG,
        f"{heading}。{'；'.join(facts)}。",
        f"加快积压案件办理。{'；'.join(answers)}。",
    )


def _overdue_fact(overdue: Sequence[OverdueCase], departments: Mapping[int, str]) -> str:
    longest = overdue[0]
    days = phrasing.number(longest.overdue_days, Unit.HOURS)
    owner = _department_of(longest, departments)
    fact = f"截至统计时，超期最长的案件{longest.case.number}（{longest.case.title}）已超期{days}天"
    if owner != UNDISPATCHED:
        fact += f"，主办部门为{owner}"
    if len(overdue) > 1:
        shares = "、".join(
            f"{name}{with_unit(count, Unit.CASES)}" for name, count in _by_department(overdue, departments).items()
        )
        fact += f"；督办清单所列超期最长的{with_unit(len(overdue), Unit.CASES)}中，{shares}"
    return fact


def _department_of(entry: OverdueCase, departments: Mapping[int, str]) -> str:
    department = entry.case.main_department_id
    return departments.get(department, UNDISPATCHED) if department is not None else UNDISPATCHED


def _by_department(overdue: Sequence[OverdueCase], departments: Mapping[int, str]) -> dict[str, int]:
    """Overdue cases per main department, most first (ties by name)."""
    counted = Counter(_department_of(entry, departments) for entry in overdue)
    return dict(sorted(counted.items(), key=lambda item: (-item[1], item[0])))


# --- 办理质量 -----------------------------------------------------------------------------------------------


def _quality(current: Group) -> Finding | None:
    counts, values = current.figures.counts, current.values
    facts: list[str] = []
    answers: list[str] = []
    if counts.reworked:
        reworked = with_unit(counts.reworked, Unit.CASES)
        facts.append(f"期内办结的案件中核查不通过返工{reworked}，{stated(values, 'rework_rate')}")
        answers.append(f"对返工的{reworked}案件逐件复盘")
    if counts.unsatisfied:
        unsatisfied = with_unit(counts.unsatisfied, Unit.CASES)
        rated = with_unit(counts.rated, Unit.CASES)
        facts.append(f"已评价的{rated}中群众评价“不满意”{unsatisfied}，{stated(values, 'satisfaction_rate')}")
        answers.append(f"对评价“不满意”的{unsatisfied}案件逐件回访")
    if not facts:
        return None
    heading = {(True, True): "处置质量和群众满意度有待提高", (True, False): "处置质量有待提高"}.get(
        (bool(counts.reworked), bool(counts.unsatisfied)), "群众满意度有待提高"
    )
    return Finding(
        FindingKind.QUALITY,
        f"{heading}。{'；'.join(facts)}。",
        f"提高处置质量。{'、'.join(answers)}，查找处置不到位的原因，需要重新处置的及时重办，做到群众诉求件件有回音。",
    )


# --- 考核靠后 -----------------------------------------------------------------------------------------------

THREE_RATES = ("response_rate", "resolution_rate", "satisfaction_rate")


def _ranking(d: Dashboard) -> Finding | None:
    lists = [("部门", d.department_lists.black), ("网格", d.grid_lists.black)]
    present = [(kind, black) for kind, black in lists if black]
    if not present:
        return None
    stated_lists = "；".join(f"{kind}黑榜：{'、'.join(_weakest(entry) for entry in black)}" for kind, black in present)
    names = "、".join(entry.group.label for _, black in present for entry in black)
    return Finding(
        FindingKind.RANKING,
        f"部分单位考核排名靠后。按综合得分，{stated_lists}（括号内为综合得分和三率中最低的一项）。",
        f"压实考核责任。对列入黑榜的{names}，逐件分析失分案件，找准响应、解决、满意哪一环失分，限期整改，"
        "整改情况纳入下期考核。",
    )


def _weakest(entry: Ranked) -> str:
    """第6科（60.0分，满意率40.0%）: the score and the lowest of the unit's three rates."""
    values = entry.group.values
    rated = [key for key in THREE_RATES if values[key] is not None]
    score = with_unit(entry.value, Unit.SCORE)
    if not rated:
        return f"{entry.group.label}（{score}）"
    lowest = min(rated, key=lambda key: (float(values[key] or 0), THREE_RATES.index(key)))
    return f"{entry.group.label}（{score}，{stated(values, lowest)}）"
