"""The actor's cases as compact GeoJSON points for the maps, in the coordinate system of the tiles."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from sqlalchemy import Row, Select, func, select
from sqlalchemy import case as when
from sqlalchemy.orm import Session, aliased

from civicgrid.cases.auth import readable
from civicgrid.cases.models import Case, CaseAssignment, CaseState, Category
from civicgrid.cases.queries import CaseFilter, filtered
from civicgrid.geo.coords import CRS, convert
from civicgrid.org.actor import Actor, minimal_roots

POINT_CAP = 20_000  # a browser still clusters this many markers smoothly; beyond it the answer says "truncated"
COORDINATE_DECIMALS = 6  # about 0.1 m


def points_collection(
    session: Session, actor: Actor, criteria: CaseFilter, crs: CRS = CRS.WGS84, cap: int | None = None
) -> dict[str, Any]:
    """The readable cases matching ``criteria`` that have coordinates, newest first, at most ``cap`` of them
    (POINT_CAP unless given).

    The collection also says how many matching cases have no coordinates (``unplaced``), how many have
    (``placed``), and whether the features stop short of them (``truncated``)."""
    placed, unplaced = _counts(session, actor, criteria)
    limit = POINT_CAP if cap is None else cap
    rows = list(session.execute(_point_rows(actor, criteria).limit(limit)).all())
    collection: dict[str, Any] = {
        "type": "FeatureCollection",
        "features": _features(rows, crs),
        "placed": placed,
        "unplaced": unplaced,
        "truncated": placed > len(rows),
    }
    if crs is not CRS.WGS84:
        collection["civicgrid:crs"] = crs.value  # shifted coordinates must not pass for WGS-84
    return collection


def _counts(session: Session, actor: Actor, criteria: CaseFilter) -> tuple[int, int]:
    matching = filtered(readable(select(Case.lon, Case.lat), actor), criteria).subquery()
    missing = matching.c.lon.is_(None) | matching.c.lat.is_(None)
    stmt = select(func.count(), func.coalesce(func.sum(when((missing, 1), else_=0)), 0)).select_from(matching)
    total, unplaced = session.execute(stmt).one()
    return int(total) - int(unplaced), int(unplaced)


def _point_rows(actor: Actor, criteria: CaseFilter) -> Select[*tuple[Any, ...]]:
    category = aliased(Category)  # an alias: filtered() joins Category itself when filtering by category
    stmt = select(
        Case.number,
        Case.title,
        Case.state,
        Case.overdue,
        Case.due_soon,
        Case.lon,
        Case.lat,
        category.name.label("category_name"),
    ).outerjoin(category, category.id == Case.category_id)
    stmt = filtered(readable(stmt, actor), criteria)
    return stmt.where(Case.lon.is_not(None), Case.lat.is_not(None)).order_by(Case.reported_at.desc(), Case.id.desc())


def _features(rows: list[Row[*tuple[Any, ...]]], crs: CRS) -> list[dict[str, Any]]:
    if not rows:
        return []
    lons = np.fromiter((row.lon for row in rows), dtype=np.float64, count=len(rows))
    lats = np.fromiter((row.lat for row in rows), dtype=np.float64, count=len(rows))
    if crs is not CRS.WGS84:
        lons, lats = convert(lons, lats, CRS.WGS84, crs)
    lons, lats = np.round(lons, COORDINATE_DECIMALS), np.round(lats, COORDINATE_DECIMALS)
    return [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [float(lon), float(lat)]},
            "properties": {
                "number": row.number,
                "title": row.title,
                "state": row.state,
                "state_label": CaseState(row.state).label,
                "overdue": bool(row.overdue),
                "due_soon": bool(row.due_soon),
                "category": row.category_name,
            },
        }
        for row, lon, lat in zip(rows, lons.tolist(), lats.tolist(), strict=True)
    ]


STREET_CODE_LENGTH = 9  # 街道/乡镇 in the NBS 统计用区划代码 (2 + 2 + 2 + 3)


def map_viewer(session: Session, actor: Actor, *, public_grid_map: bool) -> Actor:
    """Who the grid map is drawn for. A department works across grids it does not own: without a grid scope of
    its own, its staff see the streets its cases lie in. Anyone else without a grid scope (a signed-in resident)
    sees what a visitor sees while the grid map is public."""
    if actor.grid_codes:
        return actor
    streets = _streets_of_department_cases(session, actor)
    if streets:
        return replace(actor, grid_codes=streets)
    return Actor.anonymous(public_grid_map=True) if public_grid_map else actor


def _streets_of_department_cases(session: Session, actor: Actor) -> tuple[str, ...]:
    if not actor.department_ids:
        return ()
    street = func.substr(Case.scope_code, 1, STREET_CODE_LENGTH)
    codes = session.execute(
        select(street)
        .distinct()
        .join(CaseAssignment, CaseAssignment.case_id == Case.id)
        .where(CaseAssignment.department_id.in_(sorted(actor.department_ids)))
    ).scalars()
    return minimal_roots(code for code in codes if code)
