"""A year of historic cases for the demo district, computed set-based and written in bulk.

``civicgrid.cases.intake`` and ``actions.perform`` take about 110 cases a second (bench/intake): right for
people, far too slow for a year of a district. Here the same flow is computed for all cases of a block at once
with numpy — every step (受理, 立案, 派遣, 接收, 延期, 挂账, 督办, 处置反馈, 核查/返工, 结案, 评价, 重办, 合并,
不予立案, 自处置) a vectorised transition over the cases that take it — and the rows are written with executemany
(SQLite) or COPY (PostgreSQL). Each row is what the real workflow would have left:

- steps lie ``working minutes`` apart on the real working calendar (``WorkingTimeTable``, checked against
  ``WorkCalendar``), and whatever would happen after *now* has not happened: the case waits in its state with the
  stage clock and the 临期/超期 flags the scheduler's tick would have raised;
- deadlines (``response_due_at``, ``deadline_at``, stage clocks, ``due_soon_at``) and ``handle_work_minutes`` are
  computed as ``cases.clock`` computes them; ``ever_overdue`` is set when a stage ran past its deadline;
- merged duplicates point at an open master reported in the three days before, and are closed with it
  (``cases.actions._close_merged_duplicates``); only own closed cases are rated;
- the history (``case_event``, seq 1..n, ``event_count``) when ``events`` is on; assignments always.

The mix imitates a street's year (../shared/seeds): 12345 the largest channel, grid patrols with self-handling,
summer peaks of noise and barbecues, winter gas and heating, fewer reports on rest days and at night, 办结率 and
满意率 around 99 %. Deterministic for a seed, a date range and ``now``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import shapely
from sqlalchemy import Boolean, Column, Table, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, selectinload

from civicgrid import timesource
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
from civicgrid.db import UTCDateTime
from civicgrid.demo.district import DISTRICT_CODE, MAIN_STREET
from civicgrid.errors import InvalidInputError
from civicgrid.grid.codes import district_code_of
from civicgrid.grid.index import GridIndex, grid_index
from civicgrid.grid.models import GridAssignment, GridDuty, GridNode
from civicgrid.org.models import Department, User
from civicgrid.settings import Settings, get_settings
from civicgrid.worktime.calendar import UnknownCalendarYearError, WorkCalendar, parse_limit
from civicgrid.worktime.service import load_calendar

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.intp]

NULL = np.iinfo(np.int64).min  # a timestamp that is not set
NEVER = np.iinfo(np.int64).max  # a step that does not (yet) happen
MINUTE = 60
HOUR = 3600
DAY = 86_400
BLOCK_CASES = 100_000  # cases planned together (whole days); fixed, so the output never depends on the batch size
MERGE_WINDOW = 3 * DAY  # a duplicate is merged into a case reported at most three days before it


# ----------------------------------------------------------------------------------------------- options


@dataclass(frozen=True)
class HistoryOptions:
    """What to generate. ``start``/``end`` are Beijing days, both included; by default the twelve months up to
    today. ``grid_code`` is where the cases happen: its leaf grids (海川街道's 218 unit grids by default; the
    district code spreads them over every street)."""

    cases: int
    start: dt.date | None = None
    end: dt.date | None = None
    seed: int = 20261124
    events: bool = True
    batch_size: int = 20_000
    grid_code: str = MAIN_STREET

    @classmethod
    def for_year(cls, year: int, cases: int, **kwargs: Any) -> HistoryOptions:
        return cls(cases=cases, start=dt.date(year, 1, 1), end=dt.date(year, 12, 31), **kwargs)


@dataclass(frozen=True)
class HistoryResult:
    cases: int
    events: int
    assignments: int
    start: dt.date
    end: dt.date
    states: dict[str, int]
    seconds: dict[str, float]
    first_number: str | None
    last_number: str | None

    def summary(self) -> str:
        states = "，".join(f"{CaseState(state).label}{count}件" for state, count in self.states.items())
        history = f"，历史记录{self.events}条" if self.events else ""
        return f"{self.start:%Y年%m月%d日}至{self.end:%Y年%m月%d日}共{self.cases}件案件（{states}）{history}"


Progress = Callable[[int, int], None]  # (cases written so far, cases in all)


# ----------------------------------------------------------------------------------------------- what happens

# Per category code: how common it is, titles, the detail a reporter gives, and a seasonal profile.
SUMMER = (0.6, 0.6, 0.8, 1.0, 1.2, 1.5, 1.8, 1.8, 1.3, 0.9, 0.7, 0.6)
MILD_SUMMER = (0.85, 0.85, 0.9, 1.0, 1.1, 1.2, 1.3, 1.3, 1.1, 1.0, 0.9, 0.85)
WINTER = (1.6, 1.4, 1.1, 0.9, 0.8, 0.7, 0.7, 0.7, 0.9, 1.0, 1.3, 1.6)
MILD_WINTER = (1.25, 1.2, 1.05, 0.95, 0.9, 0.85, 0.85, 0.85, 0.95, 1.0, 1.1, 1.25)
SPRING_WIND = (0.8, 1.0, 1.8, 1.9, 1.4, 1.0, 0.8, 0.8, 0.9, 1.0, 0.9, 0.8)
YEAR_END = (1.6, 1.3, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.9, 1.1, 1.7)
HEAT_AND_COLD = (1.3, 1.2, 0.9, 0.8, 0.9, 1.2, 1.5, 1.5, 1.0, 0.8, 0.9, 1.2)
FLAT = (1.0,) * 12


@dataclass(frozen=True)
class Problem:
    weight: float
    titles: tuple[str, ...]
    detail: str
    season: tuple[float, ...] = FLAT


PROBLEMS: dict[str, Problem] = {
    "0101": Problem(14, ("楼下垃圾无人清运", "垃圾桶满溢"), "垃圾桶满溢，垃圾散落在地面，气味很大", MILD_SUMMER),
    "0102": Problem(3, ("建筑垃圾渣土乱倒",), "有人夜里偷倒装修垃圾和渣土，堆了一大片"),
    "0103": Problem(5, ("楼道堆放杂物", "空地乱堆物料"), "楼道和空地堆放纸箱、旧家具，堵塞通道"),
    "0104": Problem(8, ("占道经营", "早市摊贩占道"), "摊贩占用人行道经营，行人只能走机动车道", MILD_SUMMER),
    "0105": Problem(3, ("店外经营",), "沿街商户把货架摆到店外人行道上"),
    "0106": Problem(4, ("非法小广告",), "单元门和电线杆上贴满小广告，清理后又贴"),
    "0107": Problem(4, ("道路不洁",), "路面有大量泥土和落叶，下雨后很脏"),
    "0108": Problem(2, ("露天烧烤扰民",), "夜市露天烧烤，油烟和噪音持续到后半夜", SUMMER),
    "0201": Problem(2, ("井盖缺失", "井盖破损"), "路面井盖缺失，只用树枝插着提醒，晚上很危险"),
    "0202": Problem(5, ("路灯不亮",), "小区门前几盏路灯一直不亮，老人孩子夜间出行不安全", MILD_WINTER),
    "0203": Problem(4, ("道路坑洼破损",), "辅路有一个大坑，电动车容易摔倒"),
    "0204": Problem(2, ("垃圾桶破损",), "路边垃圾桶破损，垃圾散落一地"),
    "0205": Problem(1, ("智能回收箱故障",), "小区智能回收箱无法投递，屏幕没有反应"),
    "0301": Problem(3, ("违法搭建",), "一楼住户在院内私搭彩钢板房，影响邻居采光"),
    "0302": Problem(0.5, ("擅自拆改承重墙",), "楼上装修拆改承重墙，楼下墙面出现裂缝"),
    "0401": Problem(0.5, ("河道黑臭",), "河道水体发黑发臭，气味很大", SUMMER),
    "0402": Problem(0.8, ("污水直排",), "有商户把污水直接排进雨水管网"),
    "0403": Problem(2, ("施工扬尘",), "工地渣土没有覆盖，刮风时扬尘很大", SPRING_WIND),
    "0404": Problem(5, ("夜间施工噪声扰民", "广场舞噪声扰民"), "晚上十点以后噪声仍然很大，严重影响休息", SUMMER),
    "0405": Problem(3, ("餐饮油烟扰民",), "楼下饭店油烟直排，窗户都不能开", MILD_SUMMER),
    "0501": Problem(4, ("消防通道堵塞",), "小区消防通道长期停放私家车，消防车进不来", MILD_WINTER),
    "0502": Problem(0.6, ("燃气安全隐患",), "楼道里有燃气味，担心管道老化漏气", WINTER),
    "0503": Problem(1, ("企业安全隐患",), "小作坊违规存放易燃物品，存在安全隐患"),
    "0601": Problem(1.5, ("食品安全问题",), "在附近小饭馆就餐后身体不适，怀疑食材不新鲜"),
    "0602": Problem(1, ("无照经营",), "小区里有人无照经营棋牌室"),
    "0603": Problem(0.8, ("价格欺诈",), "商户标价与结算价不一致"),
    "0701": Problem(5, ("物业服务不到位",), "物业长期不打扫卫生，报修也没人管"),
    "0702": Problem(4, ("小区电梯故障", "小区公共设施损坏"), "小区电梯经常故障停运，老人上下楼很困难"),
    "0801": Problem(3, ("邻里漏水纠纷", "邻里噪声纠纷"), "楼上卫生间漏水到楼下，多次协商不成"),
    "0802": Problem(0.8, ("家庭矛盾调解",), "家庭成员因赡养问题发生争吵，请求社区调解"),
    "0803": Problem(1, ("拖欠工资",), "装修公司拖欠工人工资两个月", YEAR_END),
    "0901": Problem(1.5, ("养老服务咨询",), "独居老人咨询居家养老上门服务"),
    "0902": Problem(2, ("停水停电",), "小区突然停水停电，没有任何通知", HEAT_AND_COLD),
    "0903": Problem(2.5, ("政策咨询",), "咨询社保、居住证办理等相关政策"),
    "1001": Problem(8, ("车辆乱停乱放", "共享单车乱停放"), "车辆乱停乱放，堵住了盲道和出入口"),
    "1002": Problem(0.8, ("公交站点设置",), "希望增设公交站点，方便居民出行"),
    "1101": Problem(2, ("其他诉求",), "反映的其他问题，请相关部门核实处理"),
}
UNKNOWN_WEIGHT = 0.3  # a category an administrator added: rare
DURATIONS = ("已持续一周", "已经有半个月了", "这几天一直这样", "反映过多次", "从上个月开始")
ASKS = ("请相关部门尽快处理。", "希望尽快解决。", "请核实处理并回复。", "麻烦尽快派人来看看。")

# Channels with their share of a street's year; who takes the report in; who rates by callback (回访).
CHANNEL_MIX: tuple[tuple[Channel, float], ...] = (
    (Channel.HOTLINE_12345, 0.44),
    (Channel.GRID_PATROL, 0.25),
    (Channel.MESSAGE_BOARD, 0.07),
    (Channel.RESIDENT, 0.06),
    (Channel.HOTLINE_8890, 0.05),
    (Channel.INSPECTION, 0.05),
    (Channel.REFERRAL, 0.04),
    (Channel.SENSOR, 0.03),
    (Channel.HOTLINE_96685, 0.01),
)
CHANNELS = tuple(channel for channel, _ in CHANNEL_MIX)
OPERATOR_TAKEN = frozenset(
    {Channel.HOTLINE_12345, Channel.HOTLINE_8890, Channel.HOTLINE_96685, Channel.MESSAGE_BOARD, Channel.REFERRAL}
)
ON_PATROL = frozenset({Channel.GRID_PATROL, Channel.INSPECTION})
COMPLAINANT = frozenset(
    {Channel.HOTLINE_12345, Channel.HOTLINE_8890, Channel.HOTLINE_96685, Channel.MESSAGE_BOARD, Channel.RESIDENT}
)
SOURCE_PREFIX = {
    Channel.HOTLINE_12345: "12345-",
    Channel.HOTLINE_8890: "8890-",
    Channel.HOTLINE_96685: "96685-",
    Channel.MESSAGE_BOARD: "LY-",
    Channel.REFERRAL: "JB-",
    Channel.SENSOR: "IOT-",
}
# What each kind of reporter mostly reports, by top-level category (others 1.0).
PATROL_AFFINITY = {"01": 3.0, "02": 1.6, "03": 1.8, "04": 0.6, "05": 1.5, "06": 0.3, "07": 0.2, "08": 0.4, "09": 0.1}
PATROL_AFFINITY |= {"10": 1.8, "11": 0.3}
CALLER_AFFINITY = {"01": 0.8, "06": 1.6, "07": 1.8, "08": 1.5, "09": 2.0}
SENSED = frozenset({"0401", "0402", "0403", "0404"})
# Hours of the day (Beijing) when each kind of report comes in: patrols in office hours, callers all day.
PATROL_HOURS = (0, 0, 0, 0, 0, 0, 0, 0.3, 1, 1, 1, 1, 0.4, 0.5, 1, 1, 1, 0.8, 0.2, 0, 0, 0, 0, 0)
CALLER_HOURS = (
    *(0.15, 0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 0.7, 1.1, 1.3, 1.3, 1.1),
    *(0.8, 0.8, 1.1, 1.2, 1.2, 1.0, 0.9, 0.9, 0.9, 0.8, 0.6, 0.3),
)
SENSOR_HOURS = (1.0,) * 24
MONTH_VOLUME = (0.85, 0.8, 0.95, 1.0, 1.05, 1.15, 1.25, 1.2, 1.05, 0.95, 0.9, 0.85)
REST_DAY_VOLUME = 0.62
# Streets' own sections serve only their street; a case elsewhere in the district goes to the district bureau.
DISTRICT_COUNTERPART = {"HC-CG": "CGJ", "HC-ZF": "CGJ-ZF", "HC-AJ": "YJGL", "HC-SW": "MZJ", "HC-JJ": "SCJG"}
DISTRICT_COUNTERPART |= {"HC-ZHZX": "ZHZX", "HC": "ZHZX"}
ASSISTS = {"01": "HC-ZF", "02": "HC-CG", "03": "HC-ZF", "04": "HC-ZF", "05": "HC-AJ", "06": "HC-ZF", "07": "HC-SW"}
ASSISTS |= {"08": "GA-HC", "09": "HC-SW", "10": "HC-ZF", "11": "HC-SW"}
FALLBACK_DEPARTMENT = "HC-ZHZX"  # categories without a default department go to the command centre (兜底)
WRONG_FIRST = ("HC-CG", "CGJ")  # where a case that is returned (退回) was first sent by mistake


@dataclass(frozen=True)
class Shares:
    """How often each turn of a case's life happens (fractions of the cases it can happen to)."""

    duplicate_caller: float = 0.025  # a caller reports what someone already reported (重复件)
    duplicate_other: float = 0.004
    rejected_caller: float = 0.03  # not a matter for the platform (不予立案)
    rejected_resident: float = 0.05
    rejected_other: float = 0.004
    self_handled: float = 0.7  # of patrol reports in a category grid workers may handle themselves
    named_by_caller: float = 0.3  # category already named at intake (patrols always name it)
    late_response: float = 0.008
    returned: float = 0.015  # dispatched to the wrong department first (退回, 改派)
    linked: float = 0.08  # an assisting department (联动)
    extended: float = 0.025
    suspended: float = 0.003  # 挂账: stays suspended
    straggler: float = 0.012  # takes weeks to months: long overdue while it lasts
    supervised: float = 0.01
    reworked: float = 0.035
    rated_caller: float = 0.88  # 12345 calls every complainant back (回访)
    rated_resident: float = 0.45
    basically_satisfied: float = 0.09
    unsatisfied: float = 0.01
    reopened: float = 0.5  # of the unsatisfied
    rerated: float = 0.8


