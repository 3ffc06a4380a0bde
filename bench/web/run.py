"""Page response time of the case list and the case detail over 100,000 cases, against the JSON API and the
bare SQL of the same page, on SQLite (file) and PostgreSQL, in one run.

Run from the repository root (see bench/web/README.md):

    .venv/bin/python bench/web/run.py --output bench/web/data/results.json \\
        --postgres-url postgresql+psycopg://civicgrid:civicgrid@127.0.0.1/civicgrid_bench
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import html
import io
import pickle
import re
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import quote

import httpx
import numpy as np
from sqlalchemy import Engine, func, make_url, select
from sqlalchemy.orm import Session

from civicgrid.cases.auth import readable
from civicgrid.cases.models import Case
from civicgrid.db import make_engine, make_session_factory, transaction
from civicgrid.demo.district import DEMO_PASSWORD_SUFFIX, MAIN_STREET
from civicgrid.org.actor import Actor
from civicgrid.org.service import actor_for, create_api_token, get_user
from civicgrid.settings import Settings

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # bench/, for the shared helpers
sys.path.insert(0, str(HERE))
from generate import generate  # noqa: E402

from machine import Backend, base_versions, machine, on_each_backend, write_report  # noqa: E402

GOAL_MS = 100.0
POSTGRES_SETTINGS = ("shared_buffers", "work_mem", "random_page_cost", "synchronous_commit")
PASSWORDS = {"admin": "admin", "dispatcher": "dispatcher", "gridworker": "grid_worker"}
COMMON_WORD = "垃圾"  # in about one title in five
RARE_WORD = "燃气"  # in about one title in two hundred and fifty
DEEP_PAGES = 20
API_DEEP_OFFSET = 50_000
NUMBER = re.compile(r"\b20\d{12}\b")
NEXT_LINK = re.compile(r'href="([^"]*[?&](?:amp;)?after=[^"]*)"')
CSRF_INPUT = re.compile(r'name="csrf_token"\s+value="([^"]+)"|value="([^"]+)"\s+name="csrf_token"')


# ----------------------------------------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def served(url: str, var_dir: Path, log: Path) -> Iterator[str]:
    """The app in its own process (as in production, the client does not share its interpreter)."""
    port = free_port()
    command = [sys.executable, str(HERE / "serve.py"), "--database-url", url, "--var-dir", str(var_dir)]
    with log.open("w") as sink:
        process = subprocess.Popen([*command, "--port", str(port)], stdout=sink, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the server did not start; see {log}")
                time.sleep(0.2)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def sign_in(base: str, username: str) -> httpx.Client:
    """A browser-like client signed in through the real form: GET /login, its csrf_token, POST the form."""
    client = httpx.Client(base_url=base, timeout=60, follow_redirects=False)
    form = client.get("/login")
    form.raise_for_status()
    found = CSRF_INPUT.search(form.text)
    if found is None:
        raise SystemExit("no csrf_token in the sign-in form")
    password = PASSWORDS[username] + DEMO_PASSWORD_SUFFIX
    answer = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": found.group(1) or found.group(2), "next": "/"},
    )
    if answer.status_code != 303 or "cg_session" not in client.cookies:
        raise SystemExit(f"sign-in as {username} failed: HTTP {answer.status_code}")
    return client


# ----------------------------------------------------------------------------------------------- timing


@dataclass
class Timing:
    backend: str
    layer: str  # page | fragment (what a page loads after it is shown) | API | bare SQL
    name: str
    user: str
    path: str
    requests: int
    median_ms: float
    p90_ms: float
    p99_ms: float
    sql_statements: float | None = None  # median per request (page and API, from the server's trace)
    sql_ms: float | None = None  # median time inside the driver per request
    bytes: int | None = None
    note: str = ""

    @property
    def meets_goal(self) -> bool:
        return self.median_ms < GOAL_MS


def summarise(backend: str, layer: str, name: str, user: str, path: str, seconds: list[float], **extra: Any) -> Timing:
    p50, p90, p99 = (float(v) for v in np.percentile(np.asarray(seconds) * 1000, [50, 90, 99]))
    return Timing(backend, layer, name, user, path, len(seconds), round(p50, 2), round(p90, 2), round(p99, 2), **extra)


def time_requests(
    client: httpx.Client,
    paths: Callable[[int], str],
    *,
    warmup: int,
    count: int,
    headers: dict[str, str] | None = None,
    expect_numbers: bool = True,
) -> tuple[list[float], list[int], list[float], int]:
    """GET ``paths(i)`` warmup + count times, one at a time; the latency of each timed one (body read), and the
    server's SQL statement count and SQL milliseconds for it."""
    seconds: list[float] = []
    statements: list[int] = []
    sql_ms: list[float] = []
    size = 0
    for i in range(warmup + count):
        path = paths(i)
        began = time.perf_counter()
        response = client.get(path, headers=headers)
        body = response.content
        elapsed = time.perf_counter() - began
        if response.status_code != 200:
            raise SystemExit(f"GET {path}: HTTP {response.status_code}\n{response.text[:500]}")
        if expect_numbers and not NUMBER.search(response.text):
            raise SystemExit(f"GET {path}: no case number in the answer")
        if i >= warmup:
            seconds.append(elapsed)
            statements.append(int(response.headers.get("x-bench-sql-count", 0)))
            sql_ms.append(float(response.headers.get("x-bench-sql-ms", 0)))
            size = len(body)
    return seconds, statements, sql_ms, size


