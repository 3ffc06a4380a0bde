"""摸排走访 in the workbench: the campaigns list, launching one from a ready-made form, its progress (per grid, per
worker, the report sentence, export), and the grid worker's phone pages — the households still to visit, one form
after another.

The visit form carries a submission id made when the form is shown: a form sent twice (a double tap, a retry after
the connection dropped) is one submission. A refused answer shows next to its question with what was typed kept.
"""

from __future__ import annotations

import datetime as dt
import uuid
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from civicgrid.campaigns import progress as campaign_progress
from civicgrid.campaigns import service
from civicgrid.campaigns.models import Outcome
from civicgrid.campaigns.questions import FORM_TEXT_EXAMPLE, PRESET_BY_KEY, PRESETS, form_text, parse_form_text
from civicgrid.errors import CivicgridError, InvalidInputError
from civicgrid.excel import xlsx_response
from civicgrid.http.bounds import PageNumber, RecordId
from civicgrid.http.deps import CSRF_CHECKED, ReadSession, SignedIn
from civicgrid.http.errors import status_for
from civicgrid.http.routing import session_router
from civicgrid.org.actor import Actor
from civicgrid.org.roles import Permission
from civicgrid.registry.models import PERSON_TAGS
from civicgrid.registry.placing import home_grid
from civicgrid.web.admin import SubmittedForm, text, write
from civicgrid.web.render import BEIJING, page

router = session_router(include_in_schema=False, dependencies=CSRF_CHECKED)
PAGE_SIZE = 20
CUSTOM = "custom"  # the form typed on the page
DEADLINE_HOUR = 18  # a deadline day ends at 18:00 Beijing time, the end of the working day


@router.get("/campaigns", response_class=HTMLResponse)
def campaign_list(request: Request, session: ReadSession, actor: SignedIn) -> HTMLResponse:
    campaigns = service.list_campaigns(session, actor)
    rows = [(campaign, campaign_progress.progress(session, actor, campaign)) for campaign in campaigns]
    context = {"actor": actor, "rows": rows, "may_manage": actor.has(Permission.CAMPAIGN_MANAGE)}
    return page(request, "campaigns/list.html", context)


@router.get("/campaigns/new", response_class=HTMLResponse)
def campaign_new(request: Request, actor: SignedIn) -> HTMLResponse:
    actor.require(Permission.CAMPAIGN_MANAGE, "发起摸排任务")
    return _new_page(request, actor, {"grid_code": _default_grid(actor), "verb": "摸排"}, {})


@router.post("/campaigns", response_class=HTMLResponse)
def campaign_create(request: Request, actor: SignedIn, form: SubmittedForm) -> Response:
    values = {name: text(form, name) for name in ("name", "verb", "preset", "target_kind", "tag", "grid_code")}
    values |= {"deadline": text(form, "deadline"), "purpose": text(form, "purpose")}
    raw_form = form.get("form_text")
    values["form_text"] = raw_form[:5000] if isinstance(raw_form, str) else ""  # lines kept as typed
    try:
        spec = _spec(values)
        created = write(request, lambda session: service.create_campaign(session, actor, spec))
    except CivicgridError as error:
        return _new_page(request, actor, values, {"_form": error.message}, status_for(error))
    return RedirectResponse(f"/campaigns/{created.id}", status_code=303)


@router.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
def campaign_detail(request: Request, session: ReadSession, actor: SignedIn, campaign_id: RecordId) -> HTMLResponse:
    campaign = service.get_campaign(session, actor, campaign_id)
    view = campaign_progress.progress(session, actor, campaign)
    context = {
        "actor": actor,
        "campaign": campaign,
        "view": view,
        "sentence": campaign_progress.summary_sentence(view),
        "questions": service.questions_of(campaign),
        "kind_label": service.kind_label(campaign.target_kind),
        "unit": service.unit_of(campaign),
        "may_visit": actor.has(Permission.CAMPAIGN_VISIT) and campaign.state == "open",
        "may_close": actor.has(Permission.CAMPAIGN_MANAGE)
        and actor.covers_grid(campaign.scope_code)
        and campaign.state == "open",
    }
    return page(request, "campaigns/detail.html", context)


@router.post("/campaigns/{campaign_id}/close")
def campaign_close(request: Request, actor: SignedIn, campaign_id: RecordId) -> Response:
    write(request, lambda session: service.close_campaign(session, actor, campaign_id))
    return RedirectResponse(f"/campaigns/{campaign_id}", status_code=303)


@router.get("/campaigns/{campaign_id}/export.xlsx")
def campaign_export(session: ReadSession, actor: SignedIn, campaign_id: RecordId) -> Response:
    campaign = service.get_campaign(session, actor, campaign_id)
    content = campaign_progress.export_answers(session, actor, campaign)
    filename = f"{campaign.name}（{campaign.verb}结果）.xlsx"
    return xlsx_response(content, filename)


