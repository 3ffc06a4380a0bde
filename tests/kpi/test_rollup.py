"""The KPI roll-up (both backends): a month read from its pre-summed cells gives exactly what counting its cases
gives; the triggers on "case" put every change behind its month, which is then read from the cases until it is
rebuilt; and a query the cells cannot answer (another actor's partial scope, a day trend, a case-type filter) never
takes numbers from them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session
from tests.cases.conftest import STREET, District, beijing
from tests.kpi.conftest import COUNTED_AT, Story, act

from civicgrid import migrate
from civicgrid.cases.models import Case, Channel, Rating
from civicgrid.cases.workflow import Action
from civicgrid.db import make_engine, make_session_factory, transaction
from civicgrid.demo.district import build_demo
from civicgrid.demo.history import HistoryOptions, generate_history
from civicgrid.kpi import rollup, service
from civicgrid.kpi.dashboard import Dashboard, build_dashboard
from civicgrid.kpi.models import KpiRollupMonth, place_cell
from civicgrid.kpi.periods import parse_period
from civicgrid.org.actor import Actor
from civicgrid.scheduler import run_once
from civicgrid.settings import Settings

INFLATION = 1000  # added to a cell's 受理量 to see whether a number came from the cells


def changes(session: Session) -> dict[str, tuple[int, int | None]]:
    rows = session.execute(select(KpiRollupMonth.month, KpiRollupMonth.changes, KpiRollupMonth.built_changes))
    return {month: (count, built) for month, count, built in rows}


def received(d: District, actor: Actor, period: str = "2025-10", **filters: Any) -> int:
    query = service.KpiQuery(parse_period(period), **filters)
    return service.headline(d.session, actor, query, now=COUNTED_AT, percentiles=False).figures.counts.received


def inflate_october(session: Session) -> None:
    """One cell of October's place cells at each size of place (the headline's table: the narrowest)."""
    cells = place_cell.c
    firsts = select(func.min(cells.id)).where(cells.month == "2025-10").group_by(cells.code_length)
    inflated = session.execute(
        update(place_cell).where(cells.id.in_(firsts)).values(received=cells.received + INFLATION)
    )
    assert inflated.rowcount == 4  # district, street, community, uncut


def test_every_change_to_a_case_counts_into_its_report_month(district: District, story: Story) -> None:
    session = district.session
    before = changes(district.session)
    assert set(before) == {"2025-09", "2025-10"}  # Beijing months: the story's September case is at 16:00 on 30th
    assert all(built is None for _, built in before.values())

    session.execute(update(Case).where(Case.id == story.rejected.id).values(title="咨询社保政策（已答复）"))
    after_update = changes(session)
    assert after_update["2025-10"][0] > before["2025-10"][0] and after_update["2025-09"] == before["2025-09"]

    moved = beijing(2025, 9, 29, 9, 0)  # a correction of the report time moves the case to September
    session.execute(update(Case).where(Case.id == story.rejected.id).values(reported_at=moved))
    after_move = changes(session)
    assert after_move["2025-09"][0] > before["2025-09"][0] and after_move["2025-10"][0] > after_update["2025-10"][0]

    session.execute(delete(Case).where(Case.id == story.other_street.id))
    assert changes(session)["2025-10"][0] > after_move["2025-10"][0]


def test_the_cells_give_exactly_what_the_cases_give(district: District, story: Story) -> None:
    d = district
    query = service.KpiQuery(parse_period("2025-09-15..2025-11-30"), grid_code=STREET)  # Sep partial, Oct, Nov
    from_cases = _everything(d, d.dispatcher, query)

    built = rollup.refresh(d.session)
    assert built.months == ["2025-09", "2025-10"] and built.cells > 0
    assert rollup.current_months(d.session, query.period) == [parse_period("2025-10")]  # Nov has no cases yet
    assert _everything(d, d.dispatcher, query) == from_cases
    assert _dashboard(d, d.dispatcher, "2025-Q4") == _dashboard(d, d.dispatcher, "2025-Q4", fresh=False)


def test_a_month_is_read_from_its_cells_only_while_they_are_current(district: District, story: Story) -> None:
    d = district
    rollup.refresh(d.session)
    inflate_october(d.session)
    assert received(d, d.dispatcher, grid_code=STREET) == 8 + INFLATION  # the cells answer …

    act(d, d.hotline, story.self_handled, Action.RATE, rating=Rating.SATISFIED)  # … until October changes
    assert rollup.current_months(d.session, parse_period("2025-10")) == []
    assert received(d, d.dispatcher, grid_code=STREET) == 8

    report = rollup.refresh(d.session)  # rebuilt: the inflation is gone, the rating is in
    assert report.months == ["2025-10"] and rollup.behind_count(d.session) == 0
    counts = _headline(d, d.dispatcher, "2025-10", grid_code=STREET).figures.counts
    assert (counts.received, counts.rated, counts.satisfied) == (8, 3, 2)


def test_queries_the_cells_cannot_answer_are_counted_from_the_cases(district: District, story: Story) -> None:
    d = district
    rollup.refresh(d.session)
    inflate_october(d.session)
    assert received(d, d.dispatcher, grid_code=STREET) == 8 + INFLATION  # the cells are in use
    assert received(d, d.dispatcher) == 8  # no grid asked: only what she reads, case by case
    assert received(d, d.cgj, grid_code=STREET) == 1  # a department reads part of the street only
    assert received(d, d.dispatcher, grid_code=STREET, case_type_code="event") <= 8  # the cells keep no case type
    assert received(d, d.dispatcher, "2025-10-01..2025-10-15", grid_code=STREET) == 8  # not a whole month
    days = service.trend(
        d.session, d.dispatcher, service.KpiQuery(parse_period("2025-10"), grid_code=STREET), now=COUNTED_AT
    )
    assert sum(day.figures.counts.received for day in days) == 8  # a day trend is counted from the cases


def test_answers_falling_due_after_the_build_are_counted_when_read(district: District, story: Story) -> None:
    d = district
    rollup.refresh(d.session)  # built while the story's unanswered case is open; it fell due at 12:00 on 9 Oct
    for moment, due in ((beijing(2025, 10, 9, 11, 0), 7), (COUNTED_AT, 8)):
        whole = _headline(d, d.dispatcher, "2025-10", grid_code=STREET, now=moment).figures.counts
        assert (whole.due_to_respond, whole.responded_on_time) == (due, 7), moment
        from_cases = _headline(d, d.dispatcher, "2025-10", now=moment).figures.counts
        assert whole == from_cases


def test_a_change_made_while_a_month_is_built_leaves_it_behind(district: District, story: Story) -> None:
    d = district
    seen = changes(d.session)["2025-10"][0]
    d.session.execute(update(Case).where(Case.id == story.unanswered.id).values(title="路灯不亮（补充）"))
    rollup.build_month(d.session, "2025-10", seen)  # it read the count before the change committed
    assert rollup.current_months(d.session, parse_period("2025-10")) == []
    assert rollup.refresh(d.session).months == ["2025-09", "2025-10"]
    assert rollup.refresh(d.session).months == []
    assert rollup.refresh(d.session, rebuild_all=True).months == ["2025-09", "2025-10"]


def _headline(
    d: District, actor: Actor, period: str, *, now: dt.datetime = COUNTED_AT, **filters: Any
) -> service.Group:
    query = service.KpiQuery(parse_period(period), **filters)
    return service.headline(d.session, actor, query, now=now, settings=d.settings)


def _everything(d: District, actor: Actor, query: service.KpiQuery) -> dict[str, Any]:
    groups: dict[str, Any] = {"headline": service.headline(d.session, actor, query, now=COUNTED_AT)}
    for dimension in (
        service.Dimension.GRID,
        service.Dimension.CATEGORY,
        service.Dimension.DEPARTMENT,
        service.Dimension.CHANNEL,
        service.Dimension.MONTH,
    ):
        groups[dimension.value] = service.breakdown(d.session, actor, query, dimension, now=COUNTED_AT)
    by_channel = service.KpiQuery(query.period, grid_code=query.grid_code, channel=Channel.HOTLINE_12345)
    groups["one channel"] = service.headline(d.session, actor, by_channel, now=COUNTED_AT)
    return groups


def _dashboard(d: District, actor: Actor, period: str, *, fresh: bool = True) -> Dashboard:
    """The dashboard, from the cells (``fresh``) or with every month put behind first (from the cases)."""
    if not fresh:
        d.session.execute(update(KpiRollupMonth).values(built_changes=None))
    return build_dashboard(d.session, actor, service.KpiQuery(parse_period(period)), now=COUNTED_AT)


def test_the_scheduler_brings_the_rollup_up_to_date(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'civicgrid.db'}")
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    with transaction(make_session_factory(engine, write=True)) as session:
        build_demo(session, settings=settings)
        options = HistoryOptions(cases=300, start=dt.date(2026, 5, 1), end=dt.date(2026, 7, 31), seed=3)
        generate_history(session, options, settings=settings, now=COUNTED_AT.replace(year=2026))
    first = run_once(engine, settings).rollup
    assert {"2026-05", "2026-06", "2026-07"} <= set(first.months) and first.cells > 0  # + the demo's own cases
    assert run_once(engine, settings).rollup.months == []
    engine.dispose()
