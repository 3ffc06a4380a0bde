"""Reading submitted forms for the case pages: text, numbers, uploads, and which field an error belongs to."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from civicgrid.cases.attachments import Upload
from civicgrid.cases.models import Category
from civicgrid.cases.taxonomy import list_categories
from civicgrid.errors import CivicgridError, InvalidInputError
from civicgrid.org.actor import Actor
from civicgrid.org.models import Department
from civicgrid.org.service import list_departments
from civicgrid.settings import Settings
from civicgrid.web.render import BEIJING

# Which form field a domain error is about, so the page can show it next to that field.
ERROR_FIELDS: dict[str, str] = {
    "reason_required": "note",
    "category_required": "category_code",
    "category_not_leaf": "category_code",
    "unknown_category": "category_code",
    "category_not_found": "category_code",
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
MAX_FILES = 9


async def form_data(request: Request) -> FormData:
    """The submitted form, parsed before a (synchronous) page handler runs."""
    return await request.form()


SubmittedForm = Annotated[FormData, Depends(form_data)]


def error_map(error: CivicgridError) -> dict[str, str]:
    if error.code == "text_too_long":
        return {_TEXT_FIELDS.get(str(error.detail.get("field")), "_form"): error.message}
    return {ERROR_FIELDS.get(error.code, "_form"): error.message}


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


def uploads(form: FormData, name: str, settings: Settings) -> list[Upload]:
    """The files of a multiple file input; an empty input (no file chosen) gives none. Reads one byte past the
    size limit at most, so an oversized file is refused without reading it all."""
    files = [item for item in form.getlist(name) if isinstance(item, UploadFile) and item.filename]
    if len(files) > MAX_FILES:
        raise InvalidInputError(f"一次最多上传{MAX_FILES}个文件", code="too_many_files")
    result = []
    for item in files:
        content = item.file.read(settings.attachment_max_bytes + 1)
        result.append(Upload(item.filename or "照片", content))
    return result


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


@dataclass(frozen=True)
class CategoryOption:
    code: str
    label: str  # the path, 市容环境 › 暴露垃圾
    leaf: bool
    depth: int


def category_options(session: Session) -> list[CategoryOption]:
    categories = list_categories(session)
    by_id: dict[int, Category] = {c.id: c for c in categories}
    parents = {c.parent_id for c in categories if c.parent_id is not None}
    options: list[CategoryOption] = []
    for category in categories:
        names: list[str] = []
        current: Category | None = category
        while current is not None:
            names.append(current.name)
            current = by_id.get(current.parent_id) if current.parent_id is not None else None
        options.append(
            CategoryOption(category.code, " › ".join(reversed(names)), category.id not in parents, category.depth)
        )
    return options


def department_options(session: Session, actor: Actor) -> list[Department]:
    return [department for department in list_departments(session, actor) if department.is_active]
