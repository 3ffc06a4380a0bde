"""The server's derived flags are current before it serves its first page (one 超期 count for every screen)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from civicgrid import migrate
from civicgrid.app import create_app
from civicgrid.cases.intake import IntakeRequest, intake
from civicgrid.cases.models import Case, Channel
from civicgrid.db import make_engine, make_session_factory, transaction
from civicgrid.org.actor import Actor
from civicgrid.org.models import DepartmentKind
from civicgrid.org.service import create_department
from civicgrid.settings import Settings

LONG_AGO = dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.UTC)  # its 立案 time ran out long before the server starts


@pytest.mark.parametrize("interval", [60, 0])
def test_overdue_flags_are_raised_before_the_first_request(database_url: str, tmp_path: Path, interval: int) -> None:
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    settings = Settings(var_dir=tmp_path, database_url=database_url, scheduler_interval_seconds=interval)
    with transaction(make_session_factory(engine, write=True)) as session:
        system = Actor.system("测试")
        create_department(session, system, code="ZHZX", name="指挥中心", kind=DepartmentKind.COMMAND_CENTER)
        request = IntakeRequest(channel=Channel.HOTLINE_12345, title="路灯不亮", reported_at=LONG_AGO)
        number = intake(session, system, request, settings=settings).case.number
    try:
        with TestClient(create_app(settings, engine)) as client:  # runs the start-up, as uvicorn does
            assert client.get("/healthz").status_code == 200
            with make_session_factory(engine)() as session:
                overdue = session.execute(select(Case.overdue).where(Case.number == number)).scalar_one()
    finally:
        engine.dispose()
    assert overdue is (interval > 0)  # with the scheduler off nothing refreshes it: the test can tell
