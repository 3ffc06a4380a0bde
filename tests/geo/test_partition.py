"""Dividing a street or community polygon into N equal-area unit grids (civicgrid.geo.partition).

Every partition is checked against the same guarantees (check_partition): exactly N valid, non-empty,
polygonal cells forming a valid coverage (shared edges have the same vertices); their union is the parent and
no two overlap — set operations on the lon/lat geometries as stored, areas in m², both < 1e-6 of the parent
(measured: 0 to 1e-8); each cell's area (vertices projected, as civicgrid measures areas) within 2 % of
parent/N, the contract — measured ≤ 1.5e-7 except where the 1 % separation rule keeps a MultiPolygon's part
whole (2e-5 here); cells in the documented reading order.

Measured on the real 即墨区 streets (see test_real_street): 潮海街道 218 cells worst Polsby-Popper 0.49, mean 0.73;
龙山街道 20 cells 0.44 / 0.62; 通济街道 60 cells 0.29 / 0.66; no multi-part cell in any of them.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely import affinity
from shapely.geometry import GeometryCollection, LineString, MultiPolygon, Point, Polygon, box
from shapely.geometry.base import BaseGeometry

from civicgrid.errors import InvalidInputError
from civicgrid.geo.metric import LocalProjection
from civicgrid.geo.partition import split_equal_area

STREETS = Path(__file__).parents[1] / "data" / "real" / "370215_jimo_streets_osm.geojson"

# A kilometre grid near 即墨 (lon 120.45, lat 36.38): shapes are drawn in km and placed there in lon/lat.
LON0, LAT0 = 120.45, 36.38
KM_LON = 1.0 / (111.320 * math.cos(math.radians(LAT0)))
KM_LAT = 1.0 / 110.574


def km(geometry: BaseGeometry) -> Any:
    """A shape drawn in kilometres, placed near 即墨 in lon/lat."""
    return affinity.affine_transform(geometry, [KM_LON, 0.0, 0.0, KM_LAT, LON0, LAT0])


RECTANGLE = km(box(0.0, 0.0, 3.0, 2.0))
L_SHAPE = km(Polygon([(0, 0), (2, 0), (2, 1), (1, 1), (1, 2), (0, 2)]))
WITH_HOLE = km(Polygon(box(0.0, 0.0, 2.0, 2.0).exterior.coords, [box(0.7, 0.7, 1.3, 1.3).exterior.coords]))
# Two blocks: the small one holds a quarter of the area (so, with 4 or 8 cells, whole cells).
TWO_BLOCKS = km(MultiPolygon([box(0.0, 0.0, 1.0, 1.0), box(2.0, 0.0, 4.0, 1.5)]))


@cache
def street(name: str) -> Any:
    document = json.loads(STREETS.read_text("utf-8"))
    for feature in document["features"]:
        if feature["properties"]["name"] == name:
            return shapely.geometry.shape(feature["geometry"])
    raise KeyError(name)


@dataclass(frozen=True)
class Stats:
    worst_area_error: float  # max |cell area / (parent area / N) - 1|
    worst_compactness: float  # min Polsby-Popper 4πA/P² over the cells (square 0.785)
    mean_compactness: float
    multipart_share: float  # share of cells that are MultiPolygons


def area_m2(projection: LocalProjection, geometry: BaseGeometry) -> float:
    """Area in m² of a lon/lat region (edges straight in lon/lat: split to ~20 m before projecting)."""
    return float(projection.to_metric(shapely.segmentize(geometry, 0.0002)).area)


def check_partition(parent: BaseGeometry, cells: list[Polygon | MultiPolygon], count: int) -> Stats:
    """Assert every guarantee of split_equal_area and return the measured quality.

    Set operations run on the lon/lat geometries as stored; their areas are measured in square metres.
    """
    assert len(cells) == count
    for cell in cells:
        assert isinstance(cell, Polygon | MultiPolygon)
        assert not cell.is_empty
        assert cell.is_valid, shapely.is_valid_reason(cell)
    projection = LocalProjection.around(parent)
    total = area_m2(projection, parent)

    union = shapely.union_all(cells)
    assert area_m2(projection, union.symmetric_difference(parent)) < 1e-6 * total

    array = np.asarray(cells, dtype=object)
    left, right = shapely.STRtree(array).query(array, predicate="intersects")
    pairs = left < right
    shared = shapely.intersection(array[left[pairs]], array[right[pairs]])  # lines and points between neighbours
    overlap = sum(area_m2(projection, piece) for piece in shared if piece.area > 0.0)
    assert overlap < 1e-6 * total
    if count > 1:
        assert shapely.coverage_is_valid(array)

    # Cell areas as the rest of civicgrid measures them (vertices projected into the plane). They add up to the
    # parent's area up to the difference between a lon/lat edge and its chord in the plane (measured ≤ 2e-5,
    # for km-long straight edges; the union itself is exact, above).
    cells_m = [projection.to_metric(cell) for cell in cells]
    areas = np.array([cell.area for cell in cells_m])
    assert abs(areas.sum() / total - 1.0) < 1e-4
    area_error = float(np.abs(areas / (total / count) - 1.0).max())
    assert area_error < 0.02  # the contract

    compactness = np.array([4.0 * math.pi * cell.area / cell.length**2 for cell in cells_m])
    assert_reading_order(projection.to_metric(parent), cells_m, count)
    multipart = sum(isinstance(cell, MultiPolygon) for cell in cells)
    return Stats(area_error, float(compactness.min()), float(compactness.mean()), multipart / count)


def assert_reading_order(parent_m: BaseGeometry, cells_m: list[BaseGeometry], count: int) -> None:
    """The documented rule: rows of height sqrt(area / N) from the north edge, north to south, west to east."""
    if count == 1:
        return
    row_height = math.sqrt(parent_m.area / count)
    north = parent_m.bounds[3]
    keys = []
    for cell in cells_m:
        point = cell.centroid if cell.contains(cell.centroid) else cell.point_on_surface()
        keys.append((math.floor((north - point.y) / row_height), round(point.x, 3), -point.y))
    assert keys == sorted(keys)


# --- synthetic shapes -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [4, 7, 218])
def test_rectangle(count: int) -> None:
    cells = split_equal_area(RECTANGLE, count)
    stats = check_partition(RECTANGLE, cells, count)
    assert stats.worst_area_error < 1e-6
    assert stats.multipart_share == 0.0
    # Measured: 0.754 (4 cells of 1.5 × 1 km), 0.707 (7), 0.681 (218).
    assert stats.worst_compactness > 0.65


def test_rectangle_into_four_is_four_quarters_in_reading_order() -> None:
    cells = split_equal_area(RECTANGLE, 4)
    projection = LocalProjection.around(RECTANGLE)
    centres = [projection.to_metric(cell).centroid for cell in cells]
    # north-west, north-east, south-west, south-east
    assert centres[0].y > centres[2].y
    assert centres[1].y > centres[3].y
    assert centres[0].x < centres[1].x
    assert centres[2].x < centres[3].x
    for cell in cells:
        # A quadrilateral, once the points that split long edges every ≤ 100 m (on the edge) are ignored.
        assert len(shapely.get_coordinates(shapely.simplify(cell, 1e-9))) == 5


@pytest.mark.parametrize("count", [2, 12, 40])
def test_l_shaped_concave_polygon(count: int) -> None:
    cells = split_equal_area(L_SHAPE, count)
    stats = check_partition(L_SHAPE, cells, count)
    assert stats.worst_area_error < 1e-6
    assert stats.multipart_share == 0.0  # measured: no cut leaves a multi-part cell
    assert stats.worst_compactness > 0.5  # measured 0.58 (40 cells)


def test_l_shape_into_three_is_three_squares() -> None:
    cells = split_equal_area(L_SHAPE, 3)
    projection = LocalProjection.around(L_SHAPE)
    for cell in cells:
        cell_m = projection.to_metric(cell)
        assert 4.0 * math.pi * cell_m.area / cell_m.length**2 == pytest.approx(math.pi / 4.0, rel=1e-3)


@pytest.mark.parametrize("count", [2, 8, 30])
def test_polygon_with_hole(count: int) -> None:
    cells = split_equal_area(WITH_HOLE, count)
    stats = check_partition(WITH_HOLE, cells, count)
    assert stats.worst_area_error < 1e-6
    assert stats.multipart_share == 0.0
    assert stats.worst_compactness > 0.5  # measured 0.53 (2 U-shaped halves)
    hole = km(box(0.7, 0.7, 1.3, 1.3))
    assert all(cell.intersection(hole).area == 0.0 for cell in cells)


@pytest.mark.parametrize("count", [4, 20])
def test_multipolygon_keeps_whole_parts_together(count: int) -> None:
    cells = split_equal_area(TWO_BLOCKS, count)
    stats = check_partition(TWO_BLOCKS, cells, count)
    # The small block holds a quarter of the area up to 2e-5 (1 km² in lon/lat is not exactly 1 km²): the
    # separation rule keeps it whole instead of attaching a 20 m² sliver of it to a cell of the other block.
    assert 1e-6 < stats.worst_area_error < 1e-4  # measured 2.1e-5
    assert stats.multipart_share == 0.0
    small = km(box(0.0, 0.0, 1.0, 1.0))
    inside_small = [cell for cell in cells if cell.intersection(small).area > 0.0]
    assert len(inside_small) == count // 4
    assert all(small.covers(cell) for cell in inside_small)


def test_multipolygon_into_two_needs_one_multipart_cell() -> None:
    # Quarter and three quarters: a half must take the small block and part of the big one.
    cells = split_equal_area(TWO_BLOCKS, 2)
    stats = check_partition(TWO_BLOCKS, cells, 2)
    assert stats.worst_area_error < 1e-6
    assert stats.multipart_share == 0.5


def test_one_cell_returns_the_normalised_parent() -> None:
    parent = street("潮海街道")
    (cell,) = split_equal_area(parent, 1)
    assert cell.geom_type == parent.geom_type
    assert shapely.equals_exact(cell, shapely.normalize(parent), tolerance=0.0)


def test_deterministic() -> None:
    first = split_equal_area(L_SHAPE, 25)
    second = split_equal_area(L_SHAPE, 25)
    assert [cell.wkb for cell in first] == [cell.wkb for cell in second]


def test_parent_vertices_are_kept_bit_for_bit() -> None:
    parent = street("龙山街道")
    cells = split_equal_area(parent, 20)
    cell_vertices = {tuple(xy) for cell in cells for xy in shapely.get_coordinates(cell)}
    parent_vertices = {tuple(xy) for xy in shapely.get_coordinates(parent)}
    assert parent_vertices <= cell_vertices


# --- real streets of 即墨区 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "count", "floor"),
    [
        # The seed document's street of 218 unit grids. Measured: worst PP 0.49, mean 0.73, 0.4-0.7 s.
        ("潮海街道", 218, 0.40),
        # Measured: worst 0.44, mean 0.62.
        ("龙山街道", 20, 0.35),
        # A ragged outline with a deep inlet. Measured: worst 0.29, mean 0.66.
        ("通济街道", 60, 0.25),
    ],
)
def test_real_street(name: str, count: int, floor: float, record_property: Any) -> None:
    parent = street(name)
    started = time.perf_counter()
    cells = split_equal_area(parent, count)
    elapsed = time.perf_counter() - started
    stats = check_partition(parent, cells, count)
    for key, value in vars(stats).items():
        record_property(key, value)
    record_property("seconds", elapsed)
    assert stats.worst_area_error < 1e-6
    assert stats.worst_compactness > floor
    assert stats.mean_compactness > 0.55
    assert stats.multipart_share == 0.0
    assert elapsed < 5.0


def test_real_town_with_islands() -> None:
    # 田横镇 has seven small islands; an island smaller than a cell necessarily joins a mainland cell, and no
    # island is cut. Measured: 6 of 30 cells are multi-part, worst PP 0.26.
    parent = street("田横镇")
    cells = split_equal_area(parent, 30)
    stats = check_partition(parent, cells, 30)
    assert stats.worst_area_error < 1e-6
    assert stats.multipart_share <= 7 / 30
    assert stats.worst_compactness > 0.2
    islands = sorted(parent.geoms, key=lambda part: part.area)[:-1]
    assert len(islands) == 7
    for island in islands:
        (owner,) = [cell for cell in cells if cell.intersection(island).area > 0.0]
        assert owner.intersection(island).area == pytest.approx(island.area, rel=1e-9)


# --- refusals -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [0, -3, 5001, 2.5, True, "3", None])
def test_refuses_invalid_count(count: Any) -> None:
    with pytest.raises(InvalidInputError) as raised:
        split_equal_area(RECTANGLE, count)
    assert raised.value.code == "invalid_count"
    assert "网格数量应为1到5000之间的整数" in raised.value.message


def test_refuses_count_over_custom_limit() -> None:
    with pytest.raises(InvalidInputError) as raised:
        split_equal_area(RECTANGLE, 11, max_cells=10)
    assert raised.value.code == "invalid_count"
    assert raised.value.detail["max"] == 10
    assert "1到10之间" in raised.value.message


@pytest.mark.parametrize(
    "geometry",
    [
        Polygon(),
        MultiPolygon(),
        Point(LON0, LAT0),
        LineString([(LON0, LAT0), (LON0 + 0.01, LAT0)]),
        GeometryCollection([RECTANGLE]),
        None,
        "POLYGON ((0 0, 1 0, 1 1, 0 0))",
    ],
)
def test_refuses_non_polygonal(geometry: Any) -> None:
    with pytest.raises(InvalidInputError) as raised:
        split_equal_area(geometry, 4)
    assert raised.value.code == "not_polygonal"
    assert "只能划分面状边界" in raised.value.message


def test_refuses_invalid_geometry_without_repairing_it() -> None:
    bowtie = km(Polygon([(0, 0), (1, 1), (1, 0), (0, 1)]))
    with pytest.raises(InvalidInputError) as raised:
        split_equal_area(bowtie, 4)
    assert raised.value.code == "invalid_geometry"
    assert "Self-intersection" in raised.value.detail["reason"]
    assert "边界几何无效" in raised.value.message
    assert "Self-intersection" in raised.value.message


def test_refuses_coordinates_that_are_not_lon_lat() -> None:
    in_metres = box(500_000.0, 4_000_000.0, 501_000.0, 4_001_000.0)
    with pytest.raises(InvalidInputError) as raised:
        split_equal_area(in_metres, 4)
    assert raised.value.code == "invalid_geometry"
    assert "经纬度" in raised.value.message


def test_refuses_cells_under_100_square_metres() -> None:
    square = km(box(0.0, 0.0, 0.02, 0.02))  # 20 m × 20 m = 400 m²
    assert len(split_equal_area(square, 3)) == 3  # 133 m² each
    with pytest.raises(InvalidInputError) as raised:
        split_equal_area(square, 5)  # 80 m² each
    assert raised.value.code == "cells_too_small"
    assert "分成5个网格后每格约80" in raised.value.message
    assert "小于下限100平方米" in raised.value.message
    assert raised.value.detail["cell_area_m2"] == pytest.approx(80.0, rel=1e-2)


# --- property test --------------------------------------------------------------------------------------------


SHAPES = {"rectangle": RECTANGLE, "l_shape": L_SHAPE, "with_hole": WITH_HOLE, "two_blocks": TWO_BLOCKS}


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=st.sampled_from(sorted(SHAPES)), count=st.integers(min_value=1, max_value=60))
def test_property_any_count_tiles_the_parent(shape: str, count: int) -> None:
    parent = SHAPES[shape]
    cells = split_equal_area(parent, count)
    stats = check_partition(parent, cells, count)
    # count == 1 returns the parent as given: its long edges differ from their chords in the plane by ≤ 2e-5.
    # two_blocks: the separation rule may trade up to 1 % (measured 2e-5) for keeping the blocks whole.
    if count > 1 and shape != "two_blocks":
        assert stats.worst_area_error < 1e-6
    if shape != "two_blocks":  # a block that holds no whole number of cells shares a cell with the other
        assert stats.multipart_share == 0.0
    assert stats.worst_compactness > 0.25
