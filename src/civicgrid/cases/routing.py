"""Routing: which department handles a case (主办) and which assist (协办, 联动).

Rules match on a category subtree, a grid subtree and optional keywords. The most specific matching rule wins
(longer category code, then longer grid code, then a keyword rule over a keyword-free one), then the lower
priority number, then the older rule. Without a rule, the category's default department; without that, the
command centre responsible for the case's grid (兜底).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid import audit
from civicgrid.cases.models import Case, RoutingRule
from civicgrid.db import get_by_id
from civicgrid.errors import InvalidInputError, NotFoundError
from civicgrid.grid.models import GridNode
from civicgrid.org.actor import Actor
from civicgrid.org.models import Department, DepartmentKind
from civicgrid.org.roles import Permission
from civicgrid.org.service import get_department
from civicgrid.text import clean_label


@dataclass(frozen=True)
class Route:
    main: Department
    assists: tuple[Department, ...]
    reason: str  # Chinese: why this route (the rule's name, the category default, or the fallback)
    rule_id: int | None = None


def suggest(session: Session, case: Case) -> Route:
    rule = _best_rule(session, case)
    if rule is not None:
        main = session.get(Department, rule.main_department_id)
        assert main is not None
        assists = tuple(
            department
            for department_id in rule.assist_department_ids
            if (department := session.get(Department, department_id)) is not None and department.is_active
        )
        return Route(main, assists, f"按规则“{rule.name}”", rule.id)
    default_code = case.category.default_department_code if case.category else None
    if default_code:
        default = session.execute(
            select(Department).where(Department.code == default_code, Department.is_active)
        ).scalar_one_or_none()
        if default is not None:
            return Route(default, (), f"类别“{case.category.name}”的默认部门")  # type: ignore[union-attr]
    return Route(command_centre_for(session, _routing_code(case)), (), "无匹配规则，转指挥中心（兜底）")


def _routing_code(case: Case) -> str:
    """Where the case is handled: the grid it was escalated to (吹哨), else its own."""
    return case.escalation_code or case.scope_code


def _best_rule(session: Session, case: Case) -> RoutingRule | None:
    text = f"{case.title}\n{case.description}"
    category_code = case.category.code if case.category else ""
    candidates = [
        rule
        for rule in session.execute(select(RoutingRule).where(RoutingRule.is_active)).scalars()
        if _matches(rule, category_code, _routing_code(case), text)
    ]
    if not candidates:
        return None
    return min(
        candidates,
        key=lambda r: (-len(r.category_code or ""), -len(r.grid_code or ""), not r.keywords, r.priority, r.id),
    )


def _matches(rule: RoutingRule, category_code: str, scope_code: str, text: str) -> bool:
    if rule.category_code and not category_code.startswith(rule.category_code):
        return False
    if rule.grid_code and not scope_code.startswith(rule.grid_code):
        return False
    return not rule.keywords or any(keyword in text for keyword in rule.keywords)


def command_centre_for(session: Session, scope_code: str) -> Department:
    """The command centre of the deepest grid node above the case; else any command centre."""
    return CommandCentres(session).for_code(scope_code)


class CommandCentres:
    """The active command centres, read once, for choosing among them many times (the scheduler's tick)."""

    def __init__(self, session: Session) -> None:
        rows = session.execute(
            select(Department, GridNode.code)
            .outerjoin(GridNode, GridNode.id == Department.grid_node_id)
            .where(Department.kind == DepartmentKind.COMMAND_CENTER.value, Department.is_active)
        ).all()
        self.centres = [(department, code or "") for department, code in rows]

    def for_code(self, scope_code: str) -> Department:
        covering = [pair for pair in self.centres if scope_code.startswith(pair[1])]
        if covering:
            return max(covering, key=lambda pair: (len(pair[1]), -pair[0].id))[0]
        if self.centres:
            return min(self.centres, key=lambda pair: pair[0].id)[0]
        raise NotFoundError("没有可兜底的指挥中心：请先建立类型为“指挥中心”的部门", code="no_command_centre")


def create_rule(
    session: Session,
    actor: Actor,
    *,
    name: str,
    main_department_code: str,
    assist_department_codes: Sequence[str] = (),
    category_code: str | None = None,
    grid_code: str | None = None,
    keywords: Sequence[str] = (),
    priority: int = 100,
) -> RoutingRule:
    actor.require(Permission.CASE_CONFIGURE, "配置派遣规则")
    main = get_department(session, main_department_code)
    assists = [get_department(session, code) for code in assist_department_codes]
    if main.id in {a.id for a in assists}:
        raise InvalidInputError("主办部门不能同时是协办部门", code="main_also_assist")
    words = [word.strip() for word in keywords if word.strip()]
    rule = RoutingRule(
        name=clean_label(name, what="规则名称"),
        category_code=category_code or None,
        grid_code=grid_code or None,
        keywords=words,
        main_department_id=main.id,
        assist_department_ids=[a.id for a in assists],
        priority=priority,
    )
    session.add(rule)
    session.flush()
    audit.record(session, actor, "case.routing.create", "routing_rule", rule.id, {"name": rule.name})
    return rule


def list_rules(session: Session) -> list[RoutingRule]:
    return list(session.execute(select(RoutingRule).order_by(RoutingRule.priority, RoutingRule.id)).scalars())


def set_rule_active(session: Session, actor: Actor, rule_id: int, active: bool) -> RoutingRule:
    """Switch a rule off (kept for the record: cases routed by it still name it) or back on."""
    actor.require(Permission.CASE_CONFIGURE, "配置派遣规则")
    rule = get_by_id(session, RoutingRule, rule_id)
    if rule is None:
        raise NotFoundError(f"派遣规则{rule_id}不存在", code="rule_not_found", detail={"id": rule_id})
    rule.is_active = bool(active)
    session.flush()
    action = "case.routing.enable" if active else "case.routing.disable"
    audit.record(session, actor, action, "routing_rule", rule.id, {"name": rule.name})
    return rule
