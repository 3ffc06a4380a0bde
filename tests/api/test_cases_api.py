"""The case JSON API over HTTP with bearer tokens, on a committed database (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import box
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import SessionTransaction
from tests.api.conftest import people_with_tokens

from civicgrid import migrate
from civicgrid.app import create_app
from civicgrid.cases.defaults import install_defaults
from civicgrid.db import make_engine, make_session_factory, transaction
from civicgrid.grid.codes import GridLevel
from civicgrid.grid.service import create_node
from civicgrid.org.actor import Actor
from civicgrid.org.models import DepartmentKind
from civicgrid.org.roles import Role
from civicgrid.org.service import create_department
from civicgrid.settings import Settings

from ..cases.conftest import png

POINT = {"lon": 120.42, "lat": 36.42, "crs": "wgs84"}


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    tokens: dict[str, dict[str, str]] = {}
    with transaction(make_session_factory(engine, write=True)) as session:
        system = Actor.system("测试")
        create_node(
            session,
            system,
            code="370299",
            name="海川区",
            level=GridLevel.DISTRICT,
            geometry=box(120.4, 36.4, 120.6, 36.5),
        )
        create_node(
            session,
            system,
            code="370299001",
            name="海川街道",
            level=GridLevel.STREET,
            parent_code="370299",
            geometry=box(120.4, 36.4, 120.5, 36.5),
        )
        for code, name, kind in (
            ("HC-ZHZX", "海川街道社会治理服务中心", DepartmentKind.COMMAND_CENTER),
            ("HC-CG", "海川街道城市管理办公室", DepartmentKind.STREET_SECTION),
            ("CGJ", "区城市管理局", DepartmentKind.DISTRICT_BUREAU),
        ):
            create_department(session, system, code=code, name=name, kind=kind, grid_code="370299001")
        install_defaults(session, system)
        tokens.update(
            people_with_tokens(
                session,
                system,
                (
                    ("hotline", Role.HOTLINE_OPERATOR, None, ["370299"]),
                    ("dispatcher", Role.DISPATCHER, "HC-ZHZX", ["370299001"]),
                    ("street-cg", Role.DEPT_STAFF, "HC-CG", []),
                    ("cgj", Role.DEPT_STAFF, "CGJ", []),
                ),
            )
        )
    settings = Settings(var_dir=tmp_path / "var", database_url=database_url, scheduler_interval_seconds=0)
    with TestClient(create_app(settings, engine)) as client:
        yield client, tokens
    engine.dispose()


def call(client: TestClient, method: str, url: str, headers: dict[str, str], **kwargs: object) -> dict:  # type: ignore[type-arg]
    response = client.request(method, url, headers=headers, **kwargs)  # type: ignore[arg-type]
    return {"status": response.status_code, "body": response.json()}


def test_a_case_from_a_hotline_system_to_closure_over_http(api: tuple[TestClient, dict[str, dict[str, str]]]) -> None:
    client, tokens = api
    body = {
        "channel": "hotline_12345",
        "title": "垃圾堆积",
        "description": "三天无人清运",
        "source_id": "GD-1",
        "reporter_name": "王建国",
        "reporter_phone": "13812345678",
        **POINT,
    }
    created = call(client, "POST", "/api/v1/cases", tokens["hotline"], json=body)
    assert created["status"] == 201 and created["body"]["created"] is True
    case = created["body"]["case"]
    assert case["state"] == "reported" and case["placement"] == "located"
    assert [g["name"] for g in case["grid_path"]] == ["海川区", "海川街道"]
    assert case["reporter_phone"] == "13812345678"  # the operator may see it
    again = call(client, "POST", "/api/v1/cases", tokens["hotline"], json={**body, "title": "重复推送"})
    assert again["status"] == 200 and again["body"]["created"] is False
    number = case["number"]

    def act(who: str, action: str, **fields: object) -> dict:  # type: ignore[type-arg]
        return call(client, "POST", f"/api/v1/cases/{number}/actions/{action}", tokens[who], json=fields)

    assert act("dispatcher", "register", category_code="0101")["status"] == 200
    route = call(client, "GET", f"/api/v1/cases/{number}/route", tokens["dispatcher"])
    assert route["body"]["main"] == "HC-CG"
    assert act("dispatcher", "dispatch")["body"]["departments"][0]["code"] == "HC-CG"
    seen_by_department = call(client, "GET", f"/api/v1/cases/{number}", tokens["street-cg"])["body"]
    assert seen_by_department["reporter_phone"] == "138****5678"  # masked for the department
    assert seen_by_department["reporter_name"] == "王**"
    assert act("street-cg", "accept")["status"] == 200
    photo = {"filename": "现场.png", "content_base64": base64.b64encode(png()).decode()}
    assert act("street-cg", "submit", note="已清运", attachments=[photo])["body"]["state"] == "handled"
    closed = act("dispatcher", "verify_pass", note="核查通过")
    assert closed["body"]["state"] == "closed"
    events = call(client, "GET", f"/api/v1/cases/{number}/events", tokens["dispatcher"])["body"]
    assert [e["action"] for e in events] == ["intake", "register", "dispatch", "accept", "submit", "verify_pass"]


def test_refusals_over_http_carry_a_chinese_message_and_a_code(
    api: tuple[TestClient, dict[str, dict[str, str]]],
) -> None:
    client, tokens = api
    created = call(
        client,
        "POST",
        "/api/v1/cases",
        tokens["hotline"],
        json={"channel": "hotline_12345", "title": "路灯不亮", **POINT},
    )["body"]["case"]
    number = created["number"]
    wrong_state = call(client, "POST", f"/api/v1/cases/{number}/actions/accept", tokens["street-cg"], json={})
    assert wrong_state["status"] == 404  # not dispatched to them: they cannot even see it
    dispatch_early = call(client, "POST", f"/api/v1/cases/{number}/actions/dispatch", tokens["dispatcher"], json={})
    assert dispatch_early["status"] == 409 and dispatch_early["body"]["error"]["code"] == "invalid_state"
    assert "待立案" in dispatch_early["body"]["error"]["message"]
    stale = call(
        client,
        "POST",
        f"/api/v1/cases/{number}/actions/register",
        tokens["dispatcher"],
        json={"category_code": "0202", "expected_version": created["version"] + 5},
    )
    assert stale["status"] == 409 and stale["body"]["error"]["code"] == "stale_version"
    hidden = call(client, "GET", f"/api/v1/cases/{number}", tokens["cgj"])
    assert hidden["status"] == 404  # not dispatched to 城管局: it does not exist for them
    anonymous = client.post("/api/v1/cases", json={"channel": "resident", "title": "匿名"})
    assert anonymous.status_code == 403
    bad_token = client.get("/api/v1/cases", headers={"Authorization": "Bearer cg_nope"})
    assert bad_token.status_code == 401 and bad_token.json()["error"]["code"] == "invalid_token"
    wrong_scheme = client.get("/api/v1/cases", headers={"Authorization": "Basic eDp5"})
    assert wrong_scheme.status_code == 401
    bad_file = call(
        client,
        "POST",
        "/api/v1/cases",
        tokens["hotline"],
        json={
            "channel": "hotline_12345",
            "title": "带附件",
            "attachments": [{"filename": "x.png", "content_base64": "@@"}],
        },
    )
    assert bad_file["status"] == 422 and bad_file["body"]["error"]["code"] == "invalid_base64"
    bad_channel = call(
        client, "POST", "/api/v1/cases", tokens["hotline"], json={"channel": "grid_patrol", "title": "x"}
    )
    assert bad_channel["status"] == 403 and bad_channel["body"]["error"]["code"] == "channel_not_allowed"


def test_lists_are_scoped_and_filterable(api: tuple[TestClient, dict[str, dict[str, str]]]) -> None:
    client, tokens = api
    for index in range(3):
        call(
            client,
            "POST",
            "/api/v1/cases",
            tokens["hotline"],
            json={"channel": "hotline_12345", "title": f"问题{index}", "source_id": f"L-{index}", **POINT},
        )
    assert call(client, "GET", "/api/v1/cases", tokens["dispatcher"])["body"]["total"] == 3
    assert call(client, "GET", "/api/v1/cases", tokens["cgj"])["body"]["total"] == 0
    filtered = call(client, "GET", "/api/v1/cases?state=reported&q=问题1", tokens["dispatcher"])["body"]
    assert [c["title"] for c in filtered["items"]] == ["问题1"]
    categories = call(client, "GET", "/api/v1/categories", tokens["dispatcher"])["body"]
    rubbish = next(c for c in categories if c["code"] == "0101")
    assert rubbish["limits"]["handle"] == {"value": 4, "unit": "hours"}


def test_a_write_that_fails_to_commit_is_an_error_response_not_a_success(
    api: tuple[TestClient, dict[str, dict[str, str]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, tokens = api

    def refuse(self: SessionTransaction, _close: bool = False) -> None:
        raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    failing = TestClient(client.app, raise_server_exceptions=False)
    monkeypatch.setattr(SessionTransaction, "commit", refuse)
    response = failing.post(
        "/api/v1/cases", json={"channel": "hotline_12345", "title": "路灯不亮"}, headers=tokens["hotline"]
    )
    assert response.status_code == 500
    monkeypatch.undo()
    listed = client.get("/api/v1/cases", headers=tokens["hotline"]).json()
    assert listed["total"] == 0


def _take_in_cases(client: TestClient, tokens: dict[str, dict[str, str]], first: int, count: int) -> list[str]:
    """``count`` hotline cases; every third dispatched (to HC-CG, or CGJ with HC-CG assisting), every fifth
    merged into the one before it — so the page has assignments, departments and merge masters to look up."""
    numbers: list[str] = []
    for index in range(first, first + count):
        body = {"channel": "hotline_12345", "title": f"批量{index}", "source_id": f"N-{index}", **POINT}
        number = call(client, "POST", "/api/v1/cases", tokens["hotline"], json=body)["body"]["case"]["number"]

        def act(action: str, number: str = number, **fields: object) -> None:
            url = f"/api/v1/cases/{number}/actions/{action}"
            assert call(client, "POST", url, tokens["dispatcher"], json=fields)["status"] == 200, action

        if index % 3 == 0:
            act("register", category_code="0101")
            act("dispatch", **({"main_department": "CGJ", "assist_departments": ["HC-CG"]} if index % 2 else {}))
        elif index % 5 == 4:
            act("merge", master_number=numbers[-1], note="重复反映")
        numbers.append(number)
    return numbers


def test_a_page_of_the_list_costs_the_same_statements_for_5_cases_as_for_40(
    api: tuple[TestClient, dict[str, dict[str, str]]],
) -> None:
    client, tokens = api
    engine = client.app.state.engine  # type: ignore[attr-defined]
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    def statements_of_a_page() -> tuple[int, dict]:  # type: ignore[type-arg]
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            page = call(client, "GET", "/api/v1/cases?limit=50", tokens["dispatcher"])
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert page["status"] == 200
        return len(statements), page["body"]

    _take_in_cases(client, tokens, 0, 5)
    call(client, "GET", "/api/v1/cases?limit=50", tokens["dispatcher"])  # the grid index is built once, not here
    few, small = statements_of_a_page()
    _take_in_cases(client, tokens, 5, 35)
    many, large = statements_of_a_page()
    assert (small["total"], len(small["items"]), large["total"], len(large["items"])) == (5, 5, 40, 40)
    assert many == few, f"{few} statements for 5 cases, {many} for 40"
    # the actor in a short transaction of its own (BEGIN, token, user, scopes, assignments, roles), then the
    # page's (BEGIN, count, page, assignments, categories, departments, merge masters, grid revision)
    assert few <= 14, "\n".join(statements)
    merged = [item for item in large["items"] if item["merged_into"]]
    linked = [item for item in large["items"] if len(item["departments"]) == 2]
    assert merged and linked and {d["code"] for d in linked[0]["departments"]} == {"CGJ", "HC-CG"}
    for item in large["items"]:  # the list shows each case exactly as its detail does
        detail = call(client, "GET", f"/api/v1/cases/{item['number']}", tokens["dispatcher"])["body"]
        assert item == detail
