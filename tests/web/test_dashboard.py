"""The leader dashboard (/dashboard) and its Excel exports over the demo district, on SQLite and PostgreSQL.

The module takes its own cases through the real flow at pinned times in one community of 海川街道: four in March
2024, two in February 2024 (环比) and one in March 2023 (同比) — months no other test writes to — so the numbers
are known by hand, and every number on the page is also checked against the KPI module itself."""

from __future__ import annotations

import datetime as dt
import html
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, select
from tests.api.test_kpi_api import Crew, Story, monday_morning, run_story
from tests.web.conftest import Browser, DemoSite

from civicgrid.cases.models import Channel, Rating
from civicgrid.cases.tick import tick
from civicgrid.db import make_session_factory, transaction
from civicgrid.grid.models import GridNode
from civicgrid.grid.service import node_geometry
from civicgrid.kpi.dashboard import Dashboard, build_dashboard
from civicgrid.kpi.metrics import INDICATORS, Counts, Figures, Unit, format_value
from civicgrid.kpi.params import current_year
from civicgrid.kpi.periods import parse_period
from civicgrid.kpi.ranking import honour_lists, rank
from civicgrid.kpi.service import Dimension, Group, KpiQuery, breakdown, trend
from civicgrid.org.service import actor_for, get_user
from civicgrid.web.dashboard import own_level_named, with_unit

SignedIn = Callable[..., Browser]
STREET = "370299001"
OTHER_STREET = "370299002"
PERIOD = "2024-03"
BEIJING = dt.timezone(dt.timedelta(hours=8))
CREW = Crew(hotline="hotline", dispatcher="dispatcher", handler="cgj")
HEADLINE = (
    "received", "registered", "closed", "closure_rate", "on_time_closure_rate", "satisfaction_rate", "overdue_now",
    "linked", "average_handle_hours", "composite_score",
)  # fmt: skip


@dataclass(frozen=True)
class Scene:
    community: str  # the grid the cases lie in
    unit: str
    numbers: dict[str, str]


@pytest.fixture(scope="module")
def scene(demo_site: DemoSite) -> Scene:
    """Seven cases in the first unit grid of the street's first community; those left open are overdue."""
    with make_session_factory(demo_site.engine)() as session:
        unit = (
            session.execute(
                select(GridNode)
                .where(GridNode.level == "unit", GridNode.code.startswith(STREET))
                .order_by(GridNode.code)
            )
            .scalars()
            .first()
        )
        assert unit is not None and unit.parent is not None
        community, unit_code = unit.parent.code, unit.code
        geometry = node_geometry(unit)
        assert geometry is not None
        inside = geometry.representative_point()
        point = (float(inside.x), float(inside.y))
    stories = {
        "satisfied": Story(monday_morning(2024, 3, 11), point, steps=6),
        "unsatisfied": Story(monday_morning(2024, 3, 11), point, steps=6, rating=Rating.UNSATISFIED),
        "dispatched": Story(monday_morning(2024, 3, 11), point, steps=2, channel=Channel.HOTLINE_8890, category="0201"),
        "reported": Story(monday_morning(2024, 3, 11), point, channel=Channel.HOTLINE_8890),
        "february_1": Story(monday_morning(2024, 2, 19), point),
        "february_2": Story(monday_morning(2024, 2, 19), point),
        "last_march": Story(monday_morning(2023, 3, 13), point),
    }
    with transaction(make_session_factory(demo_site.engine, write=True)) as session:
        numbers = {name: run_story(session, demo_site.settings, CREW, story) for name, story in stories.items()}
        # The clock a month later: the cases still open are overdue (the demo's own cases, in 2026, are not due).
        tick(session, now=dt.datetime(2024, 4, 30, 12, tzinfo=BEIJING), settings=demo_site.settings)
    return Scene(community, unit_code, numbers)


def dashboard_url(scene: Scene, **params: str) -> str:
    query = {"period": PERIOD, "grid": scene.community, **params}
    return "/dashboard?" + "&".join(f"{key}={value}" for key, value in query.items())


