"""The deliverer and its senders, against a real local HTTP receiver and a real local SMTP server.

Time is never waited for: every run gets ``now`` explicitly, and retries are "waited" for by passing a later ``now``.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import logging
import socket
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from civicgrid import migrate
from civicgrid.db import is_sqlite, make_engine, make_session_factory, transaction
from civicgrid.notify.adapters import (
    DeliveryError,
    LoggingSmsSender,
    LogSender,
    OutgoingMessage,
    Sender,
    SmsSender,
    SmtpSender,
    WebhookSender,
    senders_from_settings,
)
from civicgrid.notify.deliver import CLAIM_LEASE, DeliveryReport, backoff, deliver_due
from civicgrid.notify.models import OutboxMessage, OutboxStatus
from civicgrid.notify.outbox import enqueue, requeue, stats
from civicgrid.settings import Settings

# Well before any real clock reading: rows other test modules may have committed with the real time are never due.
NOW = dt.datetime(2025, 3, 3, 1, 30, tzinfo=dt.UTC)
SUBJECT = "新派遣：潮海街道 占道经营"
BODY = "事件 Q2025030300012 已派遣至城管执法局，请于 2 个工作日内处置。"


# ---------------------------------------------------------------- fixtures and helpers


@pytest.fixture
def factory(session: Session) -> sessionmaker[Session]:
    """Sessions on the test's connection whose transactions are savepoints: real commits and rollbacks, undone
    with the test."""
    return sessionmaker(bind=session.get_bind(), join_transaction_mode="create_savepoint", expire_on_commit=False)


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


def _enqueue(
    factory: sessionmaker[Session],
    channel: str = "webhook",
    recipient: str = "城管执法局",
    *,
    now: dt.datetime = NOW,
    subject: str = SUBJECT,
    kind: str = "assigned",
) -> int:
    with transaction(factory) as tx:
        message = enqueue(
            tx,
            kind=kind,
            channel=channel,
            recipient=recipient,
            subject=subject,
            body=BODY,
            payload={"case_no": "Q2025030300012", "grid": "370215002001"},
            now=now,
        )
        return message.id


def _row(factory: sessionmaker[Session], message_id: int) -> OutboxMessage:
    with factory() as check:
        row = check.get(OutboxMessage, message_id)
        assert row is not None
        return row


def _deliver(
    factory: sessionmaker[Session], senders: dict[str, Sender], now: dt.datetime = NOW, **options: Any
) -> DeliveryReport:
    options.setdefault("max_attempts", 8)
    return deliver_due(factory, senders, now=now, **options)


class Recorder:
    """A sender that records what it gets; optionally fails with the given error."""

    def __init__(self, channel: str = "log", error: Exception | None = None) -> None:
        self.channel = channel
        self.error = error
        self.received: list[OutgoingMessage] = []
        self._lock = threading.Lock()

    def send(self, message: OutgoingMessage) -> None:
        with self._lock:
            self.received.append(message)
        if self.error is not None:
            raise self.error


class Receiver:
    """A scripted webhook endpoint: answers each POST with the next status of ``script`` (200 when empty); the
    step "hang" never answers (until the test ends)."""

    def __init__(self) -> None:
        self.url = ""
        self.script: deque[int | str] = deque()
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.release = threading.Event()
        self.lock = threading.Lock()


class _ReceiverServer(ThreadingHTTPServer):
    receiver: Receiver


class _Handler(BaseHTTPRequestHandler):
    server: _ReceiverServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        receiver = self.server.receiver
        with receiver.lock:
            receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
            step = receiver.script.popleft() if receiver.script else 200
        if step == "hang":
            receiver.release.wait(5)
            return
        status = int(step)
        answer = ("已收到" if status < 300 else f"错误 {status}").encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[Receiver]:
    receiver = Receiver()
    server = _ReceiverServer(("127.0.0.1", 0), _Handler)
    server.receiver = receiver
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield receiver
    receiver.release.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A local port that refuses connections: bound (so nobody else takes it) but not listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


class Mailbox:
    """aiosmtpd handler: keeps what it receives; refuses nobody@… permanently and busy@… temporarily."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 No such user"
        if address.startswith("busy@"):
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"

    def parsed(self, index: int = -1) -> EmailMessage:
        parsed = email.message_from_bytes(self.received[index][2], policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


# ---------------------------------------------------------------- backoff


def test_backoff_doubles_from_30_seconds_and_stops_at_an_hour() -> None:
    assert [backoff(n).total_seconds() for n in range(1, 10)] == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert backoff(500) == dt.timedelta(hours=1)
    assert backoff(1, message_id=10) == dt.timedelta(seconds=33)  # jitter: (10 mod 11) % = 10 %
    assert backoff(1, message_id=11) == dt.timedelta(seconds=30)
    for message_id in range(50):
        extra = backoff(4, message_id) - backoff(4)
        assert dt.timedelta(0) <= extra <= backoff(4) / 10


# ---------------------------------------------------------------- webhook


def test_a_webhook_receives_the_message_as_utf8_json(factory: sessionmaker[Session], webhook: Receiver) -> None:
    message_id = _enqueue(factory)

    report = _deliver(factory, {"webhook": WebhookSender(webhook.url, timeout=5)})

    assert report.sent == [message_id]
    row = _row(factory, message_id)
    assert (row.status, row.attempts, row.sent_at, row.last_error) == (OutboxStatus.SENT, 1, NOW, None)
    headers, body = webhook.requests[0]
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert headers["x-civicgrid-message-id"] == str(message_id)
    assert json.loads(body.decode("utf-8")) == {
        "id": message_id,
        "kind": "assigned",
        "recipient": "城管执法局",
        "subject": SUBJECT,
        "body": BODY,
        "payload": {"case_no": "Q2025030300012", "grid": "370215002001"},
        "case_id": None,
    }
    assert _deliver(factory, {"webhook": WebhookSender(webhook.url)}, NOW + dt.timedelta(days=1)).attempted == 0


def test_server_errors_are_retried_with_growing_backoff(factory: sessionmaker[Session], webhook: Receiver) -> None:
    webhook.script.extend([500, 503, 200])
    senders: dict[str, Sender] = {"webhook": WebhookSender(webhook.url, timeout=5)}
    message_id = _enqueue(factory)

    assert _deliver(factory, senders, NOW).retrying == [message_id]
    row = _row(factory, message_id)
    assert (row.status, row.attempts) == (OutboxStatus.PENDING, 1)
    assert row.next_attempt_at == NOW + backoff(1, message_id)
    assert row.last_error is not None
    assert "HTTP 500" in row.last_error

    assert _deliver(factory, senders, row.next_attempt_at - dt.timedelta(seconds=1)).attempted == 0  # not yet
    second = row.next_attempt_at
    assert _deliver(factory, senders, second).retrying == [message_id]
    row = _row(factory, message_id)
    assert row.attempts == 2
    assert row.next_attempt_at == second + backoff(2, message_id)
    assert "HTTP 503" in (row.last_error or "")

    third = row.next_attempt_at
    assert _deliver(factory, senders, third).sent == [message_id]
    row = _row(factory, message_id)
    assert (row.status, row.attempts, row.sent_at, row.last_error) == (OutboxStatus.SENT, 3, third, None)
    assert [headers["x-civicgrid-attempt"] for headers, _ in webhook.requests] == ["1", "2", "3"]
    assert len({body for _, body in webhook.requests}) == 1  # the same document every time


def test_a_client_error_kills_the_message_at_once(factory: sessionmaker[Session], webhook: Receiver) -> None:
    webhook.script.append(400)
    message_id = _enqueue(factory)

    report = _deliver(factory, {"webhook": WebhookSender(webhook.url, timeout=5)})

    assert report.dead == [message_id]
    row = _row(factory, message_id)
    assert (row.status, row.attempts) == (OutboxStatus.DEAD, 1)
    assert row.last_error is not None
    assert "HTTP 400" in row.last_error


def test_a_refused_connection_is_retried(factory: sessionmaker[Session], refused_port: int) -> None:
    message_id = _enqueue(factory)

    report = _deliver(factory, {"webhook": WebhookSender(f"http://127.0.0.1:{refused_port}/hook", timeout=5)})

    assert report.retrying == [message_id]
    row = _row(factory, message_id)
    assert (row.status, row.attempts) == (OutboxStatus.PENDING, 1)
    assert "连接失败" in (row.last_error or "")


@pytest.mark.parametrize(
    ("status", "retryable"), [(408, True), (429, True), (502, True), (401, False), (404, False), (301, False)]
)
def test_webhook_answers_are_sorted_into_retryable_or_not(webhook: Receiver, status: int, retryable: bool) -> None:
    webhook.script.append(status)
    with pytest.raises(DeliveryError) as caught:
        WebhookSender(webhook.url, timeout=5).send(OutgoingMessage(7, "overdue", "webhook", "城管执法局", SUBJECT))
    assert caught.value.retryable is retryable
    assert f"HTTP {status}" in caught.value.message


def test_a_webhook_that_does_not_answer_in_time_is_retryable(webhook: Receiver) -> None:
    webhook.script.append("hang")
    with pytest.raises(DeliveryError, match="超时") as caught:
        WebhookSender(webhook.url, timeout=0.2).send(OutgoingMessage(7, "overdue", "webhook", "城管执法局", SUBJECT))
    assert caught.value.retryable


def test_a_webhook_url_must_be_http() -> None:
    with pytest.raises(ValueError, match="http"):
        WebhookSender("ftp://example.org/hook")


# ---------------------------------------------------------------- SMTP


def test_an_email_arrives_with_its_chinese_subject_intact(
    factory: sessionmaker[Session], smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    sender = SmtpSender("127.0.0.1", port, sender="海川区网格化服务管理中心 <grid@haichuan.example>", timeout=5)
    message_id = _enqueue(factory, "email", "zhang.san@haichuan.example")

    assert _deliver(factory, {"email": sender}).sent == [message_id]

    mail_from, recipients, _ = mailbox.received[0]
    assert (mail_from, recipients) == ("grid@haichuan.example", ["zhang.san@haichuan.example"])
    mail = mailbox.parsed()
    assert mail["Subject"] == SUBJECT
    assert mail["From"].addresses[0].display_name == "海川区网格化服务管理中心"
    assert f"civicgrid-outbox-{message_id}@" in mail["Message-ID"]
    assert mail.get_content().strip() == BODY


@pytest.mark.parametrize(
    ("recipient", "retryable", "reaches_server"),
    [
        ("nobody@haichuan.example", False, True),  # 550: the mailbox does not exist
        ("busy@haichuan.example", True, True),  # 451: try later
        ("张三", False, False),  # not an address at all: refused before connecting
        ("a@b.example, c@d.example", False, False),
    ],
)
def test_smtp_refusals_are_sorted_into_retryable_or_not(
    smtp: tuple[Mailbox, int], recipient: str, retryable: bool, reaches_server: bool
) -> None:
    mailbox, port = smtp
    sender = SmtpSender("127.0.0.1", port, timeout=5)
    with pytest.raises(DeliveryError) as caught:
        sender.send(OutgoingMessage(9, "returned", "email", recipient, "退回：材料不全"))
    assert caught.value.retryable is retryable
    assert mailbox.received == []
    if not reaches_server:
        assert "邮箱地址" in caught.value.message


def test_an_unreachable_mail_server_is_retryable(refused_port: int) -> None:
    with pytest.raises(DeliveryError, match="连接失败") as caught:
        SmtpSender("127.0.0.1", refused_port, timeout=5).send(
            OutgoingMessage(9, "returned", "email", "li.si@haichuan.example", "退回：材料不全")
        )
    assert caught.value.retryable


# ---------------------------------------------------------------- retries, dead messages, requeue


def test_the_last_allowed_attempt_kills_the_message_and_requeue_revives_it(factory: sessionmaker[Session]) -> None:
    failing = Recorder(error=DeliveryError("网关暂时不可用", retryable=True))
    message_id = _enqueue(factory, "log", "370215002")
    when = NOW
    outcomes = []
    for _ in range(3):
        report = _deliver(factory, {"log": failing}, when, max_attempts=3)
        outcomes.append("retrying" if report.retrying else "dead" if report.dead else "?")
        when = _row(factory, message_id).next_attempt_at
    assert outcomes == ["retrying", "retrying", "dead"]
    row = _row(factory, message_id)
    assert (row.status, row.attempts) == (OutboxStatus.DEAD, 3)
    assert row.last_error == "已尝试 3 次，放弃：网关暂时不可用"
    far_later = NOW + dt.timedelta(days=30)
    assert _deliver(factory, {"log": failing}, far_later).attempted == 0  # dead stays dead, visibly
    with factory() as check:
        assert stats(check)["dead"] >= 1

    with transaction(factory) as tx:
        assert requeue(tx, [message_id], now=far_later) == [message_id]
    row = _row(factory, message_id)
    assert (row.status, row.attempts, row.next_attempt_at) == (OutboxStatus.PENDING, 0, far_later)

    working = Recorder()
    assert _deliver(factory, {"log": working}, far_later).sent == [message_id]
    assert _row(factory, message_id).status == OutboxStatus.SENT


def test_a_crashing_sender_is_a_retryable_failure(factory: sessionmaker[Session]) -> None:
    message_id = _enqueue(factory, "log", "370215002")
    report = _deliver(factory, {"log": Recorder(error=ZeroDivisionError("division by zero"))})
    assert report.retrying == [message_id]
    assert "ZeroDivisionError" in (_row(factory, message_id).last_error or "")


def test_a_channel_without_sender_waits_uncharged_until_configured(factory: sessionmaker[Session]) -> None:
    message_id = _enqueue(factory, "email", "zhang.san@haichuan.example")

    report = _deliver(factory, {"log": LogSender()})

    assert report.unconfigured.get("email") == 1
    assert report.attempted == 0
    row = _row(factory, message_id)
    assert (row.status, row.attempts, row.next_attempt_at) == (OutboxStatus.PENDING, 0, NOW)  # still due
    assert (row.last_error or "").startswith("渠道未配置：email")

    mail = Recorder("email")
    later = NOW + dt.timedelta(days=2)
    assert _deliver(factory, {"log": LogSender(), "email": mail}, later).sent == [message_id]
    assert [m.id for m in mail.received] == [message_id]
    assert _row(factory, message_id).last_error is None


def test_longest_due_goes_first_and_a_run_stops_at_its_batch(factory: sessionmaker[Session]) -> None:
    newest = _enqueue(factory, "log", "c", now=NOW)
    oldest = _enqueue(factory, "log", "a", now=NOW - dt.timedelta(minutes=2))
    middle = _enqueue(factory, "log", "b", now=NOW - dt.timedelta(minutes=1))
    recorder = Recorder()

    assert _deliver(factory, {"log": recorder}, batch=2).sent == [oldest, middle]
    assert _deliver(factory, {"log": recorder}, batch=2).sent == [newest]
    assert [m.recipient for m in recorder.received] == ["a", "b", "c"]


def test_a_claim_taken_over_after_its_lease_is_left_to_the_new_owner(factory: sessionmaker[Session]) -> None:
    message_id = _enqueue(factory, "log", "370215002")
    taken_over_until = NOW + CLAIM_LEASE * 3

    class SlowSender:
        """Takes so long that the lease runs out and another deliverer claims the message meanwhile."""

        channel = "log"

        def send(self, message: OutgoingMessage) -> None:
            with transaction(factory) as other:
                other.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == message.id)
                    .values(attempts=OutboxMessage.attempts + 1, next_attempt_at=taken_over_until)
                )

    report = _deliver(factory, {"log": SlowSender()})

    assert report.lost == [message_id]
    row = _row(factory, message_id)
    assert (row.status, row.attempts, row.next_attempt_at) == (OutboxStatus.PENDING, 2, taken_over_until)


