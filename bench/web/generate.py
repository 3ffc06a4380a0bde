"""A big demo database for the page benchmark: a fresh database, the demo district, and a year of cases written
set-based by ``civicgrid.demo.history`` (the generator ``make demo`` and bench/kpi use too).

    .venv/bin/python bench/web/generate.py --database-url sqlite:////tmp/cases.db --cases 100000
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from civicgrid import migrate
from civicgrid.db import make_engine, make_session_factory, transaction
from civicgrid.demo.district import build_demo
from civicgrid.demo.history import HistoryOptions, generate_history
from civicgrid.settings import Settings


@dataclass
class Generated:
    cases: int
    events: int
    assignments: int
    states: dict[str, int]
    seconds: dict[str, float]
    first_number: str | None
    last_number: str | None


def generate(engine: Engine, settings: Settings, *, cases: int, seed: int, say: Any = print) -> Generated:
    """Migrate a fresh database, build the demo district, then write ``cases`` cases of the last twelve months."""
    started = time.perf_counter()
    migrate.upgrade(engine)
    with transaction(make_session_factory(engine, write=True)) as session:
        say(f"  demo district: {build_demo(session, settings=settings)}")
        district_seconds = time.perf_counter() - started
        result = generate_history(session, HistoryOptions(cases=cases, seed=seed), settings=settings)
    say(f"  {result.summary()}")
    seconds = {"demo district": round(district_seconds, 1), **{k: round(v, 1) for k, v in result.seconds.items()}}
    return Generated(
        result.cases,
        result.events,
        result.assignments,
        result.states,
        seconds,
        result.first_number,
        result.last_number,
    )


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
        print(generate(engine, settings, cases=args.cases, seed=args.seed))
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
