"""When a change against an earlier period (环比, 同比) means something — the rule, defined once.

A change is shown only when the comparison period is **comparable**: the data covers it (the district's first
case was reported no later than ``MIN_COVERAGE`` into it) and it holds at least ``MIN_CASES`` cases of the same
query. Otherwise the dashboard, the JSON API and the work report say “上年同期无可比数据” / “上期无可比数据”
instead of a percentage: a year whose data begins in its last weeks gives “同比增长1429.7%”, which measures when
the platform went live, not the work. Where the data begins is the district's own first case (a district that
joined later is judged by its own start), read through the (district_code, reported_at) index.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civicgrid.cases.models import Case
from civicgrid.grid.codes import district_code_of
from civicgrid.grid.index import grid_index
from civicgrid.kpi.periods import BEIJING, Period

MIN_CASES = 10  # fewer cases in the comparison period: no change is computed
MIN_COVERAGE = 0.95  # the share of the comparison period's days the data must cover


class Basis(StrEnum):
    PREVIOUS = "previous"  # 环比: the period just before
    LAST_YEAR = "last_year"  # 同比: the same period a year earlier

    @property
    def word(self) -> str:
        return "环比" if self is Basis.PREVIOUS else "同比"

    @property
    def base(self) -> str:
        return "上期" if self is Basis.PREVIOUS else "上年同期"


class Incomparable(StrEnum):
    DATA_INCOMPLETE = "data_incomplete"  # the data begins after (or too far into) the comparison period
    TOO_FEW_CASES = "too_few_cases"


@dataclass(frozen=True)
class Comparability:
    """Whether one comparison period can be compared with, and why not."""

    basis: Basis
    period: Period
    received: int  # 受理量 of the query in the comparison period
    data_from: dt.date | None  # the first day with data (None: no case at all)

    @property
    def coverage(self) -> float:
        """The share of the period's days on or after the first day with data (0 … 1)."""
        if self.data_from is None:
            return 0.0
        covered = (self.period.end - max(self.period.first, self.data_from)).days
        return min(max(covered, 0), self.period.days) / self.period.days

    @property
    def problem(self) -> Incomparable | None:
        if self.coverage < MIN_COVERAGE:
            return Incomparable.DATA_INCOMPLETE
        if self.received < MIN_CASES:
            return Incomparable.TOO_FEW_CASES
        return None

    @property
    def comparable(self) -> bool:
        return self.problem is None

    @property
    def unavailable(self) -> str:
        """What is said instead of a change: 上年同期无可比数据 / 上期无可比数据."""
        return f"{self.basis.base}无可比数据"

    @property
    def reason(self) -> str:
        """Why, in a sentence (empty when comparable)."""
        base = f"{self.basis.base}（{self.period.label}）"
        match self.problem:
            case Incomparable.DATA_INCOMPLETE if self.data_from is None:
                return f"{base}没有数据"
            case Incomparable.DATA_INCOMPLETE:
                start = self.data_from or self.period.first
                since = f"数据自{start.year}年{start.month}月{start.day}日起"
                if self.coverage == 0:
                    return f"{since}，{base}没有数据"
                return f"{since}，{base}只有{self.coverage:.0%}的天数有数据"
            case Incomparable.TOO_FEW_CASES:
                return f"{base}仅受理{self.received:,}件，少于{MIN_CASES}件，不作比较"
        return ""


def data_start(session: Session, grid_code: str | None) -> dt.date | None:
    """The Beijing day the data of a grid begins: its district's first case — for a grid above the districts,
    the latest of its districts' first days (a period before it lacks a district); None without any case."""
    codes = _district_codes(session, grid_code)
    firsts = [
        session.execute(select(func.min(Case.reported_at)).where(Case.district_code == code)).scalar_one_or_none()
        for code in codes
    ]
    if not codes:  # a tree without districts: the whole database
        firsts = [session.execute(select(func.min(Case.reported_at))).scalar_one_or_none()]
    known = [first for first in firsts if first is not None]
    return max(known).astimezone(BEIJING).date() if known else None


def _district_codes(session: Session, grid_code: str | None) -> list[str]:
    own = district_code_of(grid_code or "")
    if own is not None:
        return [own]
    return sorted(
        ref.code
        for ref in grid_index(session).refs.values()
        if len(ref.code) == 6 and ref.code.startswith(grid_code or "")
    )