SHARES = Shares()
STAGES = ("register", "dispatch", "handle", "verify")
REGISTER, DISPATCH, HANDLE, VERIFY = range(4)
STATES = tuple(CaseState)
S = {state: STATES.index(state) for state in CaseState}
OPEN_CODES = np.array([S[state] for state in CaseState if state.is_open])
CLOCKED_CODES = np.array([S[state] for state in CaseState if state.is_open and state is not CaseState.SUSPENDED])


# ----------------------------------------------------------------------------------------------- working time


class WorkingTimeTable:
    """``WorkCalendar``'s working time over a range of days as arrays, for whole columns of instants at once.

    Instants are int64 seconds since the Unix epoch (UTC). ``worked(t)`` is the working time before ``t`` since
    the table's first day, in seconds; it rises inside office periods and stays flat between them, so
    ``add`` and ``minutes_between`` agree with the calendar's (tests/demo/test_history.py checks them against
    it): ``add(t, m)`` is the earliest instant by which ``m`` working minutes have passed since ``t``, and
    ``minutes_between(a, b)`` is the working time in ``[a, b)`` rounded down to minutes. Days after the last
    day the calendar knows are not in the table: ``add`` answers ``NULL`` where it would need them.
    """

    def __init__(self, calendar: WorkCalendar, first: dt.date, last: dt.date) -> None:
        zone = ZoneInfo(calendar.tz)
        starts: list[int] = []
        ends: list[int] = []
        day = first
        self.last_day = first - dt.timedelta(days=1)
        while day <= last:
            try:
                workday = calendar.is_workday(day)
            except UnknownCalendarYearError:
                break
            if workday:
                for begin, end in calendar.office_hours:
                    starts.append(_epoch(dt.datetime.combine(day, begin), zone))
                    closing = dt.datetime.combine(day + dt.timedelta(days=1), dt.time()) if end == dt.time.max else None
                    ends.append(_epoch(closing or dt.datetime.combine(day, end), zone))
            self.last_day = day
            day += dt.timedelta(days=1)
        self.first_day = first
        self.low = _epoch(dt.datetime.combine(first, dt.time()), zone)
        self.high = _epoch(dt.datetime.combine(self.last_day + dt.timedelta(days=1), dt.time()), zone)
        self._starts = np.asarray(starts, dtype=np.int64)
        self._ends = np.asarray(ends, dtype=np.int64)
        lengths = self._ends - self._starts
        self._before = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)  # worked before period i
        self._through = self._before[1:]  # worked by the end of period i

    def worked(self, moments: I64) -> I64:
        """Working seconds from the table's first day to each instant."""
        period = np.searchsorted(self._starts, moments, side="right") - 1
        inside = np.clip(period, 0, None)
        if len(self._starts) == 0:
            return np.zeros_like(moments)
        into = np.minimum(moments - self._starts[inside], self._ends[inside] - self._starts[inside])
        return np.where(period >= 0, self._before[inside] + into, 0).astype(np.int64)

    def at_worked(self, targets: I64) -> I64:
        """The earliest instant by which ``targets`` working seconds have passed (a period's end when it ends
        exactly there); ``NULL`` beyond the table."""
        period = np.searchsorted(self._through, targets, side="left")
        beyond = period >= len(self._starts)
        safe = np.where(beyond, 0, period)
        found = self._starts[safe] + (targets - self._before[safe]) if len(self._starts) else targets
        return np.where(beyond, NULL, found).astype(np.int64)

    def add(self, starts: I64, minutes: npt.ArrayLike) -> I64:
        """``WorkCalendar.add`` for each (start, minutes); ``NULL`` where a start is ``NULL`` or the result lies
        beyond the table."""
        minutes = np.broadcast_to(np.asarray(minutes, dtype=np.int64), np.shape(starts))
        known = starts != NULL
        safe = np.where(known, starts, self.low)
        later = self.at_worked(self.worked(safe) + minutes * MINUTE)
        # zero minutes: the next working instant itself (the start, when it is one)
        period = np.searchsorted(self._ends, safe, side="right")
        has_next = period < len(self._starts)
        next_instant = np.where(has_next, np.maximum(self._starts[np.where(has_next, period, 0)], safe), NULL)
        result = np.where(minutes > 0, later, next_instant)
        return np.where(known, result, NULL).astype(np.int64)

    def minutes_between(self, starts: I64, ends: I64) -> I64:
        """``WorkCalendar.working_minutes_between`` for each pair (0 when end ≤ start or either is NULL)."""
        known = (starts != NULL) & (ends != NULL) & (ends > starts)
        low = np.where(known, starts, self.low)
        high = np.where(known, ends, self.low)
        return np.where(known, (self.worked(high) - self.worked(low)) // MINUTE, 0).astype(np.int64)


def _epoch(local: dt.datetime, zone: ZoneInfo) -> int:
    return int(local.replace(tzinfo=zone).timestamp())


def to_epoch(moment: dt.datetime) -> int:
    return math.floor(moment.timestamp())


def _utc_offset(zone: ZoneInfo) -> int:
    """The zone's offset in seconds, taken as constant: Beijing keeps UTC+8 all year (as kpi.sql assumes)."""
    offset = dt.datetime(2000, 1, 1, tzinfo=zone).utcoffset()
    return int(offset.total_seconds()) if offset else 0


# ----------------------------------------------------------------------------------------------- the district


@dataclass(frozen=True)
class Person:
    user_id: int | None
    label: str


@dataclass
class District:
    """What the generator reads from the database once: grids, categories, departments, people, calendar."""

    leaves: list[tuple[int, str, str, str]]  # (node id, code, community name, street code)
    leaf_areas: list[Any]  # shapely polygons
    leaf_weights: F64
    leaf_worker: list[int]  # person index of each leaf's grid worker
    kinds: list[Category]
    kind_minutes: I64  # (kinds, 4): working minutes of each stage
    default_register_minutes: int
    kind_departments: list[str]
    departments: dict[str, int]  # code → id
    department_staff: dict[str, int]  # code → person index
    people: list[Person]
    named: dict[str, int]  # dispatcher, leader, hotline, ... → person index
    street_names: dict[str, str]
    calendar: WorkCalendar
    settings: Settings
    index: GridIndex
    outside: OutsidePoints


def load_district(session: Session, settings: Settings, grid_code: str) -> District:
    root = session.execute(select(GridNode).where(GridNode.code == grid_code)).scalar_one_or_none()
    if root is None:
        raise InvalidInputError(f"找不到网格“{grid_code}”：请先生成演示辖区（civicgrid demo）", code="grid_not_found")
    nodes = session.execute(
        select(GridNode.id, GridNode.code, GridNode.name, GridNode.parent_id, GridNode.area_m2, GridNode.level)
    ).all()
    parents = {row.parent_id for row in nodes}
    by_id = {row.id: row for row in nodes}
    leaf_rows = sorted(
        (row for row in nodes if row.code.startswith(grid_code) and row.id not in parents and row.area_m2),
        key=lambda row: row.code,
    )
    if not leaf_rows:
        raise InvalidInputError(f"网格“{grid_code}”下没有带边界的网格，无法生成案件", code="no_leaf_grids")
    geometries = dict(
        session.execute(
            select(GridNode.id, GridNode.geometry).where(GridNode.id.in_([row.id for row in leaf_rows]))
        ).all()
    )
    outline_wkb = session.execute(select(GridNode.geometry).where(GridNode.code == DISTRICT_CODE)).scalar()
    people: list[Person] = [Person(None, "网格员")]
    index_of: dict[int, int] = {}

    def person(user_id: int, name: str, username: str) -> int:
        if user_id not in index_of:
            index_of[user_id] = len(people)
            people.append(Person(user_id, f"{name}({username})"))
        return index_of[user_id]

    workers: dict[int, int] = {}
    for grid_id, user_id, name, username in session.execute(
        select(GridAssignment.grid_node_id, User.id, User.display_name, User.username)
        .join(User, User.id == GridAssignment.user_id)
        .where(GridAssignment.duty == GridDuty.GRID_WORKER.value)
        .order_by(GridAssignment.id)
    ).all():
        workers.setdefault(grid_id, person(user_id, name, username))
    named = {
        username: person(user_id, name, username)
        for user_id, name, username in session.execute(
            select(User.id, User.display_name, User.username).where(
                User.username.in_(("dispatcher", "leader", "hotline"))
            )
        ).all()
    }
    for role, label in (
        ("dispatcher", "区社会治理指挥中心"),
        ("leader", "区社会治理指挥中心"),
        ("hotline", "12345热线"),
    ):
        if role not in named:
            named[role] = len(people)
            people.append(Person(None, label))
    for key, label in (("district", "区社会治理指挥中心"), ("sensor", "感知设备接口"), ("public", "群众（网上反映）")):
        named[key] = len(people)
        people.append(Person(None, label))
    named["tracking"] = len(people)
    people.append(Person(None, "反映人（凭查询码）"))
    departments = {code: id_ for id_, code in session.execute(select(Department.id, Department.code)).all()}
    names = dict(session.execute(select(Department.code, Department.name)).all())
    staff: dict[str, int] = {}
    for code, user_id, name, username in session.execute(
        select(Department.code, User.id, User.display_name, User.username)
        .join(User, User.department_id == Department.id)
        .order_by(User.id)
    ).all():
        staff.setdefault(code, person(user_id, name, username))
    for code in departments:
        if code not in staff:
            staff[code] = len(people)
            people.append(Person(None, names[code]))
    if FALLBACK_DEPARTMENT not in departments and not departments:
        raise InvalidInputError("没有任何部门，无法派遣：请先生成演示辖区", code="no_departments")
    calendar = load_calendar(session, settings)
    day_minutes = calendar.day_minutes()

    def minutes_of(category: Category | None) -> list[int]:
        limits = effective_limits(category)
        return [parse_limit(limits[stage]["value"], limits[stage]["unit"], day_minutes).minutes for stage in STAGES]

    categories = session.execute(select(Category).options(selectinload(Category.parent))).scalars().all()
    with_children = {category.parent_id for category in categories}
    kinds = sorted(
        (c for c in categories if c.id not in with_children and c.is_active), key=lambda category: category.code
    )
    if not kinds:
        raise InvalidInputError("没有可用的案件类别：请先安装默认类别", code="no_categories")
    fallback = FALLBACK_DEPARTMENT if FALLBACK_DEPARTMENT in departments else sorted(departments)[0]
    leaf_area = np.array([float(row.area_m2) for row in leaf_rows])
    leaf_areas = [shapely.from_wkb(geometries[row.id]) for row in leaf_rows]
    index = grid_index(session)
    street_names = {row.code: row.name for row in nodes if len(row.code) == 9}
    return District(
        leaves=[
            (
                row.id,
                row.code,
                (by_id[row.parent_id].name if row.level == "unit" and row.parent_id in by_id else row.name),
                row.code[:9],
            )
            for row in leaf_rows
        ],
        leaf_areas=leaf_areas,
        leaf_weights=leaf_area / leaf_area.sum(),
        leaf_worker=[workers.get(row.id, 0) for row in leaf_rows],
        kinds=list(kinds),
        kind_minutes=np.array([minutes_of(kind) for kind in kinds], dtype=np.int64),
        default_register_minutes=minutes_of(None)[REGISTER],
        kind_departments=[
            kind.default_department_code if kind.default_department_code in departments else fallback for kind in kinds
        ],
        departments=departments,
        department_staff=staff,
        people=people,
        named=named,
        street_names=street_names,
        calendar=calendar,
        settings=settings,
        index=index,
        outside=_outside_points(index, shapely.from_wkb(outline_wkb) if outline_wkb else None, leaf_areas),
    )


@dataclass(frozen=True)
class OutsidePoints:
    """Points just outside the district, placed once by the real locator (its nearest-grid search is slow):
    reports whose coordinates fall outside every grid draw from them."""

    lon: F64
    lat: F64
    nearest: npt.NDArray[np.object_]  # nearest grid code
    distance: F64  # metres
    scope: npt.NDArray[np.object_]  # the district nearest to them, where intake scopes such a case


def _outside_points(index: GridIndex, outline: Any, areas: list[Any], size: int = 48) -> OutsidePoints:
    if outline is None:
        empty = np.zeros(0)
        return OutsidePoints(empty, empty, np.zeros(0, dtype=object), empty, np.zeros(0, dtype=object))
    rng = np.random.default_rng(size)
    sources = [_points_in(areas[int(i)], 1, rng) for i in rng.integers(0, len(areas), size)]
    lon, lat = _points_outside(outline, np.array([x[0] for x, _ in sources]), np.array([y[0] for _, y in sources]), rng)
    found = index.locate_many_wgs84(lon, lat)
    keep = found.node_ids < 0
    codes = {node_id: ref.code for node_id, ref in index.refs.items()}
    nearest = np.array([codes.get(int(node)) for node in found.nearest_node_ids[keep]], dtype=object)
    scope = np.array([district_code_of(code) if code else DISTRICT_CODE for code in nearest], dtype=object)
    lon, lat, distance = np.round(lon[keep], 6), np.round(lat[keep], 6), np.round(found.distance_m[keep], 1)
    return OutsidePoints(lon, lat, nearest, distance, scope)


# ----------------------------------------------------------------------------------------------- generating


def generate_history(
    session: Session,
    options: HistoryOptions,
    *,
    now: dt.datetime | None = None,
    settings: Settings | None = None,
    progress: Progress | None = None,
) -> HistoryResult:
    """Write ``options.cases`` historic cases into the session's database (its current transaction), block by
    block; ``progress`` is told after each block (a bulk load may commit there)."""
    if options.cases < 0:
        raise InvalidInputError("案件数不能为负数", code="invalid_count")
    if options.batch_size < 1:
        raise InvalidInputError("每批行数须大于0", code="invalid_batch_size")
    settings = settings or get_settings()
    now = (now or timesource.now()).astimezone(dt.UTC).replace(microsecond=0)
    zone = ZoneInfo(settings.timezone)
    first, last = _day_range(options, now.astimezone(zone).date())
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    district = load_district(session, settings, options.grid_code)
    horizon = max(last, now.astimezone(zone).date()) + dt.timedelta(days=3 * 366)
    table = WorkingTimeTable(district.calendar, first - dt.timedelta(days=1), horizon)
    if table.last_day < now.astimezone(zone).date():
        raise UnknownCalendarYearError(table.last_day.year + 1)
    first_id = int(session.execute(select(func.coalesce(func.max(Case.id), 0))).scalar_one()) + 1
    seconds["准备"] = time.perf_counter() - started
    days = _days(first, last)
    counts = _cases_per_day(days, options, table, district.calendar, now, zone)
    writer = _Writer(session, options.batch_size)
    result = _Totals()
    try:
        for block_number, block_days in enumerate(_blocks(counts)):
            block_started = time.perf_counter()
            rng = np.random.default_rng(np.random.SeedSequence(options.seed, spawn_key=(block_number + 1,)))
            block = [(days[i], int(counts[i])) for i in block_days]
            plan = _plan_block(session, district, table, rng, now, zone, block, first_id, options.events)
            seconds["计算"] = seconds.get("计算", 0.0) + time.perf_counter() - block_started
            write_started = time.perf_counter()
            result.add(writer.write(plan, options.events))
            _move_counters(session, plan.daily)
            first_id += plan.size
            seconds["写入"] = seconds.get("写入", 0.0) + time.perf_counter() - write_started
            if progress is not None:
                progress(result.cases, options.cases)
        writer.finish()
    finally:
        writer.close()
    return HistoryResult(
        cases=result.cases,
        events=result.events,
        assignments=result.assignments,
        start=first,
        end=last,
        states=dict(sorted(result.states.items(), key=lambda item: -item[1])),
        seconds={key: round(value, 2) for key, value in seconds.items()},
        first_number=result.first_number,
        last_number=result.last_number,
    )


def _day_range(options: HistoryOptions, today: dt.date) -> tuple[dt.date, dt.date]:
    last = min(options.end or today, today)
    first = options.start or _year_before(last)
    if first > last:
        raise InvalidInputError(
            f"起始日期{first:%Y-%m-%d}晚于结束日期{last:%Y-%m-%d}（不能晚于今天）", code="invalid_range"
        )
    if first.year < 2000:
        raise InvalidInputError("起始日期早于2000年，无法计算办理时限", code="invalid_range")
    return first, last


def _year_before(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 1) + dt.timedelta(days=1)
    except ValueError:  # 29 February
        return dt.date(day.year - 1, 3, 1)


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=offset) for offset in range((last - first).days + 1)]


