"""Time to compute the full KPI dashboard for a district-year of 250,000 and of 5,000,000 cases, on SQLite and
PostgreSQL, served by the KPI roll-up and (in the same run) from the cases alone, with pandas and DuckDB computing
the same numbers from the same data — checked equal to civicgrid's, group by group — and what the roll-up itself
costs: the migration that adds it, building it from scratch, rebuilding one month.

Run from the repository root (see bench/kpi/README.md):

    .venv/bin/python bench/kpi/run.py --output bench/kpi/data/results.json \\
        --postgres-url postgresql+psycopg://civicgrid:civicgrid@127.0.0.1/civicgrid_bench_kpi
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import math
import os
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pandas as pd
import sqlalchemy
from sqlalchemy import Engine, event, func, make_url, select, text, update
from sqlalchemy.orm import Session

from civicgrid import migrate, timesource
from civicgrid.db import make_engine, make_session_factory, transaction
from civicgrid.demo.district import DISTRICT_CODE, build_demo
from civicgrid.demo.history import HistoryOptions, generate_history
from civicgrid.kpi import rollup
from civicgrid.kpi.dashboard import Dashboard, build_dashboard
from civicgrid.kpi.metrics import Counts
from civicgrid.kpi.models import CELL_TABLES, KpiRollupMonth
from civicgrid.kpi.periods import Period, parse_period
from civicgrid.kpi.service import Group, KpiQuery
from civicgrid.org.service import actor_for, get_user
from civicgrid.settings import Settings

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # bench/, for the shared helpers
from machine import base_versions, commit, machine  # noqa: E402

BENCH_DATABASE = "civicgrid_bench_kpi"
GOAL_S = 1.0
SIZES = (250_000, 5_000_000)
META = "bench_kpi_meta"
COUNTS = [f.name for f in fields(Counts)]
OPEN_STATES = ("reported", "registered", "dispatched", "in_progress", "handled", "suspended")
CASE_COLUMNS = (
    "id",
    "reported_at",
    "scope_code",
    "main_department_id",
    "category_id",
    "channel",
    "state",
    "merged_into_id",
    "registered_at",
    "dispatched_at",
    "handled_at",
    "deadline_at",
    "responded_at",
    "response_due_at",
    "self_handled",
    "linked",
    "overdue",
    "ever_overdue",
    "rework_count",
    "extension_count",
    "reopen_count",
    "rating",
    "handle_work_minutes",
)
TIMESTAMPS = ("reported_at", "registered_at", "dispatched_at", "handled_at", "deadline_at", "responded_at")
TIMESTAMPS += ("response_due_at",)
BOOLEANS = ("self_handled", "linked", "overdue", "ever_overdue")
TEXT = ("scope_code", "channel", "state", "rating", "role", "code")

Numbers = dict[str, dict[str | None, tuple[Any, ...]]]  # part → group key → counts, median, P90 (, assisted)


def say(*parts: object) -> None:
    print(*parts, flush=True)


# ----------------------------------------------------------------------------------------------- the data


@dataclass
class Dataset:
    backend: str
    url: str
    size: int
    now: dt.datetime  # the moment the cases were generated at: the dashboard counts as of it
    first: dt.date
    last: dt.date
    generation: dict[str, Any]

    @property
    def period(self) -> Period:
        return parse_period(f"{self.first:%Y-%m-%d}..{self.last:%Y-%m-%d}")


def sqlite_url(workdir: Path, size: int) -> str:
    return f"sqlite:///{workdir / f'kpi_{size}.db'}"


@contextmanager
def postgres_schema(url: str, size: int, keep: bool) -> Iterator[str]:
    """A schema of its own in the civicgrid_bench_kpi database (kept with --keep, for the next run to reuse)."""
    parsed = make_url(url)
    if parsed.database != BENCH_DATABASE:
        raise SystemExit(f"refusing database {parsed.database!r}: this benchmark only uses {BENCH_DATABASE!r}")
    schema = f"bench_kpi_{size}"
    admin = make_engine(parsed.render_as_string(hide_password=False))
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
    base = parsed.render_as_string(hide_password=False)
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options=-csearch_path%3D{schema}"
    finally:
        if not keep:
            with admin.begin() as connection:
                connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            say(f"  dropped schema {schema}")
        admin.dispose()


def prepare(backend: str, url: str, size: int, seed: int, var_dir: Path) -> Dataset:
    """The demo district and ``size`` cases over the last twelve months, spread over the district's streets —
    reused when the database already holds exactly that (same size and seed)."""
    engine = make_engine(url)
    try:
        found = read_meta(engine)
        if found and found.get("size") == size and found.get("seed") == seed:
            say(f"  reusing the {size:,} cases generated {found['now']}")
            return dataset_from(backend, url, found)
        say(f"  generating {size:,} cases …")
        wipe(engine)
        meta = generate(engine, size, seed, var_dir)
        write_meta(engine, meta)
        return dataset_from(backend, url, meta)
    finally:
        engine.dispose()


def dataset_from(backend: str, url: str, meta: dict[str, Any]) -> Dataset:
    return Dataset(
        backend,
        url,
        int(meta["size"]),
        dt.datetime.fromisoformat(meta["now"]),
        dt.date.fromisoformat(meta["first"]),
        dt.date.fromisoformat(meta["last"]),
        meta["generation"],
    )


def wipe(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        engine.dispose()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{engine.url.database}{suffix}").unlink(missing_ok=True)
        return
    with engine.begin() as connection:
        schema = connection.execute(text("SELECT current_schema()")).scalar_one()
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {schema}"))


def generate(engine: Engine, size: int, seed: int, var_dir: Path) -> dict[str, Any]:
    """The fastest load each backend offers: the case and assignment tables' secondary indexes are dropped and
    built again afterwards, no history rows, a commit per block of 100,000 cases; PostgreSQL writes with COPY and
    is VACUUM ANALYZEd (autovacuum would do it within a minute), SQLite gets no ANALYZE, as civicgrid runs it."""
    settings = Settings(var_dir=var_dir, database_url=str(engine.url), scheduler_interval_seconds=0)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    migrate.upgrade(engine)
    with transaction(make_session_factory(engine, write=True)) as session:
        build_demo(session, settings=settings)
    seconds["demo district"] = time.perf_counter() - started
    now = timesource.now().replace(microsecond=0)
    with make_session_factory(engine, write=True)() as session:
        indexes = drop_indexes(session)
        session.commit()
        started = time.perf_counter()

        def progress(done: int, total: int) -> None:
            session.commit()
            say(f"    {done:,}/{total:,} cases, {time.perf_counter() - started:.0f} s")

        with timesource.pinned(now):
            options = HistoryOptions(size, seed=seed, events=False, batch_size=50_000, grid_code=DISTRICT_CODE)
            result = generate_history(session, options, settings=settings, progress=progress)
        session.commit()
        seconds["cases (plan + write)"] = time.perf_counter() - started
        started = time.perf_counter()
        for statement in indexes:
            session.execute(text(statement))
        session.commit()
        seconds["rebuild indexes"] = time.perf_counter() - started
    if engine.dialect.name == "postgresql":
        started = time.perf_counter()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
        seconds["VACUUM ANALYZE"] = time.perf_counter() - started
    say(f"  {result.summary()}")
    return {
        "size": size,
        "seed": seed,
        "now": now.isoformat(),
        "first": result.start.isoformat(),
        "last": result.end.isoformat(),
        "generation": {
            "seconds": {key: round(value, 1) for key, value in seconds.items()},
            "generator_seconds": result.seconds,
            "states": result.states,
            "assignments": result.assignments,
        },
    }


def drop_indexes(session: Session) -> list[str]:
    """Drop the secondary indexes of case and case_assignment (not those behind constraints); their DDL back."""
    tables = ("case", "case_assignment")
    if session.get_bind().dialect.name == "sqlite":
        rows = session.execute(
            text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                "AND tbl_name IN ('case', 'case_assignment')"
            )
        ).all()
    else:
        rows = session.execute(
            text(
                "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
                "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
                "WHERE t.relname = ANY(:tables) AND t.relnamespace = current_schema()::regnamespace "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)"
            ),
            {"tables": list(tables)},
        ).all()
    for name, _ in rows:
        session.execute(text(f'DROP INDEX "{name}"'))
    return [statement for _, statement in rows]


def read_meta(engine: Engine) -> dict[str, Any] | None:
    try:
        with engine.connect() as connection:
            value = connection.execute(text(f"SELECT value FROM {META} WHERE key = 'dataset'")).scalar_one_or_none()
    except sqlalchemy.exc.DBAPIError:
        return None
    return json.loads(value) if value else None


def write_meta(engine: Engine, meta: dict[str, Any]) -> None:
    with engine.begin() as connection:
        connection.execute(text(f"CREATE TABLE IF NOT EXISTS {META} (key VARCHAR(32) PRIMARY KEY, value TEXT)"))
        connection.execute(text(f"DELETE FROM {META}"))
        connection.execute(
            text(f"INSERT INTO {META} (key, value) VALUES ('dataset', :value)"), {"value": json.dumps(meta)}
        )


def describe(engine: Engine) -> dict[str, Any]:
    with engine.connect() as connection:
        info: dict[str, Any] = {
            "cases": connection.execute(text('SELECT count(*) FROM "case"')).scalar_one(),
            "assignments": connection.execute(text("SELECT count(*) FROM case_assignment")).scalar_one(),
        }
        if engine.dialect.name == "sqlite":
            pages = connection.exec_driver_sql("PRAGMA page_count").scalar_one()
            size = connection.exec_driver_sql("PRAGMA page_size").scalar_one()
            free = connection.exec_driver_sql("PRAGMA freelist_count").scalar_one()
            info["database_mib"] = round(pages * size / 2**20)
            info["free_mib"] = round(free * size / 2**20)  # pages left by dropped indexes, reused first
            info["sqlite"] = sqlite3.sqlite_version
        else:
            info["database_mib"] = round(
                connection.execute(text("SELECT pg_database_size(current_database())")).scalar_one() / 2**20
            )
            info["schema_mib"] = round(
                connection.execute(
                    text(
                        "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c WHERE c.relkind = 'r' "
                        "AND c.relnamespace = current_schema()::regnamespace"
                    )
                ).scalar_one()
                / 2**20
            )
            info["case_table_mib"] = round(
                connection.execute(text("SELECT pg_total_relation_size('\"case\"')")).scalar_one() / 2**20
            )
            for name in ("server_version", "shared_buffers", "work_mem", "max_parallel_workers_per_gather"):
                info[name] = connection.execute(text(f"SHOW {name}")).scalar_one()
    return info


# ----------------------------------------------------------------------------------------------- civicgrid


@dataclass
class Timing:
    backend: str
    cases: int
    what: str
    runs: list[float]
    note: str = ""
    equal: bool | None = None  # peers: the same numbers as civicgrid's

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    def row(self) -> dict[str, Any]:
        return asdict(self) | {"median_s": round(self.median, 3), "min_s": round(min(self.runs), 3)}


@contextmanager
def statements(engine: Engine) -> Iterator[list[tuple[str, float]]]:
    """Every SQL statement sent while the block runs, with the time spent in the driver's execute."""
    found: list[tuple[str, float]] = []

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        conn.info["bench_started"] = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        found.append((statement, time.perf_counter() - conn.info.pop("bench_started")))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield found
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def time_dashboard(
    engine: Engine, data: Dataset, username: str, grid_code: str | None, repeats: int
) -> tuple[Timing, Dashboard, list[dict[str, Any]]]:
    """One untimed run (caches warm), then ``repeats`` timed ones, each in a fresh read session; the SQL of the
    last one is kept with its times."""
    settings = Settings(database_url=str(engine.url), scheduler_interval_seconds=0)
    factory = make_session_factory(engine)
    runs: list[float] = []
    board: Dashboard | None = None
    trace: list[tuple[str, float]] = []
    for attempt in range(repeats + 1):
        with factory() as session:
            actor = actor_for(session, get_user(session, username))
            query = KpiQuery(data.period, grid_code=grid_code)
            with statements(engine) as trace:
                started = time.perf_counter()
                board = build_dashboard(session, actor, query, now=data.now, settings=settings)
                elapsed = time.perf_counter() - started
            if attempt:
                runs.append(elapsed)
    assert board is not None
    received = board.comparison.current.figures.counts.received
    scope = f"{board.scope_name} ({board.scope_code})"
    source = "roll-up cells read" if read_cells(trace) else "no roll-up cells read"
    what = f"civicgrid build_dashboard, {username}"
    timing = Timing(data.backend, data.size, what, runs, f"{scope}: {received:,}; {source}")
    slowest = sorted(trace, key=lambda item: -item[1])
    sql = [{"seconds": round(seconds, 4), "statement": " ".join(statement.split())} for statement, seconds in slowest]
    return timing, board, sql


