"""Case intake throughput: one case per transaction (like the API) and the hotline bulk import, against a raw
executemany INSERT of the same rows, on SQLite (file) and PostgreSQL, in one run.

Run from the repository root (see bench/intake/README.md):

    .venv/bin/python bench/intake/run.py --output bench/intake/data/results.json \\
        --postgres-url postgresql+psycopg://civicgrid_bench:civicgrid_bench@127.0.0.1/civicgrid_bench
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import datetime as dt
import io
import json
import os
import pstats
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import numpy as np
import shapely
import sqlalchemy
from sqlalchemy import (
    Column,
    Engine,
    Index,
    MetaData,
    Table,
    UniqueConstraint,
    event,
    insert,
    select,
    text,
)
from sqlalchemy.orm import Session

from civicgrid import migrate
from civicgrid.cases import hotline_import
from civicgrid.cases.clock import stage_limit
from civicgrid.cases.defaults import install_defaults
from civicgrid.cases.hotline_import import ColumnMapping, import_hotline_file, parse_mapping
from civicgrid.cases.intake import IntakeRequest, intake
from civicgrid.cases.models import Case, CaseEvent, Channel
from civicgrid.db import make_engine, make_session_factory, transaction
from civicgrid.demo.district import DISTRICT_CODE, build_demo
from civicgrid.demo.names import person_names
from civicgrid.geo.coords import CRS, to_wgs84, wgs84_to_gcj02
from civicgrid.grid.index import grid_index
from civicgrid.grid.models import GridNode
from civicgrid.org.actor import Actor
from civicgrid.org.service import actor_for, get_user
from civicgrid.settings import Settings
from civicgrid.tables import read_table
from civicgrid.worktime.calendar import WorkDuration
from civicgrid.worktime.service import load_calendar

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # bench/, for the shared helpers
from machine import Backend, base_versions, machine, on_each_backend, write_report  # noqa: E402

POSTGRES_SETTINGS = ("shared_buffers", "synchronous_commit", "fsync", "wal_level")
BEIJING = ZoneInfo("Asia/Shanghai")
MAPPING = (
    "source_id=工单编号,reported_at=来电时间,title=诉求标题,description=诉求内容,reporter_name=来电人,"
    "reporter_phone=来电号码,address=事发地址,lon=经度,lat=纬度,crs=gcj02"
)
HEADER = ["工单编号", "来电时间", "诉求标题", "诉求内容", "来电人", "来电号码", "事发地址", "经度", "纬度", "承办单位"]

# ----------------------------------------------------------------------------------------------- data

PROBLEMS = (
    ("垃圾堆积无人清运", "垃圾桶旁堆满生活垃圾，已经好几天没人清运，天热气味很大，招来很多苍蝇"),
    ("路灯不亮", "路灯晚上不亮，路面很黑，老人孩子晚上出行不安全"),
    ("夜间施工噪音扰民", "工地每天晚上十点以后还在施工，机器声音很大，严重影响居民休息"),
    ("占道经营", "早市摊贩占用人行道和机动车道经营，行人只能走在马路上，存在安全隐患"),
    ("井盖缺失", "路面井盖丢失，只用一根树枝插着提醒，晚上很容易掉下去"),
    ("车辆占用消防通道", "小区消防通道长期被私家车占用，一旦发生火灾消防车进不来"),
    ("楼道堆放杂物", "楼道里堆放纸箱、旧家具等杂物，堵塞疏散通道，存在火灾隐患"),
    ("下水道堵塞污水外溢", "下水道堵塞，污水从井口冒出来流到路面，气味难闻"),
    ("施工扬尘", "工地渣土没有覆盖，车辆进出带出大量泥土，刮风时扬尘很大"),
    ("供暖温度不达标", "家里暖气温度只有十四五度，达不到规定标准，联系物业多次未解决"),
    ("树木倒伏", "路边大树被风刮倒，压在人行道上，影响通行"),
    ("违法搭建", "一楼住户在自家院子里私自搭建彩钢房，影响邻居采光"),
    ("共享单车乱停放", "地铁站出口共享单车乱停乱放，把盲道和出入口都堵住了"),
    ("餐饮油烟扰民", "楼下饭店油烟直排，油烟味进到家里，窗户都不能开"),
    ("小区电梯故障", "小区电梯经常故障停运，老人上下楼很困难，物业维修不及时"),
)
DURATIONS = ("已持续一周", "已经有半个月了", "这几天一直这样", "反映过多次", "从上个月开始", "")
ASKS = ("请相关部门尽快处理。", "希望尽快解决。", "请有关部门核实处理并回复。", "麻烦尽快派人来看看。")
NOISE = ("", "", "", "\n\t\t\t\t\t\n\t\t\t\t\t", "\u3000\u3000")


@dataclass
class Record:
    source_id: str
    reported_at: dt.datetime  # aware, UTC
    time_text: str
    title: str
    description: str  # raw, as in the file (noise included)
    name: str
    phone: str
    address: str
    lon_gcj: float | None
    lat_gcj: float | None
    department: str


def sample_points(rng: np.random.Generator, areas: list[Any], count: int) -> np.ndarray:
    """Uniform points inside randomly chosen polygons (rejection sampling in each polygon's bounds)."""
    out = np.empty((count, 2))
    chosen = rng.integers(0, len(areas), count)
    for index, area in enumerate(areas):
        wanted = int((chosen == index).sum())
        got: list[np.ndarray] = []
        min_x, min_y, max_x, max_y = area.bounds
        while wanted > 0:
            xs = rng.uniform(min_x, max_x, wanted * 3)
            ys = rng.uniform(min_y, max_y, wanted * 3)
            keep = shapely.contains_xy(area, xs, ys)
            batch = np.column_stack([xs[keep], ys[keep]])[:wanted]
            got.append(batch)
            wanted -= len(batch)
        if got:
            out[chosen == index] = np.vstack(got)
    return out


def make_records(count: int, seed: int, session: Session, now: dt.datetime) -> list[Record]:
    """Realistic 12345 rows over the demo district: 60 % in the main street's unit grids, 25 % elsewhere in the
    district, 3 % a few km outside, 12 % without coordinates; about 1 % broken (empty content, bad time, bad
    phone); mixed time formats; scraped whitespace and Excel _x000D_ in some descriptions."""
    rng = np.random.default_rng(seed)
    nodes = session.execute(select(GridNode.code, GridNode.name, GridNode.level, GridNode.geometry)).all()
    district = next(shapely.from_wkb(n.geometry) for n in nodes if n.code == DISTRICT_CODE)
    units = [shapely.from_wkb(n.geometry) for n in nodes if n.level == "unit" and n.geometry is not None]
    communities = [n.name for n in nodes if n.level == "community"]
    streets = [n.name for n in nodes if n.level == "street"]
    kind = rng.choice(4, size=count, p=[0.60, 0.25, 0.03, 0.12])
    points = np.full((count, 2), np.nan)
    points[kind == 0] = sample_points(rng, units, int((kind == 0).sum()))
    points[kind == 1] = sample_points(rng, [district], int((kind == 1).sum()))
    outside = sample_points(rng, [district.buffer(0.05).difference(district.buffer(0.01))], int((kind == 2).sum()))
    points[kind == 2] = outside
    gcj_lon, gcj_lat = wgs84_to_gcj02(points[:, 0], points[:, 1])
    names = person_names(rng)
    seconds = rng.integers(3_600, 365 * 86_400, count)
    records: list[Record] = []
    for i in range(count):
        title, detail = PROBLEMS[int(rng.integers(len(PROBLEMS)))]
        address = f"海川区{streets[int(rng.integers(len(streets)))]}{communities[int(rng.integers(len(communities)))]}"
        address += f"{int(rng.integers(1, 40))}号楼附近"
        sentences = [f"来电人反映：{address}{detail}", DURATIONS[int(rng.integers(len(DURATIONS)))]]
        sentences += [ASKS[int(rng.integers(len(ASKS)))]] * int(rng.integers(1, 3))
        glue = "_x000D_\n" if rng.random() < 0.1 else "，"
        description = NOISE[int(rng.integers(len(NOISE)))] + glue.join(s for s in sentences if s)
        local = (now - dt.timedelta(seconds=int(seconds[i]))).astimezone(BEIJING).replace(microsecond=0)
        if rng.random() < 0.5:
            time_text = f"{local.year}/{local.month}/{local.day} {local.hour}:{local.minute:02d}:{local.second:02d}"
        else:
            time_text = local.strftime("%Y-%m-%d %H:%M:%S")
        phone = f"1{int(rng.choice([3, 5, 7, 8, 9]))}{int(rng.integers(10**8, 10**9))}"
        if rng.random() < 0.1:
            phone = f"0532-8{int(rng.integers(10**6, 10**7))}"
        has_point = kind[i] != 3
        record = Record(
            source_id=f"12345-{local.year}{i + 1:07d}",
            reported_at=local.astimezone(dt.UTC),
            time_text=time_text,
            title=f"{communities[int(rng.integers(len(communities)))]}{title}",
            description=description,
            name=next(names),
            phone=phone,
            address=address,
            lon_gcj=round(float(gcj_lon[i]), 6) if has_point else None,
            lat_gcj=round(float(gcj_lat[i]), 6) if has_point else None,
            department="区城市管理局" if rng.random() < 0.5 else "海川街道办事处",
        )
        broken = rng.random()
        if broken < 0.004:
            record.title = record.description = ""
        elif broken < 0.007:
            record.time_text = f"{local.year}/02/30 10:00"
        elif broken < 0.009:
            record.phone = "138-1234-abcd"
        records.append(record)
    return records


def write_csv(path: Path, records: list[Record]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:  # as Excel/WPS export it
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for r in records:
            writer.writerow(
                [
                    r.source_id,
                    r.time_text,
                    r.title,
                    r.description,
                    r.name,
                    r.phone,
                    r.address,
                    "" if r.lon_gcj is None else f"{r.lon_gcj:.6f}",
                    "" if r.lat_gcj is None else f"{r.lat_gcj:.6f}",
                    r.department,
                ]
            )


# ----------------------------------------------------------------------------------------------- databases


class StatementCounter:
    def __init__(self, engine: Engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_: Any) -> None:
        self.count += 1


# ----------------------------------------------------------------------------------------------- measurements


@dataclass
class Row:
    backend: str
    name: str
    cases: int
    seconds: float
    note: str = ""
    statements: int | None = None

    @property
    def per_second(self) -> float:
        return self.cases / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "name": self.name,
            "cases": self.cases,
            "seconds": round(self.seconds, 3),
            "per_second": round(self.per_second, 1),
            "statements": self.statements,
            "note": self.note,
        }


def loader(session: Session) -> Actor:
    return actor_for(session, get_user(session, "hotline"))  # the demo's 12345 operator, scope: the district


def request_of(record: Record, channel: Channel, prefix: str) -> IntakeRequest:
    return IntakeRequest(
        channel=channel,
        title=record.title,
        description=record.description,
        lon=record.lon_gcj,
        lat=record.lat_gcj,
        crs="gcj02" if record.lon_gcj is not None else None,
        address=record.address,
        reporter_name=record.name,
        reporter_phone=record.phone,
        source_id=prefix + record.source_id,
        reported_at=record.reported_at,
    )


def measure_single(backend: Backend, engine: Engine, records: list[Record], settings: Settings) -> Row:
    """One case per transaction through the service, as the API does (the actor is loaded once here; the API
    also authenticates every request)."""
    factory = make_session_factory(engine, write=True)
    with factory() as session:
        actor = loader(session)
    good = [r for r in records if r.title and "/02/30" not in r.time_text and "abcd" not in r.phone]
    counter = StatementCounter(engine)
    latencies = []
    start = time.perf_counter()
    for record in good:
        began = time.perf_counter()
        with transaction(factory) as session:
            intake(session, actor, request_of(record, Channel.HOTLINE_12345, "single-"), settings=settings)
        latencies.append(time.perf_counter() - began)
    seconds = time.perf_counter() - start
    p50, p95 = np.percentile(latencies, [50, 95]) * 1000
    return Row(
        backend.name,
        "(a) single intake, one transaction per case",
        len(good),
        seconds,
        f"latency p50 {p50:.1f} ms, p95 {p95:.1f} ms",
        counter.count,
    )


def measure_bulk(
    backend: Backend, engine: Engine, path: Path, mapping: ColumnMapping, batch_size: int, settings: Settings
) -> tuple[Row, hotline_import.HotlineImportResult]:
    counter = StatementCounter(engine)
    start = time.perf_counter()
    result = import_hotline_file(
        engine, loader, path, channel=Channel.HOTLINE_12345, mapping=mapping, batch_size=batch_size, settings=settings
    )
    seconds = time.perf_counter() - start
    note = (
        f"{result.created:,} created, {len(result.rejected)} rejected, {result.duplicates} duplicates; "
        f"batch {batch_size}"
    )
    return Row(
        backend.name,
        "(b) bulk import of the CSV (import_hotline_file)",
        result.total_rows,
        seconds,
        note,
        counter.count,
    ), result


def measure_parse(backend: Backend, path: Path, mapping: ColumnMapping, settings: Settings) -> Row:
    """Reading the file and cleaning every row, without the database: the Python floor of (b)."""
    start = time.perf_counter()
    table = read_table(path)
    positions = hotline_import._column_positions(table, mapping, path.name)
    context = hotline_import._Context(
        mapping, positions, Channel.HOTLINE_12345, ZoneInfo(settings.timezone), dt.datetime.now(dt.UTC)
    )
    for number, cells in table.rows:
        hotline_import._prepare(number, cells, context)
    return Row(
        backend.name,
        "(b′) read + clean + parse the CSV only (no database)",
        len(table.rows),
        time.perf_counter() - start,
    )


def raw_tables(metadata: MetaData) -> tuple[Table, Table]:
    """Copies of the case and case_event tables — same columns, types, unique constraints and indexes, no foreign
    keys — for the raw peers."""

    def copy(source: Table, name: str, uniques: list[tuple[str, ...]]) -> Table:
        columns = [Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable) for c in source.columns]
        table = Table(name, metadata, *columns, *(UniqueConstraint(*u) for u in uniques))
        for index in source.indexes:
            Index(f"{name}_{index.name}"[:60], *(table.c[c.name] for c in index.columns))
        return table

    case_table, event_table = cast(Table, Case.__table__), cast(Table, CaseEvent.__table__)
    cases = copy(case_table, "bench_case_raw", [("channel", "source_id"), ("number",), ("idempotency_key",)])
    events = copy(event_table, "bench_case_event_raw", [("case_id", "seq")])
    return cases, events


