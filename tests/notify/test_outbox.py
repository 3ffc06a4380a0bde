"""The outbox: enqueued in the caller's transaction, validated, listed, counted, requeued."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from civicgrid.db import transaction
from civicgrid.errors import InvalidInputError
from civicgrid.grid.models import GridNode
from civicgrid.notify.models import OutboxMessage, OutboxStatus
from civicgrid.notify.outbox import KIND_LABELS, NotifyKind, enqueue, list_messages, requeue, stats

# Well before any real clock reading, so rows other test modules may have committed are never "newer" than these.
NOW = dt.datetime(2025, 3, 3, 1, 30, tzinfo=dt.UTC)


@pytest.fixture
def factory(session: Session) -> sessionmaker[Session]:
    """Sessions on the test's connection whose transactions are savepoints: real commits and rollbacks, undone
    with the test."""
    return sessionmaker(bind=session.get_bind(), join_transaction_mode="create_savepoint", expire_on_commit=False)


def _message(session: Session, recipient: str = "370215002", **overrides: object) -> OutboxMessage:
    fields: dict[str, object] = {
        "kind": "assigned",
        "channel": "log",
        "recipient": recipient,
        "subject": "新派遣：潮海街道 占道经营",
        "now": NOW,
    }
    fields.update(overrides)
    return enqueue(session, **fields)  # type: ignore[arg-type]


def test_enqueue_writes_a_pending_message_due_at_once(session: Session) -> None:
    message = enqueue(
        session,
        kind="overdue",
        channel="webhook",
        recipient=" 城管执法局 ",
        subject="已超期：墨河\n沿岸垃圾堆放",
        body="事件 Q2025030300012 已超过处置时限 2 小时，请尽快处置。",
        payload={"case_no": "Q2025030300012", "overdue_hours": 2.0, "path": ("区", "街道")},
        now=NOW,
    )
    session.expire_all()
    stored = session.get(OutboxMessage, message.id)
    assert stored is not None
    assert stored.status == OutboxStatus.PENDING
    assert stored.attempts == 0
    assert stored.created_at == stored.next_attempt_at == NOW
    assert stored.recipient == "城管执法局"
    assert stored.subject == "已超期：墨河 沿岸垃圾堆放"  # one line, fit for a mail header
    assert stored.payload == {"case_no": "Q2025030300012", "overdue_hours": 2.0, "path": ["区", "街道"]}
    assert stored.last_error is None
    assert stored.sent_at is None


def test_a_rolled_back_change_leaves_no_notification(factory: sessionmaker[Session]) -> None:
    with pytest.raises(RuntimeError, match="处置失败"), transaction(factory) as tx:  # noqa: PT012
        tx.add(GridNode(code="370215", name="即墨区", level="district", depth=0))
        _message(tx, subject="新派遣：不会发出")
        tx.flush()
        raise RuntimeError("处置失败")
    with factory() as check:
        assert check.execute(select(func.count()).select_from(GridNode)).scalar_one() == 0
        subjects = check.execute(select(OutboxMessage.subject)).scalars().all()
        assert "新派遣：不会发出" not in subjects

    with transaction(factory) as tx:
        tx.add(GridNode(code="370215", name="即墨区", level="district", depth=0))
        kept = _message(tx, subject="新派遣：会发出")
    with factory() as check:
        assert check.execute(select(func.count()).select_from(GridNode)).scalar_one() == 1
        assert check.get(OutboxMessage, kept.id) is not None


@pytest.mark.parametrize(
    "kind", ["assigned", "due_soon", "overdue", "returned", "rated", "supervised", "escalated", "reopened"]
)
def test_every_kind_the_case_engine_sends_is_known(kind: str) -> None:
    assert NotifyKind(kind) in KIND_LABELS


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"kind": "birthday"}, "unknown_kind"),
        ({"channel": "pigeon"}, "unknown_channel"),
        ({"recipient": "   "}, "recipient_required"),
        ({"recipient": "x" * 201}, "recipient_too_long"),
        ({"subject": " \n "}, "subject_required"),
        ({"payload": {"when": NOW}}, "invalid_payload"),
        ({"payload": {"ratio": float("nan")}}, "invalid_payload"),
        ({"payload": ["not", "an", "object"]}, "invalid_payload"),
    ],
)
def test_bad_messages_are_refused_in_chinese(session: Session, overrides: dict[str, object], code: str) -> None:
    fields = dict(overrides)  # the parameter is shared by both backends' runs
    recipient = str(fields.pop("recipient", "370215002"))
    with pytest.raises(InvalidInputError) as caught:
        _message(session, recipient, **fields)
    assert caught.value.code == code
    assert any("\u4e00" <= char <= "\u9fff" for char in caught.value.message)


def test_a_long_subject_is_shortened_not_refused(session: Session) -> None:
    message = _message(session, subject="督办" * 150)
    assert len(message.subject) == 200
    assert message.subject.endswith("…")


def test_list_messages_newest_first_by_status_and_case(session: Session) -> None:
    first = _message(session, subject="第一条")
    second = _message(session, subject="第二条")
    third = _message(session, subject="第三条")
    third.status = OutboxStatus.DEAD.value
    session.flush()

    newest = list_messages(session, limit=3)
    assert [m.id for m in newest] == [third.id, second.id, first.id]
    pending_ids = [m.id for m in list_messages(session, status="pending")]
    assert second.id in pending_ids
    assert third.id not in pending_ids
    assert list_messages(session, status=OutboxStatus.DEAD)[0].id == third.id
    assert list_messages(session, case_id=987654321) == []
    with pytest.raises(InvalidInputError):
        list_messages(session, status="lost")
    with pytest.raises(InvalidInputError):
        list_messages(session, limit=0)


def test_requeue_brings_back_only_dead_messages(session: Session) -> None:
    dead = _message(session, subject="已放弃的")
    sent = _message(session, subject="已发送的")
    pending = _message(session, subject="待发送的")
    dead.status, dead.attempts, dead.last_error = OutboxStatus.DEAD.value, 8, "Webhook 返回 HTTP 500"
    sent.status, sent.attempts, sent.sent_at = OutboxStatus.SENT.value, 1, NOW
    session.flush()
    later = NOW + dt.timedelta(hours=3)

    requeued = requeue(session, [dead.id, sent.id, pending.id, 987654321, dead.id], now=later)

    assert requeued == [dead.id]
    session.expire_all()
    again = session.get(OutboxMessage, dead.id)
    assert again is not None
    assert (again.status, again.attempts, again.next_attempt_at) == (OutboxStatus.PENDING, 0, later)
    assert again.last_error == "Webhook 返回 HTTP 500"  # kept until the next attempt tells something new
    assert session.get(OutboxMessage, sent.id).status == OutboxStatus.SENT  # type: ignore[union-attr]
    assert requeue(session, []) == []


def test_stats_count_every_status(session: Session) -> None:
    before = stats(session)
    assert set(before) == {"pending", "sent", "dead"}
    for subject, status in [("一", "pending"), ("二", "pending"), ("三", "sent"), ("四", "dead")]:
        _message(session, subject=subject).status = status
    session.flush()
    after = stats(session)
    assert {key: after[key] - before[key] for key in after} == {"pending": 2, "sent": 1, "dead": 1}
