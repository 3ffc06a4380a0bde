"""Sign-in and sign-out pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from civicgrid.db import transaction
from civicgrid.http import csrf
from civicgrid.http.deps import CSRF_CHECKED, ReadSession, WriteSession
from civicgrid.http.routing import session_router
from civicgrid.org import sessions
from civicgrid.org.service import SignInRefusedError
from civicgrid.settings import Settings
from civicgrid.web.render import page

router = session_router(include_in_schema=False, dependencies=CSRF_CHECKED)


def safe_next(target: str | None) -> str:
    """Only a path on this site: never another host (//evil.example) or a scheme."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, session: ReadSession, next: str = "/") -> Response:
    return page(request, "login.html", {"next": safe_next(next), "username": "", "error": None})


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    settings: Settings = request.app.state.settings
    try:
        with transaction(request.app.state.write_sessions) as session:
            signed = sessions.sign_in(
                session,
                settings,
                username,
                password,
                client_ip=request.client.host if request.client else None,
                user_agent=request.headers.get("user-agent"),
            )
    except SignInRefusedError as error:
        # the failed attempt must be kept for throttling, so it is recorded in its own transaction
        _record_failure(request, settings, username, error)
        context = {"next": safe_next(next), "username": username, "error": error.message}
        return page(request, "login.html", context, status_code=401)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        csrf.SESSION_COOKIE,
        signed.token,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        max_age=settings.session_max_hours * 3600,
        path="/",
    )
    return response


def _record_failure(request: Request, settings: Settings, username: str, error: SignInRefusedError) -> None:
    if error.code == "sign_in_locked":
        return
    with transaction(request.app.state.write_sessions) as session:
        sessions.record_failure(session, username, request.client.host if request.client else None)


@router.post("/logout")
def logout(request: Request, session: WriteSession) -> Response:
    token = request.cookies.get(csrf.SESSION_COOKIE)
    if token:
        sessions.sign_out(session, token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(csrf.SESSION_COOKIE, path="/")
    return response
