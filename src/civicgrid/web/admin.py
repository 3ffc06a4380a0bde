"""系统管理: the grid tree, departments, users, case categories and their limits, routing rules, the holiday table.

Each section needs its permission; an actor without it gets the 403 page. Every change goes through its domain
service (which checks permissions and scope and writes the audit log) in a transaction of its own. A POST
redirects back to its section with a short note (303), or shows the form again with the errors next to the
fields and the typed values kept (422).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from civicgrid import timesource
from civicgrid.cases import routing, taxonomy
from civicgrid.cases.models import Category, RoutingRule
from civicgrid.db import transaction
from civicgrid.errors import CivicgridError, ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from civicgrid.grid import service as grid_service
from civicgrid.grid.codes import GridLevel
from civicgrid.grid.models import GridDuty, GridNode
from civicgrid.http.bounds import RecordId
from civicgrid.http.deps import CSRF_CHECKED, ReadSession, SignedIn
from civicgrid.http.routing import session_router
from civicgrid.org import service as org_service
from civicgrid.org.actor import ALL_GRIDS, Actor
from civicgrid.org.models import Department, DepartmentKind
from civicgrid.org.passwords import check_policy
from civicgrid.org.roles import Permission, Role
from civicgrid.text import clean_label
from civicgrid.web.render import BEIJING, page
from civicgrid.worktime import service as worktime
from civicgrid.worktime.calendar import builtin_knows_year

router = session_router(include_in_schema=False, dependencies=CSRF_CHECKED)

T = TypeVar("T")
Errors = dict[str, str]
Values = dict[str, Any]
# What a form can be refused for, shown next to its field; anything else (a crash) is not caught here.
REFUSALS = (InvalidInputError, ConflictError, NotFoundError, PermissionDeniedError)
INDENT = "\u3000"  # a full-width space: indents tree levels inside a <select>


# --- sections and the shared page frame ----------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    key: str
    href: str
    title: str
    permission: Permission
    summary: str


SECTIONS: tuple[Section, ...] = (
    Section("grid", "/admin/grid", "网格管理", Permission.GRID_MANAGE, "区、街道、社区与网格单元的层级树，网格改名"),
    Section("departments", "/admin/departments", "部门管理", Permission.ORG_MANAGE, "职能部门、街道科室与指挥中心"),
    Section("users", "/admin/users", "用户管理", Permission.USER_MANAGE, "账号、角色、管辖网格、停用与重置密码"),
    Section("categories", "/admin/categories", "案件类别与时限", Permission.CASE_CONFIGURE, "各环节办理时限、默认部门"),
    Section("rules", "/admin/rules", "派遣规则", Permission.CASE_CONFIGURE, "按类别、网格、关键词自动建议主办部门"),
    Section("holidays", "/admin/holidays", "节假日表", Permission.ORG_MANAGE, "法定节假日与调休上班日，年度确认"),
)
SECTION_BY_KEY = {section.key: section for section in SECTIONS}

# Success notes, by the ``done`` key a POST redirects with; ``subject`` names what was changed.
NOTES: dict[str, str] = {
    "renamed": "已改名为“{subject}”",
    "assigned": "已把“{subject}”分配到该网格",
    "unassigned": "已撤销“{subject}”在该网格的职责",
    "department_created": "已创建部门“{subject}”",
    "user_created": "已创建用户“{subject}”，可用初始密码登录",
    "user_disabled": "已停用用户“{subject}”，其登录已失效",
    "user_enabled": "已启用用户“{subject}”",
    "password_reset": "已重置“{subject}”的密码，其原有登录已失效",
    "roles_changed": "已修改“{subject}”的角色",
    "category_saved": "已保存类别“{subject}”的设置，新的环节按新时限计时",
    "rule_created": "已添加派遣规则“{subject}”",
    "rule_enabled": "已启用派遣规则“{subject}”",
    "rule_disabled": "已停用派遣规则“{subject}”",
    "day_set": "已保存{subject}",
    "day_removed": "已从节假日表删除{subject}",
    "year_confirmed": "已确认{subject}年的节假日表",
    "year_unconfirmed": "已撤销{subject}年的确认",
}


def visible_sections(actor: Actor) -> list[Section]:
    return [section for section in SECTIONS if actor.has(section.permission)]


def require_section(actor: Actor, key: str) -> Section:
    section = SECTION_BY_KEY[key]
    actor.require(section.permission, section.title)
    return section


def success_note(request: Request) -> str | None:
    template = NOTES.get(request.query_params.get("done", ""))
    if template is None:
        return None
    return template.format(subject=request.query_params.get("subject", "")[:100])


def admin_page(
    request: Request, actor: Actor, key: str, template: str, context: Mapping[str, Any], *, status_code: int = 200
) -> Response:
    frame: dict[str, Any] = {
        "sections": visible_sections(actor),
        "section": SECTION_BY_KEY.get(key),
        "note": success_note(request) if status_code == 200 else None,
        "errors": {},
        "values": {},
    }
    return page(request, f"admin/{template}", {**frame, **context}, status_code=status_code)


def back(href: str, done: str, subject: object = "", **query: str) -> RedirectResponse:
    """303 to the section, with the note to show there."""
    return RedirectResponse(f"{href}?{urlencode({**query, 'done': done, 'subject': str(subject)})}", status_code=303)


def write(request: Request, change: Callable[[Session], T]) -> T:
    """Run one change in its own transaction: committed, or rolled back entirely when the service refuses."""
    with transaction(request.app.state.write_sessions) as session:
        return change(session)


def error_at(error: CivicgridError, fields: Mapping[str, str]) -> Errors:
    """The refusal as {field: message}: the field the error code belongs to, else the whole form."""
    return {fields.get(error.code, "_form"): error.message}


async def submitted_form(request: Request) -> FormData:
    return await request.form()


SubmittedForm = Annotated[FormData, Depends(submitted_form)]


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip()[:1000] if isinstance(value, str) else ""


def texts(form: FormData, name: str) -> list[str]:
    return [value.strip() for value in form.getlist(name) if isinstance(value, str) and value.strip()]


def secret(form: FormData, name: str) -> str:
    """A password as typed: not trimmed (spaces may be part of it), never shown again."""
    value = form.get(name)
    return value[:256] if isinstance(value, str) else ""


def split_list(value: str) -> list[str]:
    """Items typed into one field (grid codes, keywords), separated by spaces, commas or 、."""
    return [part for part in re.split(r"[\s,，、;；]+", value) if part]


def beijing_today() -> dt.date:
    return timesource.now().astimezone(BEIJING).date()


# --- the index ---------------------------------------------------------------------------------------------


@router.get("/admin", response_class=HTMLResponse)
def index(request: Request, session: ReadSession, actor: SignedIn) -> Response:
    sections = visible_sections(actor)
    if not sections:
        raise PermissionDeniedError(f"{actor.display_name}无权使用系统管理")
    this_year = beijing_today().year
    calendar = None
    if actor.has(Permission.ORG_MANAGE):
        calendar = [(year, worktime.year_status(session, year)) for year in (this_year, this_year + 1)]
    return admin_page(request, actor, "", "index.html", {"cards": sections, "calendar": calendar})


# --- the grid tree -------------------------------------------------------------------------------------------


@dataclass
class GridBranch:
    node: GridNode
    children: list[GridBranch] = field(default_factory=list)
    units: int = 0  # unit grids below (not counting itself)
    open: bool = False


def grid_tree(nodes: Sequence[GridNode], selected: GridNode | None) -> list[GridBranch]:
    """The nodes as nested branches; the levels down to the districts and the path to the selected node unfold."""
    branches = {node.id: GridBranch(node) for node in nodes}
    roots: list[GridBranch] = []
    for node in nodes:
        parent = branches.get(node.parent_id) if node.parent_id is not None else None
        (parent.children if parent is not None else roots).append(branches[node.id])
    for root in roots:
        _count_units(root)
    for branch in branches.values():
        above_streets = branch.node.grid_level.rank <= GridLevel.DISTRICT.rank
        on_path = selected is not None and selected.code.startswith(branch.node.code) and branch.node.id != selected.id
        branch.open = above_streets or on_path
    return roots


def _count_units(branch: GridBranch) -> int:
    branch.units = sum(
        _count_units(child) + (1 if child.node.level == GridLevel.UNIT.value else 0) for child in branch.children
    )
    return branch.units


def grid_context(session: Session, actor: Actor, selected_code: str | None) -> dict[str, Any]:
    selected = grid_service.get_node(session, actor, selected_code) if selected_code else None
    nodes = grid_service.list_nodes(session, actor)
    counts = grid_service.level_counts(session, actor)
    return {
        "tree": grid_tree(nodes, selected),
        "selected": selected,
        "path": grid_service.ancestors(session, selected) if selected else [],
        "selected_children": len(selected.children) if selected else 0,
        "people": grid_service.assigned_people(session, actor, selected.code) if selected else [],
        "manageable": selected is not None and actor.covers_grid(selected.code),
        "duties": [(duty.value, duty.label) for duty in GridDuty],
        "levels": [(level, counts[level]) for level in GridLevel if level in counts],
    }


@router.get("/admin/grid", response_class=HTMLResponse)
def grid_page(request: Request, session: ReadSession, actor: SignedIn, node: str = "") -> Response:
    require_section(actor, "grid")
    return admin_page(request, actor, "grid", "grid.html", grid_context(session, actor, node.strip() or None))


@router.post("/admin/grid/rename", response_class=HTMLResponse)
def rename_grid_node(request: Request, session: ReadSession, actor: SignedIn, form: SubmittedForm) -> Response:
    require_section(actor, "grid")
    code, name = text(form, "code"), text(form, "name")
    try:
        node = write(request, lambda writer: grid_service.rename_node(writer, actor, code, name))
    except (InvalidInputError, ConflictError) as error:  # out of scope stays a 403, an unknown code a 404
        context = {**grid_context(session, actor, code), "errors": {"name": error.message}, "values": {"name": name}}
        return admin_page(request, actor, "grid", "grid.html", context, status_code=422)
    return back("/admin/grid", "renamed", node.name, node=node.code)


@router.post("/admin/grid/assign", response_class=HTMLResponse)
def assign_to_grid(request: Request, session: ReadSession, actor: SignedIn, form: SubmittedForm) -> Response:
    """A grid worker, grid leader or cadre sent down (下沉干部) made responsible for the selected grid."""
    require_section(actor, "grid")
    code, username, duty = text(form, "code"), text(form, "username"), text(form, "duty")
    try:
        chosen = _duty(duty)
        write(request, lambda writer: grid_service.assign(writer, actor, code, username, chosen))
    except (InvalidInputError, ConflictError, NotFoundError) as error:
        if isinstance(error, NotFoundError) and error.code != "user_not_found":
            raise  # the grid: a 404 page
        values = {"username": username, "duty": duty}
        context = {**grid_context(session, actor, code), "errors": {"username": error.message}, "values": values}
        return admin_page(request, actor, "grid", "grid.html", context, status_code=422)
    return back("/admin/grid", "assigned", username, node=code)


@router.post("/admin/grid/unassign", response_class=HTMLResponse)
def unassign_from_grid(request: Request, actor: SignedIn, form: SubmittedForm) -> Response:
    require_section(actor, "grid")
    code, username = text(form, "code"), text(form, "username")
    duty = _duty(text(form, "duty"))
    write(request, lambda writer: grid_service.unassign(writer, actor, code, username, duty))
    return back("/admin/grid", "unassigned", username, node=code)


def _duty(value: str) -> GridDuty:
    try:
        return GridDuty(value)
    except ValueError as error:
        raise InvalidInputError("请选择职责：网格员、网格长或下沉干部", code="invalid_duty") from error


# --- departments ------------------------------------------------------------------------------------------------

DEPARTMENT_FIELDS = {
    "invalid_department_code": "code",
    "duplicate_department": "code",
    "empty_name": "name",
    "name_too_long": "name",
    "invalid_name": "name",
    "invalid_kind": "kind",
    "department_not_found": "parent_code",
    "grid_not_found": "grid_code",
    "out_of_scope": "grid_code",
}


def department_rows(departments: Sequence[Department]) -> list[tuple[Department, int]]:
    """Departments in tree order with their depth (sub-departments under their parent)."""
    known = {department.id for department in departments}
    children: dict[int | None, list[Department]] = {}
    for department in departments:
        parent = department.parent_id if department.parent_id in known else None
        children.setdefault(parent, []).append(department)
    rows: list[tuple[Department, int]] = []

    def visit(parent: int | None, depth: int) -> None:
        for department in sorted(children.get(parent, []), key=lambda d: d.code):
            rows.append((department, depth))
            visit(department.id, depth + 1)

    visit(None, 0)
    return rows


def department_context(session: Session, actor: Actor) -> dict[str, Any]:
    rows = department_rows(org_service.list_departments(session, actor))
    nodes = grid_service.list_nodes(session, actor)
    return {
        "rows": rows,
        "grid_by_id": {node.id: node for node in nodes},
        "kind_labels": {kind.value: kind.label for kind in DepartmentKind},
        "kind_options": [(kind.value, kind.label) for kind in DepartmentKind],
        "parent_options": department_choices(rows),
        "grid_options": [
            (node.code, f"{INDENT * node.depth}{node.name}（{node.code}）")
            for node in nodes
            if node.level != GridLevel.UNIT.value and actor.covers_grid(node.code)
        ],
        "global_actor": actor.grid_codes == ALL_GRIDS,
    }


@router.get("/admin/departments", response_class=HTMLResponse)
def departments_page(request: Request, session: ReadSession, actor: SignedIn) -> Response:
    require_section(actor, "departments")
    return admin_page(request, actor, "departments", "departments.html", department_context(session, actor))


@router.post("/admin/departments", response_class=HTMLResponse)
def create_department(request: Request, session: ReadSession, actor: SignedIn, form: SubmittedForm) -> Response:
    require_section(actor, "departments")
    values = {name: text(form, name) for name in ("code", "name", "kind", "parent_code", "grid_code")}
    try:
        kind = parse_department_kind(values["kind"])
        department = write(
            request,
            lambda writer: org_service.create_department(
                writer,
                actor,
                code=values["code"],
                name=values["name"],
                kind=kind,
                parent_code=values["parent_code"] or None,
                grid_code=values["grid_code"] or None,
            ),
        )
    except REFUSALS as error:
        context = {**department_context(session, actor), "errors": error_at(error, DEPARTMENT_FIELDS), "values": values}
        return admin_page(request, actor, "departments", "departments.html", context, status_code=422)
    return back("/admin/departments", "department_created", department.name)


def parse_department_kind(value: str) -> DepartmentKind:
    try:
        return DepartmentKind(value)
    except ValueError as error:
        raise InvalidInputError("请选择部门类型", code="invalid_kind") from error


# --- users -------------------------------------------------------------------------------------------------------

USER_FIELDS = {
    "invalid_username": "username",
    "duplicate_username": "username",
    "empty_name": "display_name",
    "name_too_long": "display_name",
    "invalid_name": "display_name",
    "no_roles": "roles",
    "unknown_role": "roles",
    "admin_only": "roles",
    "demote_self": "roles",
    "department_not_found": "department_code",
    "grid_not_found": "grid_codes",
    "out_of_scope": "grid_codes",
    "weak_password": "password",
    "password_mismatch": "password",
    "reason_required": "reason",
}


@dataclass(frozen=True)
class UserFilter:
    """The user list's filters as typed (kept in the form and in every page link)."""

    q: str = ""
    role: str = ""
    department: str = ""
    grid: str = ""
    status: str = ""

    def query(self) -> org_service.UserQuery:
        role = next((r for r in Role if r.value == self.role), None)
        return org_service.UserQuery(self.q, role, self.department, self.grid, self.status)

    def link(self, page_number: int) -> str:
        kept = {name: value for name, value in self.__dict__.items() if value}
        return "/admin/users?" + urlencode({**kept, "page_number": page_number})