def expected(demo_engine: Engine, demo_site: DemoSite, username: str, scene: Scene) -> Dashboard:
    with make_session_factory(demo_engine)() as session:
        actor = actor_for(session, get_user(session, username))
        query = KpiQuery(parse_period(PERIOD), scene.community)
        return build_dashboard(session, actor, query, settings=demo_site.settings)


# --- reading the page ------------------------------------------------------------------------------------------


def card(page: str, key: str) -> str:
    found = re.search(rf'<article class="kpi-card[^"]*" data-key="{key}".*?</article>', page, re.S)
    assert found, f"no card {key}"
    return found.group(0)


def card_value(page: str, key: str) -> str:
    found = re.search(rf'data-indicator="{key}"[^>]*>([^<]*)', card(page, key))
    assert found
    return found.group(1)


def card_link(page: str, key: str) -> str:
    found = re.search(rf'<a class="figure-value" href="([^"]+)" data-indicator="{key}"', card(page, key))
    assert found
    return html.unescape(found.group(1))


def changes(page: str, key: str) -> list[tuple[str, str, str]]:
    """(label, text, tone) of the card's 环比 and 同比."""
    spans = re.findall(
        r'<span class="change change-(\w+) tone-(\w+)"[^>]*><span class="change-label">(\S+)</span> ([^<]*)</span>',
        card(page, key),
    )
    return [(label, text, tone) for _, tone, label, text in spans]


@dataclass(frozen=True)
class TableRow:
    key: str
    label: str
    cells: dict[str, tuple[str, str | None]]  # indicator → (text, link)


def table(page: str, table_id: str) -> dict[str, TableRow]:
    found = re.search(rf'<table class="data kpi-table" id="{table_id}">(.*?)</table>', page, re.S)
    assert found, f"no table {table_id}"
    rows = {}
    for key, body in re.findall(r'<tr data-key="([^"]*)">(.*?)</tr>', found.group(1), re.S):
        label = re.sub(r"<[^>]+>", "", re.search(r"<th scope=\"row\">(.*?)</th>", body, re.S).group(1)).strip()  # type: ignore[union-attr]
        cells = {}
        for indicator, link, text in re.findall(
            r'<td class="num" data-indicator="(\w+)">(?:<a href="([^"]*)"[^>]*>)?([^<]*)', body
        ):
            cells[indicator] = (text, html.unescape(link) if link else None)
        rows[html.unescape(key)] = TableRow(key, html.unescape(label), cells)
    return rows


def listed_numbers(browser: Browser, link: str) -> set[str]:
    response = browser.get(link)
    assert response.status_code == 200, response.text
    return set(re.findall(r'data-number="(\d+)"', response.text))


def shown(value: float | int | None, key: str) -> str:
    return format_value(value, INDICATORS[key].unit)


# --- the figures -----------------------------------------------------------------------------------------------


def test_the_leader_sees_the_months_figures_with_their_comparisons(signed_in: SignedIn, scene: Scene) -> None:
    page = signed_in("leader").get(dashboard_url(scene))
    assert page.status_code == 200, page.text
    text = page.text
    assert '<span id="dash-period">2024年3月</span>' in text
    assert card_value(text, "received") == "4"
    assert card_value(text, "registered") == "3"
    assert card_value(text, "closed") == "2"
    assert card_value(text, "closure_rate") == "66.7"  # 2 closed of 3 registered
    assert card_value(text, "satisfaction_rate") == "50.0"  # one satisfied of two rated
    assert card_value(text, "overdue_now") == "2"  # the dispatched and the reported case
    # two cases in February and one last March are too few to compare with (kpi.comparable): no “↑ 300.0%”
    for key in ("received", "closure_rate", "overdue_now"):
        assert changes(text, key) == [("环比", "上期无可比数据", "neutral"), ("同比", "上年同期无可比数据", "neutral")]
    assert re.search(r'title="[^"]*上年同期（2023年3月）[^"]*"', card(text, "received"))
    for key in (*HEADLINE, "response_rate", "resolution_rate"):
        assert f'data-key="{key}"' in text, key
    # the 三率 are the hotline's: counted over its channels only, and the card says so
    assert "<h3>12345热线三率</h3>" in text
    assert (
        '<p class="hotline-scope muted" id="hotline-scope">12345热线、8890热线、96685热线和网络留言受理 4 件</p>'
        in text
    )
    assert re.search(r"统计截至 \d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d（北京时间）", text)
    assert "环比：2024年2月" in text and "同比：2023年3月" in text


