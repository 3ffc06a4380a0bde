"""The home page: each signed-in role's 工作台 (queues, latest activity); visitors get the public entrance."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from civicgrid.cases import queries
from civicgrid.cases.models import CaseState
from civicgrid.cases.queues import QUEUES, queue_counts, queues_for
from civicgrid.cases.views import event_label
from civicgrid.http.deps import CSRF_CHECKED, CurrentActor, ReadSession
from civicgrid.http.routing import session_router
from civicgrid.org.actor import Actor
from civicgrid.org.roles import Role
from civicgrid.web.render import page

router = session_router(include_in_schema=False, dependencies=CSRF_CHECKED)


def department_scope(actor: Actor) -> queries.CaseFilter | None:
    """Department staff work the cases their departments lead; everyone else their readable cases."""
    if Role.DEPT_STAFF in actor.roles and not actor.roles & {Role.DISPATCHER, Role.ADMIN, Role.LEADER}:
        return queries.CaseFilter(main_department_ids=sorted(actor.department_ids))
    return None


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: ReadSession, actor: CurrentActor) -> Response:
    if not actor.is_authenticated:
        return page(request, "home_public.html", {"reporting": request.app.state.settings.public_reporting})
    if actor.roles == {Role.RESIDENT}:
        mine, _ = queries.list_cases(session, actor, limit=20)
        return page(request, "home_resident.html", {"cases": mine})
    scope = department_scope(actor)
    keys = queues_for(actor)
    counts = queue_counts(session, actor, keys, scope)
    queues = [(key, QUEUES[key].label, counts[key]) for key in keys]
    return page(
        request,
        "workbench.html",
        {
            "queues": queues,
            "recent": queries.recent_events(session, actor),
            "inbox": scope is not None,
            "states": {state.value: state.label for state in CaseState},
            "event_label": event_label,
        },
    )
