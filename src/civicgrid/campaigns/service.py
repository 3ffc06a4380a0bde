"""Campaigns: launched over a target set of the registry, split into one task per grid for that grid's workers,
filled in on the phone one target after another, with hazards turned into cases.

Launching resolves the targets set-based (one query through the registry's own filters, so the launcher's scope
holds) and writes them in one insert — a street's 70,000 households take seconds. A submission is idempotent on
the phone's own id: retried after a lost connection it returns the first one. A target already done refuses a
second visit with who did it and when (a conflict is refused, not merged). A hazard answer opens a case through
the normal intake (routing, deadlines, history), names the visited record on it, and the submission keeps the
case number; the case's idempotency key makes a retry open it once.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from civicgrid import audit, timesource
from civicgrid.campaigns.models import (
    Campaign,
    CampaignState,
    CampaignSubmission,
    CampaignTarget,
    CampaignTask,
    Outcome,
)
from civicgrid.campaigns.questions import Question, check_answers, check_form, from_json, hazards
from civicgrid.cases.intake import IntakeRequest, intake
from civicgrid.cases.models import Channel
from civicgrid.cases.taxonomy import get_case_type, get_category
from civicgrid.code_prefix import code_in_subtrees
from civicgrid.db import get_by_id
from civicgrid.errors import ConflictError, InvalidInputError, NotFoundError
from civicgrid.grid.models import GridAssignment, GridDuty, GridNode
from civicgrid.json_list import like_pattern
from civicgrid.kpi.periods import BEIJING
from civicgrid.org.actor import Actor
from civicgrid.org.roles import Permission
from civicgrid.registry import links, objects, people
from civicgrid.registry.kinds import KINDS, TAG_LENGTH
from civicgrid.registry.models import Person, PlacedObject, Residence
from civicgrid.registry.people import PeopleFilter
from civicgrid.settings import Settings
from civicgrid.text import checked_text, optional_text

PEOPLE = "people"
VERBS = ("摸排", "排查", "走访")
UNITS = {"house": "户", PEOPLE: "人", "enterprise": "家", "estate": "个", "building": "栋"}
TARGET_KINDS = (PEOPLE, *KINDS)
CHUNK = 5000
MAX_PURPOSE = 1000


@dataclass(frozen=True)
class CampaignSpec:
    name: str
    verb: str
    target_kind: str
    grid_code: str
    deadline: dt.datetime
    questions: list[dict[str, Any]]
    tag: str | None = None
    residence: Residence | None = None
    equal: dict[str, Any] = field(default_factory=dict)  # a kind's field = value (e.g. scale = 规上)
    purpose: str | None = None


@dataclass(frozen=True)
class SubmissionInput:
    client_submission_id: str
    outcome: Outcome = Outcome.VISITED
    answers: Mapping[str, Any] = field(default_factory=dict)


def unit_of(campaign: Campaign) -> str:
    return UNITS.get(campaign.target_kind, "处")


def kind_label(target_kind: str) -> str:
    return "实有人口" if target_kind == PEOPLE else KINDS[target_kind].label


# --- launching --------------------------------------------------------------------------------------------------


def create_campaign(session: Session, actor: Actor, spec: CampaignSpec) -> Campaign:
    """The campaign, its targets resolved now and split into one task per grid."""
    actor.require(Permission.CAMPAIGN_MANAGE, "发起摸排任务")
    name = _checked_spec(actor, spec)
    questions = check_form(session, spec.questions)
    targets = _resolve_targets(session, actor, spec)
    if not targets:
        raise InvalidInputError("该范围内没有符合条件的对象，请调整范围或条件", code="no_targets")
    campaign = Campaign(
        name=name,
        verb=spec.verb,
        purpose=optional_text(spec.purpose, MAX_PURPOSE, "任务说明", "purpose"),
        target_kind=spec.target_kind,
        target_filter=_filter_json(spec),
        scope_code=spec.grid_code,
        questions=[question.to_json() for question in questions],
        deadline=spec.deadline,
        target_count=len(targets),
        created_by_label=actor.label,
        created_at=timesource.now(),
    )
    session.add(campaign)
    session.flush()
    task_ids = _tasks(session, campaign, targets)
    object_type = links.PERSON if spec.target_kind == PEOPLE else spec.target_kind
    rows = [
        {
            "campaign_id": campaign.id,
            "task_id": task_ids[scope],
            "object_type": object_type,
            "object_id": record_id,
            "scope_code": scope,
            "label": (name or "（未命名）")[:200],
            "address": address,
        }
        for record_id, scope, name, address in targets
    ]
    for start in range(0, len(rows), CHUNK):
        session.execute(insert(CampaignTarget), rows[start : start + CHUNK])
    detail = {"name": campaign.name, "targets": len(rows), "tasks": len(task_ids)}
    audit.record(session, actor, "campaign.create", "campaign", campaign.id, detail)
    return campaign


def close_campaign(session: Session, actor: Actor, campaign_id: int) -> Campaign:
    actor.require(Permission.CAMPAIGN_MANAGE, "结束摸排任务")
    campaign = get_campaign(session, actor, campaign_id)
    actor.require_grid(campaign.scope_code, "结束该摸排任务")
    if campaign.state == CampaignState.CLOSED.value:
        raise ConflictError("该任务已结束", code="campaign_closed")
    campaign.state, campaign.closed_at = CampaignState.CLOSED.value, timesource.now()
    audit.record(session, actor, "campaign.close", "campaign", campaign.id, {"name": campaign.name})
    return campaign


def _checked_spec(actor: Actor, spec: CampaignSpec) -> str:
    name = checked_text(spec.name, 200, "任务名称", "name")
    if not name:
        raise InvalidInputError("请填写任务名称（最多200字）", code="name_required")
    optional_text(spec.tag, TAG_LENGTH, "标签", "tag")
    if spec.verb not in VERBS:
        raise InvalidInputError(f"任务类型应为：{'、'.join(VERBS)}", code="bad_verb")
    if spec.target_kind not in TARGET_KINDS:
        raise InvalidInputError(f"未知的对象类别“{spec.target_kind}”", code="unknown_kind")
    if spec.deadline.tzinfo is None:
        raise InvalidInputError("截止时间缺少时区", code="naive_deadline")
    if spec.deadline <= timesource.now():
        raise InvalidInputError("截止时间应晚于现在", code="deadline_past")
    actor.require_grid(spec.grid_code, "在该网格发起摸排")
    return name


def _resolve_targets(session: Session, actor: Actor, spec: CampaignSpec) -> list[tuple[int, str, str, str | None]]:
    """(id, scope code, name, address) of every target, through the registry's own filters and the actor's scope."""
    if spec.target_kind == PEOPLE:
        people_stmt = people.matching(
            actor, PeopleFilter(grid_code=spec.grid_code, tag=spec.tag, residence=spec.residence)
        )
        stmt = people_stmt.with_only_columns(Person.id, Person.scope_code, Person.name, Person.address)
        return [tuple(row) for row in session.execute(stmt.order_by(Person.scope_code, Person.id))]  # type: ignore[misc]
    model = KINDS[spec.target_kind].model
    kind_stmt = objects.matching(spec.target_kind, actor, grid_code=spec.grid_code, tag=spec.tag, equal=spec.equal)
    stmt = kind_stmt.with_only_columns(model.id, model.scope_code, model.name, model.address)
    return [tuple(row) for row in session.execute(stmt.order_by(model.scope_code, model.id))]  # type: ignore[misc]


def _filter_json(spec: CampaignSpec) -> dict[str, Any]:
    chosen = {"grid_code": spec.grid_code, "tag": spec.tag, "residence": spec.residence, "equal": spec.equal}
    return {name: (value.value if isinstance(value, Residence) else value) for name, value in chosen.items() if value}


def _tasks(session: Session, campaign: Campaign, targets: Iterable[tuple[int, str, str, str | None]]) -> dict[str, int]:
    """One task per grid holding targets, for that grid's workers — or those of the nearest grid up that has any."""
    counts: dict[str, int] = defaultdict(int)
    for _, scope, _, _ in targets:
        counts[scope] += 1
    names = dict(session.execute(select(GridNode.code, GridNode.name).where(GridNode.code.in_(list(counts)))).all())
    workers = _workers_by_grid(session, campaign.scope_code)
    ids: dict[str, int] = {}
    for code, count in sorted(counts.items()):
        assignees = next((workers[prefix] for prefix in _up_from(code) if prefix in workers), [])
        task = CampaignTask(
            campaign_id=campaign.id,
            grid_code=code,
            grid_name=names.get(code, code),
            assignee_ids=assignees,
            target_count=count,
        )
        session.add(task)
        session.flush()
        ids[code] = task.id
    return ids