@pytest.mark.parametrize("username", ["leader", "dispatcher", "admin"])
def test_every_number_on_the_page_is_the_kpi_modules(
    signed_in: SignedIn, scene: Scene, demo_engine: Engine, demo_site: DemoSite, username: str
) -> None:
    page = signed_in(username).get(dashboard_url(scene)).text
    want = expected(demo_engine, demo_site, username, scene)
    current = want.comparison.current.values
    for key in HEADLINE:
        assert card_value(page, key) == shown(current[key], key), key
    assert current["received"] == 4
    for table_id, groups in (
        ("category-table", want.by_category),
        ("grid-table", own_level_named(want.by_grid, want.scope_code, want.scope_name)),
        ("channel-table", want.by_channel),
        ("trend-table", want.trend),
    ):
        rows = table(page, table_id)
        assert [row.label for row in rows.values()] == [group.label for group in groups], table_id
        for group in groups:
            row = rows[group.key or ""]
            for indicator, (text, _) in row.cells.items():
                assert text == shown(group.values[indicator], indicator), (table_id, group.label, indicator)


def test_the_rankings_and_honour_lists(signed_in: SignedIn, scene: Scene) -> None:
    page = signed_in("leader").get(dashboard_url(scene, rank_by="closure_rate")).text
    assert '部门排名 <small class="muted">按办结率</small>' in page
    ranking = re.search(r'<table class="data ranking" id="department-ranking">(.*?)</table>', page, re.S)
    assert ranking
    rows = re.findall(
        r"<tr[^>]*>\s*<td class=\"num\">(.*?)</td>\s*<th scope=\"row\">(.*?)</th>(.*?)</tr>", ranking.group(1), re.S
    )
    by_name = {name: rest for _, name, rest in rows}
    assert "区城市管理局" in by_name  # leads three of the month's cases: too few to rank, listed all the same
    assert "lead=CGJ" in html.unescape(by_name["区城市管理局"])  # the department as main department (主办)
    assert "部门红榜" in page and "网格黑榜" in page
    assert 'class="rank-by"' in page and '<option value="closure_rate" selected>' in page


def ranking_rows(page: str, table_id: str) -> list[tuple[str, str, str]]:
    """(rank, name, value) of a ranking table."""
    found = re.search(rf'<table class="data ranking" id="{table_id}">(.*?)</table>', page, re.S)
    assert found
    rows = re.findall(
        r'<tr[^>]*>\s*<td class="num">(.*?)</td>\s*<th scope="row">(.*?)</th>\s*<td class="num">(.*?)</td>',
        found.group(1),
        re.S,
    )
    return [(strip_tags(position), html.unescape(name), strip_tags(value)) for position, name, value in rows]