def _cases_per_day(
    days: list[dt.date],
    options: HistoryOptions,
    table: WorkingTimeTable,
    calendar: WorkCalendar,
    now: dt.datetime,
    zone: ZoneInfo,
) -> I64:
    """Fewer reports on rest days and in winter, more in summer; today only up to now."""
    weights = np.array(
        [MONTH_VOLUME[day.month - 1] * (1.0 if calendar.is_workday(day) else REST_DAY_VOLUME) for day in days]
    )
    local_now = now.astimezone(zone)
    if days and days[-1] == local_now.date():
        weights[-1] *= max(local_now.hour * 60 + local_now.minute - 10, 0) / (24 * 60)
    rng = np.random.default_rng(np.random.SeedSequence(options.seed, spawn_key=(0,)))
    if weights.sum() <= 0:
        weights[:] = 1.0
    return rng.multinomial(options.cases, weights / weights.sum()).astype(np.int64)


def _blocks(counts: I64) -> Iterator[list[int]]:
    """Consecutive days holding about ``BLOCK_CASES`` cases (a day is never split)."""
    current: list[int] = []
    held = 0
    for index, count in enumerate(counts.tolist()):
        if current and held + count > BLOCK_CASES:
            yield current
            current, held = [], 0
        current.append(index)
        held += count
    if held:
        yield current


# ----------------------------------------------------------------------------------------------- one block


@dataclass
class _EventChunk:
    cases: Ints
    at: I64
    order: int
    actors: npt.NDArray[np.int32]
    action: str
    before: npt.NDArray[np.int8] | None
    after: npt.NDArray[np.int8]
    notes: Sequence[str] | str
    data: Sequence[str] | None


@dataclass
class _Plan:
    size: int
    columns: dict[str, Any]  # the case table's columns, numpy arrays or lists
    events: list[_EventChunk]
    assignments: dict[str, Any]
    people: list[Person]
    daily: dict[str, int]  # Beijing day → cases numbered on it


# The case's timestamp columns the flow sets (besides reported_at), written as they are.
CASE_TIMES = (
    "registered_at",
    "dispatched_at",
    "handled_at",
    "closed_at",
    "stage_started_at",
    "stage_due_at",
    "due_soon_at",
    "deadline_at",
    "handle_started_at",
    "suspended_at",
    "rated_at",
    "response_due_at",
    "responded_at",
)