def sorted_roles(roles: Iterable[Role]) -> list[Role]:
    order = list(Role)
    return sorted(roles, key=order.index)


def users_context(session: Session, actor: Actor, chosen: UserFilter, page_number: int = 1) -> dict[str, Any]:
    found = org_service.find_manageable_users(session, actor, chosen.query(), page=page_number)
    return {
        "users": found.users,
        "found": found,
        "filter": chosen,
        "roles": list(Role),
        "sorted_roles": sorted_roles,
        "department_options": department_options(session, actor),
        "global_actor": actor.grid_codes == ALL_GRIDS,
    }


def department_options(session: Session, actor: Actor) -> list[tuple[str, str]]:
    return department_choices(department_rows(org_service.list_departments(session, actor)))


def department_choices(rows: Sequence[tuple[Department, int]]) -> list[tuple[str, str]]:
    """(code, indented name) of the active departments, for a <select>."""
    return [(d.code, f"{INDENT * depth}{d.name}") for d, depth in rows if d.is_active]


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(
    request: Request,
    session: ReadSession,
    actor: SignedIn,
    q: str = "",
    role: str = "",
    department: str = "",
    grid: str = "",
    status: str = "",
    page_number: str = "1",
) -> Response:
    require_section(actor, "users")
    chosen = UserFilter(q.strip()[:64], role[:32], department.strip()[:32], grid.strip()[:64], status[:16])
    number = int(page_number) if page_number.isdigit() and len(page_number) < 7 else 1
    return admin_page(request, actor, "users", "users.html", users_context(session, actor, chosen, number))


