"""The campaigns' JSON API with bearer tokens over the demo district: an administrator launches a 走访 of elderly
people living alone with a custom form; the grid worker downloads her targets, sends a visit twice from an offline
queue (201 then 200, one submission), gets a 409 for a second visit; a bad form or answer is a 422 naming it; the
progress and the report sentence come back; a leader cannot launch."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from tests.web.conftest import bearer_headers, point_in_grid_of

from civicgrid.db import make_session_factory, transaction
from civicgrid.org.actor import Actor
from civicgrid.registry import people
from civicgrid.registry.models import Residence
from civicgrid.registry.protect import protector_for

HEADERS: dict[str, dict[str, str]] = {}
TAG = "重点优抚"  # a tag no other web test gives, so the target set is exactly ours
FORM = [
    {"key": "health", "label": "身体状况", "type": "choice", "required": True, "choices": ["良好", "一般", "较差"]},
    {
        "key": "needs_help",
        "label": "是否需要帮扶",
        "type": "yes_no",
        "hazard_when": "是",
        "hazard_category": "养老服务",
    },
]


@pytest.fixture(scope="module")
def api(web_app: FastAPI, demo_engine: Engine) -> TestClient:
    HEADERS.update(bearer_headers(demo_engine, "gridworker", "admin", "leader"))
    here = point_in_grid_of(demo_engine, "gridworker")
    settings = web_app.state.settings
    with transaction(make_session_factory(demo_engine, write=True)) as session:
        for number in range(4):
            data = people.PersonInput(
                f"优抚对象{number}", residence=Residence.HOUSEHOLD, tags=(TAG,), lon=here.lon, lat=here.lat, crs="wgs84"
            )
            people.register_person(session, Actor.system("测试"), data, protector_for(settings))
    return TestClient(web_app)


def launch(api: TestClient, who: str = "admin", **changes: object) -> httpx.Response:
    body = {
        "name": f"优抚对象走访{uuid.uuid4().hex[:4]}",
        "verb": "走访",
        "target_kind": "people",
        "grid_code": "370299",
        "tag": TAG,
        "deadline": (dt.datetime.now(dt.UTC) + dt.timedelta(days=7)).isoformat(),
        "questions": FORM,
    } | changes
    return api.post("/api/v1/campaigns", json=body, headers=HEADERS[who])


def test_a_visit_from_an_offline_queue_is_stored_once(api: TestClient) -> None:
    created = launch(api)
    assert created.status_code == 201, created.text
    campaign = created.json()
    assert campaign["target_count"] == 4 and campaign["state"] == "open"
    base = f"/api/v1/campaigns/{campaign['id']}"
    targets = api.get(f"{base}/targets", headers=HEADERS["gridworker"]).json()
    assert targets["total"] == 4 and all(item["done_at"] is None for item in targets["items"])
    first = targets["items"][0]["id"]
    visit = {"client_submission_id": f"offline-{uuid.uuid4().hex}", "answers": {"health": "一般", "needs_help": "否"}}
    sent = api.post(f"{base}/targets/{first}/submissions", json=visit, headers=HEADERS["gridworker"])
    resent = api.post(f"{base}/targets/{first}/submissions", json=visit, headers=HEADERS["gridworker"])
    assert (sent.status_code, resent.status_code) == (201, 200) and sent.json()["id"] == resent.json()["id"]
    second = api.post(
        f"{base}/targets/{first}/submissions",
        json=visit | {"client_submission_id": f"offline-{uuid.uuid4().hex}"},
        headers=HEADERS["gridworker"],
    )
    assert second.status_code == 409 and second.json()["error"]["code"] == "already_done"
    helped = api.post(
        f"{base}/targets/{targets['items'][1]['id']}/submissions",
        json={"client_submission_id": f"offline-{uuid.uuid4().hex}", "answers": {"health": "较差", "needs_help": "是"}},
        headers=HEADERS["gridworker"],
    )
    assert helped.status_code == 201 and len(helped.json()["case_numbers"]) == 1
    bad = api.post(
        f"{base}/targets/{targets['items'][2]['id']}/submissions",
        json={"client_submission_id": f"offline-{uuid.uuid4().hex}", "answers": {"health": "很好"}},
        headers=HEADERS["gridworker"],
    )
    assert bad.status_code == 422 and bad.json()["error"]["detail"] == {"key": "health"}
    progress = api.get(base, headers=HEADERS["leader"]).json()
    assert progress["progress"]["done"] == 2 and progress["progress"]["cases"] == 1
    assert "共走访2人（目标4人，完成50%）" in progress["sentence"]
    assert api.get(f"{base}/targets", headers=HEADERS["gridworker"]).json()["total"] == 2


def test_launching_is_refused_for_a_bad_form_or_without_the_permission(api: TestClient) -> None:
    bad_form = launch(api, questions=[{"key": "Health", "label": "身体", "type": "choice", "choices": ["好", "差"]}])
    assert bad_form.status_code == 422 and bad_form.json()["error"]["code"] == "form_bad_key"
    nobody = launch(api, tag="没有这个标签")
    assert nobody.json()["error"]["code"] == "no_targets"
    assert launch(api, who="leader").status_code == 403
    no_zone = (dt.datetime.now() + dt.timedelta(days=7)).isoformat()
    assert launch(api, deadline=no_zone).status_code == 422  # a deadline without its zone is refused


def test_a_submission_id_belongs_to_its_sender_a_replay_by_anyone_else_reveals_nothing(
    api: TestClient, demo_engine: Engine
) -> None:
    HEADERS.update(bearer_headers(demo_engine, "wgy002"))
    created = launch(api)
    assert created.status_code == 201, created.text
    base = f"/api/v1/campaigns/{created.json()['id']}"
    target = api.get(f"{base}/targets", headers=HEADERS["gridworker"]).json()["items"][0]["id"]
    visit = {"client_submission_id": f"offline-{uuid.uuid4().hex}", "answers": {"health": "较差", "needs_help": "否"}}
    sent = api.post(f"{base}/targets/{target}/submissions", json=visit, headers=HEADERS["gridworker"])
    assert sent.status_code == 201, sent.text
    for who in ("wgy002", "admin"):  # another grid worker, even an administrator: not their key
        replay = api.post(f"{base}/targets/{target}/submissions", json=visit, headers=HEADERS[who])
        assert replay.status_code == 409, (who, replay.text)
        assert replay.json()["error"]["code"] == "client_id_taken"
        assert "较差" not in replay.text and "刘芳" not in replay.text and str(target) not in replay.text
    again = api.post(f"{base}/targets/{target}/submissions", json=visit, headers=HEADERS["gridworker"])
    assert again.status_code == 200 and again.json()["id"] == sent.json()["id"]  # her own retry still works