def test_now_must_carry_a_zone(factory: sessionmaker[Session]) -> None:
    with pytest.raises(ValueError, match="naive"):
        deliver_due(factory, {"log": LogSender()}, now=dt.datetime(2025, 3, 3, 9, 30))


# ---------------------------------------------------------------- log and SMS senders, settings


def test_the_log_sender_writes_to_the_log(factory: sessionmaker[Session], caplog: pytest.LogCaptureFixture) -> None:
    message_id = _enqueue(factory, "log", "潮海街道")
    with caplog.at_level(logging.INFO, logger="civicgrid.notify"):
        assert _deliver(factory, {"log": LogSender()}).sent == [message_id]
    assert any(f"#{message_id}" in r.getMessage() and SUBJECT in r.getMessage() for r in caplog.records)


def test_the_logging_sms_sender_records_valid_numbers_only(factory: sessionmaker[Session]) -> None:
    sms = LoggingSmsSender()
    assert isinstance(sms, SmsSender)
    good = _enqueue(factory, "sms", "+86 138-0000-1234", kind="supervised", subject="督办：墨河沿岸垃圾堆放")
    bad = _enqueue(factory, "sms", "城管执法局", kind="supervised", subject="督办：墨河沿岸垃圾堆放")

    report = _deliver(factory, {"sms": sms})

    assert (report.sent, report.dead) == ([good], [bad])
    assert list(sms.sent) == [("13800001234", f"督办：墨河沿岸垃圾堆放：{BODY}")]
    assert "手机号码" in (_row(factory, bad).last_error or "")


