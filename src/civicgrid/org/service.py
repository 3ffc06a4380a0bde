"""Organisation service: departments, users, sign-in, and building the Actor for a user."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import ColumnElement, Select, delete, false, func, or_, select
from sqlalchemy.orm import Session, selectinload

from civicgrid import audit
from civicgrid.code_prefix import code_in_subtrees
from civicgrid.db import utcnow
from civicgrid.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from civicgrid.grid.models import GridAssignment, GridDuty, GridNode
from civicgrid.json_list import like_pattern
from civicgrid.org.actor import ALL_GRIDS, Actor, minimal_roots
from civicgrid.org.models import ApiToken, Department, DepartmentKind, User, UserGridScope, UserRole, WebSession
from civicgrid.org.passwords import hash_password, needs_rehash, verify_password
from civicgrid.org.roles import DEPARTMENT_CASE_ROLES, ROLE_PERMISSIONS, Permission, Role
from civicgrid.text import clean_label

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.@-]{2,63}$")
_DEPARTMENT_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")


# --- departments -------------------------------------------------------------------------------------------


def create_department(
    session: Session,
    actor: Actor,
    *,
    code: str,
    name: str,
    kind: DepartmentKind,
    parent_code: str | None = None,
    grid_code: str | None = None,
) -> Department:
    actor.require(Permission.ORG_MANAGE, "管理部门")
    code = code.strip()
    if not _DEPARTMENT_CODE.match(code):
        raise InvalidInputError(
            f"部门代码“{code}”无效：1–32位字母、数字、下划线、点或连字符", code="invalid_department_code"
        )
    if _department_by_code(session, code) is not None:
        raise ConflictError(f"部门代码“{code}”已存在", code="duplicate_department", detail={"code": code})
    parent = get_department(session, parent_code) if parent_code else None
    grid_node = _grid_node_or_error(session, grid_code) if grid_code else None
    if grid_node is not None:
        actor.require_grid(grid_node.code, "在此网格设立部门", name=grid_node.name)
    elif not _is_global(actor):
        raise PermissionDeniedError("只能在自己管辖的网格内设立部门：请指定所属网格", code="out_of_scope")
    department = Department(
        code=code,
        name=clean_label(name, what="部门名称"),
        kind=kind.value,
        parent=parent,
        grid_node_id=grid_node.id if grid_node else None,
    )
    session.add(department)
    session.flush()
    audit.record(session, actor, "org.department.create", "department", code, {"name": department.name})
    return department


def _department_by_code(session: Session, code: str) -> Department | None:
    return session.execute(select(Department).where(Department.code == code)).scalar_one_or_none()


def get_department(session: Session, code: str) -> Department:
    department = _department_by_code(session, code)
    if department is None:
        raise NotFoundError(f"部门“{code}”不存在", code="department_not_found", detail={"code": code})
    return department


def list_departments(session: Session, actor: Actor) -> list[Department]:
    actor.require(Permission.ORG_READ, "查看部门")
    return list(session.execute(select(Department).order_by(Department.code)).scalars())


def department_subtree_ids(session: Session, root_ids: Iterable[int]) -> set[int]:
    """The departments and all their sub-departments (a staff member of 城管局 also sees its 执法中队)."""
    rows = session.execute(select(Department.id, Department.parent_id)).all()
    children: dict[int, list[int]] = {}
    for department_id, parent_id in rows:
        if parent_id is not None:
            children.setdefault(parent_id, []).append(department_id)
    found: set[int] = set()
    pending = list(root_ids)
    while pending:
        current = pending.pop()
        if current in found:
            continue
        found.add(current)
        pending.extend(children.get(current, []))
    return found


def _grid_node_or_error(session: Session, code: str) -> GridNode:
    node = session.execute(select(GridNode).where(GridNode.code == code)).scalar_one_or_none()
    if node is None:
        raise NotFoundError(f"网格“{code}”不存在", code="grid_not_found", detail={"code": code})
    return node


# --- users -------------------------------------------------------------------------------------------------


def normalise_username(username: str) -> str:
    normalised = username.strip().lower()
    if not _USERNAME.match(normalised):
        raise InvalidInputError(
            f"用户名“{username}”无效：3–64位小写字母、数字或 _ . @ -，以字母或数字开头",
            code="invalid_username",
            detail={"username": username},
        )
    return normalised


def get_user(session: Session, username: str) -> User:
    user = session.execute(
        select(User).where(User.username == username.strip().lower()).options(selectinload(User.role_rows))
    ).scalar_one_or_none()
    if user is None:
        raise NotFoundError(f"用户“{username}”不存在", code="user_not_found", detail={"username": username})
    return user


def create_user(
    session: Session,
    actor: Actor,
    *,
    username: str,
    display_name: str,
    roles: Sequence[Role],
    password: str | None,
    department_code: str | None = None,
    grid_codes: Sequence[str] = (),
    all_grids: bool = False,
) -> User:
    """Create a user. ``password=None`` makes an account that cannot sign in until a password is set.

    Scopes are granted only from within the creator's own scope; ``all_grids`` only by someone who has it.
    """
    actor.require(Permission.USER_MANAGE, "创建用户")
    if all_grids and not _is_global(actor):
        raise PermissionDeniedError("只有管辖全部网格的管理员才能授予全部网格范围", code="out_of_scope")
    if not roles:
        raise InvalidInputError("至少指定一个角色", code="no_roles")
    if Role.ADMIN in roles and not actor.has(Permission.ORG_MANAGE):
        raise PermissionDeniedError("只有管理员可以创建管理员", code="admin_only")
    name = normalise_username(username)
    if session.execute(select(User.id).where(User.username == name)).first() is not None:
        raise ConflictError(f"用户名“{name}”已存在", code="duplicate_username", detail={"username": name})
    department = get_department(session, department_code) if department_code else None
    scopes = [_grid_node_or_error(session, code) for code in grid_codes]
    for node in scopes:
        actor.require_grid(node.code, "授予此网格范围", name=node.name)
    if not _is_global(actor) and not scopes and not _department_in_scope(session, actor, department):
        raise PermissionDeniedError("只能创建本辖区的用户：请指定管辖网格，或选择本辖区的部门", code="out_of_scope")
    user = User(
        username=name,
        display_name=clean_label(display_name, max_length=64, what="姓名"),
        password_hash=hash_password(password) if password is not None else None,
        department=department,
        all_grids=all_grids,
        role_rows=[UserRole(role=role.value) for role in sorted(set(roles))],
        grid_scopes=[UserGridScope(grid_node_id=node.id) for node in scopes],
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor,
        "org.user.create",
        "user",
        name,
        {
            "roles": sorted(role.value for role in roles),
            "department": department_code,
            "grids": list(grid_codes),
            "all_grids": all_grids,
        },
    )
    return user


def _is_global(actor: Actor) -> bool:
    return actor.grid_codes == ALL_GRIDS


def _department_in_scope(session: Session, actor: Actor, department: Department | None) -> bool:
    if department is None or department.grid_node_id is None:
        return False
    node = session.get(GridNode, department.grid_node_id)
    return node is not None and actor.covers_grid(node.code)


def require_user_in_scope(session: Session, actor: Actor, user: User, doing: str) -> None:
    """A scoped administrator manages only the people of her grids: every grid the user works on (scopes and
    assignments) and the user's department must lie inside her scope. Global users only by global admins."""
    if _is_global(actor):
        return
    codes = _grid_codes_by_user(session, [user.id]).get(user.id, [])
    department_grid = _department_grid_codes(session).get(user.department_id) if user.department_id else None
    if not _user_within(actor, user, codes, department_grid):
        raise PermissionDeniedError(
            f"{actor.display_name}无权{doing}：用户“{user.username}”不在其管辖范围内",
            code="out_of_scope",
            detail={"username": user.username},
        )


