"""Random action sequences against the case flow: a hypothesis state machine takes reports in through every
channel, tries any action by any person of the district (permitted or not), moves the clock and runs the
scheduler's tick, and after every step checks the invariants of the case engine over the example's cases.

Each example runs inside one SAVEPOINT of the test's transaction, rolled back at teardown, so every sequence
starts from the bare district. A refused action must raise a ``CivicgridError`` and leave the database exactly as
it was (case rows, events, assignments, attachments, outbox, counters).
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
from collections import Counter
from contextlib import ExitStack
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from civicgrid import timesource
from civicgrid.cases.actions import ActionInput, perform
from civicgrid.cases.auth import relation_holds
from civicgrid.cases.intake import IntakeRequest, intake
from civicgrid.cases.models import (
    Attachment,
    Case,
    CaseAssignment,
    CaseEvent,
    CaseState,
    Category,
    Channel,
    Placement,
    Rating,
)
from civicgrid.cases.tick import tick
from civicgrid.cases.workflow import RULES, WORKING, Action, Relation
from civicgrid.counters import SystemCounter
from civicgrid.errors import CivicgridError
from civicgrid.geo.coords import wgs84_to_gcj02
from civicgrid.notify.models import OutboxMessage
from civicgrid.org.actor import Actor

from .conftest import (
    COMMUNITY,
    DISTRICT,
    IN_OTHER_STREET,
    IN_UNIT,
    OTHER_COMMUNITY,
    OTHER_STREET,
    OTHER_UNIT,
    OUTSIDE,
    STREET,
    UNIT,
    District,
    beijing,
    photo,
)

pytestmark = pytest.mark.slow

# Sized for a 2-core CI machine: about 100 sequences of up to 40 steps per backend, half of the steps action
# attempts (each a permitted or refused try), the rest intake, clock moves and ticks. See the report printed at
# the end of the test (pytest -s) for the counts of one run.
MAX_EXAMPLES = 80
STEPS = 50
MAX_CASES = 4  # per sequence: few cases, so that each one goes deep into the flow
MIN_ATTEMPTS = 2000  # action attempts per backend the run must reach

ACTORS = (
    "system",
    "dispatcher",
    "other_dispatcher",
    "district_dispatcher",
    "cgj",
    "street_cg",
    "scjg",
    "grid_worker",
    "leader",
    "hotline",
    "resident",
    "other_resident",
)
DEPARTMENTS = ("ZHZX", "HC", "HC-ZHZX", "HC-CG", "DC-ZHZX", "CGJ", "SCJG", "ZJJ")
STAFFED = ("HC-CG", "CGJ", "SCJG")  # departments with a handling person among the actors
LEAVES = ("0101", "0102", "0103", "0104", "0105", "0106", "0201", "0301", "0601", "0801", "1101")
CATEGORY_CODES = (*LEAVES, "01", "9999")  # plus a non-leaf and an unknown code
# Who takes a report in through which channel, as it happens (the rule also tries any actor on any channel).
INTAKE_PAIRS = (
    ("hotline", Channel.HOTLINE_12345),
    ("hotline", Channel.HOTLINE_8890),
    ("hotline", Channel.MESSAGE_BOARD),
    ("grid_worker", Channel.GRID_PATROL),
    ("grid_worker", Channel.INSPECTION),
    ("resident", Channel.RESIDENT),
    ("other_resident", Channel.RESIDENT),
    ("dispatcher", Channel.REFERRAL),
    ("district_dispatcher", Channel.SENSOR),
    ("system", Channel.HOTLINE_96685),
)
GRID_CODES = (DISTRICT, STREET, OTHER_STREET, COMMUNITY, OTHER_COMMUNITY, UNIT, OTHER_UNIT, "370299009")
NOTES = ("", "  ", "按规定办理", "现场已核实，情况属实")
WHERE: dict[str, tuple[float | None, float | None, str | None]] = {
    "unit": (*IN_UNIT, "wgs84"),
    "unit_gcj02": (*wgs84_to_gcj02(*IN_UNIT), "gcj02"),
    "other_unit": (120.425, 36.475, "wgs84"),
    "other_community": (120.475, 36.45, "wgs84"),
    "other_street": (*IN_OTHER_STREET, "wgs84"),
    "outside": (*OUTSIDE, "wgs84"),
    "nowhere": (None, None, None),
    "half": (120.425, None, "wgs84"),  # refused: one coordinate only
}
EXTENSIONS = ((None, "days"), (1, "days"), (2, "hours"), (0.5, "days"), (0, "hours"), (-1, "days"), (3, "weeks"))
EXTENSIONS += ((400, "days"),)  # pushes the deadline past the last year the holiday calendar knows
# Moments that start a sequence: before a long holiday, a weekend, the last days the calendar knows.
STARTS = (
    beijing(2025, 9, 30, 16, 0),
    beijing(2025, 10, 9, 10, 0),
    beijing(2025, 12, 31, 16, 30),
    beijing(2026, 2, 13, 17, 0),
    beijing(2026, 5, 1, 9, 0),
    beijing(2026, 12, 31, 15, 0),
)
BEIJING = beijing(2025, 1, 1).tzinfo
ANY_REPORTER = st.tuples(st.sampled_from(ACTORS), st.sampled_from(Channel))
LAST_MOMENT = beijing(2026, 12, 31, 23, 0)
# The main path forward from each state, which the guided rule prefers so that deep states are reached.
FORWARD: dict[CaseState, tuple[Action, ...]] = {  # repeated entries weigh more
    CaseState.REPORTED: (*(Action.REGISTER,) * 3, Action.SELF_HANDLE, Action.SELF_HANDLE, Action.MERGE, Action.REJECT),
    CaseState.REGISTERED: (Action.DISPATCH, Action.DISPATCH, Action.DISPATCH, Action.ESCALATE, Action.MERGE),
    CaseState.DISPATCHED: (Action.ACCEPT, Action.ACCEPT, Action.ACCEPT, Action.REQUEST_EXTENSION, Action.RETURN),
    CaseState.IN_PROGRESS: (
        *(Action.SUBMIT,) * 4,
        Action.REQUEST_SUSPENSION,
        Action.REQUEST_SUSPENSION,
        Action.REQUEST_EXTENSION,
        Action.RETURN,
        Action.REROUTE,
        Action.SUPERVISE,
    ),
    CaseState.HANDLED: (Action.VERIFY_PASS, Action.VERIFY_PASS, Action.VERIFY_FAIL),
    CaseState.SUSPENDED: (Action.RESUME,),
}
# The parameters of one guided step: how long to wait first, which of the possible actions and actors, and
# sensible values for whatever the action needs.
GUIDED_STEP = st.fixed_dictionaries(
    {
        "forward": st.integers(0, 3),
        "action_pick": st.integers(0, 30),
        "actor_pick": st.integers(0, 30),
        "wait": st.sampled_from((0, 0, 0, 10, 90, 600, 3000)),
        "category": st.sampled_from(LEAVES),
        "main": st.sampled_from((None, *STAFFED, *STAFFED)),
        "extension": st.sampled_from(((1, "days"), (2, "hours"), (30, "minutes"))),
        "rating": st.sampled_from((*Rating, Rating.UNSATISFIED)),  # an unsatisfied rating leads on to 重办
    }
)


def _forward(case: Case) -> tuple[Action, ...]:
    """The main path from where the case is, with the decision a pending request or a bad rating calls for."""
    state = case.case_state
    if state in WORKING and case.pending_extension_minutes:
        return (Action.APPROVE_EXTENSION, Action.DENY_EXTENSION)
    if state is CaseState.IN_PROGRESS and case.pending_suspension:
        return (Action.APPROVE_SUSPENSION, Action.DENY_SUSPENSION)
    if state.is_open and case.placement in (Placement.OUTSIDE.value, Placement.NO_LOCATION.value):
        return (Action.PLACE, *FORWARD.get(state, ()))
    if state is CaseState.REPORTED and case.category is not None and case.category.self_handle_allowed:
        return (Action.SELF_HANDLE, *FORWARD[state])
    if state is CaseState.CLOSED:
        if case.rating is None:
            return (Action.RATE,)
        return (Action.REOPEN,) if case.rating == Rating.UNSATISFIED.value else ()
    return FORWARD.get(state, ())


ENGINE_EVENTS = {"intake", "merged_duplicate", "closed_with_master", "moved_to_master"}
CATEGORISING = (Action.REGISTER, Action.ESCALATE)  # actions that may set the category on the way
COUNTED = {
    "rework_count": "verify_fail",
    "return_count": "return",
    "extension_count": "approve_extension",
    "supervision_count": "supervise",
    "reopen_count": "reopen",
}


def test_random_action_sequences_keep_the_case_invariants(district: District) -> None:
    d = district
    session = d.session
    actors: dict[str, Actor] = {name: getattr(d, name) for name in ACTORS}
    totals: Counter[str] = Counter()
    assert set(LEAVES) <= set(session.execute(select(Category.code)).scalars())

    class CaseFlow(RuleBasedStateMachine):
        cases = Bundle("cases")

        def __init__(self) -> None:
            super().__init__()
            self.savepoint = session.begin_nested()
            self.clock = ExitStack()
            self.now = timesource.now()
            self.numbers: list[str] = []
            self.sources: dict[Channel, list[str]] = {}
            self.serial = 0
            self.attempts_since_clock = 0

        def teardown(self) -> None:
            self.clock.close()
            if self.savepoint.is_active:
                self.savepoint.rollback()
            session.expire_all()
            totals["sequences"] += 1

        # --- the clock ------------------------------------------------------------------------------------------

        def _pin(self, moment: dt.datetime) -> None:
            self.now = moment.astimezone(dt.UTC)
            self.clock.enter_context(timesource.pinned(self.now))

        @initialize(
            start=st.one_of(
                st.sampled_from(STARTS),
                st.datetimes(dt.datetime(2025, 1, 2), dt.datetime(2026, 12, 31, 12), timezones=st.just(BEIJING)),
            )
        )
        def start_at(self, start: dt.datetime) -> None:
            self._pin(start)

        @precondition(lambda self: self.attempts_since_clock >= 2)
        @rule(
            minutes=st.one_of(st.integers(1, 90), st.integers(90, 3 * 24 * 60), st.integers(3 * 24 * 60, 40 * 24 * 60)),
            run_tick=st.booleans(),
        )
        def advance_clock(self, minutes: int, run_tick: bool) -> None:
            self.attempts_since_clock = 0
            self._pin(min(self.now + dt.timedelta(minutes=minutes), LAST_MOMENT.astimezone(dt.UTC)))
            if run_tick:
                tick(session, settings=d.settings)
                # The scheduler runs in its own transaction: the next request loads the cases afresh.
                session.expire_all()
                totals["ticks"] += 1

        # --- intake ---------------------------------------------------------------------------------------------

        @precondition(lambda self: len(self.numbers) < MAX_CASES)
        @rule(
            target=cases,
            reporter=st.one_of(st.sampled_from(INTAKE_PAIRS), ANY_REPORTER),
            where=st.sampled_from(("unit", "unit", "unit_gcj02", "other_unit", "other_community", *sorted(WHERE))),
            category=st.one_of(st.none(), st.sampled_from(LEAVES), st.sampled_from(CATEGORY_CODES)),
            source=st.sampled_from(("new", "new", "new", "repeat", "none")),
            hours_ago=st.sampled_from((0, 0, 0, 3, 30)),
        )
        def report(
            self, reporter: tuple[str, Channel], where: str, category: str | None, source: str, hours_ago: int
        ) -> Any:
            who, channel = reporter
            lon, lat, crs = WHERE[where]
            seen = self.sources.setdefault(channel, [])
            self.serial += 1
            source_id = {"new": f"prop-{self.serial}", "repeat": seen[0] if seen else None, "none": None}[source]
            request = IntakeRequest(
                channel=channel,
                title="小区门口垃圾堆积",
                description="楼前垃圾三天没人清运",
                category_code=category,
                lon=lon,
                lat=lat,
                crs=crs,
                address="海川区泰和路1号" if lon is None else None,
                source_id=source_id,
                reported_at=self.now - dt.timedelta(hours=hours_ago) if hours_ago else None,
            )
            before = _snapshot(session, with_counters=False)
            try:
                result = intake(session, actors[who], request, settings=d.settings)
            except CivicgridError:
                assert _snapshot(session, with_counters=False) == before, "a refused intake changed the database"
                totals["intake refused"] += 1
                return multiple()
            if not result.created:
                assert _snapshot(session, with_counters=False) == before, "a repeated intake changed the database"
                totals["intake repeated"] += 1
                return multiple()
            totals["intake created"] += 1
            if source_id:
                seen.append(source_id)
            self.numbers.append(result.case.number)
            return result.case.number

        # --- actions --------------------------------------------------------------------------------------------

        @rule(
            number=cases,
            who=st.sampled_from(ACTORS),
            action=st.sampled_from(Action),
            note=st.sampled_from(NOTES),
            category=st.one_of(st.none(), st.sampled_from(CATEGORY_CODES)),
            main=st.one_of(st.none(), st.sampled_from((*DEPARTMENTS, "NOPE"))),
            assists=st.lists(st.sampled_from(DEPARTMENTS), max_size=2),
            extension=st.sampled_from(EXTENSIONS),
            master=st.one_of(st.none(), cases, st.just("20990101000001")),
            rating=st.one_of(st.none(), st.sampled_from(Rating)),
            place=st.one_of(st.none(), st.sampled_from(sorted(WHERE)), st.sampled_from(GRID_CODES)),
            with_photo=st.booleans(),
            version=st.sampled_from((None, None, 0, -1)),
        )
        def attempt(
            self,
            number: str,
            who: str,
            action: Action,
            note: str,
            category: str | None,
            main: str | None,
            assists: list[str],
            extension: tuple[float | None, str],
            master: str | None,
            rating: Rating | None,
            place: str | None,
            with_photo: bool,
            version: int | None,
        ) -> None:
            """Any action by anyone, with parameters that may or may not make sense."""
            lon = lat = crs = grid_code = None
            if place in WHERE:
                lon, lat, crs = WHERE[place]
            elif place is not None:
                grid_code = place
            params = ActionInput(
                note=note,
                expected_version=None if version is None else _row(session, number)["version"] + version,
                category_code=category,
                main_department=main,
                assist_departments=assists,
                extension_value=extension[0],
                extension_unit=extension[1],
                master_number=master,
                rating=rating,
                lon=lon,
                lat=lat,
                crs=crs,
                grid_code=grid_code,
                attachments=(photo(),) if with_photo else (),
            )
            self._attempt(number, who, action, params, "random")

        @rule(
            number=cases, who=st.sampled_from(ACTORS), actions=st.sets(st.sampled_from(Action), min_size=3, max_size=8)
        )
        def try_many_actions(self, number: str, who: str, actions: set[Action]) -> None:
            """Several actions in turn, by one person, with only a note: most must be refused, and cleanly."""
            for action in sorted(actions):
                self._attempt(number, who, action, ActionInput(note="试办"), "every")

        @rule(number=cases, step=GUIDED_STEP, master=cases)
        def progress(self, number: str, step: dict[str, Any], master: str) -> None:
            """One action the case's state allows — mostly one on the main path — by someone who may take it."""
            self._guided(number, step, master, forward=step["forward"] > 0)

        @rule(number=cases, steps=st.lists(GUIDED_STEP, min_size=2, max_size=8), master=cases)
        def drive(self, number: str, steps: list[dict[str, Any]], master: str) -> None:
            """Several steps along the main path in a row: what takes cases deep into the flow (rework, reopening,
            suspension decided), which single random steps reach too rarely."""
            for step in steps:
                if not self._guided(number, step, master, forward=True):
                    break

        def _guided(self, number: str, step: dict[str, Any], master: str, *, forward: bool) -> bool:
            """Try one step; False when the case has no main path left to follow."""
            if step["wait"]:
                self._pin(min(self.now + dt.timedelta(minutes=step["wait"]), LAST_MOMENT.astimezone(dt.UTC)))
            case = session.execute(select(Case).where(Case.number == number)).scalar_one()
            state = case.case_state

            def able(action: Action) -> list[str]:
                rule_ = RULES[action]
                return [
                    name
                    for name in ACTORS
                    if actors[name].has(rule_.permission) and relation_holds(actors[name], rule_.relation, case)
                ]

            allowed = {a: able(a) for a in Action if state in RULES[a].sources}
            preferred = [a for a in _forward(case) if allowed.get(a)]
            doable = [a for a, names in allowed.items() if names]
            if forward and not preferred and step["forward"] > 0:
                return False
            choices = preferred if forward and preferred else doable or list(allowed) or list(Action)
            action = choices[step["action_pick"] % len(choices)]
            candidates = allowed.get(action) or list(ACTORS)
            who = candidates[step["actor_pick"] % len(candidates)]
            extension_value, extension_unit = step["extension"]
            params = ActionInput(
                note="按流程办理",
                category_code=step["category"] if action in CATEGORISING and case.category_id is None else None,
                main_department=step["main"],
                extension_value=extension_value,
                extension_unit=extension_unit,
                master_number=master,
                rating=step["rating"],
                grid_code=UNIT,
                attachments=(photo(),) if action in (Action.SELF_HANDLE, Action.SUBMIT) else (),
            )
            self._attempt(number, who, action, params, "guided")
            return True

        def _attempt(self, number: str, who: str, action: Action, params: ActionInput, kind: str) -> None:
            actor = actors[who]
            rule_ = RULES[action]
            before = _snapshot(session)
            row = _row(session, number)
            totals[f"{kind} attempts"] += 1
            self.attempts_since_clock += 1
            try:
                event = perform(session, actor, number, action, params, settings=d.settings)
            except CivicgridError as error:
                refusal = f"refused {action} ({error.code})"
                totals[f"refused {type(error).__name__}"] += 1
                after = _snapshot(session)
                assert after == before, f"{refusal} changed the database: {_diff(before, after)}"
                totals[f"refused:{action.value}"] += 1
                return
            totals[f"{kind} succeeded"] += 1
            totals[f"ok:{action.value}"] += 1
            after_row = _row(session, number)
            # The event says what happened, from the state the case was in, by this actor.
            assert (event.action, event.from_state, event.to_state) == (action.value, row["state"], after_row["state"])
            assert event.actor_user_id == actor.user_id
            assert after_row["event_count"] == row["event_count"] + 1 == event.seq
            assert after_row["version"] > row["version"]
            # Who may act: an oracle independent of cases.auth.
            assert actor.has(rule_.permission), f"{who} lacks {rule_.permission} but did {action}"
            assert _relation_oracle(actor, rule_.relation, row, session), f"{who} is not {rule_.relation} of {number}"
            if rule_.needs_reason:
                assert params.note.strip()
            if action is Action.SELF_HANDLE:
                assert params.attachments

        # --- invariants -----------------------------------------------------------------------------------------

        @invariant()
        def cases_agree_with_their_history(self) -> None:
            if self.numbers:
                _check_invariants(session, self.numbers, timesource.now())

    run_state_machine_as_test(
        CaseFlow,
        settings=settings(
            max_examples=MAX_EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
            print_blob=True,
            # The suite is a gate, not a fuzzer: the same sequences run every time (the coverage asserts below hold
            # for them). CIVICGRID_EXPLORE=1 explores new sequences on each run, to hunt for bugs.
            derandomize=os.environ.get("CIVICGRID_EXPLORE") != "1",
            phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target],
        ),
    )
    attempts = totals["random attempts"] + totals["guided attempts"] + totals["every attempts"]
    print("\ncase flow state machine:", dict(sorted(totals.items())))
    assert attempts >= MIN_ATTEMPTS, f"only {attempts} action attempts"
    # Both kinds of outcome, and every action at least once each way where the flow makes that possible.
    for action in Action:
        assert totals[f"refused:{action.value}"] > 0, f"{action} was never refused"
        assert totals[f"ok:{action.value}"] > 0, f"{action} never succeeded"


