"""Routes whose database sessions end with the endpoint, in the endpoint's own thread.

FastAPI runs a synchronous endpoint in the request thread pool, then validates its answer in *another* turn of
that pool, and only then tears its dependencies down. A session's connection would stay checked out through those
waits: under load, the requests holding connections queue for threads behind requests holding threads while
they wait for connections, and nothing moves until the pool's timeout (twenty clicks at once gave 500s after 30 s).
Ending the sessions the endpoint was given — commit a write session, roll back a read session, give back the
connection — as the endpoint returns, in its thread, leaves a request holding a connection only while it runs.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine, Iterable, Iterator
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.routing import Match
from starlette.types import ASGIApp

from civicgrid.db import conflict_from, finish
from civicgrid.http import bounds, openapi

WRITE_FLAG = "civicgrid_write"  # in Session.info: the request's write transaction, committed on success
ENDED_FLAG = "civicgrid_ended"  # in Session.info: already ended; the dependency's teardown has nothing to do


def end_session(session: Session, *, success: bool) -> None:
    """Commit (a write session whose endpoint succeeded) or roll back, then close; once only. A lost race at
    commit is raised as ConflictError."""
    if session.info.get(ENDED_FLAG):
        return
    session.info[ENDED_FLAG] = True
    finish(session, commit=success and bool(session.info.get(WRITE_FLAG)))


def _end_all(arguments: Iterable[Any], *, success: bool) -> None:
    sessions = [value for value in arguments if isinstance(value, Session)]
    try:
        for session in sessions:
            end_session(session, success=success)
    finally:
        for session in sessions:  # a failed commit of one still gives every connection back
            if not session.info.get(ENDED_FLAG):
                end_session(session, success=False)


def ending_sessions(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """The endpoint, ending the sessions it was given as it returns or raises."""
    if inspect.iscoroutinefunction(endpoint):

        @functools.wraps(endpoint)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            try:
                result = await endpoint(*args, **kwargs)
            except BaseException as error:
                _end_all(kwargs.values(), success=False)
                conflict = conflict_from(error)
                if conflict is None:
                    raise
                raise conflict from error
            _end_all(kwargs.values(), success=True)
            return result

        return run_async

    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            result = endpoint(*args, **kwargs)
        except BaseException as error:
            _end_all(kwargs.values(), success=False)
            conflict = conflict_from(error)
            if conflict is None:
                raise
            raise conflict from error
        _end_all(kwargs.values(), success=True)
        return result

    return run


class SessionRoute(APIRoute):
    """An APIRoute whose endpoint ends its database sessions itself (see the module docstring), refuses text no
    database can store before it runs (``http.bounds``), and documents the refusals it may give (``http.openapi``).
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if kwargs.get("response_description") in (None, "Successful Response"):
            kwargs["response_description"] = openapi.SUCCESS
        super().__init__(path, ending_sessions(endpoint), **kwargs)
        if path.startswith(openapi.API_PREFIX):
            json_route = (
                not issubclass(self.response_class, openapi.XlsxFile) if isinstance(self.response_class, type) else True
            )
            self.responses = openapi.error_responses(self.dependant, json_route=json_route) | dict(self.responses)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def checked(request: Request) -> Response:
            await bounds.refuse_unstorable_request(request)
            return await handler(request)

        return checked


def session_router(**kwargs: Any) -> APIRouter:
    """An APIRouter of SessionRoutes: every router of the API and the pages is made here."""
    return APIRouter(route_class=SessionRoute, **kwargs)


def page_above(app: ASGIApp, path: str) -> str | None:
    """The nearest page above ``path`` that answers GET: /cases/N for /cases/N/actions/return, /admin/grid for
    /admin/grid/rename. A form's POST URL is where the browser stays when the page shown after a failed submission
    is reloaded (or the address is opened again); a GET there goes to the page the form is on."""
    segments = path.rstrip("/").split("/")
    while len(segments) > 1:
        segments.pop()
        candidate = "/".join(segments) or "/"
        if answers_get(app, candidate):
            return candidate
    return None


def answers_get(app: ASGIApp, path: str) -> bool:
    scope = {"type": "http", "method": "GET", "path": path, "root_path": "", "query_string": b"", "headers": []}
    routes = getattr(getattr(app, "router", None), "routes", [])
    return any(route.matches(scope)[0] is Match.FULL for route in routes)


def endpoint_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    """Every endpoint of an app's routes (``app.routes``), through the routers it included — FastAPI keeps an
    included router as one nested entry, so ``app.routes`` alone lists none of their endpoints."""
    for route in routes:
        nested = getattr(route, "original_router", None)
        if nested is not None:
            yield from endpoint_routes(nested.routes)
        elif isinstance(route, APIRoute):
            yield route