class _UserFacts(Protocol):
    """What the scope rule reads of a user: a User, or a row of its columns."""

    department_id: int | None
    all_grids: bool


def _user_within(actor: Actor, user: _UserFacts, grid_codes: Sequence[str], department_grid_code: str | None) -> bool:
    """The rule of ``require_user_in_scope`` for a scoped actor. ``department_grid_code`` is the grid of the
    user's department (None when the user has none, or the department belongs to no grid)."""
    if user.all_grids or (not grid_codes and user.department_id is None):
        return False
    department_inside = user.department_id is None or (
        department_grid_code is not None and actor.covers_grid(department_grid_code)
    )
    return department_inside and all(actor.covers_grid(code) for code in grid_codes)


def _grid_codes_by_user(session: Session, user_ids: Sequence[int] | None = None) -> dict[int, list[str]]:
    """The grids each user works on: explicit scopes and assignments (all users when ``user_ids`` is None)."""
    scopes = select(UserGridScope.user_id, GridNode.code).join(GridNode, GridNode.id == UserGridScope.grid_node_id)
    assignments = select(GridAssignment.user_id, GridNode.code).join(
        GridNode, GridNode.id == GridAssignment.grid_node_id
    )
    if user_ids is not None:
        scopes = scopes.where(UserGridScope.user_id.in_(user_ids))
        assignments = assignments.where(GridAssignment.user_id.in_(user_ids))
    codes: dict[int, list[str]] = {}
    for user_id, code in [*session.execute(scopes), *session.execute(assignments)]:
        codes.setdefault(user_id, []).append(code)
    return codes