def profile_dashboard(engine: Engine, data: Dataset, username: str, grid_code: str | None, path: Path) -> str:
    from pyinstrument import Profiler

    settings = Settings(database_url=str(engine.url), scheduler_interval_seconds=0)
    with make_session_factory(engine)() as session:
        actor = actor_for(session, get_user(session, username))
        profiler = Profiler(interval=0.0005)
        with profiler:
            build_dashboard(session, actor, KpiQuery(data.period, grid_code=grid_code), now=data.now, settings=settings)
    output = profiler.output_text(unicode=True, color=False, show_all=False)
    path.write_text(output, encoding="utf-8")
    return output


def dashboard_numbers(board: Dashboard) -> Numbers:
    """What the peers must reproduce: three headlines and five breakdowns, with median and P90."""

    def values(group: Group, assisted: bool = False) -> tuple[Any, ...]:
        figures = group.figures
        own = (*(getattr(figures.counts, name) for name in COUNTS), figures.median_handle_minutes)
        return (*own, figures.p90_handle_minutes, *((group.assisted,) if assisted else ()))

    comparison = board.comparison
    numbers: Numbers = {
        "current": {"all": values(comparison.current)},
        "previous": {"all": values(comparison.previous)},
        "last_year": {"all": values(comparison.last_year)},
        "month": {g.key: values(g) for g in board.trend if g.figures.counts.received},
        "category": {g.key: values(g) for g in board.by_category},
        "grid": {g.key: values(g) for g in board.by_grid},
        "department": {g.key: values(g, assisted=True) for g in board.by_department},
        "channel": {g.key: values(g) for g in board.by_channel},
    }
    return numbers


