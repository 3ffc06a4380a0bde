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


# Roles that work the cases dispatched to their department: belonging to a department (and its subtree) lets
# them read and handle those cases. Anyone else employed by a department — a street office's grid workers,
# hotline operators — reads by grid scope only, or a street office's staff would read all of its sections' cases.
DEPARTMENT_CASE_ROLES: frozenset[Role] = frozenset({Role.DEPT_STAFF, Role.LEADER})

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
    CASE_INTAKE = "case.intake"  # take in a report (channel limits apply per role)
    CASE_READ = "case.read"  # read cases in scope (grid subtree, own department's, own reports)
    CASE_DISPATCH = "case.dispatch"  # register, reject, dispatch, re-route, merge, reopen, place on the grid
    CASE_APPROVE = "case.approve"  # approve or deny extensions and suspensions, resume
    CASE_HANDLE = "case.handle"  # accept, return, submit results, ask for extension or suspension
    CASE_VERIFY = "case.verify"  # verify on site: close or send back for rework
    CASE_SELF_HANDLE = "case.self_handle"  # grid worker closes a simple case on the spot
    CASE_ESCALATE = "case.escalate"  # 吹哨: hand a case to the next level up the grid
    CASE_SUPERVISE = "case.supervise"  # 督办
    CASE_RATE = "case.rate"  # record the reporter's rating (resident: own case; operator: call-back)
    CASE_VIEW_CONTACT = "case.view_contact"  # see reporters' phone numbers unmasked
    CASE_CONFIGURE = "case.configure"  # case types, categories and limits, routing rules
    KPI_READ = "kpi.read"  # the dashboard, rankings and work reports of the actor's scope
    REGISTRY_READ = "registry.read"  # the registry of the actor's grids: people, houses, units … (masked)
    REGISTRY_WRITE = "registry.write"  # record and correct registry objects in the actor's grids
    REGISTRY_REVEAL = "registry.reveal"  # see an ID number or phone in full, giving a reason (audited)
    CAMPAIGN_MANAGE = "campaign.manage"  # launch and close door-to-door campaigns (摸排/排查/走访) in the actor's grids
    CAMPAIGN_VISIT = "campaign.visit"  # fill in a campaign's form for the targets in the actor's grids


_STAFF_READ = frozenset({Permission.GRID_READ, Permission.ORG_READ, Permission.CASE_READ})

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.LEADER: _STAFF_READ
    | {Permission.CASE_SUPERVISE, Permission.CASE_APPROVE, Permission.KPI_READ, Permission.REGISTRY_READ},
    Role.DISPATCHER: _STAFF_READ
    | {
        Permission.CASE_INTAKE,
        Permission.CASE_DISPATCH,
        Permission.CASE_APPROVE,
        Permission.CASE_VERIFY,
        Permission.CASE_ESCALATE,
        Permission.CASE_RATE,
        Permission.CASE_VIEW_CONTACT,
        Permission.KPI_READ,
        Permission.REGISTRY_READ,  # the command centre sees what a case is about (masked)
    },
    Role.DEPT_STAFF: _STAFF_READ | {Permission.CASE_HANDLE},
    Role.GRID_WORKER: _STAFF_READ
    | {
        Permission.CASE_INTAKE,
        Permission.CASE_VERIFY,
        Permission.CASE_SELF_HANDLE,
        Permission.CASE_ESCALATE,
        Permission.REGISTRY_READ,
        Permission.REGISTRY_WRITE,  # she keeps her grids' registry current in the field, masked
        Permission.CAMPAIGN_VISIT,
    },
    Role.HOTLINE_OPERATOR: _STAFF_READ | {Permission.CASE_INTAKE, Permission.CASE_RATE, Permission.CASE_VIEW_CONTACT},
    Role.RESIDENT: frozenset(
        {Permission.GRID_READ, Permission.CASE_INTAKE, Permission.CASE_READ, Permission.CASE_RATE}
    ),
}


def parse_role(value: str) -> Role:
    text = value.strip()
    for role in Role:
        if text in (role.value, role.label):
            return role
    accepted = "、".join(f"{role.value}（{role.label}）" for role in Role)
    raise InvalidInputError(f"未知角色“{value}”，可用：{accepted}", code="unknown_role", detail={"value": value})
