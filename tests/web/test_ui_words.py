"""Every word a user reads is Chinese: each demo role's pages — what its navigation offers and the lists and
details linked from there — show no English word, no raw identifier and no developer instruction.

The visible text is read as a browser shows it: text nodes, the page title, and the attributes people read
(placeholder, title, alt, aria-label, button captions). Content marked as not to be translated — ``<code>``,
``<kbd>``, ``<samp>`` or ``translate="no"``: user names, codes a user types — is left out; that marking is the
allow-list for identifiers. Units, file formats and brand names a Chinese office uses as they are are allowed by
name below.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlsplit

import pytest
from fastapi import FastAPI
from tests.web.conftest import Browser

from civicgrid import migrate
from civicgrid.app import create_app
from civicgrid.db import make_engine, make_session_factory, transaction
from civicgrid.demo.district import DEMO_LOGINS, build_demo
from civicgrid.settings import Settings

# Words a Chinese office reads as they are: units, formats, standards, brands.
ALLOWED_WORDS = frozenset(
    {
        "Excel", "Word", "API", "PM", "km", "kg", "mg", "MB", "JPEG", "PNG", "WebP", "HEIC", "PDF", "CSV",
        "GeoJSON", "Markdown", "GB", "GPS", "AQI", "COD", "pH", "NH",
    }
)  # fmt: skip
WORD = re.compile(r"[A-Za-z]{2,}")  # a single letter is a building (A座), a check digit (X), P90
# A command line on a page: "civicgrid grid import", "make demo", an option such as --keep-good.
DEVELOPER_TEXT = re.compile(r"civicgrid\s+[a-z]|\bmake\s+[a-z]|(?<![\w-])--[a-z]")
SKIPPED_TAGS = frozenset({"script", "style", "code", "kbd", "samp", "template"})
VOID_TAGS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
)
READ_ATTRIBUTES = ("placeholder", "title", "alt", "aria-label")
# Not pages: files, machine answers, the API explorer (a developer tool), leaving.
NOT_PAGES = re.compile(r"^/(api/|static/|logout)|\.(xlsx|docx|md|zip|png|geojson)$|/attachments/|/export")
PER_SHAPE = 2  # links of one shape (same path with other numbers, same query names) followed per role


class VisibleText(HTMLParser):
    """The text a person reads on a page, without the parts marked as identifiers."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []  # text to be read in Chinese
        self.shown: list[str] = []  # everything shown, identifiers included (for command lines)
        self.links: list[str] = []
        self._skipping: list[str] = []  # open elements whose content is not read

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"])
        skip = tag in SKIPPED_TAGS or attributes.get("translate") == "no"
        if skip and tag not in VOID_TAGS:
            self._skipping.append(tag)
        if self._skipping or skip:
            return
        self.parts += [attributes[name] for name in READ_ATTRIBUTES if attributes.get(name)]
        if tag == "input" and attributes.get("type") in ("submit", "button") and attributes.get("value"):
            self.parts.append(attributes["value"])

    def handle_endtag(self, tag: str) -> None:
        if self._skipping and self._skipping[-1] == tag:
            self._skipping.pop()

    def handle_data(self, data: str) -> None:
        if not data.strip() or (self._skipping and self._skipping[-1] in ("script", "style", "template")):
            return
        self.shown.append(data.strip())
        if not self._skipping:
            self.parts.append(data.strip())


def read_page(html: str) -> VisibleText:
    parser = VisibleText()
    parser.feed(html)
    parser.close()
    return parser


def foreign_words(text: str) -> list[str]:
    return [word for word in WORD.findall(text) if word not in ALLOWED_WORDS]


def shape(url: str) -> str:
    """The kind of page a link opens: its path with numbers blanked, and its query's names."""
    parts = urlsplit(url)
    names = ",".join(sorted({name for name, _ in parse_qsl(parts.query)}))
    return f"{re.sub(r'[0-9]+', '#', parts.path)}?{names}"


@dataclass
class Finding:
    url: str
    problem: str
    text: str


