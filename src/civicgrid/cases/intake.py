"""Intake: every channel's report becomes a case with one unified number, placed on the grid, exactly once.

Idempotent on (channel, source id) and on an idempotency key: a retried submission returns the case it already
made (``created`` False) and changes nothing. A point outside every grid is kept, flagged for manual
placement, and scoped to where it was taken in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from civicgrid import counters, timesource
from civicgrid.cases import clock
from civicgrid.cases.attachments import Upload, attach
from civicgrid.cases.auth import can_read
from civicgrid.cases.events import append_event
from civicgrid.cases.models import Case, CaseState, Channel, Placement
from civicgrid.cases.taxonomy import get_case_type, leaf_category, validate_extra
from civicgrid.errors import ConflictError, InvalidInputError, PermissionDeniedError, Problems
from civicgrid.geo.coords import CRS, parse_crs
from civicgrid.grid.codes import GridLevel, district_code_of
from civicgrid.grid.index import GridIndex, LocatedPoint, grid_index, place_point
from civicgrid.org.actor import ALL_GRIDS, Actor
from civicgrid.org.roles import Permission, Role
from civicgrid.org.service import roots_holding
from civicgrid.settings import Settings, get_settings
from civicgrid.text import headline, optional_text, refuse_unstorable
from civicgrid.worktime.service import MIN_YEAR as CALENDAR_MIN_YEAR
from civicgrid.worktime.service import load_calendar

MAX_TITLE = 200
TITLE_FROM_DESCRIPTION = 30  # characters of a title made from the description
MAX_DESCRIPTION = 10_000
EARLIEST_YEAR = CALENDAR_MIN_YEAR  # the first year the holiday table can hold
MAX_IDEMPOTENCY_KEY = 80  # stored with its owner in front (100 characters)
_PHONE = re.compile(r"^\+?[0-9][0-9\- ]{4,19}$")
HOTLINES = frozenset({Channel.HOTLINE_12345, Channel.HOTLINE_8890, Channel.HOTLINE_96685, Channel.MESSAGE_BOARD})

# Channels where the person taking the report in is also the one reporting it.
SELF_REPORTED = frozenset({Channel.RESIDENT, Channel.GRID_PATROL, Channel.INSPECTION})

# Which channels each role may take reports from (a resident reports for themselves, an operator answers lines).
ROLE_CHANNELS: dict[Role, frozenset[Channel]] = {
    Role.ADMIN: frozenset(Channel),
    Role.DISPATCHER: frozenset(Channel),
    Role.HOTLINE_OPERATOR: HOTLINES | {Channel.REFERRAL},
    Role.GRID_WORKER: frozenset({Channel.GRID_PATROL, Channel.INSPECTION}),
    Role.RESIDENT: frozenset({Channel.RESIDENT}),
}


@dataclass
class IntakeRequest:
    channel: Channel
    title: str = ""
    description: str = ""
    case_type_code: str | None = None
    category_code: str | None = None
    lon: float | None = None
    lat: float | None = None
    crs: str | None = None
    address: str | None = None
    reporter_name: str | None = None
    reporter_phone: str | None = None
    source_id: str | None = None
    idempotency_key: str | None = None
    reported_at: dt.datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    attachments: Sequence[Upload] = ()


@dataclass(frozen=True)
class IntakeResult:
    case: Case
    created: bool
    tracking_code: str | None = None  # shown once to an anonymous reporter; only its hash is stored


def intake(session: Session, actor: Actor, request: IntakeRequest, *, settings: Settings | None = None) -> IntakeResult:
    settings = settings or get_settings()
    actor.require(Permission.CASE_INTAKE, "受理案件")
    require_channel(actor, request.channel)
    key = _scoped_key(actor, request.idempotency_key)
    existing = _existing(session, request, key)
    if existing is not None:
        return _repeated(actor, existing)
    case = _new_case(session, actor, request, settings, key)
    try:
        with session.begin_nested():
            session.add(case)
            session.flush()
    except IntegrityError:
        # Someone else took the same (channel, source id) or key in between: theirs is the case.
        found = _existing(session, request, key)
        if found is None:
            raise
        return _repeated(actor, found)
    tracking_code = _tracking_code(case) if actor.user_id is None and request.channel is Channel.RESIDENT else None
    calendar = load_calendar(session, settings)
    pending = clock.start_stage(case, clock.REGISTER, case.reported_at, calendar, settings.due_soon_share)
    data = {"clock": pending} if pending else {}
    event = append_event(session, case, actor, "intake", None, CaseState.REPORTED, _intake_note(case), data)
    for upload in request.attachments:
        attach(session, settings, case, event, upload)
    session.flush()
    return IntakeResult(case, created=True, tracking_code=tracking_code)


def require_channel(actor: Actor, channel: Channel) -> None:
    if actor.is_system:
        return
    allowed = frozenset(c for role in actor.roles for c in ROLE_CHANNELS.get(role, frozenset()))
    if channel not in allowed:
        raise PermissionDeniedError(
            f"{actor.display_name}不能受理“{channel.label}”渠道的案件", code="channel_not_allowed"
        )


def _scoped_key(actor: Actor, key: str | None) -> str | None:
    """Idempotency keys belong to whoever sent them: another person's key never finds someone else's case."""
    key = _optional_text(key, MAX_IDEMPOTENCY_KEY, "幂等键")
    if key is None:
        return None
    owner = f"u{actor.user_id}" if actor.user_id is not None else ("system" if actor.is_system else "anonymous")
    return f"{owner}:{key}"


def _repeated(actor: Actor, case: Case) -> IntakeResult:
    """A repeated submission gets its case back only if the sender may read it; a guessed hotline source id
    must not reveal another street's case."""
    if not actor.is_system and not can_read(actor, case):
        raise ConflictError(
            "该来源编号（或幂等键）已有对应案件，但不在您的查看范围内，未重复受理",
            code="duplicate_not_visible",
        )
    return IntakeResult(case, created=False)