def _workers_by_grid(session: Session, scope_code: str) -> dict[str, list[int]]:
    stmt = (
        select(GridNode.code, GridAssignment.user_id)
        .join(GridNode, GridNode.id == GridAssignment.grid_node_id)
        .where(GridAssignment.duty == GridDuty.GRID_WORKER.value)
        .where(or_(code_in_subtrees(GridNode.code, (scope_code,)), GridNode.code.in_(_up_from(scope_code))))
    )
    found: dict[str, list[int]] = defaultdict(list)
    for code, user_id in session.execute(stmt):
        found[code].append(int(user_id))
    return {code: sorted(ids) for code, ids in found.items()}


def _up_from(code: str) -> list[str]:
    """The code and every shorter prefix of it, longest first: the grid and the grids above it."""
    return [code[:length] for length in range(len(code), 0, -1)]


# --- reading ----------------------------------------------------------------------------------------------------


def list_campaigns(session: Session, actor: Actor) -> list[Campaign]:
    """The campaigns covering the actor's grids or inside them, newest first."""
    actor.require(Permission.REGISTRY_READ, "查看摸排任务")
    campaigns = session.scalars(select(Campaign).order_by(Campaign.created_at.desc(), Campaign.id.desc())).all()
    return [campaign for campaign in campaigns if actor.sees_grid(campaign.scope_code)]


