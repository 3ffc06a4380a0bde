"""The small district of the case tests (one street, two communities, two unit grids, one person per role), and
the October story of the edge-rule tests: one case for each rule, driven through the real workflow."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from tests.cases.conftest import IN_OTHER_STREET, IN_UNIT, District, beijing, district, photo, pinned_now, settings

from civicgrid import timesource
from civicgrid.cases.actions import ActionInput, perform
from civicgrid.cases.intake import IntakeRequest, intake
from civicgrid.cases.models import Case, Channel, Rating
from civicgrid.cases.tick import tick
from civicgrid.cases.workflow import Action
from civicgrid.geo.coords import wgs84_to_gcj02
from civicgrid.org.actor import Actor

__all__ = ["district", "pinned_now", "settings"]

RUBBISH = "0101"  # 暴露垃圾: register 2 working hours, handle 4 working hours, self-handling allowed
COUNTED_AT = beijing(2025, 10, 20, 9, 0)


def report(d: District, actor: Actor | None = None, *, at: dt.datetime | None = None, **overrides: Any) -> Case:
    lon, lat = wgs84_to_gcj02(*overrides.pop("point", IN_UNIT))
    fields: dict[str, Any] = {
        "channel": Channel.HOTLINE_12345,
        "title": "垃圾堆积",
        "description": "楼下垃圾没人清运",
        "lon": lon,
        "lat": lat,
        "crs": "gcj02",
    }
    fields.update(overrides)
    with timesource.pinned(at or timesource.now()):
        return intake(d.session, actor or d.hotline, IntakeRequest(**fields), settings=d.settings).case


def act(d: District, actor: Actor, case: Case, action: Action, at: dt.datetime | None = None, **fields: Any) -> None:
    with timesource.pinned(at or timesource.now()):
        perform(d.session, actor, case.number, action, ActionInput(**fields), settings=d.settings)


def dispatch(d: District, case: Case, **fields: Any) -> None:
    act(d, d.dispatcher, case, Action.REGISTER, category_code=RUBBISH)
    act(d, d.dispatcher, case, Action.DISPATCH, **fields)


def close(d: District, case: Case, handler: Actor, submitted_at: dt.datetime) -> None:
    act(d, handler, case, Action.ACCEPT)
    act(d, handler, case, Action.SUBMIT, at=submitted_at, note="已处理")
    act(d, d.grid_worker, case, Action.VERIFY_PASS, at=submitted_at)


@dataclass
class Story:
    on_time: Case
    late_reworked: Case
    suspended: Case
    duplicate: Case
    rejected: Case
    self_handled: Case
    reopened: Case
    unanswered: Case
    earlier: Case
    other_street: Case


@pytest.fixture
def story(district: District) -> Story:
    d = district  # the clock stands at Thursday 2025-10-09 10:00 (Beijing)
    on_time = report(d)
    dispatch(d, on_time)  # HC-CG by routing; handling deadline 15:30 (4 working hours, lunch skipped)
    duplicate = report(d, title="同一处垃圾")
    act(d, d.dispatcher, duplicate, Action.MERGE, master_number=on_time.number)
    close(d, on_time, d.street_cg, beijing(2025, 10, 9, 11, 0))  # 60 working minutes; closes the duplicate too
    act(d, d.hotline, on_time, Action.RATE, rating=Rating.SATISFIED)

    late = report(d)
    dispatch(d, late, main_department="CGJ", assist_departments=["SCJG"])  # 联动
    act(d, d.cgj, late, Action.ACCEPT)
    act(d, d.cgj, late, Action.SUBMIT, at=beijing(2025, 10, 10, 9, 0), note="已处理")
    act(d, d.grid_worker, late, Action.VERIFY_FAIL, at=beijing(2025, 10, 10, 9, 30), note="仍有垃圾")
    # Resubmitted at 11:00 the next day: 240 minutes of limit + 120 (15:30–17:30) + 150 (08:30–11:00) late = 510.
    act(d, d.cgj, late, Action.SUBMIT, at=beijing(2025, 10, 10, 11, 0), note="已清理")
    act(d, d.grid_worker, late, Action.VERIFY_PASS, at=beijing(2025, 10, 10, 11, 0))
    act(d, d.hotline, late, Action.RATE, rating=Rating.UNSATISFIED)

    suspended = report(d)
    dispatch(d, suspended)
    act(d, d.street_cg, suspended, Action.ACCEPT)
    act(d, d.street_cg, suspended, Action.REQUEST_SUSPENSION, note="待产权确认")
    act(d, d.leader, suspended, Action.APPROVE_SUSPENSION)

    rejected = report(d, title="咨询社保政策")
    act(d, d.dispatcher, rejected, Action.REJECT, note="非本平台受理范围")

    self_handled = report(d, d.grid_worker, channel=Channel.GRID_PATROL, category_code=RUBBISH)
    act(d, d.grid_worker, self_handled, Action.SELF_HANDLE, note="已当场清理", attachments=[photo()])

    reopened = report(d)
    dispatch(d, reopened)
    close(d, reopened, d.street_cg, beijing(2025, 10, 9, 10, 30))
    act(d, d.hotline, reopened, Action.RATE, rating=Rating.UNSATISFIED)
    act(d, d.dispatcher, reopened, Action.REOPEN, note="群众不满意，重办")

    unanswered = report(d, title="路灯不亮")  # nobody registers it: its 2-hour answer time runs out at 12:00

    earlier = report(d, at=beijing(2025, 9, 30, 16, 0))  # September's case, closed in October
    dispatch(d, earlier)
    close(d, earlier, d.street_cg, beijing(2025, 10, 9, 11, 0))

    other_street = report(d, point=IN_OTHER_STREET)
    tick(d.session, now=COUNTED_AT, settings=d.settings)
    return Story(
        on_time, late, suspended, duplicate, rejected, self_handled, reopened, unanswered, earlier, other_street
    )
