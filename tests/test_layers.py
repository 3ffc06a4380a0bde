"""The house rule on adapters: api/, web/ and cli/ never import each other; what they share lives in http/."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import Engine

from civicgrid import migrate
from civicgrid.app import create_app
from civicgrid.db import make_engine
from civicgrid.http.routing import SessionRoute, endpoint_routes
from civicgrid.settings import Settings

PACKAGE = Path(__file__).parents[1] / "src" / "civicgrid"
FORBIDDEN = {
    "api": ("civicgrid.web", "civicgrid.cli", "civicgrid.app"),
    "web": ("civicgrid.api", "civicgrid.cli", "civicgrid.app"),
    "cli": ("civicgrid.api", "civicgrid.web"),
    "http": ("civicgrid.api", "civicgrid.web", "civicgrid.cli", "civicgrid.app"),
}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_an_adapter_imports_no_other_adapter(layer: str) -> None:
    offending = [
        f"{path.relative_to(PACKAGE)} imports {module}"
        for path in sorted((PACKAGE / layer).rglob("*.py"))
        for module in sorted(_imports(path))
        if any(module == banned or module.startswith(banned + ".") for banned in FORBIDDEN[layer])
    ]
    assert offending == []


def test_every_route_ends_its_database_sessions_with_the_endpoint(tmp_path: Path) -> None:
    app = create_app(Settings(var_dir=tmp_path, scheduler_interval_seconds=0), _migrated_engine(tmp_path))
    routes = list(endpoint_routes(app.routes))
    assert len(routes) > 100
    assert [route.path for route in routes if not isinstance(route, SessionRoute)] == []


def _migrated_engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'layers.db'}")
    migrate.upgrade(engine)
    return engine
