"""Shared fixtures: one migrated database per backend, one rolled-back transaction per test.

Every test that takes ``session`` runs on SQLite and on PostgreSQL. PostgreSQL comes from
CIVICGRID_TEST_POSTGRES_URL; without it the PostgreSQL leg is skipped locally and FAILS when CI=true.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from civicgrid import migrate
from civicgrid.db import make_engine
from civicgrid.org.actor import Actor

REAL_DATA = Path(__file__).parent / "data" / "real"
POSTGRES_ENV = "CIVICGRID_TEST_POSTGRES_URL"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def postgres_url_or_skip() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if url:
        return url
    if in_ci():
        pytest.fail(f"CI=true but {POSTGRES_ENV} is not set: the PostgreSQL leg is required in CI")
    pytest.skip(f"PostgreSQL leg skipped: set {POSTGRES_ENV} to run it")


def _reset_postgres(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'civicgrid.db'}"
        engine = make_engine(url)
    else:
        engine = make_engine(postgres_url_or_skip())
        _reset_postgres(engine)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@contextmanager
def rolled_back_session(engine: Engine) -> Iterator[Session]:
    """A session whose commits are savepoints inside one outer transaction, rolled back at the end."""
    connection = engine.connect()
    outer = connection.begin()
    db_session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield db_session
    finally:
        db_session.close()
        outer.rollback()
        connection.close()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session whose commits are savepoints inside one outer transaction, rolled back after the test."""
    with rolled_back_session(engine) as db_session:
        yield db_session


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of its own (not migrated), for tests that commit: CLI runs, HTTP requests.

    On PostgreSQL it is a fresh schema selected through search_path, dropped afterwards.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'own.db'}"
        return
    base = postgres_url_or_skip()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_base_url() -> str:
    """The PostgreSQL server for the leg that needs one (skipped locally, required in CI)."""
    return postgres_url_or_skip()


@pytest.fixture
def system() -> Actor:
    return Actor.system("测试")


@pytest.fixture
def real_data() -> Path:
    return REAL_DATA
