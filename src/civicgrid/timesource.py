"""The current time for business rules (deadlines, numbering), which tests and simulations may pin.

Row timestamps (created_at …) use the real clock; decisions that depend on "now" ask here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_pinned: ContextVar[dt.datetime | None] = ContextVar("civicgrid_now", default=None)


def now() -> dt.datetime:
    return _pinned.get() or dt.datetime.now(dt.UTC)


@contextmanager
def pinned(moment: dt.datetime) -> Iterator[None]:
    """Pin "now" for the block (tests, replays of historical data)."""
    if moment.tzinfo is None:
        raise ValueError("pin an aware datetime")
    token = _pinned.set(moment.astimezone(dt.UTC))
    try:
        yield
    finally:
        _pinned.reset(token)
