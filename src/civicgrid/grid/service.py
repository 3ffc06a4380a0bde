"""Grid service: create, read, change and assign grid nodes. Callers own the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import shapely
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, aliased, undefer

from civicgrid import audit, counters
from civicgrid.cases.models import Case
from civicgrid.errors import ConflictError, InvalidInputError, NotFoundError
from civicgrid.geo.metric import area_m2
from civicgrid.geo.shapes import Areal, as_areal, require_valid
from civicgrid.grid.auth import readable, require_manage
from civicgrid.grid.codes import GridLevel, district_code_of, validate_node_code
from civicgrid.grid.models import GridAssignment, GridDuty, GridNode
from civicgrid.org.actor import Actor
from civicgrid.org.models import Department, User, UserGridScope
from civicgrid.org.roles import Permission
from civicgrid.settings import get_settings
from civicgrid.text import clean_label

GRID_REVISION_COUNTER = "grid_revision"


@dataclass(frozen=True, slots=True)
class NodeRef:
    """A grid node as a plain value (for results that outlive the session)."""

    id: int
    code: str
    name: str
    level: GridLevel

    @classmethod
    def of(cls, node: GridNode) -> NodeRef:
        return cls(node.id, node.code, node.name, node.grid_level)


def mark_changed(session: Session) -> int:
    """Renew the grid revision so cached indexes (the locator) rebuild. Call on every grid change."""
    return counters.renew_token(session, GRID_REVISION_COUNTER)


def grid_revision(session: Session) -> int:
    return counters.current(session, GRID_REVISION_COUNTER)


def find_node(session: Session, code: str) -> GridNode | None:
    """Unscoped lookup for internal use (validation of codes); pages and APIs use ``get_node``."""
    return session.execute(select(GridNode).where(GridNode.code == code)).scalar_one_or_none()


def get_node(session: Session, actor: Actor, code: str) -> GridNode:
    node = session.execute(readable(select(GridNode).where(GridNode.code == code), actor)).scalar_one_or_none()
    if node is None:
        raise NotFoundError(f"找不到网格“{code}”，或无权查看", detail={"code": code})
    return node


def list_nodes(
    session: Session,
    actor: Actor,
    *,
    root_code: str | None = None,
    levels: Sequence[GridLevel] | None = None,
    with_geometry: bool = False,
) -> list[GridNode]:
    """Nodes in the actor's view, optionally limited to one subtree and some levels, ordered by code."""
    stmt = readable(select(GridNode), actor).order_by(GridNode.code)
    if root_code is not None:
        stmt = stmt.where(GridNode.code.startswith(get_node(session, actor, root_code).code))
    if levels:
        stmt = stmt.where(GridNode.level.in_([level.value for level in levels]))
    if with_geometry:
        stmt = stmt.options(undefer(GridNode.geometry))
    return list(session.execute(stmt).scalars())


def ancestors(session: Session, node: GridNode) -> list[GridNode]:
    """The chain from the root down to (excluding) the node, following parent links."""
    chain: list[GridNode] = []
    current = node.parent
    while current is not None:
        chain.append(current)
        current = current.parent
    chain.reverse()
    return chain


def create_node(
    session: Session,
    actor: Actor,
    *,
    code: str,
    name: str,
    level: GridLevel,
    parent_code: str | None = None,
    geometry: Areal | None = None,
    geometry_source: str | None = None,
    unit_code_digits: int | None = None,
    audit_action: str | None = "grid.node.create",
    renew_revision: bool = True,
) -> GridNode:
    """Create a node under ``parent_code`` (or, without one, under the longest existing code it extends).

    Nodes that were created before this one and whose code extends it (an orphan district imported before its
    city, say) are moved under it, so the tree always follows the codes. ``renew_revision`` False lets a caller
    creating many nodes renew the grid revision once at the end.
    """
    digits = unit_code_digits or get_settings().unit_code_digits
    raw = code.strip()
    parent = _parent_for_new_node(session, parent_code, raw, level, digits)
    normalised = validate_node_code(
        raw,
        level,
        parent_code=parent.code if parent else None,
        parent_level=parent.grid_level if parent else None,
        unit_code_digits=digits,
    )
    require_manage(actor, normalised, "创建网格")
    if find_node(session, normalised) is not None:
        raise ConflictError(f"网格代码“{normalised}”已存在", code="duplicate_code", detail={"code": normalised})
    if parent is not None:
        _require_sibling_code_length(session, parent, normalised)
    node = GridNode(
        code=normalised,
        name=clean_label(name),
        level=level.value,
        parent=parent,
        depth=(parent.depth + 1) if parent else 0,
        district_code=district_code_of(normalised),
    )
    if geometry is not None:
        store_geometry(node, geometry, geometry_source)
    session.add(node)
    session.flush()
    adopt_orphans(session, node)
    if audit_action:
        audit.record(session, actor, audit_action, "grid_node", node.code, {"name": node.name, "level": level.value})
    if renew_revision:
        mark_changed(session)
    return node