def raw_rows(
    engine: Engine, path: Path, mapping: ColumnMapping, settings: Settings
) -> tuple[list[dict[str, Any]], Any]:
    """The bulk file's good rows as complete case rows (cleaned text, UTC times, WGS-84 points and their grid, the
    defaults intake would set) — prepared outside the timing."""
    table = read_table(path)
    positions = hotline_import._column_positions(table, mapping, path.name)
    context = hotline_import._Context(
        mapping, positions, Channel.HOTLINE_12345, ZoneInfo(settings.timezone), dt.datetime.now(dt.UTC)
    )
    requests = [
        row.request for n, c in table.rows if (row := hotline_import._prepare(n, c, context)).request is not None
    ]
    with Session(engine) as session:
        index = grid_index(session)
    lon = np.array([r.lon if r.lon is not None else np.nan for r in requests])
    lat = np.array([r.lat if r.lat is not None else np.nan for r in requests])
    has = ~np.isnan(lon)
    wlon, wlat = np.full_like(lon, np.nan), np.full_like(lat, np.nan)
    wlon[has], wlat[has] = to_wgs84(lon[has], lat[has], CRS.GCJ02)
    found = index.locate_many_wgs84(wlon[has], wlat[has], with_nearest=False)
    node_ids = np.full(len(requests), -1)
    node_ids[has] = found.node_ids
    now = dt.datetime.now(dt.UTC)
    rows = []
    for i, r in enumerate(requests):
        node = int(node_ids[i]) if node_ids[i] >= 0 else None
        rows.append(
            {
                "id": i + 1,
                "number": f"R{i + 1:013d}",
                "channel": Channel.HOTLINE_12345.value,
                "source_id": r.source_id,
                "idempotency_key": None,
                "case_type_code": None,
                "category_id": None,
                "title": r.title or r.description[:30],
                "description": r.description,
                "extra": {},
                "state": "reported",
                "priority": 3,
                "reporter_name": r.reporter_name,
                "reporter_phone": r.reporter_phone,
                "lon": float(wlon[i]) if has[i] else None,
                "lat": float(wlat[i]) if has[i] else None,
                "input_crs": "gcj02" if has[i] else None,
                "address": r.address,
                "placement": "located" if node else ("outside" if has[i] else "no_location"),
                "grid_node_id": node,
                "scope_code": index.refs[node].code if node else DISTRICT_CODE,
                "district_code": DISTRICT_CODE,
                "reported_at": r.reported_at,
                "stage": "register",
                "stage_started_at": r.reported_at,
                "stage_due_at": r.reported_at,
                "stage_minutes": 120,
                "due_soon": False,
                "overdue": True,
                "ever_overdue": True,
                "pending_suspension": False,
                "rework_count": 0,
                "return_count": 0,
                "extension_count": 0,
                "supervision_count": 0,
                "reopen_count": 0,
                "self_handled": False,
                "linked": False,
                "event_count": 1,
                "version": 1,
                "created_at": now,
            }
        )
    return rows, (requests, wlon, wlat, has)


