"""The registry's figures for a grid subtree, as a work report states them: how many of each kind per lower grid,
people by tag and by residence, 楼宇经济 (enterprises and tax per building), 亩均税收 ranking (seed 003), parcels by
status — and the sentence a report opens with.

Every figure is one grouped query over the records the actor may see (retired records, moved-out and merged people
are not counted). A record kept at the grid itself rather than in one of its lower grids (a river along two
streets, a point outside every unit) is counted in a row of its own, "本级", so the rows add up to the total.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, select
from sqlalchemy.orm import Session

from civicgrid import timesource
from civicgrid.code_prefix import code_in_subtrees, code_starts_with
from civicgrid.errors import NotFoundError
from civicgrid.grid.index import grid_index
from civicgrid.grid.service import NodeRef
from civicgrid.kpi.service import scope_root
from civicgrid.org.actor import Actor
from civicgrid.org.roles import Permission
from civicgrid.registry.kinds import INDUSTRIES, KINDS
from civicgrid.registry.models import Building, Enterprise, Parcel, Person, PlacedObject, Residence

PEOPLE, HOUSEHOLDS = "person", "household"
COLUMNS: tuple[tuple[str, str], ...] = (
    (PEOPLE, "实有人口（人）"),
    (HOUSEHOLDS, "户数"),
    ("address", "标准地址"),
    ("estate", "小区"),
    ("building", "楼宇"),
    ("house", "房屋"),
    ("enterprise", "单位/企业"),
    ("parcel", "地块"),
    ("river", "河道"),
    ("facility", "部件/设施"),
)
UNITS = {"person": "人", "household": "户", "estate": "个", "building": "栋", "house": "套", "enterprise": "家"}
UNITS |= {"parcel": "宗", "river": "条", "facility": "个", "address": "处"}
AT_THE_GRID = "本级"


@dataclass(frozen=True)
class Grid:
    code: str
    name: str


@dataclass(frozen=True)
class GridRow:
    grid: Grid | None  # None: records kept at the grid itself (本级)
    counts: dict[str, int]


@dataclass(frozen=True)
class Overview:
    grid: Grid
    path: tuple[Grid, ...]  # from the actor's root down to ``grid``, for the breadcrumb
    rows: list[GridRow]  # one per lower grid, and 本级 when anything is kept at the grid itself
    total: dict[str, int]
    people_by_tag: list[tuple[str, int]]
    people_by_residence: list[tuple[str, int]]
    enterprises_by_tag: list[tuple[str, int]]


@dataclass(frozen=True)
class BuildingEconomy:
    building_id: int
    name: str
    address: str | None
    enterprises: int
    new_this_year: int
    employees: int
    annual_tax: float  # 万元


@dataclass(frozen=True)
class TaxPerMu:
    rank: int
    enterprise_id: int
    name: str
    industry: str
    annual_tax: float  # 万元
    land_mu: float
    tax_per_mu: float  # 万元/亩


@dataclass(frozen=True)
class Ranking:
    rows: list[TaxPerMu]
    ranked: int  # enterprises with both tax and land
    average: float | None  # 万元/亩 over all of them: total tax / total land


@dataclass(frozen=True)
class ParcelStatus:
    status: str
    parcels: int
    area_mu: float


def overview(session: Session, actor: Actor, grid_code: str | None = None) -> Overview:
    """The counts of every kind in the grid (the actor's own area when none is named), per lower grid."""
    actor.require(Permission.REGISTRY_READ, "查看登记统计")
    node = _node(session, actor, grid_code)
    children = _children(session, node)
    width = len(children[0].code) if children else len(node.code)
    per_child: dict[str, dict[str, int]] = {}
    for key, grouped in _grouped_counts(session, actor, node.code, width).items():
        for prefix, count in grouped:
            per_child.setdefault(prefix, {})[key] = count
    rows: list[GridRow] = [GridRow(Grid(child.code, child.name), per_child.pop(child.code, {})) for child in children]
    at_grid: dict[str, int] = {}
    for counts in per_child.values():  # shorter prefixes: kept at the grid itself
        for key, count in counts.items():
            at_grid[key] = at_grid.get(key, 0) + count
    if at_grid and children:
        rows.append(GridRow(None, at_grid))
    total = {
        key: sum(row.counts.get(key, 0) for row in rows) if children else at_grid.get(key, 0) for key, _ in COLUMNS
    }
    return Overview(
        grid=Grid(node.code, node.name),
        path=_path(session, actor, node),
        rows=rows,
        total=total,
        people_by_tag=tag_counts(session, actor, PEOPLE, node.code),
        people_by_residence=_people_by_residence(session, actor, node.code),
        enterprises_by_tag=tag_counts(session, actor, "enterprise", node.code),
    )


def tag_counts(session: Session, actor: Actor, kind_key: str, grid_code: str) -> list[tuple[str, int]]:
    """How many records of the kind carry each tag, most frequent first."""
    model: Any = Person if kind_key == PEOPLE else KINDS[kind_key].model
    function = "json_each" if session.get_bind().dialect.name == "sqlite" else "jsonb_array_elements_text"
    tag = getattr(func, function)(model.tags).table_valued("value", joins_implicitly=True).alias("tag")
    stmt = (
        select(tag.c.value, func.count())
        .select_from(model)
        .join(tag, tag.c.value.is_not(None))
        .where(*_live(model, actor, grid_code))
        .group_by(tag.c.value)
        .order_by(func.count().desc(), tag.c.value)
    )
    return [(str(value), int(count)) for value, count in session.execute(stmt)]


def building_economy(
    session: Session, actor: Actor, grid_code: str | None = None, *, year: int | None = None, limit: int = 50
) -> list[BuildingEconomy]:
    """楼宇经济: the buildings with enterprises in them, by how many, with those established this year, their
    employees and tax."""
    actor.require(Permission.REGISTRY_READ, "查看楼宇经济统计")
    node = _node(session, actor, grid_code)
    first_day = dt.date(year or timesource.now().year, 1, 1)
    stmt = (
        select(
            Building.id,
            Building.name,
            Building.address,
            func.count(Enterprise.id),
            func.sum(case((Enterprise.established_on >= first_day, 1), else_=0)),
            func.coalesce(func.sum(Enterprise.employees), 0),
            func.coalesce(func.sum(Enterprise.annual_tax), 0.0),
        )
        .join(Enterprise, Enterprise.building_id == Building.id)
        .where(*_live(Building, actor, node.code), Enterprise.retired_at.is_(None))
        .group_by(Building.id, Building.name, Building.address)
        .order_by(func.count(Enterprise.id).desc(), func.sum(Enterprise.annual_tax).desc(), Building.id)
        .limit(limit)
    )
    return [
        BuildingEconomy(int(i), name, address, int(count), int(new or 0), int(staff), round(float(tax), 2))
        for i, name, address, count, new, staff, tax in session.execute(stmt)
    ]


def tax_per_mu(session: Session, actor: Actor, grid_code: str | None = None, *, limit: int = 50) -> Ranking:
    """亩均税收: enterprises with land and a tax figure, ranked by tax per mu of land."""
    actor.require(Permission.REGISTRY_READ, "查看亩均税收排名")
    node = _node(session, actor, grid_code)
    measured = (*_live(Enterprise, actor, node.code), Enterprise.land_mu > 0, Enterprise.annual_tax.is_not(None))
    per_mu = Enterprise.annual_tax / Enterprise.land_mu
    stmt = (
        select(Enterprise.id, Enterprise.name, Enterprise.industry, Enterprise.annual_tax, Enterprise.land_mu)
        .where(*measured)
        .order_by(per_mu.desc(), Enterprise.id)
        .limit(limit)
    )
    industries = dict(INDUSTRIES)
    rows = [
        TaxPerMu(rank, int(i), name, industries.get(industry or "", "未填"), tax, land, round(tax / land, 2))
        for rank, (i, name, industry, tax, land) in enumerate(session.execute(stmt), start=1)
        if tax is not None and land
    ]
    ranked, total_tax, total_land = session.execute(
        select(func.count(), func.sum(Enterprise.annual_tax), func.sum(Enterprise.land_mu)).where(*measured)
    ).one()
    average = round(float(total_tax or 0) / float(total_land), 2) if ranked and total_land else None
    return Ranking(rows, int(ranked), average)


def parcels_by_status(session: Session, actor: Actor, grid_code: str | None = None) -> list[ParcelStatus]:
    """How many parcels and how much land in each state of use (闲置、低效、盘活 …)."""
    actor.require(Permission.REGISTRY_READ, "查看地块统计")
    node = _node(session, actor, grid_code)
    status = func.coalesce(Parcel.status, "未填")
    stmt = (
        select(status, func.count(), func.coalesce(func.sum(Parcel.area_mu), 0.0))
        .where(*_live(Parcel, actor, node.code))
        .group_by(status)
        .order_by(func.count().desc(), status)
    )
    return [
        ParcelStatus(str(name), int(count), round(float(area or 0), 2)) for name, count, area in session.execute(stmt)
    ]


def summary_sentence(view: Overview) -> str:
    """The registry's line in a work report: 「海川街道辖区共有小区117个、楼宇…、实有人口109863人（38021户）…」."""
    parts = [
        f"{label.split('（')[0]}{view.total[key]}{UNITS[key]}"
        for key, label in COLUMNS
        if key not in (PEOPLE, HOUSEHOLDS) and view.total[key]
    ]
    people = f"实有人口{view.total[PEOPLE]}人（{view.total[HOUSEHOLDS]}户）"
    tags = "，".join(f"{tag}{count}人" for tag, count in view.people_by_tag[:5])
    sentence = f"{view.grid.name}辖区共有{'、'.join([*parts, people])}"
    return sentence + (f"；其中{tags}。" if tags else "。")


# --- the parts --------------------------------------------------------------------------------------------------


def _grouped_counts(session: Session, actor: Actor, code: str, width: int) -> dict[str, list[tuple[str, int]]]:
    counts: dict[str, list[tuple[str, int]]] = {}
    prefix = func.substr(Person.scope_code, 1, width)
    people = select(prefix, func.count(), func.count(func.distinct(Person.household_no))).where(
        *_live(Person, actor, code)
    )
    for child, persons, households in session.execute(people.group_by(prefix)):
        counts.setdefault(PEOPLE, []).append((child, int(persons)))
        counts.setdefault(HOUSEHOLDS, []).append((child, int(households)))
    for key, kind in KINDS.items():
        model = kind.model
        prefix = func.substr(model.scope_code, 1, width)
        stmt: Select[Any] = select(prefix, func.count()).where(*_live(model, actor, code)).group_by(prefix)
        counts[key] = [(child, int(count)) for child, count in session.execute(stmt)]
    return counts


def _live(model: Any, actor: Actor, code: str) -> tuple[ColumnElement[bool], ...]:
    """The records counted: in the actor's scope and the grid, still there."""
    in_grid = and_(code_in_subtrees(model.scope_code, actor.grid_codes), code_starts_with(model.scope_code, code))
    if model is Person:
        return in_grid, Person.moved_out_at.is_(None), Person.merged_into_id.is_(None)
    assert issubclass(model, PlacedObject)
    return in_grid, model.retired_at.is_(None)


def _people_by_residence(session: Session, actor: Actor, code: str) -> list[tuple[str, int]]:
    stmt = select(Person.residence, func.count()).where(*_live(Person, actor, code)).group_by(Person.residence)
    found: dict[str, int] = {residence: int(count) for residence, count in session.execute(stmt)}
    return [(residence.label, int(found.get(residence.value, 0))) for residence in Residence]


def _node(session: Session, actor: Actor, grid_code: str | None) -> NodeRef:
    """The grid asked for, which the actor must cover; without one, the top of the actor's area, stepping down
    while a grid has a single lower grid (a district account sees its streets, not 山东省), as the indicators do."""
    node = scope_root(session, actor, grid_code)
    if not actor.covers_grid(node.code):
        raise NotFoundError(f"找不到网格“{node.code}”，或不在管辖范围内", code="grid_not_found")
    return NodeRef.of(node)


def _children(session: Session, node: NodeRef) -> list[NodeRef]:
    index = grid_index(session)
    return [index.refs[child] for child in index.children.get(node.id, [])]


def _path(session: Session, actor: Actor, node: NodeRef) -> tuple[Grid, ...]:
    return tuple(Grid(ref.code, ref.name) for ref in grid_index(session).path(node.id) if actor.covers_grid(ref.code))
