"""Reading and writing GeoJSON with errors that point at the offending feature."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from civicgrid.errors import InvalidInputError

EXPORT_DECIMALS = 7  # ~1 cm: finer than any survey a street office holds, coarser than float noise


@dataclass
class ParsedFeature:
    index: int
    properties: dict[str, Any]
    geometry: BaseGeometry | None
    error: InvalidInputError | None = None


@dataclass
class ParsedCollection:
    features: list[ParsedFeature] = field(default_factory=list)
    declared_crs: str | None = None  # the legacy top-level "crs" name, if the file carries one


def parse_feature_collection(raw: bytes | str | dict[str, Any]) -> ParsedCollection:
    """Parse a FeatureCollection (or a single Feature). Document-level problems raise; feature-level problems are
    attached to that feature so an importer can report each one by index."""
    document = _load_json(raw)
    kind = document.get("type")
    if kind == "Feature":
        raw_features: Any = [document]
    elif kind == "FeatureCollection":
        raw_features = document.get("features")
        if not isinstance(raw_features, list):
            raise InvalidInputError(
                "GeoJSON 要素集合中没有要素列表（features）",
                code="malformed_geojson",
                detail={"member": "features"},
            )
    else:
        raise InvalidInputError(
            f"不是 GeoJSON 要素文件：顶层类型（type）应为要素集合或要素，实际为“{kind}”",
            code="malformed_geojson",
            detail={"type": kind},
        )
    parsed = ParsedCollection(declared_crs=_declared_crs(document))
    for index, raw_feature in enumerate(raw_features):
        parsed.features.append(_parse_feature(index, raw_feature))
    return parsed


def _load_json(raw: bytes | str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    try:
        document = json.loads(raw)
    except UnicodeDecodeError as error:
        raise InvalidInputError(
            "文件不是以 UTF-8 编码保存的 GeoJSON", code="malformed_geojson", detail={"position": error.start}
        ) from error
    except json.JSONDecodeError as error:
        raise InvalidInputError(
            f"GeoJSON 格式错误：第{error.lineno}行第{error.colno}列附近不符合 JSON 格式（括号、引号或逗号有误）",
            code="malformed_geojson",
            detail={"line": error.lineno, "column": error.colno, "reason": error.msg},
        ) from error
    if not isinstance(document, dict):
        raise InvalidInputError("不是 GeoJSON 要素文件：最外层应为花括号括起的对象", code="malformed_geojson")
    return document


def _declared_crs(document: dict[str, Any]) -> str | None:
    crs = document.get("crs")
    if not isinstance(crs, dict):
        return None
    name = (crs.get("properties") or {}).get("name")
    return str(name) if name else None


def _parse_feature(index: int, raw: Any) -> ParsedFeature:
    if not isinstance(raw, dict) or raw.get("type") != "Feature":
        return ParsedFeature(index, {}, None, _feature_error(index, "不是要素（类型应为 Feature）"))
    properties = raw.get("properties") or {}
    if not isinstance(properties, dict):
        return ParsedFeature(index, {}, None, _feature_error(index, "属性（properties）应为键值对象"))
    geometry_json = raw.get("geometry")
    if not geometry_json:
        return ParsedFeature(index, properties, None, _feature_error(index, "没有几何图形（geometry）"))
    try:
        geometry = shape(geometry_json)
    except (
        ValueError,
        TypeError,
        AttributeError,
        KeyError,
        IndexError,
        shapely.errors.GEOSException,
    ):
        return ParsedFeature(index, properties, None, _feature_error(index, "几何图形无法解析：类型或坐标不符合规范"))
    coordinates = shapely.get_coordinates(geometry)
    if coordinates.size and not all(math.isfinite(v) for v in coordinates.ravel()):
        return ParsedFeature(index, properties, None, _feature_error(index, "坐标中有非数字或无穷大的值"))
    return ParsedFeature(index, properties, geometry)


def _feature_error(index: int, reason: str) -> InvalidInputError:
    return InvalidInputError(f"第{index + 1}个要素：{reason}", code="malformed_feature", detail={"index": index})


def feature(geometry: BaseGeometry | None, properties: dict[str, Any]) -> dict[str, Any]:
    rounded = None if geometry is None else mapping(shapely.set_precision(geometry, 10**-EXPORT_DECIMALS))
    return {"type": "Feature", "properties": properties, "geometry": rounded}


def feature_collection(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features}
