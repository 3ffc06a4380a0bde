"""Inputs the API's schema admits but no column holds are refused at the edge with a documented 422 in the API's
error body — for every role, on SQLite and PostgreSQL — and nothing is stored: ids beyond 32 bits (and beyond 64),
offsets, filters longer than their columns or holding NUL, a lone surrogate or a NUL in any text, texts and lists
longer than their use. Answers carrying personal data are never cached."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from tests.web.conftest import bearer_headers, point_in_grid_of

from civicgrid.cases.models import Case, CaseEvent
from civicgrid.db import make_session_factory
from civicgrid.registry.models import Person

ROLES = ("dispatcher", "admin", "resident")
HEADERS: dict[str, dict[str, str]] = {}
MEGABYTE = "长" * (1 << 20)


@pytest.fixture(scope="module")
def api(web_app: FastAPI, demo_engine: Engine) -> TestClient:
    HEADERS.update(bearer_headers(demo_engine, *ROLES, "gridworker"))
    return TestClient(web_app)


def refused(response: httpx.Response, code: str | None = None, field: str | None = None) -> dict[str, object]:
    """The 422 in the API's error body, with a Chinese message; its error."""
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message", "detail"}
    assert any("\u4e00" <= char <= "\u9fff" for char in error["message"]), error
    if code is not None:
        assert error["code"] == code, error
    if field is not None:
        assert error["detail"]["field"] == field, error
    return dict(error)


def count(engine: Engine, model: type[object]) -> int:
    with make_session_factory(engine)() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/api/v1/cases?offset=9223372036854775808"),
        ("get", "/api/v1/cases?offset=2147483648"),
        ("get", "/api/v1/registry/people/2147483648"),
        ("get", "/api/v1/registry/people/10000000000000000000/cases"),
        ("get", "/api/v1/registry/estate/9223372036854775808"),
        ("get", "/api/v1/campaigns/2147483648"),
        ("get", "/api/v1/campaigns/1/targets?offset=9223372036854775808"),
        ("post", "/api/v1/campaigns/244813097556520818704384/targets/-868/submissions"),
        ("post", "/api/v1/campaigns/244813097556520818704384/close"),
    ],
)
def test_ids_and_offsets_beyond_the_columns_are_refused_for_every_role(api: TestClient, method: str, url: str) -> None:
    body = {"client_submission_id": uuid.uuid4().hex} if "submissions" in url else None
    for role in ROLES:
        answer = api.request(method.upper(), url, json=body, headers=HEADERS[role])
        error = refused(answer, "invalid_request")
        assert error["detail"]["errors"], error  # type: ignore[index]


@pytest.mark.parametrize(
    "params",
    [
        {"tag": "老\x00人"},
        {"q": "\x00"},
        {"household_no": "户" * 1000},
        {"grid": "3" * 1000},
        {"residence": "外星"},
        {"limit": "0"},
        {"limit": "501"},
    ],
)
def test_unusual_filters_of_the_people_list_are_refused(api: TestClient, params: dict[str, str]) -> None:
    for role in ROLES:
        refused(api.get("/api/v1/registry/people", params=params, headers=HEADERS[role]))


def test_people_filters_a_column_can_hold_are_answered(api: TestClient) -> None:
    odd = {"tag": "%_/\\'\"", "q": "%", "household_no": "HC-1", "grid": "37"}
    answer = api.get("/api/v1/registry/people", params=odd, headers=HEADERS["admin"])
    assert answer.status_code == 200, answer.text
    assert api.get("/api/v1/registry/people", params=odd, headers=HEADERS["resident"]).status_code == 403


@pytest.mark.parametrize(
    "params",
    [{"q": "\x00"}, {"q": "字" * 101}, {"undone": "maybe"}, {"offset": "-1"}, {"offset": str(2**31)}],
)
def test_unusual_filters_of_a_campaigns_targets_are_refused(api: TestClient, params: dict[str, str]) -> None:
    for role in ROLES:
        refused(api.get("/api/v1/campaigns/1/targets", params=params, headers=HEADERS[role]))


@pytest.mark.parametrize(
    "params",
    [
        {"q": "垃圾\x00"},
        {"grid": "3" * 33},
        {"category": "0" * 33},
        {"state": "lost"},
        {"channel": "pigeon"},
        {"overdue": "sometimes"},
        {"limit": "9223372036854775808"},
        {"offset": "-9223372036854775809"},
    ],
)
def test_odd_parameters_of_the_case_list_are_refused(api: TestClient, params: dict[str, str]) -> None:
    for role in ROLES:
        refused(api.get("/api/v1/cases", params=params, headers=HEADERS[role]))


def test_a_nul_in_a_path_is_refused(api: TestClient) -> None:
    refused(api.get("/api/v1/cases/2026%00", headers=HEADERS["dispatcher"]), "unstorable_text", "path")
    refused(api.get("/api/v1/grid/nodes/37%00", headers=HEADERS["dispatcher"]), "unstorable_text", "path")


