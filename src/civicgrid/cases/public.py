"""What residents without an account may do: report a problem, follow it with its tracking code (查询码) and rate
it, and see a coarse public map of non-sensitive cases.

Three small doors, each deliberately narrow:

- A visitor reports as ``Actor.public_reporter()`` — the resident channel only, and only while
  ``settings.public_reporting`` is on. A signed-in resident reports as themselves.
- The tracking code is the key to one case: ``open_tracking`` checks it (refusing a wrong code and an unknown
  number with the same words, and refusing guessing after a few failures per client address or per number) and
  hands back ``Actor.tracking_holder(number)``, who may read that case and rate it — through the ordinary
  queries and ``actions.perform``, so the rating is an event in the case's history like any other.
- The public feed (``public_points``) is an aggregate stripped of everything that identifies a person.
"""

from __future__ import annotations

import datetime as dt
import hmac
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from civicgrid import timesource
from civicgrid.cases.actions import ActionInput, perform
from civicgrid.cases.intake import IntakeRequest, IntakeResult, intake, require_channel, tracking_hash
from civicgrid.cases.models import (
    OPEN_STATES,
    Attachment,
    Case,
    CaseEvent,
    CaseState,
    CaseType,
    Category,
    Channel,
    Rating,
)
from civicgrid.cases.queries import get_case, history
from civicgrid.cases.taxonomy import list_categories
from civicgrid.cases.workflow import Action
from civicgrid.db import utcnow
from civicgrid.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from civicgrid.grid.codes import GridLevel
from civicgrid.grid.index import grid_index
from civicgrid.org.actor import Actor
from civicgrid.org.models import Department, LoginAttempt
from civicgrid.registry.protect import Protector
from civicgrid.settings import Settings

BEIJING = ZoneInfo("Asia/Shanghai")

# --- reporting -----------------------------------------------------------------------------------------------


class PublicReportingClosedError(PermissionDeniedError):
    code = "public_reporting_closed"


REPORTING_CLOSED = "网上反映暂未开放。请拨打12345热线，或联系您所在的社区网格员。"
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")


def reporter_for(actor: Actor, settings: Settings) -> Actor:
    """Who a report from the public page is taken in as: a signed-in person as themselves (if they may use the
    resident channel), a visitor as the public reporter while public reporting is open."""
    if actor.is_authenticated:
        require_channel(actor, Channel.RESIDENT)
        return actor
    if not settings.public_reporting:
        raise PublicReportingClosedError(REPORTING_CLOSED)
    return Actor.public_reporter()


def report(session: Session, actor: Actor, request: IntakeRequest, settings: Settings) -> IntakeResult:
    """Take in a report from the public page: always the resident channel, as ``reporter_for`` decides."""
    if request.channel is not Channel.RESIDENT:
        raise PermissionDeniedError("网上反映只能使用“群众上报”渠道", code="channel_not_allowed")
    return intake(session, reporter_for(actor, settings), request, settings=settings)


def reportable_categories(session: Session) -> list[tuple[Category, Category | None]]:
    """The categories a resident may pick, each with its parent: active leaves whose case type asks for no
    required extra field (当事人, 包案领导, 隐患等级 … are for staff to fill in; such problems are reported without a
    category and classified when registered)."""
    categories = list_categories(session)
    by_id = {category.id: category for category in categories}
    parents = {category.parent_id for category in categories if category.parent_id is not None}
    staff_only = {
        case_type.code
        for case_type in session.execute(select(CaseType)).scalars()
        if not case_type.is_active or any(spec.get("required") for spec in case_type.fields)
    }
    return [
        (category, by_id.get(category.parent_id) if category.parent_id is not None else None)
        for category in categories
        if category.id not in parents and category.case_type_code not in staff_only
    ]


def clean_phone(value: str | None) -> str | None:
    """An 11-digit mainland mobile number (13812345678, +86 allowed) or a landline with its area code
    (0532-88886666); None when empty. Spaces are ignored."""
    text = re.sub(r"[\s()（）]", "", value or "")
    if not text:
        return None
    if text.startswith("+86"):
        text = text[3:]
    if _MOBILE.match(text) or _LANDLINE.match(text):
        return text
    raise InvalidInputError(
        "电话号码格式不正确：请填写11位手机号码，或带区号的固定电话（如 0532-88886666）",
        code="invalid_phone",
        detail={"field": "phone"},
    )