@dataclass
class Walk:
    findings: list[Finding] = field(default_factory=list)
    visited: list[str] = field(default_factory=list)


def page_links(base: str, links: list[str]) -> Iterator[str]:
    for href in links:
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or href.startswith("#"):
            continue
        path = parts.path or urlsplit(base).path
        if not path.startswith("/") or NOT_PAGES.search(path):
            continue
        yield path + (f"?{parts.query}" if parts.query else "")


def check_page(url: str, html: str, walk: Walk) -> VisibleText:
    page = read_page(html)
    for text in page.parts:
        words = foreign_words(text)
        if words:
            walk.findings.append(Finding(url, f"英文词 {', '.join(words)}", text[:160]))
    for text in page.shown:
        if DEVELOPER_TEXT.search(text):
            walk.findings.append(Finding(url, "开发者指令", text[:160]))
    return page


def walk_role(browser: Browser, depth: int = 3) -> Walk:
    """The pages the navigation offers, then the pages linked from those (each link shape a few times)."""
    walk = Walk()
    home = browser.get("/")
    assert home.status_code == 200, home.text
    seen_shapes: dict[str, int] = {}
    frontier = list(page_links("/", check_page("/", home.text, walk).links))
    seen = {"/"}
    for _ in range(depth):
        next_frontier: list[str] = []
        for url in frontier:
            key = shape(url)
            if url in seen or seen_shapes.get(key, 0) >= PER_SHAPE:
                continue
            seen.add(url)
            seen_shapes[key] = seen_shapes.get(key, 0) + 1
            response = browser.get(url)
            if response.status_code in (301, 302, 303, 307):
                continue
            walk.visited.append(url)
            if "text/html" not in response.headers.get("content-type", ""):
                continue
            page = check_page(url, response.text, walk)
            next_frontier += page_links(url, page.links)
        frontier = next_frontier
    return walk


def report(findings: list[Finding]) -> str:
    return "\n".join(f"{f.url}: {f.problem}：{f.text}" for f in findings[:60])


ROLES = [login.username for login in DEMO_LOGINS]


@pytest.fixture(scope="module")
def pristine_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    """The demo district as `make demo` leaves it, on SQLite, for this walk alone: the other page tests add
    cases and records with test markers (random suffixes, script in text) that are theirs to check."""
    var_dir = tmp_path_factory.mktemp("words")
    engine = make_engine(f"sqlite:///{var_dir / 'civicgrid.db'}")
    migrate.upgrade(engine)
    settings = Settings(var_dir=var_dir, scheduler_interval_seconds=0)
    with transaction(make_session_factory(engine, write=True)) as session:
        build_demo(session, settings=settings)
    yield create_app(settings, engine)
    engine.dispose()


@pytest.mark.parametrize("username", ROLES)
def test_every_role_reads_only_chinese(username: str, pristine_demo: FastAPI) -> None:
    walk = walk_role(Browser(pristine_demo).login(username))
    assert len(walk.visited) >= 3, walk.visited
    assert not walk.findings, report(walk.findings)


def test_a_visitor_reads_only_chinese(pristine_demo: FastAPI) -> None:
    walk = walk_role(Browser(pristine_demo))
    assert not walk.findings, report(walk.findings)


def test_the_reader_finds_english_and_commands_and_skips_identifiers() -> None:
    page = read_page(
        '<title>登记 · civicgrid</title><p title="Cannot detect">导入失败</p><code>civicgrid grid import</code>'
        '<span translate="no">dispatcher</span><input placeholder="如：HC-0001" translate="no">'
        "<p>运行 civicgrid demo 生成</p><script>var x = 1;</script><p>PM2.5 浓度 35 μg/m³，导出 Excel</p>"
    )
    words = [word for text in page.parts for word in foreign_words(text)]
    assert words == ["civicgrid", "Cannot", "detect", "civicgrid", "demo"]
    commands = [text for text in page.shown if DEVELOPER_TEXT.search(text)]
    assert commands == ["civicgrid grid import", "运行 civicgrid demo 生成"]
