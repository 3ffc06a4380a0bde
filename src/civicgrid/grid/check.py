"""Integrity check of the grid: codes, geometry validity, children outside their parent, overlapping siblings,
gaps inside a parent. Work is done per parent in a local equal-area plane, so tolerances and areas are metres.

Tolerance ``t`` (metres): a child counts as outside its parent only beyond ``t`` of the parent's edge; siblings
overlap only where both still overlap after shrinking each by ``t``; a gap is reported only where the parent,
shrunk by ``t``, is not covered by its children and the uncovered part is wider than ``t``. Smaller slivers are
the normal noise of digitised boundaries.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from civicgrid import audit
from civicgrid.geo.metric import LocalProjection
from civicgrid.geo.shapes import Areal, repair_if_safe
from civicgrid.grid.auth import readable
from civicgrid.grid.models import GridNode
from civicgrid.grid.service import get_node, mark_changed, store_geometry
from civicgrid.org.actor import Actor
from civicgrid.org.roles import Permission

MIN_REPORTED_AREA_M2 = 1.0


class IssueKind(StrEnum):
    INVALID_GEOMETRY = "invalid_geometry"
    REPAIRED = "repaired"
    OUTSIDE_PARENT = "outside_parent"
    SIBLING_OVERLAP = "sibling_overlap"
    GAP = "gap"
    MISSING_GEOMETRY = "missing_geometry"
    CODE_RULE = "code_rule"

    @property
    def label(self) -> str:
        return {
            "invalid_geometry": "几何无效",
            "repaired": "已修复",
            "outside_parent": "超出上级",
            "sibling_overlap": "同级重叠",
            "gap": "上级内有空隙",
            "missing_geometry": "缺少边界",
            "code_rule": "代码规则",
        }[self.value]


@dataclass(frozen=True)
class Issue:
    kind: IssueKind
    code: str
    name: str
    message: str
    area_m2: float | None = None
    other_code: str | None = None


@dataclass
class CheckReport:
    root: str | None
    tolerance_m: float
    nodes_checked: int = 0
    issues: list[Issue] = field(default_factory=list)

    @property
    def problems(self) -> list[Issue]:
        """Issues that need a person (repairs already done and missing boundaries are informational)."""
        informational = {IssueKind.REPAIRED, IssueKind.MISSING_GEOMETRY}
        return [issue for issue in self.issues if issue.kind not in informational]

    def count(self, kind: IssueKind) -> int:
        return sum(1 for issue in self.issues if issue.kind is kind)


def check_grid(
    session: Session, actor: Actor, root_code: str | None = None, *, tolerance_m: float = 5.0, fix: bool = False
) -> CheckReport:
    actor.require(Permission.GRID_MANAGE if fix else Permission.GRID_READ, "检查网格")
    report = CheckReport(root=root_code, tolerance_m=tolerance_m)
    stmt = readable(select(GridNode), actor).options(undefer(GridNode.geometry)).order_by(GridNode.code)
    if root_code is not None:
        stmt = stmt.where(GridNode.code.startswith(get_node(session, actor, root_code).code))
    nodes = list(session.execute(stmt).scalars())
    report.nodes_checked = len(nodes)
    geometries = _valid_geometries(session, actor, nodes, report, fix)
    children: dict[int, list[GridNode]] = defaultdict(list)
    for node in nodes:
        if node.parent_id is not None:
            children[node.parent_id].append(node)
    by_id = {node.id: node for node in nodes}
    _check_tree_follows_codes(nodes, by_id, report)
    for parent_id, kids in children.items():
        _check_codes(by_id.get(parent_id), kids, report)
        parent = by_id.get(parent_id)
        # Only whole families: an actor who sees a parent only as the path above her grids sees one child of it.
        if parent is not None and actor.covers_grid(parent.code):
            _check_family(parent, kids, geometries, tolerance_m, report)
    return report


def _check_tree_follows_codes(nodes: list[GridNode], by_id: dict[int, GridNode], report: CheckReport) -> None:
    """Each node's parent must be the longest existing code it extends; unit grids never stand alone."""
    codes = {node.code for node in nodes}
    for node in nodes:
        expected = next((node.code[:n] for n in range(len(node.code) - 1, 0, -1) if node.code[:n] in codes), None)
        parent = by_id.get(node.parent_id) if node.parent_id else None
        actual = parent.code if parent else None
        if node.parent_id is not None and parent is None:
            continue  # the parent is outside this check's view
        if expected != actual:
            where = f"“{expected}”之下" if expected else "顶层"
            message = f"按代码应在{where}，实际挂在“{actual or '顶层'}”"
            report.issues.append(Issue(IssueKind.CODE_RULE, node.code, node.name, message))
        elif parent is None and node.level == "unit":
            report.issues.append(Issue(IssueKind.CODE_RULE, node.code, node.name, "网格单元没有上级"))


