"""Alembic environment. Run through ``civicgrid db upgrade`` (which passes the engine's connection in)."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from civicgrid.db import make_engine
from civicgrid.models import metadata
from civicgrid.settings import get_settings


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url") or get_settings().effective_database_url
    engine = make_engine(url)
    with engine.connect() as new_connection:
        _configure_and_run(new_connection)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("civicgrid migrations run online only: use `civicgrid db upgrade`")
run_migrations_online()