class _Flow:
    """The cases of one block walked through the workflow together: every method moves the cases of a mask."""

    def __init__(
        self,
        district: District,
        table: WorkingTimeTable,
        rng: np.random.Generator,
        now: int,
        reported: I64,
        record: bool,
    ) -> None:
        n = len(reported)
        self.n, self.d, self.table, self.rng, self.now = n, district, table, rng, now
        self.record = record  # keep the history lines (else only count them)
        self.share = district.settings.due_soon_share
        self.reported = reported
        self.cursor = reported.copy()
        self.alive = np.ones(n, dtype=bool)
        self.state = np.full(n, S[CaseState.REPORTED], dtype=np.int8)
        self.events: list[_EventChunk] = []
        self.event_count = np.zeros(n, dtype=np.int64)
        self.history: list[tuple[Ints, I64, int]] = []  # state changes: (cases, at, new state)
        self._order = 0
        self.times = {name: np.full(n, NULL, dtype=np.int64) for name in (*CASE_TIMES, "first_closed_at")}
        self.numbers = {
            name: np.full(n, -1, dtype=np.int64)
            for name in (
                "stage",
                "stage_minutes",
                "handle_minutes",
                "handle_work_minutes",
                "remaining_stage_minutes",
                "remaining_deadline_minutes",
                "pending_extension_minutes",
                "main_department",
                "handler",
                "verifier",
                "rating",
                "merged_into",
                "suspended_from_state",
            )
        }
        self.counters = {
            name: np.zeros(n, dtype=np.int64)
            for name in ("rework_count", "return_count", "extension_count", "supervision_count", "reopen_count")
        }
        self.flags = {
            name: np.zeros(n, dtype=bool)
            for name in ("ever_overdue", "pending_suspension", "self_handled", "linked", "categorised")
        }

    # --- time

    def after(self, mask: Mask, minutes: npt.ArrayLike) -> I64:
        """About ``minutes`` of working time after each case's last step, at a random second (``NEVER`` where
        the mask is off, or the calendar does not reach)."""
        minutes = np.maximum(np.broadcast_to(np.asarray(minutes, dtype=np.float64), (self.n,)), 1).astype(np.int64)
        return self.at_least(mask, self.table.add(self.cursor, minutes) + self.seconds())

    def at_least(self, mask: Mask, at: I64) -> I64:
        """``at`` where the mask is on, but never before a minute after the last step; NEVER elsewhere."""
        valid = mask & (at >= 0) & (at != NULL)
        return np.where(valid, np.maximum(at, self.cursor + MINUTE), NEVER)

    def seconds(self) -> I64:
        return self.rng.integers(0, 60, self.n, dtype=np.int64)

    def exponential(self, mean: float) -> F64:
        return 1 + self.rng.exponential(mean, self.n)

    def chance(self, share: float) -> Mask:
        return self.rng.random(self.n) < share

    # --- steps

    def step(
        self,
        mask: Mask,
        at: I64,
        action: str,
        to: CaseState | None,
        actors: npt.ArrayLike,
        note: str | Callable[[Ints], Sequence[str]] = "",
        data: Callable[[Ints], Sequence[str]] | None = None,
    ) -> Ints:
        """The cases of ``mask`` take the step at ``at`` if that is before now; a case whose step lies after now
        stops where it is. Returns the cases that took it."""
        reached = mask & self.alive & (at < self.now)
        self.alive &= ~mask | reached
        cases = np.flatnonzero(reached)
        moment = at[cases]
        self._mark_overdue(cases, moment)
        before = self.state[cases].copy()
        if to is not None:
            self.state[cases] = S[to]
            self.history.append((cases, moment, S[to]))
        self.cursor[cases] = moment
        self.event_count[cases] += 1
        if self.record:
            actor_of = np.broadcast_to(np.asarray(actors, dtype=np.int32), (self.n,))[cases]
            notes = note(cases) if callable(note) else note
            after = self.state[cases].copy()
            lines = data(cases) if data is not None else None
            self.events.append(
                _EventChunk(cases, moment, self._next_order(), actor_of, action, before, after, notes, lines)
            )
        return cases

    def note_event(
        self, cases: Ints, at: I64, action: str, actors: npt.ArrayLike, notes: Sequence[str], data: Sequence[str]
    ) -> None:
        """A line in a case's history that changes nothing (a duplicate merged into it)."""
        np.add.at(self.event_count, cases, 1)
        if not self.record:
            return
        states = self.state_at(cases, at)
        actor_of = np.broadcast_to(np.asarray(actors, dtype=np.int32), cases.shape)
        self.events.append(_EventChunk(cases, at, self._next_order(), actor_of, action, states, states, notes, data))

    def _next_order(self) -> int:
        self._order += 1
        return self._order

    def state_at(self, cases: Ints, at: I64) -> npt.NDArray[np.int8]:
        states = np.full(len(cases), S[CaseState.REPORTED], dtype=np.int8)
        moment = np.full(self.n, NEVER, dtype=np.int64)
        for changed, when, state in self.history:
            moment[:] = NEVER
            moment[changed] = when
            states[moment[cases] <= at] = state
        return states

    # --- the clock (cases.clock, column by column)

    def _mark_overdue(self, cases: Ints, at: I64) -> None:
        """A step at or after the running stage's deadline: the tick (or the action's refresh) saw it overdue."""
        due = self.times["stage_due_at"][cases]
        running = (due != NULL) & (self.times["suspended_at"][cases] == NULL) & (self.numbers["stage"][cases] >= 0)
        self.flags["ever_overdue"][cases[running & (at >= due)]] = True

    def start_stage(self, cases: Ints, stage: int, at: I64, minutes: I64) -> None:
        due = self.table.add(at, minutes)
        self.numbers["stage"][cases] = stage
        self.times["stage_started_at"][cases] = at
        self.numbers["stage_minutes"][cases] = minutes
        self.times["stage_due_at"][cases] = due
        self._set_due_soon(cases, at)
        if stage == HANDLE:
            self.times["deadline_at"][cases] = due
            self.times["handle_started_at"][cases] = at
            self.numbers["handle_minutes"][cases] = minutes
        if stage == REGISTER:
            unset = self.times["response_due_at"][cases] == NULL
            self.times["response_due_at"][cases[unset]] = due[unset]

    def _set_due_soon(self, cases: Ints, reference: I64) -> None:
        due = self.times["stage_due_at"][cases]
        total = self.table.minutes_between(reference, due)
        soon = self.table.add(reference, np.floor(total * (1 - self.share)).astype(np.int64))
        self.times["due_soon_at"][cases] = np.where(due == NULL, NULL, soon)

    def refresh(self, cases: Ints, at: I64) -> None:
        """A stage that starts already past its deadline (rework on a late case) is overdue at once."""
        self._mark_overdue(cases, at)

    def end_stages(self, cases: Ints) -> None:
        self.numbers["stage"][cases] = -1
        self.times["stage_due_at"][cases] = NULL
        self.times["due_soon_at"][cases] = NULL

    def handling_minutes_used(self, cases: Ints, at: I64) -> I64:
        """``clock.handling_minutes_used``: the round's minutes less what was left, or plus how late."""
        deadline = self.times["deadline_at"][cases]
        minutes = self.numbers["handle_minutes"][cases]
        early = minutes - self.table.minutes_between(at, deadline)
        late = minutes + self.table.minutes_between(deadline, at)
        used = np.where(at <= deadline, np.maximum(early, 0), late)
        unknown = self.table.minutes_between(self.times["handle_started_at"][cases], at)
        return np.where(deadline == NULL, unknown, used)

    def continue_handling(self, cases: Ints, at: I64) -> None:
        """``clock.continue_handling``: back to the handling stage that began at dispatch, on its deadline."""
        deadline = self.times["deadline_at"][cases]
        start = np.minimum(self.times["dispatched_at"][cases], deadline)
        self.numbers["stage"][cases] = HANDLE
        self.times["stage_started_at"][cases] = start
        self.numbers["stage_minutes"][cases] = self.table.minutes_between(start, deadline)
        self.times["stage_due_at"][cases] = deadline
        self._set_due_soon(cases, start)
        self.refresh(cases, at)

    def extend(self, cases: Ints, at: I64, minutes: I64) -> None:
        """``clock.extend`` on the handling stage."""
        self.numbers["stage_minutes"][cases] += minutes
        self.numbers["handle_minutes"][cases] = self.numbers["stage_minutes"][cases]
        due = self.table.add(self.times["stage_due_at"][cases], minutes)
        self.times["stage_due_at"][cases] = due
        self.times["deadline_at"][cases] = due
        self._set_due_soon(cases, self.times["stage_started_at"][cases])
        self.refresh(cases, at)

    def suspend(self, cases: Ints, at: I64) -> None:
        """``clock.suspend``: the minutes left are kept, the clock stops."""
        for column, due_column in (
            ("remaining_stage_minutes", "stage_due_at"),
            ("remaining_deadline_minutes", "deadline_at"),
        ):
            due = self.times[due_column][cases]
            left = np.where(due > at, self.table.minutes_between(at, due), 0)
            self.numbers[column][cases] = np.where(due == NULL, -1, left)
        self.times["suspended_at"][cases] = at
        self.numbers["suspended_from_state"][cases] = S[CaseState.IN_PROGRESS]

    def settle(self) -> tuple[Mask, Mask]:
        """Where the cases stand now: the flags the scheduler's tick has raised on the open ones."""
        clocked = np.isin(self.state, CLOCKED_CODES) & (self.times["suspended_at"] == NULL)
        due = self.times["stage_due_at"]
        overdue = clocked & (due != NULL) & (self.now >= due)
        soon_at = self.times["due_soon_at"]
        due_soon = clocked & ~overdue & (soon_at != NULL) & (self.now >= soon_at)
        self.flags["ever_overdue"] |= overdue
        return overdue, due_soon


def _plan_block(
    session: Session,
    d: District,
    table: WorkingTimeTable,
    rng: np.random.Generator,
    now: dt.datetime,
    zone: ZoneInfo,
    days: list[tuple[dt.date, int]],
    first_id: int,
    record: bool,
) -> _Plan:
    channel, reported = _report_times(rng, days, now, zone)
    n = len(reported)
    ids = np.arange(first_id, first_id + n, dtype=np.int64)
    kind = _draw_kinds(rng, d, channel, reported, zone)
    leaf = rng.choice(len(d.leaves), size=n, p=_busy(d))
    flow = _Flow(d, table, rng, to_epoch(now), reported, record)
    outcome = _outcomes(rng, d, channel, kind)
    placement = _placements(rng, channel)
    named = np.isin(channel, [CHANNELS.index(c) for c in (*ON_PATROL, Channel.SENSOR)]) | flow.chance(
        SHARES.named_by_caller
    )
    named &= outcome != OUTCOME_DUPLICATE  # set again for duplicates once their master is known
    numbers, daily = _numbers(session, reported, zone)
    walk = _Walk(flow, d, channel, kind, leaf, named, placement, numbers)
    walk.run(outcome)
    return _Plan(n, walk.columns(ids), flow.events, walk.assignment_rows(ids), d.people, daily)


OUTCOME_FLOW, OUTCOME_SELF, OUTCOME_REJECT, OUTCOME_DUPLICATE = range(4)


def _report_times(
    rng: np.random.Generator, days: list[tuple[dt.date, int]], now: dt.datetime, zone: ZoneInfo
) -> tuple[npt.NDArray[np.int8], I64]:
    """Channels and report instants, in time order: patrols in office hours, callers all day, today before now."""
    total = sum(count for _, count in days)
    shares = np.array([share for _, share in CHANNEL_MIX])
    channel = rng.choice(len(CHANNELS), size=total, p=shares / shares.sum()).astype(np.int8)
    hours = np.array([_hour_profile(c) for c in CHANNELS])
    midnights = np.repeat(
        np.array([_epoch(dt.datetime.combine(day, dt.time()), zone) for day, _ in days], dtype=np.int64),
        [count for _, count in days],
    )
    hour = np.empty(total, dtype=np.int64)
    for code in range(len(CHANNELS)):
        chosen = channel == code
        hour[chosen] = rng.choice(24, size=int(chosen.sum()), p=hours[code])
    offset = hour * HOUR + rng.integers(0, HOUR, total)
    moments = midnights + offset
    latest = to_epoch(now) - 10 * MINUTE
    late = moments > latest  # today, after now: earlier today instead
    if late.any():
        moments[late] = midnights[late] + (rng.random(int(late.sum())) * (latest - midnights[late])).astype(np.int64)
    order = np.argsort(moments, kind="stable")
    return channel[order], moments[order]


def _hour_profile(channel: Channel) -> F64:
    profile = PATROL_HOURS if channel in ON_PATROL else SENSOR_HOURS if channel is Channel.SENSOR else CALLER_HOURS
    weights = np.asarray(profile, dtype=np.float64)
    return np.asarray(weights / weights.sum(), dtype=np.float64)


def _draw_kinds(
    rng: np.random.Generator, d: District, channel: npt.NDArray[np.int8], reported: I64, zone: ZoneInfo
) -> Ints:
    """A category per case: how common it is, who reports it, and the season."""
    offset = _utc_offset(zone)
    months = ((reported + offset).astype("datetime64[s]").astype("datetime64[M]").astype(np.int64) % 12).astype(int)
    kind = np.empty(len(reported), dtype=np.intp)
    groups = {"patrol": ON_PATROL, "sensor": frozenset({Channel.SENSOR}), "caller": frozenset(CHANNELS)}
    group_of = np.array(
        [next(name for name, members in groups.items() if c in members) for c in CHANNELS], dtype=object
    )
    for group in groups:
        in_group = np.isin(channel, np.flatnonzero(group_of == group))
        for month in range(12):
            chosen = np.flatnonzero(in_group & (months == month))
            if len(chosen):
                kind[chosen] = rng.choice(len(d.kinds), size=len(chosen), p=_kind_weights(d, group, month))
    return kind


