"""JSON API of the case engine: intake, list, detail, history, actions, routing suggestion, taxonomy."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import Header, Path, Query, Response, status
from pydantic import AwareDatetime, BaseModel, Field

from civicgrid.cases import queries
from civicgrid.cases.actions import MAX_NOTE, ActionInput, perform
from civicgrid.cases.attachments import Upload
from civicgrid.cases.intake import MAX_DESCRIPTION, MAX_IDEMPOTENCY_KEY, MAX_TITLE, IntakeRequest, intake
from civicgrid.cases.models import CaseState, Channel, Rating
from civicgrid.cases.routing import suggest
from civicgrid.cases.taxonomy import effective_limits, list_categories
from civicgrid.cases.views import CaseView, EventView, case_view, case_views, events_for
from civicgrid.cases.workflow import Action
from civicgrid.errors import InvalidInputError
from civicgrid.http.bounds import (
    CODE_LENGTH,
    CRS_LENGTH,
    GridFilter,
    Latitude,
    Limit,
    Longitude,
    Offset,
    TextFilter,
    Version,
)
from civicgrid.http.deps import CurrentActor, ReadSession, WriteSession
from civicgrid.http.routing import session_router
from civicgrid.org.roles import Permission

router = session_router(prefix="/api/v1", tags=["案件"])
MAX_ATTACHMENTS = 10
ACTION_HELP = (
    "动作：register 立案、dispatch 派遣、accept 接收、return 退回、submit 反馈、verify_pass 核查通过、comment 备注……"
)
CaseNumber = Annotated[str, Path(max_length=24, description="案件编号，如 20251009000123")]


class FileIn(BaseModel):
    filename: str = Field(max_length=200, description="文件名（含扩展名）")
    content_base64: str = Field(description="文件内容，Base64 编码")

    def upload(self) -> Upload:
        try:
            return Upload(self.filename, base64.b64decode(self.content_base64, validate=True))
        except (binascii.Error, ValueError) as error:
            raise InvalidInputError(f"附件“{self.filename}”不是有效的 Base64", code="invalid_base64") from error


class IntakeIn(BaseModel):
    channel: Channel = Field(description="来源渠道")
    title: str = Field("", max_length=MAX_TITLE, description="标题（不填则取描述开头）")
    description: str = Field("", max_length=MAX_DESCRIPTION, description="问题描述")
    case_type: str | None = Field(None, max_length=CODE_LENGTH, description="案件类型代码")
    category_code: str | None = Field(None, max_length=CODE_LENGTH, description="案件类别代码（须为末级）")
    lon: Longitude | None = None
    lat: Latitude | None = None
    crs: str | None = Field(
        default=None, max_length=CRS_LENGTH, description="坐标系：wgs84、gcj02 或 bd09；给出坐标时必填"
    )
    address: str | None = Field(None, max_length=200, description="地址")
    reporter_name: str | None = Field(None, max_length=50, description="反映人姓名")
    reporter_phone: str | None = Field(None, max_length=32, description="反映人电话")
    source_id: str | None = Field(default=None, max_length=100, description="来源系统自己的编号（同一渠道内幂等）")
    reported_at: AwareDatetime | None = Field(None, description="反映时间，须带时区；不填为现在")
    extra: dict[str, Any] = Field(default_factory=dict, description="案件类型的扩展字段")
    attachments: list[FileIn] = Field(default_factory=list, max_length=MAX_ATTACHMENTS, description="附件（照片等）")


class IntakeOut(BaseModel):
    created: bool
    case: CaseView
    tracking_code: str | None = None


class ActionIn(BaseModel):
    note: str = Field("", max_length=MAX_NOTE, description="理由或说明（退回、不予立案等须填写）")
    expected_version: Version | None = None
    category_code: str | None = Field(None, max_length=CODE_LENGTH, description="立案：案件类别代码")
    main_department: str | None = Field(
        None, max_length=CODE_LENGTH, description="派遣：主办部门代码（不填按派遣规则）"
    )
    assist_departments: list[str] | None = Field(None, max_length=20, description="派遣：协办部门代码")
    extension_value: float | None = Field(None, ge=0, allow_inf_nan=False, description="申请延期：时长")
    extension_unit: str = Field("days", max_length=16, description="申请延期：单位 days（工作日）、hours、minutes")
    master_number: str | None = Field(None, max_length=24, description="合并：主案件编号")
    rating: Rating | None = Field(None, description="评价")
    lon: Longitude | None = None
    lat: Latitude | None = None
    crs: str | None = Field(None, max_length=CRS_LENGTH, description="坐标系：wgs84、gcj02 或 bd09")
    grid_code: str | None = Field(None, max_length=CODE_LENGTH, description="落图：网格代码（无坐标时）")
    attachments: list[FileIn] = Field(default_factory=list, max_length=MAX_ATTACHMENTS, description="附件（照片等）")


class CasePage(BaseModel):
    total: int
    items: list[CaseView]


class RouteOut(BaseModel):
    main: str
    main_name: str
    assists: list[str]
    reason: str


class CategoryOut(BaseModel):
    code: str
    name: str
    depth: int
    default_department: str | None
    priority: int
    limits: dict[str, Any]
    self_handle_allowed: bool


@router.post("/cases", summary="受理（各渠道统一入口，幂等）", status_code=status.HTTP_201_CREATED)
def create_case(
    body: IntakeIn,
    session: WriteSession,
    actor: CurrentActor,
    response: Response,
    idempotency_key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", max_length=MAX_IDEMPOTENCY_KEY, description="幂等键：重复提交返回同一案件"),
    ] = None,
) -> IntakeOut:
    request = IntakeRequest(
        channel=body.channel,
        title=body.title,
        description=body.description,
        case_type_code=body.case_type,
        category_code=body.category_code,
        lon=body.lon,
        lat=body.lat,
        crs=body.crs,
        address=body.address,
        reporter_name=body.reporter_name,
        reporter_phone=body.reporter_phone,
        source_id=body.source_id,
        idempotency_key=idempotency_key,
        reported_at=body.reported_at,
        extra=body.extra,
        attachments=[file.upload() for file in body.attachments],
    )
    result = intake(session, actor, request)
    if not result.created:
        response.status_code = status.HTTP_200_OK
    return IntakeOut(
        created=result.created, case=case_view(session, actor, result.case), tracking_code=result.tracking_code
    )


@router.get("/cases", summary="案件列表（按权限范围）")
def list_cases(
    session: ReadSession,
    actor: CurrentActor,
    state: Annotated[list[CaseState] | None, Query(max_length=len(CaseState), description="状态，可重复")] = None,
    grid: GridFilter = None,
    category: Annotated[str | None, Query(max_length=CODE_LENGTH, description="类别代码（含下级）")] = None,
    channel: Annotated[list[Channel] | None, Query(max_length=len(Channel), description="来源渠道，可重复")] = None,
    overdue: Annotated[bool | None, Query(description="只看超期（true）或未超期（false）")] = None,
    due_soon: Annotated[bool | None, Query(description="只看临期（true）或未临期（false）")] = None,
    unplaced: Annotated[bool | None, Query(description="只看未落图（true）或已落图（false）")] = None,
    q: TextFilter = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> CasePage:
    criteria = queries.CaseFilter(
        states=state or (),
        grid_code=grid,
        category_code=category,
        channels=channel or (),
        overdue=overdue,
        due_soon=due_soon,
        unplaced=unplaced,
        text=q,
    )
    cases, total = queries.list_cases(session, actor, criteria, limit=limit, offset=offset)
    return CasePage(total=total, items=case_views(session, actor, cases))


@router.get("/cases/{number}", summary="案件详情")
def get_case(number: CaseNumber, session: ReadSession, actor: CurrentActor) -> CaseView:
    return case_view(session, actor, queries.get_case(session, actor, number))


@router.get("/cases/{number}/events", summary="案件全过程记录")
def case_events(number: CaseNumber, session: ReadSession, actor: CurrentActor) -> list[EventView]:
    return events_for(actor, queries.history(session, actor, number))


@router.get("/cases/{number}/route", summary="派遣建议")
def case_route(number: CaseNumber, session: ReadSession, actor: CurrentActor) -> RouteOut:
    actor.require(Permission.CASE_DISPATCH, "查看派遣建议")
    route = suggest(session, queries.get_case(session, actor, number))
    return RouteOut(
        main=route.main.code, main_name=route.main.name, assists=[d.code for d in route.assists], reason=route.reason
    )


@router.post("/cases/{number}/actions/{action}", summary="办理动作（立案、派遣、接收、退回、反馈、核查…）")
def act(
    number: CaseNumber,
    action: Annotated[Action, Path(description=ACTION_HELP)],
    body: ActionIn,
    session: WriteSession,
    actor: CurrentActor,
) -> CaseView:
    params = ActionInput(
        note=body.note,
        expected_version=body.expected_version,
        category_code=body.category_code,
        main_department=body.main_department,
        assist_departments=body.assist_departments,
        extension_value=body.extension_value,
        extension_unit=body.extension_unit,
        master_number=body.master_number,
        rating=body.rating,
        lon=body.lon,
        lat=body.lat,
        crs=body.crs,
        grid_code=body.grid_code,
        attachments=[file.upload() for file in body.attachments],
    )
    perform(session, actor, number, action, params)
    return case_view(session, actor, queries.get_case(session, actor, number))


@router.get("/categories", summary="案件类别（含时限）")
def categories(session: ReadSession, actor: CurrentActor) -> list[CategoryOut]:
    actor.require(Permission.CASE_READ, "查看案件类别")
    return [
        CategoryOut(
            code=c.code,
            name=c.name,
            depth=c.depth,
            default_department=c.default_department_code,
            priority=c.priority,
            limits=effective_limits(c),
            self_handle_allowed=c.self_handle_allowed,
        )
        for c in list_categories(session)
    ]