def measure_raw(backend: Backend, engine: Engine, rows: list[dict[str, Any]], batch_size: int) -> list[Row]:
    metadata = MetaData()
    cases, _ = raw_tables(metadata)
    metadata.drop_all(engine)
    metadata.create_all(engine)
    keep = [c.name for c in cases.columns]
    payload = [{k: row.get(k) for k in keep} for row in rows]
    out = []
    counter = StatementCounter(engine)
    start = time.perf_counter()
    for offset in range(0, len(payload), batch_size):
        with engine.begin() as connection:
            connection.execute(insert(cases), payload[offset : offset + batch_size])
    out.append(
        Row(
            backend.name,
            "(c) peer: raw executemany INSERT of the same rows into an equivalent table",
            len(payload),
            time.perf_counter() - start,
            f"SQLAlchemy Core, one transaction per {batch_size} rows",
            counter.count,
        )
    )
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("TRUNCATE bench_case_raw"))
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for row in payload:
            writer.writerow(
                [
                    ""
                    if v is None
                    else (
                        json.dumps(v) if isinstance(v, dict) else (v.isoformat() if isinstance(v, dt.datetime) else v)
                    )
                    for v in row.values()
                ]
            )
        start = time.perf_counter()
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            with cursor.copy(f"COPY bench_case_raw ({', '.join(keep)}) FROM STDIN WITH (FORMAT csv)") as copy:
                copy.write(buffer.getvalue())
            raw.commit()
        finally:
            raw.close()
        out.append(
            Row(
                backend.name,
                "(c′) peer: COPY of the same rows",
                len(payload),
                time.perf_counter() - start,
                "one COPY, one transaction",
            )
        )
    return out


