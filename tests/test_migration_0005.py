"""Migration 0005 on a database that already holds cases: nothing of their history is lost, and what the history
tells (first response, 联动) is filled in. SQLite is where it could go wrong: a table rebuild there, with foreign
keys on, would cascade-delete every case's events and assignments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, inspect, text

from civicgrid import migrate
from civicgrid.db import make_engine


def _filler(column: dict[str, Any]) -> object:
    kind = str(column["type"]).upper()
    if "INT" in kind or "BOOL" in kind:
        return 1 if "BOOL" not in kind else 0
    if "DATETIME" in kind or "TIMESTAMP" in kind:
        return "2025-10-09 02:00:00.000000"
    if "JSON" in kind:
        return "{}"
    if "FLOAT" in kind or "REAL" in kind:
        return 0.0
    return "x"


def _insert(engine: Engine, table: str, values: dict[str, object]) -> None:
    """A row with the given values and a filler in every other required column (foreign keys are off here)."""
    required = {
        column["name"]: _filler(column)
        for column in inspect(engine).get_columns(table)
        if not column["nullable"] and column.get("default") is None and column["name"] != "id"
    }
    row = {**required, **values}
    names = ", ".join(f'"{name}"' for name in row)
    marks = ", ".join(f":{name}" for name in row)
    with engine.begin() as connection:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.execute(text(f'INSERT INTO "{table}" ({names}) VALUES ({marks})'), row)


def test_0005_keeps_every_cases_history_and_fills_in_what_it_tells(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    try:
        migrate.upgrade(engine, "0004")
        plain = create_engine(url)  # no civicgrid hooks: foreign keys stay off for these bare rows
        _insert(
            plain,
            "case",
            {
                "id": 1,
                "number": "20251009000001",
                "state": "dispatched",
                "channel": "hotline_12345",
                "placement": "located",
            },
        )
        for seq, (source, target, at) in enumerate(
            [(None, "reported", "02:00"), ("reported", "registered", "02:30"), ("registered", "dispatched", "03:00")],
            start=1,
        ):
            _insert(
                plain,
                "case_event",
                {"case_id": 1, "seq": seq, "from_state": source, "to_state": target, "at": f"2025-10-09 {at}:00"},
            )
        _insert(plain, "case_assignment", {"case_id": 1, "department_id": 7, "role": "main"})
        _insert(plain, "case_assignment", {"case_id": 1, "department_id": 8, "role": "assist"})
        plain.dispose()

        migrate.upgrade(engine)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM case_event")).scalar_one() == 3
            assert connection.execute(text("SELECT count(*) FROM case_assignment")).scalar_one() == 2
            responded, linked = connection.execute(text('SELECT responded_at, linked FROM "case"')).one()
        assert str(responded).startswith("2025-10-09 02:30") and linked == 1

        migrate.downgrade(engine, "0004")
        assert "linked" not in {c["name"] for c in inspect(engine).get_columns("case")}
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM case_event")).scalar_one() == 3
    finally:
        engine.dispose()