@dataclass(frozen=True)
class NewUser:
    username: str
    display_name: str
    roles: list[Role]
    department_code: str | None
    grid_codes: list[str]
    all_grids: bool
    password: str


def read_new_user(form: FormData) -> tuple[Values, NewUser | None, Errors]:
    """The typed values (to show again), the checked user (None when a field is wrong) and every field's error."""
    values: Values = {
        "username": text(form, "username"),
        "display_name": text(form, "display_name"),
        "roles": texts(form, "roles"),
        "department_code": text(form, "department_code"),
        "grid_codes": text(form, "grid_codes"),
        "all_grids": bool(text(form, "all_grids")),
    }
    password = secret(form, "password")
    errors: Errors = {}
    checks: dict[str, Callable[[], object]] = {
        "username": lambda: org_service.normalise_username(values["username"]),
        "display_name": lambda: clean_label(values["display_name"], max_length=64, what="姓名"),
        "roles": lambda: parse_roles(values["roles"]),
        "password": lambda: check_new_password(password),
    }
    for name, check in checks.items():
        try:
            check()
        except InvalidInputError as error:
            errors[name] = error.message
    if errors:
        return values, None, errors
    user = NewUser(
        username=values["username"],
        display_name=values["display_name"],
        roles=parse_roles(values["roles"]),
        department_code=values["department_code"] or None,
        grid_codes=split_list(values["grid_codes"]),
        all_grids=values["all_grids"],
        password=password,
    )
    return values, user, {}