def _department_grid_codes(session: Session) -> dict[int, str]:
    rows = session.execute(select(Department.id, GridNode.code).join(GridNode, GridNode.id == Department.grid_node_id))
    return dict(rows.all())


USER_PAGE_SIZE = 50


@dataclass(frozen=True)
class UserQuery:
    """Which users the user list shows. ``text``: part of the user name or the name; ``department_code``: the
    department and its sub-departments; ``grid``: a grid's code or part of its name — the users working on it or
    below it (granted scopes, duties, their department's grid); ``status``: "active" or "disabled"."""

    text: str = ""
    role: Role | None = None
    department_code: str = ""
    grid: str = ""
    status: str = ""


@dataclass(frozen=True)
class UserPage:
    users: list[User]
    total: int
    page: int
    pages: int


def find_manageable_users(
    session: Session, actor: Actor, query: UserQuery, *, page: int = 1, size: int = USER_PAGE_SIZE
) -> UserPage:
    """One page of the users this actor may manage that match ``query``, by user name. The filters run in SQL;
    a scoped administrator's scope rule (``require_user_in_scope``) then over the matching ids, so a page is
    loaded in full only for the users it shows."""
    actor.require(Permission.USER_MANAGE, "管理用户")
    rows = session.execute(_user_filter(session, query).order_by(User.username)).all()
    if not _is_global(actor):
        codes = _grid_codes_by_user(session)
        department_grids = _department_grid_codes(session)
        rows = [
            row
            for row in rows
            if _user_within(
                actor,
                row,
                codes.get(row.id, []),
                department_grids.get(row.department_id) if row.department_id else None,
            )
        ]
    pages = max(1, -(-len(rows) // size))
    page = min(max(page, 1), pages)
    shown = [row.id for row in rows[(page - 1) * size : page * size]]
    users = session.execute(
        select(User)
        .where(User.id.in_(shown))
        .options(selectinload(User.role_rows), selectinload(User.department))
        .order_by(User.username)
    ).scalars()
    return UserPage(list(users), len(rows), page, pages)


def _user_filter(session: Session, query: UserQuery) -> Select[int, int | None, bool]:
    stmt = select(User.id, User.department_id, User.all_grids)
    text = query.text.strip()
    if text:
        pattern = like_pattern(text.lower())
        stmt = stmt.where(
            or_(
                func.lower(User.username).like(pattern, escape="/"),
                func.lower(User.display_name).like(pattern, escape="/"),
            )
        )
    if query.role is not None:
        stmt = stmt.where(User.id.in_(select(UserRole.user_id).where(UserRole.role == query.role.value)))
    if query.department_code:
        root = _department_by_code(session, query.department_code)
        subtree = department_subtree_ids(session, [root.id]) if root is not None else set()
        stmt = stmt.where(User.department_id.in_(sorted(subtree)))
    if query.grid.strip():
        stmt = stmt.where(_works_on(session, query.grid.strip()))
    if query.status == "active":
        stmt = stmt.where(User.is_active)
    elif query.status == "disabled":
        stmt = stmt.where(~User.is_active)
    return stmt


def _works_on(session: Session, grid: str) -> ColumnElement[bool]:
    """Users working on the grids a code or a part of a name finds, or below them."""
    found = session.execute(
        select(GridNode.code).where(or_(GridNode.code == grid, GridNode.name.like(like_pattern(grid), escape="/")))
    ).scalars()
    roots = minimal_roots(found)
    if not roots:
        return false()
    inside = code_in_subtrees(GridNode.code, roots)
    scoped = select(UserGridScope.user_id).join(GridNode, GridNode.id == UserGridScope.grid_node_id).where(inside)
    assigned = select(GridAssignment.user_id).join(GridNode, GridNode.id == GridAssignment.grid_node_id).where(inside)
    departments = select(Department.id).join(GridNode, GridNode.id == Department.grid_node_id).where(inside)
    return or_(User.id.in_(scoped), User.id.in_(assigned), User.department_id.in_(departments))


@dataclass(frozen=True)
class UserGrids:
    """Where a user works: the grid subtrees granted explicitly, and the grids assigned with a duty."""

    scopes: list[GridNode]
    assignments: list[tuple[GridNode, GridDuty]]


def grids_of_user(session: Session, actor: Actor, username: str) -> UserGrids:
    actor.require(Permission.ORG_READ, "查看用户的网格")
    user = get_user(session, username)
    scopes = session.execute(
        select(GridNode)
        .join(UserGridScope, UserGridScope.grid_node_id == GridNode.id)
        .where(UserGridScope.user_id == user.id)
        .order_by(GridNode.code)
    ).scalars()
    assignments = session.execute(
        select(GridNode, GridAssignment.duty)
        .join(GridAssignment, GridAssignment.grid_node_id == GridNode.id)
        .where(GridAssignment.user_id == user.id)
        .order_by(GridNode.code, GridAssignment.duty)
    ).all()
    return UserGrids(list(scopes), [(node, GridDuty(duty)) for node, duty in assignments])


def set_roles(session: Session, actor: Actor, username: str, roles: Sequence[Role]) -> User:
    """Replace a user's roles. Granting or withdrawing 系统管理员 needs an administrator; nobody demotes herself
    (a lone administrator would lock everyone out). The new roles apply from the user's next request."""
    actor.require(Permission.USER_MANAGE, "修改用户角色")
    user = get_user(session, username)
    require_user_in_scope(session, actor, user, "修改其角色")
    wanted = set(roles)
    if not wanted:
        raise InvalidInputError("至少指定一个角色", code="no_roles")
    previous = user.roles
    if (Role.ADMIN in wanted) != (Role.ADMIN in previous) and not actor.has(Permission.ORG_MANAGE):
        raise PermissionDeniedError("只有管理员可以授予或撤销管理员角色", code="admin_only")
    if actor.user_id == user.id and Role.ADMIN in previous and Role.ADMIN not in wanted:
        raise InvalidInputError("不能撤销自己的管理员角色", code="demote_self")
    for row in [row for row in user.role_rows if Role(row.role) not in wanted]:
        user.role_rows.remove(row)
    user.role_rows.extend(UserRole(role=role.value) for role in sorted(wanted - previous))
    session.flush()
    audit.record(
        session,
        actor,
        "org.user.roles",
        "user",
        user.username,
        {"from": sorted(role.value for role in previous), "to": sorted(role.value for role in wanted)},
    )
    return user


def set_password(session: Session, actor: Actor, username: str, password: str) -> None:
    user = get_user(session, username)
    if actor.user_id != user.id:
        actor.require(Permission.USER_MANAGE, "重置他人密码")
        require_user_in_scope(session, actor, user, "重置其密码")
    user.password_hash = hash_password(password)
    _end_browser_sessions(session, user)
    session.flush()
    audit.record(session, actor, "org.user.password", "user", user.username)


def disable_user(session: Session, actor: Actor, username: str, reason: str) -> User:
    actor.require(Permission.USER_MANAGE, "停用用户")
    user = get_user(session, username)
    require_user_in_scope(session, actor, user, "停用该用户")
    if actor.user_id == user.id:
        raise InvalidInputError("不能停用自己的账号", code="disable_self")
    if not reason.strip():
        raise InvalidInputError("停用账号须说明原因", code="reason_required")
    user.is_active = False
    user.disabled_at = utcnow()
    user.disabled_reason = reason.strip()[:200]
    _end_browser_sessions(session, user)
    session.flush()
    audit.record(session, actor, "org.user.disable", "user", user.username, {"reason": user.disabled_reason})
    return user


def _end_browser_sessions(session: Session, user: User) -> None:
    """A new password or a disabled account signs the user out everywhere."""
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))


