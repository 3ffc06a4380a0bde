"""Demo cases: a fortnight of reports in 海川街道, taken through the real flow to a realistic mix of states."""

from __future__ import annotations

import datetime as dt

import numpy as np
import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid import timesource
from civicgrid.cases.actions import ActionInput, perform
from civicgrid.cases.intake import IntakeRequest, intake
from civicgrid.cases.models import Category, Channel, Rating
from civicgrid.cases.workflow import Action
from civicgrid.grid.models import GridNode
from civicgrid.grid.service import node_geometry
from civicgrid.org.actor import Actor
from civicgrid.org.models import Department, User
from civicgrid.org.service import actor_for, get_user
from civicgrid.settings import Settings
from civicgrid.worktime.service import confirm_year, set_day

BEIJING = dt.timezone(dt.timedelta(hours=8))
# (category code, title, description) — what residents and patrols typically report
REPORTS = (
    ("0101", "楼下垃圾没人清运", "小区北门垃圾桶满溢，垃圾堆在地上两天了。"),
    ("0104", "路口占道经营", "早市摊贩占用人行道，行人只能走机动车道。"),
    ("0107", "道路不洁", "泰和路中段路面有大量泥土，下雨后很脏。"),
    ("0201", "井盖缺失", "华山路与和平路交叉口东侧井盖缺失，非常危险。"),
    ("0202", "路灯不亮", "幸福里小区门前三盏路灯一周不亮。"),
    ("0203", "道路坑洼", "东方大道辅路有一个大坑，电动车容易摔倒。"),
    ("0301", "违法搭建", "6号楼一楼住户在院内私搭彩钢板房。"),
    ("0404", "夜间施工噪声", "工地晚上十一点后仍在施工，噪声扰民。"),
    ("0501", "消防通道堵塞", "小区消防通道长期停放私家车。"),
    ("0801", "邻里漏水纠纷", "楼上卫生间漏水到楼下，协商不成。"),
)
CHANNELS = (Channel.HOTLINE_12345, Channel.HOTLINE_12345, Channel.GRID_PATROL, Channel.RESIDENT, Channel.HOTLINE_8890)


def build_demo_calendar(session: Session, actor: Actor) -> None:
    """The demo runs past the years chinese-calendar knows: enter 2027's New Year holiday and confirm 2027, so
    that deadlines running into January can be computed. A real installation enters the State Council notice."""
    set_day(session, actor, dt.date(2027, 1, 1), False, "元旦")
    confirm_year(session, actor, 2027, "演示库：2027年放假安排以国务院办公厅通知为准，此处仅录入元旦")


def build_demo_cases(
    session: Session, settings: Settings, rng: np.random.Generator, units: list[GridNode], count: int = 40
) -> int:
    people = _people(session)
    categories = {c.code: c for c in session.execute(select(Category)).scalars()}
    start = dt.datetime.now(BEIJING).replace(hour=9, minute=0, second=0, microsecond=0) - dt.timedelta(days=14)
    for number in range(count):
        code, title, description = REPORTS[number % len(REPORTS)]
        channel = CHANNELS[number % len(CHANNELS)]
        drawn = units[int(rng.integers(len(units)))]
        unit = units[0] if channel is Channel.GRID_PATROL else drawn  # she patrols her own grid (units[0])
        point = _random_point(unit, rng)
        reported = start + dt.timedelta(days=int(number * 14 / count), hours=int(rng.integers(0, 8)))
        with timesource.pinned(reported):
            reporter = (
                people["gridworker"]
                if channel is Channel.GRID_PATROL
                else (people["resident"] if channel is Channel.RESIDENT else people["hotline"])
            )
            case = intake(
                session,
                reporter,
                IntakeRequest(
                    channel=channel,
                    title=title,
                    description=description,
                    lon=point[0],
                    lat=point[1],
                    crs="wgs84",
                    reporter_name=None if channel is Channel.GRID_PATROL else "张先生",
                    reporter_phone=None if channel is Channel.GRID_PATROL else f"1380000{number:04d}",
                    source_id=f"demo-{number:04d}",
                ),
                settings=settings,
            ).case
        _progress(session, settings, people, case.number, categories[code].code, number, reported)
    return count + _unplaced_reports(session, settings, people["hotline"], units, start + dt.timedelta(days=13))


