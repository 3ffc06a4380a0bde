"""Request-scoped dependencies shared by the JSON API and the pages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from civicgrid.db import transaction
from civicgrid.org import sessions
from civicgrid.org.actor import Actor
from civicgrid.org.service import SignInRefusedError, actor_for_token
from civicgrid.registry.protect import Protector, protector_for
from civicgrid.settings import Settings
from civicgrid.web import csrf


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def protector_of(request: Request) -> Protector:
    """This installation's sealing of residents' identifiers (``registry.protect``)."""
    return protector_for(settings_of(request))


def read_session(request: Request) -> Iterator[Session]:
    """A session for reading; rolled back at the end of the request (nothing is written through it)."""
    factory: sessionmaker[Session] = request.app.state.read_sessions
    with factory() as session:
        yield session


def write_session(request: Request) -> Iterator[Session]:
    """One write transaction for the request: committed when the endpoint returns, rolled back if it raises."""
    with transaction(request.app.state.write_sessions) as session:
        yield session


def current_actor(
    request: Request,
    session: Annotated[Session, Depends(read_session)],
    settings: Annotated[Settings, Depends(settings_of)],
) -> Actor:
    """Who is asking: the user behind a bearer token (``Authorization: Bearer cg_…``), else behind the browser's
    session cookie, else an anonymous visitor who sees at most the public grid map.

    A cookie is sent by the browser on its own, so an unsafe API request made with it must also carry the
    session's CSRF token (the pages' forms are checked by ``csrf.verify_form``)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token:
        return actor_for_token(session, token)
    if header:
        raise SignInRefusedError("不支持的认证方式：请使用 Authorization: Bearer <令牌>", code="invalid_token")
    cookie = request.cookies.get(csrf.SESSION_COOKIE)
    active = sessions.resume(session, settings, cookie) if cookie else None
    if active is None:
        return Actor.anonymous(public_grid_map=settings.public_grid_map)
    request.state.web_session = active
    if active.needs_touch:
        with transaction(request.app.state.write_sessions) as writer:
            sessions.touch(writer, active.session_id)
    if request.url.path.startswith("/api/"):
        csrf.verify(request, request.headers.get(csrf.CSRF_HEADER))
    return active.actor


ReadSession = Annotated[Session, Depends(read_session)]
# scope="function": the transaction commits before the response goes out, so a failed commit is an error response
# and a client that reads right after a 201 finds what it wrote.
WriteSession = Annotated[Session, Depends(write_session, scope="function")]
CurrentActor = Annotated[Actor, Depends(current_actor)]