def _existing(session: Session, request: IntakeRequest, key: str | None) -> Case | None:
    if key:
        found = session.execute(select(Case).where(Case.idempotency_key == key)).scalar_one_or_none()
        if found is not None:
            return found
    if request.source_id:
        return session.execute(
            select(Case).where(Case.channel == request.channel.value, Case.source_id == request.source_id)
        ).scalar_one_or_none()
    return None


def _new_case(session: Session, actor: Actor, request: IntakeRequest, settings: Settings, key: str | None) -> Case:
    problems = Problems()  # every wrong field named at once (a form, an imported row)
    title, description = problems.check(partial(_texts, request), ("", ""))
    category = (
        problems.check(partial(leaf_category, session, request.category_code), None) if request.category_code else None
    )
    type_code = request.case_type_code or (category.case_type_code if category else None)
    extra: dict[str, Any] = problems.check(partial(_extra, session, type_code, request), {})
    reported_at = problems.check(partial(_reported_at, request.reported_at), timesource.now())
    source_id = problems.check(partial(_optional_text, request.source_id, 100, "来源编号"), None)
    reporter_name = problems.check(partial(_optional_text, request.reporter_name, 50, "反映人姓名"), None)
    reporter_phone = problems.check(partial(_phone, request.reporter_phone), None)
    address = problems.check(partial(_optional_text, request.address, 200, "地址"), None)
    problems.raise_any()
    case = Case(
        number=_next_number(session, settings),
        channel=request.channel.value,
        source_id=source_id,
        idempotency_key=key,
        case_type_code=type_code,
        category=category,
        title=title,
        description=description,
        extra=extra,
        state=CaseState.REPORTED.value,
        priority=category.priority if category else 3,
        reporter_user_id=actor.user_id if request.channel in SELF_REPORTED else None,
        reporter_name=reporter_name,
        reporter_phone=reporter_phone,
        address=address,
        reported_at=reported_at,
        event_count=0,
    )
    _place(session, actor, case, request)
    return case


def _extra(session: Session, type_code: str | None, request: IntakeRequest) -> dict[str, Any]:
    if request.extra and not type_code:
        raise InvalidInputError("填写了扩展字段，但没有指定案件类型", code="type_required")
    return validate_extra(get_case_type(session, type_code), request.extra) if type_code else {}


def _texts(request: IntakeRequest) -> tuple[str, str]:
    refuse_unstorable(request.title or "", "标题", "title")
    refuse_unstorable(request.description or "", "描述", "description")
    description = (request.description or "").replace("_x000D_", "").strip()
    title = " ".join((request.title or "").split())
    if not title:
        title = headline(description, TITLE_FROM_DESCRIPTION)
    if not title:
        raise InvalidInputError("请填写问题标题或描述", code="empty_case")
    if len(title) > MAX_TITLE:
        raise InvalidInputError(f"标题超过{MAX_TITLE}个字", code="title_too_long")
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInputError(f"描述超过{MAX_DESCRIPTION}个字", code="description_too_long")
    return title, description


def _optional_text(value: str | None, limit: int, what: str) -> str | None:
    return optional_text(value, limit, what, what)


def _phone(value: str | None) -> str | None:
    if not value or not value.strip():
        return None
    phone = value.strip()
    if not _PHONE.match(phone):
        raise InvalidInputError(f"电话号码“{phone}”格式不正确", code="invalid_phone")
    return phone


