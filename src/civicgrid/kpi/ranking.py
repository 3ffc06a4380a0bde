"""Assessments: rankings of departments and grids, the red and black lists, and the cases overdue longest.

Who a case counts toward: a department is assessed on the cases it leads (主办, the main department at the
moment of counting — a case re-dispatched to another department counts for the last one); assisting (协办) is
shown beside it but earns no 办结 and no rates. A grid is assessed on the cases located in its subtree.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from civicgrid import timesource
from civicgrid.cases.auth import readable
from civicgrid.cases.models import OPEN_STATES, Case
from civicgrid.cases.queries import CaseFilter, filtered
from civicgrid.kpi.metrics import INDICATORS
from civicgrid.kpi.service import Group
from civicgrid.org.actor import Actor

MIN_CASES_TO_RANK = 5  # a unit with fewer cases is listed but not ranked: one bad case is not a 黑榜 verdict


@dataclass(frozen=True)
class Ranked:
    rank: int | None  # None: not ranked (too few cases, or the indicator has no value)
    group: Group
    value: float | int | None


def rank(groups: list[Group], indicator_key: str, *, min_cases: int = MIN_CASES_TO_RANK) -> list[Ranked]:
    """Best first by the indicator (its own direction: 超期数 and 返工率 rank the lowest first). Equal values share
    a rank (1, 2, 2, 4). Groups with too few cases or no value come last, unranked."""
    indicator = INDICATORS[indicator_key]
    if indicator.higher_is_better is None:
        raise ValueError(f"{indicator.label}是数量指标，不用于排名")
    rankable: list[Group] = []
    rest: list[Group] = []
    for group in groups:
        value = group.values[indicator_key]
        counted = group.figures.counts.received >= min_cases and group.key is not None
        (rankable if counted and value is not None else rest).append(group)
    sign = -1.0 if indicator.higher_is_better else 1.0
    rankable.sort(key=lambda group: (sign * float(group.values[indicator_key] or 0), group.label))
    ranked: list[Ranked] = []
    for position, group in enumerate(rankable, start=1):
        value = group.values[indicator_key]
        shared = ranked and ranked[-1].value == value
        ranked.append(Ranked(ranked[-1].rank if shared else position, group, value))
    return ranked + [Ranked(None, group, group.values[indicator_key]) for group in rest]


@dataclass(frozen=True)
class HonourLists:
    red: list[Ranked]  # 红榜: the best
    black: list[Ranked]  # 黑榜: the worst


def honour_lists(groups: list[Group], indicator_key: str = "composite_score", size: int = 3) -> HonourLists:
    """The best and the worst ``size`` ranked groups; a group is never on both lists."""
    ranked = [entry for entry in rank(groups, indicator_key) if entry.rank is not None]
    red = ranked[:size]
    black = list(reversed(ranked[max(len(red), len(ranked) - size) :]))
    return HonourLists(red, black)


@dataclass(frozen=True)
class OverdueCase:
    case: Case
    overdue_since: dt.datetime
    overdue_days: float


def longest_overdue(
    session: Session, actor: Actor, *, grid_code: str | None = None, limit: int = 10, now: dt.datetime | None = None
) -> list[OverdueCase]:
    """Open cases past their current stage's deadline, the longest overdue first (the 督办 list)."""
    now = now or timesource.now()
    stmt = readable(select(Case), actor).where(
        Case.state.in_(OPEN_STATES), Case.overdue.is_(True), Case.stage_due_at.is_not(None)
    )
    if grid_code:
        stmt = filtered(stmt, CaseFilter(grid_code=grid_code))
    rows = session.execute(
        stmt.options(selectinload(Case.category)).order_by(Case.stage_due_at, Case.id).limit(limit)
    ).scalars()
    found = []
    for case in rows:
        since = case.stage_due_at or now
        found.append(OverdueCase(case, since, max((now - since).total_seconds() / 86_400, 0.0)))
    return found