def test_senders_come_from_the_settings() -> None:
    plain = senders_from_settings(Settings(_env_file=None))
    assert set(plain) == {"log"}  # SMS only when a backend is chosen: a logging stand-in would fake "sent"
    assert set(senders_from_settings(Settings(_env_file=None, notify_sms_backend="log"))) == {"log", "sms"}
    full = senders_from_settings(
        Settings(
            _env_file=None,
            notify_webhook_url="https://bridge.haichuan.example/notify",
            notify_smtp_host="mail.haichuan.example",
            notify_smtp_port=587,
            notify_smtp_username="grid",
            notify_smtp_password="secret",
            notify_smtp_starttls=True,
            notify_sms_backend="log",
        )
    )
    assert set(full) == {"log", "sms", "webhook", "email"}
    assert all(isinstance(sender, Sender) for sender in full.values())
    mail = full["email"]
    assert isinstance(mail, SmtpSender)
    assert (mail.host, mail.port, mail.username, mail.password, mail.starttls) == (
        "mail.haichuan.example",
        587,
        "grid",
        "secret",
        True,
    )


# ---------------------------------------------------------------- concurrency (real commits)


@pytest.fixture
def committed(database_url: str) -> Iterator[tuple[sessionmaker[Session], str]]:
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    yield make_session_factory(engine, write=True), database_url
    engine.dispose()