def get_campaign(session: Session, actor: Actor, campaign_id: int) -> Campaign:
    actor.require(Permission.REGISTRY_READ, "查看摸排任务")
    campaign = get_by_id(session, Campaign, campaign_id)
    if campaign is None or not actor.sees_grid(campaign.scope_code):
        raise NotFoundError(f"找不到摸排任务{campaign_id}，或不在管辖范围内", code="campaign_not_found")
    return campaign


def questions_of(campaign: Campaign) -> list[Question]:
    return from_json(campaign.questions)


def find_targets(
    session: Session,
    actor: Actor,
    campaign: Campaign,
    *,
    undone_only: bool = False,
    text: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> tuple[list[CampaignTarget], int]:
    """The campaign's targets in the actor's grids, the ones still to do first."""
    stmt = select(CampaignTarget).where(
        CampaignTarget.campaign_id == campaign.id, code_in_subtrees(CampaignTarget.scope_code, actor.grid_codes)
    )
    if undone_only:
        stmt = stmt.where(CampaignTarget.done_at.is_(None))
    if text and text.strip():
        pattern = like_pattern(text)
        stmt = stmt.where(
            or_(CampaignTarget.label.like(pattern, escape="/"), CampaignTarget.address.like(pattern, escape="/"))
        )
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    ordered = stmt.order_by(
        CampaignTarget.done_at.is_not(None), CampaignTarget.scope_code, CampaignTarget.address, CampaignTarget.id
    )
    return list(session.scalars(ordered.limit(limit).offset(offset))), total


def get_target(session: Session, actor: Actor, campaign: Campaign, target_id: int) -> CampaignTarget:
    target = get_by_id(session, CampaignTarget, target_id)
    if target is None or target.campaign_id != campaign.id or not actor.covers_grid(target.scope_code):
        raise NotFoundError(f"找不到{campaign.verb}对象{target_id}，或不在管辖范围内", code="target_not_found")
    return target


def submissions_of(session: Session, target: CampaignTarget) -> list[CampaignSubmission]:
    stmt = select(CampaignSubmission).where(CampaignSubmission.target_id == target.id)
    return list(session.scalars(stmt.order_by(CampaignSubmission.submitted_at, CampaignSubmission.id)))


# --- visiting ---------------------------------------------------------------------------------------------------


def submit(
    session: Session,
    actor: Actor,
    campaign_id: int,
    target_id: int,
    given: SubmissionInput,
    *,
    settings: Settings | None = None,
) -> tuple[CampaignSubmission, bool]:
    """The visit's form; (the submission, whether it is new). Sent again with the same client id, the first one
    comes back unchanged."""
    actor.require(Permission.CAMPAIGN_VISIT, "填报摸排")
    client_id = _client_id(given.client_submission_id)
    earlier = _by_client_id(session, campaign_id, client_id)
    if earlier is not None:
        return _replayed(actor, earlier, target_id), False
    campaign = get_campaign(session, actor, campaign_id)
    if campaign.state != CampaignState.OPEN.value:
        raise ConflictError(f"“{campaign.name}”已结束，不能再填报", code="campaign_closed")
    target = get_target(session, actor, campaign, target_id)
    _refuse_done(session, campaign, target)
    answers = check_answers(questions_of(campaign), given.answers) if given.outcome is Outcome.VISITED else {}
    try:
        with session.begin_nested():
            submission = _record(session, actor, campaign, target, client_id, given.outcome, answers)
            if given.outcome is Outcome.VISITED:
                submission.case_numbers = _report_hazards(session, actor, campaign, target, submission, settings)
                target.done_at, target.done_by_user_id = submission.submitted_at, actor.user_id
            session.flush()
    except IntegrityError:  # the same client id, sent twice at once: the other request won
        existing = _by_client_id(session, campaign_id, client_id)
        if existing is None:
            raise
        return _replayed(actor, existing, target_id), False
    return submission, True


def _client_id(value: str) -> str:
    text = (value or "").strip()
    if not 8 <= len(text) <= 64:
        raise InvalidInputError("缺少提交编号（8至64个字符），请刷新页面后重新填写", code="client_id_required")
    return text


def _by_client_id(session: Session, campaign_id: int, client_id: str) -> CampaignSubmission | None:
    stmt = select(CampaignSubmission).where(
        CampaignSubmission.campaign_id == campaign_id, CampaignSubmission.client_submission_id == client_id
    )
    return session.scalars(stmt).first()


def _replayed(actor: Actor, submission: CampaignSubmission, target_id: int) -> CampaignSubmission:
    """The first submission, for its sender's retry. A submission id belongs to whoever sent it: anyone else
    repeating it (by accident or to look) is refused, and the refusal says nothing of the visit."""
    if submission.submitted_by_user_id != actor.user_id or (actor.user_id is None and not actor.is_system):
        raise ConflictError("该提交编号已被使用，请刷新页面后重新填写", code="client_id_taken")
    if submission.target_id != target_id:
        raise ConflictError("该提交编号已用于另一个对象，请刷新页面后重新填写", code="client_id_reused")
    return submission


def _refuse_done(session: Session, campaign: Campaign, target: CampaignTarget) -> None:
    if target.done_at is None:
        return
    done = session.scalars(
        select(CampaignSubmission)
        .where(CampaignSubmission.target_id == target.id, CampaignSubmission.outcome == Outcome.VISITED.value)
        .order_by(CampaignSubmission.id)
    ).first()
    who = f"{done.submitted_by_label}已于{_beijing(done.submitted_at)}" if done else "已"
    raise ConflictError(f"“{target.label}”{who}完成{campaign.verb}，不能重复填报", code="already_done")


def _record(
    session: Session,
    actor: Actor,
    campaign: Campaign,
    target: CampaignTarget,
    client_id: str,
    outcome: Outcome,
    answers: dict[str, Any],
) -> CampaignSubmission:
    submission = CampaignSubmission(
        campaign_id=campaign.id,
        target_id=target.id,
        client_submission_id=client_id,
        outcome=outcome.value,
        answers=answers,
        case_numbers=[],
        submitted_by_user_id=actor.user_id,
        submitted_by_label=actor.label,
        submitted_at=timesource.now(),
    )
    session.add(submission)
    session.flush()
    return submission


def _report_hazards(
    session: Session,
    actor: Actor,
    campaign: Campaign,
    target: CampaignTarget,
    submission: CampaignSubmission,
    settings: Settings | None,
) -> list[str]:
    """A case per hazard answer, at the visited record's place, naming the record."""
    found = hazards(questions_of(campaign), submission.answers)
    if not found:
        return []
    record = _record_of(session, target)
    numbers = []
    for question in found:
        note = submission.answers.get("note")
        request = IntakeRequest(
            channel=Channel.GRID_PATROL,
            title=f"{campaign.verb}发现：{question.label}",
            description=f"“{campaign.name}”{campaign.verb}{target.label}时发现：{question.label}（{question.hazard_when}）"
            + (f"。{note}" if note else ""),
            category_code=question.hazard_category,
            lon=record.lon if record is not None else None,
            lat=record.lat if record is not None else None,
            crs="wgs84" if record is not None and record.lon is not None else None,
            address=target.address or target.label,
            extra=_required_extra(session, question.hazard_category, target),
            idempotency_key=f"campaign-{submission.client_submission_id}-{question.key}",
        )
        case = intake(session, actor, request, settings=settings).case
        links.link(session, actor, case.number, target.object_type, target.object_id)
        numbers.append(case.number)
    return numbers


def _required_extra(session: Session, category_code: str | None, target: CampaignTarget) -> dict[str, Any]:
    """The fields the category's case type requires, which the visit form did not ask: the visited record as the
    text (检查单位, 当事人 …), the first choice (隐患等级 一般) — the dispatcher refines them on registering."""
    if category_code is None:
        return {}
    type_code = get_category(session, category_code).case_type_code
    if type_code is None:
        return {}
    extra: dict[str, Any] = {}
    for spec in get_case_type(session, type_code).fields:
        if spec.get("required"):
            choices = spec.get("choices") or []
            extra[spec["name"]] = choices[0] if choices else (False if spec["type"] == "boolean" else target.label)
    return extra


def _record_of(session: Session, target: CampaignTarget) -> Person | PlacedObject | None:
    model: Any = Person if target.object_type == links.PERSON else KINDS[target.object_type].model
    found: Person | PlacedObject | None = session.get(model, target.object_id)
    return found


def _beijing(moment: dt.datetime) -> str:
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
