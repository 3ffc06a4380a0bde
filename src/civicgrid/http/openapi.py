"""What the OpenAPI document (and the explorer at /api/docs) says about every endpoint, beyond its own answer: the
refusals it may give, all with the one error body; the Excel downloads with their real media type; Chinese words
for everything a reader of the explorer sees (tags, summaries, descriptions)."""

from __future__ import annotations

from typing import Any

from fastapi import Response
from fastapi.dependencies.models import Dependant
from pydantic import BaseModel, Field

from civicgrid.excel import XLSX_MEDIA_TYPE

API_PREFIX = "/api/"
SUCCESS = "成功"


class ErrorDetail(BaseModel):
    code: str = Field(description="稳定的错误代码（英文），供程序判断，如 not_found、stale_version、unstorable_text")
    message: str = Field(description="中文说明，可直接展示给用户")
    detail: dict[str, Any] = Field(description="补充信息，如出错的字段 field、允许的最大长度 max_length")


class ErrorBody(BaseModel):  # the body of every refusal of the API (civicgrid.http.errors)
    error: ErrorDetail


_REFUSALS = {
    400: "请求无法解析",
    401: "未登录、令牌无效或已失效",
    403: "无权进行此操作",
    404: "对象不存在，或不在本人的查看范围内",
    409: "冲突：数据已被他人修改、已存在，或当前状态不允许此操作",
    422: "输入不符合要求（缺少必填项、超出范围或长度、含有无法保存的字符等），未作任何更改",
    503: "系统繁忙或数据库未升级，请稍后重试",
}

TAGS = [
    {"name": "网格", "description": "网格边界、层级与坐标定位"},
    {"name": "案件", "description": "受理、查询、办理与派遣建议"},
    {"name": "登记信息", "description": "实有人口与房屋、单位、地块等登记对象（一标三实）"},
    {"name": "摸排走访", "description": "摸排、排查、走访任务：发起、进度、填报与导出"},
    {"name": "统计指标", "description": "绩效指标、环比同比与分组统计"},
    {"name": "公开信息", "description": "无需登录的公开地图数据（不含个人信息）"},
]


class XlsxFile(Response):
    """An Excel download (``excel.xlsx_response``), declared as such in the OpenAPI document."""

    media_type = XLSX_MEDIA_TYPE


XLSX: dict[str, Any] = {
    "response_class": XlsxFile,
    "responses": {
        200: {
            "description": "Excel 工作簿（.xlsx）",
            "content": {XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        }
    },
}
"""Keyword arguments of a route that answers with an Excel file: ``@router.get(path, summary=…, **XLSX)``."""


def error_responses(dependant: Dependant, *, json_route: bool) -> dict[int | str, dict[str, Any]]:
    """The refusals an API endpoint may answer with: every one of them resolves who is asking (401, and 503 when
    the database is busy), checks permissions and scope (403, 404) and its input (400, 422); one that writes may
    lose a race (409). Always JSON: a route answering with a file names the media type of its refusals itself
    (FastAPI would give them the route's)."""
    statuses = [400, 401, 403, 404, 422, 503]
    if _writes(dependant):
        statuses.append(409)
    if json_route:
        return {status: {"model": ErrorBody, "description": _REFUSALS[status]} for status in sorted(statuses)}
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    return {status: {"description": _REFUSALS[status], "content": content} for status in sorted(statuses)}


def _writes(dependant: Dependant) -> bool:
    from civicgrid.http.deps import write_session  # deps imports routing, which imports this module

    return any(sub.call is write_session or _writes(sub) for sub in dependant.dependencies)
