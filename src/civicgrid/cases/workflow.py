"""The case flow as data: which action moves a case from which states to which state, and who may ask.

GB/T 30428 / CJJ/T 106 practice (受理 → 立案 → 派遣 → 处置 → 反馈 → 核查 → 结案 → 评价), with the 12345
additions: 退回, 改派, 延期, 挂账, 督办, 吹哨, 合并, 自处置, 重办. ``None`` as a target means the action
keeps the state (it changes the clock, the counters, or only the history).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from civicgrid.cases.models import CaseState
from civicgrid.org.roles import Permission

S = CaseState
OPEN = frozenset(state for state in CaseState if state.is_open)
WORKING = frozenset({S.DISPATCHED, S.IN_PROGRESS})


class Action(StrEnum):
    REGISTER = "register"
    REJECT = "reject"
    DISPATCH = "dispatch"
    REROUTE = "reroute"
    ACCEPT = "accept"
    RETURN = "return"
    SUBMIT = "submit"
    VERIFY_PASS = "verify_pass"
    VERIFY_FAIL = "verify_fail"
    REQUEST_EXTENSION = "request_extension"
    APPROVE_EXTENSION = "approve_extension"
    DENY_EXTENSION = "deny_extension"
    REQUEST_SUSPENSION = "request_suspension"
    APPROVE_SUSPENSION = "approve_suspension"
    DENY_SUSPENSION = "deny_suspension"
    RESUME = "resume"
    SUPERVISE = "supervise"
    ESCALATE = "escalate"
    MERGE = "merge"
    SELF_HANDLE = "self_handle"
    RATE = "rate"
    REOPEN = "reopen"
    PLACE = "place"
    COMMENT = "comment"

    @property
    def rule(self) -> Rule:
        return RULES[self]

    @property
    def label(self) -> str:
        return RULES[self].label


class Relation(StrEnum):
    """How the actor must stand to the case, besides holding the permission."""

    SCOPE = "scope"  # the case lies in one of the actor's grid subtrees
    MAIN_DEPARTMENT = "main_department"  # the actor belongs to the case's main department
    REPORTER_OR_SCOPE = "reporter_or_scope"  # a resident rates their own case; staff rate in scope
    READER = "reader"  # anyone who may read the case


@dataclass(frozen=True)
class Rule:
    label: str
    sources: frozenset[CaseState]
    target: CaseState | None
    permission: Permission
    relation: Relation
    needs_reason: bool = False
    # Also open to a command centre below the case's scope while the case waits to be placed on the grid (待落图):
    # a report placed no deeper than its district is in sight of every street's dispatcher in that district.
    from_placing_pool: bool = False


def _rule(
    label: str,
    sources: frozenset[CaseState] | set[CaseState],
    target: CaseState | None,
    permission: Permission,
    relation: Relation = Relation.SCOPE,
    *,
    needs_reason: bool = False,
    from_placing_pool: bool = False,
) -> Rule:
    return Rule(label, frozenset(sources), target, permission, relation, needs_reason, from_placing_pool)


P = Permission
R = Relation
RULES: dict[Action, Rule] = {
    Action.REGISTER: _rule("立案", {S.REPORTED}, S.REGISTERED, P.CASE_DISPATCH),
    Action.REJECT: _rule(
        "不予立案", {S.REPORTED}, S.REJECTED, P.CASE_DISPATCH, needs_reason=True, from_placing_pool=True
    ),
    Action.DISPATCH: _rule("派遣", {S.REGISTERED}, S.DISPATCHED, P.CASE_DISPATCH),
    Action.REROUTE: _rule("改派", WORKING, S.DISPATCHED, P.CASE_DISPATCH, needs_reason=True),
    Action.ACCEPT: _rule("接收", {S.DISPATCHED}, S.IN_PROGRESS, P.CASE_HANDLE, R.MAIN_DEPARTMENT),
    Action.RETURN: _rule("退回", WORKING, S.REGISTERED, P.CASE_HANDLE, R.MAIN_DEPARTMENT, needs_reason=True),
    Action.SUBMIT: _rule("处置反馈", {S.IN_PROGRESS}, S.HANDLED, P.CASE_HANDLE, R.MAIN_DEPARTMENT, needs_reason=True),
    Action.VERIFY_PASS: _rule("核查通过并结案", {S.HANDLED}, S.CLOSED, P.CASE_VERIFY),
    Action.VERIFY_FAIL: _rule("核查不通过（返工）", {S.HANDLED}, S.IN_PROGRESS, P.CASE_VERIFY, needs_reason=True),
    Action.REQUEST_EXTENSION: _rule("申请延期", WORKING, None, P.CASE_HANDLE, R.MAIN_DEPARTMENT, needs_reason=True),
    Action.APPROVE_EXTENSION: _rule("批准延期", WORKING, None, P.CASE_APPROVE),
    Action.DENY_EXTENSION: _rule("驳回延期", WORKING, None, P.CASE_APPROVE, needs_reason=True),
    Action.REQUEST_SUSPENSION: _rule(
        "申请挂账", {S.IN_PROGRESS}, None, P.CASE_HANDLE, R.MAIN_DEPARTMENT, needs_reason=True
    ),
    Action.APPROVE_SUSPENSION: _rule("批准挂账", {S.IN_PROGRESS}, S.SUSPENDED, P.CASE_APPROVE),
    Action.DENY_SUSPENSION: _rule("驳回挂账", {S.IN_PROGRESS}, None, P.CASE_APPROVE, needs_reason=True),
    Action.RESUME: _rule("恢复办理", {S.SUSPENDED}, S.IN_PROGRESS, P.CASE_APPROVE),
    Action.SUPERVISE: _rule("督办", OPEN - {S.MERGED}, None, P.CASE_SUPERVISE, needs_reason=True),
    Action.ESCALATE: _rule(
        "吹哨上报",
        {S.REPORTED, S.REGISTERED, S.DISPATCHED, S.IN_PROGRESS},
        S.REGISTERED,
        P.CASE_ESCALATE,
        needs_reason=True,
    ),
    Action.MERGE: _rule("合并重复件", {S.REPORTED, S.REGISTERED}, S.MERGED, P.CASE_DISPATCH, from_placing_pool=True),
    Action.SELF_HANDLE: _rule("自处置结案", {S.REPORTED}, S.CLOSED, P.CASE_SELF_HANDLE, needs_reason=True),
    Action.RATE: _rule("评价", {S.CLOSED}, None, P.CASE_RATE, R.REPORTER_OR_SCOPE),
    Action.REOPEN: _rule("重办", {S.CLOSED}, S.DISPATCHED, P.CASE_DISPATCH, needs_reason=True),
    Action.PLACE: _rule("人工落图", OPEN, None, P.CASE_DISPATCH, from_placing_pool=True),
    Action.COMMENT: _rule("备注", frozenset(CaseState), None, P.CASE_READ, R.READER, needs_reason=True),
}


def allowed_from(action: Action, state: CaseState) -> bool:
    return state in RULES[action].sources
