"""A big demo database for the page benchmark: the demo district plus a year of cases written set-based.

``civicgrid.cases.intake`` takes about 110 cases/s (bench/intake), far too slow for 100,000 cases, so the rows
are computed here and written with SQLAlchemy Core ``executemany``: case rows as the flow would have left them
(numbering, placement, clock, counters, timestamps), their history (``case_event``, seq 1..n, matching
``event_count``) and the department assignments of every dispatched case. The mix follows a street's year:
most cases closed, the recent ones spread over the open states, some of them 临期/超期.

    .venv/bin/python bench/web/generate.py --database-url sqlite:////tmp/cases.db --cases 100000
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import datetime as dt
import itertools
import math
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import shapely
from sqlalchemy import Engine, delete, func, insert, select, text
from sqlalchemy.orm import Session, selectinload

from civicgrid import migrate
from civicgrid.cases.models import (
    CHANNEL_LABELS,
    AssignmentRole,
    Case,
    CaseAssignment,
    CaseEvent,
    CaseState,
    Category,
    Channel,
    Placement,
    Rating,
)
from civicgrid.cases.taxonomy import effective_limits
from civicgrid.counters import SystemCounter
from civicgrid.db import make_engine, make_session_factory, transaction
from civicgrid.demo.district import DISTRICT_CODE, MAIN_STREET, build_demo
from civicgrid.demo.names import person_names
from civicgrid.grid.models import GridAssignment, GridDuty, GridNode
from civicgrid.org.models import Department, User
from civicgrid.settings import Settings
from civicgrid.worktime.calendar import UnknownCalendarYearError, WorkCalendar, WorkDuration, parse_limit
from civicgrid.worktime.service import load_calendar

BEIJING = ZoneInfo("Asia/Shanghai")
DAY = dt.timedelta(days=1)
MINUTE = dt.timedelta(minutes=1)
BATCH = 5_000

# What residents, patrols and the hotlines report, per category (code → titles, detail). Categories not listed
# here get their own name as the title. Weights: how common each category is in a street's year.
PROBLEMS: dict[str, tuple[tuple[str, ...], str, float]] = {
    "0101": (("垃圾堆积无人清运", "楼下垃圾没人清运"), "垃圾桶满溢，垃圾堆在地上好几天了，气味很大", 14),
    "0102": (("建筑垃圾渣土乱倒",), "有人夜里偷倒装修垃圾和渣土，堆了一大片", 3),
    "0103": (("楼道堆放杂物",), "楼道里堆放纸箱、旧家具，堵塞疏散通道，存在火灾隐患", 5),
    "0104": (("占道经营", "早市摊贩占道"), "摊贩占用人行道经营，行人只能走机动车道", 8),
    "0105": (("店外经营",), "沿街商户把货架摆到店外人行道上", 3),
    "0106": (("非法小广告",), "单元门和电线杆上贴满小广告，清理后又贴", 4),
    "0107": (("道路不洁",), "路面有大量泥土和落叶，下雨后很脏", 4),
    "0108": (("露天烧烤扰民",), "夜市露天烧烤，油烟和噪音到后半夜", 2),
    "0201": (("井盖缺失", "井盖破损"), "路面井盖缺失，只用一根树枝插着提醒，晚上很危险", 3),
    "0202": (("路灯不亮",), "小区门前几盏路灯一周不亮，老人孩子晚上出行不安全", 6),
    "0203": (("道路坑洼破损",), "辅路有一个大坑，电动车容易摔倒", 4),
    "0204": (("垃圾桶破损",), "路边垃圾桶破损，垃圾散落一地", 2),
    "0301": (("违法搭建",), "一楼住户在院内私搭彩钢板房，影响邻居采光", 3),
    "0401": (("河道黑臭",), "河道水体发黑发臭，夏天气味更大", 0.5),
    "0403": (("施工扬尘",), "工地渣土没有覆盖，刮风时扬尘很大", 2),
    "0404": (("夜间施工噪声扰民",), "工地晚上十一点后仍在施工，噪声严重影响休息", 5),
    "0405": (("餐饮油烟扰民",), "楼下饭店油烟直排，窗户都不能开", 3),
    "0501": (("消防通道堵塞",), "小区消防通道长期停放私家车，消防车进不来", 4),
    "0502": (("燃气泄漏隐患",), "楼道里有燃气味，担心管道老化漏气", 0.5),
    "0701": (("物业服务不到位",), "物业长期不打扫卫生，报修也没人管", 4),
    "0702": (("小区电梯故障",), "小区电梯经常故障停运，老人上下楼很困难", 3),
    "0801": (("邻里漏水纠纷",), "楼上卫生间漏水到楼下，多次协商不成", 3),
    "0902": (("停水停电",), "小区突然停电，没有任何通知", 2),
    "1001": (("共享单车乱停放", "车辆乱停乱放"), "车辆乱停乱放，把盲道和出入口都堵住了", 8),
}
DURATIONS = ("已持续一周", "已经有半个月了", "这几天一直这样", "反映过多次", "从上个月开始")
ASKS = ("请相关部门尽快处理。", "希望尽快解决。", "请核实处理并回复。", "麻烦尽快派人来看看。")
CHANNEL_MIX: tuple[tuple[Channel, float], ...] = (
    (Channel.HOTLINE_12345, 0.45),
    (Channel.GRID_PATROL, 0.25),
    (Channel.RESIDENT, 0.08),
    (Channel.MESSAGE_BOARD, 0.08),
    (Channel.HOTLINE_8890, 0.05),
    (Channel.REFERRAL, 0.03),
    (Channel.INSPECTION, 0.04),
    (Channel.SENSOR, 0.02),
)
HOTLINE_TAKEN = frozenset(
    {Channel.HOTLINE_12345, Channel.HOTLINE_8890, Channel.HOTLINE_96685, Channel.MESSAGE_BOARD, Channel.REFERRAL}
)
SOURCE_PREFIX = {Channel.HOTLINE_12345: "12345-", Channel.HOTLINE_8890: "8890-", Channel.MESSAGE_BOARD: "LY-"}


# ----------------------------------------------------------------------------------------------- the district


@dataclass(frozen=True)
class Person:
    user_id: int | None
    label: str


@dataclass(frozen=True)
class Unit:
    id: int
    code: str
    community: str
    worker: Person
    area: Any  # shapely polygon


@dataclass(frozen=True)
class Kind:
    id: int
    code: str
    titles: tuple[str, ...]
    detail: str
    priority: int
    minutes: dict[str, int]  # stage → working minutes
    department: str  # default department code
    self_handle: bool


@dataclass
class District:
    units: list[Unit]
    kinds: list[Kind]
    weights: np.ndarray
    default_minutes: dict[str, int]
    departments: dict[str, tuple[int, str]]  # code → (id, name)
    staff: dict[str, Person]  # department code → a person who works its cases
    people: dict[str, Person]  # demo logins by username
    street_name: str
    calendar: WorkCalendar
    due_soon_share: float


def load_district(session: Session, settings: Settings) -> District:
    calendar = load_calendar(session, settings)
    nodes = {n.id: n for n in session.execute(select(GridNode)).scalars()}
    workers = {
        grid_id: Person(user_id, f"{name}({username})")
        for grid_id, user_id, name, username in session.execute(
            select(GridAssignment.grid_node_id, User.id, User.display_name, User.username)
            .join(User, User.id == GridAssignment.user_id)
            .where(GridAssignment.duty == GridDuty.GRID_WORKER.value)
            .order_by(GridAssignment.id)
        ).all()
    }
    units = [
        Unit(
            n.id,
            n.code,
            nodes[n.parent_id].name if n.parent_id else "",
            workers.get(n.id, Person(None, "网格员")),
            shapely.from_wkb(n.geometry),
        )
        for n in sorted(nodes.values(), key=lambda n: n.code)
        if n.level == "unit" and n.code.startswith(MAIN_STREET) and n.geometry is not None
    ]
    day_minutes = calendar.day_minutes()

    def minutes_of(category: Category | None) -> dict[str, int]:
        return {
            stage: parse_limit(limit["value"], limit["unit"], day_minutes).minutes
            for stage, limit in effective_limits(category).items()
        }

    categories = session.execute(select(Category).options(selectinload(Category.parent))).scalars().all()
    parents = {c.parent_id for c in categories}
    kinds: list[Kind] = []
    weights: list[float] = []
    for category in sorted(categories, key=lambda c: c.code):
        if category.id in parents or not category.is_active:
            continue
        titles, detail, weight = PROBLEMS.get(category.code, ((category.name,), f"{category.name}问题需要处理", 0.3))
        kinds.append(
            Kind(
                category.id,
                category.code,
                titles,
                detail,
                category.priority,
                minutes_of(category),
                category.default_department_code or "HC-CG",
                category.self_handle_allowed,
            )
        )
        weights.append(weight)
    departments = {
        code: (id_, name)
        for id_, code, name in session.execute(select(Department.id, Department.code, Department.name))
    }
    staff: dict[str, Person] = {}
    for code, user_id, name, username in session.execute(
        select(Department.code, User.id, User.display_name, User.username)
        .join(User, User.department_id == Department.id)
        .order_by(User.id)
    ).all():
        staff.setdefault(code, Person(user_id, f"{name}({username})"))
    people = {
        username: Person(user_id, f"{name}({username})")
        for user_id, name, username in session.execute(select(User.id, User.display_name, User.username))
    }
    street = session.execute(select(GridNode.name).where(GridNode.code == MAIN_STREET)).scalar_one()
    share = np.asarray(weights)
    return District(
        units=units,
        kinds=kinds,
        weights=share / share.sum(),
        default_minutes=minutes_of(None),
        departments=departments,
        staff=staff,
        people=people,
        street_name=street,
        calendar=calendar,
        due_soon_share=settings.due_soon_share,
    )


# ----------------------------------------------------------------------------------------------- one case


@dataclass
class Planned:
    """One case being written: its row, its history and its assignments."""

    row: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)
    assignments: list[dict[str, Any]] = field(default_factory=list)
    clock: Clock | None = None  # the stage running (or the last one, once the case is finished)

    def event(
        self,
        at: dt.datetime,
        who: Person,
        action: str,
        before: CaseState | None,
        after: CaseState,
        note: str = "",
        data: dict[str, Any] | None = None,
    ) -> None:
        self.events.append(
            {
                "case_id": self.row["id"],
                "seq": 0,  # numbered once the history is complete (a merge adds to an earlier case's history)
                "at": at,
                "actor_user_id": who.user_id,
                "actor_label": who.label,
                "action": action,
                "from_state": before.value if before else None,
                "to_state": after.value,
                "note": note,
                "data": data or {},
            }
        )


@dataclass
class Clock:
    """The working-time clock of one stage, as ``cases.clock.start_stage`` would have set it."""

    stage: str
    started: dt.datetime
    minutes: int
    due: dt.datetime


class Outcome(StrEnum):
    """How a case's life goes, decided at intake; ``now`` cuts it wherever it has got to."""

    HANDLED = "handled"  # register, dispatch, accept, submit, verify (closed), maybe rated
    SELF_HANDLED = "self_handled"  # a grid worker closes it on the spot
    REJECTED = "rejected"
    MERGED = "merged"
    SUSPENDED = "suspended"  # approved 挂账: stays suspended
    STRAGGLER = "straggler"  # the department takes weeks to months: long overdue while it lasts


