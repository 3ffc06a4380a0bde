"""The registry pages over the demo district, per role: a grid worker lists, records and corrects what is in her
grid (masked identifiers, versioned changes, a stale correction shown as a conflict that keeps what was typed) and
gets a 404 for anything else; a leader reads but does not write; an administrator sees an ID number in full only
after giving a reason, and that view is audited; cases and records name each other."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, select
from tests.web.conftest import Browser, point_in_grid_of, point_outside_grid_of
from tests.web.test_case_pages import take_in

from civicgrid.audit import AuditEntry
from civicgrid.db import make_session_factory, transaction
from civicgrid.org.actor import Actor
from civicgrid.registry import people
from civicgrid.registry.models import Residence
from civicgrid.registry.protect import protector_for
from civicgrid.settings import Settings

SignedIn = Callable[[str], Browser]
ID_NUMBER = "11010519491231002X"


@dataclass(frozen=True)
class Records:
    mine: int
    elsewhere: int
    name: str


def _person(engine: Engine, settings: Settings, name: str, id_number: str | None, spot: tuple[float, float]) -> int:
    data = people.PersonInput(name, id_number, "13812345678", Residence.HOUSEHOLD, None, ("独居老人",), "泰和路12号")
    data = people.PersonInput(**{**data.__dict__, "lon": spot[0], "lat": spot[1], "crs": "wgs84"})
    with transaction(make_session_factory(engine, write=True)) as session:
        return people.register_person(session, Actor.system("测试"), data, protector_for(settings)).id


@pytest.fixture(scope="module")
def records(demo_engine: Engine, web_app: object) -> Records:
    settings = web_app.state.settings  # type: ignore[attr-defined]
    here, there = point_in_grid_of(demo_engine, "gridworker"), point_outside_grid_of(demo_engine, "gridworker")
    name = f"王秀兰{uuid.uuid4().hex[:4]}"
    mine = _person(demo_engine, settings, name, ID_NUMBER, (here.lon, here.lat))
    elsewhere = _person(demo_engine, settings, "别处的人", None, (there.lon, there.lat))
    return Records(mine, elsewhere, name)


def version_of(page: str) -> str:
    found = re.search(r'name="expected_version" value="(\d+)"', page)
    assert found
    return found.group(1)


def test_a_grid_worker_lists_and_opens_her_people_masked(signed_in: SignedIn, records: Records) -> None:
    worker = signed_in("gridworker")
    assert 'href="/registry"' in worker.get("/").text  # the nav offers the registry
    listing = worker.get("/registry/people", params={"q": records.name})
    assert listing.status_code == 200 and records.name in listing.text
    assert "1101**********002X" in listing.text and ID_NUMBER not in listing.text
    detail = worker.get(f"/registry/people/{records.mine}")
    assert "1101**********002X" in detail.text and "138****5678" in detail.text and ID_NUMBER not in detail.text
    assert 'id="reveal"' not in detail.text  # no permission, no form
    assert worker.get(f"/registry/people/{records.elsewhere}").status_code == 404
    assert (
        worker.post(
            f"/registry/people/{records.elsewhere}/move-out", {"expected_version": "1", "reason": "x"}
        ).status_code
        == 404
    )


def test_a_correction_is_saved_and_a_stale_one_shows_the_conflict(signed_in: SignedIn, records: Records) -> None:
    worker = signed_in("gridworker")
    read = version_of(worker.get(f"/registry/people/{records.mine}").text)
    form = {"expected_version": read, "name": records.name, "household_no": "HC-0042", "residence": "household"}
    saved = worker.post(f"/registry/people/{records.mine}/correct", form | {"reason": "入户核实"})
    assert saved.status_code == 303
    detail = worker.get(f"/registry/people/{records.mine}")
    assert "HC-0042" in detail.text and "入户核实" in detail.text and "修改" in detail.text
    stale = worker.post(f"/registry/people/{records.mine}/correct", form | {"household_no": "HC-0099"})
    assert (stale.status_code == 409 and "已被他人修改" in stale.text) or "刷新" in stale.text
    assert 'value="HC-0099"' in stale.text  # what she typed is kept


def test_a_leader_reads_but_may_not_write(signed_in: SignedIn, records: Records) -> None:
    leader = signed_in("leader")
    assert leader.get(f"/registry/people/{records.mine}").status_code == 200
    assert leader.get("/registry/people/new").status_code == 403
    refused = leader.post(f"/registry/people/{records.mine}/correct", {"expected_version": "1", "name": "改名"})
    assert refused.status_code == 403


def test_the_full_id_number_needs_a_reason_and_is_audited(
    signed_in: SignedIn, records: Records, demo_engine: Engine
) -> None:
    admin = signed_in("admin")
    page = admin.get(f"/registry/people/{records.mine}")
    assert 'id="reveal"' in page.text and ID_NUMBER not in page.text
    no_reason = admin.post(f"/registry/people/{records.mine}/reveal", {"reason": " "})
    assert no_reason.status_code == 422 and ID_NUMBER not in no_reason.text
    shown = admin.post(f"/registry/people/{records.mine}/reveal", {"reason": "核实低保资格"})
    assert shown.status_code == 200 and ID_NUMBER in shown.text and "13812345678" in shown.text
    with make_session_factory(demo_engine)() as session:
        entries = session.execute(select(AuditEntry).where(AuditEntry.action == "registry.reveal")).scalars().all()
    assert any(entry.detail.get("reason") == "核实低保资格" for entry in entries)
    assert (
        signed_in("gridworker").post(f"/registry/people/{records.mine}/reveal", {"reason": "好奇"}).status_code == 403
    )


def test_objects_are_recorded_from_the_form_with_errors_next_to_the_field(
    signed_in: SignedIn, demo_engine: Engine
) -> None:
    worker = signed_in("gridworker")
    spot = point_in_grid_of(demo_engine, "gridworker")
    where = {"lon": str(spot.lon), "lat": str(spot.lat), "crs": "wgs84"}
    bad = worker.post("/registry/enterprise", {"name": "坏代码公司", "credit_code": "914403001922038217", **where})
    assert bad.status_code == 422 and "校验位错误" in bad.text and 'value="坏代码公司"' in bad.text
    name = f"<script>alert(1)</script>楼{uuid.uuid4().hex[:4]}"
    created = worker.post("/registry/building", {"name": name, "use": "商务楼宇", "floors": "18", **where})
    assert created.status_code == 303
    detail = worker.get(created.headers["location"])
    assert "<script>alert(1)</script>" not in detail.text and "&lt;script&gt;" in detail.text
    assert "商务楼宇" in detail.text and "已落图" in detail.text
    assert worker.post("/registry/building", {"name": "无令牌"}, csrf=False).status_code == 403


def test_a_case_and_a_record_name_each_other(signed_in: SignedIn, records: Records, demo_engine: Engine) -> None:
    hotline, worker = signed_in("hotline"), signed_in("gridworker")
    number = take_in(hotline, "独居老人家中漏水需要帮助", point_in_grid_of(demo_engine, "gridworker"))
    linked = worker.post(f"/cases/{number}/subjects", {"kind": "people", "record_id": str(records.mine)})
    assert linked.status_code == 303
    case_page = worker.get(f"/cases/{number}")
    assert f'href="/registry/people/{records.mine}"' in case_page.text and "关联登记对象" in case_page.text
    assert records.name not in case_page.text  # the history names the person masked
    assert number in worker.get(f"/registry/people/{records.mine}").text
    again = worker.post(f"/cases/{number}/subjects", {"kind": "people", "record_id": str(records.mine)})
    assert "已关联" in worker.get(again.headers["location"]).text


def test_a_duplicate_person_is_merged_from_the_kept_record(
    signed_in: SignedIn, demo_engine: Engine, web_app: object
) -> None:
    settings = web_app.state.settings  # type: ignore[attr-defined]
    here = point_in_grid_of(demo_engine, "gridworker")
    name = f"赵淑芬{uuid.uuid4().hex[:4]}"
    kept = _person(demo_engine, settings, name, None, (here.lon, here.lat))
    duplicate = _person(demo_engine, settings, name, None, (here.lon, here.lat))
    worker = signed_in("gridworker")
    page = worker.get(f"/registry/people/{kept}")
    assert 'id="merge"' in page.text
    form = {"expected_version": version_of(page.text), "reason": "同一人两次登记"}
    refused = worker.post(f"/registry/people/{kept}/merge", form | {"duplicate_id": str(kept)})
    assert refused.status_code == 422 and "不能与自身合并" in refused.text
    merged = worker.post(f"/registry/people/{kept}/merge", form | {"duplicate_id": str(duplicate)})
    assert merged.status_code == 303
    listing = worker.get("/registry/people", params={"q": name}).text
    assert f'data-id="{kept}"' in listing and f'data-id="{duplicate}"' not in listing
    assert "合并" in worker.get(f"/registry/people/{kept}").text


def test_a_standard_address_is_recorded_from_its_parts(signed_in: SignedIn, demo_engine: Engine) -> None:
    worker = signed_in("gridworker")
    spot = point_in_grid_of(demo_engine, "gridworker")
    where = {"lon": str(spot.lon), "lat": str(spot.lat), "crs": "wgs84"}
    form = worker.get("/registry/address/new").text
    assert 'name="road"' in form and 'name="name"' not in form  # named by its parts
    door = str(100 + uuid.uuid4().int % 9000)
    bad = worker.post("/registry/address", {"road": "泰和", "door_no": door, **where})
    assert bad.status_code == 422 and "应以路、街" in bad.text and 'value="泰和"' in bad.text
    parts = {"road": "泰和路", "door_no": door, "building": "3栋", "entrance": "2", "room": "301"}
    created = worker.post("/registry/address", parts | where)
    assert created.status_code == 303, created.text
    assert f"泰和路{door}号3号楼2单元301室" in worker.get(created.headers["location"]).text
