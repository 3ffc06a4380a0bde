"""The one place that decides which cases an actor may read and which actions they may take on one."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, or_, select, true

from civicgrid.cases.models import UNPLACED, Case, CaseAssignment, Category, Placement, Rating
from civicgrid.cases.workflow import RULES, Action, Relation, Rule
from civicgrid.code_prefix import code_in_subtrees
from civicgrid.errors import PermissionDeniedError
from civicgrid.org.actor import ALL_GRIDS, Actor
from civicgrid.org.roles import Permission, Role

S = TypeVar("S", bound=Select[*tuple[Any, ...]])


def _in_scope(actor: Actor, column: Any) -> ColumnElement[bool]:
    return code_in_subtrees(column, actor.grid_codes)


def _covers_condition(actor: Actor) -> ColumnElement[bool]:
    """The case lies in one of the actor's grid subtrees, where it is or where it was escalated to."""
    if actor.grid_codes == ALL_GRIDS:
        return true()
    return or_(_in_scope(actor, Case.scope_code), _in_scope(actor, Case.escalation_code))


def placing_pool_condition(actor: Actor) -> ColumnElement[bool]:
    """Reports waiting to be placed (待落图) that were put above the actor's grid — a district's unplaced reports
    for each of its streets' command centres. Nobody on duty may lose sight of a report because it could not be
    placed: whoever dispatches anywhere below where it waits sees it, places it, rejects it or merges it."""
    ancestors = _proper_prefixes(actor)
    if not actor.has(Permission.CASE_DISPATCH) or not ancestors:
        return false()
    return and_(Case.placement.in_([p.value for p in UNPLACED]), Case.scope_code.in_(ancestors))


def _proper_prefixes(actor: Actor) -> list[str]:
    """Every code an ancestor of one of the actor's roots may have (a grid code extends its parent's)."""
    if actor.grid_codes == ALL_GRIDS:
        return []
    return sorted({root[:length] for root in actor.grid_codes for length in range(1, len(root))})


def in_placing_pool(actor: Actor, case: Case) -> bool:
    return (
        actor.has(Permission.CASE_DISPATCH)
        and Placement(case.placement).awaits_placing
        and actor.grid_codes != ALL_GRIDS
        and any(root.startswith(case.scope_code) and root != case.scope_code for root in actor.grid_codes)
    )


def readable_condition(actor: Actor) -> ColumnElement[bool]:
    """Cases in the actor's grid subtrees (where they are, or where they were escalated to), a command centre's
    placing pool, cases dispatched to the actor's departments, and the actor's own reports."""
    if not actor.has(Permission.CASE_READ):
        return false()
    if actor.grid_codes == ALL_GRIDS:
        return true()
    conditions = [_covers_condition(actor), placing_pool_condition(actor)]
    if actor.department_ids:
        conditions.append(
            exists(
                select(CaseAssignment.id).where(
                    CaseAssignment.case_id == Case.id,
                    CaseAssignment.department_id.in_(sorted(actor.department_ids)),
                )
            )
        )
    if actor.user_id is not None:
        conditions.append(Case.reporter_user_id == actor.user_id)
    if actor.tracked_case is not None:
        conditions.append(Case.number == actor.tracked_case)
    return or_(*conditions)


def readable(stmt: S, actor: Actor) -> S:
    return stmt.where(readable_condition(actor))


def can_read(actor: Actor, case: Case) -> bool:
    if not actor.has(Permission.CASE_READ):
        return False
    return (
        _covers(actor, case)
        or in_placing_pool(actor, case)
        or bool(actor.department_ids & {a.department_id for a in case.assignments})
        or (actor.user_id is not None and case.reporter_user_id == actor.user_id)
        or _holds_tracking_code(actor, case)
    )


def _holds_tracking_code(actor: Actor, case: Case) -> bool:
    return actor.tracked_case is not None and actor.tracked_case == case.number


def _covers(actor: Actor, case: Case) -> bool:
    return actor.covers_grid(case.scope_code) or (
        case.escalation_code is not None and actor.covers_grid(case.escalation_code)
    )


def relation_holds(actor: Actor, relation: Relation, case: Case, *, from_placing_pool: bool = False) -> bool:
    if relation is Relation.SCOPE:
        return _covers(actor, case) or (from_placing_pool and in_placing_pool(actor, case))
    if relation is Relation.MAIN_DEPARTMENT:
        return case.main_department_id is not None and case.main_department_id in actor.department_ids
    if relation is Relation.REPORTER_OR_SCOPE:
        own = actor.user_id is not None and case.reporter_user_id == actor.user_id
        own = own or _holds_tracking_code(actor, case)
        return own or (_covers(actor, case) and not _is_resident_only(actor))
    return can_read(actor, case)


def reads_as_reporter(actor: Actor) -> bool:
    """Residents (signed in, or holding a tracking code) read a case as its reporter: the public progress view —
    what was decided and done — never the staff who did it or their internal notes."""
    return not actor.is_system and actor.roles <= {Role.RESIDENT}


def _is_resident_only(actor: Actor) -> bool:
    return not actor.has(Permission.CASE_VIEW_CONTACT) and not actor.has(Permission.CASE_DISPATCH)