def differences(ours: Numbers, theirs: Numbers) -> list[str]:
    found = []
    for part, groups in ours.items():
        other = theirs.get(part, {})
        for key in sorted(set(groups) | set(other), key=str):
            if groups.get(key) != other.get(key):
                found.append(f"{part}[{key}]: civicgrid {groups.get(key)} ≠ peer {other.get(key)}")
    return found


# ----------------------------------------------------------------------------------------------- the peers


@dataclass
class Frames:
    cases: pd.DataFrame
    assignments: pd.DataFrame
    categories: pd.DataFrame


def load_frames(engine: Engine) -> Frames:
    """The case columns the dashboard reads, as a DataFrame (timestamps naive UTC, flags bool, text categorical),
    by the fastest plain route of each backend: fetchmany on SQLite, COPY … TO STDOUT (CSV) on PostgreSQL."""
    columns = ", ".join(f'"{name}"' for name in CASE_COLUMNS)
    queries = (
        (f'SELECT {columns} FROM "case"', CASE_COLUMNS),
        ("SELECT case_id, department_id, role FROM case_assignment", ("case_id", "department_id", "role")),
        ("SELECT id, code FROM case_category", ("id", "code")),
    )
    with engine.connect() as connection:
        raw: Any = connection.connection.driver_connection
        read = _sqlite_frame if engine.dialect.name == "sqlite" else _postgres_frame
        cases, assignments, categories = (read(raw, sql, names) for sql, names in queries)
    return Frames(_typed(cases), assignments, categories)


def _sqlite_frame(raw: sqlite3.Connection, sql: str, names: tuple[str, ...]) -> pd.DataFrame:
    cursor = raw.execute(sql)
    parts = []
    while chunk := cursor.fetchmany(500_000):
        parts.append(_categorical(pd.DataFrame.from_records(chunk, columns=list(names))))
    if not parts:
        return pd.DataFrame(columns=list(names))
    return _categorical(pd.concat(parts, ignore_index=True))  # chunks' categories differ: one set again


def _postgres_frame(raw: Any, sql: str, names: tuple[str, ...]) -> pd.DataFrame:
    buffer = io.BytesIO()
    with raw.cursor() as cursor, cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)") as copy:
        for data in copy:
            buffer.write(data)
    buffer.seek(0)
    text_columns = {name: str for name in names if name in TEXT}
    return _categorical(pd.read_csv(buffer, header=None, names=list(names), dtype=text_columns, low_memory=False))


def _categorical(frame: pd.DataFrame) -> pd.DataFrame:
    for name in TEXT:
        if name in frame.columns:
            frame[name] = frame[name].astype("category")
    return frame


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    for name in TIMESTAMPS:
        frame[name] = pd.to_datetime(frame[name], utc=True, format="ISO8601").dt.tz_localize(None)
    for name in BOOLEANS:
        frame[name] = frame[name].map({1: True, 0: False, "t": True, "f": False}).astype(bool)  # True == 1
    return frame


@dataclass(frozen=True)
class Spec:
    """The dashboard's query, spelled out for the peers (times naive UTC, as the frames hold them)."""

    periods: dict[str, tuple[pd.Timestamp, pd.Timestamp]]  # current / previous / last_year → [start, end)
    root: str
    child_length: int
    now: pd.Timestamp
    percentiles: frozenset[str]  # the parts civicgrid gives a handling-time median and P90 for