def parse_roles(values: Sequence[str]) -> list[Role]:
    if not values:
        raise InvalidInputError("请至少选择一个角色", code="no_roles")
    roles = []
    for value in values:
        try:
            roles.append(Role(value))
        except ValueError as error:
            raise InvalidInputError(f"未知角色“{value}”", code="unknown_role") from error
    return roles


def check_new_password(password: str, confirmation: str | None = None) -> None:
    if not password:
        raise InvalidInputError("请设置密码（至少8位，含字母和数字）", code="weak_password")
    check_policy(password)
    if confirmation is not None and confirmation != password:
        raise InvalidInputError("两次输入的密码不一致", code="password_mismatch")


@router.post("/admin/users", response_class=HTMLResponse)
def create_user(request: Request, session: ReadSession, actor: SignedIn, form: SubmittedForm) -> Response:
    require_section(actor, "users")
    values, new, errors = read_new_user(form)
    if new is not None:
        try:
            created = write(
                request,
                lambda writer: org_service.create_user(
                    writer,
                    actor,
                    username=new.username,
                    display_name=new.display_name,
                    roles=new.roles,
                    password=new.password,
                    department_code=new.department_code,
                    grid_codes=new.grid_codes,
                    all_grids=new.all_grids,
                ),
            )
            return back("/admin/users", "user_created", created.username)
        except REFUSALS as error:
            errors = error_at(error, USER_FIELDS)
    context = {**users_context(session, actor, UserFilter()), "errors": errors, "values": values}
    return admin_page(request, actor, "users", "users.html", context, status_code=422)


