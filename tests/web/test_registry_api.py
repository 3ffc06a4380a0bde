"""The registry's JSON API over the demo district with bearer tokens, per role: a grid worker records, reads
(masked) and corrects people and objects in her grids — a stale version is a 409, a record elsewhere a 404; the
history hides sealed values; an administrator reveals identifiers only with a reason (audited); a leader reads
but does not write; imports report bad rows; exports mask."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from tests.web.conftest import bearer_headers, point_in_grid_of, point_outside_grid_of

from civicgrid.audit import AuditEntry
from civicgrid.db import make_session_factory
from civicgrid.tables import read_table_bytes

ID_NUMBER = "370202198503071219"  # unique among the web tests: the demo database is shared
HEADERS: dict[str, dict[str, str]] = {}


@pytest.fixture(scope="module")
def api(web_app: FastAPI, demo_engine: Engine) -> TestClient:
    HEADERS.update(bearer_headers(demo_engine, "gridworker", "admin", "leader"))
    return TestClient(web_app)


def as_(username: str) -> dict[str, str]:
    return HEADERS[username]


def test_kinds_describe_their_fields(api: TestClient) -> None:
    kinds = {kind["key"]: kind for kind in api.get("/api/v1/registry/kinds", headers=as_("leader")).json()}
    assert set(kinds) >= {"people", "estate", "enterprise", "facility"}
    credit = next(field for field in kinds["enterprise"]["fields"] if field["name"] == "credit_code")
    assert credit["label"] == "统一社会信用代码" and credit["type"] == "credit_code"


def test_a_person_is_recorded_read_masked_corrected_and_revealed_with_a_reason(
    api: TestClient, demo_engine: Engine
) -> None:
    here = point_in_grid_of(demo_engine, "gridworker")
    body = {"name": "接口测试", "id_number": ID_NUMBER, "phone": "13900001111", "residence": "household"}
    created = api.post(
        "/api/v1/registry/people",
        json=body | {"lon": here.lon, "lat": here.lat, "crs": "wgs84"},
        headers=as_("gridworker"),
    )
    assert created.status_code == 201, created.text
    person = created.json()
    assert person["id_number"] == "3702**********1219" and person["phone"] == "139****1111"
    assert person["scope_code"].startswith(here.code) and person["version"] == 1
    url = f"/api/v1/registry/people/{person['id']}"
    again = api.post("/api/v1/registry/people", json=body | {"grid_code": here.code}, headers=as_("gridworker"))
    assert again.status_code == 409 and again.json()["error"]["code"] == "duplicate_person"

    patch = {"expected_version": 1, "household_no": "HC-7", "tags": ["独居老人"], "reason": "入户核实"}
    corrected = api.patch(url, json=patch, headers=as_("gridworker"))
    assert corrected.status_code == 200 and corrected.json()["household_no"] == "HC-7"
    stale = api.patch(url, json=patch | {"household_no": "HC-8"}, headers=as_("gridworker"))
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "stale_version"
    bad = api.patch(url, json={"expected_version": 2, "residence": "外星"}, headers=as_("gridworker"))
    assert bad.status_code == 422

    history = api.get(f"{url}/history", headers=as_("gridworker")).json()
    assert [change["action"] for change in history] == ["create", "update"]
    assert history[0]["fields"]["id_number"] == ["sealed", "changed"] and ID_NUMBER not in str(history)
    long_ago = api.get(url, params={"as_of": "2000-01-01T00:00:00+08:00"}, headers=as_("gridworker"))
    assert long_ago.json()["values"] is None
    no_zone = api.get(url, params={"as_of": "2000-01-01T00:00:00"}, headers=as_("gridworker"))
    assert no_zone.status_code == 422  # a time without its zone is refused, as everywhere in the API

    assert api.post(f"{url}/reveal", json={"reason": "核对"}, headers=as_("gridworker")).status_code == 403
    assert api.post(f"{url}/reveal", json={"reason": " "}, headers=as_("admin")).status_code == 422
    shown = api.post(f"{url}/reveal", json={"reason": "民政核对低保"}, headers=as_("admin"))
    assert shown.json() == {"id_number": ID_NUMBER, "phone": "13900001111"}
    with make_session_factory(demo_engine)() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "registry.reveal", AuditEntry.object_key == str(person["id"]))
        ).one()
    assert entry.detail["reason"] == "民政核对低保" and entry.actor_label

    assert api.patch(url, json=patch | {"expected_version": 2}, headers=as_("leader")).status_code == 403
    moved = api.post(f"{url}/move-out", json={"expected_version": 2, "reason": "迁往外区"}, headers=as_("gridworker"))
    assert moved.status_code == 200 and moved.json()["moved_out"] is True


def test_records_elsewhere_are_not_found_and_the_list_is_scoped(api: TestClient, demo_engine: Engine) -> None:
    there = point_outside_grid_of(demo_engine, "gridworker")
    elsewhere = api.post(
        "/api/v1/registry/estate",
        json={
            "values": {"name": f"别处小区{uuid.uuid4().hex[:4]}"},
            "lon": there.lon,
            "lat": there.lat,
            "crs": "wgs84",
        },
        headers=as_("admin"),
    )
    assert elsewhere.status_code == 201, elsewhere.text
    record = elsewhere.json()
    assert api.get(f"/api/v1/registry/estate/{record['id']}", headers=as_("gridworker")).status_code == 404
    listed = api.get("/api/v1/registry/estate", params={"q": record["name"]}, headers=as_("gridworker")).json()
    assert listed == {"total": 0, "items": []}
    assert api.get("/api/v1/registry/estate", params={"q": record["name"]}, headers=as_("admin")).json()["total"] == 1
    assert api.get("/api/v1/registry/ship", headers=as_("admin")).json()["error"]["code"] == "unknown_kind"


def test_an_object_is_corrected_with_its_version_and_retired(api: TestClient, demo_engine: Engine) -> None:
    here = point_in_grid_of(demo_engine, "gridworker")
    made = api.post(
        "/api/v1/registry/facility",
        json={"values": {"name": "路灯", "class_code": "路灯"}, "lon": here.lon, "lat": here.lat, "crs": "wgs84"},
        headers=as_("gridworker"),
    )
    assert made.status_code == 201, made.text
    lamp = made.json()
    assert lamp["class_code"] == "0120" and len(lamp["code"]) == 16
    url, first = f"/api/v1/registry/facility/{lamp['id']}", lamp["version"]
    broken = api.patch(
        url, json={"expected_version": first, "values": {"condition": "破损"}}, headers=as_("gridworker")
    )
    assert broken.status_code == 200 and broken.json()["condition"] == "破损"
    now = broken.json()["version"]
    assert now > first
    wrong = api.patch(url, json={"expected_version": now, "values": {"condition": "很差"}}, headers=as_("gridworker"))
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "condition_unknown"
    stale = api.post(f"{url}/retire", json={"expected_version": first, "reason": "拆除"}, headers=as_("gridworker"))
    assert stale.status_code == 409
    gone = api.post(
        f"{url}/retire", json={"expected_version": now, "reason": "道路改造拆除"}, headers=as_("gridworker")
    )
    assert gone.status_code == 200 and gone.json()["retired_at"]
    history = api.get(f"{url}/history", headers=as_("gridworker")).json()
    assert [change["action"] for change in history] == ["create", "update", "retire"]
    assert api.get(f"{url}/cases", headers=as_("gridworker")).json() == []


def test_import_reports_rows_and_exports_mask(api: TestClient, demo_engine: Engine) -> None:
    grid = point_in_grid_of(demo_engine, "gridworker").code
    name = f"接口导入{uuid.uuid4().hex[:4]}"
    sheet = f"名称,楼宇类型,层数,网格代码\n{name},商务楼宇,18,{grid}\n坏楼,飞船,,{grid}\n".encode()
    files = {"file": ("楼宇.csv", sheet, "text/csv")}
    refused = api.post("/api/v1/registry/building/import", files=files, headers=as_("gridworker")).json()
    assert refused["applied"] is False and [r["index"] for r in refused["rejected"]] == [3]
    kept = api.post(
        "/api/v1/registry/building/import", files=files, data={"keep_good": "true"}, headers=as_("gridworker")
    ).json()
    assert kept["applied"] is True and len(kept["created"]) == 1
    exported = api.get("/api/v1/registry/people/export.xlsx", params={"tag": "独居老人"}, headers=as_("gridworker"))
    table = read_table_bytes(Path("p.xlsx"), exported.content)
    column = table.header.index("身份证号码")
    assert all("*" in str(row[column]) for _, row in table.rows if row[column])
    refused_full = api.post("/api/v1/registry/people/export.xlsx", json={"reason": "核对"}, headers=as_("gridworker"))
    assert refused_full.status_code == 403
    template = api.get("/api/v1/registry/river/template.xlsx", headers=as_("gridworker"))
    assert read_table_bytes(Path("r.xlsx"), template.content).header[0] == "名称"


def test_two_records_of_one_person_are_merged_with_their_versions(api: TestClient, demo_engine: Engine) -> None:
    here = point_in_grid_of(demo_engine, "gridworker")
    name = f"合并测试{uuid.uuid4().hex[:4]}"
    made = [
        api.post(
            "/api/v1/registry/people", json={"name": name, "grid_code": here.code, **extra}, headers=as_("gridworker")
        ).json()
        for extra in ({"household_no": "HB-1"}, {"phone": "13700001111"})
    ]
    kept, duplicate = made
    url = f"/api/v1/registry/people/{kept['id']}/merge"
    body = {"duplicate_id": duplicate["id"], "expected_version": kept["version"], "reason": "同一人两次登记"}
    stale = api.post(url, json=body | {"duplicate_version": duplicate["version"] - 1}, headers=as_("gridworker"))
    assert stale.status_code == 409
    merged = api.post(url, json=body | {"duplicate_version": duplicate["version"]}, headers=as_("gridworker"))
    assert merged.status_code == 200, merged.text
    assert merged.json()["phone"] == "137****1111" and merged.json()["household_no"] == "HB-1"
    listed = api.get("/api/v1/registry/people", params={"q": name}, headers=as_("gridworker")).json()
    assert [item["id"] for item in listed["items"]] == [kept["id"]]
    history = api.get(f"/api/v1/registry/people/{duplicate['id']}/history", headers=as_("gridworker")).json()
    assert history[-1]["action"] == "merge" and history[-1]["reason"] == "同一人两次登记"
