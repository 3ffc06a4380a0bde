"""The small form each case action needs: which fields it asks for, and reading them into an ActionInput."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import FormData

from civicgrid.cases.actions import ActionInput
from civicgrid.cases.attachments import Upload
from civicgrid.cases.models import Rating
from civicgrid.cases.workflow import Action
from civicgrid.errors import InvalidInputError
from civicgrid.web.forms import number, optional, text

NOTE = "note"
CATEGORY = "category"
DEPARTMENTS = "departments"
MAIN_DEPARTMENT = "main_department"
EXTENSION = "extension"
MASTER = "master"
RATING = "rating"
LOCATION = "location"
PHOTOS = "photos"


@dataclass(frozen=True)
class ActionForm:
    fields: tuple[str, ...]
    note_label: str = "说明"
    hint: str = ""
    danger: bool = False


FORMS: dict[Action, ActionForm] = {
    Action.REGISTER: ActionForm((CATEGORY, NOTE), hint="确认类别后立案，进入待派遣"),
    Action.REJECT: ActionForm((NOTE,), "不予立案理由（将告知反映人）", danger=True),
    Action.DISPATCH: ActionForm((DEPARTMENTS, NOTE), hint="默认按派遣规则建议的部门"),
    Action.REROUTE: ActionForm((DEPARTMENTS, NOTE), "改派理由"),
    Action.ACCEPT: ActionForm((NOTE,), hint="接收后开始处置计时"),
    Action.RETURN: ActionForm((NOTE,), "退回理由（如：不属于本部门职责）", danger=True),
    Action.SUBMIT: ActionForm((NOTE, PHOTOS), "处置结果（连同照片向反映人公开）"),
    Action.VERIFY_PASS: ActionForm((NOTE, PHOTOS), "核查情况", hint="现场核查通过即结案"),
    Action.VERIFY_FAIL: ActionForm((NOTE, PHOTOS), "不通过的原因", danger=True),
    Action.REQUEST_EXTENSION: ActionForm((EXTENSION, NOTE), "延期理由"),
    Action.APPROVE_EXTENSION: ActionForm((NOTE,)),
    Action.DENY_EXTENSION: ActionForm((NOTE,), "驳回理由", danger=True),
    Action.REQUEST_SUSPENSION: ActionForm((NOTE,), "挂账理由（如：需列入年度计划）"),
    Action.APPROVE_SUSPENSION: ActionForm((NOTE,)),
    Action.DENY_SUSPENSION: ActionForm((NOTE,), "驳回理由", danger=True),
    Action.RESUME: ActionForm((NOTE,)),
    Action.SUPERVISE: ActionForm((NOTE,), "督办意见"),
    Action.ESCALATE: ActionForm((CATEGORY, NOTE), "吹哨事由", hint="上报上一级网格协调处理"),
    Action.MERGE: ActionForm((MASTER, NOTE), hint="本案作为重复件并入主案件"),
    Action.SELF_HANDLE: ActionForm((NOTE, PHOTOS), "处置情况（连同照片向反映人公开）", hint="须上传处置后的现场照片"),
    Action.RATE: ActionForm((RATING, NOTE), "评价意见"),
    Action.REOPEN: ActionForm((NOTE,), "重办理由", danger=True),
    Action.PLACE: ActionForm((LOCATION, NOTE), hint="在地图上点选问题所在位置，或从列表中选择网格"),
    Action.COMMENT: ActionForm((NOTE,), "备注内容"),
}


def action_input(form: FormData, files: list[Upload]) -> ActionInput:
    version = text(form, "expected_version")
    rating = optional(form, "rating")
    try:
        parsed_rating = Rating(rating) if rating else None
    except ValueError as error:
        raise InvalidInputError("请选择评价：满意、基本满意或不满意", code="rating_required") from error
    assists = [code for code in form.getlist("assist_departments") if isinstance(code, str) and code]
    return ActionInput(
        note=text(form, "note"),
        expected_version=int(version) if version.isdigit() else None,
        category_code=optional(form, "category_code"),
        main_department=optional(form, "main_department"),
        assist_departments=assists or None,
        extension_value=number(form, "extension_value", "延期时长"),
        extension_unit=text(form, "extension_unit") or "days",
        master_number=optional(form, "master_number"),
        rating=parsed_rating,
        lon=number(form, "lon", "经度"),
        lat=number(form, "lat", "纬度"),
        crs=optional(form, "crs"),
        grid_code=optional(form, "grid_code"),
        attachments=files,
    )
