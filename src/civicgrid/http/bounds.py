"""What a request may carry, declared once for every router: ids, versions, offsets and limits within what the
columns hold, filters within their columns' lengths — and no text a database cannot store.

Every id and version column is a PostgreSQL ``INTEGER`` (32 bits; SQLite would take 64): a larger id cannot name a
row, so it is refused at the edge as a 422 (documented), never sent to the database to fail there as a 500. The
same for offsets (no table holds more rows than its ids count) and numeric filters.

``refuse_unstorable_request`` runs before every endpoint (``civicgrid.http.routing.SessionRoute``): a NUL in the
path or the query string, or a NUL or a lone surrogate (``"\\ud800"``) anywhere in a JSON body, is a 422 naming the
field, before anything is read or stored.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import Path, Query, Request
from pydantic import Field

from civicgrid.db import MAX_INTEGER
from civicgrid.errors import InvalidInputError
from civicgrid.registry.kinds import TAG_LENGTH
from civicgrid.text import unstorable, unstorable_at, unstorable_error

INT32_MAX = MAX_INTEGER  # the largest PostgreSQL INTEGER: every id, version and count column

MAX_PAGE = 500
CODE_LENGTH = 32  # grid, category, department codes (String(32) columns)
CRS_LENGTH = 40  # a coordinate system's name (wgs84, gcj02 …; an EPSG code is refused by name, not by length)
FILTER_TEXT_LENGTH = 100  # a search word: longer than any name or address it could match part of

# --- path and query parameters ------------------------------------------------------------------------------------

RecordId = Annotated[int, Path(ge=1, le=INT32_MAX, description="编号")]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"每页条数（1–{MAX_PAGE}）")]
Offset = Annotated[int, Query(ge=0, le=INT32_MAX, description="跳过前多少条（分页）")]
PageNumber = Annotated[int, Query(ge=1, le=INT32_MAX // MAX_PAGE, description="页码")]
GridFilter = Annotated[str | None, Query(max_length=CODE_LENGTH, description="网格代码（含下级网格）")]
CodeFilter = Annotated[str | None, Query(max_length=CODE_LENGTH, description="代码")]
TextFilter = Annotated[str | None, Query(max_length=FILTER_TEXT_LENGTH, description="关键词（名称或地址中的文字）")]
TagFilter = Annotated[str | None, Query(max_length=TAG_LENGTH, description="标签")]

# --- fields of JSON bodies ------------------------------------------------------------------------------------------

Id = Annotated[int, Field(ge=1, le=INT32_MAX)]
Version = Annotated[int, Field(ge=0, le=INT32_MAX, description="读取时的版本号（他人已修改则拒绝）")]
# Coordinates are plain numbers here: geo.coords.validate_lonlat checks them (range, swapped axes) in its words.
Longitude = Annotated[float, Field(description="经度")]
Latitude = Annotated[float, Field(description="纬度")]


async def refuse_unstorable_request(request: Request) -> None:
    """Refuse a request carrying text no database can store (see the module docstring)."""
    if unstorable(request.scope.get("path", "")):
        raise unstorable_error("请求地址", "path")
    for name, value in request.query_params.multi_items():
        if unstorable(name) or unstorable(value):
            raise unstorable_error("查询参数", "query" if unstorable(name) else name)
    if not _is_json(request.headers.get("content-type", "")) or not await request.body():
        return
    try:
        body = await request.json()
    except UnicodeDecodeError as error:
        raise InvalidInputError("请求内容须为 UTF-8 编码的 JSON", code="invalid_json") from error
    except json.JSONDecodeError:
        return  # FastAPI answers it with its own 422 (json_invalid)
    found = unstorable_at(body)
    if found is not None:
        raise unstorable_error("提交的内容", found or "body")


def _is_json(content_type: str) -> bool:
    media = content_type.split(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")
