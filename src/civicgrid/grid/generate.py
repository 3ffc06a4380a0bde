"""Generate unit grids (网格单元) for a street or community that has a boundary but no unit-grid data yet."""

from __future__ import annotations

import re
import string

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civicgrid import audit
from civicgrid.errors import ConflictError, InvalidInputError
from civicgrid.geo.partition import split_equal_area
from civicgrid.grid.auth import require_manage
from civicgrid.grid.codes import GridLevel, unit_code
from civicgrid.grid.models import GridNode
from civicgrid.grid.service import create_node, get_node, mark_changed, node_geometry, references
from civicgrid.org.actor import Actor
from civicgrid.settings import get_settings

DEFAULT_NAME_TEMPLATE = "{parent}第{number:03d}网格"


def generate_units(
    session: Session,
    actor: Actor,
    parent_code: str,
    count: int,
    *,
    name_template: str = DEFAULT_NAME_TEMPLATE,
    replace: bool = False,
    unit_code_digits: int | None = None,
) -> list[GridNode]:
    """Divide the parent's polygon into ``count`` cells of about equal area, numbered in reading order.

    Refused when the parent already has children, unless ``replace`` is given and those children are unit grids
    with no children and no people assigned (anything else would silently drop real data).
    """
    digits = unit_code_digits or get_settings().unit_code_digits
    parent = get_node(session, actor, parent_code)
    require_manage(actor, parent.code, "生成网格单元")
    polygon = node_geometry(parent)
    if polygon is None:
        raise InvalidInputError(
            f"“{parent.name}”还没有边界，无法划分网格：请先导入其边界", code="parent_without_geometry"
        )
    if count >= 10**digits:
        raise InvalidInputError(f"{digits}位网格序号最多{10**digits - 1}个网格", code="invalid_count")
    names = _names_for(name_template, parent.name, count)  # a bad template is refused before any work
    _clear_existing_children(session, actor, parent, replace)
    cells = split_equal_area(polygon, count)
    created = [
        create_node(
            session,
            actor,
            code=unit_code(parent.code, parent.grid_level, number, digits),
            name=name,
            level=GridLevel.UNIT,
            parent_code=parent.code,
            geometry=cell,
            geometry_source=f"按面积等分生成（{count}格）",
            unit_code_digits=digits,
            audit_action=None,
            renew_revision=False,
        )
        for number, (cell, name) in enumerate(zip(cells, names, strict=True), start=1)
    ]
    audit.record(session, actor, "grid.generate_units", "grid_node", parent.code, {"count": count})
    mark_changed(session)
    return created


_NUMBER_SPEC = re.compile(r"^0?[1-9]?d?$")


def _names_for(template: str, parent_name: str, count: int) -> list[str]:
    """Fill {parent} and {number} (with an optional width such as {number:03d}); nothing else is allowed."""
    _check_template(template)
    return [template.format(parent=parent_name, number=number) for number in range(1, count + 1)]


def _check_template(template: str) -> None:
    def refuse(reason: str) -> InvalidInputError:
        return InvalidInputError(
            f"名称模板“{template}”无效（{reason}）：只能用 {{parent}} 与 {{number}}，如“{DEFAULT_NAME_TEMPLATE}”",
            code="invalid_template",
        )

    try:
        fields = list(string.Formatter().parse(template))
    except ValueError as error:
        raise refuse(str(error)) from error
    names = [name for _, name, _, _ in fields if name is not None]
    if "number" not in names:
        raise refuse("缺少 {number}，网格名称会重复")
    for _, name, spec, conversion in fields:
        if name is None:
            continue
        if name not in ("parent", "number") or conversion:
            raise refuse(f"不认识的占位符 {{{name}}}")
        if spec and (name != "number" or not _NUMBER_SPEC.match(spec)):
            raise refuse(f"格式“{spec}”不允许")


def _clear_existing_children(session: Session, actor: Actor, parent: GridNode, replace: bool) -> None:
    children = list(session.execute(select(GridNode).where(GridNode.parent_id == parent.id)).scalars())
    if not children:
        return
    if not replace:
        raise ConflictError(
            f"“{parent.name}”已有{len(children)}个下级：如确需重新划分，请选择“替换现有网格单元”",
            code="parent_has_children",
        )
    child_ids = [child.id for child in children]
    blocked = [child for child in children if child.level != GridLevel.UNIT.value]
    grandchildren = session.execute(select(func.count()).where(GridNode.parent_id.in_(child_ids))).scalar_one()
    in_use = references(session, child_ids)
    if blocked or grandchildren or in_use:
        reasons = "、".join([*(["含非网格层级"] if blocked else []), *(["有下级"] if grandchildren else []), *in_use])
        raise ConflictError(f"“{parent.name}”的现有下级不是空的网格单元（{reasons}），不能替换", code="children_in_use")
    for child in children:
        session.delete(child)
    session.flush()
    audit.record(session, actor, "grid.units.replaced", "grid_node", parent.code, {"removed": len(children)})
