"""Reports the locator cannot place (待落图) never leave every on-duty person's sight.

A point outside every grid waits at its nearest grid's street when a command centre covers it, else one level up;
a report without a point waits where the person taking it in works, else at the district. A dispatcher below
where it waits sees it in her 待落图 queue and can place, reject or merge it — the same for every channel.
"""

from __future__ import annotations

import pytest

from civicgrid.cases.auth import available_actions
from civicgrid.cases.intake import IntakeRequest, intake
from civicgrid.cases.models import Case, CaseState, Channel, Placement
from civicgrid.cases.queries import count_cases, get_case, history
from civicgrid.cases.queues import queue_counts, queue_filter
from civicgrid.cases.workflow import Action
from civicgrid.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from civicgrid.org.actor import Actor
from civicgrid.org.roles import Permission
from civicgrid.org.service import actor_for, disable_user, get_user, roots_holding

from .conftest import DISTRICT, IN_UNIT, OTHER_STREET, STREET, UNIT, District
from .test_flow import act

JUST_WEST_OF_STREET = (120.39, 36.42)  # nearest grid: UNIT, in 海川街道
JUST_EAST_OF_OTHER_STREET = (120.61, 36.45)  # nearest grid: 东城街道 itself


def take_in(d: District, actor: Actor, channel: Channel, point: tuple[float, float] | None, **extra: str) -> Case:
    request = IntakeRequest(
        channel=channel,
        title="路灯不亮",
        description="门口路灯坏了一周。",
        lon=point[0] if point else None,
        lat=point[1] if point else None,
        crs="wgs84" if point else None,
        address=None if point else "泰和路小区南门",
        **extra,  # type: ignore[arg-type]
    )
    return intake(d.session, actor, request, settings=d.settings).case


def off_duty(d: District, *usernames: str) -> None:
    for username in usernames:
        disable_user(d.session, d.system, username, "测试：不在岗")


def on_duty_readers(d: District, case: Case) -> list[str]:
    """The active dispatchers (not administrators) who can read the case."""
    readers = []
    for username in ("dispatcher", "other-dispatcher", "district-dispatcher"):
        user = get_user(d.session, username)
        if not user.is_active:
            continue
        try:
            get_case(d.session, actor_for(d.session, user), case.number)
        except NotFoundError:
            continue
        readers.append(username)
    return readers


def test_a_point_outside_waits_at_its_nearest_grids_street_in_that_dispatchers_queue(district: District) -> None:
    d = district
    case = take_in(d, d.hotline, Channel.HOTLINE_12345, JUST_WEST_OF_STREET)
    assert (case.placement, case.nearest_grid_code, case.scope_code) == (Placement.OUTSIDE.value, UNIT, STREET)
    assert count_cases(d.session, d.dispatcher, queue_filter(d.dispatcher, "to_place")).total == 1
    assert queue_counts(d.session, d.dispatcher, ("to_place",))["to_place"].total == 1
    with pytest.raises(NotFoundError):  # the other street's command centre is not bothered with it
        get_case(d.session, d.other_dispatcher, case.number)
    with pytest.raises(InvalidInputError, match="只能落图"):  # waiting in her street, it is placed in her street
        act(d, d.dispatcher, case, Action.PLACE, grid_code=OTHER_STREET)
    act(d, d.dispatcher, case, Action.PLACE, grid_code=UNIT, note="按地址核实")
    assert (case.placement, case.scope_code, case.grid_node_id is not None) == (Placement.MANUAL.value, UNIT, True)
    assert history(d.session, d.dispatcher, case.number)[-1].action == Action.PLACE.value
    assert count_cases(d.session, d.dispatcher, queue_filter(d.dispatcher, "to_place")).total == 0


def test_without_a_command_centre_on_the_nearest_street_the_report_waits_a_level_up(district: District) -> None:
    d = district
    off_duty(d, "other-dispatcher")
    covered = take_in(d, d.hotline, Channel.HOTLINE_12345, JUST_EAST_OF_OTHER_STREET)
    assert covered.scope_code == OTHER_STREET  # the district's command centre covers the street
    assert on_duty_readers(d, covered) == ["district-dispatcher"]
    off_duty(d, "district-dispatcher")
    pooled = take_in(d, d.hotline, Channel.HOTLINE_12345, JUST_EAST_OF_OTHER_STREET)
    assert pooled.nearest_grid_code == OTHER_STREET and pooled.scope_code == DISTRICT
    assert on_duty_readers(d, pooled) == ["dispatcher"]  # in the district's pool, seen from the other street