def enable_user(session: Session, actor: Actor, username: str) -> User:
    actor.require(Permission.USER_MANAGE, "启用用户")
    user = get_user(session, username)
    require_user_in_scope(session, actor, user, "启用该用户")
    user.is_active = True
    user.disabled_at = None
    user.disabled_reason = None
    session.flush()
    audit.record(session, actor, "org.user.enable", "user", user.username)
    return user


def roots_holding(session: Session, permission: Permission) -> tuple[str, ...]:
    """The grid roots of the active users whose roles grant ``permission`` (those with every grid left out: an
    administrator is not a command centre on duty). Where a report nobody could place should wait (cases.intake)."""
    roles = sorted(role.value for role, granted in ROLE_PERMISSIONS.items() if permission in granted)
    holders = select(UserRole.user_id).where(UserRole.role.in_(roles))
    user_ids = list(
        session.execute(
            select(User.id).where(User.is_active.is_(True), User.all_grids.is_(False), User.id.in_(holders))
        ).scalars()
    )
    codes = _grid_codes_by_user(session, user_ids) if user_ids else {}
    return minimal_roots(code for user_codes in codes.values() for code in user_codes)


def list_users(session: Session, actor: Actor) -> list[User]:
    actor.require(Permission.ORG_READ, "查看用户")
    stmt = select(User).options(selectinload(User.role_rows), selectinload(User.department)).order_by(User.username)
    return list(session.execute(stmt).scalars())