def user_context(session: Session, actor: Actor, username: str) -> dict[str, Any]:
    user = org_service.get_user(session, username)
    org_service.require_user_in_scope(session, actor, user, "管理该用户")
    return {
        "user": user,
        "grids": org_service.grids_of_user(session, actor, user.username),
        "roles": list(Role),
        "sorted_roles": sorted_roles,
        "is_self": actor.user_id == user.id,
    }


def user_page_of(
    request: Request, session: Session, actor: Actor, username: str, errors: Errors, values: Values
) -> Response:
    context = {**user_context(session, actor, username), "errors": errors, "values": values}
    return admin_page(request, actor, "users", "user.html", context, status_code=422)


@router.get("/admin/users/{username}", response_class=HTMLResponse)
def user_page(request: Request, session: ReadSession, actor: SignedIn, username: str) -> Response:
    require_section(actor, "users")
    return admin_page(request, actor, "users", "user.html", user_context(session, actor, username))


@router.post("/admin/users/{username}/disable", response_class=HTMLResponse)
def disable_user(
    request: Request, session: ReadSession, actor: SignedIn, form: SubmittedForm, username: str
) -> Response:
    require_section(actor, "users")
    reason = text(form, "reason")
    try:
        user = write(request, lambda writer: org_service.disable_user(writer, actor, username, reason))
    except REFUSALS as error:
        return user_page_of(request, session, actor, username, error_at(error, USER_FIELDS), {"reason": reason})
    return back(f"/admin/users/{user.username}", "user_disabled", user.username)


@router.post("/admin/users/{username}/enable", response_class=HTMLResponse)
def enable_user(request: Request, session: ReadSession, actor: SignedIn, username: str) -> Response:
    require_section(actor, "users")
    try:
        user = write(request, lambda writer: org_service.enable_user(writer, actor, username))
    except REFUSALS as error:
        return user_page_of(request, session, actor, username, error_at(error, USER_FIELDS), {})
    return back(f"/admin/users/{user.username}", "user_enabled", user.username)


@router.post("/admin/users/{username}/password", response_class=HTMLResponse)
def reset_password(
    request: Request, session: ReadSession, actor: SignedIn, form: SubmittedForm, username: str
) -> Response:
    require_section(actor, "users")
    password, confirmation = secret(form, "password"), secret(form, "password_again")
    try:
        check_new_password(password, confirmation)
        write(request, lambda writer: org_service.set_password(writer, actor, username, password))
    except REFUSALS as error:
        return user_page_of(request, session, actor, username, error_at(error, USER_FIELDS), {})
    return back(f"/admin/users/{username.strip().lower()}", "password_reset", username.strip().lower())


@router.post("/admin/users/{username}/roles", response_class=HTMLResponse)
def change_roles(
    request: Request, session: ReadSession, actor: SignedIn, form: SubmittedForm, username: str
) -> Response:
    require_section(actor, "users")
    chosen = texts(form, "roles")
    try:
        roles = parse_roles(chosen)
        user = write(request, lambda writer: org_service.set_roles(writer, actor, username, roles))
    except REFUSALS as error:
        return user_page_of(request, session, actor, username, error_at(error, USER_FIELDS), {"roles": chosen})
    return back(f"/admin/users/{user.username}", "roles_changed", user.username)


# --- categories and their limits -------------------------------------------------------------------------------

CATEGORY_FIELDS = {"department_not_found": "default_department", "invalid_priority": "priority"}
PRIORITY_OPTIONS = [("1", "1（最急）"), ("2", "2"), ("3", "3（一般）"), ("4", "4"), ("5", "5（最缓）")]


@dataclass(frozen=True)
class CategoryRow:
    category: Category
    own: dict[str, dict[str, Any]]
    effective: dict[str, dict[str, Any]]
    department: Department | None