def test_two_deliverers_never_send_the_same_message(committed: tuple[sessionmaker[Session], str]) -> None:
    factory, _url = committed
    ids = [_enqueue(factory, "log", f"网格员{n:02d}") for n in range(40)]
    recorder = Recorder()
    start = threading.Barrier(2)

    def run() -> DeliveryReport:
        start.wait(5)
        return _deliver(factory, {"log": recorder}, batch=100)

    with ThreadPoolExecutor(2) as pool:
        reports = [future.result(30) for future in [pool.submit(run), pool.submit(run)]]

    sent = sorted(reports[0].sent + reports[1].sent)
    assert sent == ids
    assert sorted(m.id for m in recorder.received) == ids  # each exactly once
    assert not any(r.retrying or r.dead or r.lost for r in reports)
    with factory() as check:
        assert stats(check) == {"pending": 0, "sent": 40, "dead": 0}


def test_a_locked_message_is_skipped_not_waited_for(committed: tuple[sessionmaker[Session], str]) -> None:
    factory, url = committed
    if is_sqlite(url):
        pytest.skip("SQLite has no row locks: its write transactions serialise the deliverers")
    first = _enqueue(factory, "log", "甲", now=NOW - dt.timedelta(minutes=1))
    second = _enqueue(factory, "log", "乙")
    with factory() as holder, holder.begin():  # another deliverer in the middle of claiming the oldest message
        holder.execute(select(OutboxMessage.id).where(OutboxMessage.id == first).with_for_update())
        with ThreadPoolExecutor(1) as pool:
            report = pool.submit(_deliver, factory, {"log": Recorder()}).result(10)
        assert report.sent == [second]
    assert _deliver(factory, {"log": Recorder()}).sent == [first]
