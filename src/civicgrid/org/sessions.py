"""Browser sign-in: server-side sessions with a CSRF token each, and throttling of repeated failures.

A session is a row keyed by the SHA-256 of a random cookie token. It ends when the user signs out, when it has
been idle or alive too long, and at once when the user is disabled or their password is reset (the row goes).
Throttling counts failed attempts per user name and per client address within the lock window.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.orm import Session

from civicgrid import audit
from civicgrid.db import utcnow
from civicgrid.org.actor import Actor
from civicgrid.org.models import LoginAttempt, User, WebSession
from civicgrid.org.service import SignInRefusedError, actor_for, authenticate
from civicgrid.settings import Settings

# One address may try many names (a shared office NAT), but not without limit.
IP_FAILURE_FACTOR = 4
LAST_SEEN_GRANULARITY = dt.timedelta(minutes=1)  # don't write the row on every request


@dataclass(frozen=True)
class SignedIn:
    token: str  # goes into the cookie; never stored
    csrf_token: str
    actor: Actor


@dataclass(frozen=True)
class ActiveSession:
    actor: Actor
    csrf_token: str
    session_id: int
    needs_touch: bool  # last seen over a minute ago: the caller records the visit in a write transaction


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign_in(
    session: Session,
    settings: Settings,
    username: str,
    password: str,
    *,
    client_ip: str | None = None,
    user_agent: str | None = None,
) -> SignedIn:
    """Check the password (unless the name or address is locked), record the attempt, open a session."""
    name = username.strip().lower()[:64]
    now = utcnow()
    _refuse_if_locked(session, settings, name, client_ip, now)
    user = authenticate(session, name, password)  # a refusal rolls this transaction back: see record_failure
    session.add(LoginAttempt(username=name, client_ip=client_ip, at=now, succeeded=True))
    actor = actor_for(session, user)
    token = secrets.token_urlsafe(32)
    row = WebSession(
        user_id=user.id,
        token_sha256=_digest(token),
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + dt.timedelta(hours=settings.session_max_hours),
        client_ip=client_ip,
        user_agent=(user_agent or "")[:200] or None,
    )
    session.add(row)
    session.flush()
    audit.record(session, actor, "org.session.start", "user", user.username, {"ip": client_ip})
    return SignedIn(token=token, csrf_token=row.csrf_token, actor=actor)


def record_failure(session: Session, username: str, client_ip: str | None) -> None:
    """Keep a failed attempt (in its own transaction: the refused one is rolled back)."""
    name = username.strip().lower()[:64]
    session.add(LoginAttempt(username=name, client_ip=client_ip, at=utcnow(), succeeded=False))
    session.flush()


def _refuse_if_locked(session: Session, settings: Settings, name: str, client_ip: str | None, now: dt.datetime) -> None:
    since = now - dt.timedelta(minutes=settings.login_lock_minutes)
    failures = _failures_since(session, LoginAttempt.username == name, since)
    by_address = _failures_since(session, LoginAttempt.client_ip == client_ip, since) if client_ip else 0
    if failures >= settings.login_max_failures or by_address >= settings.login_max_failures * IP_FAILURE_FACTOR:
        raise SignInRefusedError(
            f"登录失败次数过多，请{settings.login_lock_minutes}分钟后再试",
            code="sign_in_locked",
            detail={"retry_after_minutes": settings.login_lock_minutes},
        )


def _failures_since(session: Session, who: ColumnElement[bool], since: dt.datetime) -> int:
    """Failures after the last success of the same name or address (a success clears the count)."""
    last_success = select(func.max(LoginAttempt.at)).where(who, LoginAttempt.succeeded.is_(True)).scalar_subquery()
    stmt = select(func.count()).where(
        who,
        LoginAttempt.succeeded.is_(False),
        LoginAttempt.at >= since,
        LoginAttempt.at > func.coalesce(last_success, since - dt.timedelta(seconds=1)),
    )
    return int(session.execute(stmt).scalar_one())


def resume(session: Session, settings: Settings, token: str) -> ActiveSession | None:
    """The session behind a cookie token, or None when it is unknown, expired, idle too long or its user is
    disabled. Reads only; see ``touch``."""
    row = session.execute(select(WebSession).where(WebSession.token_sha256 == _digest(token))).scalar_one_or_none()
    if row is None:
        return None
    now = utcnow()
    idle_limit = row.last_seen_at + dt.timedelta(minutes=settings.session_idle_minutes)
    user = session.get(User, row.user_id)
    if now >= row.expires_at or now >= idle_limit or user is None or not user.is_active:
        return None
    return ActiveSession(
        actor=actor_for(session, user),
        csrf_token=row.csrf_token,
        session_id=row.id,
        needs_touch=now - row.last_seen_at >= LAST_SEEN_GRANULARITY,
    )


def touch(session: Session, session_id: int) -> None:
    """Restart the idle clock of a session."""
    session.execute(update(WebSession).where(WebSession.id == session_id).values(last_seen_at=utcnow()))


def sign_out(session: Session, token: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_sha256 == _digest(token)))


def end_sessions_of(session: Session, user_id: int) -> int:
    """End every browser session of a user (disabled, password reset). Returns how many were open."""
    result = session.execute(delete(WebSession).where(WebSession.user_id == user_id))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def purge_expired(session: Session, settings: Settings) -> int:
    """Drop sessions past their end and sign-in attempts older than a day (the scheduler calls this)."""
    now = utcnow()
    idle_cutoff = now - dt.timedelta(minutes=settings.session_idle_minutes)
    ended = session.execute(
        delete(WebSession).where((WebSession.expires_at <= now) | (WebSession.last_seen_at <= idle_cutoff))
    )
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - dt.timedelta(days=1)))
    return int(ended.rowcount or 0)  # type: ignore[attr-defined]