def _kind_weights(d: District, group: str, month: int) -> F64:
    weights = []
    for category in d.kinds:
        problem = PROBLEMS.get(category.code)
        weight = (problem.weight * problem.season[month]) if problem else UNKNOWN_WEIGHT
        top = category.code[:2]
        if group == "patrol":
            weight *= PATROL_AFFINITY.get(top, 1.0)
        elif group == "sensor":
            weight *= 1.0 if category.code in SENSED else 0.0
        else:
            weight *= CALLER_AFFINITY.get(top, 1.0)
        weights.append(weight)
    array = np.asarray(weights, dtype=np.float64)
    if array.sum() <= 0:
        array[:] = 1.0
    return np.asarray(array / array.sum(), dtype=np.float64)


def _busy(d: District) -> F64:
    """Grids by area, some busier than others (a market, an old estate); the same for every block of a seed."""
    busyness = np.random.default_rng(len(d.leaves)).lognormal(0.0, 0.45, len(d.leaves))
    weights = d.leaf_weights * busyness
    return np.asarray(weights / weights.sum(), dtype=np.float64)


def _outcomes(rng: np.random.Generator, d: District, channel: npt.NDArray[np.int8], kind: Ints) -> Ints:
    n = len(channel)
    callers = np.isin(channel, [CHANNELS.index(c) for c in OPERATOR_TAKEN])
    resident = channel == CHANNELS.index(Channel.RESIDENT)
    patrol = channel == CHANNELS.index(Channel.GRID_PATROL)
    self_allowed = np.array([kind_.self_handle_allowed for kind_ in d.kinds])[kind]
    draw = rng.random(n)
    duplicate_share = np.where(callers | resident, SHARES.duplicate_caller, SHARES.duplicate_other)
    rejected_share = np.where(callers, SHARES.rejected_caller, np.where(resident, SHARES.rejected_resident, 0.0))
    rejected_share = np.maximum(rejected_share, SHARES.rejected_other)
    outcome = np.full(n, OUTCOME_FLOW, dtype=np.intp)
    outcome[draw < duplicate_share + rejected_share] = OUTCOME_REJECT
    outcome[draw < duplicate_share] = OUTCOME_DUPLICATE
    self_handled = patrol & self_allowed & (rng.random(n) < SHARES.self_handled)
    outcome[self_handled & (outcome == OUTCOME_FLOW)] = OUTCOME_SELF
    return outcome


def _placements(rng: np.random.Generator, channel: npt.NDArray[np.int8]) -> npt.NDArray[np.int8]:
    """Patrols, inspections and sensors are located; 4 % of the others come without coordinates, 3 % outside."""
    located_always = np.isin(channel, [CHANNELS.index(c) for c in (*ON_PATROL, Channel.SENSOR)])
    draw = rng.random(len(channel))
    placement = np.zeros(len(channel), dtype=np.int8)  # 0 located, 1 no location, 2 outside
    placement[(draw >= 0.93) & (draw < 0.97)] = 1
    placement[draw >= 0.97] = 2
    placement[located_always] = 0
    return placement