def new_case(api: TestClient) -> dict[str, object]:
    body = {"channel": "hotline_12345", "title": f"边界测试{uuid.uuid4().hex[:6]}", "description": "路灯不亮"}
    made = api.post("/api/v1/cases", json=body, headers=HEADERS["dispatcher"])
    assert made.status_code == 201, made.text
    case: dict[str, object] = made.json()["case"]
    return case


def raw_json(api: TestClient, url: str, text: str, who: str) -> httpx.Response:
    """``text`` sent as it is: a JSON document with escapes (``\\ud800``, ``\\u0000``) json.dumps would not write."""
    return api.post(url, content=text.encode(), headers=HEADERS[who] | {"Content-Type": "application/json"})


@pytest.mark.parametrize("bad", ["\\ud800", "\\udfff", "\\u0000"])
def test_a_lone_surrogate_or_a_nul_in_an_action_note_is_refused_and_nothing_stored(
    api: TestClient, demo_engine: Engine, bad: str
) -> None:
    case = new_case(api)
    events = count(demo_engine, CaseEvent)
    url = f"/api/v1/cases/{case['number']}/actions/comment"
    refused(raw_json(api, url, f'{{"note": "x{bad}y"}}', "dispatcher"), "unstorable_text", "note")
    assert count(demo_engine, CaseEvent) == events
    assert api.post(url, json={"note": "正常备注"}, headers=HEADERS["dispatcher"]).status_code == 200


@pytest.mark.parametrize("bad", ["\\ud800", "\\u0000"])
@pytest.mark.parametrize("field", ["title", "description", "address", "reporter_name"])
def test_a_lone_surrogate_or_a_nul_in_a_case_is_refused_and_nothing_stored(
    api: TestClient, demo_engine: Engine, bad: str, field: str
) -> None:
    cases = count(demo_engine, Case)
    document = f'{{"channel": "hotline_12345", "title": "标题", "{field}": "a{bad}b"}}'
    refused(raw_json(api, "/api/v1/cases", document, "dispatcher"), "unstorable_text", field)
    assert count(demo_engine, Case) == cases


@pytest.mark.parametrize("bad", ["\\ud800", "\\u0000"])
@pytest.mark.parametrize("field", ["name", "address", "household_no"])
def test_a_lone_surrogate_or_a_nul_in_a_person_is_refused_and_nothing_stored(
    api: TestClient, demo_engine: Engine, bad: str, field: str
) -> None:
    grid = point_in_grid_of(demo_engine, "gridworker").code
    people = count(demo_engine, Person)
    document = f'{{"grid_code": "{grid}", "name": "张三", "{field}": "a{bad}b"}}'
    refused(raw_json(api, "/api/v1/registry/people", document, "gridworker"), "unstorable_text", field)
    nested = f'{{"grid_code": "{grid}", "name": "张三", "tags": ["好", "a{bad}"]}}'
    refused(raw_json(api, "/api/v1/registry/people", nested, "gridworker"), "unstorable_text", "tags[1]")
    assert count(demo_engine, Person) == people


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"address": MEGABYTE}, "address"),
        ({"household_no": MEGABYTE}, "household_no"),
        ({"tags": [MEGABYTE]}, "tags.0"),
        ({"tags": [f"标签{number}" for number in range(100_000)]}, "tags"),
        ({"name": "名" * 101}, "name"),
    ],
)
def test_registry_texts_and_tags_beyond_their_limits_are_refused(
    api: TestClient, demo_engine: Engine, changes: dict[str, object], field: str
) -> None:
    grid = point_in_grid_of(demo_engine, "gridworker").code
    people = count(demo_engine, Person)
    body = {"grid_code": grid, "name": "张三"} | changes
    refused(api.post("/api/v1/registry/people", json=body, headers=HEADERS["gridworker"]), field=field)
    assert count(demo_engine, Person) == people


def test_an_object_field_beyond_its_limit_or_its_column_is_refused(api: TestClient, demo_engine: Engine) -> None:
    grid = point_in_grid_of(demo_engine, "gridworker").code
    url = "/api/v1/registry/enterprise"
    base = {"name": f"边界企业{uuid.uuid4().hex[:4]}"}
    for values, code in [
        ({"address": MEGABYTE}, "text_too_long"),
        ({"employees": 2**31}, "employees_too_large"),
        ({"employees": 10**30}, "employees_too_large"),
        ({"annual_tax": "1e400"}, "annual_tax_too_large"),
        ({"building_id": 10**20}, "reference_not_found"),
        ({"building_id": str(10**20)}, "reference_not_found"),
        ({"tags": ["企" * 21]}, "text_too_long"),
    ]:
        answer = api.post(url, json={"values": base | values, "grid_code": grid}, headers=HEADERS["gridworker"])
        assert answer.status_code in (404, 422), answer.text
        assert answer.json()["error"]["code"] == code, answer.text