# --- tracking ------------------------------------------------------------------------------------------------


class TrackingRefusedError(NotFoundError):
    code = "tracking_refused"


class TrackingThrottledError(PermissionDeniedError):
    code = "tracking_throttled"


TRACKING_REFUSED = "案件编号或查询码不正确，请核对后再试（查询码不区分大小写）"
TRACK_WINDOW = dt.timedelta(minutes=15)
MAX_FAILURES_PER_ADDRESS = 10  # one client address guessing codes
MAX_FAILURES_PER_NUMBER = 20  # many addresses guessing one case's code
_TRACK = "track:"  # failures are kept in login_attempt, in a namespace no user name or address can take
MAX_NUMBER_LENGTH = 24
MAX_COMMENT = 500


def open_tracking(session: Session, number: str, code: str, client_address: str | None) -> Actor:
    """The holder of case ``number``'s tracking code, if ``code`` is it.

    A wrong code, an unknown number and a case without a code are refused alike (no existence leak). Each refusal
    is written to ``login_attempt`` in the caller's transaction — the caller must commit it (the pages render the
    refusal rather than raise it). Past the limits every attempt is refused, the right code included, until the
    window has passed; a right code does not clear the count (else one's own case would reset a guesser's)."""
    number, code = number.strip(), code.strip().upper()
    if not number or not code:
        raise InvalidInputError("请填写案件编号和查询码", code="tracking_incomplete")
    number = number[:MAX_NUMBER_LENGTH]
    _refuse_if_throttled(session, number, client_address)
    stored = session.execute(select(Case.tracking_code_hash).where(Case.number == number)).scalar_one_or_none()
    given = tracking_hash(number, code)
    if not hmac.compare_digest((stored or "").encode(), given.encode()):
        session.add(LoginAttempt(username=_TRACK + number, client_ip=_address_key(client_address), at=utcnow()))
        session.flush()
        raise TrackingRefusedError(TRACKING_REFUSED)
    return Actor.tracking_holder(number)


def _address_key(client_address: str | None) -> str:
    return (_TRACK + (client_address or "unknown"))[:64]


