"""Domain errors → HTTP responses: the Chinese message for people, a stable code and detail for programs.

Under /api the answer is JSON. Pages get an error page in Chinese instead, and a visitor who must sign in is
sent to the sign-in page (htmx requests through ``HX-Redirect``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from civicgrid.errors import (
    CivicgridError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    NotMigratedError,
    PermissionDeniedError,
)
from civicgrid.http.routing import page_above
from civicgrid.org.service import SignInRefusedError

log = logging.getLogger(__name__)

ErrorPage = Callable[[Request, int, str], Response]
"""Renders the Chinese error page of the pages (given by the application, which knows the templates)."""

_STATUS: list[tuple[type[CivicgridError], int]] = [
    (SignInRefusedError, 401),
    (NotFoundError, 404),
    (PermissionDeniedError, 403),
    (ConflictError, 409),
    (InvalidInputError, 422),
    (NotMigratedError, 503),
]

_HTTP_MESSAGES = {404: "页面不存在", 405: "不支持该请求方式", 413: "上传的内容过大"}


class SignInRequiredError(SignInRefusedError):
    code = "sign_in_required"


def status_for(error: CivicgridError) -> int:
    return next((status for kind, status in _STATUS if isinstance(error, kind)), 400)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/healthz"


BUSY_RETRY_SECONDS = 2


def _handlers(error_page: ErrorPage) -> dict[type[Exception], Callable[[Request, Exception], object]]:
    async def civicgrid_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, CivicgridError)
        if _wants_json(request):
            return JSONResponse({"error": error.to_dict()}, status_code=status_for(error))
        if isinstance(error, SignInRequiredError):
            return _to_sign_in(request)
        return error_page(request, status_for(error), error.message)

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        if _wants_json(request):
            return JSONResponse({"detail": error.detail}, status_code=error.status_code, headers=error.headers)
        if error.status_code == 405 and request.method in ("GET", "HEAD"):
            above = page_above(request.app, request.url.path)
            if above is not None:  # a form's address reloaded: back to the page the form is on
                return RedirectResponse(above, status_code=303)
        return error_page(request, error.status_code, _HTTP_MESSAGES.get(error.status_code, "请求无法处理"))

    async def pool_exhausted(request: Request, error: Exception) -> Response:
        """Every pooled connection stayed busy for the pool's whole timeout: say so at once, never a 500."""
        log.warning("database pool exhausted on %s %s: %s", request.method, request.url.path, error)
        message = "系统繁忙，请稍后重试"
        headers = {"Retry-After": str(BUSY_RETRY_SECONDS)}
        if _wants_json(request):
            body = {"error": {"code": "busy", "message": message, "detail": {}}}
            return JSONResponse(body, status_code=503, headers=headers)
        response = error_page(request, 503, message)
        response.headers.update(headers)
        return response

    return {CivicgridError: civicgrid_error, StarletteHTTPException: http_error, PoolTimeoutError: pool_exhausted}


def _to_sign_in(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = f"/login?next={quote(target, safe='')}"
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


def install(app: FastAPI, error_page: ErrorPage) -> None:
    for kind, handler in _handlers(error_page).items():
        app.add_exception_handler(kind, handler)  # type: ignore[arg-type]