def measure_sketch(
    backend: Backend,
    engine: Engine,
    rows: list[dict[str, Any]],
    prepared: Any,
    batch_size: int,
    settings: Settings,
) -> Row:
    """What a set-based intake could cost: vectorised placement (with the nearest grid for outside points), the
    register-stage deadline in Python, case and intake-event rows by executemany. Not product code: no
    numbering, dedupe query or audit; an estimate of the floor for an ``intake_many``."""
    requests, _, _, has = prepared
    metadata = MetaData()
    cases, events = raw_tables(metadata)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM bench_case_raw"))
        connection.execute(text("DELETE FROM bench_case_event_raw"))
    with Session(engine) as session:
        index = grid_index(session)
        calendar = load_calendar(session, settings)
    limit = stage_limit(Case(), "register", calendar)
    start = time.perf_counter()
    lon = np.array([r.lon for r in requests if r.lon is not None])
    lat = np.array([r.lat for r in requests if r.lat is not None])
    wlon, wlat = to_wgs84(lon, lat, CRS.GCJ02)
    found = index.locate_many_wgs84(wlon, wlat, with_nearest=True)
    node_ids = np.full(len(requests), -1)
    node_ids[has] = found.node_ids
    payload, history = [], []
    for i, row in enumerate(rows):
        node = int(node_ids[i]) if node_ids[i] >= 0 else None
        due = calendar.add(row["reported_at"], WorkDuration(limit))
        payload.append({**row, "grid_node_id": node, "stage_due_at": due})
        history.append(
            {
                "id": i + 1,
                "case_id": row["id"],
                "seq": 1,
                "at": row["created_at"],
                "actor_user_id": None,
                "actor_label": "bench",
                "action": "intake",
                "from_state": None,
                "to_state": "reported",
                "note": "12345热线受理",
                "data": {},
            }
        )
    for offset in range(0, len(payload), batch_size):
        with engine.begin() as connection:
            connection.execute(insert(cases), payload[offset : offset + batch_size])
            connection.execute(insert(events), history[offset : offset + batch_size])
    return Row(
        backend.name,
        "(d) sketch: set-based intake (vectorised placement + clock + case and event executemany)",
        len(payload),
        time.perf_counter() - start,
        "not product code: the floor an intake_many could reach",
    )


