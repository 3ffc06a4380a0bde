"""CSRF protection for every state-changing request made with the session cookie.

Signed-in browsers carry a per-session token (a hidden ``csrf_token`` field in each form, the ``X-CSRF-Token``
header for htmx and fetch). Visitors without an account (the public report form) get a random ``cg_csrf`` cookie
whose value the form must echo (double submit). A cross-site Origin header is refused outright.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import Request, Response

from civicgrid.errors import PermissionDeniedError

SESSION_COOKIE = "cg_session"
ANON_CSRF_COOKIE = "cg_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CsrfRefusedError(PermissionDeniedError):
    code = "csrf_failed"


def expected_token(request: Request) -> str | None:
    """The token this browser must send: its session's, else its anonymous cookie's."""
    active = getattr(request.state, "web_session", None)
    if active is not None:
        token: str = active.csrf_token
        return token
    return request.cookies.get(ANON_CSRF_COOKIE)


def anonymous_token(request: Request) -> str:
    """The visitor's double-submit token, created (and remembered for ``set_anonymous_cookie``) if missing."""
    token = request.cookies.get(ANON_CSRF_COOKIE) or getattr(request.state, "new_anon_csrf", None)
    if token is None:
        token = secrets.token_urlsafe(24)
        request.state.new_anon_csrf = token
    return token


def set_anonymous_cookie(request: Request, response: Response) -> None:
    token = getattr(request.state, "new_anon_csrf", None)
    if token:
        response.set_cookie(ANON_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/")


def check_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.url.netloc:
        raise CsrfRefusedError("跨站提交被拒绝", detail={"origin": origin})


def verify(request: Request, sent: str | None) -> None:
    """Refuse an unsafe request whose token is missing or wrong. Comparison in constant time."""
    if request.method in SAFE_METHODS:
        return
    check_origin(request)
    expected = expected_token(request)
    if not expected or not sent or not hmac.compare_digest(expected.encode(), sent.encode()):
        raise CsrfRefusedError("页面已过期或请求来源不明（缺少安全令牌），请刷新页面后重试")