def _reported_at(value: dt.datetime | None) -> dt.datetime:
    now = timesource.now()
    if value is None:
        return now
    if value.tzinfo is None:
        raise InvalidInputError("反映时间缺少时区", code="naive_datetime")
    if value > now + dt.timedelta(minutes=5):
        raise InvalidInputError("反映时间不能晚于现在", code="reported_in_future")
    if value.year < EARLIEST_YEAR:  # the working calendar can never cover it: its deadlines would wait forever
        raise InvalidInputError(f"反映时间早于{EARLIEST_YEAR}年，无法计算办理时限", code="reported_too_early")
    return value.astimezone(dt.UTC)


def _next_number(session: Session, settings: Settings) -> str:
    """One numbering scheme for every channel: the Beijing date and a daily sequence, e.g. 20251009000123."""
    today = timesource.now().astimezone(ZoneInfo(settings.timezone)).strftime("%Y%m%d")
    return f"{today}{counters.increment(session, f'case_number:{today}'):06d}"


def _place(session: Session, actor: Actor, case: Case, request: IntakeRequest) -> None:
    if request.lon is None and request.lat is None:
        case.placement = Placement.NO_LOCATION.value
        case.scope_code = _fallback_scope(session, actor, None)
        case.district_code = district_code_of(case.scope_code)
        return
    if request.lon is None or request.lat is None:
        raise InvalidInputError("经纬度须同时填写", code="incomplete_coordinates")
    crs = parse_crs(request.crs)
    apply_location(session, actor, case, place_point(session, request.lon, request.lat, crs), crs)


def apply_location(session: Session, actor: Actor, case: Case, found: LocatedPoint, crs: CRS) -> None:
    case.lon, case.lat, case.input_crs = found.lon, found.lat, crs.value
    if found.node is not None:
        case.placement = Placement.LOCATED.value
        case.grid_node_id = found.node.id
        case.scope_code = found.node.code
        case.nearest_grid_code = None
        case.distance_to_grid_m = None
    else:
        case.placement = Placement.OUTSIDE.value
        case.grid_node_id = None
        case.nearest_grid_code = found.nearest.code if found.nearest else None
        case.distance_to_grid_m = found.distance_m
        case.scope_code = _fallback_scope(session, actor, case.nearest_grid_code)
    case.district_code = district_code_of(case.scope_code)


# The levels a command centre (指挥中心) works at: a street office's, a district's, a city's.
COMMAND_LEVELS = frozenset({GridLevel.STREET, GridLevel.DISTRICT, GridLevel.CITY, GridLevel.PROVINCE})


def _fallback_scope(session: Session, actor: Actor, nearest_code: str | None) -> str:
    """Where a report that could not be placed waits for a person to place it (待落图), so that someone on duty
    always sees it: for a point outside every grid, the nearest grid's street if a command centre covers it, else
    the nearest level up that one covers, else the level up that has command centres below it (they all see its
    placing pool, ``cases.auth.placing_pool_condition``); for a report without a point, where the person taking it
    in works, else the top of the grid stepped down to where it branches (the district of a one-district grid)."""
    index = grid_index(session)
    if nearest_code is not None and nearest_code in index.ids_by_code:
        return _where_on_duty(index, nearest_code, roots_holding(session, Permission.CASE_DISPATCH))
    if actor.grid_codes and actor.grid_codes != ALL_GRIDS:
        return actor.grid_codes[0]
    roots = sorted((ref.code for ref in index.refs.values() if index.parents[ref.id] is None), key=len)
    return index.first_branching(roots[0]) if roots else ""


def _where_on_duty(index: GridIndex, nearest_code: str, on_duty: tuple[str, ...]) -> str:
    path = reversed(index.path(index.ids_by_code[nearest_code]))
    levels_up = [ref.code for ref in path if ref.level in COMMAND_LEVELS]
    for code in levels_up:  # the street first, then up: the deepest level a command centre covers
        if any(code.startswith(root) for root in on_duty):
            return code
    for code in levels_up:  # the deepest level with command centres below it, who see its placing pool
        if any(root.startswith(code) for root in on_duty):
            return code
    return levels_up[-1] if levels_up else nearest_code


def _tracking_code(case: Case) -> str:
    code = secrets.token_hex(4).upper()
    case.tracking_code_hash = tracking_hash(case.number, code)
    return code


def tracking_hash(number: str, code: str) -> str:
    return hashlib.sha256(f"{number}:{code.strip().upper()}".encode()).hexdigest()


def _intake_note(case: Case) -> str:
    placement = Placement(case.placement).label
    return f"{Channel(case.channel).label}受理，{placement}"
