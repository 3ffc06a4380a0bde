"""Errors a person can act on.

Every error carries a Chinese ``message`` for the people using the pages and the CLI, and a stable English
``code`` plus optional ``detail`` for API clients. Adapters map the classes to HTTP status codes and CLI exit
codes; services raise them and never format output themselves.
"""

from __future__ import annotations

from typing import Any


class CivicgridError(Exception):
    """Base class: a refusal with a reason, never a crash."""

    code: str = "error"

    def __init__(self, message: str, *, code: str | None = None, detail: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.detail: dict[str, Any] = detail or {}

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "detail": self.detail}


class InvalidInputError(CivicgridError):
    """The input is malformed or breaks a rule; nothing was changed."""

    code = "invalid_input"


class NotFoundError(CivicgridError):
    code = "not_found"


class PermissionDeniedError(CivicgridError):
    """The actor may not do this, or not on this object (out of scope)."""

    code = "permission_denied"


class ConflictError(CivicgridError):
    """Someone else changed the object first, or it already exists; nothing was changed."""

    code = "conflict"


class NotMigratedError(CivicgridError):
    """The database schema is missing or behind the code."""

    code = "database_not_migrated"
