"""Dependencies of the pages: a signed-in actor, and the CSRF check every page router applies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from civicgrid.api.deps import CurrentActor
from civicgrid.api.errors import SignInRequiredError
from civicgrid.org.actor import Actor
from civicgrid.web import csrf


def signed_in(actor: CurrentActor) -> Actor:
    if not actor.is_authenticated:
        raise SignInRequiredError("请先登录")
    return actor


SignedIn = Annotated[Actor, Depends(signed_in)]
CSRF_CHECKED = [Depends(csrf.verify_form)]