def profile_import(
    engine: Engine, path: Path, mapping: ColumnMapping, batch_size: int, settings: Settings, out: Path | None
) -> dict[str, Any]:
    """cProfile of a bulk import (message-board channel, so no row is a duplicate of (b)); the share of the
    import's time spent under each of the named functions."""
    profiler = cProfile.Profile()
    profiler.enable()
    result = import_hotline_file(
        engine, loader, path, channel=Channel.MESSAGE_BOARD, mapping=mapping, batch_size=batch_size, settings=settings
    )
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = max(v[3] for v in stats.stats.values())  # type: ignore[attr-defined]
    wanted = {
        ("intake.py", "intake"): "intake() total",
        ("intake.py", "_existing"): "intake: _existing (SELECT by source id)",
        ("intake.py", "_next_number"): "intake: _next_number (counter upsert + update)",
        ("intake.py", "_place"): "intake: _place (grid revision read + locate)",
        ("service.py", "load_calendar"): "intake: load_calendar (revision read)",
        ("clock.py", "start_stage"): "intake: clock.start_stage (deadline in Python)",
        ("events.py", "append_event"): "intake: append_event (INSERT event + UPDATE case)",
        ("session.py", "begin_nested"): "SAVEPOINTs (import's and intake's)",
        ("session.py", "_flush"): "ORM flush (INSERT/UPDATE)",
        ("base.py", "_execute_context"): "all SQL round trips (driver + SQLAlchemy core)",
        ("hotline_import.py", "_prepare"): "import: read/clean rows",
    }
    shares: dict[str, float] = {}
    for (filename, _, function), value in stats.stats.items():  # type: ignore[attr-defined]
        key = (os.path.basename(filename), function)
        if key in wanted:
            shares[wanted[key]] = shares.get(wanted[key], 0.0) + value[3]
    text_out = io.StringIO()
    pstats.Stats(profiler, stream=text_out).sort_stats("tottime").print_stats(25)
    if out is not None:
        out.write_text(text_out.getvalue(), encoding="utf-8")
    return {
        "rows": result.total_rows,
        "seconds_under_profiler": round(total, 2),
        "shares": {k: round(v / total, 3) for k, v in sorted(shares.items(), key=lambda kv: -kv[1])},
        "top_tottime": text_out.getvalue().splitlines()[:45],
    }