OUTCOME_MIX = (
    (Outcome.HANDLED, 0.938),
    (Outcome.REJECTED, 0.04),
    (Outcome.MERGED, 0.012),
    (Outcome.SUSPENDED, 0.003),
    (Outcome.STRAGGLER, 0.007),
)


def running_sums(weights: list[float]) -> list[float]:
    total = sum(weights)
    return list(itertools.accumulate(weight / total for weight in weights))


OUTCOME_CUMULATIVE = running_sums([share for _, share in OUTCOME_MIX])
CHANNEL_CUMULATIVE = running_sums([share for _, share in CHANNEL_MIX])
RATING_CUMULATIVE = running_sums([0.82, 0.14, 0.04])


class NotYetError(Exception):
    """The next step of the case lies after now: the case waits where it is."""


class Planner:
    def __init__(self, district: District, rng: np.random.Generator, now: dt.datetime) -> None:
        self.d = district
        self.rng = rng
        self.now = now
        self.names = person_names(rng)
        self.by_unit: dict[int, list[Planned]] = defaultdict(list)  # merge candidates, most recent last
        self.cursor = now  # the time of the current case's latest step
        self.kind_cumulative = running_sums(district.weights.tolist())

    # --- helpers

    def draw(self, cumulative: list[float]) -> int:
        """An index drawn with the probabilities whose running sums are ``cumulative``."""
        return min(bisect.bisect_right(cumulative, float(self.rng.random())), len(cumulative) - 1)

    def pick(self, options: tuple[str, ...]) -> str:
        return options[int(self.rng.integers(len(options)))]

    def clock(self, stage: str, started: dt.datetime, minutes: int) -> Clock:
        calendar = self.d.calendar
        return Clock(stage, started, minutes, calendar.add(started, WorkDuration(minutes)))

    def after(self, mean_working_minutes: float, *, exactly: float | None = None) -> dt.datetime:
        """The next step, ``exactly`` or about ``mean_working_minutes`` of working time after the last one;
        ``NotYetError`` when that is after now."""
        minutes = exactly if exactly is not None else 1 + float(self.rng.exponential(mean_working_minutes))
        at = self.working(self.cursor, minutes)
        at += dt.timedelta(seconds=float(self.rng.uniform(0, 59)))
        if at >= self.now:
            raise NotYetError
        self.cursor = at
        return at

    def working(self, start: dt.datetime, minutes: float) -> dt.datetime:
        """``minutes`` of working time after ``start``; beyond the holiday table's last year it has not happened."""
        try:
            return self.d.calendar.add(start, WorkDuration(max(1, int(minutes))))
        except UnknownCalendarYearError as error:
            raise NotYetError from error

    def staff(self, department: str) -> Person:
        found = self.d.staff.get(department)
        return found or Person(None, self.d.departments.get(department, (0, department))[1])

    # --- the case

    def plan(self, case_id: int, number: str, reported: dt.datetime) -> Planned:
        rng, d = self.rng, self.d
        channel = CHANNEL_MIX[self.draw(CHANNEL_CUMULATIVE)][0]
        kind = d.kinds[self.draw(self.kind_cumulative)]
        unit = d.units[int(rng.integers(len(d.units)))]
        title = f"{unit.community}{self.pick(kind.titles)}"
        address = f"{d.street_name}{unit.community}{int(rng.integers(1, 40))}号楼附近"
        description = f"{address}{kind.detail}，{self.pick(DURATIONS)}，{self.pick(ASKS)}"
        taker = self.taker(channel, unit)
        row = self.base_row(case_id, number, channel, reported, title, description, address, taker)
        self.place(row, unit, channel)
        planned = Planned(row)
        placement = Placement(row["placement"]).label
        note = f"{CHANNEL_LABELS[channel]}受理，{placement}"
        planned.event(reported, taker, "intake", None, CaseState.REPORTED, note)
        outcome = OUTCOME_MIX[self.draw(OUTCOME_CUMULATIVE)][0]
        if outcome is Outcome.HANDLED and channel is Channel.GRID_PATROL and kind.self_handle and rng.random() < 0.5:
            outcome = Outcome.SELF_HANDLED
        self.cursor = reported
        named = outcome is not Outcome.REJECTED and rng.random() < 0.3  # a category named at intake
        if named:
            self.categorise(row, kind)
        clock = self.clock("register", reported, (kind.minutes if named else d.default_minutes)["register"])
        with contextlib.suppress(NotYetError):
            self.walk(planned, outcome, kind, unit, channel, clock)
        self.settle(planned)
        self.by_unit[unit.id].append(planned)
        return planned

    def taker(self, channel: Channel, unit: Unit) -> Person:
        if channel in HOTLINE_TAKEN:
            return self.d.people["hotline"]
        if channel in (Channel.GRID_PATROL, Channel.INSPECTION):
            return unit.worker
        if channel is Channel.SENSOR:
            return Person(None, "感知设备接口")
        return Person(None, "访客")  # residents report on the public page without an account

    def base_row(
        self,
        case_id: int,
        number: str,
        channel: Channel,
        reported: dt.datetime,
        title: str,
        description: str,
        address: str,
        taker: Person,
    ) -> dict[str, Any]:
        rng = self.rng
        caller = channel in HOTLINE_TAKEN or channel is Channel.RESIDENT
        prefix = SOURCE_PREFIX.get(channel)
        return {
            "id": case_id,
            "number": number,
            "channel": channel.value,
            "source_id": f"{prefix}{reported.astimezone(BEIJING):%Y%m%d}{case_id:07d}" if prefix else None,
            "idempotency_key": None,
            "case_type_code": None,
            "category_id": None,
            "title": title,
            "description": description,
            "extra": {},
            "state": CaseState.REPORTED.value,
            "priority": 3,
            "reporter_user_id": taker.user_id if channel in (Channel.GRID_PATROL, Channel.INSPECTION) else None,
            "reporter_name": next(self.names) if caller else None,
            "reporter_phone": f"1{int(rng.integers(3, 10))}{int(rng.integers(10**8, 10**9))}" if caller else None,
            "tracking_code_hash": None,
            "lon": None,
            "lat": None,
            "input_crs": None,
            "address": address,
            "placement": Placement.NO_LOCATION.value,
            "grid_node_id": None,
            "scope_code": DISTRICT_CODE,
            "district_code": DISTRICT_CODE,
            "nearest_grid_code": None,
            "distance_to_grid_m": None,
            "main_department_id": None,
            "merged_into_id": None,
            "escalation_code": None,
            "reported_at": reported,
            "registered_at": None,
            "dispatched_at": None,
            "handled_at": None,
            "closed_at": None,
            "stage": None,
            "stage_started_at": None,
            "stage_due_at": None,
            "stage_minutes": None,
            "due_soon_at": None,
            "deadline_at": None,
            "handle_started_at": None,
            "handle_minutes": None,
            "suspended_at": None,
            "suspended_from_state": None,
            "remaining_stage_minutes": None,
            "remaining_deadline_minutes": None,
            "due_soon": False,
            "overdue": False,
            "ever_overdue": False,
            "pending_extension_minutes": None,
            "pending_suspension": False,
            "rework_count": 0,
            "return_count": 0,
            "extension_count": 0,
            "supervision_count": 0,
            "reopen_count": 0,
            "self_handled": False,
            "handler_user_id": None,
            "verifier_user_id": None,
            "rating": None,
            "rated_at": None,
            "event_count": 0,
            "version": 1,
        }

    def place(self, row: dict[str, Any], unit: Unit, channel: Channel) -> None:
        """93 % located in a unit grid; the rest without coordinates or just outside the grid (hotline calls)."""
        draw = self.rng.random()
        row["input_crs"] = "gcj02" if channel in HOTLINE_TAKEN else "wgs84"
        if draw < 0.93 or channel in (Channel.GRID_PATROL, Channel.INSPECTION, Channel.SENSOR):
            row["lon"], row["lat"] = self.point_in(unit)
            row.update(placement=Placement.LOCATED.value, grid_node_id=unit.id, scope_code=unit.code)
        elif draw < 0.97:
            row.update(input_crs=None, placement=Placement.NO_LOCATION.value)
            if channel is Channel.RESIDENT:
                row["scope_code"] = MAIN_STREET  # the public page asks for the street
        else:
            lon, lat = self.point_in(unit)
            row.update(lon=lon + 0.02, lat=lat, placement=Placement.OUTSIDE.value)
            row.update(nearest_grid_code=unit.code, distance_to_grid_m=round(float(self.rng.uniform(30, 900)), 1))
        row["district_code"] = DISTRICT_CODE

    def point_in(self, unit: Unit) -> tuple[float, float]:
        min_x, min_y, max_x, max_y = unit.area.bounds
        for _ in range(100):
            x, y = float(self.rng.uniform(min_x, max_x)), float(self.rng.uniform(min_y, max_y))
            if shapely.contains_xy(unit.area, x, y):
                return round(x, 6), round(y, 6)
        point = unit.area.representative_point()
        return float(point.x), float(point.y)

    # --- the flow

    def walk(self, p: Planned, outcome: Outcome, kind: Kind, unit: Unit, channel: Channel, clock: Clock) -> None:
        """Take the case along its outcome's path with plausible gaps of working time, until a step would lie
        after now (``NotYetError``)."""
        row, dispatcher = p.row, self.d.people["dispatcher"]
        p.clock = clock
        if outcome is Outcome.SELF_HANDLED:
            self.categorise(row, kind)
            self.self_handle(p, self.after(30), unit.worker)
            return
        if outcome in (Outcome.REJECTED, Outcome.MERGED):
            at = self.after(50)
            self.stage_done(p, at)
            if outcome is Outcome.MERGED and self.merge(p, at, dispatcher, unit):
                return
            p.event(
                at, dispatcher, "reject", CaseState.REPORTED, CaseState.REJECTED, "经核实不属于受理范围，已告知来电人"
            )
            return
        at = self.after(25)
        self.stage_done(p, at)
        self.categorise(row, kind)
        row["registered_at"] = at
        p.event(at, dispatcher, "register", CaseState.REPORTED, CaseState.REGISTERED, "", {"category": kind.code})
        p.clock = self.clock("dispatch", at, kind.minutes["dispatch"])
        at = self.after(12)
        self.stage_done(p, at)
        handle = self.dispatch(p, at, kind)
        handler = self.staff(kind.department)
        at = self.after(90)
        row["handler_user_id"] = handler.user_id
        p.event(at, handler, "accept", CaseState.DISPATCHED, CaseState.IN_PROGRESS)
        if outcome is Outcome.SUSPENDED:
            self.suspend(p, handler, handle)
            return
        self.handle(p, outcome, handle, handler, unit, channel, kind)

    def handle(
        self, p: Planned, outcome: Outcome, handle: Clock, handler: Person, unit: Unit, channel: Channel, kind: Kind
    ) -> None:
        """Work, feedback, verification (a failed one sends it back once in twenty), closing and rating."""
        row = p.row
        straggler = outcome is Outcome.STRAGGLER
        # most work ends well inside the handling limit, about one case in ten runs late; stragglers take months
        share = float(self.rng.uniform(5, 60)) if straggler else float(self.rng.lognormal(math.log(0.4), 0.5))
        done = self.working(handle.started, handle.minutes * share)
        if straggler or self.rng.random() < 0.03:
            nudge = self.working(handle.started, handle.minutes * (1.2 if straggler else 0.7))
            if self.cursor < nudge < done:
                self.at(nudge)
                row["supervision_count"] = 1
                note = "群众反映强烈，请加快办理"
                p.event(nudge, self.d.people["leader"], "supervise", CaseState.IN_PROGRESS, CaseState.IN_PROGRESS, note)
        at = self.at(max(done, self.cursor + MINUTE))
        self.submit(p, at, handler, handle, kind, "已到现场处置完毕，附处置后照片")
        verifier = self.d.people["dispatcher"] if self.rng.random() < 0.6 else unit.worker
        if self.rng.random() < 0.05:
            at = self.after(120)
            self.stage_done(p, at)
            note = "现场核查问题仍未解决，请返工"
            p.event(at, verifier, "verify_fail", CaseState.HANDLED, CaseState.IN_PROGRESS, note)
            row.update(rework_count=1, handled_at=None)
            p.clock = handle
            self.submit(p, self.after(480), handler, handle, kind, "已返工处置完毕")
        at = self.after(120)
        self.stage_done(p, at)
        p.event(at, verifier, "verify_pass", CaseState.HANDLED, CaseState.CLOSED, "现场核查，问题已解决")
        row.update(closed_at=at, verifier_user_id=verifier.user_id)
        if self.rng.random() < 0.6:
            at = self.after(600)
            rating = (Rating.SATISFIED, Rating.BASICALLY, Rating.UNSATISFIED)[self.draw(RATING_CUMULATIVE)]
            who = self.d.people["hotline"] if channel in HOTLINE_TAKEN else self.d.people["dispatcher"]
            row.update(rating=rating.value, rated_at=at)
            p.event(at, who, "rate", CaseState.CLOSED, CaseState.CLOSED, "", {"rating": rating.value})

    def at(self, moment: dt.datetime) -> dt.datetime:
        if moment >= self.now:
            raise NotYetError
        self.cursor = moment
        return moment

    def submit(self, p: Planned, at: dt.datetime, handler: Person, handle: Clock, kind: Kind, note: str) -> None:
        self.stage_done(p, at)
        p.event(at, handler, "submit", CaseState.IN_PROGRESS, CaseState.HANDLED, note)
        p.row["handled_at"] = at
        p.clock = self.clock("verify", at, kind.minutes["verify"])

    def stage_done(self, p: Planned, at: dt.datetime) -> None:
        if p.clock is not None and at > p.clock.due:
            p.row["ever_overdue"] = True

    def categorise(self, row: dict[str, Any], kind: Kind) -> None:
        row["category_id"], row["priority"] = kind.id, kind.priority

    def dispatch(self, p: Planned, at: dt.datetime, kind: Kind) -> Clock:
        row, d = p.row, self.d
        main = kind.department if kind.department in d.departments else "HC-CG"
        assists = ["HC-ZF"] if self.rng.random() < 0.1 and main != "HC-ZF" else []
        row.update(dispatched_at=at, main_department_id=d.departments[main][0])
        for code, role in [(main, AssignmentRole.MAIN), *((a, AssignmentRole.ASSIST) for a in assists)]:
            p.assignments.append(
                {
                    "case_id": row["id"],
                    "department_id": d.departments[code][0],
                    "role": role.value,
                    "active": True,
                    "assigned_at": at,
                }
            )
        data = {"main": main, "assists": assists}
        p.event(at, d.people["dispatcher"], "dispatch", CaseState.REGISTERED, CaseState.DISPATCHED, "", data)
        handle = self.clock("handle", at, kind.minutes["handle"])
        row.update(deadline_at=handle.due, handle_started_at=at, handle_minutes=handle.minutes)
        p.clock = handle
        return handle

    def self_handle(self, p: Planned, at: dt.datetime, worker: Person) -> None:
        p.row.update(
            self_handled=True,
            registered_at=at,
            dispatched_at=at,
            handled_at=at,
            closed_at=at,
            handler_user_id=worker.user_id,
            verifier_user_id=worker.user_id,
        )
        self.stage_done(p, at)
        p.event(at, worker, "self_handle", CaseState.REPORTED, CaseState.CLOSED, "现场已处理完毕，附处置后照片")

    def merge(self, p: Planned, at: dt.datetime, actor: Person, unit: Unit) -> bool:
        """Merge into a case of the same grid reported in the three days before and still open, if there is one."""
        for master in reversed(self.by_unit.get(unit.id, [])[-8:]):
            if master.row["reported_at"] < p.row["reported_at"] - 3 * DAY:
                break
            state = self.state_at(master, at)
            if state not in (CaseState.REPORTED, CaseState.REGISTERED, CaseState.DISPATCHED, CaseState.IN_PROGRESS):
                continue
            p.row["merged_into_id"] = master.row["id"]
            p.event(at, actor, "merge", CaseState.REPORTED, CaseState.MERGED, "", {"master": master.row["number"]})
            note, data = f"合并重复件{p.row['number']}", {"duplicate": p.row["number"]}
            master.event(at, actor, "merged_duplicate", state, state, note, data)
            return True
        return False

    @staticmethod
    def state_at(p: Planned, at: dt.datetime) -> CaseState:
        state = CaseState.REPORTED
        for event in p.events:
            if event["at"] <= at:
                state = CaseState(event["to_state"])
        return state

    def suspend(self, p: Planned, handler: Person, handle: Clock) -> None:
        asked = self.after(900)
        note = "需协调产权单位，申请挂账"
        p.event(asked, handler, "request_suspension", CaseState.IN_PROGRESS, CaseState.IN_PROGRESS, note)
        p.row["pending_suspension"] = True
        approved = self.after(240)
        p.event(approved, self.d.people["leader"], "approve_suspension", CaseState.IN_PROGRESS, CaseState.SUSPENDED)
        left = self.d.calendar.working_minutes_between(approved, handle.due) if handle.due > approved else 0
        p.row.update(
            pending_suspension=False,
            suspended_at=approved,
            suspended_from_state=CaseState.IN_PROGRESS.value,
            remaining_stage_minutes=left,
            remaining_deadline_minutes=left,
        )
        self.stage_done(p, approved)

    # --- where the case stands now

    def settle(self, p: Planned) -> None:
        """The state is the last step's; an open case keeps its stage clock and the 临期/超期 flags the
        scheduler's tick would have raised by now; a finished one keeps only the stage's start and length."""
        row, clock = p.row, p.clock
        state = CaseState(p.events[-1]["to_state"])
        row["state"] = state.value
        assert clock is not None
        row.update(stage_started_at=clock.started, stage_minutes=clock.minutes)
        if not state.is_open:
            return
        due_soon_at = self.d.calendar.add(clock.started, WorkDuration(int(clock.minutes * (1 - self.d.due_soon_share))))
        row.update(stage=clock.stage, stage_due_at=clock.due, due_soon_at=due_soon_at)
        if state is CaseState.SUSPENDED:
            return
        overdue = self.now >= clock.due
        row["overdue"] = overdue
        row["due_soon"] = not overdue and self.now >= due_soon_at
        row["ever_overdue"] = row["ever_overdue"] or overdue


