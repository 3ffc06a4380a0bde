"""Reading submitted forms for the case pages: text, numbers, uploads, and which field an error belongs to."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from civicgrid.cases.taxonomy import CategoryEntry, category_entries, named_entry
from civicgrid.errors import CivicgridError, InvalidInputError, NotFoundError, problems_of
from civicgrid.org.actor import Actor
from civicgrid.org.models import Department
from civicgrid.org.service import list_departments
from civicgrid.web.render import BEIJING

# Which form field a domain error is about, so the page can show it next to that field.
ERROR_FIELDS: dict[str, str] = {
    "reason_required": "note",
    "category_required": "category_code",
    "category_not_leaf": "category_code",
    "unknown_category": "category_code",
    "category_not_found": "category_code",
    "category_ambiguous": "category_code",
    "department_not_found": "main_department",
    "department_inactive": "main_department",
    "main_also_assist": "assist_departments",
    "extension_required": "extension_value",
    "invalid_extension": "extension_value",
    "invalid_limit": "extension_value",
    "rating_required": "rating",
    "evidence_required": "photos",
    "unsupported_file_type": "photos",
    "file_too_large": "photos",
    "empty_file": "photos",
    "too_many_files": "photos",
    "master_required": "master_number",
    "case_not_found": "master_number",
    "merge_self": "master_number",
    "incomplete_coordinates": "location",
    "still_outside": "location",
    "location_required": "location",
    "grid_not_found": "location",
    "missing_crs": "location",
    "invalid_coordinates": "location",
    "description_required": "description",
    "text_required": "description",
    "text_too_long": "description",
    "invalid_phone": "reporter_phone",
    "channel_not_allowed": "channel",
    "empty_case": "description",
    "title_too_long": "title",
    "description_too_long": "description",
}
# text_too_long says which text in its detail
_TEXT_FIELDS = {"反映人姓名": "reporter_name", "地址": "address", "来源编号": "source_id"}


async def form_data(request: Request) -> FormData:
    """The submitted form, parsed before a (synchronous) page handler runs."""
    return await request.form()


SubmittedForm = Annotated[FormData, Depends(form_data)]


def error_map(error: CivicgridError, field_of: Callable[[CivicgridError], str] | None = None) -> dict[str, str]:
    """Each problem next to its field (a refusal may name several: ``errors.Problems``); ``field_of`` for a form
    whose fields are named otherwise."""
    shown: dict[str, str] = {}
    for problem in problems_of(error):
        field = (field_of or _field_of)(problem)
        shown[field] = f"{shown[field]}；{problem.message}" if field in shown else problem.message
    return shown


def _field_of(error: CivicgridError) -> str:
    if error.code == "text_too_long":
        return _TEXT_FIELDS.get(str(error.detail.get("field")), "_form")
    return ERROR_FIELDS.get(error.code, "_form")


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def optional(form: FormData, name: str) -> str | None:
    return text(form, name) or None


def number(form: FormData, name: str, label: str) -> float | None:
    raw = text(form, name)
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError as error:
        raise InvalidInputError(f"{label}须为数字", code=f"invalid_{name}") from error


def local_day(value: str, *, end: bool = False) -> dt.datetime | None:
    """A date typed in a filter (Beijing) as the UTC moment its day starts (or ends, for an upper bound)."""
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError as error:
        raise InvalidInputError(f"日期“{value}”格式不对，应为 2025-10-01", code="invalid_date") from error
    if end:
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(), tzinfo=BEIJING).astimezone(dt.UTC)


def category_options(session: Session) -> list[CategoryEntry]:
    return category_entries(session)


def category_named(form: FormData) -> str | None:
    """What the category box says (a name, a path, a part of a name, a code) — or, from a form without the box,
    the code alone; the domain resolves either."""
    return optional(form, "category") or optional(form, "category_code")


def shown_category(leaves: list[CategoryEntry], typed: str) -> dict[str, str]:
    """The box of a form shown again: the category it named, as a chosen suggestion shows it, with its code
    behind; what named nothing (or several) stays as typed."""
    if not typed.strip():
        return {}
    try:
        entry = named_entry(leaves, typed, leaf=True)
    except (InvalidInputError, NotFoundError):
        return {"category": typed, "category_code": ""}
    return {"category": entry.shown, "category_code": entry.code}


def department_options(session: Session, actor: Actor) -> list[Department]:
    return [department for department in list_departments(session, actor) if department.is_active]