@router.get("/campaigns/{campaign_id}/visit", response_class=HTMLResponse)
def visit_list(
    request: Request,
    session: ReadSession,
    actor: SignedIn,
    campaign_id: RecordId,
    q: str = "",
    all: str = "",
    page_number: PageNumber = 1,
    done: str = "",
) -> HTMLResponse:
    campaign = service.get_campaign(session, actor, campaign_id)
    number = max(page_number, 1)
    targets, total = service.find_targets(
        session, actor, campaign, undone_only=not all, text=q, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE
    )
    view = campaign_progress.progress(session, actor, campaign)
    context = {
        "actor": actor,
        "campaign": campaign,
        "view": view,
        "targets": targets,
        "total": total,
        "query": {"q": q, "all": all},
        "page_number": number,
        "more": number * PAGE_SIZE < total,
        "unit": service.unit_of(campaign),
        "done": done,
    }
    return page(request, "campaigns/visit.html", context)


@router.get("/campaigns/{campaign_id}/targets/{target_id}", response_class=HTMLResponse)
def target_form(
    request: Request, session: ReadSession, actor: SignedIn, campaign_id: RecordId, target_id: RecordId
) -> Response:
    return _target_page(request, session, actor, campaign_id, target_id, {}, {}, uuid.uuid4().hex)


@router.post("/campaigns/{campaign_id}/targets/{target_id}", response_class=HTMLResponse)
def target_submit(
    request: Request,
    session: ReadSession,
    actor: SignedIn,
    campaign_id: RecordId,
    target_id: RecordId,
    form: SubmittedForm,
) -> Response:
    campaign = service.get_campaign(session, actor, campaign_id)
    answers = {question.key: text(form, f"q_{question.key}") for question in service.questions_of(campaign)}
    client_id = text(form, "client_submission_id")
    outcome = Outcome.NOT_REACHED if text(form, "outcome") == Outcome.NOT_REACHED.value else Outcome.VISITED
    given = service.SubmissionInput(client_id, outcome, {key: value for key, value in answers.items() if value})
    settings = request.app.state.settings
    try:
        submission, _ = write(
            request, lambda writer: service.submit(writer, actor, campaign_id, target_id, given, settings=settings)
        )
    except CivicgridError as error:
        errors = {str(error.detail.get("key", "_form")): error.message}
        return _target_page(
            request, session, actor, campaign_id, target_id, answers, errors, client_id, status_for(error)
        )
    note = "已记录未遇，稍后再访" if submission.outcome == Outcome.NOT_REACHED.value else "已提交"
    if submission.case_numbers:
        note += f"，发现隐患已转案件{'、'.join(submission.case_numbers)}"
    return RedirectResponse(f"/campaigns/{campaign_id}/visit?{urlencode({'done': note})}", status_code=303)


# --- the parts --------------------------------------------------------------------------------------------------


def _target_page(
    request: Request,
    session: Session,
    actor: Actor,
    campaign_id: int,
    target_id: int,
    answers: dict[str, str],
    errors: dict[str, str],
    client_id: str,
    status_code: int = 200,
) -> HTMLResponse:
    campaign = service.get_campaign(session, actor, campaign_id)
    target = service.get_target(session, actor, campaign, target_id)
    context = {
        "actor": actor,
        "campaign": campaign,
        "target": target,
        "questions": service.questions_of(campaign),
        "answers": answers,
        "errors": errors,
        "client_id": client_id,
        "history": service.submissions_of(session, target),
        "outcomes": list(Outcome),
    }
    return page(request, "campaigns/target.html", context, status_code=status_code)


def _new_page(
    request: Request, actor: Actor, values: dict[str, str], errors: dict[str, str], status_code: int = 200
) -> HTMLResponse:
    kinds = [(key, service.kind_label(key)) for key in service.TARGET_KINDS]
    context = {
        "actor": actor,
        "values": values,
        "errors": errors,
        "presets": PRESETS,
        "verbs": service.VERBS,
        "kinds": kinds,
        "tags": PERSON_TAGS,
        "custom": CUSTOM,
        "example": FORM_TEXT_EXAMPLE,
        "preset_texts": [(preset.title, form_text(preset.questions)) for preset in PRESETS],
    }
    return page(request, "campaigns/new.html", context, status_code=status_code)


def _spec(values: dict[str, str]) -> service.CampaignSpec:
    """From a ready-made form (its object kind and tag the defaults), or from the questions typed one per line."""
    if values["preset"] == CUSTOM:
        if not values["target_kind"]:
            raise InvalidInputError("自定义表单请选择对象类别", code="target_kind_required")
        questions, verb, kind, tag = parse_form_text(values["form_text"]), "摸排", values["target_kind"], None
    else:
        preset = PRESET_BY_KEY.get(values["preset"])
        if preset is None:
            raise InvalidInputError("请选择表单", code="preset_required")
        questions, verb, kind = list(preset.questions), preset.verb, values["target_kind"] or preset.target_kind
        tag = preset.tag if not values["target_kind"] else None
    return service.CampaignSpec(
        name=values["name"],
        verb=values["verb"] or verb,
        target_kind=kind,
        grid_code=values["grid_code"],
        deadline=_deadline(values["deadline"]),
        questions=questions,
        tag=values["tag"] or tag,
        purpose=values["purpose"],
    )


def _deadline(value: str) -> dt.datetime:
    try:
        day = dt.date.fromisoformat(value)
    except ValueError as error:
        raise InvalidInputError("请填写截止日期（如 2026-12-31）", code="deadline_required") from error
    return dt.datetime(day.year, day.month, day.day, DEADLINE_HOUR, tzinfo=BEIJING)


def _default_grid(actor: Actor) -> str:
    try:
        return home_grid(actor)
    except InvalidInputError:
        return ""
