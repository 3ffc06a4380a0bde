"""Sign-in, sessions, CSRF and the role-aware navigation."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from sqlalchemy import Engine, select
from tests.web.conftest import Browser

from civicgrid.db import make_session_factory, transaction
from civicgrid.org.actor import Actor
from civicgrid.org.models import LoginAttempt
from civicgrid.org.roles import Role
from civicgrid.org.service import create_user, disable_user


def test_each_demo_login_lands_on_its_own_workbench(signed_in: Callable[[str], Browser]) -> None:
    expected = {
        "dispatcher": ("待立案", "受理登记"),
        "cgj": ("待处置", "部门待办"),
        "gridworker": ("待核查", "我的任务"),
        "hotline": ("待立案", "受理登记"),
        "leader": ("超期", "案件"),
        "admin": ("待派遣", "系统管理"),
    }
    for username, (queue, nav) in expected.items():
        page = signed_in(username).get("/")
        assert page.status_code == 200
        assert "工作台" in page.text and queue in page.text and nav in page.text, username
    resident = signed_in("resident").get("/")
    assert "我反映的问题" in resident.text and "系统管理" not in resident.text


def test_a_wrong_password_is_refused_in_chinese_and_keeps_the_name(visitor: Browser) -> None:
    visitor.get("/login")
    response = visitor.post("/login", {"username": "dispatcher", "password": "nope"})
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text and 'value="dispatcher"' in response.text
    assert "cg_session" not in response.headers.get("set-cookie", "")


def test_the_session_cookie_is_httponly_and_samesite(visitor: Browser) -> None:
    visitor.get("/login")
    response = visitor.post("/login", {"username": "leader", "password": "leader-demo-2026"})
    cookie = response.headers["set-cookie"].lower()
    assert "cg_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie


def test_a_post_without_the_csrf_token_is_refused(signed_in: Callable[[str], Browser]) -> None:
    browser = signed_in("dispatcher")
    refused = browser.post("/logout", csrf=False)
    assert refused.status_code == 403 and "安全令牌" in refused.text
    wrong = browser.post("/logout", {"csrf_token": "forged"})
    assert wrong.status_code == 403
    assert browser.get("/").status_code == 200  # still signed in


def test_a_cross_site_origin_is_refused_even_with_the_token(signed_in: Callable[[str], Browser]) -> None:
    browser = signed_in("dispatcher")
    response = browser.post("/logout", headers={"Origin": "https://evil.example"})
    assert response.status_code == 403


def test_the_cookie_alone_cannot_write_through_the_json_api(signed_in: Callable[[str], Browser]) -> None:
    browser = signed_in("dispatcher")
    body = {"channel": "hotline_12345", "title": "测试", "description": "跨站请求伪造测试"}
    assert browser.client.post("/api/v1/cases", json=body).status_code == 403
    accepted = browser.client.post("/api/v1/cases", json=body, headers={"X-CSRF-Token": browser.csrf or ""})
    assert accepted.status_code == 201
    assert browser.client.get("/api/v1/cases?limit=1").status_code == 200  # reading needs no token


def test_signing_out_ends_the_session(signed_in: Callable[[str], Browser]) -> None:
    browser = signed_in("hotline")
    assert browser.post("/logout").status_code == 303
    response = browser.get("/cases")
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")


def test_pages_ask_for_sign_in_and_come_back_after_it(visitor: Browser) -> None:
    response = visitor.get("/cases?queue=overdue")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fcases%3Fqueue%3Doverdue"
    visitor.get(response.headers["location"])
    signed = visitor.post(
        "/login", {"username": "dispatcher", "password": "dispatcher-demo-2026", "next": "/cases?queue=overdue"}
    )
    assert signed.headers["location"] == "/cases?queue=overdue"


def test_next_never_leads_off_site(visitor: Browser) -> None:
    visitor.get("/login")
    response = visitor.post(
        "/login", {"username": "leader", "password": "leader-demo-2026", "next": "//evil.example/x"}
    )
    assert response.headers["location"] == "/"


def test_repeated_failures_lock_the_name_even_for_the_right_password(web_app: FastAPI, demo_engine: Engine) -> None:
    with transaction(make_session_factory(demo_engine, write=True)) as session:
        create_user(
            session,
            Actor.system("测试"),
            username="lockme",
            display_name="锁定测试",
            roles=[Role.LEADER],
            password="right-password-1",
        )
    browser = Browser(web_app)
    browser.get("/login")
    for _ in range(5):
        assert browser.post("/login", {"username": "lockme", "password": "wrong"}).status_code == 401
    locked = browser.post("/login", {"username": "lockme", "password": "right-password-1"})
    assert locked.status_code == 401 and "登录失败次数过多" in locked.text
    with make_session_factory(demo_engine)() as session:
        attempts = session.execute(select(LoginAttempt).where(LoginAttempt.username == "lockme")).scalars().all()
    assert len(attempts) == 5 and not any(a.succeeded for a in attempts)


def test_disabling_a_user_ends_their_open_session(web_app: FastAPI, demo_engine: Engine) -> None:
    with transaction(make_session_factory(demo_engine, write=True)) as session:
        create_user(
            session,
            Actor.system("测试"),
            username="leaver",
            display_name="离职测试",
            roles=[Role.LEADER],
            password="leaver-password-1",
        )
    browser = Browser(web_app).login("leaver", "leaver-password-1")
    assert browser.get("/").status_code == 200
    with transaction(make_session_factory(demo_engine, write=True)) as session:
        disable_user(session, Actor.system("测试"), "leaver", "调离")
    assert browser.get("/").status_code == 200 and "工作人员登录" in browser.get("/").text
    assert browser.get("/cases").status_code == 303
