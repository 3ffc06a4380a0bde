"""Polygon checks and repairs shared by the grid importers, editors and the integrity check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from civicgrid.errors import InvalidInputError

Areal: TypeAlias = Polygon | MultiPolygon

# A repair is "safe" when it does not change what the polygon covers by more than this share of its area.
SAFE_REPAIR_AREA_CHANGE = 0.005


@dataclass(frozen=True)
class Repair:
    geometry: Areal | None
    reason: str  # shapely's validity reason for the original
    safe: bool
    note: str  # Chinese: what was done, or why it was not


def as_areal(geometry: BaseGeometry) -> Areal:
    """Return the geometry as Polygon/MultiPolygon or refuse it with a precise reason."""
    if geometry.is_empty:
        raise InvalidInputError("几何为空：网格边界必须是面（Polygon/MultiPolygon）", code="empty_geometry")
    if not isinstance(geometry, Polygon | MultiPolygon):
        raise InvalidInputError(
            f"几何类型为{geometry.geom_type}：网格边界必须是面（Polygon/MultiPolygon）",
            code="not_polygonal",
            detail={"geometry_type": geometry.geom_type},
        )
    return geometry


def require_valid(geometry: Areal) -> Areal:
    if not shapely.is_valid(geometry):
        reason = shapely.is_valid_reason(geometry)
        raise InvalidInputError(
            f"边界几何无效（{reason}）：请修正后再导入，或选择“安全修复”",
            code="invalid_geometry",
            detail={"reason": reason},
        )
    return geometry


def repair_if_safe(geometry: Areal) -> Repair:
    """Repair an invalid polygon with make_valid when that keeps its area (self-touching rings, duplicate points).

    Unsafe: results that are not polygonal, or whose area differs from the drawn area by more than 0.5 %
    (a bow-tie's two triangles, say — which triangle did the author mean?). Those need a person.
    """
    reason = shapely.is_valid_reason(geometry)
    if shapely.is_valid(geometry):
        return Repair(geometry, reason, safe=True, note="几何有效，无需修复")
    repaired = shapely.make_valid(geometry)
    polygonal = _polygonal_part(repaired)
    if polygonal is None or polygonal.is_empty:
        return Repair(None, reason, safe=False, note="修复后不再是面，需要人工修正")
    dropped_other_parts = polygonal.geom_type != repaired.geom_type and not isinstance(repaired, Polygon)
    drawn_area = abs(geometry.area)
    change = abs(polygonal.area - drawn_area) / max(polygonal.area, drawn_area, 1e-18)
    if change > SAFE_REPAIR_AREA_CHANGE:
        return Repair(
            None,
            reason,
            safe=False,
            note=f"自动修复会使面积变化{change:.1%}，需要人工修正",
        )
    note = "已用 make_valid 安全修复" + ("（丢弃了退化的线/点）" if dropped_other_parts else "")
    return Repair(polygonal, reason, safe=True, note=note)


def _polygonal_part(geometry: BaseGeometry) -> Areal | None:
    if isinstance(geometry, Polygon | MultiPolygon):
        return geometry
    parts = [
        part
        for part in getattr(geometry, "geoms", [])
        if isinstance(part, Polygon | MultiPolygon) and not part.is_empty
    ]
    if not parts:
        return None
    merged = shapely.union_all(parts)
    return merged if isinstance(merged, Polygon | MultiPolygon) else None