def _numbers(session: Session, reported: I64, zone: ZoneInfo) -> tuple[list[str], dict[str, int]]:
    """Case numbers as intake gives them: the Beijing date and the day's sequence, after what the day has."""
    offset = _utc_offset(zone)
    local_days = ((reported + offset) // DAY).astype("datetime64[D]").astype(str)
    keys = [day.replace("-", "") for day in np.unique(local_days).tolist()]
    used = dict(
        session.execute(
            select(SystemCounter.name, SystemCounter.value).where(
                SystemCounter.name.in_([f"case_number:{key}" for key in keys])
            )
        ).all()
    )
    numbers: list[str] = []
    daily: dict[str, int] = {}
    for day in local_days.tolist():
        key = day.replace("-", "")
        daily[key] = daily.get(key, int(used.get(f"case_number:{key}", 0))) + 1
        numbers.append(f"{key}{daily[key]:06d}")
    return numbers, daily


# ----------------------------------------------------------------------------------------------- the walk


NOTES = {
    "reject": "经核实不属于受理范围，已告知反映人",
    "return": "经核实不属于本部门职责，申请退回重新派遣",
    "submit": "已到现场处置完毕，附处置后照片",
    "resubmit": "已按核查意见返工处置完毕",
    "verify_pass": "现场核查，问题已解决",
    "verify_fail": "现场核查问题仍未解决，请返工",
    "request_extension": "需协调施工队伍和物资，申请延期",
    "approve_extension": "同意延期",
    "request_suspension": "涉及历史遗留和产权问题，短期内无法解决，申请挂账",
    "approve_suspension": "同意挂账，定期跟踪",
    "supervise": "群众反映强烈，请加快办理",
    "self_handle": "网格员现场已处理完毕，附处置后照片",
    "reopen": "回访不满意，重新办理",
}


class _Walk:
    """The life of every case of a block, step by step in the order the flow takes them."""

    def __init__(
        self,
        flow: _Flow,
        d: District,
        channel: npt.NDArray[np.int8],
        kind: Ints,
        leaf: Ints,
        named: Mask,
        placement: npt.NDArray[np.int8],
        numbers: list[str],
    ) -> None:
        self.f, self.d, self.channel, self.kind, self.leaf = flow, d, channel, kind, leaf
        self.named, self.placement, self.numbers = named, placement, numbers
        self.rng = flow.rng
        n = flow.n
        self.in_main_street = np.array([code[:9] == MAIN_STREET for _, code, _, _ in d.leaves])[leaf]
        self.main = np.full(n, -1, dtype=np.int64)  # department id chosen at dispatch
        self.assist = np.full(n, -1, dtype=np.int64)
        self.wrong = np.full(n, -1, dtype=np.int64)
        self.assigned_main = np.full(n, NULL, dtype=np.int64)
        self.assigned_wrong = np.full(n, NULL, dtype=np.int64)
        self.wrong_active = np.zeros(n, dtype=bool)
        self.verifier_person = np.full(n, d.named["dispatcher"], dtype=np.int32)
        self.department_codes = sorted(d.departments)
        self.department_index = {code: i for i, code in enumerate(self.department_codes)}
        self.department_ids = np.array([d.departments[code] for code in self.department_codes], dtype=np.int64)
        self.staff = np.array([d.department_staff[code] for code in self.department_codes], dtype=np.int32)

    # --- who

    def dispatcher(self) -> npt.NDArray[np.int32]:
        return np.where(self.in_main_street, self.d.named["dispatcher"], self.d.named["district"]).astype(np.int32)

    def leader(self) -> npt.NDArray[np.int32]:
        return np.where(self.in_main_street, self.d.named["leader"], self.d.named["district"]).astype(np.int32)

    def worker(self) -> npt.NDArray[np.int32]:
        return np.asarray(self.d.leaf_worker, dtype=np.int32)[self.leaf]

    def taker(self) -> npt.NDArray[np.int32]:
        taker = np.full(self.f.n, self.d.named["hotline"], dtype=np.int32)
        patrol = np.isin(self.channel, [CHANNELS.index(c) for c in ON_PATROL])
        taker[patrol] = self.worker()[patrol]
        taker[self.channel == CHANNELS.index(Channel.SENSOR)] = self.d.named["sensor"]
        taker[self.channel == CHANNELS.index(Channel.RESIDENT)] = self.d.named["public"]
        return taker

    def handler(self, department: npt.NDArray[np.int64]) -> npt.NDArray[np.int32]:
        return np.where(department >= 0, self.staff[np.clip(department, 0, None)], 0).astype(np.int32)

    # --- the life

    def run(self, outcome: Ints) -> None:
        f = self.f
        flow, self_handled = outcome == OUTCOME_FLOW, outcome == OUTCOME_SELF
        duplicate = outcome == OUTCOME_DUPLICATE
        self.intake(~duplicate)
        self.self_handle(self_handled)
        self.reject(outcome == OUTCOME_REJECT)
        self.handle(flow)
        merged = self.merge(duplicate, flow)
        if len(merged):
            self.close_with_masters(merged)
        self.overdue, self.due_soon = f.settle()

    def intake(self, mask: Mask) -> None:
        f, d = self.f, self.d
        cases = f.step(mask, f.reported, "intake", CaseState.REPORTED, self.taker(), self._intake_note)
        named = cases[self.named[cases]]
        f.flags["categorised"][named] = True
        minutes = np.where(
            self.named[cases], d.kind_minutes[self.kind[cases], REGISTER], d.default_register_minutes
        ).astype(np.int64)
        f.start_stage(cases, REGISTER, f.reported[cases], minutes)

    def _intake_note(self, cases: Ints) -> list[str]:
        labels = (Placement.LOCATED.label, Placement.NO_LOCATION.label, Placement.OUTSIDE.label)
        return [
            f"{CHANNEL_LABELS[CHANNELS[c]]}受理，{labels[p]}"
            for c, p in zip(self.channel[cases].tolist(), self.placement[cases].tolist(), strict=True)
        ]

    def self_handle(self, mask: Mask) -> None:
        f = self.f
        at = f.at_least(mask, f.reported + self.rng.integers(5 * MINUTE, 50 * MINUTE, f.n))
        worker = self.worker()
        cases = f.step(mask, at, "self_handle", CaseState.CLOSED, worker, NOTES["self_handle"])
        moment = at[cases]
        for column in ("registered_at", "dispatched_at", "handled_at", "closed_at", "responded_at"):
            f.times[column][cases] = moment
        f.times["first_closed_at"][cases] = moment
        f.flags["self_handled"][cases] = True
        f.flags["categorised"][cases] = True
        f.numbers["handler"][cases] = worker[cases]
        f.numbers["verifier"][cases] = worker[cases]
        f.end_stages(cases)

    def reject(self, mask: Mask, at: I64 | None = None) -> None:
        f = self.f
        at = f.after(mask, f.exponential(40)) if at is None else at
        cases = f.step(mask, at, "reject", CaseState.REJECTED, self.dispatcher(), NOTES["reject"])
        f.times["responded_at"][cases] = at[cases]
        f.end_stages(cases)

    def handle(self, mask: Mask) -> None:
        """立案 → 派遣 → 接收 → (延期) → (挂账) → (督办) → 处置反馈 → (返工) → 核查结案 → (评价 → 重办 …)."""
        f, d = self.f, self.d
        minutes = f.exponential(20)
        late = f.chance(SHARES.late_response)
        minutes[late] = self.rng.uniform(121, 600, int(late.sum()))
        cases = f.step(
            mask, f.after(mask, minutes), "register", CaseState.REGISTERED, self.dispatcher(), "", self._category_data
        )
        at = f.cursor[cases]
        f.times["registered_at"][cases] = at
        f.times["responded_at"][cases] = at
        f.flags["categorised"][cases] = True
        f.start_stage(cases, DISPATCH, at, d.kind_minutes[self.kind[cases], DISPATCH])
        self.main = self._main_departments()
        self.assist = self._assist_departments(mask & f.chance(SHARES.linked))
        self.returned(mask & f.chance(SHARES.returned))
        self.dispatch(mask)
        accepted = f.step(
            mask, f.after(mask, f.exponential(30)), "accept", CaseState.IN_PROGRESS, self.handler(self.main)
        )
        f.numbers["handler"][accepted] = self.handler(self.main)[accepted]
        straggler = mask & f.chance(SHARES.straggler)
        self.extension(mask & f.chance(SHARES.extended) & ~straggler)
        suspended = mask & f.chance(SHARES.suspended) & ~straggler
        self.suspension(suspended)
        working = mask & ~suspended
        share = self.rng.lognormal(math.log(0.4), 0.5, f.n)
        share[straggler] = self.rng.uniform(3, 40, int(straggler.sum()))
        self.supervision(working & (straggler | f.chance(SHARES.supervised)), straggler, share)
        self.submit(working, self.handled_by(share))
        self.rework(working & f.chance(SHARES.reworked))
        closed = self.verify(working)
        rated = self.rate(closed, first=True)
        reopened = self.reopen(rated)
        if len(reopened):
            again = np.zeros(f.n, dtype=bool)
            again[reopened] = True
            f.step(again, f.after(again, f.exponential(30)), "accept", CaseState.IN_PROGRESS, self.handler(self.main))
            self.submit(again, self.handled_by(self.rng.lognormal(math.log(0.4), 0.5, f.n)))
            closed_again = self.verify(again)
            self.rate(closed_again, first=False)

    def _main_departments(self) -> npt.NDArray[np.int64]:
        codes = [self.d.kind_departments[k] for k in range(len(self.d.kinds))]
        local = np.array([self.department_index[code] for code in codes])[self.kind]
        away = np.array([self.department_index.get(DISTRICT_COUNTERPART.get(c, c), -1) for c in codes])[self.kind]
        return np.where(self.in_main_street | (away < 0), local, away).astype(np.int64)

    def _assist_departments(self, mask: Mask) -> npt.NDArray[np.int64]:
        tops = [ASSISTS.get(kind.code[:2], "HC-ZF") for kind in self.d.kinds]
        local = np.array([self.department_index.get(code, -1) for code in tops])[self.kind]
        away = np.array([self.department_index.get(DISTRICT_COUNTERPART.get(c, c), -1) for c in tops])[self.kind]
        chosen = np.where(self.in_main_street | (away < 0), local, away)
        return np.where(mask & (chosen >= 0) & (chosen != self.main), chosen, -1).astype(np.int64)

    def _category_data(self, cases: Ints) -> list[str]:
        codes = [kind.code for kind in self.d.kinds]
        return [json.dumps({"category": codes[k]}) for k in self.kind[cases].tolist()]

    def returned(self, mask: Mask) -> None:
        """Sent to the wrong department first, which returns it (退回) before the right one gets it."""
        f = self.f
        first, second = (self.department_index.get(code, -1) for code in WRONG_FIRST)
        wrong = np.where(self.main == first, second, first)
        wrong = np.where((wrong == self.assist) | (wrong < 0), -1, wrong)
        mask = mask & (wrong >= 0)
        self.wrong = np.where(mask, wrong, -1)
        cases, at = self._dispatch_to(mask, self.wrong, np.full(f.n, -1))
        self.assigned_wrong[cases] = at
        self.wrong_active[cases] = True
        back = f.step(
            mask,
            f.after(mask, f.exponential(120)),
            "return",
            CaseState.REGISTERED,
            self.handler(self.wrong),
            NOTES["return"],
            self._returned_data,
        )
        self.wrong_active[back] = False
        f.numbers["main_department"][back] = -1
        f.counters["return_count"][back] += 1
        f.start_stage(back, DISPATCH, f.cursor[back], self.d.kind_minutes[self.kind[back], DISPATCH])

    def _returned_data(self, cases: Ints) -> list[str]:
        return [json.dumps({"returned_by": int(self.department_ids[w])}) for w in self.wrong[cases].tolist()]

    def _dispatch_data(self, main: npt.NDArray[np.int64], assist: npt.NDArray[np.int64]) -> Callable[[Ints], list[str]]:
        codes = self.department_codes

        def data(cases: Ints) -> list[str]:
            return [
                json.dumps({"main": codes[m], "assists": [codes[a]] if a >= 0 else []})
                for m, a in zip(main[cases].tolist(), assist[cases].tolist(), strict=True)
            ]

        return data

    def dispatch(self, mask: Mask) -> None:
        cases, at = self._dispatch_to(mask, self.main, self.assist)
        self.f.flags["linked"][cases] = self.assist[cases] >= 0
        self.assigned_main[cases] = at

    def _dispatch_to(self, mask: Mask, main: npt.NDArray[np.int64], assist: npt.NDArray[np.int64]) -> tuple[Ints, I64]:
        """派遣 about a quarter of an hour later; the handling stage starts. The dispatched cases and when."""
        f = self.f
        cases = f.step(
            mask,
            f.after(mask, f.exponential(15)),
            "dispatch",
            CaseState.DISPATCHED,
            self.dispatcher(),
            "",
            self._dispatch_data(main, assist),
        )
        at = f.cursor[cases]
        f.times["dispatched_at"][cases] = at
        f.numbers["main_department"][cases] = self.department_ids[main[cases]]
        f.start_stage(cases, HANDLE, at, self.d.kind_minutes[self.kind[cases], HANDLE])
        return cases, at

    def extension(self, mask: Mask) -> None:
        f, d = self.f, self.d
        limit = d.kind_minutes[self.kind, HANDLE]
        asked = f.table.add(
            f.times["handle_started_at"], np.floor(limit * self.rng.uniform(0.4, 0.8, f.n)).astype(np.int64)
        )
        minutes = np.where(
            limit >= d.calendar.day_minutes(), d.calendar.day_minutes() * self.rng.integers(1, 4, f.n), limit
        )
        minutes = minutes.astype(np.int64)
        data = self._minutes_data(minutes)
        cases = f.step(
            mask,
            f.at_least(mask, asked + f.seconds()),
            "request_extension",
            None,
            self.handler(self.main),
            NOTES["request_extension"],
            data,
        )
        f.numbers["pending_extension_minutes"][cases] = minutes[cases]
        cases = f.step(
            mask,
            f.after(mask, f.exponential(60)),
            "approve_extension",
            None,
            self.leader(),
            NOTES["approve_extension"],
            data,
        )
        f.numbers["pending_extension_minutes"][cases] = -1
        f.counters["extension_count"][cases] += 1
        f.extend(cases, f.cursor[cases], minutes[cases])

    def _minutes_data(self, minutes: I64) -> Callable[[Ints], list[str]]:
        def data(cases: Ints) -> list[str]:
            return [json.dumps({"minutes": m}) for m in minutes[cases].tolist()]

        return data

    def suspension(self, mask: Mask) -> None:
        f = self.f
        cases = f.step(
            mask,
            f.after(mask, f.exponential(600)),
            "request_suspension",
            None,
            self.handler(self.main),
            NOTES["request_suspension"],
        )
        f.flags["pending_suspension"][cases] = True
        cases = f.step(
            mask,
            f.after(mask, f.exponential(240)),
            "approve_suspension",
            CaseState.SUSPENDED,
            self.leader(),
            NOTES["approve_suspension"],
        )
        f.flags["pending_suspension"][cases] = False
        f.suspend(cases, f.cursor[cases])

    def supervision(self, mask: Mask, straggler: Mask, share: F64) -> None:
        f = self.f
        done = self.handled_by(share)
        nudge = self.handled_by(np.where(straggler, 1.2, 0.7))
        mask = mask & (nudge > f.cursor) & (nudge < done) & (nudge != NULL)
        cases = f.step(
            mask, np.where(mask, nudge + f.seconds(), NEVER), "supervise", None, self.leader(), NOTES["supervise"]
        )
        f.counters["supervision_count"][cases] += 1

    def handled_by(self, share: F64) -> I64:
        """When the work is done: ``share`` of the handling round's minutes after it started."""
        f = self.f
        minutes = np.clip(f.numbers["handle_minutes"], 1, None)
        return f.table.add(f.times["handle_started_at"], np.maximum(np.floor(minutes * share), 1).astype(np.int64))

    def submit(self, mask: Mask, done: I64, note: str = NOTES["submit"]) -> None:
        f, d = self.f, self.d
        cases = f.step(
            mask, f.at_least(mask, done + f.seconds()), "submit", CaseState.HANDLED, self.handler(self.main), note
        )
        at = f.cursor[cases]
        f.times["handled_at"][cases] = at
        f.numbers["handle_work_minutes"][cases] = f.handling_minutes_used(cases, at)
        f.numbers["handler"][cases] = self.handler(self.main)[cases]
        f.start_stage(cases, VERIFY, at, d.kind_minutes[self.kind[cases], VERIFY])

    def _verifier(self) -> npt.NDArray[np.int32]:
        worker = self.worker()
        by_worker = (self.rng.random(self.f.n) < 0.4) & (worker > 0) & self.in_main_street
        return np.where(by_worker, worker, self.dispatcher()).astype(np.int32)

    def rework(self, mask: Mask) -> None:
        f = self.f
        verifier = self._verifier()
        cases = f.step(
            mask,
            f.after(mask, f.exponential(120)),
            "verify_fail",
            CaseState.IN_PROGRESS,
            verifier,
            NOTES["verify_fail"],
        )
        f.counters["rework_count"][cases] += 1
        f.times["handled_at"][cases] = NULL
        f.continue_handling(cases, f.cursor[cases])
        self.submit(mask, f.table.add(f.cursor, np.ceil(f.exponential(300)).astype(np.int64)), NOTES["resubmit"])

    def verify(self, mask: Mask) -> Ints:
        f = self.f
        verifier = self._verifier()
        cases = f.step(
            mask, f.after(mask, f.exponential(90)), "verify_pass", CaseState.CLOSED, verifier, NOTES["verify_pass"]
        )
        at = f.cursor[cases]
        f.times["closed_at"][cases] = at
        first = f.times["first_closed_at"][cases] == NULL
        f.times["first_closed_at"][cases[first]] = at[first]
        f.numbers["verifier"][cases] = verifier[cases]
        self.verifier_person[cases] = verifier[cases]
        f.end_stages(cases)
        return cases

    def rate(self, closed: Ints, *, first: bool) -> Ints:
        f = self.f
        callers = np.isin(self.channel, [CHANNELS.index(c) for c in COMPLAINANT if c is not Channel.RESIDENT])
        resident = self.channel == CHANNELS.index(Channel.RESIDENT)
        share = np.where(callers, SHARES.rated_caller, np.where(resident, SHARES.rated_resident, 0.0))
        if not first:
            share = share * SHARES.rerated
        mask = np.zeros(f.n, dtype=bool)
        mask[closed] = True
        mask &= self.rng.random(f.n) < share
        draw = self.rng.random(f.n)
        unsatisfied = SHARES.unsatisfied if first else 0.0
        rating = np.where(draw < unsatisfied, 2, np.where(draw < unsatisfied + SHARES.basically_satisfied, 1, 0))
        rater = np.where(resident, self.d.named["tracking"], self.d.named["hotline"]).astype(np.int32)
        values = [Rating.SATISFIED.value, Rating.BASICALLY.value, Rating.UNSATISFIED.value]

        def data(cases: Ints) -> list[str]:
            return [json.dumps({"rating": values[r]}) for r in rating[cases].tolist()]

        cases = f.step(mask, f.after(mask, f.exponential(240)), "rate", None, rater, "", data)
        f.numbers["rating"][cases] = rating[cases]
        f.times["rated_at"][cases] = f.cursor[cases]
        return cases

    def reopen(self, rated: Ints) -> Ints:
        f, d = self.f, self.d
        mask = np.zeros(f.n, dtype=bool)
        mask[rated] = True
        mask &= (f.numbers["rating"] == 2) & (self.rng.random(f.n) < SHARES.reopened)
        cases = f.step(
            mask, f.after(mask, f.exponential(120)), "reopen", CaseState.DISPATCHED, self.dispatcher(), NOTES["reopen"]
        )
        at = f.cursor[cases]
        f.counters["reopen_count"][cases] += 1
        f.numbers["rating"][cases] = -1
        f.times["rated_at"][cases] = NULL
        f.times["closed_at"][cases] = NULL
        f.times["handled_at"][cases] = NULL
        f.times["dispatched_at"][cases] = at
        f.start_stage(cases, HANDLE, at, d.kind_minutes[self.kind[cases], HANDLE])
        return cases

    # --- duplicates

    def merge(self, mask: Mask, own: Mask) -> Ints:
        """A duplicate is merged into an own case (of ``own``) still open, reported in the three days before it,
        and takes that case's place and category; without one it is rejected. Returns the merged cases."""
        f = self.f
        merge_at = f.table.add(f.reported, np.ceil(f.exponential(30)).astype(np.int64)) + f.seconds()
        merge_at = np.where(mask & (merge_at >= 0), np.maximum(merge_at, f.reported + MINUTE), NEVER)
        master = self._masters(mask & (merge_at < f.now), own, merge_at)
        found = master >= 0
        for column in (self.kind, self.leaf, self.in_main_street):
            column[found] = column[master[found]]
        self.intake(mask)
        self.reject(mask & ~found, merge_at)
        numbers = self.numbers

        def master_data(cases: Ints) -> list[str]:
            return [json.dumps({"master": numbers[m]}) for m in master[cases].tolist()]

        cases = f.step(mask & found, merge_at, "merge", CaseState.MERGED, self.dispatcher(), "", master_data)
        f.numbers["merged_into"][cases] = master[cases]
        f.times["responded_at"][cases] = merge_at[cases]
        f.end_stages(cases)
        f.note_event(
            master[cases],
            merge_at[cases],
            "merged_duplicate",
            self.dispatcher()[cases],
            [f"合并重复件{numbers[c]}" for c in cases.tolist()],
            [json.dumps({"duplicate": numbers[c]}) for c in cases.tolist()],
        )
        return cases

    def _masters(self, mask: Mask, own: Mask, merge_at: I64) -> npt.NDArray[np.int64]:
        """For each duplicate of ``mask`` a case of ``own`` reported in the window before it and not yet closed
        when the duplicate is merged (a few random tries; -1 when none fits)."""
        f = self.f
        candidates = np.flatnonzero(own)
        master = np.full(f.n, -1, dtype=np.int64)
        duplicates = np.flatnonzero(mask)
        if not len(candidates) or not len(duplicates):
            return master
        times = f.reported[candidates]
        at = merge_at[duplicates]
        low = np.searchsorted(times, f.reported[duplicates] - MERGE_WINDOW, side="left")
        high = np.searchsorted(times, f.reported[duplicates], side="left")
        chosen = np.full(len(duplicates), -1, dtype=np.int64)
        for _ in range(8):
            pick = np.clip(low + np.floor(self.rng.random(len(duplicates)) * (high - low)).astype(np.int64), 0, None)
            case = candidates[np.clip(pick, 0, len(candidates) - 1)]
            closed = f.times["first_closed_at"][case]
            usable = (chosen < 0) & (high > low) & ((closed == NULL) | (closed > at))
            chosen[usable] = case[usable]
        master[duplicates] = chosen
        return master

    def close_with_masters(self, merged: Ints) -> None:
        f = self.f
        master = f.numbers["merged_into"]
        mask = np.zeros(f.n, dtype=bool)
        mask[merged] = True
        at = np.where(mask, f.times["first_closed_at"][np.clip(master, 0, None)], NEVER)
        at = np.where(at == NULL, NEVER, at)
        numbers = self.numbers
        closer = self.verifier_person[np.clip(master, 0, None)]

        def note(cases: Ints) -> list[str]:
            return [f"随主案件{numbers[m]}结案" for m in master[cases].tolist()]

        def data(cases: Ints) -> list[str]:
            return [json.dumps({"master": numbers[m]}) for m in master[cases].tolist()]

        cases = f.step(mask, at, "closed_with_master", CaseState.CLOSED, closer, note, data)
        f.times["closed_at"][cases] = at[cases]

    # --- rows

    def columns(self, ids: I64) -> dict[str, Any]:
        """The case table's columns (numpy arrays or lists), as the workflow would have left them."""
        f, d = self.f, self.d
        kinds = d.kinds
        categorised = f.flags["categorised"]
        category_ids = np.array([kind.id for kind in kinds], dtype=np.int64)[self.kind]
        priorities = np.array([kind.priority for kind in kinds], dtype=np.int64)[self.kind]
        channel_values = np.array([c.value for c in CHANNELS], dtype=object)[self.channel]
        lon, lat, grid_ids, scope, nearest, distance = self._places()
        titles, descriptions, addresses = self._texts()
        names, phones = self._callers()
        prefix = np.array([SOURCE_PREFIX.get(c, "") for c in CHANNELS], dtype=object)[self.channel]
        source_ids = [f"{p}{number}" if p else None for p, number in zip(prefix.tolist(), self.numbers, strict=True)]
        type_codes = np.array([kind.case_type_code for kind in kinds], dtype=object)[self.kind]
        patrol = np.isin(self.channel, [CHANNELS.index(c) for c in ON_PATROL])
        person_users = np.array([p.user_id if p.user_id is not None else -1 for p in d.people], dtype=np.int64)
        reporter = np.where(patrol, person_users[self.worker()], -1)
        merged_into = f.numbers["merged_into"]
        ratings = np.array([Rating.SATISFIED.value, Rating.BASICALLY.value, Rating.UNSATISFIED.value, None])
        states = np.array([state.value for state in STATES], dtype=object)
        crs = np.where(np.isin(self.channel, [CHANNELS.index(c) for c in OPERATOR_TAKEN]), "gcj02", "wgs84")
        stage_names = np.array([*STAGES, None], dtype=object)
        return {
            "id": ids,
            "number": self.numbers,
            "channel": channel_values,
            "source_id": source_ids,
            "idempotency_key": None,
            "case_type_code": _nullable(self.named, type_codes),
            "category_id": np.where(categorised, category_ids, -1),
            "title": titles,
            "description": descriptions,
            "extra": "{}",
            "state": states[f.state],
            "priority": np.where(categorised, priorities, 3),
            "reporter_user_id": reporter,
            "reporter_name": names,
            "reporter_phone": phones,
            "tracking_code_hash": None,
            "lon": lon,
            "lat": lat,
            "input_crs": _nullable(self.placement != 1, crs),
            "address": addresses,
            "placement": np.array(
                [Placement.LOCATED.value, Placement.NO_LOCATION.value, Placement.OUTSIDE.value], dtype=object
            )[self.placement],
            "grid_node_id": grid_ids,
            "scope_code": scope,
            "district_code": np.array([code[:6] for code in scope.tolist()], dtype=object),
            "nearest_grid_code": nearest,
            "distance_to_grid_m": distance,
            "main_department_id": f.numbers["main_department"],
            "merged_into_id": np.where(merged_into >= 0, ids[np.clip(merged_into, 0, None)], -1),
            "escalation_code": None,
            "reported_at": f.reported,
            **{column: f.times[column] for column in CASE_TIMES},
            "stage": stage_names[f.numbers["stage"]],
            "stage_minutes": f.numbers["stage_minutes"],
            "handle_minutes": f.numbers["handle_minutes"],
            "suspended_from_state": _nullable(
                f.numbers["suspended_from_state"] >= 0, states[np.clip(f.numbers["suspended_from_state"], 0, None)]
            ),
            "remaining_stage_minutes": f.numbers["remaining_stage_minutes"],
            "remaining_deadline_minutes": f.numbers["remaining_deadline_minutes"],
            "due_soon": self.due_soon,
            "overdue": self.overdue,
            "ever_overdue": f.flags["ever_overdue"],
            "pending_extension_minutes": f.numbers["pending_extension_minutes"],
            "pending_suspension": f.flags["pending_suspension"],
            **f.counters,
            "self_handled": f.flags["self_handled"],
            "handler_user_id": np.where(
                f.numbers["handler"] >= 0, person_users[np.clip(f.numbers["handler"], 0, None)], -1
            ),
            "verifier_user_id": np.where(
                f.numbers["verifier"] >= 0, person_users[np.clip(f.numbers["verifier"], 0, None)], -1
            ),
            "rating": ratings[f.numbers["rating"]],
            "handle_work_minutes": f.numbers["handle_work_minutes"],
            "linked": f.flags["linked"],
            "event_count": f.event_count,
            "version": 1,
        }

    def assignment_rows(self, ids: I64) -> dict[str, Any]:
        """Departments on each dispatched case: the main one and an assisting one (active), and the department
        that returned the case (inactive, still marked main as the workflow leaves it)."""
        dispatched = self.assigned_main != NULL
        parts = (
            (np.flatnonzero(dispatched), self.main, AssignmentRole.MAIN, self.assigned_main),
            (np.flatnonzero(dispatched & (self.assist >= 0)), self.assist, AssignmentRole.ASSIST, self.assigned_main),
            (np.flatnonzero(self.assigned_wrong != NULL), self.wrong, AssignmentRole.MAIN, self.assigned_wrong),
        )
        cases = np.concatenate([chosen for chosen, _, _, _ in parts])
        active = np.concatenate(
            [np.ones(len(parts[0][0]) + len(parts[1][0]), dtype=bool), self.wrong_active[parts[2][0]]]
        )
        order = np.argsort(cases, kind="stable")
        return {
            "case_id": ids[cases][order],
            "department_id": np.concatenate([self.department_ids[column[c]] for c, column, _, _ in parts])[order],
            "role": np.concatenate([np.full(len(c), role.value, dtype=object) for c, _, role, _ in parts])[order],
            "active": active[order],
            "assigned_at": np.concatenate([moment[c] for c, _, _, moment in parts])[order],
        }

    def _places(self) -> tuple[F64, F64, npt.NDArray[np.int64], npt.NDArray[np.object_], Any, F64]:
        """A point in the case's grid, none, or one just outside the district, placed as intake places it: the
        grid it falls in (the real locator), else the nearest grid and the district nearest to it."""
        f, d = self.f, self.d
        n = f.n
        lon = np.full(n, np.nan)
        lat = np.full(n, np.nan)
        for index, area in enumerate(d.leaf_areas):
            chosen = np.flatnonzero((self.leaf == index) & (self.placement == 0))
            if len(chosen):
                lon[chosen], lat[chosen] = _points_in(area, len(chosen), self.rng)
        located = self.placement == 0
        found = d.index.locate_many_wgs84(np.where(located, lon, 0.0), np.where(located, lat, 0.0), with_nearest=False)
        located &= found.node_ids >= 0
        grid_ids = np.where(located, found.node_ids, -1).astype(np.int64)
        nearest = np.full(n, None, dtype=object)
        distance = np.full(n, np.nan)
        near_district = np.full(n, DISTRICT_CODE, dtype=object)
        outside = np.flatnonzero((self.placement == 2) | ((self.placement == 0) & ~located))
        pool = d.outside
        if len(pool.lon):
            pick = self.rng.integers(0, len(pool.lon), len(outside))
            lon[outside], lat[outside] = pool.lon[pick], pool.lat[pick]
            nearest[outside], distance[outside] = pool.nearest[pick], pool.distance[pick]
            near_district[outside] = pool.scope[pick]
        else:
            lon[outside] = lat[outside] = np.nan
        size = max(d.index.refs) + 1
        code_of = np.full(size, None, dtype=object)
        for node_id, ref in d.index.refs.items():
            code_of[node_id] = ref.code
        resident = self.channel == CHANNELS.index(Channel.RESIDENT)
        streets = np.array([street for _, _, _, street in d.leaves], dtype=object)[self.leaf]
        # no coordinates: the hotline's district, or the street a resident chose on the public page
        unplaced = np.where(resident, streets, DISTRICT_CODE)
        has_point = ~np.isnan(lon)
        scope = np.where(located, code_of[np.clip(grid_ids, 0, None)], np.where(has_point, near_district, unplaced))
        self.placement = np.where(located, 0, np.where(has_point, 2, 1)).astype(np.int8)
        return lon, lat, grid_ids, scope, nearest, distance

    def _texts(self) -> tuple[list[str], list[str], list[str]]:
        d = self.d
        rng = self.rng
        n = self.f.n
        communities = [community for _, _, community, _ in d.leaves]
        street = [d.street_names.get(code, "") for _, _, _, code in d.leaves]
        problems = [PROBLEMS.get(kind.code) or Problem(0, (kind.name,), f"{kind.name}问题需要处理") for kind in d.kinds]
        variant = rng.integers(0, 2, n).tolist()
        building = rng.integers(1, 40, n).tolist()
        duration = rng.integers(0, len(DURATIONS), n).tolist()
        ask = rng.integers(0, len(ASKS), n).tolist()
        titles, descriptions, addresses = [], [], []
        for case, (leaf, kind) in enumerate(zip(self.leaf.tolist(), self.kind.tolist(), strict=True)):
            problem = problems[kind]
            community = communities[leaf]
            address = f"{street[leaf]}{community}{building[case]}号楼附近"
            titles.append(f"{community}{problem.titles[variant[case] % len(problem.titles)]}")
            descriptions.append(f"{address}{problem.detail}，{DURATIONS[duration[case]]}，{ASKS[ask[case]]}")
            addresses.append(address)
        return titles, descriptions, addresses

    def _callers(self) -> tuple[list[str | None], list[str | None]]:
        """Names and phone numbers of people who called or reported themselves."""
        rng = self.rng
        n = self.f.n
        callers = np.isin(self.channel, [CHANNELS.index(c) for c in COMPLAINANT])
        pool = _name_pool(rng)
        names = np.array(pool, dtype=object)[rng.integers(0, len(pool), n)]
        phones = (np.int64(10**10) * rng.integers(13, 20, n) + rng.integers(0, 10**9, n)).astype(str)
        return (
            list(_nullable(callers, names).tolist()),
            list(_nullable(callers, phones).tolist()),
        )


_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红建国文辉鹏宇欣悦晨浩瑞婷雪"


def _name_pool(rng: np.random.Generator, size: int = 4096) -> list[str]:
    surnames = rng.integers(0, len(_SURNAMES), size).tolist()
    first = rng.integers(0, len(_GIVEN), size).tolist()
    second = rng.integers(0, len(_GIVEN), size).tolist()
    single = (rng.random(size) < 0.35).tolist()
    return [
        _SURNAMES[s] + _GIVEN[a] + ("" if one else _GIVEN[b])
        for s, a, b, one in zip(surnames, first, second, single, strict=True)
    ]


def _points_in(area: Any, count: int, rng: np.random.Generator) -> tuple[F64, F64]:
    """Random points inside a polygon, six decimals (about 0.1 m) as a phone reports them."""
    min_x, min_y, max_x, max_y = area.bounds
    shapely.prepare(area)
    xs: list[F64] = []
    ys: list[F64] = []
    found = 0
    while found < count:
        batch = max(16, int((count - found) * 1.6))
        x = rng.uniform(min_x, max_x, batch)
        y = rng.uniform(min_y, max_y, batch)
        inside = shapely.contains_xy(area, x, y)
        xs.append(x[inside])
        ys.append(y[inside])
        found += int(inside.sum())
    return np.round(np.concatenate(xs)[:count], 6), np.round(np.concatenate(ys)[:count], 6)


def _points_outside(outline: Any, lon: F64, lat: F64, rng: np.random.Generator) -> tuple[F64, F64]:
    """From each case's point to the district border, then 50–900 m further out."""
    points = shapely.points(lon, lat)
    border = shapely.get_exterior_ring(outline) if outline.geom_type == "Polygon" else outline.boundary
    on_border = shapely.line_interpolate_point(border, shapely.line_locate_point(border, points))
    bx, by = shapely.get_x(on_border), shapely.get_y(on_border)
    dx, dy = bx - lon, by - lat
    length = np.hypot(dx, dy)
    length[length == 0] = 1.0
    metres = rng.uniform(50, 900, len(lon))
    degrees = metres / 111_000
    return bx + dx / length * degrees / np.cos(np.radians(by)), by + dy / length * degrees


# ----------------------------------------------------------------------------------------------- writing


@dataclass
class _Totals:
    cases: int = 0
    events: int = 0
    assignments: int = 0
    states: dict[str, int] = field(default_factory=dict)
    first_number: str | None = None
    last_number: str | None = None

    def add(self, other: _Totals) -> None:
        self.cases += other.cases
        self.events += other.events
        self.assignments += other.assignments
        for state, count in other.states.items():
            self.states[state] = self.states.get(state, 0) + count
        if other.first_number and (self.first_number is None or other.first_number < self.first_number):
            self.first_number = other.first_number
        if other.last_number and (self.last_number is None or other.last_number > self.last_number):
            self.last_number = other.last_number


class _Writer:
    """Rows into the database the fastest way each backend offers, on the session's connection (so in its
    current transaction — a caller may commit between blocks): executemany on SQLite, COPY on PostgreSQL."""

    BULK_CACHE_KIB = 262_144  # SQLite's page cache while loading: a dozen indexes stay in memory

    def __init__(self, session: Session, batch_size: int) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name
        self.batch_size = batch_size
        self.cache_sizes: dict[int, int] = {}

    @property
    def raw(self) -> Any:
        raw: Any = self.session.connection().connection.driver_connection
        if self.dialect == "sqlite" and id(raw) not in self.cache_sizes:
            self.cache_sizes[id(raw)] = int(raw.execute("PRAGMA cache_size").fetchone()[0])
            raw.execute(f"PRAGMA cache_size=-{self.BULK_CACHE_KIB}")
        return raw

    def close(self) -> None:
        raw: Any = self.session.connection().connection.driver_connection
        if id(raw) in self.cache_sizes:
            raw.execute(f"PRAGMA cache_size={self.cache_sizes[id(raw)]}")

    def write(self, plan: _Plan, with_events: bool) -> _Totals:
        case_table = Case.__table__
        columns = _complete(case_table, plan.columns, plan.size)  # type: ignore[arg-type]
        self._insert(case_table, columns, plan.size)  # type: ignore[arg-type]
        assignments = plan.assignments
        count = len(assignments["case_id"])
        self._insert(CaseAssignment.__table__, assignments, count)  # type: ignore[arg-type]
        events = 0
        if with_events:
            event_columns = _event_columns(plan)
            events = len(event_columns["case_id"])
            self._insert(CaseEvent.__table__, event_columns, events)  # type: ignore[arg-type]
        states: dict[str, int] = {}
        for state in plan.columns["state"].tolist():
            states[state] = states.get(state, 0) + 1
        numbers = plan.columns["number"]
        return _Totals(plan.size, events, count, states, min(numbers, default=None), max(numbers, default=None))

    def _insert(self, table: Table, columns: dict[str, Any], size: int) -> None:
        if size == 0:
            return
        names = list(columns)
        values = [_db_values(table.c[name], columns[name], size, self.dialect) for name in names]
        rows = zip(*values, strict=True)
        quoted = ", ".join(f'"{name}"' for name in names)
        if self.dialect == "postgresql":
            with self.raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
            return
        marks = ", ".join("?" for _ in names)
        cursor = self.raw.cursor()
        try:
            statement = f'INSERT INTO "{table.name}" ({quoted}) VALUES ({marks})'
            while chunk := list(_take(rows, self.batch_size)):
                cursor.executemany(statement, chunk)
        finally:
            cursor.close()

    def finish(self) -> None:
        if self.dialect != "postgresql":
            return
        for table in ("case", "case_event", "case_assignment"):
            self.session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                    f'(SELECT coalesce(max(id), 0) + 1 FROM "{table}"), false)'
                )
            )


