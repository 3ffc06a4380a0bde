"""Helpers the API tests share."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from civicgrid.org.actor import Actor
from civicgrid.org.roles import Role
from civicgrid.org.service import create_api_token, create_user

Person = tuple[str, Role, str | None, list[str]]  # username, role, department code, grid scope codes


def people_with_tokens(session: Session, system: Actor, people: Iterable[Person]) -> dict[str, dict[str, str]]:
    """Create the users (one role each) and return each one's bearer-token header, by username."""
    headers = {}
    for username, role, department, grids in people:
        create_user(
            session,
            system,
            username=username,
            display_name=username,
            roles=[role],
            password=None,
            department_code=department,
            grid_codes=grids,
        )
        headers[username] = {"Authorization": f"Bearer {create_api_token(session, system, username, '测试')}"}
    return headers