def _refuse_if_throttled(session: Session, number: str, client_address: str | None) -> None:
    since = utcnow() - TRACK_WINDOW
    by_address = _failures(session, LoginAttempt.client_ip == _address_key(client_address), since)
    by_number = _failures(
        session, and_(LoginAttempt.username == _TRACK + number, LoginAttempt.client_ip.startswith(_TRACK)), since
    )
    if by_address >= MAX_FAILURES_PER_ADDRESS or by_number >= MAX_FAILURES_PER_NUMBER:
        minutes = int(TRACK_WINDOW.total_seconds() // 60)
        raise TrackingThrottledError(
            f"查询码输错次数过多，请{minutes}分钟后再试", detail={"retry_after_minutes": minutes}
        )


def _failures(session: Session, who: ColumnElement[bool], since: dt.datetime) -> int:
    stmt = select(func.count()).where(who, LoginAttempt.succeeded.is_(False), LoginAttempt.at >= since)
    return int(session.execute(stmt).scalar_one())


@dataclass(frozen=True)
class PublicStep:
    """One step of the public timeline: what happened, when, and which department (never a person)."""

    at: dt.datetime
    label: str
    department: str | None = None


@dataclass(frozen=True)
class PublicProgress:
    number: str
    state: str
    state_label: str
    title: str
    description: str
    category_name: str | None
    community_name: str | None
    reported_at: dt.datetime
    closed_at: dt.datetime | None
    rating_label: str | None
    can_rate: bool
    steps: list[PublicStep]
    outcome: PublicOutcome | None = None


@dataclass(frozen=True)
class PublicOutcome:
    """What was decided or done, in the words of whoever decided or did it: the department's 处置结果 (or the grid
    worker's on-the-spot handling) with its photos, or the reason a report was not taken up. The person who wrote
    it is not named."""

    label: str  # 处置结果 / 不予立案理由
    text: str
    at: dt.datetime
    photo_ids: tuple[int, ...] = ()


# The entries whose note and photos are addressed to the reporter; every other note stays internal.
OUTCOME_LABELS = {
    Action.SUBMIT.value: "处置结果",
    Action.SELF_HANDLE.value: "处置结果",
    Action.REJECT.value: "不予立案理由",
}
# Attachments a reporter may see: her own photos and those of the result.
PUBLIC_ATTACHMENT_ACTIONS = frozenset({"intake", Action.SUBMIT.value, Action.SELF_HANDLE.value})


# The timeline a reporter sees: each action's public wording. Anything not listed (internal notes, requests that
# were refused, the other half of a merge) is left out; notes and the staff who acted are never shown.
PUBLIC_STEP_LABELS: dict[str, str] = {
    "intake": "问题已受理",
    Action.REGISTER.value: "已立案",
    Action.REJECT.value: "不予立案",
    Action.DISPATCH.value: "已派遣至承办部门",
    Action.REROUTE.value: "改派承办部门",
    Action.ACCEPT.value: "承办部门已接收",
    Action.RETURN.value: "重新派遣中",
    Action.SUBMIT.value: "承办部门处置完毕，待核查",
    Action.VERIFY_PASS.value: "核查通过，已办结",
    Action.VERIFY_FAIL.value: "核查未通过，重新处置",
    Action.APPROVE_EXTENSION.value: "经批准延长办理时限",
    Action.APPROVE_SUSPENSION.value: "暂缓办理（挂账）",
    Action.RESUME.value: "恢复办理",
    Action.SUPERVISE.value: "督办",
    Action.ESCALATE.value: "提请上级协调处理",
    Action.MERGE.value: "与相同问题合并办理",
    "closed_with_master": "随相同问题一并办结",
    Action.SELF_HANDLE.value: "网格员现场处置，已办结",
    Action.RATE.value: "反映人评价",
    Action.REOPEN.value: "重新办理",
}
_SHOWS_DEPARTMENT = frozenset(
    {Action.DISPATCH.value, Action.REROUTE.value, Action.ACCEPT.value, Action.SUBMIT.value, Action.REOPEN.value}
)


def progress(session: Session, holder: Actor) -> PublicProgress:
    """The case as its tracking-code holder sees it (``progress_of``)."""
    return progress_of(session, holder, _tracked(holder))


def progress_of(session: Session, reader: Actor, number: str) -> PublicProgress:
    """The case as its reporter sees it — the tracking-code holder, or a resident signed in: state, category,
    community, times, the public timeline and the outcome addressed to her. No staff, no internal notes."""
    case = get_case(session, reader, number)
    events = history(session, reader, number)
    closed = case.case_state is CaseState.CLOSED
    return PublicProgress(
        number=case.number,
        state=case.state,
        state_label=case.case_state.label,
        title=case.title,
        description=case.description,
        category_name=case.category.name if case.category else None,
        community_name=community_of(session, case),
        reported_at=case.reported_at,
        closed_at=case.closed_at if closed else None,
        rating_label=Rating(case.rating).label if case.rating else None,
        can_rate=closed and case.rating is None,
        steps=public_steps(session, events),
        outcome=_outcome(session, events),
    )


def _outcome(session: Session, events: Sequence[CaseEvent]) -> PublicOutcome | None:
    """The latest outcome addressed to the reporter; a result sent back for rework is no longer the outcome."""
    latest: CaseEvent | None = None
    for event in events:
        if event.action in OUTCOME_LABELS:
            latest = event
        elif event.action in (Action.VERIFY_FAIL.value, Action.REOPEN.value, Action.RETURN.value):
            latest = None
    if latest is None or not (latest.note or "").strip():
        return None
    photos = session.execute(
        select(Attachment.id)
        .where(Attachment.event_id == latest.id, Attachment.media_type.startswith("image/"))
        .order_by(Attachment.id)
    ).scalars()
    text = mask_contacts(latest.note.strip())
    return PublicOutcome(OUTCOME_LABELS[latest.action], text, latest.at, tuple(photos))


_MOBILE_IN_TEXT = re.compile(r"(?<!\d)(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})(?!\d)")
_ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3}[\dXx])(?![0-9A-Za-z])")


