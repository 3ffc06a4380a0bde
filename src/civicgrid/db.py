"""Engine and session factory, the declarative base, and column types shared by every domain.

SQLite (WAL, foreign keys on) is the embedded default; PostgreSQL is the production database. Both run the same
Alembic migrations (``civicgrid.migrations``) — nothing outside throwaway test fixtures calls ``create_all``.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import JSON, DateTime, Engine, MetaData, String, create_engine, event, inspect
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

from civicgrid.errors import ConflictError, InvalidInputError
from civicgrid.settings import Settings
from civicgrid.text import refuse_unstorable

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


_Row = TypeVar("_Row")

MAX_INTEGER = 2**31 - 1
"""The largest value an ``Integer`` column holds on PostgreSQL (32 bits): ids, versions, counts."""


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def get_by_id(session: Session, model: type[_Row], row_id: int) -> _Row | None:
    """``session.get`` for an id someone typed: an id no ``Integer`` column holds (0, negative, beyond 32 bits)
    finds nothing, instead of failing in the database (PostgreSQL: out of range; SQLite: past 64 bits)."""
    if isinstance(row_id, bool) or not isinstance(row_id, int) or not 1 <= row_id <= MAX_INTEGER:
        return None
    return session.get(model, row_id)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend.

    Naive datetimes are refused on the way in (their zone is unknown); SQLite hands back naive values, which are
    UTC by construction and get their zone re-attached.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware datetime (UTC)")
        as_utc = value.astimezone(dt.UTC)
        return as_utc.replace(tzinfo=None) if dialect.name == "sqlite" else as_utc

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


@event.listens_for(Session, "before_flush")
def _refuse_unstorable_text(session: Session, _context: Any, _instances: Any) -> None:
    """The last line before the database, for every writer (API, pages, CLI, imports): text a column cannot
    hold — NUL, a lone surrogate, more characters than a ``String(n)`` takes — is refused as invalid input, the
    same on SQLite (which would store it) and PostgreSQL (which would fail). Services check their fields first,
    with their own words; this catches what they missed."""
    for instance in (*session.new, *session.dirty):
        state = inspect(instance)
        is_new = state.key is None
        for prop in state.mapper.column_attrs:
            column = prop.columns[0]
            if not isinstance(column.type, String | JSON) or prop.key not in state.dict:
                continue
            if not is_new and not state.attrs[prop.key].history.added:
                continue
            _check_storable(f"{column.table.name}.{column.name}", column.type, state.dict[prop.key])


def _check_storable(field: str, column_type: Any, value: Any) -> None:
    refuse_unstorable(value, "填写的内容", field)
    length = getattr(column_type, "length", None)
    if isinstance(value, str) and length is not None and len(value) > length:
        raise InvalidInputError(
            f"填写的内容超过{length}个字，无法保存", code="text_too_long", detail={"field": field, "max_length": length}
        )


def sql_in_list(column: str, values: list[str]) -> str:
    """SQL text for a CHECK constraint keeping a string column to known values (enums stay plain strings)."""
    quoted = ", ".join("'" + value.replace("'", "''") + "'" for value in values)
    return f"{column} IN ({quoted})"


JSONType = JSON().with_variant(JSONB(), "postgresql")


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


DEFAULT_SQLITE_BUSY_TIMEOUT_MS = 30_000  # CLI commands and bulk jobs may wait long for a busy server


def make_engine(url: str, *, sqlite_busy_timeout_ms: int = DEFAULT_SQLITE_BUSY_TIMEOUT_MS, **kwargs: Any) -> Engine:
    """Create an engine; for SQLite switch on WAL, foreign keys and real transactions (SAVEPOINT included)."""
    if not is_sqlite(url):
        return create_engine(url, pool_pre_ping=True, **kwargs)
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": sqlite_busy_timeout_ms / 1000}, **kwargs)
    event.listen(engine, "connect", functools.partial(_sqlite_on_connect, busy_timeout_ms=sqlite_busy_timeout_ms))
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def server_engine(settings: Settings) -> Engine:
    """The engine of a server process, its pool sized to the request threads (``Settings.db_pool_size`` …).

    A request holds one connection at a time (``civicgrid.http.deps``): with pool size + overflow at least the
    number of request threads, a request waits only for the database itself — SQLite's write lock (at most
    ``sqlite_busy_timeout_ms``) or a PostgreSQL row lock held by a transaction about to commit — never for a
    connection that another waiting request holds. Should the pool still run dry, the request is answered 503
    after ``db_pool_timeout_seconds``."""
    return make_engine(
        settings.effective_database_url,
        sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
    )


def _sqlite_on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry, *, busy_timeout_ms: int) -> None:
    # pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINT; we emit BEGIN ourselves instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    finally:
        cursor.close()


_WRITE_OPTION = "civicgrid_write"


def _sqlite_on_begin(connection: Any) -> None:
    # A writing transaction takes the write lock up front: a deferred one that read first would fail with
    # SQLITE_BUSY_SNAPSHOT when another writer commits in between, instead of waiting its turn.
    immediate = connection.get_execution_options().get(_WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_session_factory(engine: Engine, *, write: bool = False) -> sessionmaker[Session]:
    """Sessions for reading, or (write=True) for transactions that change data."""
    bind = engine.execution_options(**{_WRITE_OPTION: True}) if write else engine
    return sessionmaker(bind=bind, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session inside one transaction: committed if the block succeeds, rolled back if it raises.

    Lost races surface as ``ConflictError``: a row changed since it was read (version check), or SQLite
    refusing a write on a stale snapshot. Nothing of the losing transaction is kept.
    """
    try:
        with factory() as session, session.begin():
            yield session
    except (StaleDataError, IntegrityError, OperationalError) as error:
        conflict = conflict_from(error)
        if conflict is None:
            raise
        raise conflict from error


def conflict_from(error: BaseException) -> ConflictError | None:
    """The lost race behind a database error, as the ConflictError a user is shown; None for any other error."""
    if isinstance(error, StaleDataError):
        return ConflictError("数据已被他人修改，请刷新后重试", code="stale_version")
    if isinstance(error, IntegrityError):
        # Checks run before writing; a unique or foreign-key violation here means a concurrent writer won.
        return ConflictError("数据已被他人同时修改或创建，请刷新后重试", code="integrity_conflict")
    if isinstance(error, OperationalError) and is_sqlite_busy(error):
        return ConflictError("数据正被他人修改或系统繁忙，请稍后重试", code="busy")
    return None


def finish(session: Session, *, commit: bool) -> None:
    """End a session's transaction — commit (a lost race raised as ConflictError) or roll back — and close it."""
    try:
        if not commit:
            session.rollback()
            return
        try:
            session.commit()
        except (StaleDataError, IntegrityError, OperationalError) as error:
            conflict = conflict_from(error)
            if conflict is None:
                raise
            raise conflict from error
    finally:
        session.close()


def is_sqlite_busy(error: OperationalError) -> bool:
    message = str(error.orig).lower()
    return "database is locked" in message or "database is busy" in message
