"""Many people acting at once, against a server listening on a real port, on SQLite and PostgreSQL.

A busy command centre clicks the same button on the same case from many desks: exactly one wins, every other
request is refused at once with 409, nobody gets a 5xx and nobody waits for the pool's timeout. Reads and writes
mixed at 100 concurrent requests stay as quick.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import func, select
from tests.serving import served
from tests.web.conftest import PASSWORDS, DemoSite, bearer_headers, point_in_grid_of

from civicgrid.app import create_app
from civicgrid.cases.intake import IntakeRequest, intake
from civicgrid.cases.models import Case, CaseEvent, Channel
from civicgrid.db import make_session_factory, server_engine, transaction
from civicgrid.org.actor import Actor
from civicgrid.settings import Settings

# Well below the pool's 10 s timeout: a request that waited for a connection held by another waiting request
# would take that long. The bound is generous for a loaded 2-core CI machine; the fault it catches is 10–30 s.
SLOWEST_ACCEPTABLE_SECONDS = 8.0


@dataclass(frozen=True)
class Served:
    url: str
    site: DemoSite


@pytest.fixture(scope="module")
def live(demo_site: DemoSite) -> Iterator[Served]:
    """The demo site served by uvicorn with the production pool settings (``server_engine``)."""
    url = demo_site.engine.url.render_as_string(hide_password=False)
    settings = demo_site.settings.model_copy(update={"database_url": url})
    engine = server_engine(settings)
    try:
        with served(create_app(settings, engine)) as base_url:
            yield Served(base_url, demo_site)
    finally:
        engine.dispose()


def _new_cases(site: DemoSite, count: int) -> list[str]:
    point = point_in_grid_of(site.engine, "gridworker")
    numbers = []
    with transaction(make_session_factory(site.engine, write=True)) as session:
        for n in range(count):
            request = IntakeRequest(
                channel=Channel.HOTLINE_12345,
                title=f"并发测试{n}",
                category_code="0101",
                lon=point.lon,
                lat=point.lat,
                crs="wgs84",
            )
            numbers.append(intake(session, Actor.system("测试"), request, settings=site.settings).case.number)
    return numbers


@dataclass(frozen=True)
class Outcome:
    status: int
    seconds: float


def _fire_together(calls: list[tuple[str, str, dict[str, str], dict[str, object] | None]]) -> list[Outcome]:
    """Send every call at the same moment (a barrier releases them), each from its own client and thread."""
    barrier = threading.Barrier(len(calls))

    def one(call: tuple[str, str, dict[str, str], dict[str, object] | None]) -> Outcome:
        method, url, headers, body = call
        with httpx.Client(timeout=60) as client:
            barrier.wait()
            started = time.monotonic()
            response = client.request(method, url, headers=headers, json=body)
            return Outcome(response.status_code, time.monotonic() - started)

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(one, calls))


def _register_events(site: DemoSite, number: str) -> int:
    with make_session_factory(site.engine)() as session:
        case_id = session.execute(select(Case.id).where(Case.number == number)).scalar_one()
        return int(
            session.execute(
                select(func.count()).where(CaseEvent.case_id == case_id, CaseEvent.action == "register")
            ).scalar_one()
        )


@pytest.mark.slow
def test_twenty_dispatchers_registering_one_case_one_wins_the_rest_get_409_at_once(live: Served) -> None:
    headers = bearer_headers(live.site.engine, "dispatcher", "admin")
    for number in _new_cases(live.site, 10):
        url = f"{live.url}/api/v1/cases/{number}/actions/register"
        body: dict[str, object] = {"note": "并发立案", "category_code": "0101"}
        calls = [("POST", url, headers["dispatcher" if n % 2 else "admin"], body) for n in range(20)]
        outcomes = _fire_together(calls)
        statuses = Counter(outcome.status for outcome in outcomes)
        assert statuses == {200: 1, 409: 19}, (number, statuses)
        assert max(outcome.seconds for outcome in outcomes) < SLOWEST_ACCEPTABLE_SECONDS, number
        assert _register_events(live.site, number) == 1


def _signed_in_cookie(base_url: str, username: str) -> dict[str, str]:
    with httpx.Client(base_url=base_url, follow_redirects=False) as client:
        form = client.get("/login")
        token = form.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        response = client.post(
            "/login", data={"username": username, "password": PASSWORDS[username], "csrf_token": token}
        )
        assert response.status_code == 303, response.text
        return {"Cookie": "; ".join(f"{name}={value}" for name, value in client.cookies.items())}


@pytest.mark.slow
def test_a_hundred_requests_at_once_reads_and_writes_mixed_no_error_no_stall(live: Served) -> None:
    headers = bearer_headers(live.site.engine, "dispatcher", "hotline", "leader")
    cookie = _signed_in_cookie(live.url, "dispatcher")
    numbers = _new_cases(live.site, 5)
    calls: list[tuple[str, str, dict[str, str], dict[str, object] | None]] = []
    for n in range(100):
        number = numbers[n % len(numbers)]
        if n % 4 == 0:
            calls.append(("POST", f"{live.url}/api/v1/cases/{number}/actions/register", headers["dispatcher"],
                          {"note": "并发", "category_code": "0101"}))  # fmt: skip
        elif n % 4 == 1:
            calls.append(("GET", f"{live.url}/cases?queue=to_register", cookie, None))  # a page, with the cookie
        elif n % 4 == 2:
            calls.append(("GET", f"{live.url}/api/v1/cases/{number}", headers["hotline"], None))
        else:
            calls.append(("GET", f"{live.url}/api/v1/kpi", headers["leader"], None))
    outcomes = _fire_together(calls)
    statuses = Counter(outcome.status for outcome in outcomes)
    assert set(statuses) <= {200, 409}, statuses
    assert statuses[409] == 25 - len(numbers)  # every register but the first on each case lost its race
    assert max(outcome.seconds for outcome in outcomes) < SLOWEST_ACCEPTABLE_SECONDS
    assert all(_register_events(live.site, number) == 1 for number in numbers)


def test_a_request_that_finds_the_pool_dry_is_told_busy_not_500(demo_site: DemoSite) -> None:
    """The last line of defence: should every connection stay taken for the whole pool timeout, the answer is a
    quick 503 with Retry-After, in Chinese, never a 500."""
    url = demo_site.engine.url.render_as_string(hide_password=False)
    settings: Settings = demo_site.settings.model_copy(
        update={"database_url": url, "db_pool_size": 1, "db_max_overflow": 0, "db_pool_timeout_seconds": 0.2}
    )
    engine = server_engine(settings)
    headers = bearer_headers(demo_site.engine, "dispatcher")["dispatcher"]
    try:
        with served(create_app(settings, engine)) as base_url, engine.connect():  # the only connection, taken
            response = httpx.get(f"{base_url}/api/v1/cases", headers=headers, timeout=10)
    finally:
        engine.dispose()
    assert response.status_code == 503
    assert response.headers["retry-after"]
    assert response.json()["error"]["message"] == "系统繁忙，请稍后重试"
