"""系统管理 pages: each renders for the administrator, refuses everyone else, and changes data only through the
services (errors shown next to the field with the typed values kept)."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import uuid
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from tests.web.conftest import Browser, point_in_grid_of

from civicgrid.cases import routing, taxonomy
from civicgrid.db import make_session_factory, transaction
from civicgrid.errors import NotFoundError
from civicgrid.grid import service as grid_service
from civicgrid.grid.codes import GridLevel
from civicgrid.importing import ImportReport
from civicgrid.org import service as org_service
from civicgrid.org.actor import Actor
from civicgrid.worktime import service as worktime

SignIn = Callable[[str], Browser]
MAIN_STREET = "370299001"
PAGES = (
    ("/admin", "系统管理"),
    ("/admin/grid", "网格层级"),
    (f"/admin/grid?node={MAIN_STREET}", "海川街道"),
    ("/admin/departments", "区城市管理局"),
    ("/admin/users", "dispatcher"),
    ("/admin/users/dispatcher", "李敏"),
    ("/admin/categories", "案件类别与时限"),
    ("/admin/rules", "派遣规则"),
    ("/admin/holidays", "节假日表"),
    ("/admin/holidays?year=2031", "2031年"),
)
POSTS = (
    "/admin/grid/rename",
    "/admin/departments",
    "/admin/users",
    "/admin/users/hotline/disable",
    "/admin/users/hotline/enable",
    "/admin/users/hotline/password",
    "/admin/users/hotline/roles",
    "/admin/categories/01",
    "/admin/rules",
    "/admin/rules/1/active",
    "/admin/holidays/day",
    "/admin/holidays/remove",
    "/admin/holidays/confirm",
    "/admin/holidays/unconfirm",
)
_serial = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def reader(engine: Engine) -> Session:
    return make_session_factory(engine)()


def field_error(html: str, name: str) -> str:
    """The error shown next to field ``name``."""
    found = re.search(rf'<p class="field-error" id="{name}-error" role="alert">([^<]*)</p>', html)
    assert found, f"no error next to {name}"
    return found.group(1)


def new_user_form(**changes: object) -> dict[str, object]:
    form: dict[str, object] = {
        "username": unique("u"),
        "display_name": "测试新用户",
        "roles": ["dispatcher"],
        "department_code": "HC-ZHZX",
        "grid_codes": MAIN_STREET,
        "password": "chushi-mima-2026",
    }
    form.update(changes)
    return form


def test_each_admin_page_renders_for_the_administrator(signed_in: SignIn, demo_engine: Engine) -> None:
    admin = signed_in("admin")
    with reader(demo_engine) as session:
        first_category = taxonomy.list_categories(session)[0].code
    for url, marker in (*PAGES, (f"/admin/categories/{first_category}", "各环节时限")):
        response = admin.get(url)
        assert response.status_code == 200, (url, response.text[:500])
        assert marker in response.text, url
    index = admin.get("/admin").text
    for section in ("网格管理", "部门管理", "用户管理", "案件类别与时限", "派遣规则", "节假日表"):
        assert section in index
    tree = admin.get("/admin/grid").text
    assert 'id="grid-tree"' in tree and "370299" in tree and 'href="/map"' in tree


def test_the_grid_tree_counts_children_and_opens_the_path_to_a_node(signed_in: SignIn) -> None:
    page = signed_in("admin").get(f"/admin/grid?node={MAIN_STREET}001").text
    assert "网格单元" in page and "下级" in page
    assert 'id="rename-form"' in page and "网格人员" in page


@pytest.mark.parametrize("username", ["dispatcher", "gridworker"])
def test_everyone_else_is_refused_on_every_admin_url(signed_in: SignIn, username: str) -> None:
    browser = signed_in(username)
    assert "系统管理" not in browser.get("/").text
    for url, _ in PAGES:
        assert browser.get(url).status_code == 403, url
    for url in POSTS:
        response = browser.post(url, {"code": MAIN_STREET, "name": "改名", "year": "2031", "day": "2031-01-01"})
        assert response.status_code == 403, url
        assert "无权" in response.text


def test_a_visitor_is_sent_to_sign_in(visitor: Browser) -> None:
    response = visitor.get("/admin/users")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_a_created_user_can_sign_in(signed_in: SignIn, web_app: FastAPI) -> None:
    admin = signed_in("admin")
    form = new_user_form(roles=["dispatcher", "leader"])
    response = admin.post("/admin/users", form)
    assert response.status_code == 303, response.text[:800]
    listing = admin.get(response.headers["location"]).text
    assert f"已创建用户“{form['username']}”" in listing and "指挥中心调度员" in listing
    detail = admin.get(f"/admin/users/{form['username']}").text
    assert "测试新用户" in detail and "海川街道" in detail
    newcomer = Browser(web_app).login(str(form["username"]), str(form["password"]))
    workbench = newcomer.get("/").text
    assert "工作台" in workbench and "测试新用户" in workbench


def test_wrong_user_input_is_shown_next_to_each_field_and_kept(signed_in: SignIn) -> None:
    admin = signed_in("admin")
    response = admin.post(
        "/admin/users",
        {"username": "坏 名字", "display_name": "王小二", "roles": ["grid_worker"], "password": "12345678"},
    )
    assert response.status_code == 422
    html = response.text
    assert "用户名“坏 名字”无效" in field_error(html, "username")
    assert "字母和数字" in field_error(html, "password")
    assert 'value="坏 名字"' in html and 'value="王小二"' in html
    assert re.search(r'value="grid_worker" checked', html)
    assert "12345678" not in html  # a password is never sent back

    empty = admin.post("/admin/users", new_user_form(password="", roles=[]))
    assert "请设置密码" in field_error(empty.text, "password")
    assert "至少选择一个角色" in field_error(empty.text, "roles")

    duplicate = admin.post("/admin/users", new_user_form(username="dispatcher"))
    assert duplicate.status_code == 422 and "已存在" in field_error(duplicate.text, "username")
    bad_grid = admin.post("/admin/users", new_user_form(grid_codes="370299999"))
    assert bad_grid.status_code == 422 and "370299999" in field_error(bad_grid.text, "grid_codes")
    assert 'value="370299999"' in bad_grid.text
    bad_department = admin.post("/admin/users", new_user_form(department_code="NOPE"))
    assert "部门“NOPE”不存在" in field_error(bad_department.text, "department_code")


def test_a_post_without_the_csrf_token_changes_nothing(signed_in: SignIn, demo_engine: Engine) -> None:
    admin = signed_in("admin")
    form = new_user_form()
    refused = admin.post("/admin/users", form, csrf=False)
    assert refused.status_code == 403 and "安全令牌" in refused.text
    with reader(demo_engine) as session, pytest.raises(NotFoundError):
        org_service.get_user(session, str(form["username"]))
    assert admin.post("/admin/holidays/day", {"day": "2031-05-05", "name": "x"}, csrf=False).status_code == 403


def test_disabling_a_user_ends_their_session_and_enabling_lets_them_back(
    signed_in: SignIn, web_app: FastAPI, demo_engine: Engine
) -> None:
    admin = signed_in("admin")
    form = new_user_form()
    username, password = str(form["username"]), str(form["password"])
    assert admin.post("/admin/users", form).status_code == 303
    them = Browser(web_app).login(username, password)
    assert them.get("/").status_code == 200

    no_reason = admin.post(f"/admin/users/{username}/disable", {"reason": "  "})
    assert no_reason.status_code == 422 and "须说明原因" in field_error(no_reason.text, "reason")
    assert them.get("/").status_code == 200

    disabled = admin.post(f"/admin/users/{username}/disable", {"reason": "调离岗位"})
    assert disabled.status_code == 303
    assert "已停用" in admin.get(disabled.headers["location"]).text
    ended = them.get("/cases")
    assert ended.status_code == 303 and ended.headers["location"].startswith("/login")

    assert admin.post(f"/admin/users/{username}/enable").status_code == 303
    Browser(web_app).login(username, password)

    refused_self = admin.get("/admin/users/admin").text
    assert "不能停用自己的账号" in refused_self


def test_resetting_a_password_signs_the_user_out_and_the_new_one_works(signed_in: SignIn, web_app: FastAPI) -> None:
    admin = signed_in("admin")
    form = new_user_form()
    username = str(form["username"])
    assert admin.post("/admin/users", form).status_code == 303
    them = Browser(web_app).login(username, str(form["password"]))
    mismatch = admin.post(f"/admin/users/{username}/password", {"password": "xin-mima-2026", "password_again": "x"})
    assert mismatch.status_code == 422 and "不一致" in field_error(mismatch.text, "password")
    reset = admin.post(
        f"/admin/users/{username}/password", {"password": "xin-mima-2026", "password_again": "xin-mima-2026"}
    )
    assert reset.status_code == 303
    assert them.get("/cases").status_code == 303
    Browser(web_app).login(username, "xin-mima-2026")


def test_changing_roles_takes_effect_on_the_next_request(signed_in: SignIn, web_app: FastAPI) -> None:
    admin = signed_in("admin")
    form = new_user_form(roles=["leader"])
    username = str(form["username"])
    assert admin.post("/admin/users", form).status_code == 303
    them = Browser(web_app).login(username, str(form["password"]))
    assert "受理登记" not in them.get("/").text
    empty = admin.post(f"/admin/users/{username}/roles", {"roles": []})
    assert empty.status_code == 422 and "至少选择一个角色" in field_error(empty.text, "roles")
    assert admin.post(f"/admin/users/{username}/roles", {"roles": ["dispatcher"]}).status_code == 303
    assert "受理登记" in them.get("/").text
    demote = admin.post("/admin/users/admin/roles", {"roles": ["leader"]})
    assert demote.status_code == 422 and "不能撤销自己的管理员角色" in demote.text


def test_the_user_list_filters_by_name_role_and_status(signed_in: SignIn) -> None:
    admin = signed_in("admin")
    page = admin.get("/admin/users?q=李敏").text
    assert 'data-username="dispatcher"' in page and 'data-username="leader"' not in page
    workers = admin.get("/admin/users?role=grid_worker").text
    assert 'data-username="gridworker"' in workers and 'data-username="dispatcher"' not in workers


def test_adding_a_holiday_changes_the_working_calendar(signed_in: SignIn, demo_engine: Engine) -> None:
    admin = signed_in("admin")
    year = 2040 + next(_serial)
    day = dt.date(year, 10, 2)
    bad = admin.post("/admin/holidays/day", {"year": str(year), "day": "10/02", "kind": "holiday", "name": "国庆节"})
    assert bad.status_code == 422 and "请选择日期" in field_error(bad.text, "day")
    assert 'value="国庆节"' in bad.text
    no_name = admin.post("/admin/holidays/day", {"year": str(year), "day": day.isoformat(), "kind": "holiday"})
    assert no_name.status_code == 422 and "不能为空" in field_error(no_name.text, "name")

    added = admin.post(
        "/admin/holidays/day", {"year": str(year), "day": day.isoformat(), "kind": "holiday", "name": "国庆节"}
    )
    assert added.status_code == 303 and f"year={year}" in added.headers["location"]
    page = admin.get(added.headers["location"]).text
    assert f"{year}年10月2日" in page and "已保存" in page
    with reader(demo_engine) as session:
        rows = worktime.list_days(session, year)
    assert [(row.day, row.is_workday, row.name) for row in rows] == [(day, False, "国庆节")]

    admin.post("/admin/holidays/day", {"year": str(year), "day": day.isoformat(), "kind": "workday", "name": "调休"})
    with reader(demo_engine) as session:
        assert [row.is_workday for row in worktime.list_days(session, year)] == [True]

    empty_year = admin.post("/admin/holidays/confirm", {"year": str(year)})
    assert empty_year.status_code == 422 and "尚未录入" in field_error(empty_year.text, "year_action")
    admin.post("/admin/holidays/day", {"year": str(year), "day": day.isoformat(), "kind": "holiday", "name": "国庆"})
    assert admin.post("/admin/holidays/confirm", {"year": str(year), "note": "测试"}).status_code == 303
    with reader(demo_engine) as session:
        assert worktime.year_status(session, year) == "confirmed"
    assert admin.post("/admin/holidays/unconfirm", {"year": str(year)}).status_code == 303

    assert admin.post("/admin/holidays/remove", {"year": str(year), "day": day.isoformat()}).status_code == 303
    with reader(demo_engine) as session:
        assert worktime.list_days(session, year) == []
        assert worktime.year_status(session, year) == "unknown"
    gone = admin.post("/admin/holidays/remove", {"year": str(year), "day": day.isoformat()})
    assert gone.status_code == 422 and "没有" in gone.text


def test_the_holiday_page_explains_the_calendar_and_refuses_a_bad_year(signed_in: SignIn) -> None:
    admin = signed_in("admin")
    page = admin.get("/admin/holidays?year=2026").text
    assert "内置日历" in page and "国务院办公厅" in page and "2027年及以后" in page
    assert "已内置" in page
    assert admin.get("/admin/holidays?year=abc").status_code == 422
    assert admin.get("/admin/holidays?year=1999").status_code == 422


def test_editing_a_category_limit_validates_each_stage(signed_in: SignIn, demo_engine: Engine) -> None:
    name = unique("测试类别")
    with transaction(make_session_factory(demo_engine, write=True)) as session:
        report = ImportReport(source="test")
        taxonomy.upsert_categories(
            session, Actor.system("测试"), [(1, taxonomy.CategorySpec(("测试大类", name)))], report
        )
        code = report.created[-1]
    admin = signed_in("admin")
    form = {
        "register_value": "abc",
        "register_unit": "hours",
        "dispatch_value": "",
        "dispatch_unit": "hours",
        "handle_value": "-3",
        "handle_unit": "days",
        "verify_value": "2000",
        "verify_unit": "days",
        "default_department": "CGJ",
        "priority": "2",
    }
    refused = admin.post(f"/admin/categories/{code}", form)
    assert refused.status_code == 422
    assert "立案时限须为数字" in field_error(refused.text, "register_value")
    assert "处置时限须大于0" in field_error(refused.text, "handle_value")
    assert "核查时限过长" in field_error(refused.text, "verify_value")
    assert 'value="abc"' in refused.text and 'value="-3"' in refused.text

    saved = admin.post(
        f"/admin/categories/{code}", {**form, "register_value": "1.5", "handle_value": "3", "verify_value": ""}
    )
    assert saved.status_code == 303
    listing = admin.get(saved.headers["location"]).text
    assert "已保存" in listing and "1.5小时" in listing and "3个工作日" in listing
    with reader(demo_engine) as session:
        category = taxonomy.get_category(session, code)
        assert category.limits == {"register": {"value": 1.5, "unit": "hours"}, "handle": {"value": 3, "unit": "days"}}
        assert taxonomy.effective_limits(category)["dispatch"] == taxonomy.DEFAULT_LIMITS["dispatch"]
        assert category.default_department_code == "CGJ" and category.priority == 2


def test_adding_and_switching_off_a_routing_rule(signed_in: SignIn, demo_engine: Engine) -> None:
    admin = signed_in("admin")
    name = unique("测试规则")
    form = {
        "name": name,
        "category_code": "9999",
        "grid_code": "370299998",
        "keywords": "噪音 夜间施工",
        "main_department": "CGJ",
        "assist_departments": ["CGJ"],
        "priority": "x",
    }
    refused = admin.post("/admin/rules", form)
    assert refused.status_code == 422
    assert "9999" in field_error(refused.text, "category_code")
    assert "370299998" in field_error(refused.text, "grid_code")
    assert "整数" in field_error(refused.text, "priority")
    assert f'value="{name}"' in refused.text
    both = admin.post("/admin/rules", {**form, "category_code": "", "grid_code": MAIN_STREET, "priority": "50"})
    assert "不能同时是协办部门" in field_error(both.text, "assist_departments")

    created = admin.post(
        "/admin/rules",
        {**form, "category_code": "", "grid_code": MAIN_STREET, "priority": "50", "assist_departments": ["SCJG"]},
    )
    assert created.status_code == 303
    page = admin.get(created.headers["location"]).text
    assert name in page and "夜间施工" in page
    with reader(demo_engine) as session:
        rule = next(r for r in routing.list_rules(session) if r.name == name)
    assert rule.keywords == ["噪音", "夜间施工"] and rule.grid_code == MAIN_STREET and rule.is_active
    assert admin.post(f"/admin/rules/{rule.id}/active", {"active": "0"}).status_code == 303
    with reader(demo_engine) as session:
        assert not next(r for r in routing.list_rules(session) if r.id == rule.id).is_active


def test_creating_a_department_and_refusing_a_duplicate_code(signed_in: SignIn) -> None:
    admin = signed_in("admin")
    code = unique("T-").upper()
    form = {"code": code, "name": "测试科室", "kind": "street_section", "parent_code": "HC", "grid_code": MAIN_STREET}
    created = admin.post("/admin/departments", form)
    assert created.status_code == 303
    page = admin.get(created.headers["location"]).text
    assert "已创建部门“测试科室”" in page and code in page and "街道科室" in page
    again = admin.post("/admin/departments", {**form, "kind": ""})
    assert again.status_code == 422 and "请选择部门类型" in field_error(again.text, "kind")
    duplicate = admin.post("/admin/departments", form)
    assert duplicate.status_code == 422 and "已存在" in field_error(duplicate.text, "code")
    assert 'value="测试科室"' in duplicate.text


def test_renaming_a_grid_node(signed_in: SignIn, demo_engine: Engine) -> None:
    number = 900 + next(_serial)
    code = f"{MAIN_STREET}001{number}"
    with transaction(make_session_factory(demo_engine, write=True)) as session:
        grid_service.create_node(
            session,
            Actor.system("测试"),
            code=code,
            name="测试网格",
            level=GridLevel.UNIT,
            parent_code=f"{MAIN_STREET}001",
            unit_code_digits=3,
        )
    admin = signed_in("admin")
    empty = admin.post("/admin/grid/rename", {"code": code, "name": "  "})
    assert empty.status_code == 422 and "不能为空" in field_error(empty.text, "name")
    renamed = admin.post("/admin/grid/rename", {"code": code, "name": "新测试网格"})
    assert renamed.status_code == 303
    assert "已改名为“新测试网格”" in admin.get(renamed.headers["location"]).text
    with reader(demo_engine) as session:
        node = grid_service.find_node(session, code)
        assert node is not None and node.name == "新测试网格"


def test_user_text_is_escaped(signed_in: SignIn) -> None:
    admin = signed_in("admin")
    response = admin.post("/admin/users", new_user_form(display_name="<script>alert(1)</script>", password="x"))
    assert response.status_code == 422
    assert "<script>alert(1)</script>" not in response.text and "&lt;script&gt;" in response.text


def test_grid_workers_are_assigned_and_released_on_the_grid_page(signed_in: SignIn, demo_engine: Engine) -> None:
    unit = f"{MAIN_STREET}001001"
    admin = signed_in("admin")
    page = admin.get("/admin/grid", params={"node": unit})
    assert 'id="assign-form"' in page.text
    unknown = admin.post("/admin/grid/assign", {"code": unit, "username": "nobody-here", "duty": "grid_worker"})
    assert unknown.status_code == 422 and "不存在" in field_error(unknown.text, "username")
    assigned = admin.post("/admin/grid/assign", {"code": unit, "username": "wgy002", "duty": "sunk_cadre"})
    assert assigned.status_code == 303
    shown = admin.get(assigned.headers["location"]).text
    assert "已把“wgy002”分配到该网格" in shown and "下沉干部" in shown.split('id="node-people"')[1]
    with reader(demo_engine) as session:
        duties = [duty for user, duty in grid_service.assigned_people(session, Actor.system("测试"), unit)
                  if user.username == "wgy002"]  # fmt: skip
    assert [duty.value for duty in duties] == ["sunk_cadre"]
    released = admin.post("/admin/grid/unassign", {"code": unit, "username": "wgy002", "duty": "sunk_cadre"})
    assert released.status_code == 303
    assert "wgy002" not in admin.get(released.headers["location"]).text.split('id="node-people"')[1].split("</ul>")[0]
    assert (
        signed_in("leader")
        .post("/admin/grid/assign", {"code": unit, "username": "wgy002", "duty": "grid_worker"})
        .status_code
        == 403
    )


def _listed(html: str) -> list[str]:
    return re.findall(r'<tr data-username="([^"]+)"', html)


def test_the_user_list_is_paged_and_searched_with_its_filters_kept(signed_in: SignIn, demo_engine: Engine) -> None:
    admin = signed_in("admin")
    first = admin.get("/admin/users").text
    total = int(re.search(r"([\d,]+)个用户", first).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert total > 200 and len(_listed(first)) == org_service.USER_PAGE_SIZE
    assert f"第 1/{-(-total // org_service.USER_PAGE_SIZE)} 页" in first
    seen, url = [], "/admin/users?role=grid_worker"
    while url:
        page = admin.get(url).text
        assert 'value="grid_worker" selected' in page  # the filter shown as chosen on every page
        seen += _listed(page)
        found = re.search(r'href="([^"]+)" rel="next"', page)
        url = found.group(1).replace("&amp;", "&") if found else ""
        assert not url or "role=grid_worker" in url
    assert len(seen) == len(set(seen)) > org_service.USER_PAGE_SIZE and "gridworker" in seen
    assert "dispatcher" not in seen and "cgj" not in seen
    own_grid = point_in_grid_of(demo_engine, "gridworker").code
    assert "gridworker" in _listed(admin.get(f"/admin/users?grid={own_grid}").text)
    assert _listed(admin.get("/admin/users?q=李敏").text) == ["dispatcher"]
    assert "cgj" in _listed(admin.get("/admin/users?department=CGJ").text)
    assert "dispatcher" in _listed(admin.get("/admin/users?grid=海川街道&role=dispatcher").text)
    assert _listed(admin.get("/admin/users?grid=没有这个网格").text) == []
    assert "没有符合条件的用户" in admin.get("/admin/users?q=zzzz&page_number=7").text