def mask_contacts(text: str) -> str:
    """A result written by staff, as the public sees it: mobile numbers (139****0000) and ID numbers
    (370202********123X) that a note may carry are masked."""
    masked = _ID_IN_TEXT.sub(lambda m: m.group(1) + "*" * 8 + m.group(3), text)
    return _MOBILE_IN_TEXT.sub(lambda m: f"{m.group(1)}****{m.group(3)}", masked)


def public_attachment(session: Session, reader: Actor, number: str, attachment_id: int) -> Attachment:
    """An attachment of the case a reporter may see (``PUBLIC_ATTACHMENT_ACTIONS``); anything else is not found."""
    case = get_case(session, reader, number)
    found = session.execute(
        select(Attachment)
        .join(CaseEvent, CaseEvent.id == Attachment.event_id)
        .where(
            Attachment.id == attachment_id,
            Attachment.case_id == case.id,
            CaseEvent.action.in_(sorted(PUBLIC_ATTACHMENT_ACTIONS)),
        )
    ).scalar_one_or_none()
    if found is None:
        raise NotFoundError("附件不存在", code="attachment_not_found")
    return found


def photo_link_signature(protector: Protector, number: str, attachment_id: int, expires: int) -> str:
    """The signature of a time-limited link to one of a case's public photos, for a visitor who showed its tracking
    code (which never travels in a URL): it opens that photo until ``expires`` (a Unix time) and nothing else."""
    return protector.sign(f"{number}:{attachment_id}:{expires}", purpose="public photo link")


def verify_photo_link(protector: Protector, number: str, attachment_id: int, expires: int, signature: str) -> None:
    expected = photo_link_signature(protector, number, attachment_id, expires)
    if not hmac.compare_digest(expected, signature) or expires < timesource.now().timestamp():
        raise NotFoundError("链接已失效，请重新查询进度", code="photo_link_expired")


def _tracked(holder: Actor) -> str:
    if holder.tracked_case is None:
        raise PermissionDeniedError("请先输入案件编号和查询码", code="tracking_required")
    return holder.tracked_case


def community_of(session: Session, case: Case) -> str | None:
    """The 社区/村 the case lies in, else its 街道; None while it is not placed below a street (an address-only
    report waits at the top of the grid: naming the province would say nothing)."""
    index = grid_index(session)
    node_id = case.grid_node_id if case.grid_node_id in index.refs else index.ids_by_code.get(case.scope_code)
    if node_id is None:
        return None
    path = index.path(node_id)
    for level in (GridLevel.COMMUNITY, GridLevel.STREET):
        found = next((ref for ref in path if ref.level is level), None)
        if found is not None:
            return found.name
    return None


def public_steps(session: Session, events: Sequence[CaseEvent]) -> list[PublicStep]:
    """The history in public words, with the department handling the case at each step."""
    names = _department_names(session, _department_codes(events))
    steps: list[PublicStep] = []
    current: str | None = None
    for event in events:
        data: dict[str, Any] = event.data or {}
        if event.action in (Action.DISPATCH.value, Action.REROUTE.value):
            current = names.get(str(data.get("main")))
        elif event.action in (Action.RETURN.value, Action.ESCALATE.value):
            current = None
        label = PUBLIC_STEP_LABELS.get(event.action)
        if label is None:
            continue
        if event.action == Action.RATE.value and data.get("rating") in {r.value for r in Rating}:
            label = f"{label}：{Rating(data['rating']).label}"
        steps.append(PublicStep(event.at, label, current if event.action in _SHOWS_DEPARTMENT else None))
    return steps


def _department_codes(events: Iterable[CaseEvent]) -> set[str]:
    return {str(e.data["main"]) for e in events if isinstance(e.data, dict) and e.data.get("main")}


