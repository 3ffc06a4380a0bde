"""The services the 系统管理 pages added: users a scoped administrator manages, changing roles, a user's grids,
editing a category's limits, switching a routing rule off."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid.audit import AuditEntry
from civicgrid.cases import routing, taxonomy
from civicgrid.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from civicgrid.grid.codes import GridLevel
from civicgrid.grid.models import GridDuty
from civicgrid.grid.service import assign, create_node
from civicgrid.importing import ImportReport
from civicgrid.org import service
from civicgrid.org.actor import ALL_GRIDS, Actor
from civicgrid.org.models import DepartmentKind
from civicgrid.org.roles import Permission, Role


@pytest.fixture
def grid(session: Session, system: Actor) -> None:
    create_node(session, system, code="370215", name="即墨区", level=GridLevel.DISTRICT)
    create_node(session, system, code="370215002", name="潮海街道", level=GridLevel.STREET, parent_code="370215")
    create_node(session, system, code="370215001", name="环秀街道", level=GridLevel.STREET, parent_code="370215")
    create_node(
        session, system, code="370215002009", name="泰山社区", level=GridLevel.COMMUNITY, parent_code="370215002"
    )
    service.create_department(
        session, system, code="CH-CG", name="潮海城管办", kind=DepartmentKind.STREET_SECTION, grid_code="370215002"
    )
    service.create_department(session, system, code="CGJ", name="区城市管理局", kind=DepartmentKind.DISTRICT_BUREAU)


def _user(session: Session, system: Actor, username: str, role: Role = Role.GRID_WORKER, **scope: object) -> None:
    service.create_user(
        session,
        system,
        username=username,
        display_name=username,
        roles=[role],
        password="mima-2026-ok",
        **scope,  # type: ignore[arg-type]
    )


def _street_admin(session: Session, system: Actor) -> Actor:
    _user(session, system, "chaohai", Role.ADMIN, grid_codes=["370215002"])
    return service.actor_for(session, service.get_user(session, "chaohai"))


def _manageable(session: Session, actor: Actor, **query: Any) -> list[str]:
    """The user names of every page of the user list."""
    first = service.find_manageable_users(session, actor, service.UserQuery(**query), size=7)
    pages = [first] + [
        service.find_manageable_users(session, actor, service.UserQuery(**query), page=page, size=7)
        for page in range(2, first.pages + 1)
    ]
    names = [user.username for found in pages for user in found.users]
    assert len(names) == first.total == len(set(names))
    return names


def _audit(session: Session, action: str) -> list[AuditEntry]:
    return list(session.execute(select(AuditEntry).where(AuditEntry.action == action)).scalars())


def test_a_scoped_administrator_lists_only_the_people_of_her_grids(session: Session, system: Actor, grid: None) -> None:
    scoped = _street_admin(session, system)
    _user(session, system, "inside", grid_codes=["370215002009"])
    _user(session, system, "section", Role.DEPT_STAFF, department_code="CH-CG")
    _user(session, system, "assigned", department_code="CH-CG")
    assign(session, system, "370215002009", "assigned", GridDuty.GRID_WORKER)
    _user(session, system, "outside", grid_codes=["370215001"])
    _user(session, system, "bureau", Role.DEPT_STAFF, department_code="CGJ")
    _user(session, system, "mixed", grid_codes=["370215002", "370215001"])
    _user(session, system, "boss", Role.ADMIN, all_grids=True)
    _user(session, system, "nobody")

    names = set(_manageable(session, scoped))
    assert names == {"chaohai", "inside", "section", "assigned"}
    everyone = set(_manageable(session, system))
    assert names | {"outside", "bureau", "mixed", "boss", "nobody"} <= everyone
    for username in everyone:  # the list and the single check apply the same rule
        user = service.get_user(session, username)
        if username in names:
            service.require_user_in_scope(session, scoped, user, "管理")
        else:
            with pytest.raises(PermissionDeniedError):
                service.require_user_in_scope(session, scoped, user, "管理")


def test_the_user_list_is_searched_by_name_role_department_and_grid(
    session: Session, system: Actor, grid: None
) -> None:
    scoped = _street_admin(session, system)
    _user(session, system, "wang_fang", grid_codes=["370215002009"])  # 泰山社区
    _user(session, system, "section", Role.DEPT_STAFF, department_code="CH-CG")  # 潮海城管办 is on 潮海街道
    _user(session, system, "assigned", department_code="CH-CG")
    assign(session, system, "370215002009", "assigned", GridDuty.GRID_WORKER)
    _user(session, system, "huanxiu", grid_codes=["370215001"])
    service.disable_user(session, system, "section", "调离")
    assert _manageable(session, system, text="WANG") == ["wang_fang"]  # user names ignore case
    assert _manageable(session, system, text="%") == []  # typed literally, not as a wildcard
    assert _manageable(session, system, role=Role.DEPT_STAFF) == ["section"]
    assert _manageable(session, system, department_code="CH-CG") == ["assigned", "section"]
    assert _manageable(session, system, department_code="NOPE") == []
    assert _manageable(session, system, grid="泰山") == ["assigned", "wang_fang"]  # a scope, a duty
    assert _manageable(session, system, grid="370215002") == ["assigned", "chaohai", "section", "wang_fang"]
    assert _manageable(session, system, grid="无此网格") == []
    assert _manageable(session, system, status="disabled") == ["section"]
    assert _manageable(session, scoped, grid="环秀") == []  # outside her grids, whatever the filter
    assert _manageable(session, scoped, grid="潮海", role=Role.GRID_WORKER, status="active") == [
        "assigned",
        "wang_fang",
    ]


def test_a_page_past_the_last_is_the_last(session: Session, system: Actor, grid: None) -> None:
    for number in range(12):
        _user(session, system, f"worker{number:02d}", grid_codes=["370215002009"])
    found = service.find_manageable_users(session, system, service.UserQuery(text="worker"), page=99, size=5)
    assert (found.page, found.pages, found.total) == (3, 3, 12)
    assert [user.username for user in found.users] == ["worker10", "worker11"]


def test_only_user_managers_list_manageable_users(session: Session, system: Actor, grid: None) -> None:
    _user(session, system, "leader1", Role.LEADER, all_grids=True)
    leader = service.actor_for(session, service.get_user(session, "leader1"))
    with pytest.raises(PermissionDeniedError, match="无权管理用户"):
        service.find_manageable_users(session, leader, service.UserQuery())


def test_roles_are_replaced_and_audited(session: Session, system: Actor, grid: None) -> None:
    _user(session, system, "liumin", Role.DISPATCHER, grid_codes=["370215002"])
    user = service.set_roles(session, system, "liumin", [Role.LEADER, Role.DISPATCHER, Role.LEADER])
    assert user.roles == {Role.LEADER, Role.DISPATCHER}
    user = service.set_roles(session, system, "LiuMin", [Role.HOTLINE_OPERATOR])
    assert user.roles == {Role.HOTLINE_OPERATOR}
    session.expire_all()
    assert service.actor_for(session, service.get_user(session, "liumin")).roles == {Role.HOTLINE_OPERATOR}
    entries = _audit(session, "org.user.roles")
    assert entries[-1].detail == {"from": ["dispatcher", "leader"], "to": ["hotline_operator"]}
    with pytest.raises(InvalidInputError, match="至少指定一个角色"):
        service.set_roles(session, system, "liumin", [])


def test_role_changes_respect_scope_and_the_administrator_role(session: Session, system: Actor, grid: None) -> None:
    scoped = _street_admin(session, system)
    _user(session, system, "outside", grid_codes=["370215001"])
    _user(session, system, "inside", grid_codes=["370215002009"])
    with pytest.raises(PermissionDeniedError, match="管辖范围"):
        service.set_roles(session, scoped, "outside", [Role.LEADER])
    with pytest.raises(InvalidInputError, match="不能撤销自己的管理员角色"):
        service.set_roles(session, scoped, "chaohai", [Role.LEADER])
    user_manager = Actor(
        user_id=None,
        username="hr",
        display_name="人事",
        grid_codes=ALL_GRIDS,
        permissions=frozenset({Permission.USER_MANAGE}),
    )
    with pytest.raises(PermissionDeniedError, match="只有管理员"):
        service.set_roles(session, user_manager, "inside", [Role.ADMIN])
    assert service.set_roles(session, user_manager, "inside", [Role.LEADER]).roles == {Role.LEADER}
    dispatcher = Actor.for_user(
        user_id=999, username="d", display_name="调度", roles=[Role.DISPATCHER], grid_codes=[""], department_ids=[]
    )
    with pytest.raises(PermissionDeniedError, match="无权修改用户角色"):
        service.set_roles(session, dispatcher, "inside", [Role.LEADER])


def test_a_users_grids_are_her_scopes_and_assignments(session: Session, system: Actor, grid: None) -> None:
    _user(session, system, "wangge", grid_codes=["370215002"])
    assign(session, system, "370215002009", "wangge", GridDuty.GRID_LEADER)
    grids = service.grids_of_user(session, system, "wangge")
    assert [node.code for node in grids.scopes] == ["370215002"]
    assert [(node.code, duty) for node, duty in grids.assignments] == [("370215002009", GridDuty.GRID_LEADER)]
    with pytest.raises(NotFoundError):
        service.grids_of_user(session, system, "nobody-here")


@pytest.fixture
def category(session: Session, system: Actor) -> str:
    service.create_department(session, system, code="CGJ", name="区城市管理局", kind=DepartmentKind.DISTRICT_BUREAU)
    report = ImportReport(source="测试")
    parent = taxonomy.CategorySpec(("市容环境",), limits={"handle": "3d"})
    child = taxonomy.CategorySpec(("市容环境", "暴露垃圾"), limits={"handle": "4h"})
    taxonomy.upsert_categories(session, system, [(1, parent), (2, child)], report)
    return report.created[-1]


def test_a_category_gets_its_own_limits_and_inherits_the_rest(session: Session, system: Actor, category: str) -> None:
    updated = taxonomy.update_category(
        session,
        system,
        category,
        limits={"register": {"value": "1.5", "unit": "hours"}, "verify": {"value": 2, "unit": "days"}},
        default_department_code="CGJ",
        priority=2,
    )
    assert updated.limits == {"register": {"value": 1.5, "unit": "hours"}, "verify": {"value": 2, "unit": "days"}}
    effective = taxonomy.effective_limits(updated)
    assert effective["handle"] == {"value": 3, "unit": "days"}  # the parent's, once the own one is gone
    assert effective["dispatch"] == taxonomy.DEFAULT_LIMITS["dispatch"]
    assert updated.default_department_code == "CGJ" and updated.priority == 2
    entry = _audit(session, "case.category.update")[-1]
    assert entry.object_key == category
    assert entry.detail["previous"]["limits"] == {"handle": {"value": 4, "unit": "hours"}}


@pytest.mark.parametrize(
    ("stage", "value", "unit", "message"),
    [
        ("handle", "abc", "days", "处置时限须为数字"),
        ("handle", "0", "days", "处置时限须大于0"),
        ("register", "-1", "hours", "立案时限须大于0"),
        ("verify", "1001", "days", "核查时限过长"),
        ("verify", "4000", "hours", "核查时限过长"),
        ("dispatch", "0.001", "hours", "派遣时限过短"),
        ("dispatch", "1", "weeks", "单位无效"),
        ("nap", "1", "hours", "未知环节"),
    ],
)
def test_wrong_limits_are_refused_naming_the_stage(
    session: Session, system: Actor, category: str, stage: str, value: str, unit: str, message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message) as refused:
        taxonomy.update_category(
            session,
            system,
            category,
            limits={stage: {"value": value, "unit": unit}},
            default_department_code=None,
            priority=3,
        )
    if stage in taxonomy.STAGES:
        assert refused.value.detail == {"stage": stage}
    assert taxonomy.get_category(session, category).limits == {"handle": {"value": 4, "unit": "hours"}}


def test_a_category_update_checks_department_priority_and_permission(
    session: Session, system: Actor, category: str
) -> None:
    with pytest.raises(NotFoundError, match="NOPE"):
        taxonomy.update_category(session, system, category, limits={}, default_department_code="NOPE", priority=3)
    with pytest.raises(InvalidInputError, match="优先级"):
        taxonomy.update_category(session, system, category, limits={}, default_department_code=None, priority=9)
    with pytest.raises(NotFoundError):
        taxonomy.update_category(session, system, "9999", limits={}, default_department_code=None, priority=3)
    leader = Actor.for_user(
        user_id=1, username="l", display_name="领导", roles=[Role.LEADER], grid_codes=[""], department_ids=[]
    )
    with pytest.raises(PermissionDeniedError, match="无权配置案件类别"):
        taxonomy.update_category(session, leader, category, limits={}, default_department_code=None, priority=3)


def test_a_routing_rule_is_switched_off_and_on(session: Session, system: Actor, category: str) -> None:
    rule = routing.create_rule(session, system, name="垃圾交城管", main_department_code="CGJ", category_code="01")
    assert not routing.set_rule_active(session, system, rule.id, False).is_active
    assert routing.set_rule_active(session, system, rule.id, True).is_active
    assert [
        e.action
        for e in session.execute(
            select(AuditEntry).where(AuditEntry.object_type == "routing_rule").order_by(AuditEntry.id)
        ).scalars()
    ] == [
        "case.routing.create",
        "case.routing.disable",
        "case.routing.enable",
    ]
    with pytest.raises(NotFoundError, match="派遣规则"):
        routing.set_rule_active(session, system, 123456, False)
    dispatcher = Actor.for_user(
        user_id=2, username="d", display_name="调度", roles=[Role.DISPATCHER], grid_codes=[""], department_ids=[]
    )
    with pytest.raises(PermissionDeniedError, match="无权配置派遣规则"):
        routing.set_rule_active(session, dispatcher, rule.id, False)
