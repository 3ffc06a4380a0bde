"""Every page each demo login's navigation offers — and, from each, its tabs and the first record its lists link
to — in chromium on a 1920 px screen and a 375 px phone: it opens, runs without a script error, a CSP violation
or a failed request, has its heading, and on the phone it does not scroll sideways and no table is cut off (a wide
table sits in a box of its own that scrolls, or becomes stacked rows)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, ViewportSize, expect
from tests.e2e.helpers import DESKTOP, PHONE, Site, fits_phone
from tests.web.test_ui_words import NOT_PAGES

from civicgrid.demo.district import DEMO_LOGINS

VIEWPORTS = {"1920": DESKTOP, "375": PHONE}
NAVIGATION_LINKS = "() => [...document.querySelectorAll('nav.topnav a[href]')].map(a => a.href)"
# From a page: its tabs, sub-navigation and tiles, and the first record each of its lists links to.
PAGE_LINKS = """() => [
  ...document.querySelectorAll('main nav a[href], main .kind-tiles a[href]'),
  ...[...document.querySelectorAll('main table')].map(t => t.querySelector('tbody a[href]')).filter(Boolean),
].map(a => a.href)"""
MAX_PAGES = 30  # per login and screen
# A table wider than the phone must sit in a box of its own that scrolls (.table-wrap), or be stacked rows.
CUT_OFF_TABLES = """(width) => [...document.querySelectorAll('main table')].filter(table => {
  const box = table.getBoundingClientRect();
  if (box.width === 0 || box.right <= width + 1) return false;
  const wrap = table.closest('.table-wrap');
  return !(wrap && getComputedStyle(wrap).overflowX === 'auto' && wrap.getBoundingClientRect().right <= width + 1);
}).map(table => table.id || table.className || 'table')"""


def pages_offered(page: Page, base_url: str, links: str = NAVIGATION_LINKS) -> list[str]:
    """The pages the navigation (or ``links``) offers, as paths of this site, in their order."""
    offered: list[str] = []
    for href in page.evaluate(links):
        parts = urlsplit(href)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if href.startswith(base_url) and not NOT_PAGES.search(parts.path) and path not in offered:
            offered.append(path)
    return offered


def check_page(page: Page, path: str, viewport: ViewportSize) -> None:
    response = page.goto(path, wait_until="load")
    assert response is not None and response.status == 200, (path, response and response.status)
    expect(page.locator("main h1, main h2").first).to_be_visible()
    if viewport == PHONE:
        fits_phone(page)
        assert not page.evaluate(CUT_OFF_TABLES, PHONE["width"]), (path, "a table is cut off on a phone")


@pytest.mark.parametrize("size", VIEWPORTS)
@pytest.mark.parametrize("username", [login.username for login in DEMO_LOGINS])
def test_every_page_a_login_is_offered_works_on_a_screen_and_a_phone(site: Site, username: str, size: str) -> None:
    viewport = VIEWPORTS[size]
    page = site.sign_in(username, viewport)
    offered = pages_offered(page, site.base_url)
    assert len(offered) >= 2, offered
    visit_from(page, ["/", *offered], site.base_url, viewport)
    site.assert_clean()


def visit_from(page: Page, first: list[str], base_url: str, viewport: ViewportSize) -> None:
    """Check the pages in ``first``, and the tabs and first records each links to, up to MAX_PAGES."""
    queue = list(dict.fromkeys(first))
    seen = set(queue)
    for _ in range(MAX_PAGES):
        if not queue:
            return
        path = queue.pop(0)
        check_page(page, path, viewport)
        if path in first:
            for found in pages_offered(page, base_url, PAGE_LINKS):
                if found not in seen:
                    seen.add(found)
                    queue.append(found)


@pytest.mark.parametrize("size", VIEWPORTS)
def test_every_page_a_visitor_is_offered_works_on_a_screen_and_a_phone(site: Site, size: str) -> None:
    viewport = VIEWPORTS[size]
    page = site.visit(viewport)
    page.goto("/")
    offered = pages_offered(page, site.base_url)
    assert "/public/report" in offered, offered
    visit_from(page, ["/", *offered], site.base_url, viewport)
    site.assert_clean()
