"""The generated history must look exactly like cases the workflow made: the checks below read the rows back
and hold them to the rules of cases.actions / cases.clock / the working calendar, on both backends."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from tests.conftest import rolled_back_session
from typer.testing import CliRunner

from civicgrid import counters, timesource
from civicgrid.cases.models import OPEN_STATES, Case, CaseAssignment, CaseEvent, CaseState, Channel
from civicgrid.cases.queries import CaseFilter, count_cases, page_cases
from civicgrid.cases.taxonomy import DEFAULT_LIMITS
from civicgrid.cli import app
from civicgrid.db import make_engine, make_session_factory
from civicgrid.demo.district import DISTRICT_CODE, MAIN_STREET, build_demo
from civicgrid.demo.history import (
    NULL,
    HistoryOptions,
    HistoryResult,
    WorkingTimeTable,
    generate_history,
    to_epoch,
)
from civicgrid.errors import InvalidInputError
from civicgrid.kpi.dashboard import build_dashboard
from civicgrid.kpi.periods import parse_period
from civicgrid.kpi.service import KpiQuery, headline
from civicgrid.org.service import actor_for, get_user
from civicgrid.settings import Settings, get_settings
from civicgrid.worktime.calendar import WorkCalendar, WorkDuration, parse_office_hours
from civicgrid.worktime.service import load_calendar

BEIJING = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 11, 24, 10, 30, tzinfo=BEIJING)
CASES = 3000
START, END = dt.date(2025, 11, 25), dt.date(2026, 11, 24)


@dataclass
class History:
    session: Session
    settings: Settings
    result: HistoryResult
    first_id: int
    calendar: WorkCalendar


@pytest.fixture(scope="module")
def history(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    """The demo district and a year of history, built once per backend inside a transaction rolled back at the
    end of the module."""
    settings = Settings(var_dir=tmp_path_factory.mktemp("var"), database_url="sqlite://")
    with rolled_back_session(engine) as session:
        build_demo(session, settings=settings)
        first_id = int(session.execute(select(func.max(Case.id))).scalar_one()) + 1
        with timesource.pinned(NOW):
            result = generate_history(session, HistoryOptions(cases=CASES, batch_size=700), settings=settings)
        session.flush()
        yield History(session, settings, result, first_id, load_calendar(session, settings))


def generated(history: History) -> list[Case]:
    return list(
        history.session.execute(select(Case).where(Case.id >= history.first_id).order_by(Case.id)).scalars().all()
    )


# --- the whole set -------------------------------------------------------------------------------------------------


def test_the_year_is_a_realistic_mix(history: History) -> None:
    cases = generated(history)
    assert len(cases) == CASES == history.result.cases
    assert history.result.start == START and history.result.end == END
    assert min(c.reported_at for c in cases) >= dt.datetime(2025, 11, 24, 16, tzinfo=dt.UTC)
    assert max(c.reported_at for c in cases) < NOW
    channels = Counter(c.channel for c in cases)
    assert channels.most_common(1)[0][0] == Channel.HOTLINE_12345.value
    assert channels[Channel.GRID_PATROL.value] > 0.15 * CASES
    states = Counter(c.state for c in cases)
    assert states[CaseState.CLOSED.value] > 0.9 * CASES
    for state in (CaseState.REJECTED, CaseState.SUSPENDED, CaseState.IN_PROGRESS):
        assert states[state.value] > 0, state
    assert len([s for s in OPEN_STATES if states[s]]) >= 3  # the recent ones spread over the open states
    assert sum(states[s] for s in OPEN_STATES) < 0.05 * CASES
    turns = {
        "自处置": sum(c.self_handled for c in cases),
        "联动": sum(c.linked for c in cases),
        "返工": sum(c.rework_count > 0 for c in cases),
        "延期": sum(c.extension_count > 0 for c in cases),
        "退回": sum(c.return_count > 0 for c in cases),
        "督办": sum(c.supervision_count > 0 for c in cases),
        "重办": sum(c.reopen_count > 0 for c in cases),
        "合并": sum(c.merged_into_id is not None for c in cases),
        "超期": sum(c.overdue for c in cases),
        "曾超期后办结": sum(c.ever_overdue and c.state == CaseState.CLOSED.value for c in cases),
    }
    assert all(turns.values()), turns


def test_more_cases_on_workdays_and_in_office_hours(history: History) -> None:
    cases = generated(history)
    local = [c.reported_at.astimezone(BEIJING) for c in cases]
    workdays = {d for d in {t.date() for t in local} if history.calendar.is_workday(d)}
    per_workday = sum(t.date() in workdays for t in local) / len(workdays)
    rest_days = {t.date() for t in local} - workdays
    per_rest_day = sum(t.date() in rest_days for t in local) / len(rest_days)
    assert per_workday > 1.3 * per_rest_day
    office = sum(8 <= t.hour < 18 for t in local)
    assert office > 0.6 * len(local)
    summer = sum(t.month in (6, 7, 8) for t in local)
    winter = sum(t.month in (12, 1, 2) for t in local)
    assert summer > winter


def test_timestamps_follow_the_flow(history: History) -> None:
    for case in generated(history):
        steps = [case.reported_at, case.registered_at, case.dispatched_at, case.handled_at, case.closed_at]
        present = [moment for moment in steps if moment is not None]
        if case.reopen_count == 0 and case.return_count == 0:
            assert present == sorted(present), case.number
        assert case.responded_at is None or case.responded_at >= case.reported_at
        if case.state == CaseState.REPORTED.value:
            assert case.responded_at is None and case.registered_at is None
        else:
            assert case.responded_at is not None, case.number
        assert (case.closed_at is not None) == (case.state == CaseState.CLOSED.value), case.number
        if case.state == CaseState.CLOSED.value and not case.merged_into_id:
            assert case.registered_at and case.dispatched_at and case.handled_at
            assert case.handled_at <= case.closed_at
        if case.rating is not None:
            assert case.state == CaseState.CLOSED.value and case.merged_into_id is None
            assert case.rated_at is not None and case.rated_at > case.closed_at
        else:
            assert case.rated_at is None


def test_duplicates_point_at_open_masters_and_close_with_them(history: History) -> None:
    cases = {c.id: c for c in generated(history)}
    duplicates = [c for c in cases.values() if c.merged_into_id is not None]
    assert duplicates
    for duplicate in duplicates:
        master = cases[duplicate.merged_into_id]
        assert master.merged_into_id is None and master.state != CaseState.REJECTED.value
        assert master.reported_at < duplicate.reported_at <= master.reported_at + dt.timedelta(days=3)
        assert duplicate.registered_at is None and duplicate.rating is None
        assert duplicate.category_id is None or duplicate.category_id == master.category_id
        if duplicate.grid_node_id and master.grid_node_id:
            assert duplicate.grid_node_id == master.grid_node_id
        if duplicate.state == CaseState.CLOSED.value:
            closing = history.session.execute(
                select(CaseEvent.at).where(CaseEvent.case_id == master.id, CaseEvent.action == "verify_pass")
            ).scalars()
            assert duplicate.closed_at == min(closing)
        else:
            assert duplicate.state == CaseState.MERGED.value
            assert master.state != CaseState.CLOSED.value or master.reopen_count


def test_self_handling_only_on_patrol_in_allowed_categories(history: History) -> None:
    for case in generated(history):
        if case.self_handled:
            assert case.channel == Channel.GRID_PATROL.value
            assert case.category is not None and case.category.self_handle_allowed
            assert case.registered_at == case.dispatched_at == case.handled_at == case.closed_at
            assert case.deadline_at is None and case.handle_work_minutes is None
            assert case.main_department_id is None


def test_history_rows_replay_to_the_case(history: History) -> None:
    session = history.session
    events: dict[int, list[CaseEvent]] = {}
    for event in session.execute(
        select(CaseEvent).where(CaseEvent.case_id >= history.first_id).order_by(CaseEvent.case_id, CaseEvent.seq)
    ).scalars():
        events.setdefault(event.case_id, []).append(event)
    assert sum(len(e) for e in events.values()) == history.result.events
    for case in generated(history):
        trail = events[case.id]
        assert case.event_count == len(trail)
        assert [e.seq for e in trail] == list(range(1, len(trail) + 1))
        assert trail[0].action == "intake" and trail[0].from_state is None
        state = trail[0].to_state
        for earlier, later in itertools.pairwise(trail):
            assert later.at >= earlier.at, case.number
            assert later.from_state == state, (case.number, later.action)
            state = later.to_state
        assert state == case.state, case.number
        actions = Counter(e.action for e in trail)
        assert actions["verify_fail"] == case.rework_count
        assert actions["approve_extension"] == case.extension_count
        assert actions["return"] == case.return_count
        assert actions["reopen"] == case.reopen_count
        assert actions["supervise"] == case.supervision_count
        firsts = [e.at for e in trail if e.from_state == CaseState.REPORTED.value and e.to_state != "reported"]
        assert case.responded_at == (firsts[0] if firsts else None)


def test_assignments_are_those_of_the_dispatches(history: History) -> None:
    session = history.session
    rows: dict[int, list[CaseAssignment]] = {}
    for row in session.execute(select(CaseAssignment).where(CaseAssignment.case_id >= history.first_id)).scalars():
        rows.setdefault(row.case_id, []).append(row)
    assert sum(len(r) for r in rows.values()) == history.result.assignments
    for case in generated(history):
        assigned = rows.get(case.id, [])
        active_main = [a for a in assigned if a.active and a.role == "main"]
        assists = [a for a in assigned if a.role == "assist"]
        assert case.linked == bool(assists)
        if case.main_department_id is not None:
            assert [a.department_id for a in active_main] == [case.main_department_id]
        else:
            assert not active_main
        if case.dispatched_at is None:
            assert not assigned


# --- the clock -------------------------------------------------------------------------------------------------


def test_the_vectorised_working_time_is_the_calendars(history: History) -> None:
    calendar = history.calendar
    table = WorkingTimeTable(calendar, dt.date(2025, 9, 1), dt.date(2027, 6, 30))
    rng = random.Random(5)
    starts, minutes, ends = [], [], []
    for _ in range(3000):
        start = dt.datetime(2025, 9, 20, tzinfo=dt.UTC) + dt.timedelta(seconds=rng.randrange(0, 420 * 86_400))
        if rng.random() < 0.2:  # on the edges of the office periods
            start = start.astimezone(BEIJING).replace(hour=rng.choice((8, 12, 13, 17)), minute=rng.choice((0, 30)))
            start = start.replace(second=0)
        starts.append(start)
        minutes.append(rng.choice((0, 1, 59, 60, 120, 210, 240, 450, 451, 2250, 6750, rng.randrange(1, 40_000))))
        ends.append(start + dt.timedelta(seconds=rng.randrange(0, 40 * 86_400)))
    epoch_starts = np.array([to_epoch(s) for s in starts], dtype=np.int64)
    added = table.add(epoch_starts, np.array(minutes, dtype=np.int64))
    between = table.minutes_between(epoch_starts, np.array([to_epoch(e) for e in ends], dtype=np.int64))
    for start, count, end, got_added, got_between in zip(starts, minutes, ends, added, between, strict=True):
        expected = calendar.add(start, WorkDuration(count))
        assert got_added == to_epoch(expected), (start, count)
        assert got_between == calendar.working_minutes_between(start, end), (start, end)


def test_the_table_stops_where_the_calendar_does() -> None:
    calendar = WorkCalendar(overrides={}, confirmed_years=(), office_hours=parse_office_hours("09:00-17:00"))
    table = WorkingTimeTable(calendar, dt.date(2026, 12, 1), dt.date(2027, 3, 1))
    assert table.last_day == dt.date(2026, 12, 31)
    late = to_epoch(dt.datetime(2026, 12, 31, 12, tzinfo=BEIJING))
    assert table.add(np.array([late]), np.array([3 * 480]))[0] == NULL
    assert table.add(np.array([late]), np.array([60]))[0] == to_epoch(dt.datetime(2026, 12, 31, 13, tzinfo=BEIJING))


def test_deadlines_and_handling_minutes_are_the_clocks(history: History) -> None:
    calendar = history.calendar
    rng = random.Random(7)
    cases = generated(history)
    register_minutes = WorkDuration.from_hours(DEFAULT_LIMITS["register"]["value"]).minutes
    checked = 0
    for case in rng.sample(cases, 600):
        assert case.response_due_at == calendar.add(case.reported_at, WorkDuration(register_minutes))
        if case.handle_started_at is not None:
            assert case.deadline_at == calendar.add(case.handle_started_at, WorkDuration(case.handle_minutes or 0))
        if case.handle_work_minutes is not None and case.handled_at is not None and case.deadline_at is not None:
            handled, deadline, minutes = case.handled_at, case.deadline_at, case.handle_minutes or 0
            if handled <= deadline:
                expected = max(minutes - calendar.working_minutes_between(handled, deadline), 0)
            else:
                expected = minutes + calendar.working_minutes_between(deadline, handled)
            assert case.handle_work_minutes == expected, case.number
            checked += 1
        if case.state in OPEN_STATES and case.state != CaseState.SUSPENDED.value and case.stage_due_at:
            now = NOW.astimezone(dt.UTC)
            assert case.overdue == (now >= case.stage_due_at), case.number
            assert case.ever_overdue or not case.overdue
            assert case.due_soon == (not case.overdue and case.due_soon_at is not None and now >= case.due_soon_at)
            total = calendar.working_minutes_between(case.stage_started_at, case.stage_due_at)
            assert case.due_soon_at == calendar.add(case.stage_started_at, WorkDuration(int(total * 0.8)))
        if case.state not in OPEN_STATES:
            assert case.stage is None and case.stage_due_at is None and not case.overdue and not case.due_soon
    assert checked > 300


def test_suspended_cases_keep_what_was_left(history: History) -> None:
    calendar = history.calendar
    suspended = [c for c in generated(history) if c.state == CaseState.SUSPENDED.value]
    assert suspended
    for case in suspended:
        assert case.suspended_at is not None and case.suspended_from_state == CaseState.IN_PROGRESS.value
        assert not case.overdue and not case.due_soon and not case.pending_suspension
        left = calendar.working_minutes_between(case.suspended_at, case.deadline_at) if case.deadline_at else None
        assert case.remaining_deadline_minutes == (left if case.deadline_at > case.suspended_at else 0)


# --- what the platform does with it -------------------------------------------------------------------------------


def test_the_kpis_and_the_case_list_work_on_it(history: History) -> None:
    session = history.session
    admin = actor_for(session, get_user(session, "admin"))
    leader = actor_for(session, get_user(session, "leader"))
    period = parse_period(f"{START:%Y-%m-%d}..{END:%Y-%m-%d}")
    earlier = session.execute(
        select(func.count()).where(
            Case.id < history.first_id, Case.reported_at >= period.start_utc, Case.reported_at < period.end_utc
        )
    ).scalar_one()
    with timesource.pinned(NOW):
        figures = headline(session, admin, KpiQuery(period), settings=history.settings)
        assert figures.figures.counts.received == CASES + earlier
        closure = figures.values["closure_rate"]
        satisfaction = figures.values["satisfaction_rate"]
        assert closure is not None and closure > 95
        assert satisfaction is not None and 97 < satisfaction < 100
        board = build_dashboard(session, leader, KpiQuery(period), settings=history.settings)
        assert board.scope_code == MAIN_STREET
        communities = [group for group in board.by_grid if group.key and len(group.key) == 12]
        assert len(communities) == 12 and len(board.trend) == 13
        assert (
            sum(group.figures.counts.received for group in board.by_channel)
            == board.comparison.current.figures.counts.received
        )
        dispatcher = actor_for(session, get_user(session, "dispatcher"))
        page = page_cases(session, dispatcher, CaseFilter(), limit=50)
        assert len(page.cases) == 50 and page.next_cursor
        overdue = count_cases(session, dispatcher, CaseFilter(overdue=True))
        assert overdue.total > 0


def test_the_same_seed_gives_the_same_cases(history: History) -> None:
    session = history.session
    options = HistoryOptions(cases=300, start=dt.date(2026, 3, 1), end=dt.date(2026, 4, 30), seed=11)

    def once(batch_size: int) -> list[tuple[object, ...]]:
        with session.begin_nested() as nested:
            before = int(session.execute(select(func.max(Case.id))).scalar_one())
            with timesource.pinned(NOW):
                generate_history(
                    session, HistoryOptions(**{**options.__dict__, "batch_size": batch_size}), settings=history.settings
                )
            rows = session.execute(select(Case.__table__).where(Case.id > before).order_by(Case.id)).all()
            nested.rollback()
        return [tuple(row) for row in rows]

    first, second = once(50), once(1000)
    assert len(first) == 300 and first == second


def test_without_history_rows_and_on_another_range(history: History) -> None:
    session = history.session
    with session.begin_nested() as nested:
        events_before = session.execute(select(func.count()).select_from(CaseEvent)).scalar_one()
        with timesource.pinned(NOW):
            result = generate_history(
                session,
                HistoryOptions.for_year(2025, 400, events=False, grid_code=DISTRICT_CODE),
                settings=history.settings,
            )
        assert result.events == 0 and result.cases == 400
        assert session.execute(select(func.count()).select_from(CaseEvent)).scalar_one() == events_before
        rows = session.execute(
            select(Case.reported_at, Case.scope_code, Case.state).where(Case.id > history.first_id + CASES - 1)
        ).all()
        assert all(
            dt.datetime(2024, 12, 31, 16, tzinfo=dt.UTC) <= r.reported_at < dt.datetime(2025, 12, 31, 16, tzinfo=dt.UTC)
            for r in rows
        )
        assert len({r.scope_code[:9] for r in rows}) > 3  # the whole district, not one street
        nested.rollback()


def test_bad_options_are_refused_in_chinese(history: History) -> None:
    session = history.session
    with pytest.raises(InvalidInputError, match="起始日期"):
        generate_history(
            session,
            HistoryOptions(cases=10, start=dt.date(2026, 5, 1), end=dt.date(2026, 4, 1)),
            settings=history.settings,
        )
    with pytest.raises(InvalidInputError, match="找不到网格"):
        generate_history(session, HistoryOptions(cases=10, grid_code="370299999"), settings=history.settings)
    with pytest.raises(InvalidInputError, match="案件数"):
        generate_history(session, HistoryOptions(cases=-1), settings=history.settings)


def test_numbers_continue_the_days_sequence(history: History) -> None:
    session = history.session
    numbers = session.execute(select(Case.number)).scalars().all()
    assert len(numbers) == len(set(numbers))
    day = "20261120"  # the demo's own cases were numbered that day too
    latest = max(number for number in numbers if number.startswith(day))
    assert counters.current(session, f"case_number:{day}") == int(latest[-6:])
    assert sum(number.startswith(day) for number in numbers) == int(latest[-6:])


# --- the command -----------------------------------------------------------------------------------------------


def test_the_command_adds_history_and_refuses_a_database_without_the_district(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CIVICGRID_DATABASE_URL", f"sqlite:///{tmp_path / 'demo.db'}")
    monkeypatch.setenv("CIVICGRID_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
        refused = runner.invoke(app, ["demo", "history", "--cases", "10"])
        assert refused.exit_code == 1 and "civicgrid demo" in refused.output
        built = runner.invoke(app, ["demo", "--history", "200"])
        assert built.exit_code == 0, built.output
        assert "历史案件已生成" in built.output and "共200件案件" in built.output
        more = runner.invoke(app, ["demo", "history", "--cases", "50", "--start", "2025-03-01", "--end", "2025-03-31"])
        assert more.exit_code == 0, more.output
        assert "2025年03月01日至2025年03月31日共50件案件" in more.output
        backwards = runner.invoke(app, ["demo", "history", "--start", "2025-05-01", "--end", "2025-04-01"])
        assert backwards.exit_code == 1 and "起始日期" in backwards.output
        skipped = runner.invoke(app, ["demo", "--if-empty", "--history", "200"])
        assert skipped.exit_code == 0 and "跳过" in skipped.output
        engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
        with make_session_factory(engine)() as session:
            live = 40 + 2  # a fortnight of cases, and two reports waiting to be placed
            assert session.execute(select(func.count()).select_from(Case)).scalar_one() == live + 200 + 50
        engine.dispose()
    finally:
        get_settings.cache_clear()
