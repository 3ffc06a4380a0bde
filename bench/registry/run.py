"""Registry throughput: importing 100,000 residents from the people template (goal: under 30 s on SQLite) against
a raw executemany INSERT of the same rows, and the time of the per-grid statistics over the street's registry at
seed-004 scale, on SQLite (file) and PostgreSQL, in one run.

Run from the repository root (see bench/registry/README.md):

    .venv/bin/python bench/registry/run.py --output bench/registry/data/results.json \\
        --postgres-url postgresql+psycopg://civicgrid:civicgrid@127.0.0.1/civicgrid_bench
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from civicgrid import migrate
from civicgrid.db import make_engine, make_session_factory, transaction
from civicgrid.demo.district import MAIN_STREET, build_demo
from civicgrid.demo.registry import RegistryOptions, generate_registry
from civicgrid.geo.coords import wgs84_to_gcj02
from civicgrid.org.actor import Actor
from civicgrid.registry import stats
from civicgrid.registry.models import Person, Residence
from civicgrid.registry.people_import import COLUMNS, import_people
from civicgrid.registry.protect import Protector
from civicgrid.settings import Settings
from civicgrid.tables import read_table
from machine import Backend, base_versions, machine, on_each_backend, write_report

HERE = Path(__file__).parent
PROTECTOR = Protector(b"b" * 32)
LABELS = {residence.value: residence.label for residence in Residence}


def say(*parts: object) -> None:
    print(*parts, flush=True)


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def write_workbook(path: Path, residents: int, seed: int) -> dict[str, Any]:
    """The people of a generated street (valid ID numbers, households, tags, GCJ-02 points) as the import template
    would be filled in by a street office, in a scratch SQLite database."""
    scratch = path.with_suffix(".scratch.db")
    scratch.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{scratch}")
    migrate.upgrade(engine)
    with transaction(make_session_factory(engine, write=True)) as session:
        build_demo(session, settings=Settings(var_dir=path.parent / "var"))
        generate_registry(session, PROTECTOR, RegistryOptions(residents=residents, seed=seed))
        people = session.execute(select(Person).order_by(Person.id)).scalars().all()
        book = Workbook(write_only=True)
        sheet = book.create_sheet("实有人口")
        sheet.append([column.header for column in COLUMNS])
        for person in people:
            lon, lat = wgs84_to_gcj02(person.lon or 0.0, person.lat or 0.0)
            id_number = PROTECTOR.open(person.id_number_sealed or "", "person.id_number")
            phone = PROTECTOR.open(person.phone_sealed, "person.phone") if person.phone_sealed else ""
            tags = "、".join(person.tags)
            sheet.append(
                [person.name, id_number, phone, LABELS[person.residence], person.household_no, tags,
                 person.address, round(lon, 6), round(lat, 6), "gcj02", ""]
            )  # fmt: skip
        book.save(path)
    engine.dispose()
    return {"rows": len(people), "bytes": path.stat().st_size}


def _fresh_demo(backend: Backend, workdir: Path) -> tuple[Any, Any]:
    engine = make_engine(backend.url)
    migrate.upgrade(engine)
    writer = make_session_factory(engine, write=True)
    with transaction(writer) as session:
        build_demo(session, settings=Settings(var_dir=workdir / "var"))
    return engine, writer


def run_import(backend: Backend, workdir: Path, workbook: Path) -> dict[str, Any]:
    """Reading the workbook, the peer's executemany, and import_people into the demo district's empty registry."""
    engine, writer = _fresh_demo(backend, workdir)
    actor = Actor.system("基准测试")
    result: dict[str, Any] = {"backend": backend.info}
    read_seconds, table = timed(lambda: read_table(workbook))
    result["read_workbook_s"] = round(read_seconds, 2)
    say(f"  {backend.name}: read {len(table.rows):,} rows in {read_seconds:.1f} s")
    result["peer_executemany_s"] = _peer(writer, actor, table)
    say(f"  peer executemany INSERT: {result['peer_executemany_s']:.1f} s")
    with transaction(writer) as session:
        seconds, report = timed(
            lambda: import_people(session, actor, table, PROTECTOR, source="bench.xlsx", keep_good=True)
        )
    result["import_s"] = round(seconds, 2)
    result["imported"], result["rejected"] = len(report.created), len(report.rejected)
    say(f"  import_people: {len(report.created):,} in {seconds:.1f} s ({len(report.rejected)} rejected)")
    engine.dispose()
    return result


def run_statistics(backend: Backend, workdir: Path, repeats: int) -> dict[str, Any]:
    """The registry generated at seed-004 scale in a fresh demo district, then the per-grid statistics."""
    engine, writer = _fresh_demo(backend, workdir)
    result: dict[str, Any] = {"backend": backend.info}
    with transaction(writer) as session:
        seconds, summary = timed(lambda: generate_registry(session, PROTECTOR, RegistryOptions(seed=7)))
    result["generate_registry_s"], result["registry"] = round(seconds, 2), summary.counts
    say(f"  {backend.name}: generate_registry: {summary.summary()} in {seconds:.1f} s")
    result["statistics"] = _statistics(writer, Actor.system("基准测试"), repeats)
    engine.dispose()
    return result


def _peer(writer: Any, actor: Actor, table: Any) -> float:
    """The rows an import writes (checked, sealed, placed — taken from an import rolled back), written with one
    executemany INSERT into the same empty table, no checks, no history: the floor an import cannot go below."""
    people: Table = Person.__table__  # type: ignore[assignment]
    with writer() as session:
        import_people(session, actor, table, PROTECTOR, source="peer.xlsx", keep_good=True)
        rows = [dict(row._mapping) for row in session.execute(select(people))]
        session.rollback()
    with writer() as session:
        seconds, _ = timed(lambda: session.execute(insert(people), rows))
        session.rollback()
    return round(seconds, 2)


def _statistics(writer: Any, actor: Actor, repeats: int) -> list[dict[str, Any]]:
    measured = []
    with writer() as session:
        grids = _grids(session)
        for label, call in (
            ("overview (counts per lower grid, tags, residence)", stats.overview),
            ("building_economy (楼宇经济, top 20)", lambda s, a, g: stats.building_economy(s, a, g, limit=20)),
            ("tax_per_mu (亩均税收, top 20)", lambda s, a, g: stats.tax_per_mu(s, a, g, limit=20)),
            ("parcels_by_status", stats.parcels_by_status),
        ):
            for level, code in grids:
                median = _median_ms(lambda call=call, code=code: call(session, actor, code), repeats)
                measured.append({"function": label, "grid": level, "median_ms": median})
                say(f"  {label} @ {level}: {measured[-1]['median_ms']} ms")
    return measured


def _median_ms(action: Callable[[], Any], repeats: int) -> float:
    action()  # warm-up
    return round(statistics.median(timed(action)[0] for _ in range(repeats)) * 1000, 1)


def _grids(session: Session) -> list[tuple[str, str]]:
    view = stats.overview(session, Actor.system("基准测试"), MAIN_STREET)
    community = view.rows[0].grid.code if view.rows and view.rows[0].grid else MAIN_STREET
    return [("district", MAIN_STREET[:6]), ("street", MAIN_STREET), ("community", community)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--postgres-url", default=None)
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    started, machine_info = dt.datetime.now(dt.UTC), machine()
    scratch = Path(args.workdir or HERE / "data")
    workbook = scratch / f"people-{args.residents}.xlsx"
    say(f"writing the workbook of ~{args.residents:,} residents…")
    seconds, info = timed(lambda: write_workbook(workbook, args.residents, args.seed))
    say(f"  {info['rows']:,} rows, {info['bytes'] / 1e6:.1f} MB in {seconds:.0f} s")
    imports = on_each_backend(args, "registry", (), lambda backend, workdir: run_import(backend, workdir, workbook))
    statistics = on_each_backend(
        args, "registry", (), lambda backend, workdir: run_statistics(backend, workdir, args.repeats)
    )
    backends = {name: imports.get(name, {}) | statistics.get(name, {}) for name in imports | statistics}
    report = {"versions": base_versions(), "workbook": info, "backends": backends}
    write_report(args, started, machine_info, HERE, report)
    workbook.unlink(missing_ok=True)
    workbook.with_suffix(".scratch.db").unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
