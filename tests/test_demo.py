"""The demo district: what `make demo` builds must be a sound district, with a working sign-in per role."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from civicgrid.cli import app
from civicgrid.db import make_engine, make_session_factory
from civicgrid.demo.district import DEMO_LOGINS, MAIN_STREET
from civicgrid.grid.check import check_grid
from civicgrid.grid.codes import GridLevel
from civicgrid.grid.models import GridAssignment, GridDuty, GridNode
from civicgrid.org.actor import Actor
from civicgrid.org.roles import Role
from civicgrid.org.service import actor_for, authenticate
from civicgrid.settings import get_settings


@pytest.fixture
def demo_session(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Session]:
    monkeypatch.setenv("CIVICGRID_DATABASE_URL", database_url)
    monkeypatch.setenv("CIVICGRID_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    built = runner.invoke(app, ["demo"])
    assert built.exit_code == 0, built.output
    assert "218个网格单元" in built.output
    assert "admin-demo-2026" in built.output
    skipped = runner.invoke(app, ["demo", "--if-empty"])
    assert skipped.exit_code == 0
    assert "跳过" in skipped.output
    refused = runner.invoke(app, ["demo"])
    assert refused.exit_code == 5
    assert "--reset" in refused.output
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        yield session
    engine.dispose()
    get_settings.cache_clear()


def test_the_demo_district_is_sound_and_every_role_can_sign_in(demo_session: Session) -> None:
    session = demo_session
    units = (
        session.execute(
            select(GridNode)
            .where(GridNode.level == GridLevel.UNIT.value, GridNode.code.startswith(MAIN_STREET))
            .order_by(GridNode.code)
        )
        .scalars()
        .all()
    )
    assert len(units) == 218
    assert check_grid(session, Actor.system("测试"), tolerance_m=1.0).problems == []
    per_unit = (
        select(GridAssignment.grid_node_id, func.count())
        .where(GridAssignment.duty == GridDuty.GRID_WORKER.value)
        .group_by(GridAssignment.grid_node_id)
    )
    workers = dict(session.execute(per_unit).all())
    assert all(workers.get(unit.id) == 1 for unit in units)
    for login in DEMO_LOGINS:
        user = authenticate(session, login.username, login.password)
        actor = actor_for(session, user)
        assert actor.roles == {login.role}
        if login.role is Role.GRID_WORKER:
            assert actor.grid_codes == (units[0].code,)
        if login.role is Role.DISPATCHER:
            assert actor.grid_codes == (MAIN_STREET,)
    session.rollback()
