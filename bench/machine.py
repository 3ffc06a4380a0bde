"""What every bench/*/run.py shares: the machine a benchmark ran on (recorded next to its numbers), the
databases it runs against (a fresh SQLite file; a schema of its own in the civicgrid_bench PostgreSQL database,
dropped at the end), and the versions and commit of the run."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy import make_url, text

from civicgrid.db import make_engine

BENCH_DATABASE = "civicgrid_bench"  # the only PostgreSQL database a benchmark touches


def machine() -> dict[str, Any]:
    return {
        "cpu": _proc_value("/proc/cpuinfo", "model name") or "unknown",
        "cores": os.cpu_count(),
        "ram_gib": round(int((_proc_value("/proc/meminfo", "MemTotal") or "0 kB").split()[0]) / 1024**2, 1),
        "platform": platform.platform(),
        "load_avg_at_start": os.getloadavg(),
    }


def _proc_value(path: str, key: str) -> str | None:
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    return None


@dataclass
class Backend:
    name: str  # "SQLite" | "PostgreSQL"
    url: str
    info: dict[str, Any] = field(default_factory=dict)


@contextmanager
def sqlite_backend(path: Path) -> Iterator[Backend]:
    """A fresh SQLite file at ``path`` (any earlier one and its WAL removed)."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    yield Backend("SQLite", f"sqlite:///{path}", {"sqlite": sqlite3.sqlite_version})


@contextmanager
def postgres_backend(url: str, schema_prefix: str, settings: Sequence[str]) -> Iterator[Backend]:
    """A schema of its own (``<schema_prefix>_<random>``) in the civicgrid_bench database, reached through
    search_path and dropped at the end, also after a failure; any other database is refused. ``settings`` are the
    server settings recorded with the results."""
    parsed = make_url(url)
    if parsed.database != BENCH_DATABASE:
        raise SystemExit(f"refusing database {parsed.database!r}: this benchmark only uses {BENCH_DATABASE!r}")
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    schema = f"{schema_prefix}_{secrets.token_hex(4)}"
    base = parsed.render_as_string(hide_password=False)
    admin = make_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
        version = connection.execute(text("SHOW server_version")).scalar_one()
        shown = {name: connection.execute(text(f"SHOW {name}")).scalar_one() for name in settings}
    separator = "&" if "?" in base else "?"
    try:
        yield Backend(
            "PostgreSQL",
            f"{base}{separator}options=-csearch_path%3D{schema}",
            {"postgresql": version, "schema": schema, **shown},
        )
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
        print(f"  dropped schema {schema}")


def base_versions() -> dict[str, str]:
    """Python and the database layer; each benchmark adds the libraries it measures."""
    import psycopg

    return {"python": platform.python_version(), "sqlalchemy": sqlalchemy.__version__, "psycopg": psycopg.__version__}


def commit(where: Path) -> str:
    """The checked-out commit (short), with "+changes" when the working tree differs from it."""
    try:
        head = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(where), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}+changes" if dirty else head


def on_each_backend(
    args: argparse.Namespace,
    name: str,
    postgres_settings: Sequence[str],
    run: Callable[[Backend, Path], dict[str, Any]],
) -> dict[str, Any]:
    """``run(backend, workdir)`` on a fresh SQLite file (unless ``--skip-sqlite``) and on PostgreSQL (with
    ``--postgres-url``): what each returns, by backend name. The work directory is ``--workdir`` (kept) or a
    temporary one, removed afterwards, also after a failure."""
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix=f"{name}_"))
    workdir.mkdir(parents=True, exist_ok=True)
    backends: dict[str, Any] = {}
    try:
        if not args.skip_sqlite:
            with sqlite_backend(workdir / f"{name}.db") as backend:
                backends[backend.name] = run(backend, workdir)
        if args.postgres_url:
            with postgres_backend(args.postgres_url, name, postgres_settings) as backend:
                backends[backend.name] = run(backend, workdir)
        else:
            print("PostgreSQL skipped: no --postgres-url given")
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return backends


def write_report(
    args: argparse.Namespace,
    started: dt.datetime,
    machine_at_start: dict[str, Any],
    where: Path,
    report: dict[str, Any],
) -> None:
    """The run's JSON (with ``--output``): when, which commit, the machine (and its load at the end), ``report``."""
    header = {
        "started_utc": started.isoformat(timespec="seconds"),
        "finished_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": commit(where),
        "machine": machine_at_start | {"load_avg_at_end": os.getloadavg()},
    }
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(header | report, indent=2, ensure_ascii=False, default=str), "utf-8")
        print(f"wrote {args.output}")
