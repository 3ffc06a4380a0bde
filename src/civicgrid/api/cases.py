"""JSON API of the case engine: intake, list, detail, history, actions, routing suggestion, taxonomy."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Annotated, Any

from fastapi import Header, Query, Response, status
from pydantic import BaseModel, Field

from civicgrid.cases import queries
from civicgrid.cases.actions import ActionInput, perform
from civicgrid.cases.attachments import Upload
from civicgrid.cases.intake import IntakeRequest, intake
from civicgrid.cases.models import CaseState, Channel, Rating
from civicgrid.cases.routing import suggest
from civicgrid.cases.taxonomy import effective_limits, list_categories
from civicgrid.cases.views import CaseView, EventView, case_view, case_views, events_for
from civicgrid.cases.workflow import Action
from civicgrid.errors import InvalidInputError
from civicgrid.http.deps import CurrentActor, ReadSession, WriteSession
from civicgrid.http.routing import session_router
from civicgrid.org.roles import Permission

router = session_router(prefix="/api/v1", tags=["cases"])


class FileIn(BaseModel):
    filename: str = Field(max_length=200)
    content_base64: str

    def upload(self) -> Upload:
        try:
            return Upload(self.filename, base64.b64decode(self.content_base64, validate=True))
        except (binascii.Error, ValueError) as error:
            raise InvalidInputError(f"附件“{self.filename}”不是有效的 Base64", code="invalid_base64") from error


class IntakeIn(BaseModel):
    channel: Channel
    title: str = ""
    description: str = ""
    case_type: str | None = None
    category_code: str | None = None
    lon: float | None = None
    lat: float | None = None
    crs: str | None = Field(default=None, description="wgs84 | gcj02 | bd09; required with coordinates")
    address: str | None = None
    reporter_name: str | None = None
    reporter_phone: str | None = None
    source_id: str | None = Field(default=None, description="the source system's own id (idempotent per channel)")
    reported_at: dt.datetime | None = None
    extra: dict[str, Any] = Field(default_factory=dict)
    attachments: list[FileIn] = Field(default_factory=list)


class IntakeOut(BaseModel):
    created: bool
    case: CaseView
    tracking_code: str | None = None


class ActionIn(BaseModel):
    note: str = ""
    expected_version: int | None = None
    category_code: str | None = None
    main_department: str | None = None
    assist_departments: list[str] | None = None
    extension_value: float | None = None
    extension_unit: str = "days"
    master_number: str | None = None
    rating: Rating | None = None
    lon: float | None = None
    lat: float | None = None
    crs: str | None = None
    grid_code: str | None = None
    attachments: list[FileIn] = Field(default_factory=list)


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
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
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
    state: Annotated[list[CaseState] | None, Query()] = None,
    grid: str | None = None,
    category: str | None = None,
    channel: Annotated[list[Channel] | None, Query()] = None,
    overdue: bool | None = None,
    due_soon: bool | None = None,
    unplaced: bool | None = None,
    q: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
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
def get_case(number: str, session: ReadSession, actor: CurrentActor) -> CaseView:
    return case_view(session, actor, queries.get_case(session, actor, number))


@router.get("/cases/{number}/events", summary="案件全过程记录")
def case_events(number: str, session: ReadSession, actor: CurrentActor) -> list[EventView]:
    return events_for(actor, queries.history(session, actor, number))


@router.get("/cases/{number}/route", summary="派遣建议")
def case_route(number: str, session: ReadSession, actor: CurrentActor) -> RouteOut:
    actor.require(Permission.CASE_DISPATCH, "查看派遣建议")
    route = suggest(session, queries.get_case(session, actor, number))
    return RouteOut(
        main=route.main.code, main_name=route.main.name, assists=[d.code for d in route.assists], reason=route.reason
    )


@router.post("/cases/{number}/actions/{action}", summary="办理动作（立案、派遣、接收、退回、反馈、核查…）")
def act(number: str, action: Action, body: ActionIn, session: WriteSession, actor: CurrentActor) -> CaseView:
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
