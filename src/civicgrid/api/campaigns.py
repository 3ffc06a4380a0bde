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
from civicgrid.excel import xlsx_response
from civicgrid.http.deps import CurrentActor, ReadSession, WriteSession
from civicgrid.http.routing import session_router
from civicgrid.registry.models import Residence

router = session_router(prefix="/api/v1/campaigns", tags=["campaigns"])


class CampaignIn(BaseModel):
    name: str
    verb: str = Field(description="摸排 | 排查 | 走访")
    target_kind: str = Field(description="people, or a registry kind key (house, enterprise …)")
    grid_code: str
    deadline: AwareDatetime = Field(description="with its zone, e.g. 2026-12-31T18:00:00+08:00")
    questions: list[dict[str, Any]] = Field(
        description="[{key, label, type: text|number|choice|yes_no, required, choices, hazard_when, hazard_category}]"
    )
    tag: str | None = None
    residence: Residence | None = None
    equal: dict[str, Any] = Field(default_factory=dict)
    purpose: str | None = None


class SubmissionIn(BaseModel):
    client_submission_id: str = Field(min_length=8, max_length=64)
    outcome: Outcome = Outcome.VISITED
    answers: dict[str, Any] = Field(default_factory=dict)


@router.post("", status_code=status.HTTP_201_CREATED)
def campaign_create(session: WriteSession, actor: CurrentActor, body: CampaignIn) -> dict[str, Any]:
    spec = service.CampaignSpec(**body.model_dump())
    return _campaign(service.create_campaign(session, actor, spec))


@router.get("")
def campaign_list(session: ReadSession, actor: CurrentActor) -> list[dict[str, Any]]:
    return [_campaign(campaign) for campaign in service.list_campaigns(session, actor)]


@router.get("/{campaign_id}")
def campaign_read(session: ReadSession, actor: CurrentActor, campaign_id: int) -> dict[str, Any]:
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


@router.post("/{campaign_id}/close")
def campaign_close(session: WriteSession, actor: CurrentActor, campaign_id: int) -> dict[str, Any]:
    return _campaign(service.close_campaign(session, actor, campaign_id))


@router.get("/{campaign_id}/targets")
def campaign_targets(
    session: ReadSession,
    actor: CurrentActor,
    campaign_id: int,
    undone: bool = True,
    q: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """The targets in the caller's grids (by default the ones still to do) — what a phone downloads to go offline."""
    campaign = service.get_campaign(session, actor, campaign_id)
    targets, total = service.find_targets(
        session, actor, campaign, undone_only=undone, text=q, limit=limit, offset=offset
    )
    return {"total": total, "items": [_target(target) for target in targets]}


@router.post("/{campaign_id}/targets/{target_id}/submissions", status_code=status.HTTP_201_CREATED)
def campaign_submit(
    request: Request,
    response: Response,
    session: WriteSession,
    actor: CurrentActor,
    campaign_id: int,
    target_id: int,
    body: SubmissionIn,
) -> dict[str, Any]:
    given = service.SubmissionInput(body.client_submission_id, body.outcome, body.answers)
    settings = request.app.state.settings
    submission, created = service.submit(session, actor, campaign_id, target_id, given, settings=settings)
    if not created:
        response.status_code = status.HTTP_200_OK
    return _submission(submission)


@router.get("/{campaign_id}/export.xlsx")
def campaign_export(session: ReadSession, actor: CurrentActor, campaign_id: int) -> Response:
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
