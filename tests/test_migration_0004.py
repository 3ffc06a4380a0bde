"""Migration 0004: the case list's indexes, up and down on both backends."""

from __future__ import annotations

from sqlalchemy import inspect

from civicgrid import migrate
from civicgrid.db import make_engine

ADDED = {
    "ix_case_state_reported_at_id": ["state", "reported_at", "id"],
    "ix_case_scope_code_escalation_code_reporter_user_id": ["scope_code", "escalation_code", "reporter_user_id"],
}


def _case_indexes(url: str) -> dict[str, list[str | None]]:
    engine = make_engine(url)
    try:
        return {index["name"] or "": index["column_names"] for index in inspect(engine).get_indexes("case")}
    finally:
        engine.dispose()


def test_0004_adds_the_case_list_indexes_and_its_downgrade_drops_them(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate.upgrade(engine, "0004")
        indexes = _case_indexes(database_url)
        assert {name: indexes.get(name) for name in ADDED} == ADDED
        migrate.downgrade(engine, "0003")
        indexes = _case_indexes(database_url)
        assert not set(ADDED) & set(indexes)
        assert {"ix_case_state", "ix_case_scope_code"} <= set(indexes)  # the older indexes stay
        migrate.upgrade(engine, "0004")
        assert set(ADDED) <= set(_case_indexes(database_url))
    finally:
        engine.dispose()