def strip_tags(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()


def honour_names(page: str, kind: str, colour: str) -> list[str]:
    block = re.search(rf'<div class="honour-block" data-kind="{kind}">(.*?)</div>', page, re.S)
    assert block
    listed = re.search(rf'<ol class="honour honour-{colour}">(.*?)</ol>', block.group(1), re.S)
    return re.findall(r'class="honour-name"[^>]*>([^<]*)<', listed.group(1)) if listed else []


@pytest.mark.parametrize("indicator", ["composite_score", "closure_rate", "overdue_now"])
def test_the_rankings_follow_the_kpi_module(
    signed_in: SignedIn, demo_engine: Engine, demo_site: DemoSite, indicator: str
) -> None:
    """This year's demo cases (a fortnight of them in 海川街道): departments and communities ranked."""
    page = signed_in("leader").get(f"/dashboard?rank_by={indicator}").text
    with make_session_factory(demo_engine)() as session:
        actor = actor_for(session, get_user(session, "leader"))
        year = KpiQuery(current_year(), STREET)
        want = build_dashboard(session, actor, year, settings=demo_site.settings)
    grids = own_level_named(want.by_grid, want.scope_code, want.scope_name)
    for table_id, groups in (("department-ranking", want.by_department), ("grid-ranking", grids)):
        expected_rows = [
            ("—" if entry.rank is None else str(entry.rank), entry.group.label, with_unit(entry.value, indicator))
            for entry in rank(groups, indicator)
        ]
        assert ranking_rows(page, table_id) == expected_rows, table_id
        assert any(row[0] != "—" for row in expected_rows), "the demo has units with enough cases to rank"
    for kind, groups in (("部门", want.by_department), ("网格", grids)):
        lists = honour_lists(groups, indicator)
        assert honour_names(page, kind, "red") == [entry.group.label for entry in lists.red]
        assert honour_names(page, kind, "black") == [entry.group.label for entry in lists.black]


def test_the_cases_overdue_longest_link_to_the_cases(signed_in: SignedIn, scene: Scene) -> None:
    page = signed_in("leader").get(dashboard_url(scene)).text
    overdue = re.search(r'<table class="data" id="overdue-table">(.*?)</table>', page, re.S)
    assert overdue
    listed = re.findall(r'<a href="/cases/(\d+)">(\d+)</a>', overdue.group(1))
    n = scene.numbers
    open_cases = {n[name] for name in ("dispatched", "reported", "february_1", "february_2", "last_march")}
    assert {number for number, _ in listed} == open_cases  # open cases of any period, not only this month's
    assert listed[0][0] == n["last_march"]  # the longest overdue first
    assert f"/cases?queue=overdue&amp;grid={scene.community}" in page


def test_the_default_is_this_year_on_the_actors_scope(signed_in: SignedIn) -> None:
    leader = signed_in("leader").get("/dashboard")
    assert leader.status_code == 200
    year = dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=8))).year
    assert f'<small id="dash-scope">海川街道 · <span id="dash-period">{year}年</span>' in leader.text
    assert f'<option value="{year}" selected>{year}年</option>' in leader.text
    # the global administrator opens on the district: 山东省 › 青岛市 › 海川区 is a chain of single children
    admin = signed_in("admin").get("/dashboard")
    assert '<small id="dash-scope">海川区 · ' in admin.text
    assert '<option value="370299" selected>' in admin.text


def test_the_report_buttons_link_the_work_report(signed_in: SignedIn, scene: Scene) -> None:
    page = signed_in("leader").get(dashboard_url(scene)).text
    docx = re.search(r'id="work-report" href="([^"]+)"', page)
    markdown = re.search(r'id="work-report-md" href="([^"]+)"', page)
    assert docx and markdown
    assert html.unescape(docx.group(1)) == f"/reports/work-report?period={PERIOD}&grid={scene.community}&format=docx"
    assert html.unescape(markdown.group(1)).endswith("&format=md")
    archive = re.search(r'id="work-report-zip" href="([^"]+)"', page)
    assert archive and html.unescape(archive.group(1)).endswith("&format=zip")
    assert "Markdown（含图表，压缩包）" in page and "Markdown（仅文本，无图表）" in page
    assert "生成工作总结" in page


def test_the_navigation_offers_the_dashboard_to_those_who_may_read_kpis(signed_in: SignedIn) -> None:
    for username in ("leader", "dispatcher", "admin"):
        assert 'href="/dashboard" data-nav="dashboard"' in signed_in(username).get("/").text, username
    for username in ("gridworker", "resident", "cgj", "hotline"):
        assert 'data-nav="dashboard"' not in signed_in(username).get("/").text, username


# --- click-through -------------------------------------------------------------------------------------------------


