"""Page tests: the real app (real sign-in, real CSRF) over the demo district, on SQLite and on PostgreSQL.

The demo district is built once per backend; a test that changes data creates its own cases, so tests do not
depend on each other's order.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text

from civicgrid import migrate
from civicgrid.app import create_app
from civicgrid.db import make_engine, make_session_factory, transaction
from civicgrid.demo.district import DEMO_LOGINS, build_demo
from civicgrid.grid.models import GridAssignment, GridNode
from civicgrid.grid.service import node_geometry
from civicgrid.org.models import User
from civicgrid.settings import Settings

PASSWORDS = {login.username: login.password for login in DEMO_LOGINS}
TOKEN = re.compile(r'"X-CSRF-Token": "([^"]+)"')


@dataclass(frozen=True)
class DemoSite:
    engine: Engine
    settings: Settings


@contextmanager
def demo_database(backend: str, var_dir: Path, postgres_base_url: str | None = None) -> Iterator[DemoSite]:
    """The demo district in a database of its own: a SQLite file in ``var_dir``, or a fresh PostgreSQL schema on
    ``postgres_base_url`` (dropped afterwards)."""
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{var_dir / 'civicgrid.db'}")
    else:
        assert postgres_base_url is not None
        schema = f"web_{uuid.uuid4().hex[:10]}"
        with make_engine(postgres_base_url).begin() as connection:
            connection.execute(text(f"CREATE SCHEMA {schema}"))
        separator = "&" if "?" in postgres_base_url else "?"
        engine = make_engine(f"{postgres_base_url}{separator}options=-csearch_path%3D{schema}")
    migrate.upgrade(engine)
    settings = Settings(var_dir=var_dir, scheduler_interval_seconds=0)
    with transaction(make_session_factory(engine, write=True)) as session:
        build_demo(session, settings=settings)
    try:
        yield DemoSite(engine, settings)
    finally:
        if backend == "postgresql":
            with engine.begin() as connection:
                connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


def demo_site_for(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoSite]:
    """The body of a demo-site fixture parametrized by backend ("sqlite", "postgresql")."""
    var_dir = tmp_path_factory.mktemp(f"web-{request.param}")
    base = request.getfixturevalue("postgres_base_url") if request.param == "postgresql" else None
    with demo_database(request.param, var_dir, base) as site:
        yield site


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def demo_site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoSite]:
    yield from demo_site_for(request, tmp_path_factory)


@pytest.fixture(scope="session")
def demo_engine(demo_site: DemoSite) -> Engine:
    return demo_site.engine


@pytest.fixture(scope="session")
def web_app(demo_site: DemoSite) -> FastAPI:
    return create_app(demo_site.settings, demo_site.engine)


class Browser:
    """A TestClient that signs in through the login form and sends the CSRF token with every form, as a
    browser would."""

    def __init__(self, app: FastAPI) -> None:
        self.client = TestClient(app, follow_redirects=False)
        self.csrf: str | None = None

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        response = self.client.get(url, **kwargs)
        found = TOKEN.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    def post(self, url: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kwargs: Any) -> httpx.Response:
        form = dict(data or {})
        if csrf:
            if self.csrf is None:
                self.get("/login")
            form.setdefault("csrf_token", self.csrf)
        return self.client.post(url, data=form, **kwargs)

    def login(self, username: str, password: str | None = None) -> Browser:
        self.get("/login")
        response = self.post("/login", {"username": username, "password": password or PASSWORDS[username]})
        assert response.status_code == 303, response.text
        self.get("/")
        return self


@pytest.fixture
def visitor(web_app: FastAPI) -> Browser:
    return Browser(web_app)


@pytest.fixture
def signed_in(web_app: FastAPI) -> Any:
    """signed_in("dispatcher") → a Browser signed in as that demo user."""
    return lambda username, password=None: Browser(web_app).login(username, password)


@pytest.fixture
def photo() -> bytes:
    return (Path(__file__).parent.parent / "data" / "photo.png").read_bytes()


@dataclass(frozen=True)
class GridPoint:
    code: str
    lon: float
    lat: float


def point_in_grid_of(engine: Engine, username: str) -> GridPoint:
    """A WGS-84 point inside the (first) unit grid the user is assigned to."""
    with make_session_factory(engine)() as session:
        node = (
            session.execute(
                select(GridNode)
                .join(GridAssignment, GridAssignment.grid_node_id == GridNode.id)
                .join(User, User.id == GridAssignment.user_id)
                .where(User.username == username)
                .order_by(GridNode.code)
            )
            .scalars()
            .first()
        )
        assert node is not None, f"{username} has no grid"
        geometry = node_geometry(node)
        assert geometry is not None
        point = geometry.representative_point()
        return GridPoint(node.code, float(point.x), float(point.y))


def point_outside_grid_of(engine: Engine, username: str) -> GridPoint:
    """A point in some other unit grid of the demo street."""
    own = point_in_grid_of(engine, username)
    with make_session_factory(engine)() as session:
        node = (
            session.execute(
                select(GridNode)
                .where(GridNode.level == "unit", GridNode.code != own.code)
                .order_by(GridNode.code.desc())
            )
            .scalars()
            .first()
        )
        assert node is not None
        geometry = node_geometry(node)
        assert geometry is not None
        point = geometry.representative_point()
        return GridPoint(node.code, float(point.x), float(point.y))


def bearer_headers(engine: Engine, *usernames: str) -> dict[str, dict[str, str]]:
    """A fresh API token for each demo user, as the Authorization header, by username."""
    from civicgrid.org.actor import Actor
    from civicgrid.org.service import create_api_token

    headers = {}
    with transaction(make_session_factory(engine, write=True)) as session:
        for username in usernames:
            token = create_api_token(session, Actor.system("测试"), username, f"test-{uuid.uuid4().hex[:8]}")
            headers[username] = {"Authorization": f"Bearer {token}"}
    return headers
