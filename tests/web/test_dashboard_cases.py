"""Every number on the dashboard opens exactly the cases it counts, the 12345 三率 count the hotline channels, and a
change against a period without comparable data is not printed — over a generated year of 海川街道 (with merged
duplicates closed with their masters, suspended, reopened and unrated cases) plus the demo's own fortnight, served
by the real app on SQLite and PostgreSQL, the roll-up built so that the figures come from its cells while the
lists are read from the cases.

The year runs from 24 November 2025 to 23 November 2026: 2026-11 has a comparable October but no comparable
November 2025 (the data begins on the 24th), and 2026 has no comparable 2025."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text
from tests.api.test_kpi_api import _engine_for as engine_for
from tests.web.conftest import Browser, bearer_headers

from civicgrid import migrate, timesource
from civicgrid.app import create_app
from civicgrid.cases.intake import HOTLINES
from civicgrid.cases.models import Case, CaseState
from civicgrid.db import make_session_factory, transaction
from civicgrid.demo.district import build_demo
from civicgrid.demo.history import HistoryOptions, generate_history
from civicgrid.kpi import rollup
from civicgrid.kpi.comparable import Basis
from civicgrid.kpi.hotline import HOTLINE_RATES, hotline_query
from civicgrid.kpi.metrics import INDICATORS, format_value
from civicgrid.kpi.periods import parse_period
from civicgrid.kpi.service import KpiQuery, compare, headline
from civicgrid.org.models import Department
from civicgrid.org.service import actor_for, get_user
from civicgrid.reports.phrasing import stated
from civicgrid.reports.service import WorkReportRequest, work_report
from civicgrid.settings import Settings

BEIJING = dt.timezone(dt.timedelta(hours=8))
GENERATED_AT = dt.datetime(2026, 11, 24, 10, 30, tzinfo=BEIJING)
STREET = "370299001"
LINK = re.compile(r'<a(?: class="[^"]*")? href="(/cases\?[^"]+)"(?: data-indicator="(\w+)")? data-cases="(\d+)"')
COUNT = re.compile(r'<span id="case-total">共 ([\d,]+) 件</span>')


@dataclass(frozen=True)
class YearSite:
    engine: Engine
    settings: Settings
    app: Any


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def year_site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[YearSite]:
    engine, schema = engine_for(request.param, tmp_path_factory)
    migrate.upgrade(engine)
    settings = Settings(var_dir=tmp_path_factory.mktemp("year-var"), scheduler_interval_seconds=0)
    with transaction(make_session_factory(engine, write=True)) as session:
        build_demo(session, settings=settings)
        options = HistoryOptions(cases=2000, start=dt.date(2025, 11, 24), end=dt.date(2026, 11, 23), seed=11)
        with timesource.pinned(GENERATED_AT):
            generate_history(session, options, settings=settings, now=GENERATED_AT)
    with transaction(make_session_factory(engine, write=True)) as session:
        rollup.refresh(session)
    yield YearSite(engine, settings, create_app(settings, engine))
    if schema is not None:
        with engine.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


@pytest.fixture(scope="module")
def leader(year_site: YearSite) -> Browser:
    return Browser(year_site.app).login("leader")


def links_on(page: str) -> dict[str, tuple[str | None, int]]:
    """Every link to a case list on the dashboard: url → (indicator of a card, cases it says it opens)."""
    found = {html.unescape(url): (key or None, int(cases)) for url, key, cases in LINK.findall(page)}
    data = json.loads(re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>', page, re.S)[1])  # type: ignore[index]
    for chart in (data["trend"], data["category"], data["channel"]):  # the charts open the 受理量 of a bar
        for link, received in zip(chart["links"], chart["received"], strict=True):
            if link:
                found[link] = (None, received)
    return found


def listed(browser: Browser, url: str) -> int:
    response = browser.get(url)
    assert response.status_code == 200, (url, response.text[:500])
    found = COUNT.search(response.text)
    assert found, url
    return int(found.group(1).replace(",", ""))


def every_link_opens_its_number(browser: Browser, page: str) -> int:
    links = links_on(page)
    unlinked = re.findall(r'href="(/cases\?[^"]+)"(?! data-indicator| data-cases)', page)
    assert all("queue=overdue" in html.unescape(url) for url in unlinked), unlinked  # only 全部超期案件
    for url, (key, cases) in links.items():
        assert "indicator=" in url, url
        if key is not None and INDICATORS[key].unit.value == "件":  # a count: the link holds the figure itself
            card = re.search(rf'data-indicator="{key}" data-cases="{cases}"[^>]*>([\d,]+)<', page)
            assert card and int(card.group(1).replace(",", "")) == cases, key
        assert listed(browser, url) == cases, url
    return len(links)


# --- 8: a figure's list is the figure's set --------------------------------------------------------------------


def test_the_year_holds_every_edge_case(year_site: YearSite) -> None:
    with make_session_factory(year_site.engine)() as session:
        in_2026 = select(func.count()).where(Case.reported_at >= dt.datetime(2026, 1, 1, tzinfo=BEIJING))
        merged_closed = in_2026.where(Case.merged_into_id.is_not(None), Case.state == CaseState.CLOSED.value)
        assert session.execute(merged_closed).scalar_one() > 0  # the cause of 立案数 5,147 opening 5,244
        assert session.execute(in_2026.where(Case.state == CaseState.SUSPENDED.value)).scalar_one() > 0
        assert session.execute(in_2026.where(Case.reopen_count > 0)).scalar_one() > 0
        unrated = in_2026.where(Case.state == CaseState.CLOSED.value, Case.rating.is_(None))
        assert session.execute(unrated).scalar_one() > 0
        assert session.execute(in_2026.where(Case.overdue.is_(True))).scalar_one() > 0


@pytest.mark.parametrize(
    "query",
    [
        "period=2026",
        "period=2026-11&rank_by=closure_rate",
        "period=2026-Q3&department=CGJ&channel=hotline_12345",
        "period=2026-H1&category=01&rank_by=satisfaction_rate",
    ],
)
def test_every_number_opens_exactly_the_cases_it_counts(leader: Browser, query: str) -> None:
    page = leader.get(f"/dashboard?{query}")
    assert page.status_code == 200, page.text[:500]
    assert every_link_opens_its_number(leader, page.text) > 20


def test_the_registered_list_leaves_out_the_merged_duplicates(leader: Browser) -> None:
    page = leader.get("/dashboard?period=2026").text
    registered = next(url for url, (key, _) in links_on(page).items() if key == "registered")
    by_state = registered.replace("indicator=registered", "state=closed")  # what the list used to be asked
    closed = next(cases for _, (key, cases) in links_on(page).items() if key == "closed")
    assert listed(leader, by_state) > closed  # closed duplicates are in the state, not in 办结数
    listing = leader.get(registered).text
    assert "数据看板的统计口径 · 立案数：已立案的案件（不含重复件）" in listing
    assert 'name="indicator" value="registered"' in listing  # the filter form keeps it
    assert 'id="export-link"' in listing and "indicator=registered" in html.unescape(listing)


def test_the_api_lists_the_cases_behind_each_figure(year_site: YearSite) -> None:
    headers = bearer_headers(year_site.engine, "leader")["leader"]
    with TestClient(year_site.app) as client:
        params = {"period": "2026-Q3", "department": "CGJ"}
        body = client.get("/api/v1/kpi", params=params, headers=headers).json()
        with make_session_factory(year_site.engine)() as session:
            actor = actor_for(session, get_user(session, "leader"))
            cgj = session.execute(select(Department.id).where(Department.code == "CGJ")).scalar_one()
            query = KpiQuery(parse_period("2026-Q3"), STREET, cgj)
            current = headline(session, actor, query, settings=year_site.settings)
        for item in body["headline"]:
            selection = INDICATORS[item["key"]].cases
            response = client.get("/api/v1/kpi/cases", params={**params, "indicator": item["key"]}, headers=headers)
            if selection is None:
                assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_indicator"
                continue
            assert response.status_code == 200, response.text
            listed_cases = response.json()
            assert listed_cases["total"] == selection.size(current.figures.counts), item["key"]
            if INDICATORS[item["key"]].unit.value == "件":
                assert listed_cases["total"] == item["value"], item["key"]
        unknown = client.get("/api/v1/kpi/cases", params={"indicator": "nope"}, headers=headers)
        assert unknown.status_code == 422


# --- 9: the 三率 of the hotline channels --------------------------------------------------------------------------


def test_the_hotline_card_counts_the_hotline_channels(year_site: YearSite, leader: Browser) -> None:
    page = leader.get("/dashboard?period=2026-H1").text
    card = re.search(r'<article class="kpi-card kpi-hotline".*?</article>', page, re.S)
    assert card
    query = KpiQuery(parse_period("2026-H1"), STREET)
    with make_session_factory(year_site.engine)() as session:
        actor = actor_for(session, get_user(session, "leader"))
        hotline = headline(session, actor, hotline_query(query), settings=year_site.settings, percentiles=False)
        every = headline(session, actor, query, settings=year_site.settings, percentiles=False)
    assert 0 < hotline.figures.counts.received < every.figures.counts.received  # grid patrols are not hotline
    assert f"12345热线、8890热线、96685热线和网络留言受理 {hotline.figures.counts.received:,} 件" in card.group(0)
    for key in HOTLINE_RATES:
        shown = re.search(rf'data-indicator="{key}"[^>]*>([^<]*)<', card.group(0))
        assert shown and shown.group(1) == format_value(hotline.values[key], INDICATORS[key].unit), key
    assert hotline.values["response_rate"] != every.values["response_rate"]  # the card is no longer every channel's
    rate_links = LINK.findall(card.group(0))
    assert [key for _, key, _ in rate_links] == list(HOTLINE_RATES)
    for url, _, cases in rate_links:
        assert set(re.findall(r"channel=(\w+)", html.unescape(url))) == {channel.value for channel in HOTLINES}
        assert listed(leader, html.unescape(url)) == int(cases)

    headers = bearer_headers(year_site.engine, "leader")["leader"]
    with TestClient(year_site.app) as client:
        body = client.get("/api/v1/kpi", params={"period": "2026-H1"}, headers=headers).json()
    assert body["hotline"]["received"] == hotline.figures.counts.received
    assert sorted(body["hotline"]["channels"]) == sorted(channel.value for channel in HOTLINES)
    rates = {item["key"]: item["value"] for item in body["hotline"]["rates"]}
    assert rates == pytest.approx({key: hotline.values[key] for key in HOTLINE_RATES})

    with make_session_factory(year_site.engine)() as session:
        actor = actor_for(session, get_user(session, "leader"))
        document = work_report(session, actor, WorkReportRequest(parse_period("2026-H1"), with_charts=False))
    overview = "\n".join(block.text for block in document.section("总体情况") if hasattr(block, "text"))
    sentence = "、".join(stated(hotline.values, key) for key in HOTLINE_RATES)
    assert (
        f"热线诉求（12345热线、8890热线、96685热线和网络留言）共{hotline.figures.counts.received:,}件，{sentence}"
        in overview
    )


def test_a_channel_that_is_no_hotline_has_no_three_rates(leader: Browser) -> None:
    page = leader.get("/dashboard?period=2026-H1&channel=grid_patrol").text
    card = re.search(r'<article class="kpi-card kpi-hotline".*?</article>', page, re.S)
    assert card and "受理 0 件" in card.group(0) and "/cases?" not in card.group(0)


# --- 21: no percentage against a period without comparable data ----------------------------------------------


def test_a_change_is_shown_only_against_a_comparable_period(year_site: YearSite, leader: Browser) -> None:
    month = leader.get("/dashboard?period=2026-11").text
    received = re.search(r'<article class="kpi-card" data-key="received".*?</article>', month, re.S)
    assert received
    changes = re.findall(r'<span class="change-label">(\S+)</span> ([^<]*)</span>', received.group(0))
    assert changes[0][0] == "环比" and re.fullmatch(r"[↑↓] [\d,.]+%|持平", changes[0][1])  # October compares
    assert changes[1] == ("同比", "上年同期无可比数据")  # the data begins on 24 November 2025
    assert "数据自2025年11月24日起，上年同期（2025年11月）只有23%的天数有数据" in received.group(0)
    year = leader.get("/dashboard?period=2026").text
    headline_cards = year[year.index('id="headline"') : year.index('class="dash-grid"')]
    assert "上年同期无可比数据" in headline_cards
    assert "change-up" not in headline_cards and "change-down" not in headline_cards  # no percentage at all

    headers = bearer_headers(year_site.engine, "leader")["leader"]
    with TestClient(year_site.app) as client:
        body = client.get("/api/v1/kpi", params={"period": "2026-11"}, headers=headers).json()
    assert body["previous_comparison"]["comparable"] is True and body["previous_comparison"]["code"] is None
    assert body["last_year_comparison"] | {"period": None} == {
        "period": None,
        "comparable": False,
        "code": "data_incomplete",
        "message": "上年同期无可比数据",
        "reason": "数据自2025年11月24日起，上年同期（2025年11月）只有23%的天数有数据",
        "received": body["last_year_comparison"]["received"],
        "coverage": pytest.approx(7 / 30),
        "data_from": "2025-11-24",
    }
    figures = {item["key"]: item for item in body["headline"]}
    assert figures["received"]["change_last_year"] is None and figures["received"]["last_year"] > 0
    assert figures["received"]["change_previous"] is not None

    with make_session_factory(year_site.engine)() as session:
        actor = actor_for(session, get_user(session, "leader"))
        compared = compare(session, actor, KpiQuery(parse_period("2026-11"), STREET), settings=year_site.settings)
        document = work_report(session, actor, WorkReportRequest(parse_period("2026-11"), with_charts=False))
    opening = next(block.text for block in document.section("总体情况") if hasattr(block, "text"))
    growth = compared.change("received", Basis.PREVIOUS)
    assert growth is not None and compared.change("received", Basis.LAST_YEAR) is None
    word = "持平" if round(growth, 1) == 0 else f"{'增长' if growth > 0 else '下降'}{abs(growth):.1f}%"
    assert f"件，上年同期无可比数据，环比{word}" in opening


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("indicator=nope&date_from=2026-01-01&date_to=2026-12-31", "指标“nope”没有对应的案件清单"),
        ("indicator=composite_score&date_from=2026-01-01&date_to=2026-12-31", "没有对应的案件清单"),
        ("indicator=closed&date_from=2026-01-01", "请填写上报起止日期"),
        ("indicator=closed&date_from=2026-12-31&date_to=2026-01-01", "结束日期早于开始日期"),
        ("indicator=closed&date_from=2026-13-01&date_to=2026-12-31", "日期“2026-13-01”格式不对"),
        ("lead=NOPE", "部门“NOPE”不存在"),
    ],
)
def test_a_list_asked_for_an_indicator_it_cannot_hold_says_why(leader: Browser, query: str, message: str) -> None:
    response = leader.get(f"/cases?{query}")
    assert response.status_code == 422, response.text[:300]
    assert message in html.unescape(response.text)


def test_the_list_narrows_a_figures_cases_further_and_says_so(leader: Browser) -> None:
    cohort = "date_from=2026-07-01&date_to=2026-09-30&grid=370299001&lead=CGJ"
    closed = listed(leader, f"/cases?{cohort}&indicator=closed")
    page = leader.get(f"/cases?{cohort}&indicator=closed").text
    assert "主办部门：区城市管理局" in page and "数据看板的统计口径 · 办结数" in page
    assert listed(leader, f"/cases?{cohort}&indicator=closed&state=dispatched") == 0  # closed ones only
    assert 0 < closed <= listed(leader, f"/cases?{cohort}&indicator=received")