# ----------------------------------------------------------------------------------------------- writing


@dataclass
class Generated:
    cases: int
    events: int
    assignments: int
    states: dict[str, int]
    open_flags: dict[str, int]
    seconds: dict[str, float]
    first_number: str
    last_number: str


def report_times(count: int, rng: np.random.Generator, now: dt.datetime) -> list[dt.datetime]:
    """Spread over the last 365 days; most during the day (Beijing), a few at night."""
    days = rng.integers(0, 365, count)
    daytime = rng.random(count) < 0.88
    minutes_of_day = np.where(daytime, rng.integers(7 * 60, 21 * 60, count), rng.integers(0, 24 * 60, count))
    seconds = rng.integers(0, 60, count)
    today = now.astimezone(BEIJING).replace(hour=0, minute=0, second=0, microsecond=0)
    moments = []
    for day, minute, second in zip(days.tolist(), minutes_of_day.tolist(), seconds.tolist(), strict=True):
        local = today - dt.timedelta(days=day) + dt.timedelta(minutes=minute, seconds=second)
        moment = local.astimezone(dt.UTC)
        if moment > now - 5 * MINUTE:  # today, later than now: move back a day
            moment -= DAY
        moments.append(moment)
    moments.sort()
    return moments


def generate(
    engine: Engine, settings: Settings, *, cases: int, seed: int, now: dt.datetime | None = None, say: Any = print
) -> Generated:
    """Migrate a fresh database, build the demo district, then write ``cases`` cases set-based."""
    now = now or dt.datetime.now(dt.UTC)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    migrate.upgrade(engine)
    with transaction(make_session_factory(engine, write=True)) as session:
        say(f"  demo district: {build_demo(session, settings=settings)}")
    seconds["demo district"] = time.perf_counter() - started

    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    with Session(engine) as session:
        district = load_district(session, settings)
        first_id = int(session.execute(select(func.coalesce(func.max(Case.id), 0))).scalar_one()) + 1
        used = {
            name: int(value)
            for name, value in session.execute(
                select(SystemCounter.name, SystemCounter.value).where(SystemCounter.name.like("case_number:%"))
            ).all()
        }
    planner = Planner(district, rng, now)
    daily: Counter[str] = Counter()
    plans: list[Planned] = []
    for offset, reported in enumerate(report_times(cases, rng, now)):
        day = reported.astimezone(BEIJING).strftime("%Y%m%d")
        daily[day] += 1
        number = f"{day}{used.get(f'case_number:{day}', 0) + daily[day]:06d}"
        plans.append(planner.plan(first_id + offset, number, reported))
    for p in plans:
        p.events.sort(key=lambda e: e["at"])
        for seq, event in enumerate(p.events, start=1):
            event["seq"] = seq
        p.row["event_count"] = len(p.events)
    seconds["plan rows (Python)"] = time.perf_counter() - started

    started = time.perf_counter()
    write(engine, plans, {day: used.get(f"case_number:{day}", 0) + n for day, n in daily.items()})
    seconds["write rows (executemany)"] = time.perf_counter() - started
    states = Counter(p.row["state"] for p in plans)
    opened = [p.row for p in plans if CaseState(p.row["state"]).is_open]
    return Generated(
        cases=len(plans),
        events=sum(len(p.events) for p in plans),
        assignments=sum(len(p.assignments) for p in plans),
        states=dict(sorted(states.items(), key=lambda kv: -kv[1])),
        open_flags={
            "open": len(opened),
            "overdue": sum(r["overdue"] for r in opened),
            "due_soon": sum(r["due_soon"] for r in opened),
        },
        seconds={k: round(v, 1) for k, v in seconds.items()},
        first_number=min(p.row["number"] for p in plans),
        last_number=max(p.row["number"] for p in plans),
    )