@dataclass
class Target:
    layer: str
    name: str
    user: str
    paths: Callable[[int], str]
    auth: str = "cookie"  # cookie | token
    note: str = ""
    expect_numbers: bool = True  # an empty answer is an error (not for a deep offset of a small test database)

    @property
    def shown_path(self) -> str:
        return self.paths(0)


def next_page(client: httpx.Client, path: str) -> str:
    response = client.get(path)
    response.raise_for_status()
    found = NEXT_LINK.search(response.text)
    if found is None:
        raise SystemExit(f"GET {path}: no link to the next page (after=)")
    link = html.unescape(found.group(1))
    if link.startswith("?"):
        link = path.split("?")[0] + link
    return link


def deep_path(client: httpx.Client, start: str, pages: int) -> str:
    path = start
    for _ in range(pages):
        path = next_page(client, path)
    return path


# ----------------------------------------------------------------------------------------------- bare SQL


@dataclass
class Replay:
    totals: list[float]  # seconds for all the statements, per run
    each: list[list[float]]  # seconds per statement, per run

    def slowest(self) -> int:
        return int(np.argmax(np.median(np.asarray(self.each), axis=0)))


def replay(url: str, statements: list[tuple[str, Any]], count: int) -> Replay:
    """The captured statements of one page run straight through the driver (sqlite3 or psycopg), ``count``
    times after five untimed runs."""
    result = Replay([], [])
    if make_url(url).get_backend_name() == "sqlite":
        connection: Any = sqlite3.connect(make_url(url).database or "")
        run = _sqlite_runner(connection)
    else:
        import psycopg

        parsed = make_url(url)
        search_path = str(parsed.query.get("options") or "").removeprefix("-csearch_path=")
        connection = psycopg.connect(
            host=parsed.host, port=parsed.port, user=parsed.username, password=parsed.password, dbname=parsed.database
        )
        if search_path:
            connection.execute(f"SET search_path TO {search_path}")
        run = _postgres_runner(connection)
    try:
        for repetition in range(count + 5):
            each = [run(statement, parameters) for statement, parameters in statements]
            if repetition >= 5:
                result.totals.append(sum(each))
                result.each.append(each)
    finally:
        connection.close()
    return result


def _sqlite_runner(connection: sqlite3.Connection) -> Callable[[str, Any], float]:
    def run(statement: str, parameters: Any) -> float:
        began = time.perf_counter()
        connection.execute(statement, parameters).fetchall()
        return time.perf_counter() - began

    return run


def _postgres_runner(connection: Any) -> Callable[[str, Any], float]:
    def run(statement: str, parameters: Any) -> float:
        began = time.perf_counter()
        cursor = connection.execute(statement, parameters)
        if cursor.description is not None:
            cursor.fetchall()
        return time.perf_counter() - began

    return run