def _parent_for_new_node(
    session: Session, parent_code: str | None, code: str, level: GridLevel, digits: int
) -> GridNode | None:
    nearest = longest_existing_prefix(session, code)
    if parent_code is None:
        return nearest
    parent = find_node(session, parent_code)
    if parent is None:
        raise NotFoundError(f"上级网格“{parent_code}”不存在", code="parent_not_found", detail={"code": parent_code})
    if nearest is not None and nearest.id != parent.id and code.startswith(nearest.code):
        raise InvalidInputError(
            f"“{code}”应挂在“{nearest.name}”({nearest.code})之下，而不是“{parent.name}”",
            code="parent_not_nearest",
            detail={"code": code, "nearest": nearest.code},
        )
    return parent


def longest_existing_prefix(session: Session, code: str) -> GridNode | None:
    """The existing node with the longest code that ``code`` extends (its rightful parent)."""
    prefixes = [code[:length] for length in range(1, len(code))]
    if not prefixes:
        return None
    return session.execute(
        select(GridNode).where(GridNode.code.in_(prefixes)).order_by(func.length(GridNode.code).desc()).limit(1)
    ).scalar_one_or_none()


def adopt_orphans(session: Session, node: GridNode) -> None:
    """Move under ``node`` the existing nodes that extend its code but hang higher up (or nowhere)."""
    parent_alias = aliased(GridNode)
    candidates = session.execute(
        select(GridNode, parent_alias.code)
        .outerjoin(parent_alias, parent_alias.id == GridNode.parent_id)
        .where(GridNode.code.startswith(node.code, autoescape=True), GridNode.id != node.id)
    ).all()
    orphans = [child for child, parent_code in candidates if parent_code is None or len(parent_code) < len(node.code)]
    for orphan in orphans:
        if orphan.grid_level.rank <= node.grid_level.rank and node.grid_level is not GridLevel.UNIT:
            raise InvalidInputError(
                f"已有的“{orphan.name}”({orphan.code})层级不低于“{node.name}”，不能挂在其下",
                code="level_not_below_parent",
            )
        shift = node.depth + 1 - orphan.depth
        orphan.parent = node
        if shift:
            session.execute(
                update(GridNode)
                .where(GridNode.code.startswith(orphan.code, autoescape=True))
                .values(depth=GridNode.depth + shift)
                .execution_options(synchronize_session="fetch")
            )
    if orphans:
        session.flush()


def _require_sibling_code_length(session: Session, parent: GridNode, code: str) -> None:
    sibling_length = session.execute(
        select(func.length(GridNode.code)).where(GridNode.parent_id == parent.id).limit(1)
    ).scalar_one_or_none()
    if sibling_length is not None and sibling_length != len(code):
        raise InvalidInputError(
            f"代码“{code}”为{len(code)}位，而“{parent.name}”已有的下级代码为{sibling_length}位：同级代码长度必须一致",
            code="sibling_code_length",
            detail={"code": code, "sibling_length": sibling_length},
        )


def set_geometry(session: Session, actor: Actor, node: GridNode, geometry: Areal, *, source: str | None = None) -> None:
    """Replace a node's polygon (WGS-84). The geometry must be valid; repairs are the importer's decision."""
    require_manage(actor, node.code, "修改网格边界")
    store_geometry(node, geometry, source)
    session.flush()
    audit.record(session, actor, "grid.node.geometry", "grid_node", node.code, {"source": source})
    mark_changed(session)


def store_geometry(node: GridNode, geometry: Areal, source: str | None) -> None:
    """Write the polygon and its derived columns; no checks of who acts (callers have done them)."""
    polygon = require_valid(as_areal(geometry))
    min_lon, min_lat, max_lon, max_lat = polygon.bounds
    node.geometry = shapely.to_wkb(polygon)
    node.min_lon, node.min_lat, node.max_lon, node.max_lat = min_lon, min_lat, max_lon, max_lat
    node.area_m2 = area_m2(polygon)
    node.geometry_source = source[:200] if source else None


def node_geometry(node: GridNode) -> Areal | None:
    if node.geometry is None:
        return None
    return as_areal(shapely.from_wkb(node.geometry))