def _take(rows: Iterator[tuple[Any, ...]], size: int) -> Iterator[tuple[Any, ...]]:
    for _, row in zip(range(size), rows, strict=False):
        yield row


def _complete(table: Table, columns: dict[str, Any], size: int) -> dict[str, Any]:
    """Every column of the table: a column the generator does not know takes its default (or NULL), so a new
    nullable column or one with a scalar default does not break it; any other is an error to fix here."""
    complete = {}
    for column in table.columns:
        if column.name in columns:
            complete[column.name] = columns[column.name]
        elif column.default is not None and getattr(column.default, "is_scalar", False):
            complete[column.name] = column.default.arg  # type: ignore[attr-defined]
        elif column.nullable:
            complete[column.name] = None
        else:
            raise RuntimeError(f"history generator: no value for the new column case.{column.name}")
    return complete


def _db_values(column: Column[Any], values: Any, size: int, dialect: str) -> list[Any]:
    """One column as the driver takes it: timestamps as text in the form SQLAlchemy stores (SQLite) or with the
    zone (PostgreSQL), -1 / NaN / NULL as None, booleans as the backend spells them."""
    if values is None or isinstance(values, str | int | float | bool):
        return [_scalar(column, values, dialect)] * size
    if isinstance(column.type, UTCDateTime):
        return _timestamps(np.asarray(values, dtype=np.int64), dialect)
    if isinstance(values, list):
        return values
    array = np.asarray(values)
    if isinstance(column.type, Boolean):
        return list(array.astype(bool if dialect == "postgresql" else np.int64).tolist())
    if array.dtype.kind == "f":
        return list(_nullable(~np.isnan(array), array).tolist())
    if array.dtype.kind in "iu":
        return list(_nullable(array >= 0, array).tolist())
    return list(array.tolist())


