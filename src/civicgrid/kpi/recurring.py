"""Problems that recur (突出问题): the same kind of problem reported again and again in the same place.

A group is one (category, grid) pair — the case's own category, normally a leaf such as 暴露垃圾, and the grid the
case was placed on, normally a unit grid — counted over the query's cohort (cases reported in the period, within
the actor's readable cases and the query's filters). What counts as a separate occurrence:

- a merged duplicate (重复件) is the same occurrence reported twice, so it is left out (its master counts);
- a rejected report (不予立案) is not a confirmed problem, so it is left out;
- a case not yet placed on a grid (网格外/无坐标待落图) names no place, so it is left out.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from civicgrid.cases.models import Case, CaseState, Category, Placement
from civicgrid.grid.codes import GridLevel
from civicgrid.grid.models import GridNode
from civicgrid.kpi.metrics import Unit, format_value
from civicgrid.kpi.service import KpiQuery, cohort
from civicgrid.org.actor import Actor

DEFAULT_MIN_CASES = 3
DEFAULT_LIMIT = 10
PLACED = (Placement.LOCATED.value, Placement.MANUAL.value)


@dataclass(frozen=True)
class Place:
    code: str
    name: str
    level: str
    parent_name: str | None

    @property
    def label(self) -> str:
        """新华社区（新华第03网格） for a unit grid, the grid's own name for anything larger."""
        if self.level == GridLevel.UNIT.value and self.parent_name:
            return f"{self.parent_name}（{self.name}）"
        return self.name


@dataclass(frozen=True)
class RecurringProblem:
    category_code: str
    category_name: str
    place: Place
    count: int
    example_number: str  # the latest case of the group, to look the problem up

    @property
    def sentence(self) -> str:
        """新华社区（新华第03网格）暴露垃圾问题反复出现（12件）."""
        problem = self.category_name if self.category_name.endswith("问题") else f"{self.category_name}问题"
        return f"{self.place.label}{problem}反复出现（{format_value(self.count, Unit.CASES)}件）"


def recurring_problems(
    session: Session,
    actor: Actor,
    query: KpiQuery,
    *,
    min_cases: int = DEFAULT_MIN_CASES,
    limit: int = DEFAULT_LIMIT,
) -> list[RecurringProblem]:
    """The (category, grid) groups with at least ``min_cases`` cases, most first (ties by category and grid
    code), at most ``limit`` of them."""
    count = func.count(Case.id)
    stmt = (
        cohort(actor, query)
        .join(Category, Category.id == Case.category_id)
        .where(
            Case.merged_into_id.is_(None),
            Case.state != CaseState.REJECTED.value,
            Case.placement.in_(PLACED),
        )
        .with_only_columns(Category.code, Category.name, Case.scope_code, count, func.max(Case.number))
        .group_by(Category.code, Category.name, Case.scope_code)
        .having(count >= max(min_cases, 1))
        .order_by(count.desc(), Category.code, Case.scope_code)
        .limit(limit)
    )
    rows = session.execute(stmt).all()
    places = _places(session, {str(row[2]) for row in rows})
    return [
        RecurringProblem(str(code), str(name), places[str(scope_code)], int(cases), str(example))
        for code, name, scope_code, cases, example in rows
    ]


def _places(session: Session, codes: set[str]) -> dict[str, Place]:
    if not codes:
        return {}
    parent = aliased(GridNode)
    rows = session.execute(
        select(GridNode.code, GridNode.name, GridNode.level, parent.name)
        .outerjoin(parent, parent.id == GridNode.parent_id)
        .where(GridNode.code.in_(codes))
    ).all()
    found = {str(code): Place(str(code), str(name), str(level), parent_name) for code, name, level, parent_name in rows}
    # A grid still referenced by cases cannot be deleted; should one lack a row anyway, show its code, never drop it.
    return {code: found.get(code) or Place(code, code, "", None) for code in codes}
