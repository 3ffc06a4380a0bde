"""The workbench's queues: each lists exactly the cases its reader can act on now.

A queue is a filter plus the actions that make a case belong in it for this reader; membership is
``cases.auth.actionable_condition`` — the rules the case page's ``available_actions`` applies to one case — so a
queue never lists a case whose page offers its reader nothing to do there (a grid worker's 待核查 lists the handled
cases of her grids, not the ones she reported elsewhere).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import ColumnElement, false
from sqlalchemy.orm import Session

from civicgrid.cases.auth import actionable_condition
from civicgrid.cases.intake import HOTLINES
from civicgrid.cases.models import Case, CaseState
from civicgrid.cases.queries import CaseCount, CaseFilter, count_cases
from civicgrid.cases.workflow import Action
from civicgrid.org.actor import Actor
from civicgrid.org.roles import Role

A = Action
# What "acting on" a case means for the deadline queues: any step of the flow, not a mere note.
ACTING = tuple(action for action in Action if action is not Action.COMMENT)


@dataclass(frozen=True)
class Queue:
    label: str
    actions: tuple[Action, ...]
    criteria: CaseFilter


QUEUES: dict[str, Queue] = {
    "to_place": Queue("待落图", (A.PLACE,), CaseFilter(unplaced=True, open_only=True)),
    # a case one may take forward (立案, or close on the spot); one only to turn down or merge waits in 待落图
    "to_register": Queue("待立案", (A.REGISTER, A.SELF_HANDLE), CaseFilter(states=(CaseState.REPORTED,))),
    "to_dispatch": Queue("待派遣", (A.DISPATCH,), CaseFilter(states=(CaseState.REGISTERED,))),
    "to_handle": Queue(
        "待处置",
        (A.ACCEPT, A.SUBMIT, A.RETURN, A.REQUEST_EXTENSION, A.REQUEST_SUSPENSION, A.REROUTE),
        CaseFilter(states=(CaseState.DISPATCHED, CaseState.IN_PROGRESS)),
    ),
    "to_approve": Queue("待审批", (A.APPROVE_EXTENSION, A.APPROVE_SUSPENSION), CaseFilter(open_only=True)),
    "to_verify": Queue("待核查", (A.VERIFY_PASS, A.VERIFY_FAIL), CaseFilter(states=(CaseState.HANDLED,))),
    "to_rate": Queue("待回访", (A.RATE,), CaseFilter(states=(CaseState.CLOSED,), channels=tuple(sorted(HOTLINES)))),
    "due_soon": Queue("临期", ACTING, CaseFilter(due_soon=True, open_only=True)),
    "overdue": Queue("超期", ACTING, CaseFilter(overdue=True, open_only=True)),
}

# Which queues each role works from, in the order its workbench shows them.
ROLE_QUEUES: dict[Role, tuple[str, ...]] = {
    Role.DISPATCHER: (
        "to_place",
        "to_register",
        "to_dispatch",
        "to_verify",
        "to_approve",
        "due_soon",
        "overdue",
        "to_handle",
    ),
    Role.DEPT_STAFF: ("to_handle", "due_soon", "overdue"),
    Role.GRID_WORKER: ("to_verify", "to_register", "due_soon", "overdue"),
    Role.HOTLINE_OPERATOR: ("to_rate",),
    Role.LEADER: ("to_approve", "overdue", "due_soon"),
    Role.ADMIN: (
        "to_place",
        "to_register",
        "to_dispatch",
        "to_handle",
        "to_approve",
        "to_verify",
        "due_soon",
        "overdue",
    ),
}


def queues_for(actor: Actor) -> tuple[str, ...]:
    """The queues of the actor's first role in ROLE_QUEUES order (a dispatcher who is also a leader works as one)."""
    for role, keys in ROLE_QUEUES.items():
        if role in actor.roles:
            return keys
    return ()


def own_reports(actor: Actor) -> tuple[ColumnElement[bool], ...]:
    """The actor's own reports (to follow, not a queue: what happens to them is someone else's step)."""
    return (Case.reporter_user_id == actor.user_id,) if actor.user_id is not None else (false(),)


def queue_filter(actor: Actor, key: str) -> CaseFilter:
    """The queue's filter for this actor: its criteria and what she can act on now."""
    queue = QUEUES[key]
    return replace(queue.criteria, conditions=(*queue.criteria.conditions, actionable_condition(actor, queue.actions)))


def queue_counts(
    session: Session, actor: Actor, keys: tuple[str, ...], scope: CaseFilter | None = None
) -> dict[str, CaseCount]:
    """How many cases wait in each of the queues for the actor (a department's inbox passes its filter as
    ``scope``), counted as the queue's list counts them."""
    return {key: count_cases(session, actor, within(queue_filter(actor, key), scope)) for key in keys}


def within(criteria: CaseFilter, scope: CaseFilter | None) -> CaseFilter:
    """A queue's filter narrowed to a department inbox's cases."""
    if scope is None:
        return criteria
    return replace(
        criteria, main_department_ids=scope.main_department_ids, conditions=(*criteria.conditions, *scope.conditions)
    )