def reads(capture: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """The request's SELECTs (its BEGIN and a session's occasional touch are left out of the replay)."""
    return [(s, p) for s, p in capture if s.lstrip().upper().startswith("SELECT")]


def statement_kinds(capture: list[tuple[str, Any]]) -> dict[str, int]:
    """How many times each statement (its first 120 characters, whitespace folded) ran in one request."""
    kinds: dict[str, int] = {}
    for statement, _ in capture:
        key = " ".join(statement.split())[:120]
        kinds[key] = kinds.get(key, 0) + 1
    return dict(sorted(kinds.items(), key=lambda kv: -kv[1]))


# ----------------------------------------------------------------------------------------------- profile


def profile_request(url: str, var_dir: Path, username: str, path: str, repeat: int) -> str:
    """pyinstrument over ``repeat`` requests of ``path`` to an in-process app, with FastAPI's thread hops made
    inline so that one thread (the profiled one) runs the whole request."""
    try:
        from pyinstrument import Profiler
    except ImportError:
        return "pyinstrument is not installed (.venv/bin/pip install pyinstrument)"
    import anyio.to_thread
    from serve import build

    app = build(url, var_dir)

    async def inline(func: Callable[..., Any], *args: Any, **_: Any) -> Any:
        return func(*args)

    async def go() -> str:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            form = await client.get("/login")
            found = CSRF_INPUT.search(form.text)
            assert found is not None
            token = found.group(1) or found.group(2)
            password = PASSWORDS[username] + DEMO_PASSWORD_SUFFIX
            data = {"username": username, "password": password, "csrf_token": token, "next": "/"}
            await client.post("/login", data=data)
            for _ in range(3):
                await client.get(path)
            profiler = Profiler(interval=0.0005, async_mode="disabled")
            profiler.start()
            for _ in range(repeat):
                (await client.get(path)).raise_for_status()
            profiler.stop()
            return str(profiler.output_text(unicode=True, color=False, show_all=False))

    with mock.patch.object(anyio.to_thread, "run_sync", inline):
        return asyncio.run(go())


# ----------------------------------------------------------------------------------------------- main


@dataclass
class Sample:
    dispatcher_numbers: list[str]
    gridworker_grid: str
    reads: dict[str, int]  # how many cases each signed-in user may read
    word_titles: dict[str, int]


def sample(engine: Engine, count: int, seed: int) -> Sample:
    rng = np.random.default_rng(seed)
    with Session(engine) as session:
        numbers = list(
            session.execute(select(Case.number).where(Case.scope_code.startswith(MAIN_STREET)).order_by(Case.id))
            .scalars()
            .all()
        )
        actors = {name: actor_for(session, get_user(session, name)) for name in PASSWORDS}
        reads = {
            name: int(session.execute(readable(select(func.count()).select_from(Case), actor)).scalar_one())
            for name, actor in actors.items()
        }
        words = {
            word: int(session.execute(select(func.count()).where(Case.title.contains(word))).scalar_one())
            for word in (COMMON_WORD, RARE_WORD)
        }
    chosen = rng.choice(len(numbers), size=count, replace=False)
    return Sample([numbers[int(i)] for i in chosen], actors["gridworker"].grid_codes[0], reads, words)


def targets(picked: Sample, deep: str | None) -> list[Target]:
    numbers = picked.dispatcher_numbers
    out = [
        Target(
            "page",
            "case list, first page",
            "dispatcher",
            lambda _: "/cases",
            note=f"the street: reads {picked.reads['dispatcher']:,} cases",
        ),
        Target(
            "page",
            "case list, first page",
            "gridworker",
            lambda _: "/cases",
            note=f"her grid {picked.gridworker_grid}: reads {picked.reads['gridworker']:,} cases",
        ),
        Target(
            "page",
            "case list, first page",
            "admin",
            lambda _: "/cases",
            note=f"all grids: reads {picked.reads['admin']:,} cases",
        ),
        Target("page", "queue 超期 (overdue)", "dispatcher", lambda _: "/cases?queue=overdue"),
        Target(
            "page",
            f"search q={COMMON_WORD}",
            "dispatcher",
            lambda _: f"/cases?q={COMMON_WORD}",
            note=f"{picked.word_titles[COMMON_WORD]:,} titles",
        ),
        Target(
            "page",
            f"search q={RARE_WORD}",
            "dispatcher",
            lambda _: f"/cases?q={RARE_WORD}",
            note=f"{picked.word_titles[RARE_WORD]:,} titles",
        ),
        Target(
            "fragment",
            f"search q={COMMON_WORD}: its count, loaded after",
            "dispatcher",
            lambda _: f"/cases/count?q={COMMON_WORD}",
            note="the fragment the search page fetches once shown (hx-trigger=load)",
            expect_numbers=False,
        ),
        Target(
            "fragment",
            f"search q={RARE_WORD}: its count, loaded after",
            "dispatcher",
            lambda _: f"/cases/count?q={RARE_WORD}",
            note="the fragment the search page fetches once shown (hx-trigger=load)",
            expect_numbers=False,
        ),
        Target("page", "closed, oldest first", "dispatcher", lambda _: "/cases?state=closed&sort=oldest"),
    ]
    if deep is not None:
        out.append(
            Target("page", f"page {DEEP_PAGES + 1} (keyset cursor)", "dispatcher", lambda _: deep, note="after= cursor")
        )
    out += [
        Target("page", "case detail, random numbers", "dispatcher", lambda i: f"/cases/{numbers[i % len(numbers)]}"),
        Target("API", "GET /api/v1/cases?limit=50", "dispatcher", lambda _: "/api/v1/cases?limit=50", "token"),
        Target(
            "API",
            f"GET /api/v1/cases offset={DEEP_PAGES * 50:,}",
            "dispatcher",
            lambda _: f"/api/v1/cases?limit=50&offset={DEEP_PAGES * 50}",
            "token",
            note="the depth of the keyset page above",
        ),
        Target(
            "API",
            f"GET /api/v1/cases offset={API_DEEP_OFFSET:,}",
            "dispatcher",
            lambda _: f"/api/v1/cases?limit=50&offset={API_DEEP_OFFSET}",
            "token",
            expect_numbers=False,
        ),
        Target(
            "API",
            "GET /api/v1/cases/{number}",
            "dispatcher",
            lambda i: f"/api/v1/cases/{numbers[i % len(numbers)]}",
            "token",
        ),
    ]
    return out


def capture(client: httpx.Client, path: str, into: Path) -> list[tuple[str, Any]]:
    """The statements (and parameters) the server ran for one request of ``path``."""
    client.get(path, headers={"X-Bench-Capture": str(into)}).raise_for_status()
    statements: list[tuple[str, Any]] = pickle.loads(into.read_bytes())
    return statements


def run_backend(backend: Backend, args: argparse.Namespace, workdir: Path, rows: list[Timing]) -> dict[str, Any]:
    print(f"{backend.name}: building the demo district and {args.cases:,} cases ...")
    var_dir = workdir / f"var-{backend.name.lower()}"
    settings = Settings(var_dir=var_dir, database_url=backend.url, scheduler_interval_seconds=0)
    engine = make_engine(backend.url)
    info: dict[str, Any] = dict(backend.info)
    try:
        generated = generate(engine, settings, cases=args.cases, seed=args.seed, say=print)
        info["generated"] = asdict(generated)
        print(f"  {generated.cases:,} cases, {generated.events:,} events in {generated.seconds}")
        with transaction(make_session_factory(engine, write=True)) as session:
            token = create_api_token(session, Actor.system("bench/web"), "dispatcher", "bench/web")
        picked = sample(engine, args.requests + args.warmup, args.seed)
        info["sample"] = {"reads": picked.reads, "titles_with": picked.word_titles}
    finally:
        engine.dispose()
    with served(backend.url, var_dir, workdir / f"server-{backend.name.lower()}.log") as base:
        clients = {name: sign_in(base, name) for name in PASSWORDS}
        api = httpx.Client(base_url=base, timeout=60, headers={"Authorization": f"Bearer {token}"})
        pages = clients["dispatcher"].get("/cases").status_code == 200
        info["pages_available"] = pages
        deep = deep_path(clients["dispatcher"], "/cases", DEEP_PAGES) if pages else None
        info["deep_path"] = deep
        for target in targets(picked, deep):
            if target.layer != "API" and not pages:
                continue
            client = api if target.auth == "token" else clients[target.user]
            seconds, statements, sql_ms, size = time_requests(
                client, target.paths, warmup=args.warmup, count=args.requests, expect_numbers=target.expect_numbers
            )
            rows.append(
                summarise(
                    backend.name,
                    target.layer,
                    target.name,
                    target.user,
                    target.shown_path,
                    seconds,
                    sql_statements=float(np.median(statements)),
                    sql_ms=round(float(np.median(sql_ms)), 2),
                    bytes=size,
                    note=target.note,
                )
            )
            print(f"  {target.layer:5} {target.name:38} {target.user:10} median {rows[-1].median_ms:8.2f} ms")
        first = "/cases" if pages else "/api/v1/cases?limit=50"
        page_capture = capture(clients["dispatcher"] if pages else api, first, workdir / "capture-page.pickle")
        api_capture = capture(api, "/api/v1/cases?limit=50", workdir / "capture-api.pickle")
        for client in (*clients.values(), api):
            client.close()
    info["first_page_statements"] = statement_kinds(page_capture)
    info["api_first_page_statements"] = statement_kinds(api_capture)
    reading = reads(page_capture)
    replayed = replay(backend.url, reading, args.requests)
    slowest = replayed.slowest()
    info["first_page_queries"] = [
        {"sql": statement, "median_ms": round(float(np.median([run[i] for run in replayed.each])) * 1000, 3)}
        for i, (statement, _) in enumerate(reading)
    ]
    driver = "sqlite3" if backend.name == "SQLite" else "psycopg"
    what = "/cases page" if pages else "API page"
    rows.append(
        summarise(
            backend.name,
            "bare SQL",
            f"all {len(reading)} SELECTs of the first {what}",
            "dispatcher",
            first,
            replayed.totals,
            note=f"{driver}, no web stack; the request ran {len(page_capture)} statements in all",
        )
    )
    rows.append(
        summarise(
            backend.name,
            "bare SQL",
            "the slowest of them alone",
            "dispatcher",
            first,
            [run[slowest] for run in replayed.each],
            note=f"{driver}: " + " ".join(reading[slowest][0].split())[:60] + "…",
        )
    )
    if args.profile:
        info["profiles"] = profile_slow(backend, rows, var_dir, args)
    return info


def profile_slow(backend: Backend, rows: list[Timing], var_dir: Path, args: argparse.Namespace) -> dict[str, str]:
    """pyinstrument over the slowest page of this backend that misses the goal (and the first page, to compare)."""
    pages = [r for r in rows if r.backend == backend.name and r.layer == "page"]
    if not pages:
        return {}
    wanted = {pages[0].name: pages[0]}
    slow = max(pages, key=lambda r: r.median_ms)
    if not slow.meets_goal:
        wanted[slow.name] = slow
    out: dict[str, str] = {}
    for row in wanted.values():
        print(f"{backend.name}: profiling {row.path} as {row.user} ...")
        report = profile_request(backend.url, var_dir, row.user, row.path, args.profile)
        out[f"{row.name} ({row.user}) {row.path}"] = report
        if args.output:
            slug = re.sub(r"[^a-z0-9]+", "-", quote(row.path.lstrip("/"), safe="").lower()).strip("-") or "root"
            (args.output.parent / f"profile-{backend.name.lower()}-{slug}.txt").write_text(report, encoding="utf-8")
    return out


def markdown(rows: list[Timing]) -> str:
    out = io.StringIO()
    out.write(
        "| backend | layer | what | as | median ms | p90 ms | p99 ms | SQL stmts | SQL ms (median) | KiB | note |\n"
    )
    out.write("|---|---|---|---|---:|---:|---:|---:|---:|---:|---|\n")
    for r in rows:
        stmts = "" if r.sql_statements is None else f"{r.sql_statements:g}"
        sql = "" if r.sql_ms is None else f"{r.sql_ms:.1f}"
        size = "" if r.bytes is None else f"{r.bytes / 1024:.0f}"
        mark = "" if r.layer != "page" else (" ✓" if r.meets_goal else " ✗")
        out.write(
            f"| {r.backend} | {r.layer} | {r.name} | {r.user} | {r.median_ms:.1f}{mark} | {r.p90_ms:.1f} | "
            f"{r.p99_ms:.1f} | {stmts} | {sql} | {size} | {r.note} |\n"
        )
    return out.getvalue()


def versions() -> dict[str, str]:
    import fastapi
    import jinja2
    import starlette
    import uvicorn

    return base_versions() | {
        "fastapi": fastapi.__version__,
        "starlette": starlette.__version__,
        "jinja2": jinja2.__version__,
        "uvicorn": uvicorn.__version__,
        "httpx": httpx.__version__,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200, help="timed requests per measurement")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests before them")
    parser.add_argument("--profile", type=int, default=30, help="requests under pyinstrument per profile (0: none)")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--postgres-url", default=None, help="URL of the civicgrid_bench database")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the databases and logs here (temp dir)")
    parser.add_argument("--output", type=Path, default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)

    started = dt.datetime.now(dt.UTC)
    machine_info = machine()
    rows: list[Timing] = []
    backends = on_each_backend(
        args, "bench_web", POSTGRES_SETTINGS, lambda backend, workdir: run_backend(backend, args, workdir, rows)
    )
    table = markdown(rows)
    print()
    print(table)
    report = {
        "goal_ms": GOAL_MS,
        "params": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "versions": versions(),
        "backends": backends,
        "results": [asdict(row) | {"meets_goal": row.meets_goal} for row in rows],
        "markdown": table,
    }
    write_report(args, started, machine_info, HERE, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
