"""Forms that are refused, in a real browser: the category typed by name with its code behind it, the chosen photo
kept across a refusal (shown, then attached), and the address a refused form leaves reloading to its page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import Engine, select
from tests.e2e.helpers import PHONE, PHOTO, Site, action_form, case_number_from, click_map_at, fits_phone
from tests.web.conftest import GridPoint, point_in_grid_of

from civicgrid.cases.models import Category
from civicgrid.db import make_engine, make_session_factory


@pytest.fixture(scope="module")
def demo_db(demo_server: str, demo_var_dir: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{demo_var_dir / 'civicgrid.db'}")
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def her_grid(demo_db: Engine) -> GridPoint:
    return point_in_grid_of(demo_db, "gridworker")


@pytest.fixture
def site(browser: Browser, demo_server: str) -> Iterator[Site]:
    site = Site(browser, demo_server)
    yield site
    site.close()


def _code(engine: Engine, name: str) -> str:
    with make_session_factory(engine)() as session:
        return str(session.execute(select(Category.code).where(Category.name == name)).scalar_one())


def test_a_refused_report_keeps_the_photo_and_the_category_is_typed_by_name(
    site: Site, demo_db: Engine, her_grid: GridPoint, screenshots: Path
) -> None:
    worker = site.sign_in("gridworker", PHONE)
    worker.goto("/m/report")
    form = worker.locator("#mobile-report-form")
    form.locator("textarea[name=description]").fill("小区东门垃圾堆积，无人清运。")
    box = form.locator("input[name=category]")
    box.fill("暴露垃圾")  # what picking the suggestion puts in the box
    expect(form.locator("input[name=category_code]")).to_have_value(_code(demo_db, "暴露垃圾"))
    box.fill("垃圾")  # a part that fits several
    expect(form.locator("input[name=category_code]")).to_have_value("")
    click_map_at(worker, "pick-map", her_grid.lon, her_grid.lat)
    form.locator("input[name=photos]").set_input_files(PHOTO)
    form.get_by_role("button", name="上报", exact=True).click()

    expect(worker.locator("#category_code-error")).to_contain_text("垃圾桶破损")
    expect(box).to_have_value("垃圾")
    kept = worker.locator(".kept-photos")
    expect(kept).to_contain_text("photo.png")
    preview = kept.locator("img")
    expect(preview).to_be_visible()
    assert preview.evaluate("image => image.complete && image.naturalWidth > 0")
    fits_phone(worker)
    worker.screenshot(path=str(screenshots / "report-refused-photo-kept-375.png"), full_page=True)

    box.fill("暴露垃圾")
    form.get_by_role("button", name="上报", exact=True).click()  # no photo chosen again
    expect(worker).to_have_url(re.compile(r"/cases/\d+\?taken=created$"))
    expect(worker.locator("#case-facts")).to_contain_text("暴露垃圾")
    expect(worker.locator('#timeline li[data-action="intake"] img')).to_be_visible()
    site.assert_clean()


def test_a_refused_action_reloads_to_its_case(site: Site, demo_db: Engine, her_grid: GridPoint) -> None:
    worker = site.sign_in("gridworker", PHONE)
    worker.goto("/m/report")
    form = worker.locator("#mobile-report-form")
    form.locator("textarea[name=description]").fill("路边乱堆物料。")
    click_map_at(worker, "pick-map", her_grid.lon, her_grid.lat)
    form.get_by_role("button", name="上报", exact=True).click()
    expect(worker).to_have_url(re.compile(r"/cases/\d+\?taken=created$"))
    number = case_number_from(worker)

    dispatcher = site.sign_in("dispatcher")
    dispatcher.goto(f"/cases/{number}")
    action_form(dispatcher, "reject").get_by_role("button", name="不予立案", exact=True).click()
    expect(dispatcher).to_have_url(re.compile(rf"/cases/{number}/actions/reject$"))
    expect(dispatcher.locator(".field-error").first).to_be_visible()
    dispatcher.goto(dispatcher.url)  # the address bar's URL opened again
    expect(dispatcher).to_have_url(re.compile(rf"/cases/{number}$"))
    expect(dispatcher.locator("h1")).to_contain_text(number)
    site.assert_clean()
