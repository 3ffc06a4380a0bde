"""Browser tests: a real civicgrid server on a free port, driven through Playwright in Debian's chromium.

Screenshots of the pages go to test-artifacts/screenshots/ (CI keeps them as artefacts).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser
from sqlalchemy import Engine
from tests.e2e.helpers import Site
from tests.serving import served

from civicgrid import migrate
from civicgrid.app import create_app
from civicgrid.db import make_engine, make_session_factory, server_engine, transaction
from civicgrid.demo.district import build_demo
from civicgrid.settings import Settings

CHROMIUM = os.environ.get("CIVICGRID_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("CIVICGRID_ARTIFACTS", "test-artifacts")) / "screenshots"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {CHROMIUM} is missing: install Debian's chromium")
        pytest.skip(f"browser tests skipped: {CHROMIUM} not installed (apt install chromium)")
    flags = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
    ]
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": flags}


@pytest.fixture(scope="session")
def demo_var_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo server's var dir: its SQLite database (civicgrid.db) and the stored attachments."""
    return tmp_path_factory.mktemp("e2e-var")


@pytest.fixture(scope="session")
def demo_server(demo_var_dir: Path) -> Iterator[str]:
    """The demo district on a fresh SQLite database, served by uvicorn in a background thread."""
    with served_demo(Settings(var_dir=demo_var_dir, database_url=f"sqlite:///{demo_var_dir / 'civicgrid.db'}")) as url:
        yield url


@contextmanager
def served_demo(settings: Settings, extra_routes: Callable[[FastAPI], None] | None = None) -> Iterator[str]:
    """The demo district in the settings' database, served on a free port; its base URL."""
    engine = server_engine(settings)
    migrate.upgrade(engine)
    with transaction(make_session_factory(engine, write=True)) as session:
        build_demo(session, settings=settings)
    app = create_app(settings, engine)
    if extra_routes is not None:
        extra_routes(app)
    try:
        with served(app) as base_url:
            yield base_url
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def demo_db(demo_server: str, demo_var_dir: Path) -> Iterator[Engine]:
    """The served demo database, read directly (to find the grid worker's grid, a case, what a page wrote)."""
    engine = make_engine(f"sqlite:///{demo_var_dir / 'civicgrid.db'}")
    yield engine
    engine.dispose()


@pytest.fixture
def site(browser: Browser, demo_server: str) -> Iterator[Site]:
    """The demo server seen by several people at once (``tests.e2e.helpers.Site``)."""
    site = Site(browser, demo_server)
    yield site
    site.close()
