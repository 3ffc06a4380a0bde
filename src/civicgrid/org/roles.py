"""Roles and what each may do. One table, read by every domain's ``can`` check."""

from __future__ import annotations

from enum import StrEnum

from civicgrid.errors import InvalidInputError


class Role(StrEnum):
    ADMIN = "admin"
    LEADER = "leader"
    DISPATCHER = "dispatcher"
    DEPT_STAFF = "dept_staff"
    GRID_WORKER = "grid_worker"
    HOTLINE_OPERATOR = "hotline_operator"
    RESIDENT = "resident"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS: dict[Role, str] = {
    Role.ADMIN: "系统管理员",
    Role.LEADER: "领导",
    Role.DISPATCHER: "指挥中心调度员",
    Role.DEPT_STAFF: "部门工作人员",
    Role.GRID_WORKER: "网格员",
    Role.HOTLINE_OPERATOR: "话务员",
    Role.RESIDENT: "居民",
}


class Permission(StrEnum):
    GRID_READ = "grid.read"
    GRID_MANAGE = "grid.manage"
    ORG_READ = "org.read"
    ORG_MANAGE = "org.manage"
    USER_MANAGE = "user.manage"


_STAFF_READ = frozenset({Permission.GRID_READ, Permission.ORG_READ})

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.LEADER: _STAFF_READ,
    Role.DISPATCHER: _STAFF_READ,
    Role.DEPT_STAFF: _STAFF_READ,
    Role.GRID_WORKER: _STAFF_READ,
    Role.HOTLINE_OPERATOR: _STAFF_READ,
    Role.RESIDENT: frozenset({Permission.GRID_READ}),
}


def parse_role(value: str) -> Role:
    text = value.strip()
    for role in Role:
        if text in (role.value, role.label):
            return role
    accepted = "、".join(f"{role.value}（{role.label}）" for role in Role)
    raise InvalidInputError(f"未知角色“{value}”，可用：{accepted}", code="unknown_role", detail={"value": value})