def _unplaced_reports(
    session: Session, settings: Settings, operator: Actor, units: list[GridNode], reported: dt.datetime
) -> int:
    """Two reports the locator could not place, waiting in the command centre's 待落图 queue: a resident's with
    an address only, and a hotline call whose point lies just east of the street's last grid."""
    east = max((node_geometry(unit) for unit in units), key=lambda polygon: polygon.bounds[2] if polygon else 0)
    assert east is not None
    outside = (east.bounds[2] + 0.004, (east.bounds[1] + east.bounds[3]) / 2)
    requests = [
        (Actor.public_reporter(), IntakeRequest(
            channel=Channel.RESIDENT, title="小区门口路灯不亮", description="泰和路小区南门的路灯坏了一个多星期。",
            address="泰和路小区南门", reporter_name="孙女士", reporter_phone="13900001111",
        )),
        (operator, IntakeRequest(
            channel=Channel.HOTLINE_12345, title="河边有人倾倒建筑垃圾", description="东侧河堤外有车辆倾倒建筑垃圾。",
            lon=outside[0], lat=outside[1], crs="wgs84", source_id="demo-unplaced-1",
            reporter_name="周先生", reporter_phone="13900002222",
        )),
    ]  # fmt: skip
    with timesource.pinned(reported):
        for actor, request in requests:
            intake(session, actor, request, settings=settings)
    return len(requests)


def _people(session: Session) -> dict[str, Actor]:
    actors = {
        name: actor_for(session, get_user(session, name))
        for name in ("dispatcher", "gridworker", "hotline", "resident", "leader", "cgj")
    }
    street_cg = (
        session.execute(
            select(User).join(Department, Department.id == User.department_id).where(Department.code == "HC-CG")
        )
        .scalars()
        .first()
    )
    if street_cg is not None:
        actors["HC-CG"] = actor_for(session, street_cg)
    return actors


def _progress(
    session: Session,
    settings: Settings,
    people: dict[str, Actor],
    number: str,
    category: str,
    index: int,
    reported: dt.datetime,
) -> None:
    """Take the case as far as its index says: some wait for registration, most are in the works or closed."""
    stage = index % 8
    if stage == 0:
        return
    department = "HC-CG" if category.startswith(("01", "02")) and "HC-CG" in people else "CGJ"
    handler = people.get(department, people["cgj"])
    steps: list[tuple[Actor, Action, ActionInput]] = [
        (people["dispatcher"], Action.REGISTER, ActionInput(category_code=category)),
        (people["dispatcher"], Action.DISPATCH, ActionInput(main_department=department)),
        (handler, Action.ACCEPT, ActionInput()),
        (handler, Action.SUBMIT, ActionInput(note="已到现场处置完毕")),
        (people["dispatcher"], Action.VERIFY_PASS, ActionInput(note="现场核查，问题已解决")),
        (people["hotline"], Action.RATE, ActionInput(rating=Rating.SATISFIED if index % 5 else Rating.BASICALLY)),
    ]
    for offset, (actor, action, params) in enumerate(steps[: min(stage, len(steps))], start=1):
        with timesource.pinned(reported + dt.timedelta(hours=2 * offset)):
            perform(session, actor, number, action, params, settings=settings)


def _random_point(unit: GridNode, rng: np.random.Generator) -> tuple[float, float]:
    polygon = node_geometry(unit)
    assert polygon is not None
    min_x, min_y, max_x, max_y = polygon.bounds
    while True:
        x, y = rng.uniform(min_x, max_x), rng.uniform(min_y, max_y)
        if shapely.contains_xy(polygon, x, y):
            return float(x), float(y)
