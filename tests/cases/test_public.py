"""The residents' doors without an account: public reporting, the tracking code, rating by its holder, and the
public map feed (no personal data, no sensitive kinds)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import func, select

from civicgrid import timesource
from civicgrid.api.public import feature_collection
from civicgrid.cases import public
from civicgrid.cases.actions import ActionInput, perform
from civicgrid.cases.intake import IntakeRequest, intake
from civicgrid.cases.models import Case, CaseState, Channel, Rating
from civicgrid.cases.queries import get_case, history
from civicgrid.cases.taxonomy import list_categories
from civicgrid.cases.workflow import Action
from civicgrid.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from civicgrid.geo.coords import CRS
from civicgrid.org.actor import Actor
from civicgrid.org.models import LoginAttempt

from .conftest import IN_UNIT, UNIT, District, photo

ADDRESS = "203.0.113.7"
PRIVATE = ("王建国", "13812345678", "泰和路12号3单元501")


def visitor() -> Actor:
    return Actor.anonymous(public_grid_map=True)


def report(d: District, actor: Actor | None = None, **overrides: Any) -> tuple[Case, str | None]:
    fields: dict[str, Any] = {
        "channel": Channel.RESIDENT,
        "description": f"{PRIVATE[2]}门口垃圾三天没人清运，气味很大。",
        "lon": IN_UNIT[0],
        "lat": IN_UNIT[1],
        "crs": "wgs84",
        "reporter_name": PRIVATE[0],
        "reporter_phone": PRIVATE[1],
    }
    fields.update(overrides)
    result = public.report(d.session, actor or visitor(), IntakeRequest(**fields), d.settings)
    return result.case, result.tracking_code


def category(d: District, name: str) -> str:
    return next(c.code for c in list_categories(d.session) if c.name == name)


def act(d: District, actor: Actor, case: Case, action: Action, **fields: Any) -> None:
    perform(d.session, actor, case.number, action, ActionInput(**fields), settings=d.settings)


def close(d: District, case: Case) -> None:
    act(d, d.dispatcher, case, Action.REGISTER, category_code=category(d, "暴露垃圾"))
    act(d, d.dispatcher, case, Action.DISPATCH)
    act(d, d.street_cg, case, Action.ACCEPT)
    act(d, d.street_cg, case, Action.SUBMIT, note="已联系物业经理张三清运", attachments=[photo()])
    act(d, d.grid_worker, case, Action.VERIFY_PASS, note="现场已清理")


# --- reporting ---------------------------------------------------------------------------------------------


def test_a_visitor_reports_as_the_public_reporter_and_gets_a_tracking_code(district: District) -> None:
    case, code = report(district, attachments=[photo()])
    assert code is not None and len(code) == 8 and code.isalnum() and code.isupper()
    assert case.channel == Channel.RESIDENT.value and case.reporter_user_id is None
    assert case.tracking_code_hash and code not in case.tracking_code_hash
    events = history(district.session, district.system, case.number)
    assert [(e.action, e.actor_label) for e in events] == [("intake", "群众（网上反映）")]
    with pytest.raises(NotFoundError):  # reporting does not let the visitor read anything back
        get_case(district.session, Actor.public_reporter(), case.number)


def test_the_public_reporter_can_only_use_the_resident_channel(district: District) -> None:
    hotline = IntakeRequest(channel=Channel.HOTLINE_12345, description="冒充热线工单")
    with pytest.raises(PermissionDeniedError) as refused:
        intake(district.session, Actor.public_reporter(), hotline, settings=district.settings)
    assert refused.value.code == "channel_not_allowed"
    with pytest.raises(PermissionDeniedError):
        public.report(district.session, visitor(), hotline, district.settings)
    assert district.session.execute(select(func.count()).select_from(Case)).scalar_one() == 0


def test_reporting_closed_refuses_visitors_but_a_signed_in_resident_reports_as_themselves(district: District) -> None:
    closed = district.settings.model_copy(update={"public_reporting": False})
    request = IntakeRequest(channel=Channel.RESIDENT, description="路灯不亮", address="泰和路口")
    with pytest.raises(public.PublicReportingClosedError, match="网上反映暂未开放"):
        public.report(district.session, visitor(), request, closed)
    own = public.report(district.session, district.resident, request, closed)
    assert own.case.reporter_user_id == district.resident.user_id and own.tracking_code is None
    with pytest.raises(PermissionDeniedError) as refused:  # a grid worker takes reports on her own pages
        public.reporter_for(district.grid_worker, district.settings)
    assert refused.value.code == "channel_not_allowed"


def test_a_repeated_anonymous_submission_makes_no_second_case(district: District) -> None:
    report(district, idempotency_key="form-key-1")
    with pytest.raises(ConflictError) as repeated:
        report(district, idempotency_key="form-key-1")
    assert repeated.value.code == "duplicate_not_visible"
    assert district.session.execute(select(func.count()).select_from(Case)).scalar_one() == 1


def test_residents_pick_only_categories_they_can_fill_in(district: District) -> None:
    names = {category.name for category, _ in public.reportable_categories(district.session)}
    assert {"暴露垃圾", "路灯不亮", "食品安全", "其他事项"} <= names
    assert not names & {"邻里纠纷", "消防通道堵塞", "市容环境"}  # needs 当事人 / 隐患等级; not a leaf
    with pytest.raises(InvalidInputError, match="当事人"):  # picked anyway: refused, nothing stored
        report(district, category_code=category(district, "邻里纠纷"))


@pytest.mark.parametrize(
    ("value", "expected"),
    [("13812345678", "13812345678"), ("+86 138 1234 5678", "13812345678"), ("0532-88886666", "0532-88886666"),
     ("053288886666", "053288886666"), ("", None)],
)  # fmt: skip
def test_phone_numbers_a_resident_types(value: str, expected: str | None) -> None:
    assert public.clean_phone(value) == expected


@pytest.mark.parametrize("value", ["12345", "23812345678", "1381234567", "138123456789", "电话13812345678"])
def test_phone_numbers_that_are_refused(value: str) -> None:
    with pytest.raises(InvalidInputError, match="11位手机号码"):
        public.clean_phone(value)


# --- tracking ----------------------------------------------------------------------------------------------


def test_the_right_code_opens_the_case_and_any_wrong_one_is_refused_alike(district: District) -> None:
    d = district
    case, code = report(d)
    assert code is not None
    holder = public.open_tracking(d.session, f" {case.number} ", code.lower(), ADDRESS)
    assert holder.tracked_case == case.number and not holder.is_authenticated
    seen = public.progress(d.session, holder)
    assert seen.state_label == "待立案" and seen.community_name == "泰和社区" and seen.category_name is None
    assert [step.label for step in seen.steps] == ["问题已受理"]
    hotline = intake(d.session, d.hotline, IntakeRequest(channel=Channel.HOTLINE_12345, description="热线")).case
    messages = set()
    for number, guess in ((case.number, "0000000A"), ("20991231999999", code), (hotline.number, code)):
        with pytest.raises(public.TrackingRefusedError) as refused:
            public.open_tracking(d.session, number, guess, ADDRESS)
        messages.add(refused.value.message)
    assert messages == {public.TRACKING_REFUSED}  # an unknown number reads exactly like a wrong code
    failures = d.session.execute(select(LoginAttempt).where(LoginAttempt.client_ip == f"track:{ADDRESS}")).scalars()
    assert sorted(f.username for f in failures) == sorted(f"track:{n}" for n in (case.number, "20991231999999",
                                                                                 hotline.number))  # fmt: skip
    with pytest.raises(InvalidInputError):
        public.open_tracking(d.session, case.number, "  ", ADDRESS)


def test_an_address_only_report_names_no_community_until_it_is_placed(district: District) -> None:
    d = district
    case, code = report(d, lon=None, lat=None, crs=None, address="泰和路口")
    holder = public.open_tracking(d.session, case.number, code or "", ADDRESS)
    assert public.progress(d.session, holder).community_name is None  # not "海川区": it only waits there
    act(d, d.district_dispatcher, case, Action.PLACE, grid_code=UNIT)  # it waits at the district
    assert public.progress(d.session, holder).community_name == "泰和社区"


def test_the_holder_reads_and_rates_only_that_case(district: District) -> None:
    d = district
    case, code = report(d)
    other, _ = report(d, description="另一处垃圾")
    holder = public.open_tracking(d.session, case.number, code or "", ADDRESS)
    with pytest.raises(NotFoundError):
        get_case(d.session, holder, other.number)
    with pytest.raises(PermissionDeniedError):
        perform(d.session, holder, case.number, Action.REGISTER, ActionInput(category_code="0101"))
    with pytest.raises(ConflictError) as too_early:
        public.rate(d.session, holder, Rating.SATISFIED, settings=d.settings)
    assert too_early.value.code == "invalid_state"
    assert not public.progress(d.session, holder).can_rate


def test_guessing_is_refused_after_too_many_wrong_codes_per_address(district: District) -> None:
    d = district
    case, code = report(d)
    for _ in range(public.MAX_FAILURES_PER_ADDRESS):
        with pytest.raises(public.TrackingRefusedError):
            public.open_tracking(d.session, case.number, "WRONG000", ADDRESS)
    with pytest.raises(public.TrackingThrottledError, match="15分钟后再试"):
        public.open_tracking(d.session, case.number, code or "", ADDRESS)  # even the right code, for now
    assert public.open_tracking(d.session, case.number, code or "", "198.51.100.1").tracked_case == case.number


def test_many_addresses_guessing_one_case_are_refused_too(district: District) -> None:
    d = district
    case, code = report(d)
    for n in range(public.MAX_FAILURES_PER_NUMBER):
        with pytest.raises(public.TrackingRefusedError):
            public.open_tracking(d.session, case.number, "WRONG000", f"192.0.2.{n}")
    with pytest.raises(public.TrackingThrottledError):
        public.open_tracking(d.session, case.number, code or "", "198.51.100.2")


def test_sign_in_failures_under_a_tracking_name_do_not_count(district: District) -> None:
    d = district
    case, code = report(d)
    for _ in range(public.MAX_FAILURES_PER_NUMBER):  # the login form takes any name; these are not guesses
        d.session.add(LoginAttempt(username=f"track:{case.number}", client_ip="192.0.2.99", succeeded=False))
    d.session.flush()
    assert public.open_tracking(d.session, case.number, code or "", ADDRESS).tracked_case == case.number


def test_the_holders_rating_is_a_rate_event_in_the_history(district: District) -> None:
    d = district
    case, code = report(d)
    close(d, case)
    holder = public.open_tracking(d.session, case.number, code or "", ADDRESS)
    before = public.progress(d.session, holder)
    assert before.can_rate and before.closed_at is not None and before.state_label == "已结案"
    event = public.rate(d.session, holder, Rating.UNSATISFIED, "  气味还在  ", settings=d.settings)
    assert (event.action, event.note, event.data["rating"]) == ("rate", "气味还在", "unsatisfied")
    assert event.actor_label == "反映人（凭查询码）" and event.actor_user_id is None
    assert case.rating == Rating.UNSATISFIED.value
    assert history(d.session, d.dispatcher, case.number)[-1].action == "rate"
    after = public.progress(d.session, holder)
    assert not after.can_rate and after.rating_label == "不满意"
    assert after.steps[-1].label == "反映人评价：不满意"
    with pytest.raises(ConflictError) as again:
        public.rate(d.session, holder, Rating.SATISFIED, settings=d.settings)
    assert again.value.code == "already_rated"
    act(d, d.dispatcher, case, Action.REOPEN, note="居民不满意，重新办理")  # staff can act on the rating


def test_a_long_comment_is_refused(district: District) -> None:
    d = district
    case, code = report(d)
    close(d, case)
    holder = public.open_tracking(d.session, case.number, code or "", ADDRESS)
    with pytest.raises(InvalidInputError, match="500"):
        public.rate(d.session, holder, Rating.SATISFIED, "很" * 501, settings=d.settings)
    assert case.rating is None


def test_the_public_timeline_shows_departments_but_no_people_and_no_notes(district: District) -> None:
    d = district
    case, code = report(d)
    close(d, case)
    holder = public.open_tracking(d.session, case.number, code or "", ADDRESS)
    steps = public.progress(d.session, holder).steps
    assert [s.label for s in steps] == [
        "问题已受理",
        "已立案",
        "已派遣至承办部门",
        "承办部门已接收",
        "承办部门处置完毕，待核查",
        "核查通过，已办结",
    ]
    assert {s.department for s in steps[2:5]} == {"海川街道城市管理办公室"}
    text = repr(steps)
    for private in ("张三", "street_cg", "grid_worker", "dispatcher", "现场已清理", *PRIVATE[:2]):
        assert private not in text


# --- the public map feed -----------------------------------------------------------------------------------


def test_the_public_feed_has_no_personal_data_and_no_sensitive_kinds(district: District) -> None:
    d = district
    shown, _ = report(d, title="3号楼垃圾", category_code=category(d, "暴露垃圾"))
    dispute = IntakeRequest(  # 矛盾纠纷: never public
        channel=Channel.HOTLINE_12345,
        description="邻居装修噪音纠纷",
        category_code=category(d, "邻里纠纷"),
        extra={"parties": "李某、赵某"},
        lon=IN_UNIT[0],
        lat=IN_UNIT[1],
        crs="wgs84",
    )
    intake(d.session, d.hotline, dispute, settings=d.settings)
    later, _ = report(d, description="楼道纠纷，未分类")
    act(d, d.dispatcher, later, Action.REGISTER, category_code=category(d, "家庭纠纷"))  # classified as one later
    report(  # 举报 a shop: the spot could point at the reporter
        d,
        description="某超市卖过期食品",
        category_code=category(d, "食品安全"),
        extra={"appeal_kind": "举报"},
    )
    report(d, lon=None, lat=None, crs=None, address="泰和路口")  # no point: nothing to show
    points = public.public_points(d.session)
    assert [(p.category, p.state_label) for p in points] == [("暴露垃圾", "待立案")]
    point = points[0]
    assert point.reported_on == dt.date(2025, 10, 9)
    assert abs(point.lon - IN_UNIT[0]) <= public.CELL_DEGREES and abs(point.lat - IN_UNIT[1]) <= public.CELL_DEGREES
    assert round(point.lon / public.CELL_DEGREES - 0.5, 6).is_integer()  # the centre of its cell
    body = json.dumps(feature_collection(points, CRS.GCJ02), ensure_ascii=False)
    for private in (*PRIVATE, shown.number, shown.title, "垃圾三天"):
        assert private not in body
    assert set(json.loads(body)["features"][0]["properties"]) == {"category", "state", "state_label", "reported_on"}


def test_closed_cases_stay_on_the_public_map_for_thirty_days(district: District) -> None:
    d = district
    case, _ = report(d)
    close(d, case)
    assert [p.state for p in public.public_points(d.session)] == [CaseState.CLOSED.value]
    with timesource.pinned(timesource.now() + dt.timedelta(days=31)):
        assert public.public_points(d.session) == []


def test_snapping_is_stable_and_about_a_hundred_metres() -> None:
    assert public.snap(120.42501) == public.snap(120.42599) == 120.4255
    assert public.snap(120.426) == 120.4265
    assert public.snap(-0.0001) == -0.0005
