"""Departments, users, passwords, sign-in and the Actor built from them."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid.audit import AuditEntry
from civicgrid.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from civicgrid.grid.codes import GridLevel
from civicgrid.grid.models import GridDuty
from civicgrid.grid.service import assign, create_node
from civicgrid.org import service
from civicgrid.org.actor import ALL_GRIDS, Actor, minimal_roots
from civicgrid.org.models import ApiToken, DepartmentKind, User, UserGridScope
from civicgrid.org.passwords import verify_password
from civicgrid.org.roles import DEPARTMENT_CASE_ROLES, Permission, Role


@pytest.fixture
def grid(session: Session, system: Actor) -> None:
    create_node(session, system, code="370215", name="即墨区", level=GridLevel.DISTRICT)
    create_node(session, system, code="370215002", name="潮海街道", level=GridLevel.STREET, parent_code="370215")
    create_node(session, system, code="370215001", name="环秀街道", level=GridLevel.STREET, parent_code="370215")
    create_node(
        session, system, code="370215002009", name="泰山社区", level=GridLevel.COMMUNITY, parent_code="370215002"
    )


@pytest.fixture
def departments(session: Session, system: Actor) -> None:
    service.create_department(session, system, code="CGJ", name="区城市管理局", kind=DepartmentKind.DISTRICT_BUREAU)
    service.create_department(
        session, system, code="CGJ-ZF", name="综合执法大队", kind=DepartmentKind.DISTRICT_BUREAU, parent_code="CGJ"
    )
    service.create_department(session, system, code="SCJG", name="区市场监管局", kind=DepartmentKind.DISTRICT_BUREAU)


def test_passwords_are_hashed_with_argon2_and_verified(session: Session, system: Actor, departments: None) -> None:
    user = service.create_user(
        session,
        system,
        username="WangLei",
        display_name="王磊",
        roles=[Role.DEPT_STAFF],
        password="chengguan-2026",
        department_code="CGJ",
    )
    assert user.username == "wanglei"
    assert user.password_hash is not None
    assert user.password_hash.startswith("$argon2id$")
    assert "chengguan-2026" not in user.password_hash
    assert service.authenticate(session, "WANGLEI", "chengguan-2026").id == user.id
    assert user.last_login_at is not None


def test_wrong_password_unknown_user_and_disabled_account_are_refused(session: Session, system: Actor) -> None:
    service.create_user(
        session, system, username="liumin", display_name="刘敏", roles=[Role.DISPATCHER], password="diaodu-2026"
    )
    with pytest.raises(service.SignInRefusedError, match="用户名或密码错误"):
        service.authenticate(session, "liumin", "wrong-password1")
    with pytest.raises(service.SignInRefusedError, match="用户名或密码错误"):
        service.authenticate(session, "nobody", "diaodu-2026")
    service.disable_user(session, system, "liumin", "调岗")
    with pytest.raises(service.SignInRefusedError, match="已停用"):
        service.authenticate(session, "liumin", "diaodu-2026")
    service.enable_user(session, system, "liumin")
    assert service.authenticate(session, "liumin", "diaodu-2026").username == "liumin"


def test_an_account_without_password_cannot_sign_in(session: Session, system: Actor) -> None:
    service.create_user(
        session, system, username="wgy001", display_name="网格员甲", roles=[Role.GRID_WORKER], password=None
    )
    with pytest.raises(service.SignInRefusedError):
        service.authenticate(session, "wgy001", "")
    assert not verify_password(None, "anything")


@pytest.mark.parametrize(
    ("password", "message"), [("short1", "至少8位"), ("onlyletters", "字母和数字"), ("1234567890", "字母和数字")]
)
def test_weak_passwords_are_refused(session: Session, system: Actor, password: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        service.create_user(
            session, system, username="x-user", display_name="某", roles=[Role.RESIDENT], password=password
        )


def test_bad_usernames_duplicates_and_missing_roles_are_refused(session: Session, system: Actor) -> None:
    with pytest.raises(InvalidInputError, match="用户名"):
        service.create_user(session, system, username="王磊", display_name="王磊", roles=[Role.RESIDENT], password=None)
    with pytest.raises(InvalidInputError, match="至少指定一个角色"):
        service.create_user(session, system, username="abc", display_name="某", roles=[], password=None)
    service.create_user(session, system, username="abc", display_name="某", roles=[Role.RESIDENT], password=None)
    with pytest.raises(ConflictError, match="已存在"):
        service.create_user(session, system, username="ABC", display_name="某", roles=[Role.RESIDENT], password=None)


def test_departments_form_a_tree_and_refuse_duplicates_and_unknown_parents(
    session: Session, system: Actor, departments: None
) -> None:
    listed = {d.code: d for d in service.list_departments(session, system)}
    assert listed["CGJ-ZF"].parent_id == listed["CGJ"].id
    with pytest.raises(ConflictError):
        service.create_department(session, system, code="CGJ", name="重复", kind=DepartmentKind.DISTRICT_BUREAU)
    with pytest.raises(NotFoundError):
        service.create_department(
            session, system, code="X", name="某", kind=DepartmentKind.STREET_SECTION, parent_code="NOPE"
        )
    with pytest.raises(InvalidInputError):
        service.create_department(session, system, code="bad code!", name="某", kind=DepartmentKind.UTILITY)


def test_actor_scope_combines_explicit_scopes_and_assignments(
    session: Session, system: Actor, grid: None, departments: None
) -> None:
    user = service.create_user(
        session,
        system,
        username="worker",
        display_name="刘芳",
        roles=[Role.GRID_WORKER],
        password="wangge-2026",
        department_code="CGJ",
        grid_codes=["370215001"],
    )
    assign(session, system, "370215002009", "worker", GridDuty.GRID_WORKER)
    actor = service.actor_for(session, user)
    assert actor.grid_codes == ("370215001", "370215002009")
    assert actor.covers_grid("370215002009001")
    assert not actor.covers_grid("370215002")
    assert actor.sees_grid("370215002")
    assert actor.sees_grid("370215")
    assert actor.department_ids == frozenset()  # a grid worker employed by 城管局 does not work its cases
    assert actor.has(Permission.GRID_READ)
    assert not actor.has(Permission.GRID_MANAGE)


@pytest.mark.parametrize("role", sorted(DEPARTMENT_CASE_ROLES))
def test_roles_that_work_department_cases_get_the_department_and_its_subtree(
    session: Session, system: Actor, departments: None, role: Role
) -> None:
    user = service.create_user(
        session, system, username="staff", display_name="王磊", roles=[role], password=None, department_code="CGJ"
    )
    departments_by_code = {d.code: d.id for d in service.list_departments(session, system)}
    actor = service.actor_for(session, user)
    assert actor.department_ids == {departments_by_code["CGJ"], departments_by_code["CGJ-ZF"]}


@pytest.mark.parametrize("role", sorted(set(Role) - DEPARTMENT_CASE_ROLES))
def test_other_roles_employed_by_a_department_get_no_department(
    session: Session, system: Actor, departments: None, role: Role
) -> None:
    user = service.create_user(
        session, system, username="member", display_name="刘芳", roles=[role], password=None, department_code="CGJ"
    )
    assert service.actor_for(session, user).department_ids == frozenset()


def test_one_department_role_among_several_is_enough(session: Session, system: Actor, departments: None) -> None:
    user = service.create_user(
        session,
        system,
        username="both",
        display_name="张伟",
        roles=[Role.GRID_WORKER, Role.DEPT_STAFF],
        password=None,
        department_code="CGJ-ZF",
    )
    departments_by_code = {d.code: d.id for d in service.list_departments(session, system)}
    assert service.actor_for(session, user).department_ids == {departments_by_code["CGJ-ZF"]}


def _street_admin(session: Session, system: Actor) -> Actor:
    user = service.create_user(
        session,
        system,
        username="chaohai",
        display_name="街道管理员",
        roles=[Role.ADMIN],
        password="admin-2026",
        grid_codes=["370215002"],
    )
    return service.actor_for(session, user)


def test_all_grids_is_granted_explicitly_and_an_empty_scope_means_nothing(
    session: Session, system: Actor, grid: None
) -> None:
    root = service.create_user(
        session,
        system,
        username="root",
        display_name="管理员",
        roles=[Role.ADMIN],
        password="admin-2026",
        all_grids=True,
    )
    bare = service.create_user(
        session, system, username="bare", display_name="无范围管理员", roles=[Role.ADMIN], password="admin-2026"
    )
    assert service.actor_for(session, root).grid_codes == ALL_GRIDS
    assert service.actor_for(session, bare).grid_codes == ()
    scoped = _street_admin(session, system)
    assert scoped.grid_codes == ("370215002",)
    with pytest.raises(PermissionDeniedError, match="管辖范围"):
        create_node(
            session, scoped, code="370215001001", name="外街社区", level=GridLevel.COMMUNITY, parent_code="370215001"
        )
    create_node(
        session, scoped, code="370215002010", name="本街社区", level=GridLevel.COMMUNITY, parent_code="370215002"
    )


def test_a_scoped_admin_cannot_widen_her_own_rights(session: Session, system: Actor, grid: None) -> None:
    scoped = _street_admin(session, system)
    with pytest.raises(PermissionDeniedError, match="全部网格"):
        service.create_user(
            session, scoped, username="evil", display_name="某", roles=[Role.ADMIN], password=None, all_grids=True
        )
    with pytest.raises(PermissionDeniedError, match="本辖区"):
        service.create_user(session, scoped, username="evil", display_name="某", roles=[Role.ADMIN], password=None)
    with pytest.raises(PermissionDeniedError, match="管辖范围"):
        service.create_user(
            session,
            scoped,
            username="evil",
            display_name="某",
            roles=[Role.ADMIN],
            password=None,
            grid_codes=["370215"],
        )
    with pytest.raises(PermissionDeniedError):
        service.create_department(session, scoped, code="X", name="某部门", kind=DepartmentKind.STREET_SECTION)
    # Unassigning herself from her last grid leaves her with nothing, not with everything.
    session.execute(UserGridScope.__table__.delete())
    user = service.get_user(session, "chaohai")
    assert service.actor_for(session, user).grid_codes == ()


def test_scoped_admins_manage_only_their_own_people(session: Session, system: Actor, grid: None) -> None:
    scoped = _street_admin(session, system)
    service.create_user(
        session,
        system,
        username="inside",
        display_name="本街网格员",
        roles=[Role.GRID_WORKER],
        password="wangge-2026",
        grid_codes=["370215002009"],
    )
    service.create_user(
        session,
        system,
        username="outside",
        display_name="外街网格员",
        roles=[Role.GRID_WORKER],
        password="wangge-2026",
        grid_codes=["370215001"],
    )
    service.create_user(
        session,
        system,
        username="boss",
        display_name="全区管理员",
        roles=[Role.ADMIN],
        password="admin-2026",
        all_grids=True,
    )
    service.set_password(session, scoped, "inside", "new-pass-2026")
    service.disable_user(session, scoped, "inside", "调岗")
    for username in ("outside", "boss"):
        with pytest.raises(PermissionDeniedError, match="管辖范围"):
            service.set_password(session, scoped, username, "taken-over-2026")
        with pytest.raises(PermissionDeniedError, match="管辖范围"):
            service.disable_user(session, scoped, username, "夺权")
        with pytest.raises(PermissionDeniedError, match="管辖范围"):
            service.create_api_token(session, scoped, username, "后门")


def test_only_user_managers_create_users_and_nobody_disables_themselves(session: Session, system: Actor) -> None:
    leader = Actor.for_user(
        user_id=1, username="leader", display_name="领导", roles=[Role.LEADER], grid_codes=[], department_ids=[]
    )
    with pytest.raises(PermissionDeniedError, match="无权创建用户"):
        service.create_user(session, leader, username="abc", display_name="某", roles=[Role.RESIDENT], password=None)
    admin_user = service.create_user(
        session,
        system,
        username="adm",
        display_name="管理员",
        roles=[Role.ADMIN],
        password="admin-2026",
        all_grids=True,
    )
    admin = service.actor_for(session, admin_user)
    with pytest.raises(InvalidInputError, match="自己"):
        service.disable_user(session, admin, "adm", "离职")
    with pytest.raises(InvalidInputError, match="原因"):
        service.disable_user(session, system, "adm", "  ")


def test_api_tokens_stand_for_their_user_until_revoked(session: Session, system: Actor, grid: None) -> None:
    service.create_user(
        session,
        system,
        username="hotline-system",
        display_name="热线对接",
        roles=[Role.HOTLINE_OPERATOR],
        password=None,
        grid_codes=["370215"],
    )
    token = service.create_api_token(session, system, "hotline-system", "12345对接")
    assert token.startswith("cg_")
    actor = service.actor_for_token(session, token)
    assert actor.username == "hotline-system"
    assert actor.grid_codes == ("370215",)
    stored = session.execute(select(ApiToken.token_sha256)).scalar_one()
    assert token not in stored
    with pytest.raises(service.SignInRefusedError):
        service.actor_for_token(session, token + "x")
    assert service.revoke_api_tokens(session, system, "hotline-system") == 1
    with pytest.raises(service.SignInRefusedError, match="吊销"):
        service.actor_for_token(session, token)


def test_disabled_users_get_no_actor(session: Session, system: Actor) -> None:
    user = service.create_user(
        session, system, username="gone", display_name="离职者", roles=[Role.HOTLINE_OPERATOR], password="hotline-2026"
    )
    service.disable_user(session, system, "gone", "离职")
    with pytest.raises(service.SignInRefusedError):
        service.actor_for(session, user)


def test_changes_are_audited_without_secrets(session: Session, system: Actor) -> None:
    service.create_user(
        session, system, username="audited", display_name="某", roles=[Role.RESIDENT], password="secret-2026"
    )
    service.set_password(session, system, "audited", "another-2026")
    service.disable_user(session, system, "audited", "测试")
    entries = (
        session.execute(select(AuditEntry).where(AuditEntry.object_key == "audited").order_by(AuditEntry.id))
        .scalars()
        .all()
    )
    assert [entry.action for entry in entries] == ["org.user.create", "org.user.password", "org.user.disable"]
    assert all("secret-2026" not in str(entry.detail) and "another-2026" not in str(entry.detail) for entry in entries)
    assert entries[0].actor_label == "测试"
    stored = session.execute(select(User.password_hash).where(User.username == "audited")).scalar_one()
    assert stored is not None
    assert "another-2026" not in stored


def test_minimal_roots_drop_covered_codes() -> None:
    assert minimal_roots(["370215002009", "370215002", "370215001", "370215002"]) == ("370215001", "370215002")
    assert minimal_roots(["", "37"]) == ("",)