def rename_node(session: Session, actor: Actor, code: str, new_name: str) -> GridNode:
    node = get_node(session, actor, code)
    require_manage(actor, node.code, "修改网格名称")
    old_name = node.name
    node.name = clean_label(new_name)
    session.flush()
    audit.record(session, actor, "grid.node.rename", "grid_node", node.code, {"from": old_name, "to": node.name})
    mark_changed(session)
    return node


def delete_node(session: Session, actor: Actor, code: str) -> None:
    node = get_node(session, actor, code)
    require_manage(actor, node.code, "删除网格")
    child_count = session.execute(select(func.count()).where(GridNode.parent_id == node.id)).scalar_one()
    if child_count:
        raise ConflictError(
            f"网格“{node.name}”还有{child_count}个下级，不能删除：请先删除或合并下级",
            code="node_has_children",
            detail={"code": code, "children": child_count},
        )
    in_use = references(session, [node.id])
    if in_use:
        raise ConflictError(
            f"网格“{node.name}”仍被使用（{'、'.join(in_use)}），不能删除", code="node_in_use", detail={"code": code}
        )
    audit.record(session, actor, "grid.node.delete", "grid_node", node.code, {"name": node.name})
    session.delete(node)
    session.flush()
    mark_changed(session)


def references(session: Session, node_ids: Sequence[int]) -> list[str]:
    """What still points at these nodes (people, departments, cases), described for a refusal message."""
    counts = {
        "人员分配": select(func.count()).where(GridAssignment.grid_node_id.in_(node_ids)),
        "用户管辖范围": select(func.count()).where(UserGridScope.grid_node_id.in_(node_ids)),
        "部门": select(func.count()).where(Department.grid_node_id.in_(node_ids)),
        "案件": select(func.count()).where(Case.grid_node_id.in_(node_ids)),
    }
    found = []
    for label, stmt in counts.items():
        count = session.execute(stmt).scalar_one()
        if count:
            found.append(f"{label}{count}项")
    return found


def assign(session: Session, actor: Actor, code: str, username: str, duty: GridDuty) -> GridAssignment:
    node = get_node(session, actor, code)
    require_manage(actor, node.code, "分配网格人员")
    user = session.execute(select(User).where(User.username == username.strip().lower())).scalar_one_or_none()
    if user is None:
        raise NotFoundError(f"用户“{username}”不存在", code="user_not_found", detail={"username": username})
    if not user.is_active:
        raise InvalidInputError(f"用户“{username}”已停用，不能分配网格", code="user_disabled")
    existing = session.execute(
        select(GridAssignment).where(
            GridAssignment.grid_node_id == node.id,
            GridAssignment.user_id == user.id,
            GridAssignment.duty == duty.value,
        )
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    assignment = GridAssignment(grid_node_id=node.id, user_id=user.id, duty=duty.value)
    session.add(assignment)
    session.flush()
    audit.record(session, actor, "grid.assign", "grid_node", node.code, {"username": user.username, "duty": duty.value})
    return assignment


def unassign(session: Session, actor: Actor, code: str, username: str, duty: GridDuty | None = None) -> int:
    node = get_node(session, actor, code)
    require_manage(actor, node.code, "撤销网格人员")
    stmt = (
        select(GridAssignment)
        .join(User, User.id == GridAssignment.user_id)
        .where(GridAssignment.grid_node_id == node.id, User.username == username.strip().lower())
    )
    if duty is not None:
        stmt = stmt.where(GridAssignment.duty == duty.value)
    removed = list(session.execute(stmt).scalars())
    for assignment in removed:
        session.delete(assignment)
    session.flush()
    if removed:
        audit.record(session, actor, "grid.unassign", "grid_node", node.code, {"username": username})
    return len(removed)


def assigned_people(session: Session, actor: Actor, code: str) -> list[tuple[User, GridDuty]]:
    actor.require(Permission.ORG_READ, "查看网格人员")
    node = get_node(session, actor, code)
    rows = session.execute(
        select(User, GridAssignment.duty)
        .join(GridAssignment, GridAssignment.user_id == User.id)
        .where(GridAssignment.grid_node_id == node.id)
        .order_by(GridAssignment.duty, User.username)
    ).all()
    return [(user, GridDuty(duty)) for user, duty in rows]


def level_counts(session: Session, actor: Actor, root_code: str | None = None) -> dict[GridLevel, tuple[int, int]]:
    """Per level: (nodes, nodes with a polygon) in the actor's view."""
    stmt = readable(select(GridNode.level, func.count(), func.count(GridNode.min_lon)).group_by(GridNode.level), actor)
    if root_code is not None:
        stmt = stmt.where(GridNode.code.startswith(get_node(session, actor, root_code).code))
    return {GridLevel(level): (int(total), int(drawn)) for level, total, drawn in session.execute(stmt)}
