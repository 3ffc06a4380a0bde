"""Senders: how a message leaves the system, one per channel.

A sender gets an :class:`OutgoingMessage` (a plain snapshot of the outbox row — senders never see the database) and
either returns (delivered) or raises :class:`DeliveryError`. ``retryable`` says whether trying again later could
help: a server that is down, slow or overloaded is retryable; a message the other side refuses as such (a 400, an
address that is not one, a mailbox that does not exist) is not, and dies at once. Failures of *our* configuration
that an administrator can fix (wrong SMTP password, refused sender address) are retryable, so that the messages
survive until the fix instead of all dying at once; they still die after the maximum number of attempts.

Delivery is at least once: a deliverer that crashes after sending but before recording it sends again later. Every
sender therefore passes the outbox id along (webhook header ``X-Civicgrid-Message-Id`` and JSON ``id``, mail
``Message-ID``) so that a receiver can drop duplicates.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import re
import smtplib
import ssl
import threading
from collections import deque
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, Protocol, runtime_checkable

import httpx

from civicgrid.notify.models import OutboxMessage
from civicgrid.notify.outbox import NotifyChannel
from civicgrid.settings import Settings

logger = logging.getLogger("civicgrid.notify")

ERROR_DETAIL_MAX = 200  # characters of a remote answer kept in an error message


class DeliveryError(Exception):
    """A message could not be delivered. ``retryable``: whether a later attempt could succeed."""

    def __init__(self, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


@dataclass(frozen=True)
class OutgoingMessage:
    """What a sender sees of an outbox row: a detached, immutable snapshot."""

    id: int
    kind: str
    channel: str
    recipient: str
    subject: str
    body: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    case_id: int | None = None
    attempt: int = 1  # 1 for the first attempt

    @classmethod
    def from_row(cls, row: OutboxMessage) -> OutgoingMessage:
        return cls(
            id=row.id,
            kind=row.kind,
            channel=row.channel,
            recipient=row.recipient,
            subject=row.subject,
            body=row.body,
            payload=dict(row.payload or {}),
            case_id=row.case_id,
            attempt=row.attempts,
        )

    def as_json(self) -> dict[str, Any]:
        """The document a webhook receives."""
        return {
            "id": self.id,
            "kind": self.kind,
            "recipient": self.recipient,
            "subject": self.subject,
            "body": self.body,
            "payload": self.payload,
            "case_id": self.case_id,
        }


@runtime_checkable
class Sender(Protocol):
    """Delivers messages of one channel. ``send`` returns when delivered, raises ``DeliveryError`` when not."""

    channel: str

    def send(self, message: OutgoingMessage) -> None: ...


@runtime_checkable
class SmsSender(Sender, Protocol):
    """A sender for the ``sms`` channel: what a real SMS gateway adapter (阿里云短信, 腾讯云短信, a carrier's CMPP
    gateway …) implements. Recipients are mainland mobile numbers (:func:`mobile_number`); the text is
    :func:`sms_text`. Until a gateway is configured, :class:`LoggingSmsSender` stands in."""


class LogSender:
    """Writes the message to the application log (logger ``civicgrid.notify``). Always succeeds."""

    channel: str = NotifyChannel.LOG.value

    def send(self, message: OutgoingMessage) -> None:
        logger.info(
            "通知 #%s [%s] → %s：%s%s",
            message.id,
            message.kind,
            message.recipient,
            message.subject,
            f"\n{message.body}" if message.body else "",
        )


MOBILE_RE = re.compile(r"1[3-9]\d{9}")
SMS_TEXT_MAX = 300  # characters; gateways split long texts into several billed parts (70 per part)


def mobile_number(recipient: str) -> str:
    """The 11-digit mainland mobile number in ``recipient`` (spaces, dashes and a +86/86 prefix allowed).

    Anything else is refused as not retryable: no gateway will ever deliver it.
    """
    digits = re.sub(r"[\s-]", "", recipient)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if not MOBILE_RE.fullmatch(digits):
        raise DeliveryError(f"短信接收人不是有效的手机号码：{recipient}", retryable=False)
    return digits


def sms_text(message: OutgoingMessage, limit: int = SMS_TEXT_MAX) -> str:
    """Subject, then body, on one line; shortened with "…" to ``limit`` characters."""
    text = message.subject if not message.body else f"{message.subject}：{message.body}"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class LoggingSmsSender:
    """The ``sms`` sender until a real gateway is configured: checks the number, logs the text it would send (the
    number masked) and keeps the last ``keep`` (number, text) pairs in memory in ``sent`` (for tests and the admin
    page). Messages it takes count as sent: nobody receives a text until a gateway replaces it."""

    channel: str = NotifyChannel.SMS.value

    def __init__(self, keep: int = 1000) -> None:
        self.sent: deque[tuple[str, str]] = deque(maxlen=keep)
        self._lock = threading.Lock()

    def send(self, message: OutgoingMessage) -> None:
        number = mobile_number(message.recipient)
        text = sms_text(message)
        with self._lock:
            self.sent.append((number, text))
        masked = f"{number[:3]}****{number[-4:]}"  # no full phone numbers in the log
        logger.info("短信（未配置短信网关，仅记录）#%s → %s：%s", message.id, masked, text)


class WebhookSender:
    """POSTs the message as JSON (UTF-8) to ``url``.

    2xx is delivered. 408, 429 and 5xx, timeouts and connection failures are retryable; any other answer (other
    4xx, an unfollowed 3xx) is not — the receiver refused this message and will refuse it again.
    """

    channel: str = NotifyChannel.WEBHOOK.value

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        parsed = httpx.URL(url)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ValueError(f"webhook URL must be http(s)://host/…: {url!r}")
        self.url = url
        self.timeout = timeout
        # One client for the sender's life: its connection pool and TLS context are reused (it is thread-safe).
        # Proxy and CA settings come from the environment (HTTPS_PROXY, NO_PROXY, SSL_CERT_FILE).
        self._client = httpx.Client(timeout=timeout, follow_redirects=False)

    def close(self) -> None:
        self._client.close()

    def send(self, message: OutgoingMessage) -> None:
        content = json.dumps(message.as_json(), ensure_ascii=False).encode("utf-8")
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "civicgrid-notify",
            "X-Civicgrid-Message-Id": str(message.id),
            "X-Civicgrid-Attempt": str(message.attempt),
        }
        try:
            response = self._client.post(self.url, content=content, headers=headers)
        except httpx.TimeoutException as error:
            raise DeliveryError(f"Webhook 超时（{self.timeout:g} 秒）：{_short(error)}", retryable=True) from error
        except httpx.TransportError as error:
            raise DeliveryError(f"Webhook 连接失败：{_short(error)}", retryable=True) from error
        status = response.status_code
        if 200 <= status < 300:
            return
        retryable = status in (408, 429) or status >= 500
        raise DeliveryError(f"Webhook 返回 HTTP {status}：{_short(response.text)}", retryable=retryable)


EMAIL_RE = re.compile(r"[^@\s<>,;\"]+@[^@\s<>,;\"]+")


class SmtpSender:
    """Sends the message as a plain-text UTF-8 e-mail over SMTP (one connection per message).

    The recipient must look like an e-mail address, or the message is not retryable. Connection failures, timeouts
    and temporary (4xx) SMTP answers are retryable; a permanent (5xx) refusal of the recipient or of the content is
    not. Authentication, STARTTLS and sender refusals are our configuration and stay retryable.
    """

    channel: str = NotifyChannel.EMAIL.value

    def __init__(
        self,
        host: str,
        port: int = 25,
        sender: str = "civicgrid@localhost",
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 30.0,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.username = username
        self.password = password
        self.starttls = starttls
        self.timeout = timeout

    def build(self, message: OutgoingMessage) -> EmailMessage:
        recipient = message.recipient.strip()
        if not EMAIL_RE.fullmatch(recipient):
            raise DeliveryError(f"邮件接收人不是有效的邮箱地址：{message.recipient}", retryable=False)
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = recipient
        mail["Subject"] = " ".join(message.subject.split())
        mail["Date"] = email.utils.format_datetime(dt.datetime.now(dt.UTC))
        domain = email.utils.parseaddr(self.sender)[1].rpartition("@")[2] or "localhost"
        mail["Message-ID"] = f"<civicgrid-outbox-{message.id}@{domain}>"
        mail.set_content(message.body or message.subject, charset="utf-8")
        return mail

    def send(self, message: OutgoingMessage) -> None:
        mail = self.build(message)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _text in error.recipients.values()]
            permanent = bool(codes) and all(code >= 500 for code in codes)
            raise DeliveryError(f"邮件服务器拒收收件人：{_smtp_answers(error)}", retryable=not permanent) from error
        except smtplib.SMTPDataError as error:
            raise DeliveryError(
                f"邮件服务器拒收邮件：{error.smtp_code} {_decode(error.smtp_error)}", retryable=error.smtp_code < 500
            ) from error
        except smtplib.SMTPResponseException as error:  # auth, sender, HELO …: configuration, keep retrying
            raise DeliveryError(
                f"邮件服务器错误：{error.smtp_code} {_decode(error.smtp_error)}", retryable=True
            ) from error
        except (smtplib.SMTPException, OSError) as error:  # refused, timed out, dropped, STARTTLS missing, TLS …
            raise DeliveryError(f"邮件服务器连接失败：{_short(error)}", retryable=True) from error


def senders_from_settings(settings: Settings) -> dict[str, Sender]:
    """The senders the settings configure, by channel.

    ``log`` is always there; ``sms`` only when ``notify_sms_backend`` is ``log`` (the :class:`LoggingSmsSender`
    stand-in, which marks messages sent that nobody receives — so it is opt-in); ``webhook`` with
    ``notify_webhook_url``; ``email`` with ``notify_smtp_host``. A channel missing here leaves its messages pending,
    visibly (see ``deliver``).
    """
    senders: dict[str, Sender] = {NotifyChannel.LOG.value: LogSender()}
    if settings.notify_sms_backend == "log":
        senders[NotifyChannel.SMS.value] = LoggingSmsSender()
    if settings.notify_webhook_url:
        senders[NotifyChannel.WEBHOOK.value] = WebhookSender(settings.notify_webhook_url)
    if settings.notify_smtp_host:
        password = settings.notify_smtp_password
        senders[NotifyChannel.EMAIL.value] = SmtpSender(
            host=settings.notify_smtp_host,
            port=settings.notify_smtp_port,
            sender=settings.notify_smtp_sender,
            username=settings.notify_smtp_username,
            password=password.get_secret_value() if password is not None else None,
            starttls=settings.notify_smtp_starttls,
        )
    return senders


def _short(value: object) -> str:
    text = " ".join(str(value).split()) or type(value).__name__
    return text if len(text) <= ERROR_DETAIL_MAX else text[: ERROR_DETAIL_MAX - 1] + "…"


def _decode(value: bytes | str) -> str:
    return _short(value.decode("utf-8", "replace") if isinstance(value, bytes) else value)


def _smtp_answers(error: smtplib.SMTPRecipientsRefused) -> str:
    return _short("; ".join(f"{addr} {code} {_decode(text)}" for addr, (code, text) in error.recipients.items()))
