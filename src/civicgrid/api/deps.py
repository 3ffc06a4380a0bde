"""Request-scoped dependencies shared by the JSON API and the pages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from civicgrid.org.actor import Actor
from civicgrid.settings import Settings


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def read_session(request: Request) -> Iterator[Session]:
    """A session for reading; rolled back at the end of the request (nothing is written through it)."""
    factory: sessionmaker[Session] = request.app.state.read_sessions
    with factory() as session:
        yield session


def current_actor(request: Request, settings: Annotated[Settings, Depends(settings_of)]) -> Actor:
    """Who is asking. Until sign-in lands (issue 4) every visitor is anonymous and sees the public grid map."""
    return Actor.anonymous(public_grid_map=settings.public_grid_map)


ReadSession = Annotated[Session, Depends(read_session)]
CurrentActor = Annotated[Actor, Depends(current_actor)]
