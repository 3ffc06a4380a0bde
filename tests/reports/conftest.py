"""A quarter of cases in the small district of the case tests, driven through the real services, for the work
report: 2025-Q3 is the reported period, 2025-Q2 its 环比 and 2024-Q3 its 同比. The clock stands at Thursday
2025-10-09 10:00 (Beijing), when the report is counted."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from tests.cases.conftest import (
    IN_OTHER_STREET,
    IN_OTHER_UNIT,
    IN_UNIT,
    District,
    beijing,
    district,
    pinned_now,
    settings,
)

from civicgrid import timesource
from civicgrid.cases.actions import ActionInput, perform
from civicgrid.cases.intake import IntakeRequest, intake
from civicgrid.cases.models import Case, Channel, Rating
from civicgrid.cases.tick import tick
from civicgrid.cases.workflow import Action
from civicgrid.geo.coords import wgs84_to_gcj02
from civicgrid.org.actor import Actor

__all__ = ["district", "pinned_now", "settings"]

RUBBISH = "0101"  # 市容环境 / 暴露垃圾
BUILDING = "0301"  # 违法建设 / 违法搭建
COUNTED_AT = beijing(2025, 10, 9, 10, 0)
MINUTE = dt.timedelta(minutes=1)


def reported(d: District, at: dt.datetime, *, point: tuple[float, float] = IN_UNIT, **fields: Any) -> Case:
    lon, lat = wgs84_to_gcj02(*point)
    request: dict[str, Any] = {
        "channel": Channel.HOTLINE_12345,
        "title": "楼下垃圾堆积",
        "description": "垃圾三天没人清运",
        "lon": lon,
        "lat": lat,
        "crs": "gcj02",
    }
    request.update(fields)
    with timesource.pinned(at):
        return intake(d.session, d.hotline, IntakeRequest(**request), settings=d.settings).case


def act(d: District, actor: Actor, case: Case, action: Action, at: dt.datetime, **fields: Any) -> None:
    with timesource.pinned(at):
        perform(d.session, actor, case.number, action, ActionInput(**fields), settings=d.settings)


def dispatched(d: District, at: dt.datetime, *, category: str = RUBBISH, **fields: Any) -> Case:
    case = reported(d, at, **fields)
    act(d, d.dispatcher, case, Action.REGISTER, at + 10 * MINUTE, category_code=category)
    act(d, d.dispatcher, case, Action.DISPATCH, at + 15 * MINUTE)
    return case


def closed(d: District, at: dt.datetime, rating: Rating | None = None) -> Case:
    """A rubbish case in the grid worker's unit, handled by the street's 城管办 within the morning."""
    case = dispatched(d, at)
    act(d, d.street_cg, case, Action.ACCEPT, at + 30 * MINUTE)
    act(d, d.street_cg, case, Action.SUBMIT, at + 90 * MINUTE, note="已清运")
    act(d, d.grid_worker, case, Action.VERIFY_PASS, at + 120 * MINUTE, note="现场已清理")
    if rating is not None:
        act(d, d.hotline, case, Action.RATE, at + 180 * MINUTE, rating=rating)
    return case


@dataclass
class Quarter:
    d: District
    recurring_unit: list[Case]  # four rubbish cases in the unit grid, closed
    rejected: Case
    duplicate: Case
    other_unit: list[Case]  # two rubbish cases in the other unit grid, with 区城管局, still open
    building: Case  # registered, never dispatched
    other_street: list[Case]  # three rubbish reports in the other street


@pytest.fixture
def quarter(district: District) -> Quarter:
    d = district
    unit = [
        closed(d, beijing(2025, 7, 8, 9, 0), Rating.SATISFIED),
        closed(d, beijing(2025, 8, 12, 9, 0), Rating.UNSATISFIED),
        closed(d, beijing(2025, 9, 16, 9, 0), Rating.BASICALLY),
        closed(d, beijing(2025, 9, 23, 9, 0)),
    ]
    other_unit = []
    for day in (beijing(2025, 8, 12, 10, 0), beijing(2025, 9, 23, 10, 0)):
        case = reported(d, day, point=IN_OTHER_UNIT)
        act(d, d.dispatcher, case, Action.REGISTER, day + 10 * MINUTE, category_code=RUBBISH)
        act(d, d.dispatcher, case, Action.DISPATCH, day + 15 * MINUTE, main_department="CGJ")
        act(d, d.cgj, case, Action.ACCEPT, day + 30 * MINUTE)
        other_unit.append(case)
    rejected = reported(d, beijing(2025, 9, 16, 11, 0), title="咨询垃圾分类政策")
    act(d, d.dispatcher, rejected, Action.REJECT, beijing(2025, 9, 16, 11, 10), note="非受理范围")
    duplicate = reported(d, beijing(2025, 9, 23, 11, 0), title="同一处垃圾")
    act(d, d.dispatcher, duplicate, Action.MERGE, beijing(2025, 9, 23, 11, 10), master_number=other_unit[1].number)
    building = reported(d, beijing(2025, 9, 16, 14, 0), title="院内私搭彩钢板房")
    act(d, d.dispatcher, building, Action.REGISTER, beijing(2025, 9, 16, 14, 10), category_code=BUILDING)
    other_street = [
        reported(d, beijing(2025, month, 9, 9, 0), point=IN_OTHER_STREET, category_code=RUBBISH) for month in (7, 8, 9)
    ]
    for day in (beijing(2025, 5, 13, 9, 0), beijing(2025, 6, 10, 9, 0)):  # 环比: 2025-Q2
        closed(d, day, Rating.SATISFIED)
    for day in (beijing(2024, 7, 9, 9, 0), beijing(2024, 8, 13, 9, 0), beijing(2024, 9, 10, 9, 0)):  # 同比
        reported(d, day, category_code=RUBBISH)
    tick(d.session, now=COUNTED_AT, settings=d.settings)
    return Quarter(d, unit, rejected, duplicate, other_unit, building, other_street)
