"""Writing to the outbox, and looking after it.

A notification is a row in ``notify_outbox`` written by :func:`enqueue` inside the caller's transaction — the same
transaction as the case change that causes it. If the change rolls back, so does the notification; if it commits,
the notification is durable and :func:`civicgrid.notify.deliver.deliver_due` sends it later (at least once).

Nothing here commits: like every service, these functions work inside the caller's transaction.

Life of a message::

    pending ──sent──▶ sent
       │  ▲
       │  └── a retryable failure: attempts + 1, next_attempt_at moved on by the backoff
       └──▶ dead   (a failure that retrying cannot fix, or the last allowed attempt failed)
              └── requeue(): pending again, attempts reset to 0
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from civicgrid.db import utcnow
from civicgrid.errors import InvalidInputError
from civicgrid.notify.models import OutboxMessage, OutboxStatus


class NotifyKind(StrEnum):
    """Why a message is sent. The case engine writes one of these; adding a kind is adding a member here."""

    ASSIGNED = "assigned"  # 新派遣：a case was dispatched to a department or person
    DUE_SOON = "due_soon"  # 临期：the current stage is about to run out of time
    OVERDUE = "overdue"  # 超期
    RETURNED = "returned"  # 退回：a case was sent back (return / rework)
    RATED = "rated"  # 评价：the reporter rated the outcome
    SUPERVISED = "supervised"  # 督办
    ESCALATED = "escalated"  # 吹哨上报：moved to the next level up the grid
    REOPENED = "reopened"  # 重办：reopened after an unsatisfied rating
    TEST = "test"  # 测试通知：an administrator checking a channel


KIND_LABELS: dict[NotifyKind, str] = {
    NotifyKind.ASSIGNED: "新派遣",
    NotifyKind.DUE_SOON: "即将超期",
    NotifyKind.OVERDUE: "已超期",
    NotifyKind.RETURNED: "退回",
    NotifyKind.RATED: "评价",
    NotifyKind.SUPERVISED: "督办",
    NotifyKind.ESCALATED: "吹哨上报",
    NotifyKind.REOPENED: "重办",
    NotifyKind.TEST: "测试通知",
}


class NotifyChannel(StrEnum):
    """How a message travels; each channel is served by one sender (see ``adapters``)."""

    LOG = "log"  # the application log: always available
    WEBHOOK = "webhook"  # JSON POST to the configured URL (an 政务微信/钉钉 bridge, an integration platform …)
    EMAIL = "email"  # SMTP; recipient is an e-mail address
    SMS = "sms"  # an SMS gateway; recipient is a mainland mobile number


CHANNEL_LABELS: dict[NotifyChannel, str] = {
    NotifyChannel.LOG: "日志",
    NotifyChannel.WEBHOOK: "Webhook",
    NotifyChannel.EMAIL: "电子邮件",
    NotifyChannel.SMS: "短信",
}

STATUS_LABELS: dict[OutboxStatus, str] = {
    OutboxStatus.PENDING: "待发送",
    OutboxStatus.SENT: "已发送",
    OutboxStatus.DEAD: "已放弃",
}

RECIPIENT_MAX = 200  # column widths (models.OutboxMessage)
SUBJECT_MAX = 200
LIST_LIMIT_MAX = 1000
_REQUEUE_CHUNK = 500


def enqueue(
    session: Session,
    *,
    kind: str,
    channel: str,
    recipient: str,
    subject: str,
    body: str = "",
    payload: dict[str, Any] | None = None,
    case_id: int | None = None,
    now: dt.datetime | None = None,
) -> OutboxMessage:
    """Add a pending message to the outbox, inside the caller's transaction (flushed, not committed).

    ``kind`` and ``channel`` must be known (:class:`NotifyKind`, :class:`NotifyChannel`); ``recipient`` and
    ``subject`` must not be blank. A subject longer than the column is shortened with "…" (it is a display line);
    a recipient that does not fit is refused (an address cannot be shortened). ``payload`` must be JSON: it is
    stored as its JSON round trip, so what a sender reads is exactly what was stored. The recipient's *form*
    (e-mail address, mobile number) is checked by the channel's sender when it is sent, not here: bad contact data
    must not block the case change that caused the message — the message dies visibly instead.

    ``now`` (default: the current time) is when the message was created and when it first becomes due.
    """
    kind_value = _known(kind, NotifyKind, "通知类型", "unknown_kind")
    channel_value = _known(channel, NotifyChannel, "通知渠道", "unknown_channel")
    recipient = recipient.strip()
    if not recipient:
        raise InvalidInputError("通知接收人不能为空", code="recipient_required")
    if len(recipient) > RECIPIENT_MAX:
        raise InvalidInputError(
            f"通知接收人过长（最多 {RECIPIENT_MAX} 个字符）", code="recipient_too_long", detail={"recipient": recipient}
        )
    subject = " ".join(subject.split())  # one line: no CR/LF reaches a mail header
    if not subject:
        raise InvalidInputError("通知标题不能为空", code="subject_required")
    if len(subject) > SUBJECT_MAX:
        subject = subject[: SUBJECT_MAX - 1] + "…"
    stored_payload = _json_round_trip(payload or {})
    when = _aware(now) if now is not None else utcnow()
    message = OutboxMessage(
        created_at=when,
        kind=kind_value,
        channel=channel_value,
        recipient=recipient,
        case_id=case_id,
        subject=subject,
        body=body,
        payload=stored_payload,
        status=OutboxStatus.PENDING.value,
        attempts=0,
        next_attempt_at=when,
        last_error=None,
        sent_at=None,
    )
    session.add(message)
    session.flush()
    return message


def list_messages(
    session: Session,
    *,
    status: str | None = None,
    case_id: int | None = None,
    limit: int = 100,
) -> list[OutboxMessage]:
    """Messages newest first, optionally only one status and/or one case's; at most ``limit`` (1 … 1000)."""
    if not 1 <= limit <= LIST_LIMIT_MAX:
        raise InvalidInputError(f"条数须在 1 到 {LIST_LIMIT_MAX} 之间", code="invalid_limit", detail={"limit": limit})
    stmt = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(OutboxMessage.status == _known(status, OutboxStatus, "消息状态", "unknown_status"))
    if case_id is not None:
        stmt = stmt.where(OutboxMessage.case_id == case_id)
    return list(session.execute(stmt).scalars())