# --- helpers -------------------------------------------------------------------------------------------------------


def _row(session: Any, number: str) -> dict[str, Any]:
    return dict(session.execute(select(Case.__table__).where(Case.number == number)).mappings().one())


def _snapshot(session: Any, *, with_counters: bool = True) -> dict[str, Any]:
    """Everything an action could touch, read from the database (after the session's pending changes flush)."""

    def rows(table: Any, *order: Any) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in session.execute(select(table).order_by(*order)).all()]

    snapshot = {
        "cases": rows(Case.__table__, Case.id),
        "events": session.execute(select(func.count()).select_from(CaseEvent)).scalar_one(),
        "assignments": rows(CaseAssignment.__table__, CaseAssignment.id),
        "attachments": session.execute(select(func.count()).select_from(Attachment)).scalar_one(),
        "outbox": session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one(),
    }
    if with_counters:
        snapshot["counters"] = rows(SystemCounter.__table__, SystemCounter.name)
    return snapshot


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {key: (before[key], after[key]) for key in before if before[key] != after[key]}


def _relation_oracle(actor: Actor, relation: Relation, row: dict[str, Any], session: Any) -> bool:
    def covers(code: str | None) -> bool:
        return code is not None and any(code.startswith(root) for root in actor.grid_codes)

    in_scope = covers(row["scope_code"]) or covers(row["escalation_code"])
    own = actor.user_id is not None and row["reporter_user_id"] == actor.user_id
    if relation is Relation.SCOPE:
        return in_scope
    if relation is Relation.MAIN_DEPARTMENT:
        return row["main_department_id"] in actor.department_ids
    if relation is Relation.REPORTER_OR_SCOPE:
        return own or in_scope
    departments = set(
        session.execute(select(CaseAssignment.department_id).where(CaseAssignment.case_id == row["id"])).scalars()
    )
    return in_scope or own or bool(departments & actor.department_ids)


