"""JSON API of the campaigns (摸排/排查/走访): launch one with its form, read its progress and report sentence, list
the targets still to visit, submit a visit — idempotent on ``client_submission_id``, so an offline phone may send
its queue again — and export the answers.

``POST /api/v1/campaigns/{id}/targets/{target_id}/submissions`` answers 201 for a new submission and 200 with the
first one when the id was sent before; a target already done is a 409 naming who did it.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import Query, Request, Response, status
from pydantic import AwareDatetime, BaseModel, Field

from civicgrid.campaigns import progress as campaign_progress
from civicgrid.campaigns import service
from civicgrid.campaigns.models import Campaign, CampaignSubmission, CampaignTarget, Outcome
from civicgrid.campaigns.questions import MAX_QUESTIONS
from civicgrid.campaigns.service import MAX_PURPOSE
from civicgrid.excel import xlsx_response
from civicgrid.http.bounds import CODE_LENGTH, Limit, Offset, RecordId, TextFilter
from civicgrid.http.deps import CurrentActor, ReadSession, WriteSession
from civicgrid.http.openapi import XLSX
from civicgrid.http.routing import session_router
from civicgrid.registry.kinds import TAG_LENGTH
from civicgrid.registry.models import Residence

router = session_router(prefix="/api/v1/campaigns", tags=["摸排走访"])


class CampaignIn(BaseModel):
    name: str = Field(max_length=200, description="任务名称")
    verb: str = Field(max_length=8, description="任务类型：摸排、排查或走访")
    target_kind: str = Field(
        max_length=32, description="对象类别：people（实有人口）或登记对象类别（house、enterprise……）"
    )
    grid_code: str = Field(max_length=CODE_LENGTH, description="范围：网格代码")
    deadline: AwareDatetime = Field(description="截止时间，须带时区，如 2026-12-31T18:00:00+08:00")
    questions: list[dict[str, Any]] = Field(
        max_length=MAX_QUESTIONS,
        description="问题：[{key 编号, label 题目, type 类型 text|number|choice|yes_no, required 必答, choices 选项, "
        "hazard_when 表示隐患的答案, hazard_category 隐患案件类别}]",
    )
    tag: str | None = Field(None, max_length=TAG_LENGTH, description="只含带此标签的对象")
    residence: Residence | None = Field(None, description="实有人口：居住类型")
    equal: dict[str, Any] = Field(default_factory=dict, max_length=10, description='字段等于某值，如 {"scale": "规上"}')
    purpose: str | None = Field(None, max_length=MAX_PURPOSE, description="任务说明")


class SubmissionIn(BaseModel):
    client_submission_id: str = Field(min_length=8, max_length=64, description="本次填报的编号（由手机生成，重发幂等）")
    outcome: Outcome = Field(Outcome.VISITED, description="结果：已走访或未遇")
    answers: dict[str, Any] = Field(default_factory=dict, max_length=MAX_QUESTIONS, description="问题编号 → 回答")


@router.post("", summary="发起摸排任务", status_code=status.HTTP_201_CREATED)
def campaign_create(session: WriteSession, actor: CurrentActor, body: CampaignIn) -> dict[str, Any]:
    spec = service.CampaignSpec(**body.model_dump())
    return _campaign(service.create_campaign(session, actor, spec))


@router.get("", summary="摸排任务列表")
def campaign_list(session: ReadSession, actor: CurrentActor) -> list[dict[str, Any]]:
    return [_campaign(campaign) for campaign in service.list_campaigns(session, actor)]


@router.get(
    "/{campaign_id}", summary="任务详情与进度", description="任务及其在本人管辖网格内的进度（按网格、按人员）和总结句。"
)
def campaign_read(session: ReadSession, actor: CurrentActor, campaign_id: RecordId) -> dict[str, Any]:
    """The campaign with its progress within the caller's grids, and the report sentence."""
    campaign = service.get_campaign(session, actor, campaign_id)
    view = campaign_progress.progress(session, actor, campaign)
    figures = {name: getattr(view, name) for name in ("total", "done", "overdue", "people", "hazards", "cases")}
    return _campaign(campaign) | {
        "progress": figures | {"percent": view.percent},
        "grids": [asdict(row) | {"percent": row.percent} for row in view.grids],
        "workers": [asdict(row) for row in view.workers],
        "sentence": campaign_progress.summary_sentence(view),
    }


