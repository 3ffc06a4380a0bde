"""Errors a person can act on.

Every error carries a Chinese ``message`` for the people using the pages and the CLI, and a stable English
``code`` plus optional ``detail`` for API clients. Adapters map the classes to HTTP status codes and CLI exit
codes; services raise them and never format output themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar


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


T = TypeVar("T")
PROBLEMS = "problems"  # detail key of an error that stands for several


class Problems:
    """Every refusal of several independent checks (one spreadsheet row, one form), instead of the first only.

    ``check`` runs a check and keeps its refusal (the value then is ``failed``); ``raise_any`` raises them as one
    InvalidInputError — the messages joined, the first one's code, each problem in ``detail["problems"]`` — so
    that a row with four problems is refused for all four. An error that stands for several is taken apart when
    collected again, so checks may nest."""

    def __init__(self) -> None:
        self.found: list[CivicgridError] = []

    def check(self, check: Callable[[], T], failed: T) -> T:
        """The check's value, or ``failed`` with its refusal kept: anything wrong with what was given (invalid, a
        reference not found, a grid out of scope) — a conflict with the stored state is raised at once."""
        try:
            return check()
        except (InvalidInputError, NotFoundError, PermissionDeniedError) as error:
            self.add(error)
            return failed

    def add(self, error: CivicgridError) -> None:
        self.found += problems_of(error)

    def __bool__(self) -> bool:
        return bool(self.found)

    def raise_any(self) -> None:
        """One problem as it was raised; several as one InvalidInputError naming each."""
        if not self.found:
            return
        if len(self.found) == 1:
            raise self.found[0]
        raise InvalidInputError(
            "；".join(error.message for error in self.found),
            code=self.found[0].code,
            detail={PROBLEMS: [error.to_dict() for error in self.found]},
        )


def problems_of(error: CivicgridError) -> list[CivicgridError]:
    """The problems an error stands for (``Problems.raise_any``): itself, or each it names."""
    parts = error.detail.get(PROBLEMS)
    if not parts:
        return [error]
    return [InvalidInputError(part["message"], code=part["code"], detail=part.get("detail")) for part in parts]
