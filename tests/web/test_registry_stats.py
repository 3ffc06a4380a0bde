"""登记统计 over the demo district with a few records added: the page and the API show the counts per lower grid
and the rankings for those who may read the registry, in their grids only; everyone else gets a Chinese refusal."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import Engine
from tests.web.conftest import Browser, point_in_grid_of

from civicgrid.db import make_session_factory, transaction
from civicgrid.org.actor import Actor
from civicgrid.registry import objects
from civicgrid.registry.placing import Where

SignedIn = Callable[[str], Browser]
STREET, OTHER_STREET = "370299001", "370299002"


@pytest.fixture(scope="module")
def company(demo_engine: Engine) -> str:
    """An enterprise with land and tax in the grid worker's unit (the demo's own registry is not loaded here)."""
    point = point_in_grid_of(demo_engine, "gridworker")
    name = f"统计测试公司{uuid.uuid4().hex[:6]}"
    values = {"name": name, "annual_tax": 900, "land_mu": 3, "industry": "C", "tags": "规上"}
    with transaction(make_session_factory(demo_engine, write=True)) as session:
        objects.register(session, Actor.system("测试"), "enterprise", values, Where(point.lon, point.lat, "wgs84"))
    return name


def test_the_leader_sees_the_streets_communities_and_the_ranking(signed_in: SignedIn, company: str) -> None:
    page = signed_in("leader").get("/registry/stats")
    assert page.status_code == 200
    assert "登记统计" in page.text and "海川街道" in page.text and 'id="registry-counts"' in page.text
    assert company in page.text and "300.00" in page.text  # 900 万元 on 3 亩, in the tax-per-mu table
    assert "海川街道辖区共有" in page.text


def test_a_grid_worker_sees_her_unit_and_may_not_look_at_the_street(signed_in: SignedIn, company: str) -> None:
    browser = signed_in("gridworker")
    page = browser.get("/registry/stats")
    assert page.status_code == 200 and company in page.text
    refused = browser.get(f"/registry/stats?grid={STREET}")
    assert refused.status_code == 404 and "不在管辖范围内" in refused.text


def test_the_api_gives_the_same_figures_and_refuses_outside_the_scope(signed_in: SignedIn, company: str) -> None:
    browser = signed_in("leader")
    figures = browser.get("/api/v1/registry/stats").json()
    assert figures["grid"]["code"] == STREET and figures["total"]["enterprise"] >= 1
    assert figures["enterprises_by_tag"]["规上"] >= 1
    assert any(row["name"] == company for row in figures["tax_per_mu"]["rows"])
    assert sum(row["counts"].get("enterprise", 0) for row in figures["rows"]) == figures["total"]["enterprise"]
    refused = browser.get(f"/api/v1/registry/stats?grid={OTHER_STREET}")
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "grid_not_found"


def test_without_registry_permission_the_page_is_refused(signed_in: SignedIn) -> None:
    page = signed_in("hotline").get("/registry/stats")
    assert page.status_code == 403 and "无权" in page.text