def spec_for(board: Dashboard, data: Dataset, ours: Numbers) -> Spec:
    comparison = board.comparison
    periods = {
        "current": board.period,
        "previous": comparison.previous_period,
        "last_year": comparison.last_year_period,
    }
    child = max((len(g.key) for g in board.by_grid if g.key and len(g.key) > len(board.scope_code)), default=0)
    median = len(COUNTS)
    return Spec(
        {name: (_naive(p.start_utc), _naive(p.end_utc)) for name, p in periods.items()},
        board.scope_code,
        child or len(board.scope_code),
        _naive(data.now),
        frozenset(part for part, groups in ours.items() if any(v[median] is not None for v in groups.values())),
    )


def _naive(moment: dt.datetime) -> pd.Timestamp:
    return pd.Timestamp(moment.astimezone(dt.UTC).replace(tzinfo=None))


def pandas_dashboard(frames: Frames, spec: Spec) -> Numbers:
    """The dashboard's numbers with pandas: the counters as boolean columns, groupby sums, nearest ranks."""
    cases = frames.cases
    in_scope = cases["scope_code"].cat.categories.str.startswith(spec.root)[cases["scope_code"].cat.codes]
    in_scope &= cases["scope_code"].cat.codes.to_numpy() >= 0
    flags = _flags(cases, spec.now)
    numbers: Numbers = {}
    for name, (start, end) in spec.periods.items():
        chosen = in_scope & (cases["reported_at"] >= start).to_numpy() & (cases["reported_at"] < end).to_numpy()
        cohort, counted = cases[chosen], flags[chosen]
        numbers[name] = _grouped(
            cohort, counted, np.zeros(len(cohort), dtype=np.int64), ["all"], name in spec.percentiles
        )
        numbers[name] = numbers[name] or {"all": (0,) * len(COUNTS) + (None, None)}
        if name != "current":
            continue
        months = (cohort["reported_at"] + pd.Timedelta(hours=8)).to_numpy().astype("datetime64[M]")
        month_codes, month_keys = pd.factorize(months, sort=True)
        codes = frames.categories.set_index("id")["code"].astype(str).str[:2]
        category_codes, category_keys = pd.factorize(cohort["category_id"].map(codes), sort=True)
        grids = cohort["scope_code"].cat.categories.str[: spec.child_length][cohort["scope_code"].cat.codes]
        grid_codes, grid_keys = pd.factorize(grids, sort=True)
        department = cohort["main_department_id"].fillna(-1).astype(np.int64)
        department_codes, department_keys = pd.factorize(department, sort=True)
        channel = cohort["channel"].cat
        keyed = {
            "month": (month_codes, [str(key)[:7] for key in month_keys]),
            "category": (category_codes, list(category_keys)),
            "grid": (grid_codes, list(grid_keys)),
            "department": (department_codes, [None if key < 0 else str(key) for key in department_keys]),
            "channel": (channel.codes.to_numpy(), list(channel.categories)),
        }
        for dimension, (group_codes, labels) in keyed.items():
            numbers[dimension] = _grouped(cohort, counted, group_codes, labels, dimension in spec.percentiles)
        assists = frames.assignments[(frames.assignments["role"] == "assist").to_numpy()]
        assisted = assists[assists["case_id"].isin(cohort["id"])].groupby("department_id")["case_id"].nunique()
        numbers["department"] = _with_assisted(numbers["department"], {str(k): int(v) for k, v in assisted.items()})
    return numbers


def _with_assisted(
    groups: dict[str | None, tuple[Any, ...]], assisted: dict[str, int]
) -> dict[str | None, tuple[Any, ...]]:
    """Each department's 协办 count beside its own figures; a department that only assisted appears with zeros."""
    empty = (0,) * len(COUNTS) + (None, None)
    keys = list(groups) + [key for key in assisted if key not in groups]
    return {key: (*groups.get(key, empty), assisted.get(key, 0) if key is not None else 0) for key in keys}


def _flags(frame: pd.DataFrame, now: pd.Timestamp) -> pd.DataFrame:
    """kpi.metrics.counter_columns, column by column (NaT compares false, as NULL does in those expressions)."""
    own = frame["merged_into_id"].isna()
    state, rating = frame["state"], frame["rating"]
    closed = (state == "closed") & own
    self_handled = frame["self_handled"]
    dispatched = frame["dispatched_at"].notna() & ~self_handled & own
    due, responded = frame["response_due_at"], frame["responded_at"]
    in_time = due.isna() | (responded <= due)
    timed = closed & ~self_handled & frame["handle_work_minutes"].notna()
    deadline, handled = frame["deadline_at"], frame["handled_at"]
    flags = {
        "received": pd.Series(True, index=frame.index),
        "duplicates": ~own,
        "registered": frame["registered_at"].notna() & own,
        "rejected": state == "rejected",
        "dispatched": dispatched,
        "linked": frame["linked"] & own,
        "suspended": (state == "suspended") & own,
        "closed": closed,
        "closed_on_time": closed & (deadline.isna() | handled.isna() | (handled <= deadline)),
        "overdue_now": frame["overdue"] & state.isin(OPEN_STATES) & own,
        "ever_overdue": frame["ever_overdue"] & own,
        "reworked": closed & (frame["rework_count"] > 0),
        "extended": dispatched & (frame["extension_count"] > 0),
        "self_handled": closed & self_handled,
        "rated": rating.notna() & own,
        "satisfied": (rating == "satisfied") & own,
        "basically_satisfied": (rating == "basically_satisfied") & own,
        "unsatisfied": (rating == "unsatisfied") & own,
        "due_to_respond": responded.notna() | (due <= now),
        "responded_on_time": responded.notna() & in_time,
        "resolved": closed & (rating.isna() | (rating != "unsatisfied")),
        "reopened": (frame["reopen_count"] > 0) & own,
    }
    result = pd.DataFrame({name: flag.to_numpy(dtype=np.int64) for name, flag in flags.items()}, index=frame.index)
    minutes = frame["handle_work_minutes"].fillna(0).to_numpy(dtype=np.int64)
    result["handle_minutes_total"] = np.where(timed, minutes, 0)
    result["handle_minutes_count"] = timed.to_numpy(dtype=np.int64)
    return result


