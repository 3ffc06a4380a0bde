"""The deliverer: sends due outbox messages, retries failures with backoff, gives up visibly.

One message at a time, in three steps, so that no database transaction is ever open during network I/O:

1. **Claim** (one short transaction): the longest-due pending message (``next_attempt_at``, then ``id``) of a
   channel that has a sender is selected ``FOR UPDATE SKIP LOCKED`` on PostgreSQL — two deliverers never pick the
   same row, and neither waits for the other; on SQLite the ``BEGIN IMMEDIATE`` write transaction serialises the
   claims. The claim counts the attempt (``attempts + 1``) and moves ``next_attempt_at`` forward by a *lease*
   (10 minutes, far longer than any sender's timeout), which hides the message from other deliverers, then commits.
2. **Send** (no transaction): the channel's sender gets an immutable snapshot of the row.
3. **Record** (one short transaction): the outcome is written only if the row is still exactly as claimed
   (pending, same attempt count, same lease). If the deliverer died between 1 and 3, the lease runs out and the
   message is sent again by someone else: delivery is *at least once*, and senders pass the outbox id on so that
   receivers can drop duplicates. Counting the attempt at claim time means a message that kills its deliverer still
   reaches the maximum and dies instead of being retried forever.

Outcomes:

* delivered → ``sent``, ``sent_at`` = now, ``last_error`` cleared;
* a retryable failure → stays ``pending``, ``next_attempt_at`` = now + :func:`backoff`, ``last_error`` kept;
* a failure that is not retryable, or a failure on attempt ``max_attempts`` → ``dead`` (requeue with
  :func:`civicgrid.notify.outbox.requeue`); an unexpected exception in a sender counts as retryable;
* a message whose channel has no sender here is not claimed and not charged an attempt: it stays ``pending`` and
  *due*, its ``last_error`` says "渠道未配置", and it goes out on the first run of a deliverer that has a sender for
  it (configuring a channel later must not require a requeue, and nothing dies of a missing configuration).

Backoff: after the n-th failed attempt the message waits 30 s × 2^(n−1) (30 s, 1 min, 2 min … ), plus a small
deterministic jitter of (id mod 11) % of that delay — so that a burst of messages that failed together (a webhook
that was down) does not come back as one burst — and never more than 1 hour.

``session_factory`` must make *write* sessions (``make_session_factory(engine, write=True)``) so that SQLite takes
its write lock at BEGIN.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import CursorResult, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from civicgrid.db import transaction, utcnow
from civicgrid.notify.adapters import DeliveryError, OutgoingMessage, Sender
from civicgrid.notify.models import OutboxMessage, OutboxStatus
from civicgrid.settings import get_settings

logger = logging.getLogger("civicgrid.notify")

BACKOFF_BASE_SECONDS = 30
BACKOFF_CAP_SECONDS = 3600
BACKOFF_JITTER_MODULUS = 11  # jitter: (id mod 11) % of the delay, i.e. 0 … 10 %
CLAIM_LEASE = dt.timedelta(minutes=10)
LAST_ERROR_MAX = 500  # models.OutboxMessage.last_error


def unconfigured_error(channel: str) -> str:
    return f"渠道未配置：{channel}（配置该渠道的发送方式后自动发送）"


def backoff(attempts: int, message_id: int = 0) -> dt.timedelta:
    """How long a message waits after its ``attempts``-th failed attempt (see the module docstring)."""
    exponent = min(max(attempts, 1) - 1, 20)
    seconds = BACKOFF_BASE_SECONDS * 2**exponent
    seconds += seconds * (message_id % BACKOFF_JITTER_MODULUS) // 100
    return dt.timedelta(seconds=min(seconds, BACKOFF_CAP_SECONDS))


@dataclass
class DeliveryReport:
    """What one :func:`deliver_due` run did, by message id."""

    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)  # failed, will be tried again
    dead: list[int] = field(default_factory=list)
    lost: list[int] = field(default_factory=list)  # sent, but the claim had expired: outcome left to the new owner
    unconfigured: dict[str, int] = field(default_factory=dict)  # due messages per channel without a sender

    @property
    def attempted(self) -> int:
        return len(self.sent) + len(self.retrying) + len(self.dead) + len(self.lost)


@dataclass(frozen=True)
class _Claim:
    message: OutgoingMessage
    attempts: int
    lease_until: dt.datetime


def deliver_due(
    session_factory: sessionmaker[Session],
    senders: Mapping[str, Sender],
    *,
    now: dt.datetime | None = None,
    batch: int = 100,
    max_attempts: int | None = None,
) -> DeliveryReport:
    """Send up to ``batch`` due messages, each claimed and recorded in its own short transaction.

    ``senders`` maps a channel to the sender serving it (the key decides, not ``sender.channel``). ``now`` fixes
    the clock for the whole run (tests, catch-up runs); by default every step reads the current time.
    ``max_attempts`` defaults to the ``notify_max_attempts`` setting. Messages that fail are rescheduled into the
    future, so one run never tries the same message twice.
    """
    if batch < 1:
        raise ValueError("batch must be at least 1")
    if now is not None and now.tzinfo is None:
        raise ValueError("naive datetime: pass an aware datetime (UTC)")
    limit = max_attempts if max_attempts is not None else get_settings().notify_max_attempts
    if limit < 1:
        raise ValueError("max_attempts must be at least 1")
    fixed = now
    clock: Callable[[], dt.datetime] = (lambda: fixed) if fixed is not None else utcnow
    channels = sorted(senders)
    report = DeliveryReport()
    report.unconfigured = _mark_unconfigured(session_factory, channels, clock())
    while channels and report.attempted < batch:
        claim = _claim(session_factory, channels, clock())
        if claim is None:
            break
        error = _send(senders[claim.message.channel], claim.message)
        outcome = _record(session_factory, claim, error, clock(), limit)
        getattr(report, outcome).append(claim.message.id)
    return report


def _mark_unconfigured(factory: sessionmaker[Session], channels: list[str], now: dt.datetime) -> dict[str, int]:
    due_elsewhere = (
        OutboxMessage.status == OutboxStatus.PENDING.value,
        OutboxMessage.next_attempt_at <= now,
        OutboxMessage.channel.not_in(channels),
    )
    with transaction(factory) as session:
        rows = session.execute(
            select(OutboxMessage.channel, func.count()).where(*due_elsewhere).group_by(OutboxMessage.channel)
        )
        counts: dict[str, int] = dict(rows.all())
        for channel in sorted(counts):
            note = unconfigured_error(channel)
            session.execute(
                update(OutboxMessage)
                .where(
                    *due_elsewhere,
                    OutboxMessage.channel == channel,
                    or_(OutboxMessage.last_error.is_(None), OutboxMessage.last_error != note),
                )
                .values(last_error=note)
                .execution_options(synchronize_session=False)
            )
    if counts:
        logger.warning("通知渠道未配置，消息保留待发：%s", counts)
    return counts


def _claim(factory: sessionmaker[Session], channels: list[str], now: dt.datetime) -> _Claim | None:
    with transaction(factory) as session:
        row = session.execute(
            select(OutboxMessage)
            .where(
                OutboxMessage.status == OutboxStatus.PENDING.value,
                OutboxMessage.next_attempt_at <= now,
                OutboxMessage.channel.in_(channels),
            )
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).scalar_one_or_none()
        if row is None:
            return None
        row.attempts += 1
        row.next_attempt_at = now + CLAIM_LEASE
        session.flush()
        return _Claim(OutgoingMessage.from_row(row), row.attempts, row.next_attempt_at)


def _send(sender: Sender, message: OutgoingMessage) -> DeliveryError | None:
    try:
        sender.send(message)
    except DeliveryError as error:
        return error
    except Exception as error:  # a bug in a sender must not stop the deliverer; the message keeps its attempts
        logger.exception("通知 #%s：发送程序出错", message.id)
        return DeliveryError(f"发送程序出错：{type(error).__name__}: {error}", retryable=True)
    return None


def _record(
    factory: sessionmaker[Session], claim: _Claim, error: DeliveryError | None, now: dt.datetime, max_attempts: int
) -> str:
    """Write the outcome if the claim still holds; returns the report list it belongs to."""
    message = claim.message
    values: dict[str, Any]
    if error is None:
        outcome = "sent"
        values = {"status": OutboxStatus.SENT.value, "sent_at": now, "last_error": None}
    elif not error.retryable or claim.attempts >= max_attempts:
        outcome = "dead"
        reason = error.message if not error.retryable else f"已尝试 {claim.attempts} 次，放弃：{error.message}"
        values = {"status": OutboxStatus.DEAD.value, "next_attempt_at": now, "last_error": _truncate(reason)}
    else:
        outcome = "retrying"
        values = {"next_attempt_at": now + backoff(claim.attempts, message.id), "last_error": _truncate(error.message)}
    with transaction(factory) as session:
        result = cast(
            CursorResult[Any],
            session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id == message.id,
                    OutboxMessage.status == OutboxStatus.PENDING.value,
                    OutboxMessage.attempts == claim.attempts,
                    OutboxMessage.next_attempt_at == claim.lease_until,
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            ),
        )
        if result.rowcount != 1:
            logger.warning("通知 #%s：认领已过期，结果（%s）交由新的投递者记录", message.id, outcome)
            return "lost"
    if outcome == "dead":
        logger.error(
            "通知 #%s [%s → %s] 已放弃：%s", message.id, message.channel, message.recipient, values["last_error"]
        )
    elif outcome == "retrying":
        logger.warning(
            "通知 #%s [%s] 第 %s 次投递失败，稍后重试：%s", message.id, message.channel, claim.attempts, error
        )
    return outcome


def _truncate(text: str) -> str:
    return text if len(text) <= LAST_ERROR_MAX else text[: LAST_ERROR_MAX - 1] + "…"
