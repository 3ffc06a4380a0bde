"""摸排走访 pages over the demo district: an administrator launches a campaign from a ready-made form; the grid
worker sees only her grid's households, fills the form (a refused answer shown next to its question with what she
typed kept; the same form sent twice is one submission; a hazard answer opens a case); the progress page counts
it; a leader reads the progress but cannot fill in; a household in another grid is a 404."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, func, select
from tests.web.conftest import Browser, point_in_grid_of, point_outside_grid_of

from civicgrid.campaigns.models import CampaignSubmission, CampaignTarget
from civicgrid.db import make_session_factory, transaction
from civicgrid.org.actor import Actor
from civicgrid.registry import objects
from civicgrid.registry.placing import Where

SignedIn = Callable[[str], Browser]


@dataclass(frozen=True)
class Launched:
    campaign_id: int
    mine: list[int]
    elsewhere: int


def _houses(engine: Engine, street: str, spot: tuple[float, float], count: int) -> None:
    with transaction(make_session_factory(engine, write=True)) as session:
        for _ in range(count):
            name = f"{street}{uuid.uuid4().hex[:6]}号"
            values = {"name": name, "address": name}
            objects.register(session, Actor.system("测试"), "house", values, Where(spot[0], spot[1], "wgs84"))


@pytest.fixture(scope="module")
def launched(demo_engine: Engine, web_app: FastAPI) -> Launched:
    here, there = point_in_grid_of(demo_engine, "gridworker"), point_outside_grid_of(demo_engine, "gridworker")
    _houses(demo_engine, "摸排路", (here.lon, here.lat), 3)
    _houses(demo_engine, "别处路", (there.lon, there.lat), 1)
    admin = Browser(web_app).login("admin")
    form = {
        "name": f"入户摸排{uuid.uuid4().hex[:4]}",
        "verb": "摸排",
        "preset": "household_survey",
        "grid_code": here.code[:6],
        "deadline": (dt.date.today() + dt.timedelta(days=10)).isoformat(),
    }
    created = admin.post("/campaigns", form)
    assert created.status_code == 303, created.text
    campaign_id = int(created.headers["location"].rsplit("/", 1)[1])
    with make_session_factory(demo_engine)() as session:
        targets = session.execute(
            select(CampaignTarget.id, CampaignTarget.scope_code).where(CampaignTarget.campaign_id == campaign_id)
        ).all()
    mine = [target_id for target_id, scope in targets if scope.startswith(here.code)]
    elsewhere = next(target_id for target_id, scope in targets if scope.startswith(there.code))
    return Launched(campaign_id, mine, elsewhere)


def client_id(page: str) -> str:
    found = re.search(r'name="client_submission_id" value="([0-9a-f]+)"', page)
    assert found
    return found.group(1)


def test_launching_needs_a_form_and_the_permission(signed_in: SignedIn, launched: Launched) -> None:
    admin = signed_in("admin")
    assert "household_survey" in admin.get("/campaigns/new").text
    missing = admin.post("/campaigns", {"name": "缺表单", "grid_code": "370299", "deadline": "2099-01-01"})
    assert missing.status_code == 422 and "请选择表单" in missing.text and 'value="缺表单"' in missing.text
    assert signed_in("gridworker").get("/campaigns/new").status_code == 403
    detail = admin.get(f"/campaigns/{launched.campaign_id}")
    assert "共摸排0户" in detail.text and 'id="grid-progress"' in detail.text


def test_a_grid_worker_fills_the_form_once_even_when_it_is_sent_twice(
    signed_in: SignedIn, launched: Launched, demo_engine: Engine
) -> None:
    worker = signed_in("gridworker")
    assert f'href="/campaigns/{launched.campaign_id}"' in worker.get("/campaigns").text
    listing = worker.get(f"/campaigns/{launched.campaign_id}/visit")
    shown = {int(n) for n in re.findall(r'data-target="(\d+)"', listing.text)}
    assert set(launched.mine) <= shown and launched.elsewhere not in shown
    url = f"/campaigns/{launched.campaign_id}/targets/{launched.mine[0]}"
    form_page = worker.get(url)
    token = client_id(form_page.text)
    typed = {"client_submission_id": token, "outcome": "visited", "q_occupancy": "出租", "q_note": "<b>租户</b>"}
    refused = worker.post(url, typed)
    assert refused.status_code == 422 and "请回答“实际居住人数”" in refused.text
    assert 'value="出租" checked' in refused.text and "&lt;b&gt;租户&lt;/b&gt;" in refused.text
    assert client_id(refused.text) == token  # the retry keeps the same submission id
    full = typed | {"q_residents": "3", "q_elderly_alone": "否", "q_gas": "否"}
    assert worker.post(url, full).status_code == 303
    assert worker.post(url, full).status_code == 303  # sent again: the same submission
    with make_session_factory(demo_engine)() as session:
        count = session.execute(
            select(func.count()).where(CampaignSubmission.client_submission_id == token)
        ).scalar_one()
    assert count == 1
    again = worker.post(url, full | {"client_submission_id": uuid.uuid4().hex})
    assert again.status_code == 409 and "不能重复填报" in again.text
    progress = worker.get(f"/campaigns/{launched.campaign_id}")
    assert "共摸排1户" in progress.text and "共计3人" in progress.text


def test_a_hazard_answer_opens_a_case(signed_in: SignedIn, launched: Launched) -> None:
    worker = signed_in("gridworker")
    url = f"/campaigns/{launched.campaign_id}/targets/{launched.mine[1]}"
    answers = {"q_residents": "1", "q_occupancy": "自住", "q_elderly_alone": "是", "q_gas": "是"}
    sent = worker.post(url, {"client_submission_id": client_id(worker.get(url).text), "outcome": "visited", **answers})
    assert sent.status_code == 303
    note = worker.get(sent.headers["location"]).text
    number = re.search(r"转案件(\S+?)<", note)
    assert number, note
    case_page = worker.get(f"/cases/{number.group(1)}")
    assert case_page.status_code == 200 and "燃气安全隐患" in case_page.text


def test_others_cannot_fill_in_or_reach_another_grid(signed_in: SignedIn, launched: Launched) -> None:
    worker = signed_in("gridworker")
    assert worker.get(f"/campaigns/{launched.campaign_id}/targets/{launched.elsewhere}").status_code == 404
    leader = signed_in("leader")
    detail = leader.get(f"/campaigns/{launched.campaign_id}")
    assert detail.status_code == 200 and 'id="start-visit"' not in detail.text
    url = f"/campaigns/{launched.campaign_id}/targets/{launched.mine[2]}"
    form = {"client_submission_id": uuid.uuid4().hex, "outcome": "not_reached"}
    assert leader.post(url, form).status_code in (403, 404)
    export = signed_in("admin").get(f"/campaigns/{launched.campaign_id}/export.xlsx")
    assert export.status_code == 200 and export.content.startswith(b"PK")


def test_a_campaign_with_its_own_form_typed_on_the_page(signed_in: SignedIn, launched: Launched) -> None:
    admin = signed_in("admin")
    assert 'id="preset-texts"' in admin.get("/campaigns/new").text
    form = {
        "name": f"出租房屋排查{uuid.uuid4().hex[:4]}",
        "verb": "排查",
        "preset": "custom",
        "target_kind": "house",
        "grid_code": "370299",
        "deadline": (dt.date.today() + dt.timedelta(days=5)).isoformat(),
    }
    bad = admin.post("/campaigns", form | {"form_text": "租户人数 | 数字 | 必答\n租赁登记 | 有无"})
    assert bad.status_code == 422 and "第2行的类型“有无”" in bad.text and "租户人数 | 数字 | 必答" in bad.text
    good = admin.post(
        "/campaigns", form | {"form_text": "租户人数 | 数字 | 必答\n是否登记备案 | 是否 | 必答 | 否→物业服务"}
    )
    assert good.status_code == 303, good.text
    detail = admin.get(good.headers["location"]).text
    assert "租户人数（必答）" in detail and "答“否”转办案件" in detail