def require_action(actor: Actor, action: Action, case: Case) -> None:
    rule = action.rule
    if not actor.has(rule.permission):
        raise PermissionDeniedError(
            f"{actor.display_name}无权执行“{rule.label}”",
            code="action_not_permitted",
            detail={"action": action.value, "permission": rule.permission.value},
        )
    if not relation_holds(actor, rule.relation, case, from_placing_pool=rule.from_placing_pool):
        raise PermissionDeniedError(
            f"{actor.display_name}不能对案件{case.number}执行“{rule.label}”：{_relation_text(rule.relation)}",
            code="out_of_scope",
            detail={"action": action.value, "case": case.number},
        )


def _relation_text(relation: Relation) -> str:
    return {
        Relation.SCOPE: "案件不在其管辖网格内",
        Relation.MAIN_DEPARTMENT: "只有主办部门可以办理",
        Relation.REPORTER_OR_SCOPE: "只能评价本人反映的或本辖区的案件",
        Relation.READER: "无权查看该案件",
    }[relation]


def mask_phone(phone: str | None) -> str | None:
    """138****5678 style: the first three and last four digits stay, enough to confirm with the caller."""
    if not phone:
        return phone
    digits = phone.strip()
    if len(digits) <= 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_name(name: str | None) -> str | None:
    """张** style."""
    if not name:
        return name
    return name[0] + "*" * (len(name) - 1)


def available_actions(actor: Actor, case: Case) -> list[Action]:
    """The actions this actor may take on the case now: permission, relation and state, plus the pending
    requests an approval needs. The pages offer exactly these; ``perform`` checks the same rules again."""
    state = case.case_state
    offered = []
    for action, rule in RULES.items():
        if state not in rule.sources or not actor.has(rule.permission):
            continue
        if not relation_holds(actor, rule.relation, case, from_placing_pool=rule.from_placing_pool):
            continue
        if not _pending_allows(action, case):
            continue
        offered.append(action)
    return offered


def _pending_allows(action: Action, case: Case) -> bool:
    if action in (Action.APPROVE_EXTENSION, Action.DENY_EXTENSION):
        return bool(case.pending_extension_minutes)
    if action is Action.REQUEST_EXTENSION:
        return not case.pending_extension_minutes
    if action in (Action.APPROVE_SUSPENSION, Action.DENY_SUSPENSION):
        return case.pending_suspension
    if action is Action.REQUEST_SUSPENSION:
        return not case.pending_suspension
    if action is Action.RATE:
        return case.rating is None
    if action is Action.REOPEN:
        return case.rating == "unsatisfied" and case.main_department_id is not None
    if action is Action.SELF_HANDLE:
        return case.category is not None and case.category.self_handle_allowed
    return True


# --- the same rules in SQL: which cases an actor can act on now (the workbench's queues) ----------------------


def actionable_condition(actor: Actor, actions: Iterable[Action]) -> ColumnElement[bool]:
    """Cases on which the actor may take at least one of ``actions`` now — ``available_actions`` for a whole list,
    rule by rule: the permission, the state, the relation and the pending requests. A queue built on it lists
    exactly what its case pages offer (``tests/cases/test_queues.py`` holds the two to each other)."""
    conditions = [
        and_(
            Case.state.in_(sorted(state.value for state in action.rule.sources)),
            _relation_condition(actor, action.rule),
            _pending_condition(action),
        )
        for action in actions
        if actor.has(action.rule.permission)
    ]
    return or_(*conditions) if conditions else false()


def _relation_condition(actor: Actor, rule: Rule) -> ColumnElement[bool]:
    relation = rule.relation
    if relation is Relation.SCOPE:
        covers = _covers_condition(actor)
        return or_(covers, placing_pool_condition(actor)) if rule.from_placing_pool else covers
    if relation is Relation.MAIN_DEPARTMENT:
        if not actor.department_ids:
            return false()
        return Case.main_department_id.in_(sorted(actor.department_ids))
    if relation is Relation.REPORTER_OR_SCOPE:
        own = [Case.reporter_user_id == actor.user_id] if actor.user_id is not None else []
        own += [Case.number == actor.tracked_case] if actor.tracked_case is not None else []
        in_scope = [] if _is_resident_only(actor) else [_covers_condition(actor)]
        return or_(false(), *own, *in_scope)
    return readable_condition(actor)


def _pending_condition(action: Action) -> ColumnElement[bool]:
    """``_pending_allows`` in SQL."""
    pending_extension = func.coalesce(Case.pending_extension_minutes, 0) != 0
    if action in (Action.APPROVE_EXTENSION, Action.DENY_EXTENSION):
        return pending_extension
    if action is Action.REQUEST_EXTENSION:
        return ~pending_extension
    if action in (Action.APPROVE_SUSPENSION, Action.DENY_SUSPENSION):
        return Case.pending_suspension.is_(True)
    if action is Action.REQUEST_SUSPENSION:
        return Case.pending_suspension.is_not(True)
    if action is Action.RATE:
        return Case.rating.is_(None)
    if action is Action.REOPEN:
        return and_(Case.rating == Rating.UNSATISFIED.value, Case.main_department_id.is_not(None))
    if action is Action.SELF_HANDLE:
        return Case.category_id.in_(select(Category.id).where(Category.self_handle_allowed.is_(True)))
    return true()