def batches(rows: list[dict[str, Any]], size: int = BATCH) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def write(engine: Engine, plans: list[Planned], counters: dict[str, int]) -> None:
    case_rows = [p.row for p in plans]
    event_rows = [e for p in plans for e in p.events]
    assignment_rows = [a for p in plans for a in p.assignments]
    with engine.begin() as connection:
        for chunk in batches(case_rows):
            connection.execute(insert(Case), chunk)
        for chunk in batches(event_rows):
            connection.execute(insert(CaseEvent), chunk)
        for chunk in batches(assignment_rows):
            connection.execute(insert(CaseAssignment), chunk)
        names = [f"case_number:{day}" for day in counters]
        connection.execute(delete(SystemCounter).where(SystemCounter.name.in_(names)))
        connection.execute(
            insert(SystemCounter), [{"name": f"case_number:{day}", "value": n} for day, n in counters.items()]
        )
        if connection.dialect.name == "postgresql":  # ids were given explicitly: move the sequence past them
            connection.execute(
                text("SELECT setval(pg_get_serial_sequence('\"case\"', 'id'), (SELECT max(id) FROM \"case\"))")
            )
    if engine.dialect.name == "postgresql":
        # autovacuum would analyze the new rows within a minute anyway; doing it now keeps it out of the timings
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    # SQLite: no ANALYZE, as civicgrid never runs one; the planner works from the schema alone, as in production


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a fresh, empty database")
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--var-dir", type=Path, default=Path("var/bench-web"))
    args = parser.parse_args(argv)
    settings = Settings(var_dir=args.var_dir, database_url=args.database_url, scheduler_interval_seconds=0)
    engine = make_engine(args.database_url)
    try:
        result = generate(engine, settings, cases=args.cases, seed=args.seed)
    finally:
        engine.dispose()
    print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