def test_a_megabyte_action_note_or_reveal_reason_is_refused(api: TestClient, demo_engine: Engine) -> None:
    case = new_case(api)
    events = count(demo_engine, CaseEvent)
    url = f"/api/v1/cases/{case['number']}/actions/comment"
    refused(api.post(url, json={"note": MEGABYTE}, headers=HEADERS["dispatcher"]), field="note")
    assert count(demo_engine, CaseEvent) == events
    grid = point_in_grid_of(demo_engine, "gridworker").code
    person = api.post(
        "/api/v1/registry/people", json={"grid_code": grid, "name": "揭示测试"}, headers=HEADERS["gridworker"]
    )
    reveal = f"/api/v1/registry/people/{person.json()['id']}/reveal"
    refused(api.post(reveal, json={"reason": MEGABYTE}, headers=HEADERS["admin"]), field="reason")


def test_answers_with_personal_data_are_not_cached_and_the_public_map_is(api: TestClient, demo_engine: Engine) -> None:
    grid = point_in_grid_of(demo_engine, "gridworker").code
    body = {"grid_code": grid, "name": "缓存测试", "phone": "13900002222"}
    person = api.post("/api/v1/registry/people", json=body, headers=HEADERS["gridworker"]).json()
    shown = api.post(
        f"/api/v1/registry/people/{person['id']}/reveal", json={"reason": "核对电话"}, headers=HEADERS["admin"]
    )
    assert shown.status_code == 200 and shown.json()["phone"] == "13900002222"
    assert shown.headers["cache-control"] == "no-store"
    for url in ("/api/v1/cases", f"/api/v1/registry/people/{person['id']}", "/api/v1/registry/people/export.xlsx"):
        assert api.get(url, headers=HEADERS["admin"]).headers["cache-control"] == "no-store", url
    assert api.get("/api/v1/registry/people/1", headers=HEADERS["resident"]).headers["cache-control"] == "no-store"
    public = api.get("/api/v1/public/cases.geojson")
    assert public.status_code == 200 and public.headers["cache-control"] == "public, max-age=60"


def test_unknown_paths_and_methods_answer_in_the_error_body(api: TestClient) -> None:
    missing = api.get("/api/v1/nothing-here", headers=HEADERS["admin"])
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    wrong = api.delete("/api/v1/cases", headers=HEADERS["admin"])
    assert wrong.status_code == 405 and wrong.json()["error"]["message"] == "不支持该请求方式"
    broken = api.post(
        "/api/v1/cases", content=b"\xff\xfe{", headers=HEADERS["admin"] | {"Content-Type": "application/json"}
    )
    assert broken.status_code == 422 and broken.json()["error"]["code"] in ("invalid_json", "invalid_request")


# --- the same bounds on the pages -----------------------------------------------------------------------------


def test_pages_refuse_ids_beyond_the_columns_with_an_error_page(signed_in: Any) -> None:
    admin = signed_in("admin")
    for url in (
        "/registry/people/2147483648",
        "/registry/estate/9223372036854775808",
        "/campaigns/10000000000000000000",
        "/campaigns/1/targets/2147483648",
        "/campaigns/1/visit?page_number=9223372036854775808",
        "/registry/people?page_number=99999999999",
    ):
        page = admin.get(url)
        assert page.status_code == 422, (url, page.status_code)
        assert "text/html" in page.headers["content-type"] and "请求参数有误" in page.text, url
    merge = admin.post("/registry/people/1/merge", {"duplicate_id": str(2**63), "expected_version": "1"})
    assert merge.status_code == 404, merge.text


def test_a_page_form_with_a_nul_is_refused_next_to_its_field_and_nothing_stored(
    signed_in: Any, demo_engine: Engine
) -> None:
    worker = signed_in("gridworker")
    grid = point_in_grid_of(demo_engine, "gridworker").code
    people = count(demo_engine, Person)
    page = worker.post("/registry/people", {"name": "王\x00五", "grid_code": grid, "residence": "resident"})
    assert page.status_code == 422 and "无法保存的字符" in page.text
    page = worker.post("/registry/people", {"name": "王五", "household_no": "户" * 41, "grid_code": grid})
    assert page.status_code == 422 and "户号超过40个字" in page.text
    assert count(demo_engine, Person) == people
    cases = count(demo_engine, Case)
    hotline = signed_in("hotline")
    hotline.get("/cases/new")
    refused_case = hotline.post("/cases/new", {"channel": "hotline_12345", "description": "路灯\x00不亮"})
    assert refused_case.status_code == 422 and "无法保存的字符" in refused_case.text
    assert count(demo_engine, Case) == cases


def test_a_case_list_cursor_beyond_the_id_column_is_refused(signed_in: Any) -> None:
    page = signed_in("dispatcher").get("/cases", params={"after": f"2026-01-01T00:00:00+00:00~{10**20}"})
    assert page.status_code == 422 and "分页参数无效" in page.text
