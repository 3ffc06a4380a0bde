"""Named counters kept in the database: sequence numbers and revision tokens of cached data."""

from __future__ import annotations

import secrets

from sqlalchemy import BigInteger, String, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from civicgrid.db import Base


class SystemCounter(Base):
    __tablename__ = "system_counter"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


def _ensure(session: Session, name: str) -> None:
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(SystemCounter).values(name=name, value=0).on_conflict_do_nothing(index_elements=["name"]))


def increment(session: Session, name: str) -> int:
    """Atomically add one to the counter (creating it at 0 first) and return the new value."""
    _ensure(session, name)
    new_value = session.execute(
        update(SystemCounter)
        .where(SystemCounter.name == name)
        .values(value=SystemCounter.value + 1)
        .returning(SystemCounter.value)
    ).scalar_one()
    return int(new_value)


def current(session: Session, name: str) -> int:
    value = session.execute(select(SystemCounter.value).where(SystemCounter.name == name)).scalar_one_or_none()
    return int(value or 0)


def renew_token(session: Session, name: str) -> int:
    """Store a fresh random token under ``name``.

    Caches key on it: unlike an incremented number, a token is never reused after a rolled-back transaction, so
    a cache can not mistake other data for the data it was built from.
    """
    _ensure(session, name)
    token = secrets.randbits(62) + 1
    session.execute(update(SystemCounter).where(SystemCounter.name == name).values(value=token))
    return token
