"""Many new registry records at once — an import of 100,000 residents, the demo's registry — written the way
single registrations are (the same columns, a creation entry each in the history) but set-based: a chunk of rows
with ids the database hands out (so concurrent writers cannot collide) in one executemany, then their history
rows in another."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, cast

from sqlalchemy import Table, insert, text
from sqlalchemy.orm import Session

from civicgrid import timesource
from civicgrid.org.actor import Actor
from civicgrid.registry.history import creation_rows
from civicgrid.registry.models import RegistryChange

Row = dict[str, Any]
CHUNK = 2_000  # rows per INSERT … RETURNING: larger chunks gain nothing and hold more in memory
_CHANGES = cast(Table, RegistryChange.__table__)


def insert_records(
    session: Session,
    actor: Actor,
    model: Any,
    object_type: str,
    rows: Sequence[Row],
    tracked: Callable[[Row], Row],
    at: dt.datetime | None = None,
) -> list[int]:
    """Insert ``rows`` (column → value) into ``model``'s table, record each one's creation with the values
    ``tracked`` picks from the row, and return the new ids in row order. Each row gets its ``id``."""
    table: Table = model.__table__
    moment = at or timesource.now()
    columns = {name for row in rows for name in row} | {"created_at", "updated_at", "version"}
    stamp = dict.fromkeys(columns) | {"created_at": moment, "updated_at": moment, "version": 1}
    ids: list[int] = []
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        new_ids = _insert_chunk(session, table, [stamp | row for row in chunk])
        for row, new_id in zip(chunk, new_ids, strict=True):
            row["id"] = new_id
        history = creation_rows(actor, object_type, {row["id"]: _present(tracked(row)) for row in chunk}, moment)
        session.execute(insert(_CHANGES), history)
        ids.extend(new_ids)
    return ids


def _insert_chunk(session: Session, table: Table, rows: list[Row]) -> list[int]:
    """The rows with ids no other writer can take, then one plain executemany (no RETURNING: a multi-row
    INSERT … RETURNING makes psycopg parse a 40,000-placeholder statement in Python, twice the cost of the insert).

    PostgreSQL: the ids are drawn from the table's own sequence in one query. SQLite runs RETURNING row by row, so
    there the first row goes in alone — which takes the database's single write lock until commit — and the others
    follow with the ids after it, which no other writer can take meanwhile."""
    if session.get_bind().dialect.name == "postgresql":
        ids = _ids_from_sequence(session, table, len(rows))
        session.execute(insert(table), [row | {"id": i} for row, i in zip(rows, ids, strict=True)])
        return ids
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    first = int(session.execute(statement, rows[0]).scalar_one())
    ids = list(range(first, first + len(rows)))
    if len(rows) > 1:
        session.execute(insert(table), [row | {"id": i} for row, i in zip(rows[1:], ids[1:], strict=True)])
    return ids


def _ids_from_sequence(session: Session, table: Table, count: int) -> list[int]:
    drawn = session.execute(
        text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :count)"),
        {"table": table.name, "count": count},
    )
    return [int(i) for i in drawn.scalars()]


def _present(values: Row) -> Row:
    """What ``history.diff`` records for a creation: blank values are left out."""
    return {name: value for name, value in values.items() if value not in (None, [])}