def requeue(session: Session, message_ids: Iterable[int], *, now: dt.datetime | None = None) -> list[int]:
    """Put dead messages back in the queue: pending, attempts reset to 0, due at ``now`` (default: current time).

    Returns the ids actually requeued, ascending. Ids that are not dead (pending, sent, unknown) are left alone:
    a sent message is never sent twice by a requeue. The last error is kept until the next attempt replaces it.
    """
    wanted = sorted(set(message_ids))
    when = _aware(now) if now is not None else utcnow()
    requeued: list[int] = []
    for start in range(0, len(wanted), _REQUEUE_CHUNK):
        chunk = wanted[start : start + _REQUEUE_CHUNK]
        dead = list(
            session.execute(
                select(OutboxMessage.id).where(
                    OutboxMessage.id.in_(chunk), OutboxMessage.status == OutboxStatus.DEAD.value
                )
            ).scalars()
        )
        if not dead:
            continue
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(dead), OutboxMessage.status == OutboxStatus.DEAD.value)
            .values(status=OutboxStatus.PENDING.value, attempts=0, next_attempt_at=when)
            .execution_options(synchronize_session="fetch")
        )
        requeued.extend(dead)
    return sorted(requeued)


def stats(session: Session) -> dict[str, int]:
    """Message count per status; every status is present (0 when there is none)."""
    counts = {status.value: 0 for status in OutboxStatus}
    rows = session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
    for status, count in rows:
        counts[status] = count
    return counts


def _known(value: str, enum: type[StrEnum], what: str, code: str) -> str:
    try:
        return enum(value).value
    except ValueError:
        allowed = [member.value for member in enum]
        raise InvalidInputError(
            f"未知的{what}：{value}（可选：{'、'.join(allowed)}）",
            code=code,
            detail={"value": value, "allowed": allowed},
        ) from None


def _json_round_trip(payload: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise InvalidInputError("通知附加数据必须是 JSON 对象", code="invalid_payload")
    try:
        text = json.dumps(payload, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise InvalidInputError(
            f"通知附加数据无法转换为 JSON：{error}", code="invalid_payload", detail={"error": str(error)}
        ) from None
    result: dict[str, Any] = json.loads(text)
    return result


def _aware(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime: pass an aware datetime (UTC)")
    return value
