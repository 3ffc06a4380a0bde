"""Downloading the work report (/reports/work-report) over the demo district: Word, Markdown and the Markdown
archive for those who may read the statistics, Chinese error pages for everyone else."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Callable
from urllib.parse import quote

import docx
from sqlalchemy import Engine
from tests.web.conftest import Browser

from civicgrid.db import make_session_factory
from civicgrid.kpi.metrics import Unit, format_value
from civicgrid.kpi.periods import parse_period
from civicgrid.kpi.service import KpiQuery, headline
from civicgrid.org.service import actor_for, get_user

SignedIn = Callable[[str], Browser]
STREET, OTHER_STREET, DISTRICT = "370299001", "370299002", "370299"
BEIJING = dt.timezone(dt.timedelta(hours=8))


def recent() -> str:
    """The last three weeks, which hold the demo's fortnight of cases."""
    today = dt.datetime.now(BEIJING).date()
    return f"{today - dt.timedelta(days=21)}..{today}"


def url(period: str, grid: str = STREET, fmt: str = "docx") -> str:
    return f"/reports/work-report?period={quote(period)}&grid={grid}&format={fmt}"


def received_by(engine: Engine, username: str, period: str) -> str:
    with make_session_factory(engine)() as session:
        actor = actor_for(session, get_user(session, username))
        group = headline(session, actor, KpiQuery(parse_period(period), STREET))
    return format_value(group.values["received"], Unit.CASES)


def test_a_leader_downloads_the_word_report_under_its_chinese_name(signed_in: SignedIn, demo_engine: Engine) -> None:
    period = recent()
    response = signed_in("leader").get(url(period))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="work-report-370299001-')
    assert "filename*=UTF-8''" + quote("海川街道") in disposition
    assert response.headers["cache-control"] == "private, no-store"
    word = docx.Document(io.BytesIO(response.content))
    text = "\n".join(paragraph.text for paragraph in word.paragraphs)
    assert f"海川街道共受理群众诉求{received_by(demo_engine, 'leader', period)}件" in text
    assert len(word.tables) >= 3 and len(word.inline_shapes) == 2


def test_markdown_comes_as_text_and_with_its_charts_as_an_archive(signed_in: SignedIn, demo_engine: Engine) -> None:
    browser, period = signed_in("dispatcher"), recent()
    text = browser.get(url(period, fmt="md"))
    assert text.status_code == 200
    assert text.headers["content-type"] == "text/markdown; charset=utf-8"
    assert ".md" in text.headers["content-disposition"]
    body = text.content.decode("utf-8")
    assert body.startswith("# 海川街道") and "## 一、总体情况" in body and "![" not in body  # no charts in plain md
    assert f"共受理群众诉求{received_by(demo_engine, 'dispatcher', period)}件" in body
    archive = browser.get(url(period, fmt="zip"))
    assert archive.status_code == 200 and archive.headers["content-type"] == "application/zip"
    stem = f"work-report-{STREET}-{parse_period(period).key}"
    bundle = zipfile.ZipFile(io.BytesIO(archive.content))
    assert sorted(bundle.namelist()) == sorted([f"{stem}.md", f"{stem}-trend.png", f"{stem}-categories.png"])
    assert f"]({stem}-trend.png)" in bundle.read(f"{stem}.md").decode("utf-8")


def test_those_without_the_statistics_permission_are_refused(signed_in: SignedIn, visitor: Browser) -> None:
    for username in ("gridworker", "cgj", "hotline", "resident"):
        refused = signed_in(username).get(url(recent()))
        assert refused.status_code == 403, username
        assert "无权下载工作报告" in refused.text
    anonymous = visitor.get(url(recent()))
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")


def test_a_grid_outside_the_scope_and_bad_input_get_chinese_error_pages(signed_in: SignedIn) -> None:
    dispatcher = signed_in("dispatcher")
    other_street = dispatcher.get(url(recent(), OTHER_STREET))
    assert other_street.status_code == 404 and "找不到网格" in other_street.text
    district = dispatcher.get(url(recent(), DISTRICT))
    assert district.status_code == 403 and "不在其管辖范围内" in district.text
    bad_period = dispatcher.get(url("2025-13"))
    assert bad_period.status_code == 422 and "无法识别的统计期间" in bad_period.text
    bad_format = dispatcher.get(url(recent(), fmt="pdf"))
    assert bad_format.status_code == 422 and "不支持的报告格式" in bad_format.text
    typed = dispatcher.get(url("<script>alert(1)</script>"))
    assert typed.status_code == 422 and "<script>alert(1)</script>" not in typed.text  # escaped on the error page