def _department_names(session: Session, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    rows = session.execute(select(Department.code, Department.name).where(Department.code.in_(sorted(codes))))
    return {str(code): str(name) for code, name in rows}


def rate(
    session: Session, holder: Actor, rating: Rating, comment: str = "", *, settings: Settings | None = None
) -> CaseEvent:
    """The reporter's rating, as the ``rate`` action of the case (an event in its history)."""
    note = comment.strip()
    if len(note) > MAX_COMMENT:
        raise InvalidInputError(f"评价意见不能超过{MAX_COMMENT}个字", code="comment_too_long")
    params = ActionInput(rating=rating, note=note)
    return perform(session, holder, _tracked(holder), Action.RATE, params, settings=settings)


# --- the public map --------------------------------------------------------------------------------------------

SENSITIVE_CASE_TYPES = frozenset({"dispute", "petition"})  # 矛盾纠纷, 信访: people and their quarrels
SENSITIVE_APPEAL_KINDS = frozenset({"举报"})  # a report against someone: the spot may point at the reporter
RECENTLY_CLOSED = dt.timedelta(days=30)
CELL_DEGREES = 0.001  # about 110 m north–south and 90 m east–west at Qingdao's latitude
FEED_LIMIT = 2000


@dataclass(frozen=True)
class PublicPoint:
    """One case on the public map.

    What is shown, and why nothing more:

    - the category name and the state — what kind of problem, and whether it is being dealt with;
    - the Beijing date it was reported (no time of day);
    - the location snapped to the centre of a 0.001° cell (≈100 m), the same for every case in the cell and the
      same on every request (random jitter would average away over repeated requests).

    Left out on purpose: the title and description (residents write names, door numbers and phone numbers into
    them), the reporter and every person who handled it, the address, the exact point, and the case number (the
    number is half of the tracking key, and ties a point to hotline records). Cases of the sensitive types
    (矛盾纠纷, 信访) and whistle-blowing reports (举报) are not on the map at all, nor are rejected or merged cases,
    cases closed more than 30 days ago, and cases outside the grid.
    """

    lon: float  # WGS-84, snapped
    lat: float
    category: str
    state: str
    state_label: str
    reported_on: dt.date


def public_points(session: Session, *, limit: int = FEED_LIMIT) -> list[PublicPoint]:
    """Open cases and those closed in the last 30 days, newest first, as ``PublicPoint`` (see its reasons).

    A public aggregate, read without an actor's scope on purpose: nothing it returns identifies a case or a
    person, and the sensitive kinds never leave the database."""
    closed_since = timesource.now() - RECENTLY_CLOSED
    stmt = (
        select(Case.state, Case.reported_at, Case.lon, Case.lat, Case.extra, Category.name)
        .outerjoin(Category, Category.id == Case.category_id)
        .where(
            Case.lon.is_not(None),
            Case.lat.is_not(None),
            Case.grid_node_id.is_not(None),
            or_(
                Case.state.in_(OPEN_STATES),
                and_(Case.state == CaseState.CLOSED.value, Case.closed_at >= closed_since),
            ),
            _not_sensitive(Case.case_type_code),
            _not_sensitive(Category.case_type_code),
        )
        .order_by(Case.reported_at.desc(), Case.id.desc())
        .limit(limit)
    )
    points = []
    for state, reported_at, lon, lat, extra, category in session.execute(stmt):
        if _is_whistle_blowing(extra):
            continue
        points.append(
            PublicPoint(
                lon=snap(lon),
                lat=snap(lat),
                category=category or "待分类",
                state=state,
                state_label=CaseState(state).label,
                reported_on=reported_at.astimezone(BEIJING).date(),
            )
        )
    return points


def _not_sensitive(column: Any) -> ColumnElement[bool]:
    return or_(column.is_(None), column.not_in(sorted(SENSITIVE_CASE_TYPES)))


def _is_whistle_blowing(extra: Any) -> bool:
    return isinstance(extra, dict) and str(extra.get("appeal_kind", "")).strip() in SENSITIVE_APPEAL_KINDS


def snap(value: float) -> float:
    """The centre of the 0.001° cell the value falls in."""
    return round((math.floor(value / CELL_DEGREES) + 0.5) * CELL_DEGREES, 6)


class PublicMapClosedError(PermissionDeniedError):
    code = "public_map_closed"


def require_public_map(actor: Actor, settings: Settings) -> None:
    """Visitors see the public map only while ``public_grid_map`` is on; signed-in people always."""
    if not actor.is_authenticated and not settings.public_grid_map:
        raise PublicMapClosedError("公开地图暂未开放")
