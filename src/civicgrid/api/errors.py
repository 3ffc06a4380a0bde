"""Domain errors → HTTP responses: the Chinese message for people, a stable code and detail for programs.

Under /api the answer is JSON. Pages get an error page in Chinese instead, and a visitor who must sign in is
sent to the sign-in page (htmx requests through ``HX-Redirect``).
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from civicgrid.errors import (
    CivicgridError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    NotMigratedError,
    PermissionDeniedError,
)
from civicgrid.org.service import SignInRefusedError
from civicgrid.web.render import page

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


async def _civicgrid_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, CivicgridError)
    if _wants_json(request):
        return JSONResponse({"error": error.to_dict()}, status_code=status_for(error))
    if isinstance(error, SignInRequiredError):
        return _to_sign_in(request)
    return _error_page(request, status_for(error), error.message)


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    if _wants_json(request):
        return JSONResponse({"detail": error.detail}, status_code=error.status_code, headers=error.headers)
    return _error_page(request, error.status_code, _HTTP_MESSAGES.get(error.status_code, "请求无法处理"))


def _to_sign_in(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = f"/login?next={quote(target, safe='')}"
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


def _error_page(request: Request, status: int, message: str) -> Response:
    return page(request, "error.html", {"status": status, "message": message}, status_code=status)


def install(app: FastAPI) -> None:
    app.add_exception_handler(CivicgridError, _civicgrid_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
