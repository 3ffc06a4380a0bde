"""The registry in a real browser: the grid worker, on a 375-px phone, finds a resident of her grid (identifiers
masked), corrects the household number in the field and sees the change in the record's history; the
administrator sees the ID number in full only after giving a reason, and a person in another grid is not found."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect
from tests.e2e.helpers import PHONE, Site, fits_phone
from tests.web.conftest import point_in_grid_of, point_outside_grid_of

from civicgrid.db import make_engine, make_session_factory, transaction
from civicgrid.org.actor import Actor
from civicgrid.registry import people
from civicgrid.registry.models import Residence
from civicgrid.registry.protect import protector_for
from civicgrid.settings import Settings

ID_NUMBER = "370202195003071219"  # unique in the e2e database


@pytest.fixture(scope="module")
def residents(demo_server: str, demo_var_dir: Path) -> Iterator[tuple[int, int, str]]:
    """(her resident, someone in another grid, the resident's name) in the served demo database."""
    engine = make_engine(f"sqlite:///{demo_var_dir / 'civicgrid.db'}")
    protector = protector_for(Settings(var_dir=demo_var_dir))
    here, there = point_in_grid_of(engine, "gridworker"), point_outside_grid_of(engine, "gridworker")
    name = f"李桂芝{uuid.uuid4().hex[:3]}"
    with transaction(make_session_factory(engine, write=True)) as session:
        system = Actor.system("测试")
        mine = people.PersonInput(
            name, ID_NUMBER, "13953201234", Residence.HOUSEHOLD, "HC-0101", ("独居老人",), "团结路8号3单元202",
            here.lon, here.lat, "wgs84",
        )  # fmt: skip
        other = people.PersonInput("别处居民", lon=there.lon, lat=there.lat, crs="wgs84")
        ids = (people.register_person(session, system, mine, protector).id,
               people.register_person(session, system, other, protector).id)  # fmt: skip
    yield ids[0], ids[1], name
    engine.dispose()


def test_a_grid_worker_corrects_a_resident_on_her_phone(
    site: Site, residents: tuple[int, int, str], screenshots: Path
) -> None:
    mine, elsewhere, name = residents
    worker = site.sign_in("gridworker", PHONE)
    worker.goto("/registry/people")
    worker.locator("#registry-filters input[name=q]").fill(name)
    worker.get_by_role("button", name="查询").click()
    row = worker.locator(f'#registry-list tr[data-id="{mine}"]')
    expect(row).to_contain_text("3702**********1219")
    expect(row).not_to_contain_text(ID_NUMBER)
    fits_phone(worker)
    row.get_by_role("link", name=name).click()
    expect(worker.locator("#record-facts")).to_contain_text("139****1234")
    assert worker.locator("#reveal").count() == 0  # no permission, no form
    worker.locator("#correct summary").click()
    worker.locator("#c-household_no").fill("HC-0102")
    worker.locator("#correct input[name=reason]").fill("入户核实，户号有误")
    worker.get_by_role("button", name="保存修改").click()
    expect(worker.locator("#record-facts")).to_contain_text("HC-0102")
    expect(worker.locator("#record-history")).to_contain_text("入户核实，户号有误")
    expect(worker.locator("#record-history")).to_contain_text("HC-0101")
    expect(worker.locator("#record-history")).to_contain_text("居住类型：户籍")  # in words, not the stored code
    expect(worker.locator("#record-history")).to_contain_text("身份证号码：已登记")  # sealed: never the value
    fits_phone(worker)
    worker.screenshot(path=screenshots / "registry-person-375.png", full_page=True)
    response = worker.goto(f"/registry/people/{elsewhere}")
    assert response is not None and response.status == 404
    site.assert_clean()


def test_an_administrator_sees_the_full_id_number_only_with_a_reason(
    site: Site, residents: tuple[int, int, str]
) -> None:
    mine, _, _ = residents
    admin = site.sign_in("admin")
    admin.goto(f"/registry/people/{mine}")
    expect(admin.locator("#record-facts")).to_contain_text("3702**********1219")
    admin.locator("#reveal summary").click()
    admin.locator("#reveal input[name=reason]").fill("民政局核对低保资格")
    admin.locator("#reveal").get_by_role("button", name="查看").click()
    expect(admin.locator("#revealed")).to_contain_text(ID_NUMBER)
    expect(admin.locator("#revealed")).to_contain_text("13953201234")
    admin.goto(f"/registry/people/{mine}")  # shown once: the next view is masked again
    expect(admin.locator("#record-facts")).not_to_contain_text(ID_NUMBER)
    site.assert_clean()


def test_an_import_names_every_problem_of_a_row_on_a_phone(site: Site, screenshots: Path) -> None:
    worker = site.sign_in("gridworker", PHONE)
    worker.goto("/registry/import?kind=people")
    rows = (
        "姓名,身份证号码,手机号码,居住类型,经度,纬度\n"
        ",110105194912310021,2390000123,外来,121.5,\n"  # row 2: no name, wrong check digit, no mobile, type, lat
        "钱七,,,常住,,\n"
    )
    worker.locator("#import-form input[type=file]").set_input_files(
        files=[{"name": "人口.csv", "mimeType": "text/csv", "buffer": rows.encode()}]
    )
    worker.get_by_role("button", name="导入").click()
    expect(worker.locator("#import-summary")).to_contain_text("未写入任何数据")
    refused = worker.locator("#rejected-rows tbody tr")
    expect(refused).to_have_count(1)
    expect(refused.first.locator("ol.problems li")).to_have_count(5)
    expect(refused.first).to_contain_text("校验位")
    fits_phone(worker)
    table = worker.locator("#rejected-rows")
    assert table.evaluate("t => t.parentElement.scrollWidth <= t.parentElement.clientWidth"), "the table scrolls"
    box = table.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    worker.screenshot(path=screenshots / "registry-import-problems-375.png", full_page=True)
    site.assert_clean()