def _check_invariants(session: Any, numbers: list[str], now: dt.datetime) -> None:
    cases = {
        r["id"]: dict(r) for r in session.execute(select(Case.__table__).where(Case.number.in_(numbers))).mappings()
    }
    events: dict[int, list[dict[str, Any]]] = {case_id: [] for case_id in cases}
    for e in session.execute(
        select(CaseEvent.__table__).where(CaseEvent.case_id.in_(cases)).order_by(CaseEvent.case_id, CaseEvent.seq)
    ).mappings():
        events[e["case_id"]].append(dict(e))
    for case_id, case in cases.items():
        history = events[case_id]
        label = f"case {case['number']} ({case['state']}): {[(e['action'], e['to_state']) for e in history]}"
        state = CaseState(case["state"])
        actions = Counter(e["action"] for e in history)

        # 1. the history replays to the current state, step by step, seq 1..n
        assert (
            [e["seq"] for e in history] == list(range(1, len(history) + 1)) == list(range(1, case["event_count"] + 1))
        ), label
        assert (history[0]["action"], history[0]["from_state"], history[0]["to_state"]) == (
            "intake",
            None,
            "reported",
        ), label
        for previous, event in itertools.pairwise(history):
            assert event["from_state"] == previous["to_state"], label
        assert history[-1]["to_state"] == case["state"], label

        # 2. who closed it
        if state is CaseState.CLOSED:
            closer = _closer(history)
            with_master = closer["action"] == "closed_with_master"
            by_system = closer["action"] == "verify_pass" and closer["actor_user_id"] is None
            assert case["verifier_user_id"] or case["self_handled"] or with_master or by_system, label
            if not case["self_handled"] and actions["verify_pass"]:
                assert case["handler_user_id"] is not None, label

        # 3. counters are the history's
        for column, action in COUNTED.items():
            assert case[column] == actions[action], f"{column}={case[column]} but {actions[action]}× {label}"

        # 4. every action happened from a state its rule allows and went where the rule says
        for event in history[1:]:
            if event["action"] in ENGINE_EVENTS:
                continue
            rule_ = RULES[Action(event["action"])]
            assert CaseState(event["from_state"]) in rule_.sources, f"{event['action']} from {event['from_state']}"
            expected = rule_.target or CaseState(event["from_state"])
            assert event["to_state"] == expected.value, f"{event['action']} → {event['to_state']}: {label}"

        # 5. the clock
        suspended = state is CaseState.SUSPENDED or case["suspended_at"] is not None
        if state.is_open and not suspended and case["stage"] and case["stage_due_at"] is not None:
            assert case["stage_due_at"] >= case["stage_started_at"], f"due before start: {label} {_clock(case)}"
        if case["overdue"]:
            assert case["stage_due_at"] is not None and now >= case["stage_due_at"], f"{label} {_clock(case)}"
        assert not (case["overdue"] and case["due_soon"]), label
        if suspended:
            assert state is CaseState.SUSPENDED and case["suspended_at"] is not None, label
            assert not case["overdue"] and not case["due_soon"], label
        if not state.is_open:
            assert case["stage"] is None and case["stage_due_at"] is None, f"{label} {_clock(case)}"
            assert not case["overdue"] and not case["due_soon"], label

        # 6. duplicates
        if case["merged_into_id"] is not None or state is CaseState.MERGED:
            assert state in (CaseState.MERGED, CaseState.CLOSED), label
            master = session.get(Case, case["merged_into_id"])
            assert master is not None and master.id != case_id, label

        # 7. a pending request only exists where it can still be decided
        if case["pending_extension_minutes"]:
            assert state in WORKING, f"pending extension: {label}"
        if case["pending_suspension"]:
            assert state is CaseState.IN_PROGRESS, f"pending suspension: {label}"


def _closer(history: list[dict[str, Any]]) -> dict[str, Any]:
    return next(e for e in reversed(history) if e["to_state"] == "closed" and e["from_state"] != "closed")


def _clock(case: dict[str, Any]) -> dict[str, Any]:
    keys = ("stage", "stage_started_at", "stage_due_at", "deadline_at", "due_soon_at", "overdue", "suspended_at")
    return {key: case[key] for key in keys}