def test_a_report_waiting_at_the_district_is_in_every_street_dispatchers_placing_pool(district: District) -> None:
    d = district
    off_duty(d, "other-dispatcher", "district-dispatcher")
    case = take_in(d, Actor.public_reporter(), Channel.RESIDENT, None)  # address only, from /public/report
    assert (case.placement, case.scope_code) == (Placement.NO_LOCATION.value, DISTRICT)
    assert on_duty_readers(d, case) == ["dispatcher"]
    assert count_cases(d.session, d.dispatcher, queue_filter(d.dispatcher, "to_place")).total == 1
    offered = set(available_actions(d.dispatcher, case))
    assert {Action.PLACE, Action.REJECT, Action.MERGE} <= offered and Action.REGISTER not in offered
    with pytest.raises(PermissionDeniedError):  # placed first, then registered where it belongs
        act(d, d.dispatcher, case, Action.REGISTER, category_code="0101")
    with pytest.raises(NotFoundError):  # a leader does not place reports: not in her view until placed
        get_case(d.session, d.leader, case.number)
    act(d, d.dispatcher, case, Action.PLACE, grid_code=OTHER_STREET)  # the neighbouring street's, as it turns out
    assert case.scope_code == OTHER_STREET
    with pytest.raises(NotFoundError):  # placed elsewhere, it left her pool
        get_case(d.session, d.dispatcher, case.number)


def test_a_report_from_the_pool_can_be_turned_down_with_a_reason(district: District) -> None:
    d = district
    case = take_in(d, Actor.public_reporter(), Channel.RESIDENT, None)
    act(d, d.dispatcher, case, Action.REJECT, note="非本辖区，已告知反映人向属地反映")
    assert case.state == CaseState.REJECTED.value


@pytest.mark.parametrize(
    ("reporter", "channel"),
    [
        ("public", Channel.RESIDENT),
        ("resident", Channel.RESIDENT),
        ("hotline", Channel.HOTLINE_12345),
        ("grid_worker", Channel.GRID_PATROL),
        ("system", Channel.HOTLINE_8890),  # the API's and the imports' way in
        ("dispatcher", Channel.REFERRAL),
    ],
)
@pytest.mark.parametrize("where", ["address only", "outside, west", "outside, east", "far outside"])
def test_every_unplaced_report_is_read_by_someone_on_duty(
    district: District, reporter: str, channel: Channel, where: str
) -> None:
    d = district
    actors = {"public": Actor.public_reporter(), "system": d.system}
    actor = actors.get(reporter) or getattr(d, reporter)
    point = {
        "address only": None,
        "outside, west": JUST_WEST_OF_STREET,
        "outside, east": JUST_EAST_OF_OTHER_STREET,
        "far outside": (121.2, 36.1),
    }[where]
    case = take_in(d, actor, channel, point)
    assert case.placement in (Placement.OUTSIDE.value, Placement.NO_LOCATION.value)
    assert on_duty_readers(d, case), f"{reporter}/{where}: waits at {case.scope_code}, seen by no dispatcher"


def test_the_command_centres_on_duty_are_the_active_dispatchers_grids(district: District) -> None:
    d = district
    assert roots_holding(d.session, Permission.CASE_DISPATCH) == (DISTRICT,)  # the district's covers the streets'
    off_duty(d, "district-dispatcher")
    assert roots_holding(d.session, Permission.CASE_DISPATCH) == (STREET, OTHER_STREET)


def test_a_located_report_is_not_in_any_pool(district: District) -> None:
    d = district
    case = take_in(d, d.hotline, Channel.HOTLINE_12345, IN_UNIT)
    assert case.placement == Placement.LOCATED.value
    assert count_cases(d.session, d.dispatcher, queue_filter(d.dispatcher, "to_place")).total == 0