def _valid_geometries(
    session: Session, actor: Actor, nodes: list[GridNode], report: CheckReport, fix: bool
) -> dict[int, Areal]:
    result: dict[int, Areal] = {}
    repaired = False
    for node in nodes:
        if node.geometry is None:
            continue
        geometry = shapely.from_wkb(node.geometry)
        if shapely.is_valid(geometry):
            result[node.id] = geometry
            continue
        repair = repair_if_safe(geometry)
        if fix and repair.safe and repair.geometry is not None and actor.covers_grid(node.code):
            store_geometry(node, repair.geometry, f"{node.geometry_source or ''}；make_valid 修复"[:200])
            audit.record(session, actor, "grid.node.repair", "grid_node", node.code, {"reason": repair.reason})
            result[node.id] = repair.geometry
            report.issues.append(Issue(IssueKind.REPAIRED, node.code, node.name, f"{repair.note}（{repair.reason}）"))
            repaired = True
            continue
        hint = "可用 --fix 安全修复" if repair.safe else repair.note
        report.issues.append(
            Issue(IssueKind.INVALID_GEOMETRY, node.code, node.name, f"几何无效：{repair.reason}；{hint}")
        )
    if repaired:
        session.flush()
        mark_changed(session)
    return result


def _check_codes(parent: GridNode | None, kids: list[GridNode], report: CheckReport) -> None:
    lengths = {len(kid.code) for kid in kids}
    if len(lengths) > 1:
        first = kids[0]
        report.issues.append(
            Issue(IssueKind.CODE_RULE, first.code, first.name, f"同一上级下的代码长度不一致：{sorted(lengths)}")
        )
    if parent is None:
        return
    for kid in kids:
        if not kid.code.startswith(parent.code) or kid.depth != parent.depth + 1:
            report.issues.append(Issue(IssueKind.CODE_RULE, kid.code, kid.name, f"代码或层深与上级“{parent.code}”不符"))


def _check_family(
    parent: GridNode, kids: list[GridNode], geometries: dict[int, Areal], tolerance_m: float, report: CheckReport
) -> None:
    parent_geometry = geometries.get(parent.id)
    drawn = [kid for kid in kids if kid.id in geometries]
    if drawn and len(drawn) < len(kids):
        missing = [kid for kid in kids if kid.id not in geometries]
        names = "、".join(kid.name for kid in missing[:10])
        report.issues.append(
            Issue(
                IssueKind.MISSING_GEOMETRY,
                parent.code,
                parent.name,
                f"{len(missing)}个下级没有边界（{names}），跳过空隙检查",
            )
        )
    if not drawn:
        return
    projection = LocalProjection.around(parent_geometry if parent_geometry is not None else geometries[drawn[0].id])
    metric = {kid.id: projection.to_metric(geometries[kid.id]) for kid in drawn}
    _check_overlaps(drawn, metric, tolerance_m, report)
    if parent_geometry is None:
        return
    parent_metric = projection.to_metric(parent_geometry)
    _check_outside(parent, parent_metric, drawn, metric, tolerance_m, report)
    if len(drawn) == len(kids):
        _check_gaps(parent, parent_metric, list(metric.values()), tolerance_m, report)


def _check_outside(
    parent: GridNode,
    parent_metric: BaseGeometry,
    kids: list[GridNode],
    metric: dict[int, BaseGeometry],
    tolerance_m: float,
    report: CheckReport,
) -> None:
    allowed = shapely.buffer(parent_metric, tolerance_m)
    for kid in kids:
        outside = shapely.area(shapely.difference(metric[kid.id], allowed))
        if outside > MIN_REPORTED_AREA_M2:
            report.issues.append(
                Issue(
                    IssueKind.OUTSIDE_PARENT,
                    kid.code,
                    kid.name,
                    f"有{outside:,.0f}平方米超出上级“{parent.name}”边界{tolerance_m:g}米以外",
                    area_m2=float(outside),
                    other_code=parent.code,
                )
            )


def _check_overlaps(
    kids: list[GridNode], metric: dict[int, BaseGeometry], tolerance_m: float, report: CheckReport
) -> None:
    shrunk = [shapely.buffer(metric[kid.id], -tolerance_m) for kid in kids]
    tree = shapely.STRtree(shrunk)
    left, right = tree.query(shrunk, predicate="intersects")
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i >= j:
            continue
        overlap = shapely.area(shapely.intersection(shrunk[i], shrunk[j]))
        if overlap > MIN_REPORTED_AREA_M2:
            report.issues.append(
                Issue(
                    IssueKind.SIBLING_OVERLAP,
                    kids[i].code,
                    kids[i].name,
                    f"与“{kids[j].name}”重叠约{overlap:,.0f}平方米（已扣除{tolerance_m:g}米容差）",
                    area_m2=float(overlap),
                    other_code=kids[j].code,
                )
            )


def _check_gaps(
    parent: GridNode, parent_metric: BaseGeometry, kids: list[BaseGeometry], tolerance_m: float, report: CheckReport
) -> None:
    inner = shapely.buffer(parent_metric, -tolerance_m)
    uncovered = shapely.difference(inner, shapely.union_all(kids))
    # Opening (shrink, then grow) removes slivers narrower than the tolerance between neighbouring children.
    uncovered = shapely.buffer(shapely.buffer(uncovered, -tolerance_m / 2), tolerance_m / 2)
    area = shapely.area(uncovered)
    if area > MIN_REPORTED_AREA_M2:
        parts = shapely.get_num_geometries(uncovered)
        report.issues.append(
            Issue(
                IssueKind.GAP,
                parent.code,
                parent.name,
                f"下级未覆盖的空隙共{area:,.0f}平方米（{parts}处，已扣除{tolerance_m:g}米容差）",
                area_m2=float(area),
            )
        )