def test_each_number_links_to_the_cases_behind_it(signed_in: SignedIn, scene: Scene) -> None:
    leader = signed_in("leader")
    page = leader.get(dashboard_url(scene)).text
    n = scene.numbers
    march = {n["satisfied"], n["unsatisfied"], n["dispatched"], n["reported"]}
    cohort = f"/cases?date_from=2024-03-01&date_to=2024-03-31&grid={scene.community}"
    received = card_link(page, "received")
    assert received == cohort + "&indicator=received"
    assert listed_numbers(leader, received) == march
    assert listed_numbers(leader, card_link(page, "closed")) == {n["satisfied"], n["unsatisfied"]}
    assert card_link(page, "closed") == cohort + "&indicator=closed"
    assert listed_numbers(leader, card_link(page, "registered")) == march - {n["reported"]}
    assert listed_numbers(leader, card_link(page, "overdue_now")) == {n["dispatched"], n["reported"]}
    # a rate opens the cases it is computed over: 满意率 the two rated ones; 综合得分 weighs three sets, no link
    assert listed_numbers(leader, card_link(page, "satisfaction_rate")) == {n["satisfied"], n["unsatisfied"]}
    assert 'class="figure-value" href' not in card(page, "composite_score")

    categories = table(page, "category-table")
    assert categories["01"].cells["received"][1] == cohort + "&category=01&indicator=received"
    assert listed_numbers(leader, categories["01"].cells["received"][1] or "") == {n["satisfied"], n["unsatisfied"]}
    assert categories[""].label == "未分类" and categories[""].cells["received"][1] is None  # the list cannot ask
    channels = table(page, "channel-table")
    assert listed_numbers(leader, channels["hotline_8890"].cells["received"][1] or "") == {
        n["dispatched"],
        n["reported"],
    }
    grids = table(page, "grid-table")
    assert listed_numbers(leader, grids[scene.unit].cells["received"][1] or "") == march
    days = table(page, "trend-table")
    assert (
        days["2024-03-11"].cells["received"][1]
        == f"/cases?date_from=2024-03-11&date_to=2024-03-11&grid={scene.community}&indicator=received"
    )
    assert days["2024-03-11"].cells["received"][0] == "4" and days["2024-03-12"].cells["received"][0] == "0"


def test_the_dashboards_filters_are_carried_into_the_links(signed_in: SignedIn, scene: Scene) -> None:
    leader = signed_in("leader")
    page = leader.get(dashboard_url(scene, channel="hotline_8890", department="CGJ", category="02")).text
    assert card_value(page, "received") == "1"
    link = card_link(page, "received")
    assert "channel=hotline_8890" in link and "lead=CGJ" in link and "category=02" in link
    assert listed_numbers(leader, link) == {scene.numbers["dispatched"]}


def test_the_grid_table_drills_down_to_the_childs_dashboard(signed_in: SignedIn, scene: Scene) -> None:
    page = signed_in("leader").get(dashboard_url(scene)).text
    drill = re.search(r'<a href="([^"]+)" class="drill"', page)
    assert drill and f"grid={scene.unit}" in html.unescape(drill.group(1)) and f"period={PERIOD}" in drill.group(1)


def test_the_choropleth_gets_the_childrens_values(signed_in: SignedIn, scene: Scene) -> None:
    page = signed_in("leader").get(dashboard_url(scene)).text
    script = re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>', page, re.S)
    assert script
    data = json.loads(script.group(1))
    grids = data["map"]["grids"]
    assert data["map"]["scope"] == scene.community and data["map"]["levels"] == ["unit"]
    assert grids[scene.unit]["values"]["received"] == 4
    others = [code for code in grids if code != scene.unit]
    assert others and all(grids[code]["values"]["received"] >= 0 for code in others)
    assert data["trend"]["received"][10] == 4 and len(data["trend"]["labels"]) == 31


# --- refusals ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["gridworker", "resident", "cgj", "hotline"])
def test_roles_without_kpi_read_are_refused(signed_in: SignedIn, username: str) -> None:
    browser = signed_in(username)
    for url in ("/dashboard", "/dashboard/export?table=category"):
        response = browser.get(url)
        assert response.status_code == 403, url
        assert "无权" in response.text and 'id="error-message"' in response.text


def test_a_visitor_is_sent_to_sign_in(visitor: Browser) -> None:
    response = visitor.get("/dashboard?period=2024")
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"period": "2024-H3"}, "period", "无法识别的统计期间“2024-H3”"),
        ({"period": "custom", "start": "2024-03-01"}, "period", "自定义期间请填写开始日期和结束日期"),
        ({"period": "custom", "start": "2024-03-31", "end": "2024-03-01"}, "period", "结束日期早于开始日期"),
        ({"period": "2024", "department": "NOPE"}, "department", "部门“NOPE”不存在"),
        ({"period": "2024", "category": "99"}, "category", "案件类别“99”不存在"),
        ({"period": "2024", "channel": "wechat"}, "channel", "来源渠道“wechat”无效"),
        ({"period": "2024", "rank_by": "received"}, "rank_by", "无法按“received”排名"),
    ],
)
def test_bad_input_is_shown_next_to_its_field(
    signed_in: SignedIn, params: dict[str, str], field: str, message: str
) -> None:
    query = "&".join(f"{key}={value}" for key, value in params.items())
    response = signed_in("leader").get(f"/dashboard?{query}")
    assert response.status_code == 422
    error = re.search(rf'<p class="field-error" id="{field}-error" role="alert">([^<]*)</p>', response.text)
    assert error and message in html.unescape(error.group(1))
    assert 'id="headline"' not in response.text  # no figures for a query that was not understood
    assert 'id="dashboard-filters"' in response.text


