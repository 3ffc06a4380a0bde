"""A page shown after a failed form stays at the form's POST address; reloading it (a GET) must never be 405
"不支持该请求方式": every page POST route answers GET, by going to the page its form is on."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi import FastAPI
from sqlalchemy import Engine, select
from tests.web.conftest import Browser, point_in_grid_of

from civicgrid.campaigns.models import CampaignTarget
from civicgrid.cases.models import Case, RoutingRule
from civicgrid.db import make_session_factory
from civicgrid.http.routing import endpoint_routes
from civicgrid.registry.models import Estate, Person

SignedIn = Callable[[str], Browser]


def _samples(engine: Engine) -> dict[str, str]:
    """A real value for each path parameter of the page routes."""
    with make_session_factory(engine)() as session:
        target = session.execute(select(CampaignTarget).order_by(CampaignTarget.id)).scalars().first()
        rule_id = session.execute(select(RoutingRule.id).order_by(RoutingRule.id)).scalars().first()
        return {
            "number": session.execute(select(Case.number).order_by(Case.id)).scalars().first() or "1",
            "action": "return",
            "username": "dispatcher",
            "person_id": str(session.execute(select(Person.id).order_by(Person.id)).scalars().first()),
            "kind_key": "estate",
            "record_id": str(session.execute(select(Estate.id).order_by(Estate.id)).scalars().first()),
            "campaign_id": str(target.campaign_id if target else 1),
            "target_id": str(target.id if target else 1),
            "rule_id": str(rule_id or 1),
            "code": "0101",
        }


def page_post_paths(app: FastAPI, samples: dict[str, str]) -> list[str]:
    paths = []
    for route in endpoint_routes(app.routes):
        if "POST" in route.methods and not route.path.startswith("/api/"):
            paths.append(re.sub(r"\{(\w+)\}", lambda found: samples[found.group(1)], route.path))
    return paths


def test_every_page_post_address_answers_a_get_with_its_form(
    web_app: FastAPI, demo_engine: Engine, signed_in: SignedIn
) -> None:
    admin = signed_in("admin")
    paths = page_post_paths(web_app, _samples(demo_engine))
    assert "/cases/new" in paths and "/admin/grid/rename" in paths and len(paths) > 30
    for path in paths:
        response = admin.get(path)
        assert response.status_code not in (405, 500), f"{path}: {response.status_code}"
        if response.status_code == 303:
            target = response.headers["location"]
            assert path.startswith(target), f"{path} → {target}: not the page the form is on"
            assert admin.get(target).status_code not in (405, 500), f"{path} → {target}"


def test_a_failed_action_reloaded_shows_the_case_again(signed_in: SignedIn, demo_engine: Engine) -> None:
    """不予立案 without a reason is refused on /cases/N/actions/reject; opening that address again shows the case
    with its forms."""
    gridworker = signed_in("gridworker")
    spot = point_in_grid_of(demo_engine, "gridworker")
    gridworker.get("/m/report")
    where = {"lon": str(spot.lon), "lat": str(spot.lat), "crs": "wgs84"}
    reported = gridworker.post("/m/report", {"description": "井盖松动，车辆经过有响声", **where})
    number = reported.headers["location"].split("/")[2].split("?")[0]
    dispatcher = signed_in("dispatcher")
    dispatcher.get(f"/cases/{number}")
    refused = dispatcher.post(f"/cases/{number}/actions/reject", {"note": ""})
    assert refused.status_code == 422 and "理由" in refused.text
    again = dispatcher.get(f"/cases/{number}/actions/reject")
    assert again.status_code == 303 and again.headers["location"] == f"/cases/{number}"
    assert 'data-action="reject"' in dispatcher.get(again.headers["location"]).text


def test_an_unknown_address_stays_a_404_and_the_api_a_json_405(visitor: Browser) -> None:
    assert visitor.get("/cases/1/nowhere/at-all").status_code == 404
    api = visitor.get("/api/v1/campaigns/1/close")
    assert api.status_code == 405 and api.headers["content-type"].startswith("application/json")
