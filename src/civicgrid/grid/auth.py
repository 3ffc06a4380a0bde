"""The one place that decides which grid nodes an actor may read or change."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, false, or_, true

from civicgrid.grid.models import GridNode
from civicgrid.org.actor import ALL_GRIDS, Actor
from civicgrid.org.roles import Permission

S = TypeVar("S", bound=Select[*tuple[Any, ...]])  # any select involving GridNode


def grid_scope_condition(actor: Actor, code_column: Any = GridNode.code) -> ColumnElement[bool]:
    """SQL condition: the code lies in one of the actor's subtrees (prefix match, see grid.codes)."""
    if actor.grid_codes == ALL_GRIDS:
        return true()
    if not actor.grid_codes:
        return false()
    return or_(*(code_column.startswith(root) for root in actor.grid_codes))


def readable(stmt: S, actor: Actor) -> S:
    """Restrict a query over GridNode to the nodes the actor may see: their subtrees and the path above them."""
    if not actor.has(Permission.GRID_READ):
        return stmt.where(false())
    if actor.grid_codes == ALL_GRIDS:
        return stmt
    ancestors = {root[:length] for root in actor.grid_codes for length in range(1, len(root))}
    return stmt.where(or_(grid_scope_condition(actor), GridNode.code.in_(sorted(ancestors))))


def require_manage(actor: Actor, code: str, doing: str) -> None:
    actor.require(Permission.GRID_MANAGE, doing)
    actor.require_grid(code, doing)
