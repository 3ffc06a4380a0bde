"""What the workbench browser tests share: one browser context per person (phone or desktop), every page watched
for script errors, CSP violations and failed requests, clicking a WGS-84 point on a Leaflet map, and the case page's
action forms."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Locator,
    Page,
    Response,
    ViewportSize,
    expect,
)
from sqlalchemy import Engine, select
from tests.web.conftest import PASSWORDS

from civicgrid.cases.auth import can_read
from civicgrid.cases.models import Case
from civicgrid.db import make_session_factory
from civicgrid.grid.models import GridNode
from civicgrid.org.service import actor_for, get_user

PHONE = ViewportSize(width=375, height=812)
DESKTOP = ViewportSize(width=1920, height=1080)
PHOTO = Path(__file__).parent.parent / "data" / "photo.png"
MAP_TIMEOUT = 15_000

POINT_ON_MAP = """
({id, lon, lat}) => {
  const map = document.getElementById(id).civicgridMap;  // the picker keeps its Leaflet map on its element
  map.setView([lat, lon], Math.min(17, map.getMaxZoom()), {animate: false});
  const point = map.latLngToContainerPoint([lat, lon]);
  return {x: Math.round(point.x), y: Math.round(point.y)};
}
"""


@dataclass
class Site:
    """The demo server seen by several people at once, each in a browser context of their own."""

    browser: Browser
    base_url: str
    problems: list[str] = field(default_factory=list)
    contexts: list[BrowserContext] = field(default_factory=list)

    def visit(self, viewport: ViewportSize = DESKTOP) -> Page:
        """A new person: a fresh context (no cookies) and its page, watched."""
        context = self.browser.new_context(base_url=self.base_url, viewport=viewport, locale="zh-CN")
        self.contexts.append(context)
        page = context.new_page()
        self.watch(page)
        return page

    def sign_in(self, username: str, viewport: ViewportSize = DESKTOP, password: str | None = None) -> Page:
        page = self.visit(viewport)
        page.goto("/login")
        page.locator("input[name=username]").fill(username)
        page.locator("input[name=password]").fill(password or PASSWORDS[username])
        page.get_by_role("button", name="登录", exact=True).click()
        expect(page).to_have_url(self.base_url + "/")
        return page

    def watch(self, page: Page) -> None:
        """Script errors, CSP violations and requests (scripts, styles, images, fetches) that failed are
        collected in ``problems``. Error pages (a document with status 4xx) are expected by some tests, and so are
        a form's refusals (409, 422) when a script posts it (the phone's visit form)."""

        def on_console(message: ConsoleMessage) -> None:
            if "Content Security Policy" in message.text:
                self.problems.append(f"CSP on {page.url}: {message.text}")

        def on_response(response: Response) -> None:
            refusal = response.request.method == "POST" and response.status in (409, 422)  # an answer, shown
            if response.status >= 400 and response.request.resource_type != "document" and not refusal:
                self.problems.append(f"{response.status} {response.url} (on {page.url})")

        page.on("pageerror", lambda error: self.problems.append(f"script error on {page.url}: {error}"))
        page.on("console", on_console)
        page.on("response", on_response)

    def assert_clean(self) -> None:
        assert not self.problems, "\n".join(self.problems)

    def close(self) -> None:
        for context in self.contexts:
            context.close()


def fits_phone(page: Page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} scrolls sideways on a phone: {width}px wide"


def click_map_at(page: Page, map_id: str, lon: float, lat: float) -> None:
    """Click the WGS-84 point on the page's Leaflet map (zoomed in around it), as a person would, and wait for the
    form's hidden coordinates to be filled."""
    expect(page.locator(f"#{map_id}[data-ready=true]")).to_be_attached(timeout=MAP_TIMEOUT)
    position = page.evaluate(POINT_ON_MAP, {"id": map_id, "lon": lon, "lat": lat})
    page.locator(f"#{map_id}").click(position=position)
    expect(page.locator("input[name=lon]")).not_to_have_value("")
    expect(page.locator("input[name=lat]")).not_to_have_value("")


def action_form(page: Page, action: str) -> Locator:
    """The form of one offered action on the case page, its <details> opened."""
    details = page.locator(f'#actions details[data-action="{action}"]')
    expect(details).to_have_count(1)
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    form = details.locator("form")
    expect(form).to_be_visible()
    return form


def submit_action(page: Page, number: str, action: str, label: str) -> None:
    """Press the action's button and land back on the case with the confirmation."""
    form = page.locator(f'#actions details[data-action="{action}"] form')
    form.get_by_role("button", name=label, exact=True).click()
    expect(page).to_have_url(re.compile(rf"/cases/{number}\?done={action}$"))
    expect(page.locator("#done-message")).to_contain_text(label)


def act(page: Page, number: str, action: str, label: str, note: str = "") -> None:
    """An action that needs no more than a note."""
    form = action_form(page, action)
    if note:
        form.locator("textarea[name=note]").fill(note)
    submit_action(page, number, action, label)


def timeline(page: Page) -> list[str]:
    return page.locator("#timeline > li").evaluate_all("items => items.map((item) => item.dataset.action)")  # type: ignore[no-any-return]


def case_number_from(page: Page) -> str:
    found = re.search(r"/cases/(\d+)", page.url)
    assert found, page.url
    return found.group(1)


def grid_name(engine: Engine, code: str) -> str:
    with make_session_factory(engine)() as session:
        name = session.execute(select(GridNode.name).where(GridNode.code == code)).scalar_one()
        return str(name)


def case_hidden_from(engine: Engine, username: str) -> Case:
    """A demo case the user may not read (another grid, not theirs, not their department's)."""
    with make_session_factory(engine)() as session:
        actor = actor_for(session, get_user(session, username))
        for case in session.execute(select(Case).order_by(Case.number)).scalars():
            if not can_read(actor, case):
                session.expunge(case)
                return case
    raise AssertionError(f"every demo case is readable by {username}")
