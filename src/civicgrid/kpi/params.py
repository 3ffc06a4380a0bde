"""Reading a KPI request — period, grid, department, category, channel, dimension — the same for the JSON API,
the dashboard page and the work report, each refused with a Chinese message naming the parameter."""

from __future__ import annotations

import datetime as dt
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid import timesource
from civicgrid.cases.models import Category, Channel
from civicgrid.errors import InvalidInputError
from civicgrid.grid.index import grid_index
from civicgrid.grid.models import GridNode
from civicgrid.kpi.metrics import Indicator, Unit
from civicgrid.kpi.periods import BEIJING, Period, parse_period
from civicgrid.kpi.service import Dimension, actor_roots, first_branching, scope_root
from civicgrid.org.actor import Actor
from civicgrid.org.models import Department


def current_year(now: dt.datetime | None = None) -> Period:
    """The default period: this Beijing calendar year (so far; later days simply have no cases yet)."""
    moment = (now or timesource.now()).astimezone(BEIJING)
    return parse_period(str(moment.year))


def read_period(text: str | None) -> Period:
    return parse_period(text) if text and text.strip() else current_year()


def read_grid(session: Session, actor: Actor, code: str) -> GridNode:
    """A grid to count within: refused when it lies outside the actor's subtrees (an ancestor of her grid is
    refused too — its figures would silently be only hers)."""
    code = code.strip()
    actor.require_grid(code, "查看该网格的统计")
    return scope_root(session, actor, code)


def default_root(session: Session, actor: Actor) -> GridNode:
    """Where the page and the API open: the top of the actor's scope (the first of several), stepped down to its
    first level with something to compare (see ``kpi.service.scope_root``)."""
    roots = actor_roots(session, actor)
    code = first_branching(grid_index(session), roots[0]) if roots else None
    return scope_root(session, actor, code)


def read_department(session: Session, code: str | None) -> int | None:
    if not code:
        return None
    found = session.execute(select(Department.id).where(Department.code == code.strip())).scalar_one_or_none()
    if found is None:
        raise InvalidInputError(f"部门“{code}”不存在", code="department_not_found", detail={"department": code})
    return int(found)


def read_category(session: Session, code: str | None) -> str | None:
    if not code:
        return None
    code = code.strip()
    if session.execute(select(Category.id).where(Category.code == code)).first() is None:
        raise InvalidInputError(f"案件类别“{code}”不存在", code="category_not_found", detail={"category": code})
    return code


def read_channel(value: str | None) -> Channel | None:
    return _read_choice(Channel, value, "来源渠道", "invalid_channel", "channel") if value else None


def read_dimension(value: str) -> Dimension:
    return _read_choice(Dimension, value, "统计维度", "invalid_dimension", "by")


Choice = TypeVar("Choice", Channel, Dimension)


def _read_choice(kind: type[Choice], value: str, what: str, code: str, parameter: str) -> Choice:
    """One of an enum's values; otherwise an error that lists them, each with its Chinese label."""
    try:
        return kind(value.strip())
    except ValueError as error:
        choices = "、".join(f"{choice.value}（{choice.label}）" for choice in kind)
        raise InvalidInputError(
            f"{what}“{value}”无效，可选：{choices}", code=code, detail={parameter: value}
        ) from error


def rate_like(indicator: Indicator) -> bool:
    """Rates and scores change in points (个百分点 / 分); counts and hours change in percent."""
    return indicator.changes_in_points


def change_unit(indicator: Indicator) -> str:
    if indicator.unit is Unit.PERCENT:
        return "百分点"
    return "分" if indicator.unit is Unit.SCORE else "%"
