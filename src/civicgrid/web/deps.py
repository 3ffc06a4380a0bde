"""Dependencies of the pages: a signed-in actor, and the CSRF check every page router applies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from civicgrid.api.deps import CurrentActor
from civicgrid.api.errors import SignInRequiredError
from civicgrid.org.actor import Actor
from civicgrid.web import csrf


def signed_in(actor: CurrentActor) -> Actor:
    if not actor.is_authenticated:
        raise SignInRequiredError("请先登录")
    return actor


async def verify_form(request: Request, _actor: CurrentActor) -> None:
    """Router dependency of the pages: an unsafe request must carry the CSRF token, in the header (htmx) or in
    the submitted form. Depends on the actor so that a signed-in browser is checked against its session's token."""
    if request.method in csrf.SAFE_METHODS:
        return
    sent = request.headers.get(csrf.CSRF_HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(csrf.CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    csrf.verify(request, sent)


SignedIn = Annotated[Actor, Depends(signed_in)]
CSRF_CHECKED = [Depends(verify_form)]
