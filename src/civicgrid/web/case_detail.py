"""One case: its facts, map, attachments and history, and a form for each action the actor may take now."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid import audit
from civicgrid.cases import public, queries
from civicgrid.cases.actions import perform
from civicgrid.cases.attachments import stored_path
from civicgrid.cases.auth import available_actions, in_placing_pool, mask_name, mask_phone, reads_as_reporter
from civicgrid.cases.held_uploads import HeldUpload
from civicgrid.cases.models import Attachment, Case, Rating
from civicgrid.cases.routing import suggest
from civicgrid.cases.views import case_view, event_label
from civicgrid.cases.workflow import Action
from civicgrid.errors import CivicgridError, ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from civicgrid.grid.codes import GridLevel
from civicgrid.grid.index import GridIndex, grid_index
from civicgrid.http.bounds import RecordId
from civicgrid.http.deps import CSRF_CHECKED, ReadSession, SignedIn, WriteSession
from civicgrid.http.routing import session_router
from civicgrid.http.security import uploaded_file
from civicgrid.org.actor import Actor
from civicgrid.org.roles import Permission
from civicgrid.registry import links
from civicgrid.web.action_forms import CATEGORY, DEPARTMENTS, FORMS, action_input
from civicgrid.web.forms import SubmittedForm, category_options, department_options, error_map
from civicgrid.web.held_photos import photos_of
from civicgrid.web.render import page

router = session_router(include_in_schema=False, dependencies=CSRF_CHECKED)
TAKEN_MESSAGES = {"created": "已受理", "repeat": "该问题此前已受理，这是原案件"}


@router.get("/cases/{number}", response_class=HTMLResponse)
def case_detail(request: Request, number: str, session: ReadSession, actor: SignedIn) -> Response:
    case = queries.get_case(session, actor, number)
    done = request.query_params.get("done", "")
    taken = {"created": "已受理", "repeat": "该问题此前已受理，这是原案件"}.get(
        request.query_params.get("taken", ""), ""
    )
    return _render(request, session, actor, case, done=done, taken=taken)


def _render(
    request: Request,
    session: Session,
    actor: Actor,
    case: Case,
    *,
    done: str = "",
    taken: str = "",
    failed: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
    kept: list[HeldUpload] | None = None,
) -> Response:
    if reads_as_reporter(actor):
        return _reporter_page(request, session, actor, case, done=done, errors=errors, values=values,
                              status_code=status_code)  # fmt: skip
    view = case_view(session, actor, case)
    events = queries.history(session, actor, case.number)
    files = queries.attachments_of(session, actor, case.number)
    by_event: dict[int | None, list[Attachment]] = defaultdict(list)
    for attachment in files:
        by_event[attachment.event_id].append(attachment)
    offered = available_actions(actor, case)
    needs = {field for action in offered for field in FORMS[action].fields}
    context = {
        "case": case,
        "view": view,
        "masked_name": mask_name(case.reporter_name),
        "masked_phone": mask_phone(case.reporter_phone),
        "may_reveal": _may_see_contact(actor, case),
        "timeline": [(event, event_label(event.action), by_event.get(event.id, [])) for event in events],
        "unlinked_files": by_event.get(None, []),
        "actions": [(action, FORMS[action]) for action in offered],
        "categories": [o for o in category_options(session) if o.leaf] if CATEGORY in needs else [],
        "departments": department_options(session, actor) if DEPARTMENTS in needs else [],
        "route": _suggestion(session, case) if DEPARTMENTS in needs else None,
        "place_groups": placing_choices(grid_index(session), actor, case) if Action.PLACE in offered else [],
        "ratings": list(Rating),
        "done": Action(done).label if done in Action.__members__.values() else "",
        "taken": taken,
        "failed": failed,
        "errors": errors or {},
        "values": values or {},
        "kept": kept or [],
        "subjects": links.subjects_of(session, actor, case),
        "may_link_subject": actor.has(Permission.REGISTRY_READ) and any(actor.has(p) for p in links.LINKERS),
        "subject_kinds": links.linkable_kinds(),
        "subject_error": request.query_params.get("subject_error", "")[:200],
    }
    return page(request, "cases/detail.html", context, status_code=status_code)


def _reporter_page(
    request: Request,
    session: Session,
    actor: Actor,
    case: Case,
    *,
    done: str,
    errors: dict[str, str] | None,
    values: dict[str, Any] | None,
    status_code: int,
) -> Response:
    """A resident's own case: the public progress view (``cases.public.progress_of``), rated on the page."""
    progress = public.progress_of(session, actor, case.number)
    photos = progress.outcome.photo_ids if progress.outcome else ()
    context = {
        "progress": progress,
        "photo_links": [f"/cases/{case.number}/attachments/{photo}" for photo in photos],
        "rate_action": f"/cases/{case.number}/actions/{Action.RATE.value}",
        "rate_fields": {"expected_version": str(case.version)},
        "comment_field": "note",
        "message": "感谢您的评价" if done == Action.RATE.value else None,
        "message_kind": "ok",
        "errors": errors or {},
        "comment": (values or {}).get("note", ""),
        "ratings": list(Rating),
        "back_links": [("/", "我反映的问题"), ("/public/report", "反映新问题")],
    }
    return page(request, "public/progress.html", context, status_code=status_code)


