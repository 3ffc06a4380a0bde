"""Domain errors → HTTP responses: the Chinese message for people, a stable code and detail for programs."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from civicgrid.errors import (
    CivicgridError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    NotMigratedError,
    PermissionDeniedError,
)
from civicgrid.org.service import SignInRefusedError

_STATUS: list[tuple[type[CivicgridError], int]] = [
    (SignInRefusedError, 401),
    (NotFoundError, 404),
    (PermissionDeniedError, 403),
    (ConflictError, 409),
    (InvalidInputError, 422),
    (NotMigratedError, 503),
]


def status_for(error: CivicgridError) -> int:
    return next((status for kind, status in _STATUS if isinstance(error, kind)), 400)


async def _civicgrid_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, CivicgridError)
    return JSONResponse({"error": error.to_dict()}, status_code=status_for(error))


def install(app: FastAPI) -> None:
    app.add_exception_handler(CivicgridError, _civicgrid_error)
