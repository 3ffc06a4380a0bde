"""A free-text search is not counted with its page: the list comes first, the count in a second request (htmx
``hx-trigger="load"``) from a fragment endpoint with the same filters and the same scope."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Callable

from sqlalchemy import Engine
from tests.web.conftest import Browser, point_in_grid_of, point_outside_grid_of
from tests.web.test_case_pages import take_in

SignedIn = Callable[[str], Browser]
COUNT_LINK = re.compile(r'<span id="case-total" hx-get="([^"]+)" hx-trigger="load" hx-swap="outerHTML">([^<]*)</span>')


def _marker() -> str:
    return f"计数测试{uuid.uuid4().hex[:8]}"


def _rows(page: str) -> list[str]:
    return re.findall(r'data-number="(\d+)"', page)


def test_a_search_shows_its_first_page_at_once_and_loads_the_count_after(
    signed_in: SignedIn, demo_engine: Engine
) -> None:
    marker = _marker()
    hotline = signed_in("hotline")
    spot = point_in_grid_of(demo_engine, "gridworker")
    numbers = {take_in(hotline, f"{marker}第{i}件", spot) for i in range(23)}
    dispatcher = signed_in("dispatcher")
    page = dispatcher.get(f"/cases?q={marker}&size=20")
    assert page.status_code == 200
    assert len(_rows(page.text)) == 20 and set(_rows(page.text)) <= numbers  # the list needs no script
    pending = COUNT_LINK.search(page.text)
    assert pending, "the count is loaded after the page"
    assert pending.group(2) == "超过 20 件"  # what a browser without JavaScript keeps
    assert "共 " not in page.text.split('id="case-list"')[0]
    link = html.unescape(pending.group(1))
    assert link.startswith("/cases/count?") and "size=" not in link and "after=" not in link
    counted = dispatcher.get(link)
    assert counted.status_code == 200
    assert counted.text.strip() == '<span id="case-total">共 23 件</span>'
    assert "<html" not in counted.text  # a fragment, swapped in for the placeholder


def test_a_search_whose_whole_result_fits_the_page_is_counted_with_it(signed_in: SignedIn, demo_engine: Engine) -> None:
    marker = _marker()
    take_in(signed_in("hotline"), f"{marker}唯一", point_in_grid_of(demo_engine, "gridworker"))
    page = signed_in("dispatcher").get(f"/cases?q={marker}")
    assert "共 1 件" in page.text and not COUNT_LINK.search(page.text)


def test_lists_without_text_are_counted_with_the_page(signed_in: SignedIn) -> None:
    page = signed_in("dispatcher").get("/cases?size=20")
    assert re.search(r'<span id="case-total">共 [\d,]+ 件</span>', page.text) and not COUNT_LINK.search(page.text)


def test_the_count_keeps_to_the_readers_scope_and_filters(signed_in: SignedIn, demo_engine: Engine) -> None:
    marker = _marker()
    hotline = signed_in("hotline")
    hers = point_in_grid_of(demo_engine, "gridworker")
    elsewhere = point_outside_grid_of(demo_engine, "gridworker")
    for i in range(2):
        take_in(hotline, f"{marker}本网格{i}", hers)
    for i in range(3):
        take_in(hotline, f"{marker}别的网格{i}", elsewhere)
    worker, dispatcher = signed_in("gridworker"), signed_in("dispatcher")
    assert "共 2 件" in worker.get(f"/cases/count?q={marker}").text
    assert "共 5 件" in dispatcher.get(f"/cases/count?q={marker}").text
    assert "共 3 件" in dispatcher.get(f"/cases/count?q={marker}&grid={elsewhere.code}").text
    assert "共 0 件" in dispatcher.get(f"/cases/count?q={marker}&state=closed").text
    assert "共 0 件" in signed_in("cgj").get(f"/cases/count?q={marker}").text  # nothing dispatched to 城管局


def test_the_count_refuses_what_the_list_refuses(signed_in: SignedIn, visitor: Browser) -> None:
    assert signed_in("dispatcher").get("/cases/count?state=bogus").status_code == 422
    assert visitor.get("/cases/count?q=垃圾").status_code in (303, 401)
    assert signed_in("dispatcher").get("/inbox/count?q=垃圾").status_code == 403  # not a handling department
    assert signed_in("cgj").get("/inbox/count?q=垃圾").status_code == 200
