"""Domain errors → HTTP responses: the Chinese message for people, a stable code and detail for programs.

Under /api the answer is JSON. Pages get an error page in Chinese instead, and a visitor who must sign in is
sent to the sign-in page (htmx requests through ``HX-Redirect``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
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
_HTTP_ERRORS = {  # under /api: (code, message)
    400: ("bad_request", "请求无法解析"),
    404: ("not_found", "接口不存在"),
    405: ("method_not_allowed", "不支持该请求方式"),
    413: ("too_large", "上传的内容过大"),
}

# Pydantic's error types in words: what a field must be.
_VALIDATION_WORDS = {
    "missing": "为必填项",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "finite_number": "应为有限的数字",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "string_type": "应为文字",
    "list_type": "应为列表",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "model_attributes_type": "应为对象",
    "enum": "不在可选值之内",
    "literal_error": "不在可选值之内",
    "datetime_parsing": "应为带时区的时间，如 2026-12-31T18:00:00+08:00",
    "datetime_from_date_parsing": "应为带时区的时间，如 2026-12-31T18:00:00+08:00",
    "datetime_type": "应为带时区的时间，如 2026-12-31T18:00:00+08:00",
    "timezone_aware": "须带时区，如 2026-12-31T18:00:00+08:00",
    "json_invalid": "不是有效的 JSON",
    "json_type": "不是有效的 JSON",
    "extra_forbidden": "不是可用的字段",
}


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
            code, message = _HTTP_ERRORS.get(error.status_code, ("http_error", "请求无法处理"))
            body = {"error": {"code": code, "message": message, "detail": {}}}
            return JSONResponse(body, status_code=error.status_code, headers=error.headers)
        if error.status_code == 405 and request.method in ("GET", "HEAD"):
            above = page_above(request.app, request.url.path)
            if above is not None:  # a form's address reloaded: back to the page the form is on
                return RedirectResponse(above, status_code=303)
        return error_page(request, error.status_code, _HTTP_MESSAGES.get(error.status_code, "请求无法处理"))

    async def invalid_request(request: Request, error: Exception) -> Response:
        """A request the endpoint's declared parameters refuse: 422, in the error body every refusal has."""
        assert isinstance(error, RequestValidationError)
        refused = validation_error(error)
        if _wants_json(request):
            return JSONResponse({"error": refused.to_dict()}, status_code=422)
        return error_page(request, 422, refused.message)

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

    return {
        CivicgridError: civicgrid_error,
        StarletteHTTPException: http_error,
        RequestValidationError: invalid_request,
        PoolTimeoutError: pool_exhausted,
    }


def validation_error(error: RequestValidationError) -> InvalidInputError:
    """FastAPI's refusal of a request's parameters as an InvalidInputError: a Chinese sentence naming each field
    (at most three) and, in ``detail.errors``, every field with its location and pydantic's error type."""
    problems = [_problem(item) for item in error.errors()]
    sentence = "；".join(f"“{field}”{words}" for field, _, _, words in problems[:3])
    more = f"等{len(problems)}处" if len(problems) > 3 else ""
    errors = [{"field": field, "location": where, "type": kind} for field, where, kind, _ in problems]
    first = problems[0][0] if problems else None
    return InvalidInputError(
        f"请求参数有误：{sentence}{more}", code="invalid_request", detail={"field": first, "errors": errors}
    )


def _problem(item: Mapping[str, Any]) -> tuple[str, str, str, str]:
    """(field, location, error type, what the field must be) of one of pydantic's errors."""
    location = [str(part) for part in item.get("loc", ())]
    where = location[0] if location else "body"
    field = ".".join(location[1:]) or where
    kind = str(item.get("type", "value_error"))
    context = item.get("ctx") or {}
    words = _VALIDATION_WORDS.get(kind) or _bounded_words(kind, context) or "格式不正确"
    return field, where, kind, words


def _bounded_words(kind: str, context: Mapping[str, Any]) -> str | None:
    bound = next(
        (context[name] for name in ("ge", "gt", "le", "lt", "min_length", "max_length") if name in context), None
    )
    words = {
        "greater_than_equal": f"不能小于{bound}",
        "greater_than": f"应大于{bound}",
        "less_than_equal": f"不能大于{bound}",
        "less_than": f"应小于{bound}",
        "string_too_short": f"至少{bound}个字",
        "string_too_long": f"最多{bound}个字",
        "too_short": f"至少{bound}项",
        "too_long": f"最多{bound}项",
    }
    return words.get(kind)


def _to_sign_in(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = f"/login?next={quote(target, safe='')}"
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


def install(app: FastAPI, error_page: ErrorPage) -> None:
    for kind, handler in _handlers(error_page).items():
        app.add_exception_handler(kind, handler)  # type: ignore[arg-type]