def placing_choices(index: GridIndex, actor: Actor, case: Case) -> list[tuple[str, list[tuple[str, str]]]]:
    """The unit grids a case can be placed in by choosing one, grouped by community (its street named when the
    choice spans several): under where an unplaced report waits if it waits in the actor's placing pool, else
    under the actor's own grids."""
    pooled = in_placing_pool(actor, case)
    groups: dict[str, list[tuple[str, str]]] = {}
    for ref in sorted(index.refs.values(), key=lambda r: r.code):
        inside = ref.code.startswith(case.scope_code) if pooled else actor.covers_grid(ref.code)
        if ref.level is not GridLevel.UNIT or not inside:
            continue
        path = index.path(ref.id)
        above = [node.name for node in path if node.level in (GridLevel.STREET, GridLevel.COMMUNITY)]
        groups.setdefault(" · ".join(above) or "网格", []).append((ref.code, ref.name))
    return list(groups.items())


def _suggestion(session: Session, case: Case) -> Any:
    try:
        return suggest(session, case)
    except (NotFoundError, InvalidInputError):
        return None


def is_about_this_case(error: CivicgridError, number: str) -> bool:
    """A not-found about the page's own case is the page's 404; any other (a master case, a category) is the
    form's field error."""
    return isinstance(error, NotFoundError) and error.detail.get("number", "").strip() == number.strip()


def _may_see_contact(actor: Actor, case: Case) -> bool:
    own = actor.user_id is not None and case.reporter_user_id == actor.user_id
    return bool(case.reporter_name or case.reporter_phone) and (own or actor.has(Permission.CASE_VIEW_CONTACT))


@router.post("/cases/{number}/actions/{action}", response_class=HTMLResponse)
def act(
    request: Request, number: str, action: Action, form: SubmittedForm, session: WriteSession, actor: SignedIn
) -> Response:
    settings = request.app.state.settings
    photos = photos_of(request, actor, form)
    try:
        params = action_input(form, photos.uploads())
        perform(session, actor, number, action, params, settings=settings)
    except (InvalidInputError, ConflictError, NotFoundError) as error:
        if is_about_this_case(error, number):
            raise
        case = queries.get_case(session, actor, number)
        values: dict[str, Any] = {key: form.get(key) for key in form if key not in ("csrf_token", "photos")}
        values["assist_departments"] = form.getlist("assist_departments")
        errors = error_map(error)
        return _render(
            request, session, actor, case, failed=action.value, errors=errors, values=values,
            status_code=409 if isinstance(error, ConflictError) else 422, kept=photos.keep(errors),
        )  # fmt: skip
    photos.done()
    return RedirectResponse(f"/cases/{number}?done={action.value}", status_code=303)


@router.post("/cases/{number}/contact", response_class=HTMLResponse)
def reveal_contact(request: Request, number: str, session: WriteSession, actor: SignedIn) -> Response:
    """The reporter's full name and phone, for those allowed; every view is written to the audit log."""
    case = queries.get_case(session, actor, number)
    if not _may_see_contact(actor, case):
        raise PermissionDeniedError(f"{actor.display_name}无权查看反映人完整联系方式", code="contact_hidden")
    audit.record(session, actor, "case.contact.view", "case", case.number)
    return page(request, "cases/_contact.html", {"case": case})


@router.get("/cases/{number}/attachments/{attachment_id}")
def attachment_file(
    request: Request, number: str, attachment_id: RecordId, session: ReadSession, actor: SignedIn
) -> Response:
    attachment: Attachment | None
    if reads_as_reporter(actor):
        attachment = public.public_attachment(session, actor, number, attachment_id)
    else:
        case = queries.get_case(session, actor, number)
        attachment = session.execute(
            select(Attachment).where(Attachment.id == attachment_id, Attachment.case_id == case.id)
        ).scalar_one_or_none()
    if attachment is None:
        raise NotFoundError("附件不存在", code="attachment_not_found")
    return attachment_response(request.app.state.settings, attachment)


def attachment_response(settings: Any, attachment: Attachment) -> Response:
    """The stored file, inline, never cached by a shared cache and never run as a page."""
    path = stored_path(settings, attachment)
    if not path.exists():
        raise NotFoundError("附件文件已丢失，请联系管理员", code="attachment_missing")
    return uploaded_file(path, attachment.media_type, attachment.original_name, "private, max-age=3600")
