"""A door-to-door campaign in a real browser over a generated registry of a few thousand households: the street's
administrator launches 入户摸排 on the desktop; the grid worker, on a 375-px phone, works through her households —
a visit, a hazard that becomes a case, a 未遇 that stays to do — and a submission whose answer was lost on the
way is sent again without being stored twice; the progress page counts all of it."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, Route, expect
from sqlalchemy import Engine, func, select
from tests.e2e.helpers import PHONE, Site, fits_phone

from civicgrid.campaigns.models import CampaignSubmission
from civicgrid.db import make_engine, make_session_factory, transaction
from civicgrid.demo.district import MAIN_STREET
from civicgrid.demo.registry import RegistryOptions, generate_registry
from civicgrid.grid.models import GridDuty
from civicgrid.grid.service import assign
from civicgrid.org.actor import Actor
from civicgrid.org.roles import Role
from civicgrid.org.service import create_user
from civicgrid.registry.models import House
from civicgrid.registry.protect import protector_for
from civicgrid.settings import Settings

RESIDENTS = 6000  # about 4,000 households
COMMUNITY = MAIN_STREET + "001"


WORKER, WORKER_PASSWORD = "wangli", "Wangli-grid-2026"


@pytest.fixture(scope="module")
def households(demo_server: str, demo_var_dir: Path) -> Iterator[Engine]:
    """The served demo database with a registry (people, houses, enterprises …) generated in one community of the
    main street, and a grid worker (王丽) for the unit grid with the most households."""
    engine = make_engine(f"sqlite:///{demo_var_dir / 'civicgrid.db'}")
    protector = protector_for(Settings(var_dir=demo_var_dir))
    writer = make_session_factory(engine, write=True)
    with transaction(writer) as session:
        generate_registry(session, protector, RegistryOptions(residents=RESIDENTS, seed=11, grid_code=COMMUNITY))
    with transaction(writer) as session:
        busiest = session.execute(
            select(House.scope_code).group_by(House.scope_code).order_by(func.count().desc()).limit(1)
        ).scalar_one()
        system = Actor.system("测试")
        roles = [Role.GRID_WORKER]
        create_user(session, system, username=WORKER, display_name="王丽", roles=roles, password=WORKER_PASSWORD)
        assign(session, system, busiest, WORKER, GridDuty.GRID_WORKER)
    yield engine
    engine.dispose()


def launch(site: Site, screenshots: Path) -> tuple[str, int]:
    admin = site.sign_in("admin")
    admin.goto("/campaigns")
    admin.locator("#new-campaign").click()
    admin.locator("input[name=name]").fill("2026年冬季入户摸排")
    admin.locator("select[name=preset]").select_option("household_survey")
    admin.locator("input[name=grid_code]").fill(MAIN_STREET)
    admin.locator("input[name=deadline]").fill((dt.date.today() + dt.timedelta(days=14)).isoformat())
    admin.get_by_role("button", name="发起并分派到网格").click()
    expect(admin.locator("#campaign-sentence")).to_contain_text("共摸排0户")
    sentence = admin.locator("#campaign-sentence").inner_text()
    total = int(re.search(r"目标(\d+)户", sentence).group(1))  # type: ignore[union-attr]
    admin.screenshot(path=screenshots / "campaign-progress.png", full_page=True)
    return admin.url, total


def fill_visit(page: Page, answers: dict[str, str]) -> None:
    for key, value in answers.items():
        field = page.locator(f'[data-question="{key}"]')
        if field.locator("input[type=radio]").count():
            field.locator(f'input[type=radio][value="{value}"]').check()
        else:
            field.locator("input, textarea").first.fill(value)


def open_next(page: Page, campaign_path: str) -> int:
    page.goto(f"{campaign_path}/visit")
    first = page.locator("#visit-targets li[data-target]").first
    target = int(first.get_attribute("data-target") or 0)
    first.locator("a").click()
    expect(page.locator("#visit-form")).to_be_visible()
    return target


GOOD = {"residents": "3", "occupancy": "自住", "elderly_alone": "否", "gas": "否"}


def test_a_grid_worker_runs_a_campaign_on_her_phone(
    site: Site, households: Engine, screenshots: Path, demo_server: str
) -> None:
    campaign_url, total = launch(site, screenshots)
    assert total >= 2000  # a few thousand households, split over the street's grids
    path = campaign_url.removeprefix(demo_server)

    worker = site.sign_in(WORKER, PHONE, WORKER_PASSWORD)
    worker.goto("/campaigns")
    worker.get_by_role("link", name="2026年冬季入户摸排").click()
    worker.locator("#start-visit").click()
    mine = int(re.sub(r"\D", "", worker.locator("#my-progress").inner_text().split("/")[1]))
    assert 0 < mine < total  # her grid's share only

    first = open_next(worker, path)
    fits_phone(worker)
    worker.screenshot(path=screenshots / "campaign-visit-375.png", full_page=True)
    worker.get_by_role("button", name="提交").click()  # nothing answered
    expect(worker.locator("#residents-error")).to_contain_text("请回答“实际居住人数”")
    fill_visit(worker, GOOD)
    worker.get_by_role("button", name="提交").click()
    expect(worker.locator("#visit-done")).to_contain_text("已提交")
    expect(worker.locator("#my-progress")).to_contain_text(f"已摸排 1/{mine:,}户")

    open_next(worker, path)
    fill_visit(worker, GOOD | {"gas": "是", "note": "燃气软管老化开裂"})
    worker.get_by_role("button", name="提交").click()
    expect(worker.locator("#visit-done")).to_contain_text("发现隐患已转案件")

    absent = open_next(worker, path)
    worker.locator("input[name=outcome][value=not_reached]").check()
    worker.get_by_role("button", name="提交").click()
    expect(worker.locator("#visit-done")).to_contain_text("未遇")
    assert worker.locator(f'#visit-targets li[data-target="{absent}"]').count() == 1  # still to do

    lost = answer_lost_on_the_way_back(worker, path)
    assert lost == absent  # the household not reached comes up first again, and is visited now
    offline = sent_while_offline(worker, path)
    with make_session_factory(households)() as session:
        visited = {
            target: session.execute(
                select(func.count())
                .select_from(CampaignSubmission)
                .where(CampaignSubmission.target_id == target, CampaignSubmission.outcome == "visited")
            ).scalar_one()
            for target in (first, lost, offline)
        }
    assert visited == {first: 1, lost: 1, offline: 1}  # each stored once, however often it was sent

    worker.goto(path)
    expect(worker.locator("#campaign-sentence")).to_contain_text("共摸排4户")
    expect(worker.locator("#campaign-sentence")).to_contain_text("共计12人，发现隐患1处，已转办案件1件")
    fits_phone(worker)
    site.assert_clean()


def answer_lost_on_the_way_back(page: Page, path: str) -> int:
    """The form reaches the server but the answer is lost on the way back (the connection drops): the phone keeps
    the visit and sends it again on the next page — with the same submission id, so the server answers with the
    first submission instead of storing a second."""
    target = open_next(page, path)
    fill_visit(page, GOOD)

    def drop_the_answer(route: Route) -> None:
        route.fetch(max_redirects=0)  # the server receives and stores it
        route.abort("connectionreset")

    page.route(re.compile(rf".*/targets/{target}$"), drop_the_answer, times=1)
    page.get_by_role("button", name="提交").click()
    expect(page.locator("#offline-note")).to_contain_text("网络中断：本条走访记录已保存在本机")
    page.goto(f"{path}/visit")  # back to the list: the kept visit goes out again
    expect(page.locator("#offline-note")).to_contain_text("已全部提交")
    return target


def sent_while_offline(page: Page, path: str) -> int:
    """No signal at all (a basement): the visit is kept on the phone and goes out when the network is back."""
    target = open_next(page, path)
    fill_visit(page, GOOD)
    page.context.set_offline(True)
    page.get_by_role("button", name="提交").click()
    expect(page.locator("#offline-note")).to_contain_text("网络已断开：本条走访记录已保存在本机")
    page.context.set_offline(False)
    expect(page.locator("#offline-note")).to_contain_text("已全部提交")
    return target
