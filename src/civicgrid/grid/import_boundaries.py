"""Import grid boundaries from GeoJSON and attach them to grid nodes.

The file's coordinate system must be declared (wgs84 | gcj02 | bd09): 高德/DataV outlines are GCJ-02 and would
sit 300–500 m off if taken as WGS-84. Each feature is matched to a node by its code (``code``/``adcode``/
``division_code`` …) or, failing that, by its normalised name within the chosen subtree; with
``create_missing`` features with a new code become new nodes under the node their code extends.

Everything is decided before anything is written; the report names every rejected feature with its number and
reason, and lists the nodes at the imported levels that still have no boundary.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from civicgrid import audit
from civicgrid.errors import InvalidInputError
from civicgrid.geo.coords import CRS, in_china, parse_crs, transform_geometry, validate_lonlat
from civicgrid.geo.geojson import ParsedFeature, parse_feature_collection
from civicgrid.geo.shapes import Areal, as_areal, repair_if_safe
from civicgrid.grid.auth import readable
from civicgrid.grid.codes import NBS_CODE_LENGTH, GridLevel, normalise_code, significant_admin_code, validate_node_code
from civicgrid.grid.models import GridNode
from civicgrid.grid.names import clean_name, name_key
from civicgrid.grid.service import create_node, find_node, get_node, mark_changed, node_geometry, store_geometry
from civicgrid.importing import ImportReport
from civicgrid.org.actor import Actor
from civicgrid.org.roles import Permission
from civicgrid.settings import get_settings

CODE_PROPERTIES = ("code", "adcode", "division_code", "区划代码", "grid_code", "网格编码", "网格代码")
NAME_PROPERTIES = ("name", "名称", "NAME", "网格名称", "区划名称")
LOW_PARENT_OVERLAP = 0.5


@dataclass
class BoundaryOptions:
    crs: str | None
    within_code: str | None = None
    level: GridLevel | None = None
    code_property: str | None = None
    name_property: str | None = None
    create_missing: bool = False
    keep_good: bool = False
    repair: bool = False


@dataclass
class _Candidates:
    session: Session
    by_code: dict[str, GridNode]
    by_name: dict[str, list[GridNode]] = field(default_factory=lambda: defaultdict(list))
    by_key: dict[str, list[GridNode]] = field(default_factory=lambda: defaultdict(list))

    def exists(self, code: str) -> bool:
        """Whether the code exists at all (candidates are only the nodes in range)."""
        return find_node(self.session, code) is not None


@dataclass
class _Match:
    index: int
    geometry: Areal
    node: GridNode | None  # None: a node to create
    new_code: str | None = None
    new_name: str | None = None
    new_level: GridLevel | None = None
    parent_code: str | None = None


def import_boundaries(
    session: Session, actor: Actor, raw: bytes | str | dict[str, Any], *, source: str, options: BoundaryOptions
) -> ImportReport:
    actor.require(Permission.GRID_MANAGE, "导入网格边界")
    parsed = parse_feature_collection(raw)
    if not parsed.features:
        raise InvalidInputError("文件中没有任何要素", code="no_features")
    crs = _effective_crs(options.crs, parsed.declared_crs)
    report = ImportReport(source=source, item_label="个要素", keep_good=options.keep_good, total=len(parsed.features))
    within = get_node(session, actor, options.within_code) if options.within_code else None
    candidates = _load_candidates(session, actor, within, options.level)
    code_property = options.code_property or _detect_property(parsed.features, CODE_PROPERTIES)
    name_property = options.name_property or _detect_property(parsed.features, NAME_PROPERTIES)
    matches: list[_Match] = []
    claimed: dict[str, int] = {}
    for feature in parsed.features:
        try:
            geometry = _prepared_geometry(feature, crs, options.repair, report)
            match = _match(feature, geometry, candidates, code_property, name_property, options, report)
            _check_scope(actor, match)
            _claim(match, claimed)
        except InvalidInputError as error:
            report.reject(feature.index + 1, _feature_ref(feature, code_property, name_property), error)
            continue
        matches.append(match)
    matches = _plan_creations(session, actor, matches, report, get_settings().unit_code_digits)
    _warn_low_parent_overlap(session, matches, report)
    if report.should_apply:
        _apply(session, actor, matches, report, source, crs)
    _report_nodes_still_without_boundary(session, actor, within, matches, report)
    return report


def _effective_crs(given: str | None, declared: str | None) -> CRS:
    declared_crs = parse_crs(declared) if declared else None
    given_crs = parse_crs(given) if given else None
    if declared_crs and given_crs and declared_crs is not given_crs:
        raise InvalidInputError(
            f"文件声明的坐标系为{declared}，与指定的{given_crs.value}不一致：请确认数据来源后重新指定",
            code="crs_conflict",
            detail={"declared": declared, "given": given_crs.value},
        )
    return given_crs or declared_crs or parse_crs(None)


def _load_candidates(session: Session, actor: Actor, within: GridNode | None, level: GridLevel | None) -> _Candidates:
    stmt = readable(select(GridNode), actor)
    if within is not None:
        stmt = stmt.where(GridNode.code.startswith(within.code))
    if level is not None:
        stmt = stmt.where(GridNode.level == level.value)
    nodes = list(session.execute(stmt.options(undefer(GridNode.geometry))).scalars())
    candidates = _Candidates(session, by_code={node.code: node for node in nodes})
    for node in nodes:
        candidates.by_name[clean_name(node.name)].append(node)
        candidates.by_key[name_key(node.name)].append(node)
    return candidates


def _detect_property(features: list[ParsedFeature], names: tuple[str, ...]) -> str | None:
    present = {key for feature in features for key, value in feature.properties.items() if value not in (None, "")}
    return next((name for name in names if name in present), None)


def _feature_ref(feature: ParsedFeature, code_property: str | None, name_property: str | None) -> str:
    parts = [str(feature.properties.get(prop)) for prop in (code_property, name_property) if prop]
    return " ".join(part for part in parts if part and part != "None") or f"#{feature.index + 1}"


def _prepared_geometry(feature: ParsedFeature, crs: CRS, repair: bool, report: ImportReport) -> Areal:
    if feature.error is not None:
        raise feature.error
    assert feature.geometry is not None
    geometry = as_areal(shapely.force_2d(feature.geometry))
    coordinates = shapely.get_coordinates(geometry)
    validate_lonlat(coordinates[:, 0], coordinates[:, 1])
    if crs is not CRS.WGS84 and not bool(in_china(*geometry.representative_point().coords[0])):
        report.warnings.append(f"第{feature.index + 1}个要素位于中国境外：{crs.value}偏移不适用，按原坐标保存")
    geometry = transform_geometry(geometry, crs, CRS.WGS84)
    if shapely.is_valid(geometry):
        return geometry
    if not repair:
        reason = shapely.is_valid_reason(geometry)
        raise InvalidInputError(
            f"边界几何无效（{reason}）：请修正，或选择“安全修复”后重新导入",
            code="invalid_geometry",
            detail={"reason": reason},
        )
    fixed = repair_if_safe(geometry)
    if not fixed.safe or fixed.geometry is None:
        raise InvalidInputError(f"边界几何无效（{fixed.reason}），{fixed.note}", code="invalid_geometry")
    report.warnings.append(f"第{feature.index + 1}个要素：{fixed.note}（原因：{fixed.reason}）")
    return fixed.geometry


def _match(
    feature: ParsedFeature,
    geometry: Areal,
    candidates: _Candidates,
    code_property: str | None,
    name_property: str | None,
    options: BoundaryOptions,
    report: ImportReport,
) -> _Match:
    raw_code = _text(feature.properties.get(code_property)) if code_property else ""
    raw_name = _text(feature.properties.get(name_property)) if name_property else ""
    number = feature.index + 1
    code = _usable_code(raw_code, number, options, report)
    if code and code in candidates.by_code:
        return _Match(feature.index, geometry, candidates.by_code[code])
    if code and candidates.exists(code):
        raise InvalidInputError(
            f"代码“{code}”的网格存在，但不在本次匹配的范围或层级内", code="outside_filter", detail={"code": code}
        )
    if code and options.create_missing:
        if not raw_name:
            raise InvalidInputError("新建节点需要名称：要素没有名称属性", code="name_required")
        level = options.level or (GridLevel.UNIT if len(code) > NBS_CODE_LENGTH else significant_admin_code(code)[1])
        return _Match(feature.index, geometry, None, new_code=code, new_name=raw_name, new_level=level)
    if not raw_name:
        raise InvalidInputError(
            f"代码“{raw_code}”未匹配到网格，且要素没有名称可供匹配" if raw_code else "要素既无代码也无名称，无法匹配",
            code="unmatched",
        )
    node = _match_by_name(raw_name, candidates)
    if code:
        report.warnings.append(f"第{number}个要素：代码“{raw_code}”未找到，已按名称匹配到“{node.name}”({node.code})")
    return _Match(feature.index, geometry, node)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _usable_code(raw: str, number: int, options: BoundaryOptions, report: ImportReport) -> str:
    """The feature's code in normal form; an unusable code is refused when it would create a node, and otherwise
    noted and left aside so the name can still match."""
    if not raw:
        return ""
    try:
        return normalise_code(raw)
    except InvalidInputError:
        if options.create_missing:
            raise
        report.warnings.append(f"第{number}个要素：代码“{raw}”不是有效的网格代码，改按名称匹配")
        return ""


def _match_by_name(raw_name: str, candidates: _Candidates) -> GridNode:
    for index, value in ((candidates.by_name, clean_name(raw_name)), (candidates.by_key, name_key(raw_name))):
        found = index.get(value, [])
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            listed = "、".join(f"{node.name}({node.code})" for node in found[:5])
            raise InvalidInputError(
                f"名称“{raw_name}”对应多个网格：{listed}。请用代码匹配，或用“范围/层级”缩小候选",
                code="ambiguous_name",
                detail={"candidates": [node.code for node in found]},
            )
    raise InvalidInputError(f"名称“{raw_name}”未匹配到任何网格", code="unmatched")


def _check_scope(actor: Actor, match: _Match) -> None:
    code = match.node.code if match.node is not None else match.new_code
    assert code is not None
    if not actor.covers_grid(code):
        raise InvalidInputError(f"网格“{code}”不在您的管辖范围内，不能修改其边界", code="out_of_scope")


def _claim(match: _Match, claimed: dict[str, int]) -> None:
    code = match.node.code if match.node is not None else match.new_code
    assert code is not None
    if code in claimed:
        raise InvalidInputError(
            f"与第{claimed[code]}个要素匹配到同一网格“{code}”：一个网格只能有一个边界", code="duplicate_match"
        )
    claimed[code] = match.index + 1


def _warn_low_parent_overlap(session: Session, matches: list[_Match], report: ImportReport) -> None:
    """A boundary mostly outside its parent usually means a wrong coordinate system was declared."""
    for match in matches:
        parent = match.node.parent if match.node is not None else None
        if parent is None or parent.geometry is None:
            continue
        parent_geometry = node_geometry(parent)
        assert parent_geometry is not None
        share = match.geometry.intersection(parent_geometry).area / max(match.geometry.area, 1e-18)
        if share < LOW_PARENT_OVERLAP:
            report.warnings.append(
                f"第{match.index + 1}个要素只有{share:.0%}落在上级“{parent.name}”内：请核对坐标系是否声明正确"
            )


def _plan_creations(
    session: Session, actor: Actor, matches: list[_Match], report: ImportReport, digits: int
) -> list[_Match]:
    """Check every node a feature would create — parent, code rules, sibling lengths — before anything is
    written, against the database and against the other new nodes (shorter codes first)."""
    planned: dict[str, GridLevel] = {}
    sibling_lengths: dict[str, int] = {}
    kept = [m for m in matches if m.node is not None]
    for match in sorted((m for m in matches if m.node is None), key=lambda m: (len(m.new_code or ""), m.index)):
        assert match.new_code is not None
        assert match.new_level is not None
        try:
            parent_code, parent_level = _parent_for(session, match.new_code, planned)
            validate_node_code(
                match.new_code,
                match.new_level,
                parent_code=parent_code,
                parent_level=parent_level,
                unit_code_digits=digits,
            )
            if parent_code is not None:
                _check_sibling(session, parent_code, match.new_code, sibling_lengths)
        except InvalidInputError as error:
            report.reject(match.index + 1, match.new_code, error)
            continue
        match.parent_code = parent_code
        planned[match.new_code] = match.new_level
        kept.append(match)
    return sorted(kept, key=lambda m: m.index)


def _parent_for(session: Session, code: str, planned: dict[str, GridLevel]) -> tuple[str | None, GridLevel | None]:
    """The longest code this one extends, among existing nodes and nodes planned in this import."""
    for length in range(len(code) - 1, 0, -1):
        prefix = code[:length]
        if prefix in planned:
            return prefix, planned[prefix]
        node = find_node(session, prefix)
        if node is not None:
            return node.code, node.grid_level
    return None, None


def _check_sibling(session: Session, parent_code: str, code: str, lengths: dict[str, int]) -> None:
    if parent_code not in lengths:
        parent = find_node(session, parent_code)
        child = (
            session.execute(select(GridNode.code).where(GridNode.parent_id == parent.id).limit(1)).scalar_one_or_none()
            if parent is not None
            else None
        )
        lengths[parent_code] = len(child) if child else len(code)
    if lengths[parent_code] != len(code):
        raise InvalidInputError(
            f"代码“{code}”为{len(code)}位，而“{parent_code}”下的其他代码为{lengths[parent_code]}位：同级代码长度必须一致",
            code="sibling_code_length",
        )


def _apply(session: Session, actor: Actor, matches: list[_Match], report: ImportReport, source: str, crs: CRS) -> None:
    label = f"{source}（{crs.value}）"
    for match in sorted(matches, key=lambda m: len(m.new_code or "")):
        if match.node is None:
            assert match.new_code is not None
            assert match.new_name is not None
            node = create_node(
                session,
                actor,
                code=match.new_code,
                name=match.new_name,
                level=match.new_level or GridLevel.UNIT,
                parent_code=match.parent_code,
                geometry=match.geometry,
                geometry_source=label,
                audit_action=None,
                renew_revision=False,
            )
            report.created.append(node.code)
            continue
        store_geometry(match.node, match.geometry, label)
        report.updated.append(match.node.code)
    session.flush()
    audit.record(
        session,
        actor,
        "grid.import.boundaries",
        "grid_import",
        source[:64],
        {"crs": crs.value, "created": report.created, "updated": report.updated, "rejected": len(report.rejected)},
    )
    mark_changed(session)
    report.applied = True


def _report_nodes_still_without_boundary(
    session: Session, actor: Actor, within: GridNode | None, matches: list[_Match], report: ImportReport
) -> None:
    levels = {m.node.level for m in matches if m.node is not None} | {
        (m.new_level or GridLevel.UNIT).value for m in matches if m.node is None
    }
    if not levels:
        return
    stmt = readable(select(GridNode.code, GridNode.name), actor).where(
        GridNode.level.in_(levels), GridNode.min_lon.is_(None)
    )
    if within is not None:
        stmt = stmt.where(GridNode.code.startswith(within.code))
    missing = session.execute(stmt.order_by(GridNode.code)).all()
    if missing:
        listed = "、".join(f"{name}({code})" for code, name in missing[:20])
        more = f"等{len(missing)}个" if len(missing) > 20 else ""
        report.warnings.append(f"以下网格仍没有边界：{listed}{more}")