def _scalar(column: Column[Any], value: Any, dialect: str) -> Any:
    if isinstance(value, bool) and dialect != "postgresql":
        return int(value)
    if isinstance(column.type.__class__, type) and isinstance(value, dict | list):
        return json.dumps(value)
    return value


def _nullable(keep: Mask, values: npt.ArrayLike) -> npt.NDArray[np.object_]:
    """``values`` as Python objects, None where ``keep`` is off."""
    result = np.asarray(values).astype(object)
    result[~np.broadcast_to(keep, result.shape)] = None
    return result


def _timestamps(values: I64, dialect: str) -> list[str | None]:
    """'2026-01-02 03:04:05.000000' as SQLAlchemy stores a UTC datetime in SQLite (text that must compare
    equal to its bound parameters), '2026-01-02 03:04:05+00' for PostgreSQL; built as bytes, column at once."""
    missing = (values == NULL) | (values == NEVER)
    digits = np.where(missing, 0, values).astype("datetime64[s]").astype("S19")
    suffix = b"+00" if dialect == "postgresql" else b".000000"
    width = 19 + len(suffix)
    buffer = np.empty((len(values), width), dtype=np.uint8)
    buffer[:, :19] = digits.view(np.uint8).reshape(-1, 19)
    buffer[:, 10] = ord(" ")
    buffer[:, 19:] = np.frombuffer(suffix, dtype=np.uint8)
    text_form = buffer.view(f"S{width}").ravel().astype(f"U{width}").astype(object)
    text_form[missing] = None
    return list(text_form.tolist())


def _event_columns(plan: _Plan) -> dict[str, Any]:
    chunks = plan.events
    cases = np.concatenate([chunk.cases for chunk in chunks])
    at = np.concatenate([chunk.at for chunk in chunks])
    order = np.concatenate([np.full(len(chunk.cases), chunk.order) for chunk in chunks])
    arrangement = np.lexsort((order, at, cases))
    sorted_cases = cases[arrangement]
    starts = np.flatnonzero(np.r_[True, sorted_cases[1:] != sorted_cases[:-1]])
    position = np.arange(len(sorted_cases)) - np.repeat(starts, np.diff(np.r_[starts, len(sorted_cases)]))
    states = np.array([state.value for state in STATES], dtype=object)
    actors = np.concatenate([chunk.actors for chunk in chunks])[arrangement]
    users = np.array([p.user_id if p.user_id is not None else -1 for p in plan.people], dtype=np.int64)
    labels = np.array([p.label for p in plan.people], dtype=object)
    before = np.concatenate(
        [chunk.before if chunk.action != "intake" else np.full(len(chunk.cases), -1) for chunk in chunks]
    )[arrangement]
    notes: list[str] = []
    data: list[str] = []
    for chunk in chunks:
        notes.extend([chunk.notes] * len(chunk.cases) if isinstance(chunk.notes, str) else chunk.notes)
        data.extend(["{}"] * len(chunk.cases) if chunk.data is None else chunk.data)
    return {
        "case_id": plan.columns["id"][sorted_cases],
        "seq": position + 1,
        "at": at[arrangement],
        "actor_user_id": users[actors],
        "actor_label": labels[actors],
        "action": np.concatenate([np.full(len(chunk.cases), chunk.action, dtype=object) for chunk in chunks])[
            arrangement
        ],
        "from_state": np.where(before >= 0, states[np.clip(before, 0, None)], None),
        "to_state": states[np.concatenate([chunk.after for chunk in chunks])[arrangement]],
        "note": np.array(notes, dtype=object)[arrangement],
        "data": np.array(data, dtype=object)[arrangement],
    }


def _move_counters(session: Session, daily: dict[str, int]) -> None:
    """The day counters past the numbers used (each value already counts on from the stored one, read in this
    transaction), so an intake later that day continues the sequence."""
    if not daily:
        return
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(SystemCounter)
    session.execute(
        statement.on_conflict_do_update(index_elements=["name"], set_={"value": statement.excluded.value}),
        [{"name": f"case_number:{day}", "value": value} for day, value in daily.items()],
    )
