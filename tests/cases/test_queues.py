"""A queue lists exactly what its reader can act on now: the case page's ``available_actions``, as SQL.

Built over cases in every state and situation (pending requests, suspended, escalated, rated, merged, waiting
to be placed, reported by a grid worker outside her grid), for every role, each queue's list is compared with the
readable cases its filter admits on whose page at least one of the queue's actions is offered.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from civicgrid.cases.auth import available_actions, readable
from civicgrid.cases.intake import IntakeRequest, intake
from civicgrid.cases.models import Case, Channel, Rating
from civicgrid.cases.queries import filtered, page_cases
from civicgrid.cases.queues import QUEUES, ROLE_QUEUES, queue_counts, queue_filter, queues_for
from civicgrid.cases.workflow import Action
from civicgrid.org.actor import Actor
from civicgrid.org.roles import Role

from .conftest import IN_OTHER_STREET, IN_OTHER_UNIT, District
from .test_flow import EXPOSED_RUBBISH, act, dispatched, report

READERS = ("dispatcher", "other_dispatcher", "district_dispatcher", "cgj", "street_cg", "grid_worker", "leader",
           "hotline", "resident")  # fmt: skip


def _every_situation(d: District) -> None:
    report(d)  # reported, in the grid worker's unit
    report(d, lon=IN_OTHER_STREET[0], lat=IN_OTHER_STREET[1], crs="wgs84")  # reported, in the other street
    own_elsewhere = report(d, d.grid_worker, channel=Channel.GRID_PATROL, lon=IN_OTHER_UNIT[0], lat=IN_OTHER_UNIT[1],
                           crs="wgs84", category_code=EXPOSED_RUBBISH)  # fmt: skip
    act(d, d.dispatcher, own_elsewhere, Action.REGISTER)
    act(d, d.dispatcher, own_elsewhere, Action.DISPATCH)
    act(d, d.street_cg, own_elsewhere, Action.ACCEPT)
    act(d, d.street_cg, own_elsewhere, Action.SUBMIT, note="已清理")  # handled outside her unit
    handled_in_unit = dispatched(d)
    act(d, d.street_cg, handled_in_unit, Action.ACCEPT)
    act(d, d.street_cg, handled_in_unit, Action.SUBMIT, note="已清理")
    registered = report(d)
    act(d, d.dispatcher, registered, Action.REGISTER, category_code=EXPOSED_RUBBISH)
    extension = dispatched(d)
    act(d, d.street_cg, extension, Action.ACCEPT)
    act(d, d.street_cg, extension, Action.REQUEST_EXTENSION, note="需协调车辆", extension_value=1)
    suspension = dispatched(d)
    act(d, d.street_cg, suspension, Action.ACCEPT)
    act(d, d.street_cg, suspension, Action.REQUEST_SUSPENSION, note="待法院判决")
    suspended = dispatched(d)
    act(d, d.street_cg, suspended, Action.ACCEPT)
    act(d, d.street_cg, suspended, Action.REQUEST_SUSPENSION, note="待法院判决")
    act(d, d.dispatcher, suspended, Action.APPROVE_SUSPENSION)
    for rating in (None, Rating.UNSATISFIED, Rating.SATISFIED):
        closed = dispatched(d)
        act(d, d.street_cg, closed, Action.ACCEPT)
        act(d, d.street_cg, closed, Action.SUBMIT, note="已清理")
        act(d, d.dispatcher, closed, Action.VERIFY_PASS)
        if rating is not None:
            act(d, d.hotline, closed, Action.RATE, rating=rating)
    master, duplicate = report(d), report(d)
    act(d, d.dispatcher, duplicate, Action.MERGE, master_number=master.number)
    escalated = report(d)
    act(d, d.grid_worker, escalated, Action.ESCALATE, note="需街道协调", category_code=EXPOSED_RUBBISH)
    mine = report(d, d.resident, channel=Channel.RESIDENT)
    act(d, d.dispatcher, mine, Action.REGISTER, category_code=EXPOSED_RUBBISH)
    for point in (None, (120.39, 36.42)):  # waiting to be placed: at the district, and at the street
        request = IntakeRequest(channel=Channel.RESIDENT, title="路灯不亮", address="泰和路",
                                lon=point[0] if point else None, lat=point[1] if point else None,
                                crs="wgs84" if point else None)  # fmt: skip
        intake(d.session, Actor.public_reporter(), request, settings=d.settings)


@pytest.fixture
def busy(district: District) -> District:
    _every_situation(district)
    return district


def _expected(d: District, actor: Actor, key: str) -> set[str]:
    queue = QUEUES[key]
    candidates = d.session.execute(filtered(readable(select(Case), actor), queue.criteria)).scalars()
    return {case.number for case in candidates if set(available_actions(actor, case)) & set(queue.actions)}


def _listed(d: District, actor: Actor, key: str) -> set[str]:
    numbers = d.session.execute(filtered(readable(select(Case.number), actor), queue_filter(actor, key)))
    return set(numbers.scalars())


@pytest.mark.parametrize("reader", READERS)
def test_every_queue_lists_exactly_what_its_reader_can_act_on(busy: District, reader: str) -> None:
    d = busy
    actor = getattr(d, reader)
    for key in QUEUES:
        assert _listed(d, actor, key) == _expected(d, actor, key), f"{reader}: {key}"
    counts = queue_counts(d.session, actor, tuple(QUEUES))
    assert {key: count.total for key, count in counts.items()} == {key: len(_expected(d, actor, key)) for key in QUEUES}


def test_the_grid_worker_verifies_in_her_grid_and_is_not_shown_her_report_elsewhere(busy: District) -> None:
    d = busy
    to_verify = page_cases(d.session, d.grid_worker, queue_filter(d.grid_worker, "to_verify")).cases
    assert to_verify, "the handled case in her unit waits for her check"
    for case in to_verify:
        assert Action.VERIFY_PASS in available_actions(d.grid_worker, case)
        assert d.grid_worker.covers_grid(case.scope_code)
    reported_elsewhere = d.session.execute(
        select(Case).where(Case.reporter_user_id == d.grid_worker.user_id, Case.state == "handled")
    ).scalar_one()
    assert reported_elsewhere.number not in {case.number for case in to_verify}


def test_queues_with_actions_nobody_in_the_role_can_take_are_not_on_its_workbench() -> None:
    probe = {role: Actor.for_user(user_id=1, username="x", display_name="x", roles=[role], grid_codes=[""],
                                  department_ids=[1]) for role in ROLE_QUEUES}  # fmt: skip
    for role, keys in ROLE_QUEUES.items():
        actor = probe[role]
        assert queues_for(actor) == keys
        for key in keys:
            assert any(actor.has(action.rule.permission) for action in QUEUES[key].actions), (role, key)
    assert queues_for(probe[Role.HOTLINE_OPERATOR]) == ("to_rate",)  # 回访: what an operator does with a case