def _grouped(
    cohort: pd.DataFrame, flags: pd.DataFrame, codes: npt.NDArray[np.int64], labels: list[Any], percentiles: bool
) -> dict[str | None, tuple[Any, ...]]:
    """Sums per group (``codes`` index ``labels``; -1 is the group without a key), with the nearest-rank median
    and P90 of the handling minutes when asked."""
    codes = np.asarray(codes, dtype=np.int64)
    sums = flags[COUNTS].groupby(codes).sum()
    ranks: dict[int, tuple[int, int]] = {}
    if percentiles:
        timed = flags["handle_minutes_count"].to_numpy() == 1
        minutes = cohort["handle_work_minutes"].to_numpy()[timed].astype(np.int64)
        group = codes[timed]
        order = np.lexsort((cohort["id"].to_numpy()[timed], minutes, group))
        group, minutes = group[order], minutes[order]
        starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
        sizes = np.diff(np.r_[starts, len(group)])
        for start, size in zip(starts.tolist(), sizes.tolist(), strict=True):
            median, p90 = minutes[start + (size + 1) // 2 - 1], minutes[start + (size * 9 + 9) // 10 - 1]
            ranks[int(group[start])] = (int(median), int(p90))
    result: dict[str | None, tuple[Any, ...]] = {}
    for code, row in zip(sums.index.tolist(), sums.to_numpy().tolist(), strict=True):
        key = None if code < 0 else labels[code]
        result[None if key is None else str(key)] = (*row, *ranks.get(code, (None, None)))
    return result


def duckdb_load(frames: Frames) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    for name, frame in (
        ("cases", frames.cases),
        ("assignments", frames.assignments),
        ("categories", frames.categories),
    ):
        connection.register("source", frame)
        connection.execute(f"CREATE TABLE {name} AS SELECT * FROM source")
        connection.unregister("source")
    return connection


def duckdb_dashboard(connection: duckdb.DuckDBPyConnection, spec: Spec) -> Numbers:
    """The same numbers in DuckDB's SQL, as DuckDB would do them: the period's headline and all five breakdowns
    in one scan (GROUPING SETS), a ranking query where civicgrid gives percentiles, the counters as in
    kpi.metrics."""
    numbers: Numbers = {}
    keys = {
        "month": "strftime(c.reported_at + INTERVAL 8 HOUR, '%Y-%m')",
        "category": "substr(k.code, 1, 2)",
        "grid": f"substr(c.scope_code, 1, {spec.child_length})",
        "department": "CAST(CAST(c.main_department_id AS BIGINT) AS VARCHAR)",
        "channel": "c.channel",
    }
    for name, (start, end) in spec.periods.items():
        where = _duckdb_where(spec, start, end)
        base = f"FROM cases c LEFT JOIN categories k ON k.id = c.category_id WHERE {where}"
        empty = {"all": (0,) * len(COUNTS) + (None, None)}
        if name != "current":
            numbers[name] = _duckdb_grouped(connection, base, "'all'", spec.now, name in spec.percentiles) or empty
            continue
        found = _duckdb_grouping_sets(connection, base, keys, spec.now)
        numbers[name] = found.pop("") or empty
        if name in spec.percentiles:
            numbers[name] = _duckdb_with_percentiles(connection, base, "'all'", numbers[name])
        for dimension, groups in found.items():
            if dimension in spec.percentiles:
                groups = _duckdb_with_percentiles(connection, base, keys[dimension], groups)
            numbers[dimension] = groups
        assisted = dict(
            connection.execute(
                "SELECT CAST(a.department_id AS VARCHAR), count(DISTINCT a.case_id) FROM assignments a "
                f"JOIN cases c ON c.id = a.case_id WHERE a.role = 'assist' AND {where} GROUP BY 1"
            ).fetchall()
        )
        numbers["department"] = _with_assisted(numbers["department"], {str(k): int(v) for k, v in assisted.items()})
    return numbers


def _duckdb_grouping_sets(
    connection: duckdb.DuckDBPyConnection, base: str, keys: dict[str, str], now: pd.Timestamp
) -> dict[str, dict[str | None, tuple[Any, ...]]]:
    """The whole (under "") and each breakdown from one pass; grouping_id() tells the sets apart."""
    sums = ", ".join(f"count(*) FILTER (WHERE {condition})" for condition in _duckdb_conditions(now).values())
    minutes = f"coalesce(sum(c.handle_work_minutes) FILTER (WHERE {TIMED}), 0), count(*) FILTER (WHERE {TIMED})"
    names = list(keys)
    columns = ", ".join(f"{expression} AS k_{name}" for name, expression in keys.items())
    key_list = ", ".join(f"k_{name}" for name in names)
    sets = ", ".join(["()", *(f"(k_{name})" for name in names)])
    rows = connection.execute(
        f"SELECT grouping_id({key_list}), {key_list}, {sums}, {minutes} "
        f"FROM (SELECT c.*, {columns} {base}) c GROUP BY GROUPING SETS ({sets})"
    ).fetchall()
    every = (1 << len(names)) - 1
    level_of = {every ^ (1 << (len(names) - 1 - index)): name for index, name in enumerate(names)} | {every: ""}
    found: dict[str, dict[str | None, tuple[Any, ...]]] = {name: {} for name in ["", *names]}
    for level, *row in rows:
        dimension = level_of[level]
        values = row[len(names) :]
        key = "all" if dimension == "" else row[names.index(dimension)]
        found[dimension][None if key is None else str(key)] = (*(int(v) for v in values), None, None)
    return found


def _duckdb_with_percentiles(
    connection: duckdb.DuckDBPyConnection, base: str, key: str, groups: dict[str | None, tuple[Any, ...]]
) -> dict[str | None, tuple[Any, ...]]:
    found = connection.execute(
        f"""SELECT g, max(m) FILTER (WHERE position = (size + 1) // 2),
                      max(m) FILTER (WHERE position = (size * 9 + 9) // 10)
            FROM (SELECT {key} AS g, c.handle_work_minutes AS m,
                         row_number() OVER (PARTITION BY {key} ORDER BY c.handle_work_minutes, c.id) AS position,
                         count(*) OVER (PARTITION BY {key}) AS size
                  {base} AND {TIMED}) GROUP BY g"""
    ).fetchall()
    ranks = {None if g is None else str(g): (int(median), int(p90)) for g, median, p90 in found}
    return {key: (*values[: len(COUNTS)], *ranks.get(key, (None, None))) for key, values in groups.items()}


def _duckdb_where(spec: Spec, start: pd.Timestamp, end: pd.Timestamp) -> str:
    return (
        f"starts_with(c.scope_code, '{spec.root}') "
        f"AND c.reported_at >= TIMESTAMP '{start.isoformat()}' AND c.reported_at < TIMESTAMP '{end.isoformat()}'"
    )


def _duckdb_conditions(now: pd.Timestamp) -> dict[str, str]:
    own = "c.merged_into_id IS NULL"
    closed = f"(c.state = 'closed' AND {own})"
    dispatched = f"(c.dispatched_at IS NOT NULL AND NOT c.self_handled AND {own})"
    in_time = "(c.response_due_at IS NULL OR c.responded_at <= c.response_due_at)"
    on_time = "(c.deadline_at IS NULL OR c.handled_at IS NULL OR c.handled_at <= c.deadline_at)"
    return {
        "received": "TRUE",
        "duplicates": "c.merged_into_id IS NOT NULL",
        "registered": f"c.registered_at IS NOT NULL AND {own}",
        "rejected": "c.state = 'rejected'",
        "dispatched": dispatched,
        "linked": f"c.linked AND {own}",
        "suspended": f"c.state = 'suspended' AND {own}",
        "closed": closed,
        "closed_on_time": f"{closed} AND {on_time}",
        "overdue_now": f"c.overdue AND c.state IN {OPEN_STATES} AND {own}",
        "ever_overdue": f"c.ever_overdue AND {own}",
        "reworked": f"{closed} AND c.rework_count > 0",
        "extended": f"{dispatched} AND c.extension_count > 0",
        "self_handled": f"{closed} AND c.self_handled",
        "rated": f"c.rating IS NOT NULL AND {own}",
        "satisfied": f"c.rating = 'satisfied' AND {own}",
        "basically_satisfied": f"c.rating = 'basically_satisfied' AND {own}",
        "unsatisfied": f"c.rating = 'unsatisfied' AND {own}",
        "due_to_respond": f"c.responded_at IS NOT NULL OR c.response_due_at <= TIMESTAMP '{now.isoformat()}'",
        "responded_on_time": f"c.responded_at IS NOT NULL AND {in_time}",
        "resolved": f"{closed} AND (c.rating IS NULL OR c.rating <> 'unsatisfied')",
        "reopened": f"c.reopen_count > 0 AND {own}",
    }


TIMED = "c.state = 'closed' AND c.merged_into_id IS NULL AND NOT c.self_handled AND c.handle_work_minutes IS NOT NULL"


def _duckdb_grouped(
    connection: duckdb.DuckDBPyConnection, base: str, key: str, now: pd.Timestamp, percentiles: bool
) -> dict[str | None, tuple[Any, ...]]:
    sums = ", ".join(f"count(*) FILTER (WHERE {condition})" for condition in _duckdb_conditions(now).values())
    minutes = f"coalesce(sum(c.handle_work_minutes) FILTER (WHERE {TIMED}), 0), count(*) FILTER (WHERE {TIMED})"
    rows = connection.execute(f"SELECT {key} AS g, {sums}, {minutes} {base} GROUP BY 1").fetchall()
    groups = {None if g is None else str(g): (*(int(v) for v in values), None, None) for g, *values in rows}
    return _duckdb_with_percentiles(connection, base, key, groups) if percentiles and groups else groups


def timed(function: Callable[[], Any], repeats: int) -> tuple[list[float], Any]:
    runs, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        runs.append(time.perf_counter() - started)
    return runs, result


# ----------------------------------------------------------------------------------------------- the roll-up


def read_cells(trace: list[tuple[str, float]]) -> bool:
    names = [table.name for table in CELL_TABLES]
    return any(name in statement for statement, _ in trace for name in names)


def build_rollup(engine: Engine, data: Dataset) -> dict[str, Any]:
    """What the roll-up costs on the kept data: ``migrate.upgrade`` to head — from 0005 that is migration 0006,
    which seeds kpi_rollup_month with one scan of the cases, builds two indexes and adds the triggers (nothing
    when the data were generated at head) — then building every month
    from scratch in one write transaction (``refresh(rebuild_all=True)``: the same as the first ``refresh`` after
    the migration, and the same again on a rerun), then rebuilding the last whole month alone, as the
    scheduler's tick does after a change to one of its cases. PostgreSQL's new tables are ANALYZEd afterwards,
    as autovacuum would within a minute."""
    found: dict[str, Any] = {"revision_before": migrate.current_revision(engine)}
    before = describe(engine)["database_mib" if engine.dialect.name == "sqlite" else "schema_mib"]
    started = time.perf_counter()
    migrate.upgrade(engine)
    found["migrate_s"] = round(time.perf_counter() - started, 3)
    factory = make_session_factory(engine, write=True)
    started = time.perf_counter()
    with transaction(factory) as session:
        built = rollup.refresh(session, rebuild_all=True)
    found["full_build_s"] = round(time.perf_counter() - started, 3)
    found["full_build_months"] = built.months
    found["full_build_cells"] = built.cells
    month = last_whole_month(data)
    with transaction(factory) as session:
        seen = session.execute(select(KpiRollupMonth.changes).where(KpiRollupMonth.month == month)).scalar_one()
        started = time.perf_counter()
        cells = rollup.build_month(session, month, seen)
    found["one_month"] = {"month": month, "seconds": round(time.perf_counter() - started, 3), "cells": cells}
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for name in ("kpi_rollup_month", *(table.name for table in CELL_TABLES)):
                connection.execute(text(f"ANALYZE {name}"))
    with engine.connect() as connection:
        found["cells"] = {}
        for table in CELL_TABLES:
            length = table.c.code_length
            counted = select(length, func.count()).group_by(length).order_by(length)
            found["cells"][table.name] = dict(connection.execute(counted).all())
    after = describe(engine)["database_mib" if engine.dialect.name == "sqlite" else "schema_mib"]
    found["size_mib"] = {"before": before, "after": after, "rollup_tables": rollup_mib(engine)}
    with make_session_factory(engine)() as session:
        found["months_behind"] = rollup.behind_count(session)
    return found


def rollup_mib(engine: Engine) -> float:
    """The roll-up's three tables with their indexes (dbstat on SQLite)."""
    names = ["kpi_rollup_month", *(table.name for table in CELL_TABLES)]
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            size = connection.execute(
                text(
                    "SELECT sum(pgsize) FROM dbstat "
                    "WHERE name IN (SELECT name FROM sqlite_master WHERE tbl_name IN :names)"
                ).bindparams(sqlalchemy.bindparam("names", expanding=True)),
                {"names": names},
            ).scalar_one()
        else:
            size = sum(
                connection.execute(text("SELECT pg_total_relation_size(:name)"), {"name": name}).scalar_one()
                for name in names
            )
    return round((size or 0) / 2**20, 1)


def last_whole_month(data: Dataset) -> str:
    """'2026-10' for data up to 2026-11-24: the month the scheduler would rebuild after a late change."""
    end = data.last + dt.timedelta(days=1)
    last = end - dt.timedelta(days=1) if end.day == 1 else end.replace(day=1) - dt.timedelta(days=1)
    return f"{last:%Y-%m}"


@contextmanager
def rollup_unused(engine: Engine) -> Iterator[dict[str, Any]]:
    """Every month marked not built (``built_changes = NULL``), so the dashboard reads the cases alone; then
    ``refresh`` builds them all again (timed: the roll-up from scratch a second time) and the roll-up is current."""
    factory = make_session_factory(engine, write=True)
    with transaction(factory) as session:
        session.execute(update(KpiRollupMonth).values(built_changes=None))
    restored: dict[str, Any] = {}
    try:
        yield restored
    finally:
        started = time.perf_counter()
        with transaction(factory) as session:
            built = rollup.refresh(session)
        restored.update(seconds=round(time.perf_counter() - started, 3), months=len(built.months), cells=built.cells)
        with make_session_factory(engine)() as session:
            restored["months_behind"] = rollup.behind_count(session)


# ----------------------------------------------------------------------------------------------- one dataset


def run_dataset(data: Dataset, args: argparse.Namespace, rows: list[Timing]) -> dict[str, Any]:
    engine = make_engine(data.url)
    report: dict[str, Any] = {"backend": data.backend, "cases": data.size, "generation": data.generation}
    try:
        say(f"  roll-up: migrating from {migrate.current_revision(engine)} and building it …")
        report["rollup"] = built = build_rollup(engine, data)
        say(
            f"  roll-up: migrate {built['migrate_s']} s, full build {built['full_build_s']} s "
            f"({len(built['full_build_months'])} months, {built['full_build_cells']:,} cells), one month "
            f"{built['one_month']}, size {built['size_mib']} MiB, months behind {built['months_behind']}"
        )
        report["database"] = describe(engine)
        say(f"  database: {report['database']}")
        repeats = args.repeats if data.size <= 1_000_000 else args.repeats_large
        admin, board, sql = time_dashboard(engine, data, "admin", DISTRICT_CODE, repeats)
        rows.append(admin)
        say(f"  {admin.what}: median {admin.median:.3f} s {admin.runs}")
        report["sql_admin"] = sql
        leader, leader_board, leader_sql = time_dashboard(engine, data, "leader", None, repeats)
        rows.append(leader)
        say(f"  {leader.what}: median {leader.median:.3f} s")
        report["sql_leader"] = leader_sql[:12]
        # The leader's scope is the street: within it readable()'s OR (her departments' cases, her own reports)
        # adds nothing. The admin asking for the street computes the same numbers without that OR.
        street, street_board, _ = time_dashboard(engine, data, "admin", leader_board.scope_code, repeats)
        street.what = f"civicgrid build_dashboard, admin asking for {leader_board.scope_code}"
        street.equal = dashboard_numbers(street_board) == dashboard_numbers(leader_board)
        street.note += "; the leader's numbers without readable()'s OR"
        rows.append(street)
        say(f"  {street.what}: median {street.median:.3f} s, equal to the leader's {street.equal}")
        ours = dashboard_numbers(board)
        with rollup_unused(engine) as restored:
            scan, scan_board, scan_sql = time_dashboard(engine, data, "admin", DISTRICT_CODE, repeats)
        scan.what = "civicgrid build_dashboard, admin, from the cases (roll-up not used)"
        scan.equal = dashboard_numbers(scan_board) == ours
        scan.note += "; equal: the same numbers as from the roll-up"
        rows.append(scan)
        report["sql_admin_from_cases"] = scan_sql
        report["rollup"]["rebuilt_after_from_cases"] = restored
        say(f"  {scan.what}: median {scan.median:.3f} s, equal to the roll-up's {scan.equal}; rebuilt {restored}")
        report["headline"] = dict(zip(COUNTS, ours["current"]["all"], strict=False))
        report["bare_sql_admin"] = replay(engine, data, DISTRICT_CODE)
        if args.profile:
            name = f"profile-{data.backend.lower()}-{data.size}.txt"
            profile_dashboard(engine, data, "admin", DISTRICT_CODE, HERE / "data" / name)
            report["profile"] = name
        spec = spec_for(board, data, ours)
        load_runs, frames = timed(lambda: load_frames(engine), 1)
        rows.append(Timing(data.backend, data.size, "pandas: load the case columns", load_runs, _frame_note(frames)))
        runs, numbers = timed(lambda: pandas_dashboard(frames, spec), args.peer_repeats)
        wrong = differences(ours, numbers)
        rows.append(Timing(data.backend, data.size, "pandas: the dashboard numbers", runs, "", not wrong))
        report["pandas_differences"] = wrong[:20]
        say(f"  pandas: load {load_runs[0]:.1f} s, compute median {statistics.median(runs):.3f} s, equal {not wrong}")
        load_runs, connection = timed(lambda: duckdb_load(frames), 1)
        rows.append(Timing(data.backend, data.size, "DuckDB: load from the DataFrame", load_runs, "in memory"))
        runs, numbers = timed(lambda: duckdb_dashboard(connection, spec), args.peer_repeats)
        wrong = differences(ours, numbers)
        rows.append(Timing(data.backend, data.size, "DuckDB: the dashboard numbers", runs, "", not wrong))
        report["duckdb_differences"] = wrong[:20]
        say(f"  DuckDB: compute median {statistics.median(runs):.3f} s, equal {not wrong}")
        connection.close()
    finally:
        engine.dispose()
    return report


def _frame_note(frames: Frames) -> str:
    megabytes = frames.cases.memory_usage(deep=True).sum() / 2**20
    return f"{len(frames.cases):,} rows × {len(frames.cases.columns)} columns, {megabytes:,.0f} MiB in memory"


def replay(engine: Engine, data: Dataset, grid_code: str) -> list[dict[str, Any]]:
    """Each SQL statement of one admin dashboard sent again through the bare driver (rows fetched), best of two:
    how much of the dashboard is the database's work."""
    settings = Settings(database_url=str(engine.url), scheduler_interval_seconds=0)
    caught: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        caught.append((statement, parameters))

    with make_session_factory(engine)() as session:
        actor = actor_for(session, get_user(session, "admin"))
        event.listen(engine, "before_cursor_execute", capture)
        try:
            build_dashboard(session, actor, KpiQuery(data.period, grid_code=grid_code), now=data.now, settings=settings)
        finally:
            event.remove(engine, "before_cursor_execute", capture)
    timings = []
    with engine.connect() as connection:
        raw: Any = connection.connection.driver_connection
        for statement, parameters in caught:
            best = math.inf
            for _ in range(2):
                cursor = raw.cursor()
                started = time.perf_counter()
                cursor.execute(statement, parameters)
                found = cursor.fetchall()
                best = min(best, time.perf_counter() - started)
                cursor.close()
            timings.append({"seconds": round(best, 4), "rows": len(found), "statement": " ".join(statement.split())})
    return sorted(timings, key=lambda item: -item["seconds"])


# ----------------------------------------------------------------------------------------------- the report


def markdown(rows: list[Timing]) -> str:
    lines = [
        "| backend | cases | what | median s | min s | runs | equal | note |",
        "|---|---:|---|---:|---:|---:|:---:|---|",
    ]
    for row in rows:
        goal = ""
        if row.what.startswith("civicgrid") and row.backend == "SQLite" and row.cases <= 250_000:
            goal = " ✓" if row.median < GOAL_S else " ✗"
        equal = "" if row.equal is None else ("✓" if row.equal else "✗")
        lines.append(
            f"| {row.backend} | {row.cases:,} | {row.what} | {row.median:.3f}{goal} | {min(row.runs):.3f} | "
            f"{len(row.runs)} | {equal} | {row.note} |"
        )
    return "\n".join(lines)


def versions() -> dict[str, str]:
    return base_versions() | {
        "sqlite": sqlite3.sqlite_version,
        "pandas": pd.__version__,
        "numpy": np.__version__,
        "duckdb": duckdb.__version__,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default=",".join(str(size) for size in SIZES), help="cases per dataset")
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--repeats", type=int, default=5, help="timed dashboards per measurement (after one warm-up)")
    parser.add_argument("--peer-repeats", type=int, default=3)
    parser.add_argument("--postgres-url", default=None, help="URL of the civicgrid_bench_kpi database")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--workdir", type=Path, default=Path("var/bench-kpi"), help="SQLite databases (kept)")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL schemas for the next run")
    parser.add_argument("--profile", action="store_true", help="profile one dashboard per dataset (pyinstrument)")
    parser.add_argument("--repeats-large", type=int, default=2, help="timed dashboards for datasets over a million")
    parser.add_argument("--output", type=Path, default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)

    started = dt.datetime.now(dt.UTC)
    machine_info = machine()
    args.workdir.mkdir(parents=True, exist_ok=True)
    (HERE / "data").mkdir(exist_ok=True)
    sizes = [int(size) for size in args.sizes.split(",")]
    rows: list[Timing] = []
    datasets: list[dict[str, Any]] = []
    load: list[tuple[float, float, float]] = [os.getloadavg()]
    for size in sizes:
        if not args.skip_sqlite:
            say(f"SQLite, {size:,} cases")
            data = prepare("SQLite", sqlite_url(args.workdir, size), size, args.seed, args.workdir / "var")
            datasets.append(run_dataset(data, args, rows))
            load.append(os.getloadavg())
            write_report(args, started, machine_info, load, datasets, rows)
        if args.postgres_url:
            say(f"PostgreSQL, {size:,} cases")
            with postgres_schema(args.postgres_url, size, args.keep) as url:
                data = prepare("PostgreSQL", url, size, args.seed, args.workdir / "var")
                datasets.append(run_dataset(data, args, rows))
            load.append(os.getloadavg())
            write_report(args, started, machine_info, load, datasets, rows)
    report = write_report(args, started, machine_info, load, datasets, rows)
    say()
    say(report["markdown"])
    return 0


def write_report(
    args: argparse.Namespace,
    started: dt.datetime,
    machine_info: dict[str, Any],
    load: list[tuple[float, float, float]],
    datasets: list[dict[str, Any]],
    rows: list[Timing],
) -> dict[str, Any]:
    """The JSON report (written after every dataset, so a failure later keeps what was measured)."""
    table = markdown(rows)
    report = {
        "started_utc": started.isoformat(timespec="seconds"),
        "finished_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": commit(HERE),
        "goal_s": GOAL_S,
        "params": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "machine": machine_info | {"load_avg_during": load},
        "versions": versions(),
        "datasets": datasets,
        "results": [row.row() for row in rows],
        "markdown": table,
    }
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
        say(f"wrote {args.output}")
    return report


if __name__ == "__main__":
    sys.exit(main())