def limit_text(limit: Mapping[str, Any]) -> str:
    """2小时 / 5个工作日."""
    unit = "个工作日" if limit.get("unit") == "days" else "小时"
    return f"{limit.get('value')}{unit}"


def category_rows(session: Session, actor: Actor) -> list[CategoryRow]:
    departments = {d.code: d for d in org_service.list_departments(session, actor)}
    return [
        CategoryRow(
            category,
            category.limits or {},
            taxonomy.effective_limits(category),
            departments.get(category.default_department_code or ""),
        )
        for category in taxonomy.list_categories(session)
    ]


CATEGORY_FRAME = {"stages": taxonomy.STAGES, "stage_labels": taxonomy.STAGE_LABELS, "limit_text": limit_text}


@router.get("/admin/categories", response_class=HTMLResponse)
def categories_page(request: Request, session: ReadSession, actor: SignedIn) -> Response:
    require_section(actor, "categories")
    context = {**CATEGORY_FRAME, "rows": category_rows(session, actor)}
    return admin_page(request, actor, "categories", "categories.html", context)


def category_values(category: Category, inherited: Mapping[str, Mapping[str, Any]]) -> Values:
    """The form as stored: a stage without its own limit is empty, its unit preset to the inherited one."""
    values: Values = {
        "default_department": category.default_department_code or "",
        "priority": str(category.priority),
    }
    for stage in taxonomy.STAGES:
        own = (category.limits or {}).get(stage)
        values[f"{stage}_value"] = str(own["value"]) if own else ""
        values[f"{stage}_unit"] = own["unit"] if own else inherited[stage]["unit"]
    return values


def category_edit_context(session: Session, actor: Actor, code: str) -> dict[str, Any]:
    category = taxonomy.get_category(session, code)
    inherited = taxonomy.effective_limits(category.parent)
    return {
        **CATEGORY_FRAME,
        "category": category,
        "path": _category_path(category),
        "inherited": inherited,
        "department_options": department_options(session, actor),
        "priority_options": PRIORITY_OPTIONS,
        "values": category_values(category, inherited),
    }


def _category_path(category: Category) -> list[Category]:
    chain = []
    current: Category | None = category
    while current is not None:
        chain.append(current)
        current = current.parent
    return list(reversed(chain))


@router.get("/admin/categories/{code}", response_class=HTMLResponse)
def category_page(request: Request, session: ReadSession, actor: SignedIn, code: str) -> Response:
    require_section(actor, "categories")
    return admin_page(request, actor, "categories", "category.html", category_edit_context(session, actor, code))


def read_limits(values: Values, day_minutes: int) -> tuple[dict[str, dict[str, Any]], Errors]:
    """The stages given their own limit (an empty value inherits), and each wrong stage's error."""
    limits: dict[str, dict[str, Any]] = {}
    errors: Errors = {}
    for stage in taxonomy.STAGES:
        raw, unit = values[f"{stage}_value"], values[f"{stage}_unit"]
        if not raw:
            continue
        try:
            limits[stage] = taxonomy.check_stage_limit(stage, raw, unit, day_minutes)
        except InvalidInputError as error:
            errors[f"{stage}_value"] = error.message
    return limits, errors