class SignInRefusedError(PermissionDeniedError):
    code = "sign_in_refused"


def authenticate(session: Session, username: str, password: str) -> User:
    """Check a password. The same refusal for unknown users and wrong passwords (no account enumeration)."""
    user = session.execute(
        select(User).where(User.username == username.strip().lower()).options(selectinload(User.role_rows))
    ).scalar_one_or_none()
    if not verify_password(user.password_hash if user else None, password) or user is None:
        raise SignInRefusedError("用户名或密码错误")
    if not user.is_active:
        raise SignInRefusedError("账号已停用，请联系管理员", code="account_disabled")
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    session.flush()
    return user


def actor_for(session: Session, user: User) -> Actor:
    """Build the Actor: roles, grid subtrees (explicit scopes + assigned grids, or all grids when the user was
    granted them explicitly), departments (+ their subtree) for the roles that work a department's cases. No scope
    means no grid — never all of them."""
    if not user.is_active:
        raise SignInRefusedError("账号已停用，请联系管理员", code="account_disabled")
    scope_codes = session.execute(
        select(GridNode.code)
        .join(UserGridScope, UserGridScope.grid_node_id == GridNode.id)
        .where(UserGridScope.user_id == user.id)
    ).scalars()
    assigned_codes = session.execute(
        select(GridNode.code)
        .join(GridAssignment, GridAssignment.grid_node_id == GridNode.id)
        .where(GridAssignment.user_id == user.id)
    ).scalars()
    codes = set(ALL_GRIDS) if user.all_grids else set(scope_codes) | set(assigned_codes)
    roles = user.roles
    departments = _case_departments(session, user, roles)
    return Actor.for_user(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        roles=roles,
        grid_codes=codes,
        department_ids=departments,
    )


def _case_departments(session: Session, user: User, roles: Iterable[Role]) -> set[int]:
    """The departments whose cases the user works: her department and its subtree, only for a role that works a
    department's cases (DEPARTMENT_CASE_ROLES); a grid worker employed by a street office gets none."""
    if user.department_id is None or DEPARTMENT_CASE_ROLES.isdisjoint(roles):
        return set()
    return department_subtree_ids(session, [user.department_id])


# --- API tokens ----------------------------------------------------------------------------------------------

TOKEN_PREFIX = "cg_"


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(session: Session, actor: Actor, username: str, name: str) -> str:
    """Create a bearer token for ``username``; the token is returned once and only its hash is stored."""
    actor.require(Permission.USER_MANAGE, "签发接口令牌")
    user = get_user(session, username)
    require_user_in_scope(session, actor, user, "为其签发令牌")
    if not user.is_active:
        raise InvalidInputError(f"用户“{username}”已停用", code="user_disabled")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, name=clean_label(name, what="令牌名称"), token_sha256=_token_digest(token)))
    session.flush()
    audit.record(session, actor, "org.token.create", "user", user.username, {"name": name})
    return token


def revoke_api_tokens(session: Session, actor: Actor, username: str) -> int:
    actor.require(Permission.USER_MANAGE, "吊销接口令牌")
    user = get_user(session, username)
    require_user_in_scope(session, actor, user, "吊销其令牌")
    tokens = (
        session.execute(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)))
        .scalars()
        .all()
    )
    for token in tokens:
        token.revoked_at = utcnow()
    session.flush()
    audit.record(session, actor, "org.token.revoke", "user", user.username, {"count": len(tokens)})
    return len(tokens)


def actor_for_token(session: Session, token: str) -> Actor:
    """The actor a bearer token stands for; the same refusal for unknown, revoked and disabled."""
    row = session.execute(
        select(ApiToken).where(ApiToken.token_sha256 == _token_digest(token.strip()), ApiToken.revoked_at.is_(None))
    ).scalar_one_or_none()
    if row is None:
        raise SignInRefusedError("接口令牌无效或已吊销", code="invalid_token")
    user = session.get(User, row.user_id)
    if user is None:
        raise SignInRefusedError("接口令牌无效或已吊销", code="invalid_token")
    return actor_for(session, user)