def test_a_bad_period_is_kept_in_the_form(signed_in: SignedIn) -> None:
    response = signed_in("leader").get("/dashboard?period=2024-H3")
    assert '<option value="2024-H3" selected>2024-H3</option>' in response.text
    custom = signed_in("leader").get("/dashboard?period=custom&start=2024-03-31&end=2024-03-01")
    assert 'name="start" value="2024-03-31"' in custom.text and 'name="end" value="2024-03-01"' in custom.text
    assert '<option value="custom" selected>' in custom.text


def test_a_custom_range_is_counted(signed_in: SignedIn, scene: Scene) -> None:
    page = signed_in("leader").get(dashboard_url(scene, period="custom", start="2024-02-01", end="2024-03-31")).text
    assert card_value(page, "received") == "6"
    assert "2024年2月1日至3月31日" in page
    assert '<option value="custom" selected>' in page


@pytest.mark.parametrize("grid", [OTHER_STREET, "370299", "37"])
def test_a_grid_outside_the_scope_is_refused(signed_in: SignedIn, grid: str) -> None:
    leader = signed_in("leader")
    for url in (f"/dashboard?grid={grid}", f"/dashboard/export?table=grid&grid={grid}"):
        response = leader.get(url)
        assert response.status_code == 403, url
        assert "不在其管辖范围内" in response.text


def test_a_grid_that_does_not_exist_is_not_found(signed_in: SignedIn) -> None:
    response = signed_in("leader").get(f"/dashboard?grid={STREET}999")
    assert response.status_code == 404 and "找不到网格" in response.text


# --- Excel -------------------------------------------------------------------------------------------------------


def sheet_rows(content: bytes) -> tuple[list[str], list[list[Any]], Any]:
    book = load_workbook(io.BytesIO(content))
    sheet = book.worksheets[0]
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    data = []
    for row in values[1:]:
        if all(cell is None for cell in row):
            break
        data.append(row)
    return [str(cell) for cell in values[0]], data, sheet


def groups_for(demo_engine: Engine, demo_site: DemoSite, scene: Scene, table_name: str) -> list[Group]:
    with make_session_factory(demo_engine)() as session:
        actor = actor_for(session, get_user(session, "dispatcher"))
        query = KpiQuery(parse_period(PERIOD), scene.community)
        if table_name == "trend":
            return trend(session, actor, query, settings=demo_site.settings, percentiles=True)
        dimension = {"category": Dimension.CATEGORY, "grid": Dimension.GRID, "department": Dimension.DEPARTMENT,
                     "channel": Dimension.CHANNEL}[table_name]  # fmt: skip
        groups = breakdown(session, actor, query, dimension, settings=demo_site.settings, percentiles=True)
        if table_name != "grid":
            return groups
        name = session.execute(select(GridNode.name).where(GridNode.code == scene.community)).scalar_one()
        return own_level_named(groups, scene.community, name)


NUMBER_FORMATS = {Unit.CASES: "#,##0", Unit.PERCENT: "0.0%", Unit.HOURS: "0.0", Unit.SCORE: "0.0"}


def displayed(cell: Any, number_format: str) -> str:
    """What Excel shows for a number cell, in the page's spelling (without the % sign)."""
    if cell is None:
        return "—"
    if number_format == "0.0%":
        return f"{cell * 100:.1f}"
    return f"{cell:,}" if number_format == "#,##0" else f"{cell:.1f}"