def parse_priority(value: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        number = low - 1
    if not low <= number <= high:
        raise InvalidInputError(f"优先级须为{low}到{high}之间的整数", code="invalid_priority")
    return number


@router.post("/admin/categories/{code}", response_class=HTMLResponse)
def save_category(request: Request, session: ReadSession, actor: SignedIn, form: SubmittedForm, code: str) -> Response:
    require_section(actor, "categories")
    values: Values = {"default_department": text(form, "default_department"), "priority": text(form, "priority")}
    for stage in taxonomy.STAGES:
        values[f"{stage}_value"] = text(form, f"{stage}_value")
        values[f"{stage}_unit"] = text(form, f"{stage}_unit")
    limits, errors = read_limits(values, worktime.load_calendar(session).day_minutes())
    try:
        priority = parse_priority(values["priority"], 1, 5)
    except InvalidInputError as error:
        errors["priority"] = error.message
        priority = 0
    if not errors:
        try:
            category = write(
                request,
                lambda writer: taxonomy.update_category(
                    writer,
                    actor,
                    code,
                    limits=limits,
                    default_department_code=values["default_department"] or None,
                    priority=priority,
                ),
            )
            return back("/admin/categories", "category_saved", category.name)
        except REFUSALS as error:
            failed_stage = error.detail.get("stage")
            errors = {f"{failed_stage}_value": error.message} if failed_stage else error_at(error, CATEGORY_FIELDS)
    context = {**category_edit_context(session, actor, code), "errors": errors, "values": values}
    return admin_page(request, actor, "categories", "category.html", context, status_code=422)


# --- routing rules ---------------------------------------------------------------------------------------------

RULE_FIELDS = {
    "empty_name": "name",
    "name_too_long": "name",
    "invalid_name": "name",
    "main_also_assist": "assist_departments",
    "category_not_found": "category_code",
    "invalid_priority": "priority",
}


@dataclass(frozen=True)
class RuleRow:
    rule: RoutingRule
    category: str
    grid: str
    main: str
    assists: list[str]


def rules_context(session: Session, actor: Actor) -> dict[str, Any]:
    departments = org_service.list_departments(session, actor)
    department_names = {d.id: d.name for d in departments}
    categories = taxonomy.list_categories(session)
    category_names = {c.code: c.name for c in categories}
    rows = []
    for rule in routing.list_rules(session):
        grid = grid_service.find_node(session, rule.grid_code) if rule.grid_code else None
        rows.append(
            RuleRow(
                rule,
                category=f"{category_names.get(rule.category_code, '（已停用）')} {rule.category_code}"
                if rule.category_code
                else "任意",
                grid=f"{grid.name if grid else '（不存在）'} {rule.grid_code}" if rule.grid_code else "任意",
                main=department_names.get(rule.main_department_id, "（已删除）"),
                assists=[department_names.get(i, "（已删除）") for i in rule.assist_department_ids],
            )
        )
    return {
        "rows": rows,
        "department_options": department_options(session, actor),
        "category_options": [(c.code, f"{INDENT * c.depth}{c.name}（{c.code}）") for c in categories],
    }


@router.get("/admin/rules", response_class=HTMLResponse)
def rules_page(request: Request, session: ReadSession, actor: SignedIn) -> Response:
    require_section(actor, "rules")
    context = {**rules_context(session, actor), "values": {"priority": "100"}}
    return admin_page(request, actor, "rules", "rules.html", context)


def check_rule_targets(session: Session, actor: Actor, values: Values) -> Errors:
    """A rule for a category or grid that does not exist would never match: refuse it next to the field."""
    errors: Errors = {}
    if values["category_code"]:
        try:
            taxonomy.get_category(session, values["category_code"])
        except NotFoundError as error:
            errors["category_code"] = error.message
    if values["grid_code"]:
        try:
            grid_service.get_node(session, actor, values["grid_code"])
        except NotFoundError as error:
            errors["grid_code"] = error.message
    try:
        parse_priority(values["priority"], 0, 9999)
    except InvalidInputError as error:
        errors["priority"] = error.message
    if not values["main_department"]:
        errors["main_department"] = "请选择主办部门"
    return errors


@router.post("/admin/rules", response_class=HTMLResponse)
def create_rule(request: Request, session: ReadSession, actor: SignedIn, form: SubmittedForm) -> Response:
    require_section(actor, "rules")
    values: Values = {
        name: text(form, name) for name in ("name", "main_department", "category_code", "grid_code", "priority")
    }
    values["keywords"] = text(form, "keywords")
    values["assist_departments"] = texts(form, "assist_departments")
    errors = check_rule_targets(session, actor, values)
    if not errors:
        try:
            rule = write(
                request,
                lambda writer: routing.create_rule(
                    writer,
                    actor,
                    name=values["name"],
                    main_department_code=values["main_department"],
                    assist_department_codes=values["assist_departments"],
                    category_code=values["category_code"] or None,
                    grid_code=values["grid_code"] or None,
                    keywords=split_list(values["keywords"]),
                    priority=int(values["priority"]),
                ),
            )
            return back("/admin/rules", "rule_created", rule.name)
        except REFUSALS as error:
            errors = error_at(error, RULE_FIELDS)
            if error.code == "department_not_found":
                main = error.detail.get("code") == values["main_department"]
                errors = {"main_department" if main else "assist_departments": error.message}
    context = {**rules_context(session, actor), "errors": errors, "values": values}
    return admin_page(request, actor, "rules", "rules.html", context, status_code=422)


@router.post("/admin/rules/{rule_id}/active", response_class=HTMLResponse)
def switch_rule(request: Request, actor: SignedIn, form: SubmittedForm, rule_id: RecordId) -> Response:
    require_section(actor, "rules")
    active = text(form, "active") == "1"
    rule = write(request, lambda writer: routing.set_rule_active(writer, actor, rule_id, active))
    return back("/admin/rules", "rule_enabled" if active else "rule_disabled", rule.name)


# --- the holiday table ------------------------------------------------------------------------------------------

WEEKDAYS = "一二三四五六日"
YEAR_STATUS_LABELS = {
    "built-in": "已内置",
    "confirmed": "已确认",
    "unknown": "未录入或未确认",
}
HOLIDAY_FIELDS = {
    "invalid_date": "day",
    "invalid_year": "day",
    "empty_name": "name",
    "name_too_long": "name",
    "invalid_name": "name",
    "invalid_kind": "kind",
}


def chinese_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日（周{WEEKDAYS[day.weekday()]}）"


def parse_year(value: str | int) -> int:
    try:
        year = int(value)
    except ValueError as error:
        raise InvalidInputError(
            f"年份须为{worktime.MIN_YEAR}–{worktime.MAX_YEAR}之间的整数", code="invalid_year"
        ) from error
    if not worktime.MIN_YEAR <= year <= worktime.MAX_YEAR:
        raise InvalidInputError(f"年份须为{worktime.MIN_YEAR}–{worktime.MAX_YEAR}之间的整数", code="invalid_year")
    return year


def parse_day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as error:
        raise InvalidInputError("请选择日期，如 2027-10-01", code="invalid_date") from error


def last_builtin_year(today: dt.date) -> int:
    """The last year chinese-calendar knows (it ships the State Council notices published so far)."""
    year = today.year + 1
    while year > worktime.MIN_YEAR and not builtin_knows_year(year):
        year -= 1
    return year


def holidays_context(session: Session, year: int, edit: str = "") -> dict[str, Any]:
    days = worktime.list_days(session, year)
    editing = next((row for row in days if row.day.isoformat() == edit), None)
    values: Values = {"day": "", "kind": "holiday", "name": ""}
    if editing is not None:
        values = {
            "day": editing.day.isoformat(),
            "kind": "workday" if editing.is_workday else "holiday",
            "name": editing.name,
        }
    today = beijing_today()
    return {
        "year": year,
        "days": days,
        "status": worktime.year_status(session, year),
        "status_labels": YEAR_STATUS_LABELS,
        "chinese_date": chinese_date,
        "last_builtin": last_builtin_year(today),
        "years": sorted({*range(today.year - 2, today.year + 3), year}),
        "editing": editing,
        "values": values,
    }


@router.get("/admin/holidays", response_class=HTMLResponse)
def holidays_page(request: Request, session: ReadSession, actor: SignedIn, year: str = "", edit: str = "") -> Response:
    require_section(actor, "holidays")
    chosen = parse_year(year) if year.strip() else beijing_today().year
    return admin_page(request, actor, "holidays", "holidays.html", holidays_context(session, chosen, edit))


def holidays_again(
    request: Request, session: Session, actor: Actor, year: int, errors: Errors, values: Values | None = None
) -> Response:
    context = holidays_context(session, year)
    context = {**context, "errors": errors, "values": {**context["values"], **(values or {})}}
    return admin_page(request, actor, "holidays", "holidays.html", context, status_code=422)


def year_of_form(form: FormData) -> int:
    try:
        return parse_year(text(form, "year"))
    except InvalidInputError:
        return beijing_today().year


@router.post("/admin/holidays/day", response_class=HTMLResponse)
def set_day(request: Request, session: ReadSession, actor: SignedIn, form: SubmittedForm) -> Response:
    require_section(actor, "holidays")
    values = {name: text(form, name) for name in ("day", "kind", "name")}
    year = year_of_form(form)
    try:
        day = parse_day(values["day"])
        if values["kind"] not in ("holiday", "workday"):
            raise InvalidInputError("请选择放假或上班", code="invalid_kind")
        write(request, lambda writer: worktime.set_day(writer, actor, day, values["kind"] == "workday", values["name"]))
    except REFUSALS as error:
        return holidays_again(request, session, actor, year, error_at(error, HOLIDAY_FIELDS), values)
    kind = "上班" if values["kind"] == "workday" else "放假"
    return back("/admin/holidays", "day_set", f"{chinese_date(day)}：{kind}", year=str(day.year))


@router.post("/admin/holidays/remove", response_class=HTMLResponse)
def remove_day(request: Request, session: ReadSession, actor: SignedIn, form: SubmittedForm) -> Response:
    require_section(actor, "holidays")
    year = year_of_form(form)
    try:
        day = parse_day(text(form, "day"))
        write(request, lambda writer: worktime.remove_day(writer, actor, day))
    except REFUSALS as error:
        return holidays_again(request, session, actor, year, {"_form": error.message})
    return back("/admin/holidays", "day_removed", chinese_date(day), year=str(day.year))


@router.post("/admin/holidays/confirm", response_class=HTMLResponse)
def confirm_year(request: Request, session: ReadSession, actor: SignedIn, form: SubmittedForm) -> Response:
    require_section(actor, "holidays")
    year, note = year_of_form(form), text(form, "note")
    try:
        write(request, lambda writer: worktime.confirm_year(writer, actor, year, note))
    except REFUSALS as error:
        return holidays_again(request, session, actor, year, {"year_action": error.message}, {"note": note})
    return back("/admin/holidays", "year_confirmed", year, year=str(year))


@router.post("/admin/holidays/unconfirm", response_class=HTMLResponse)
def unconfirm_year(request: Request, session: ReadSession, actor: SignedIn, form: SubmittedForm) -> Response:
    require_section(actor, "holidays")
    year = year_of_form(form)
    try:
        write(request, lambda writer: worktime.unconfirm_year(writer, actor, year))
    except REFUSALS as error:
        return holidays_again(request, session, actor, year, {"year_action": error.message})
    return back("/admin/holidays", "year_unconfirmed", year, year=str(year))