@router.post("/{campaign_id}/close", summary="结束任务")
def campaign_close(session: WriteSession, actor: CurrentActor, campaign_id: RecordId) -> dict[str, Any]:
    return _campaign(service.close_campaign(session, actor, campaign_id))


@router.get(
    "/{campaign_id}/targets",
    summary="任务对象清单",
    description="本人管辖网格内的任务对象（默认只列未完成的），手机离线前下载。",
)
def campaign_targets(
    session: ReadSession,
    actor: CurrentActor,
    campaign_id: RecordId,
    undone: Annotated[bool, Query(description="只列未完成的")] = True,
    q: TextFilter = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    """The targets in the caller's grids (by default the ones still to do) — what a phone downloads to go offline."""
    campaign = service.get_campaign(session, actor, campaign_id)
    targets, total = service.find_targets(
        session, actor, campaign, undone_only=undone, text=q, limit=limit, offset=offset
    )
    return {"total": total, "items": [_target(target) for target in targets]}


@router.post(
    "/{campaign_id}/targets/{target_id}/submissions",
    summary="填报一户（一个对象）",
    description="新填报返回 201；同一填报编号重发返回第一次的结果（200）；对象已由他人完成返回 409。",
    status_code=status.HTTP_201_CREATED,
)
def campaign_submit(
    request: Request,
    response: Response,
    session: WriteSession,
    actor: CurrentActor,
    campaign_id: RecordId,
    target_id: RecordId,
    body: SubmissionIn,
) -> dict[str, Any]:
    given = service.SubmissionInput(body.client_submission_id, body.outcome, body.answers)
    settings = request.app.state.settings
    submission, created = service.submit(session, actor, campaign_id, target_id, given, settings=settings)
    if not created:
        response.status_code = status.HTTP_200_OK
    return _submission(submission)


@router.get("/{campaign_id}/export.xlsx", summary="导出填报结果（Excel）", **XLSX)
def campaign_export(session: ReadSession, actor: CurrentActor, campaign_id: RecordId) -> Response:
    campaign = service.get_campaign(session, actor, campaign_id)
    content = campaign_progress.export_answers(session, actor, campaign)
    return xlsx_response(content, f"{campaign.name}.xlsx")


def _campaign(campaign: Campaign) -> dict[str, Any]:
    return {
        "id": campaign.id,
        "name": campaign.name,
        "verb": campaign.verb,
        "target_kind": campaign.target_kind,
        "target_filter": campaign.target_filter,
        "scope_code": campaign.scope_code,
        "questions": campaign.questions,
        "deadline": campaign.deadline.isoformat(),
        "state": campaign.state,
        "target_count": campaign.target_count,
    }


def _target(target: CampaignTarget) -> dict[str, Any]:
    return {
        "id": target.id,
        "object_type": target.object_type,
        "object_id": target.object_id,
        "label": target.label,
        "address": target.address,
        "scope_code": target.scope_code,
        "done_at": target.done_at.isoformat() if target.done_at else None,
    }


def _submission(submission: CampaignSubmission) -> dict[str, Any]:
    return {
        "id": submission.id,
        "target_id": submission.target_id,
        "client_submission_id": submission.client_submission_id,
        "outcome": submission.outcome,
        "answers": submission.answers,
        "case_numbers": submission.case_numbers,
        "submitted_by": submission.submitted_by_label,
        "submitted_at": submission.submitted_at.isoformat(),
    }