@pytest.mark.parametrize("table_name", ["category", "grid", "department", "channel", "trend"])
def test_an_export_reads_back_as_the_page_shows_it(
    signed_in: SignedIn, scene: Scene, demo_engine: Engine, demo_site: DemoSite, table_name: str
) -> None:
    """Every figure a number cell at the page's precision with the page's unit as its format; the median and P90
    columns filled wherever there are handling times (they were empty, and rates came out as 0.6666666666666666)."""
    dispatcher = signed_in("dispatcher")
    page = dispatcher.get(dashboard_url(scene)).text
    link = re.search(rf'<a class="export" href="([^"]+)" data-export="{table_name}">导出 Excel</a>', page)
    assert link, table_name
    response = dispatcher.get(html.unescape(link.group(1)))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment; filename*=UTF-8''" in response.headers["content-disposition"]
    headers, rows, sheet = sheet_rows(response.content)
    groups = groups_for(demo_engine, demo_site, scene, table_name)
    assert len(rows) == len(groups)
    first_value = 3 if table_name == "trend" else 2
    indicator_headers = headers[first_value : first_value + len(INDICATORS)]
    assert indicator_headers == [f"{i.label}（{i.unit.value}）" for i in INDICATORS.values()]
    for number, (row, group) in enumerate(zip(rows, groups, strict=True), start=2):
        assert row[0] == group.label
        for column, (key, indicator) in enumerate(INDICATORS.items(), start=first_value):
            value, cell = group.values[key], row[column]
            number_format = sheet.cell(number, column + 1).number_format
            assert number_format == NUMBER_FORMATS[indicator.unit], (group.label, key)
            assert displayed(cell, number_format) == shown(value, key), (group.label, key)  # the page's rounding
            if value is not None:
                assert isinstance(cell, int | float) and not isinstance(cell, bool), (group.label, key)
            if indicator.unit is Unit.PERCENT and value is not None:
                assert cell == pytest.approx(round(value, 1) / 100, abs=1e-12), (group.label, key)  # Excel's percent
        if table_name == "department":
            assert row[-1] == group.assisted and headers[-1] == "协办件数（件）"
        if table_name == "trend":
            assert isinstance(row[1], dt.datetime) and row[1].date().isoformat() == group.key  # a date cell
    for column, key in enumerate(INDICATORS, start=first_value):  # no column empty where some group has a value
        if any(group.values[key] is not None for group in groups):
            assert any(row[column] is not None for row in rows), key
    if table_name in ("category", "channel", "department"):
        handled = [group for group in groups if group.figures.counts.handle_minutes_count]
        assert handled and all(group.values["median_handle_hours"] is not None for group in handled)
    note = list(sheet.iter_rows(values_only=True))[-1][0]
    assert str(note).startswith("统计范围：") and "统计截至" in str(note)
    if table_name == "trend":
        assert headers[:3] == ["期间", "开始日期", "结束日期"] and rows[10][0] == "3月11日" and rows[10][3] == 4
    page_table = {"category": "category-table", "grid": "grid-table", "channel": "channel-table",
                  "trend": "trend-table"}.get(table_name)  # fmt: skip
    if page_table:  # the same figures as the page's own table, cell by cell
        by_label = {row[0]: row for row in rows}
        for shown_row in table(page, page_table).values():
            exported = by_label[shown_row.label]
            for key, (text, _) in shown_row.cells.items():
                column = first_value + list(INDICATORS).index(key)
                assert displayed(exported[column], NUMBER_FORMATS[INDICATORS[key].unit]) == text, (shown_row.label, key)


def test_an_unknown_export_table_is_refused(signed_in: SignedIn) -> None:
    response = signed_in("leader").get("/dashboard/export?table=people")
    assert response.status_code == 422 and "无法导出“people”" in response.text
    bad = signed_in("leader").get("/dashboard/export?table=grid&period=2024-H3")
    assert bad.status_code == 422 and "无法识别的统计期间" in bad.text


def test_cases_on_the_scope_grid_itself_are_named_as_its_own_level() -> None:
    empty = Figures(Counts())
    groups = [Group("370299001001", "泰和社区", empty, {}), Group("370299001", "海川街道", empty, {})]
    named = own_level_named(groups, "370299001", "海川街道")
    assert [group.label for group in named] == ["泰和社区", "海川街道（本级）"]
