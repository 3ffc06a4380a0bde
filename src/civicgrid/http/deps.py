"""Request-scoped dependencies shared by the JSON API and the pages.

Connections: a request holds at most one pooled connection at a time. Who is asking is resolved in a short
session of its own, closed before the endpoint's session is opened, so a request never holds a connection while
it waits for another one from the same pool (twenty writers each holding their sign-in lookup while waiting for a
write connection would drain a pool of fifteen and stall every one of them).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator
from typing import Annotated

import anyio
import anyio.to_thread
from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from civicgrid.db import conflict_from, transaction
from civicgrid.errors import ConflictError
from civicgrid.http import csrf
from civicgrid.http.errors import SignInRequiredError
from civicgrid.http.routing import ENDED_FLAG, WRITE_FLAG, end_session
from civicgrid.org import sessions
from civicgrid.org.actor import Actor
from civicgrid.org.service import SignInRefusedError, actor_for_token
from civicgrid.registry.protect import Protector, protector_for
from civicgrid.settings import Settings

log = logging.getLogger(__name__)


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def protector_of(request: Request) -> Protector:
    """This installation's sealing of residents' identifiers (``registry.protect``)."""
    return protector_for(settings_of(request))


async def read_session(request: Request) -> AsyncIterator[Session]:
    """A session for reading; rolled back and closed when the endpoint returns (nothing is written through it)."""
    factory: sessionmaker[Session] = request.app.state.read_sessions
    session = factory()
    try:
        yield session
    finally:
        await _release(request, session, success=False)


async def write_session(request: Request) -> AsyncIterator[Session]:
    """One write transaction for the request: committed when the endpoint returns, rolled back if it raises; a
    lost race (a stale version, a unique key taken meanwhile, SQLite busy) is a ConflictError, 409.

    The endpoint's route (``civicgrid.http.routing.SessionRoute``) ends it in the endpoint's thread; the teardown
    here is for a session the endpoint never received (a request refused before it ran)."""
    factory: sessionmaker[Session] = request.app.state.write_sessions
    session = factory(info={WRITE_FLAG: True})
    session.begin()
    try:
        yield session
    except BaseException as error:
        await _release(request, session, success=False)
        conflict = conflict_from(error)
        if conflict is not None:
            raise conflict from error
        raise
    await _release(request, session, success=True)


async def _release(request: Request, session: Session, *, success: bool) -> None:
    """End a session the endpoint did not end (see ``http.routing``) in a thread of the database's own limiter,
    shielded from cancellation: waiting for a thread of the request pool, it would hold its connection behind
    requests that hold threads while they wait for connections. The limiter has a token for every connection."""
    if session.info.get(ENDED_FLAG):
        return
    limiter: anyio.CapacityLimiter | None = getattr(request.app.state, "release_limiter", None)
    if limiter is None:  # made on first use: a limiter belongs to the running event loop
        settings = settings_of(request)
        limiter = anyio.CapacityLimiter(settings.db_pool_size + settings.db_max_overflow + 1)
        request.app.state.release_limiter = limiter
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(functools.partial(end_session, session, success=success), limiter=limiter)


def current_actor(request: Request, settings: Annotated[Settings, Depends(settings_of)]) -> Actor:
    """Who is asking: the user behind a bearer token (``Authorization: Bearer cg_…``), else behind the browser's
    session cookie, else an anonymous visitor who sees at most the public grid map.

    A cookie is sent by the browser on its own, so an unsafe API request made with it must also carry the
    session's CSRF token (the pages' forms are checked by ``verify_form``)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    factory: sessionmaker[Session] = request.app.state.read_sessions
    if scheme.lower() == "bearer" and token:
        with factory() as session:
            return actor_for_token(session, token)
    if header:
        raise SignInRefusedError("不支持的认证方式：请使用 Authorization: Bearer <令牌>", code="invalid_token")
    cookie = request.cookies.get(csrf.SESSION_COOKIE)
    if not cookie:
        return Actor.anonymous(public_grid_map=settings.public_grid_map)
    with factory() as session:
        active = sessions.resume(session, settings, cookie)
    if active is None:
        return Actor.anonymous(public_grid_map=settings.public_grid_map)
    request.state.web_session = active
    if active.needs_touch:
        _touch(request, active.session_id)
    if request.url.path.startswith("/api/"):
        csrf.verify(request, request.headers.get(csrf.CSRF_HEADER))
    return active.actor


def _touch(request: Request, session_id: int) -> None:
    """Restart the session's idle clock. Best effort: a busy database must not fail the request it rides on
    (the next request a minute later tries again)."""
    try:
        with transaction(request.app.state.write_sessions) as writer:
            sessions.touch(writer, session_id)
    except ConflictError:
        log.info("session %s: idle clock not restarted (database busy)", session_id)


def signed_in(actor: Annotated[Actor, Depends(current_actor)]) -> Actor:
    if not actor.is_authenticated:
        raise SignInRequiredError("请先登录")
    return actor


async def verify_form(request: Request, _actor: Annotated[Actor, Depends(current_actor)]) -> None:
    """Router dependency of the pages: an unsafe request must carry the CSRF token, in the header (htmx) or in
    the submitted form. Depends on the actor so that a signed-in browser is checked against its session's token."""
    if request.method in csrf.SAFE_METHODS:
        return
    sent = request.headers.get(csrf.CSRF_HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(csrf.CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    csrf.verify(request, sent)


ReadSession = Annotated[Session, Depends(read_session)]
# scope="function": the transaction commits before the response goes out, so a failed commit is an error response
# and a client that reads right after a 201 finds what it wrote.
WriteSession = Annotated[Session, Depends(write_session, scope="function")]
CurrentActor = Annotated[Actor, Depends(current_actor)]
SignedIn = Annotated[Actor, Depends(signed_in)]
CSRF_CHECKED = [Depends(verify_form)]