# ----------------------------------------------------------------------------------------------- main


def versions() -> dict[str, str]:
    return base_versions() | {"numpy": np.__version__, "shapely": shapely.__version__}


def markdown(rows: list[Row]) -> str:
    out = io.StringIO()
    out.write("| backend | measurement | cases | seconds | cases/s | SQL statements per case | note |\n")
    out.write("|---|---|---:|---:|---:|---:|---|\n")
    for row in rows:
        ratio = row.statements / row.cases if row.statements and row.cases else None
        per_case = "" if ratio is None else (f"{ratio:.1f}" if ratio >= 1 else f"{ratio:.3f}")
        out.write(
            f"| {row.backend} | {row.name} | {row.cases:,} | {row.seconds:.2f} | {row.per_second:,.0f} | {per_case} "
            f"| {row.note} |\n"
        )
    return out.getvalue()


def run_backend(backend: Backend, args: argparse.Namespace, workdir: Path, rows: list[Row]) -> dict[str, Any]:
    print(f"{backend.name}: migrating and building the demo district ...")
    engine = make_engine(backend.url)
    settings = Settings(var_dir=workdir / "var", database_url=backend.url)
    info: dict[str, Any] = dict(backend.info)
    try:
        migrate.upgrade(engine)
        start = time.perf_counter()
        with transaction(make_session_factory(engine, write=True)) as session:
            info["demo"] = build_demo(session, settings=settings)
            install_defaults(session, Actor.system("bench"))
        info["demo_seconds"] = round(time.perf_counter() - start, 1)
        bulk = workdir / f"hotline_{args.rows}.csv"
        if args.records is None:  # once per run (the demo district is the same on every backend)
            with Session(engine) as session:
                args.records = make_records(args.rows, args.seed, session, dt.datetime.now(dt.UTC))
            write_csv(bulk, args.records)
            write_csv(workdir / "profile.csv", args.records[: args.profile_rows])
        info["csv_bytes"] = bulk.stat().st_size
        mapping = parse_mapping(MAPPING)
        print(f"{backend.name}: (a) single intake x {args.single:,} ...")
        rows.append(measure_single(backend, engine, args.records[: args.single], settings))
        print(f"  {rows[-1].per_second:,.0f} cases/s")
        print(f"{backend.name}: (b) bulk import of {args.rows:,} rows ...")
        rows.append(measure_parse(backend, bulk, mapping, settings))
        row, result = measure_bulk(backend, engine, bulk, mapping, args.batch_size, settings)
        rows.append(row)
        info["bulk_summary"] = result.summary()
        info["rejected_codes"] = sorted({r.code for r in result.rejected})
        print(f"  {row.per_second:,.0f} cases/s — {result.summary()}")
        with Session(engine) as session:
            placements = dict(
                session.execute(
                    select(Case.placement, sqlalchemy.func.count())
                    .where(Case.channel == Channel.HOTLINE_12345.value, Case.source_id.not_like("single-%"))
                    .group_by(Case.placement)
                ).all()
            )
        info["placements"] = placements
        print(f"{backend.name}: (c) raw peers ...")
        payload, prepared = raw_rows(engine, bulk, mapping, settings)
        rows.extend(measure_raw(backend, engine, payload, args.batch_size))
        print(f"{backend.name}: (d) set-based sketch ...")
        rows.append(measure_sketch(backend, engine, payload, prepared, args.batch_size, settings))
        if args.profile_rows:
            print(f"{backend.name}: profiling an import of {args.profile_rows:,} rows ...")
            info["profile"] = profile_import(
                engine,
                workdir / "profile.csv",
                mapping,
                args.batch_size,
                settings,
                args.output.parent / f"profile-{backend.name.lower()}.txt" if args.output else None,
            )
    finally:
        engine.dispose()
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000, help="rows in the generated bulk CSV")
    parser.add_argument("--single", type=int, default=1_000, help="cases taken in one per transaction")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--profile-rows", type=int, default=2_000, help="rows of the profiled import (0: skip)")
    parser.add_argument("--seed", type=int, default=20251009)
    parser.add_argument("--postgres-url", default=None, help="URL of the civicgrid_bench database")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--workdir", type=Path, default=None, help="where the SQLite file and CSVs go (temp dir)")
    parser.add_argument("--output", type=Path, default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)
    args.records = None

    started = dt.datetime.now(dt.UTC)
    machine_info = machine()
    rows: list[Row] = []
    backends = on_each_backend(
        args, "bench_intake", POSTGRES_SETTINGS, lambda backend, workdir: run_backend(backend, args, workdir, rows)
    )
    table = markdown(rows)
    print()
    print(table)
    for name, info in backends.items():
        if "profile" in info:
            print(f"{name} profile (share of the import's time, under cProfile):")
            for what, share in info["profile"]["shares"].items():
                print(f"  {share:6.1%}  {what}")
    report = {
        "params": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "records"},
        "versions": versions(),
        "backends": backends,
        "results": [row.as_dict() for row in rows],
        "markdown": table,
    }
    write_report(args, started, machine_info, HERE, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
