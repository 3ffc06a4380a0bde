"""The point → grid locator against a brute-force reference, on real 即墨区 streets and on exact synthetic grids.

The reference loops over every polygon with shapely's ``covers`` / ``contains_properly`` / ``shortest_line``
(a numpy bounding-box test only skips polygons that cannot cover the point) and applies the three documented
rules literally. The locator, with and without its raster pre-index, must agree on every point.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, box, shape

from civicgrid.errors import InvalidInputError
from civicgrid.geo.locator import BatchLocation, GridPolygon, Locator, PointLocation
from civicgrid.geo.metric import haversine_m

REAL = Path(__file__).resolve().parents[1] / "data" / "real"
JIMO_STREETS = REAL / "370215_jimo_streets_osm.geojson"

STEP = 1.0 / 256.0  # exact in binary: shared edges and corners of the synthetic grids are exact
LON0 = 120.0
LAT0 = 36.0
RASTER_VARIANTS = [0, 40_000]  # without and with the raster pre-index


# --------------------------------------------------------------------------------------------- reference


@dataclass
class Expected:
    node_ids: npt.NDArray[np.int64]
    on_boundary: npt.NDArray[np.bool_]
    nearest_node_ids: npt.NDArray[np.int64]
    distance_m: npt.NDArray[np.float64]


def brute_force(polygons: Sequence[GridPolygon], lons: Sequence[float], lats: Sequence[float]) -> Expected:
    """The rules applied literally to every (point, polygon) pair; no spatial index."""
    xs = np.asarray(lons, dtype=np.float64)
    ys = np.asarray(lats, dtype=np.float64)
    count = len(xs)
    result = Expected(
        node_ids=np.full(count, -1, dtype=np.int64),
        on_boundary=np.zeros(count, dtype=np.bool_),
        nearest_node_ids=np.full(count, -1, dtype=np.int64),
        distance_m=np.full(count, np.nan),
    )
    finite = np.isfinite(xs) & np.isfinite(ys)
    if not polygons or not finite.any():
        return result
    geoms = np.array([p.geometry for p in polygons], dtype=object)
    points = np.full(count, None, dtype=object)
    points[finite] = shapely.points(xs[finite], ys[finite])
    # every pair; a polygon can only cover a point inside its bounding box, so only those pairs are tested
    bounds = shapely.bounds(geoms)
    in_box = (
        finite[:, None]
        & (bounds[None, :, 0] <= xs[:, None])
        & (xs[:, None] <= bounds[None, :, 2])
        & (bounds[None, :, 1] <= ys[:, None])
        & (ys[:, None] <= bounds[None, :, 3])
    )
    pi, pk = np.nonzero(in_box)
    covers = shapely.covers(geoms[pk], points[pi])
    interior = shapely.contains_properly(geoms[pk], points[pi])
    candidates: dict[int, list[tuple[tuple[int, bool, str, int], int, bool]]] = {}
    for i, k, inside in zip(pi[covers].tolist(), pk[covers].tolist(), interior[covers].tolist(), strict=True):
        polygon = polygons[k]
        # rule 1: deepest; rule 2: interior first, then smallest code (then node id)
        candidates.setdefault(i, []).append(((-polygon.depth, not inside, polygon.code, polygon.node_id), k, inside))
    for i, options in candidates.items():
        _, k, inside = min(options)
        result.node_ids[i] = polygons[k].node_id
        result.on_boundary[i] = not inside

    # rule 3: haversine to shapely's nearest point of every polygon; ties (within 1 mm): deeper, smaller code
    outside = np.array([i for i in np.flatnonzero(finite) if i not in candidates], dtype=np.int64)
    if outside.size == 0:
        return result
    oi = np.repeat(outside, len(polygons))
    ok = np.tile(np.arange(len(polygons)), outside.size)
    target = shapely.get_coordinates(shapely.shortest_line(points[oi], geoms[ok]))[1::2]
    metres = haversine_m(xs[oi], ys[oi], target[:, 0], target[:, 1]).reshape(outside.size, len(polygons))
    depths = np.array([p.depth for p in polygons])
    node_ids = np.array([p.node_id for p in polygons])
    code_rank = np.argsort(np.argsort(np.array([p.code for p in polygons]), kind="stable"), kind="stable")
    for row, i in enumerate(outside):
        tied = np.flatnonzero(metres[row] <= metres[row].min() + 1e-3)
        best = tied[np.lexsort((node_ids[tied], code_rank[tied], -depths[tied]))[0]]
        result.nearest_node_ids[i] = node_ids[best]
        result.distance_m[i] = metres[row, best]
    return result


def assert_same(actual: BatchLocation, expected: Expected) -> None:
    node_mismatch = np.flatnonzero(actual.node_ids != expected.node_ids)
    assert node_mismatch.size == 0, f"{node_mismatch.size} node mismatches, first at {node_mismatch[:5]}"
    boundary_mismatch = np.flatnonzero(actual.on_boundary != expected.on_boundary)
    assert boundary_mismatch.size == 0, f"{boundary_mismatch.size} on_boundary mismatches"
    nearest_mismatch = np.flatnonzero(actual.nearest_node_ids != expected.nearest_node_ids)
    assert nearest_mismatch.size == 0, f"{nearest_mismatch.size} nearest mismatches, first at {nearest_mismatch[:5]}"
    np.testing.assert_array_equal(np.isnan(actual.distance_m), np.isnan(expected.distance_m))
    np.testing.assert_allclose(actual.distance_m, expected.distance_m, rtol=1e-6, equal_nan=True)
    np.testing.assert_array_equal(actual.outside, expected.node_ids == -1)


def assert_single_matches_batch(locator: Locator, lons: Sequence[float], lats: Sequence[float]) -> None:
    batch = locator.locate_many(lons, lats)
    for i, (x, y) in enumerate(zip(lons, lats, strict=True)):
        single = locator.locate(x, y)
        assert (single.node_id if single.node_id is not None else -1) == batch.node_ids[i], i
        assert single.on_boundary == batch.on_boundary[i], i
        assert (single.nearest_node_id if single.nearest_node_id is not None else -1) == batch.nearest_node_ids[i]
        if single.distance_m is None:
            assert np.isnan(batch.distance_m[i])
        else:
            assert single.distance_m == pytest.approx(batch.distance_m[i], rel=1e-12)


# --------------------------------------------------------------------------------------------- data


def jimo_polygons() -> list[GridPolygon]:
    """即墨区 at depth 0, its 15 streets at depth 1, synthetic codes in file order, node ids not equal to order."""
    features = json.loads(JIMO_STREETS.read_text(encoding="utf-8"))["features"]
    assert len(features) == 16
    polygons = []
    for i, feature in enumerate(features):
        code = "370215" if i == 0 else f"370215{i:03d}"
        polygons.append(GridPolygon(node_id=500 - i, code=code, depth=min(i, 1), geometry=shape(feature["geometry"])))
    return polygons


def square_grid(rows: int, cols: int, *, depth: int = 0, step: float = STEP, first_id: int = 0) -> list[GridPolygon]:
    cells = []
    for r in range(rows):
        for c in range(cols):
            x = LON0 + c * step
            y = LAT0 + r * step
            # node ids run opposite to code order, so that a tie-break on the wrong key shows
            node_id = first_id + (rows * cols - 1 - (r * cols + c))
            cells.append(GridPolygon(node_id, f"{depth}{r:03d}{c:03d}", depth, box(x, y, x + step, y + step)))
    return cells


def two_level_grid() -> list[GridPolygon]:
    """10×10 parents (depth 0), each split in 4 children (depth 1); every 7th parent lacks one child (a gap)."""
    parents = square_grid(10, 10, depth=0, step=2 * STEP, first_id=1_000)
    children = [
        child
        for index, child in enumerate(square_grid(20, 20, depth=1, step=STEP, first_id=5_000))
        if not (index % 7 == 3 and (index // 20) % 2 == 0)
    ]
    return parents + children


def square_grid_points(
    rng: random.Random, rows: int, cols: int, count: int, *, outside: float = 0.2
) -> tuple[list[float], list[float]]:
    """Interiors, exact edges, exact corners, the grid's outer boundary and (a share of) points outside."""
    lons: list[float] = []
    lats: list[float] = []
    width = cols * STEP
    height = rows * STEP
    for _ in range(count):
        kind = 4 if rng.random() < outside else rng.randrange(4)
        if kind == 0:  # interior (almost surely)
            x, y = LON0 + rng.random() * width, LAT0 + rng.random() * height
        elif kind == 1:  # on a vertical edge
            x, y = LON0 + rng.randrange(cols + 1) * STEP, LAT0 + rng.random() * height
        elif kind == 2:  # on a horizontal edge
            x, y = LON0 + rng.random() * width, LAT0 + rng.randrange(rows + 1) * STEP
        elif kind == 3:  # on a corner
            x, y = LON0 + rng.randrange(cols + 1) * STEP, LAT0 + rng.randrange(rows + 1) * STEP
        else:  # outside, up to ~3 km away
            x, y = LON0 + (rng.random() * 1.2 - 0.1) * width, LAT0 + (rng.random() * 1.2 - 0.1) * height
            if LON0 <= x <= LON0 + width and LAT0 <= y <= LAT0 + height:
                x = LON0 - rng.random() * 0.03
        lons.append(x)
        lats.append(y)
    return lons, lats


@pytest.fixture(scope="module")
def jimo() -> list[GridPolygon]:
    polygons = jimo_polygons()
    shapely.prepare(np.array([p.geometry for p in polygons], dtype=object))  # speed only
    return polygons


@pytest.fixture(scope="module")
def jimo_points(jimo: list[GridPolygon]) -> tuple[list[float], list[float]]:
    rng = random.Random(370215)
    min_x, min_y, max_x, max_y = jimo[0].geometry.bounds
    lons = [rng.uniform(min_x, max_x) for _ in range(20_000)]
    lats = [rng.uniform(min_y, max_y) for _ in range(20_000)]
    # vertices of the street rings: shared between neighbouring streets, some on the district's outline
    vertices = shapely.get_coordinates(np.array([p.geometry for p in jimo[1:]], dtype=object))
    for x, y in rng.sample(vertices.tolist(), 2_000):
        lons.append(x)
        lats.append(y)
    for _ in range(50):  # far outside: up to ~200 km
        lons.append(rng.uniform(min_x - 2.0, max_x + 2.0))
        lats.append(rng.choice([min_y - rng.uniform(0.01, 1.5), max_y + rng.uniform(0.01, 1.5)]))
    return lons, lats


@pytest.fixture(scope="module")
def jimo_expected(jimo: list[GridPolygon], jimo_points: tuple[list[float], list[float]]) -> Expected:
    return brute_force(jimo, *jimo_points)


# --------------------------------------------------------------------------------------------- real data


@pytest.mark.parametrize("raster_cells", RASTER_VARIANTS)
def test_jimo_matches_brute_force(
    jimo: list[GridPolygon],
    jimo_points: tuple[list[float], list[float]],
    jimo_expected: Expected,
    raster_cells: int,
) -> None:
    locator = Locator(jimo, raster_cells=raster_cells)
    actual = locator.locate_many(*jimo_points)
    assert_same(actual, jimo_expected)
    # the data exercise every branch: streets, district-only gaps (none expected), outlines, shared vertices
    street_ids = {p.node_id for p in jimo[1:]}
    assert set(actual.node_ids[actual.node_ids >= 0].tolist()) <= street_ids | {jimo[0].node_id}
    assert len(set(actual.node_ids.tolist()) & street_ids) == 15
    assert actual.on_boundary.sum() >= 1_500  # the sampled ring vertices
    assert actual.outside.sum() > 1_000


def test_jimo_shared_vertices_go_to_smallest_code(jimo: list[GridPolygon]) -> None:
    """A vertex shared by two streets is on both boundaries: the smaller code wins, flagged on_boundary."""
    streets = jimo[1:]
    by_code = {p.code: p for p in streets}
    locator = Locator(jimo)
    checked = 0
    for x, y in shapely.get_coordinates(streets[0].geometry)[::7].tolist():
        owners = sorted(p.code for p in streets if p.geometry.covers(Point(x, y)))
        if len(owners) < 2 or not jimo[0].geometry.contains_properly(Point(x, y)):
            continue
        found = locator.locate(x, y)
        assert found.code == owners[0]
        assert found.node_id == by_code[owners[0]].node_id
        assert found.on_boundary
        checked += 1
    assert checked > 5


def test_jimo_single_point_api_equals_batch(
    jimo: list[GridPolygon], jimo_points: tuple[list[float], list[float]]
) -> None:
    lons, lats = jimo_points
    sample = list(range(0, 20_000, 100)) + list(range(20_000, 22_050, 25))
    assert_single_matches_batch(Locator(jimo), [lons[i] for i in sample], [lats[i] for i in sample])


# --------------------------------------------------------------------------------------------- synthetic grids


@pytest.fixture(scope="module")
def grid_10k() -> list[GridPolygon]:
    return square_grid(100, 100)


@pytest.fixture(scope="module")
def grid_10k_points() -> tuple[list[float], list[float]]:
    lons, lats = square_grid_points(random.Random(10_000), 100, 100, 3_000, outside=0.015)
    # the outer boundary and corners of the whole grid are inside, on the boundary
    lons += [LON0, LON0 + 100 * STEP, LON0 + 37.5 * STEP, LON0]
    lats += [LAT0 + 12.25 * STEP, LAT0, LAT0 + 100 * STEP, LAT0]
    return lons, lats


@pytest.fixture(scope="module")
def grid_10k_expected(grid_10k: list[GridPolygon], grid_10k_points: tuple[list[float], list[float]]) -> Expected:
    return brute_force(grid_10k, *grid_10k_points)


@pytest.mark.parametrize("raster_cells", RASTER_VARIANTS)
def test_10k_square_grid_matches_brute_force(
    grid_10k: list[GridPolygon],
    grid_10k_points: tuple[list[float], list[float]],
    grid_10k_expected: Expected,
    raster_cells: int,
) -> None:
    locator = Locator(grid_10k, raster_cells=raster_cells)
    assert len(locator) == 10_000
    actual = locator.locate_many(*grid_10k_points)
    assert_same(actual, grid_10k_expected)
    assert 1_000 < actual.on_boundary.sum() < 2_500  # edges and corners
    assert actual.outside.sum() > 25
    assert actual.on_boundary[-4:].all()  # outer boundary of the whole grid: inside, on the boundary


def test_10k_grid_input_order_does_not_matter(
    grid_10k: list[GridPolygon], grid_10k_points: tuple[list[float], list[float]], grid_10k_expected: Expected
) -> None:
    shuffled = list(grid_10k)
    random.Random(7).shuffle(shuffled)
    assert_same(Locator(shuffled).locate_many(*grid_10k_points), grid_10k_expected)
    assert_same(Locator(shuffled[::-1], raster_cells=40_000).locate_many(*grid_10k_points), grid_10k_expected)


def test_10k_grid_single_point_api_equals_batch(
    grid_10k: list[GridPolygon], grid_10k_points: tuple[list[float], list[float]]
) -> None:
    lons, lats = grid_10k_points
    assert_single_matches_batch(Locator(grid_10k), lons[::6], lats[::6])


@pytest.fixture(scope="module")
def two_level() -> tuple[list[GridPolygon], list[float], list[float], Expected]:
    polygons = two_level_grid()
    lons, lats = square_grid_points(random.Random(2), 20, 20, 3_000, outside=0.1)
    return polygons, lons, lats, brute_force(polygons, lons, lats)


@pytest.mark.parametrize("raster_cells", RASTER_VARIANTS)
def test_two_level_grid_deepest_wins(
    two_level: tuple[list[GridPolygon], list[float], list[float], Expected], raster_cells: int
) -> None:
    polygons, lons, lats, expected = two_level
    shuffled = list(polygons)
    random.Random(3).shuffle(shuffled)
    actual = Locator(shuffled, raster_cells=raster_cells).locate_many(lons, lats)
    assert_same(actual, expected)
    inside = actual.node_ids[~actual.outside]
    assert (inside >= 5_000).sum() > 2_000  # mostly children
    assert ((inside >= 1_000) & (inside < 5_000)).sum() > 20  # parents win only in the gaps


def test_deepest_polygon_wins_even_on_its_boundary() -> None:
    parent = GridPolygon(1, "9", 0, box(LON0, LAT0, LON0 + 2 * STEP, LAT0 + 2 * STEP))
    child = GridPolygon(2, "1", 1, box(LON0, LAT0, LON0 + STEP, LAT0 + STEP))
    locator = Locator([parent, child])
    # on the child's edge, in the parent's interior
    assert locator.locate(LON0 + STEP, LAT0 + 0.5 * STEP) == PointLocation(2, "1", True, None, None, None)
    assert locator.locate(LON0 + 1.5 * STEP, LAT0 + 0.5 * STEP) == PointLocation(1, "9", False, None, None, None)


def test_interior_beats_boundary_at_the_same_depth() -> None:
    """Overlapping siblings: the one whose interior holds the point wins over a smaller code on whose edge it is."""
    edge_owner = GridPolygon(1, "A", 0, box(LON0, LAT0, LON0 + STEP, LAT0 + STEP))
    overlapping = GridPolygon(2, "B", 0, box(LON0 + 0.5 * STEP, LAT0, LON0 + 2 * STEP, LAT0 + STEP))
    found = Locator([edge_owner, overlapping]).locate(LON0 + STEP, LAT0 + 0.5 * STEP)
    assert (found.code, found.on_boundary) == ("B", False)


def test_nearest_tie_goes_to_smaller_code_then_deeper() -> None:
    grid = square_grid(3, 3)
    locator = Locator(grid)
    # left of the grid, level with the corner shared by rows 0 and 1 of column 0: equidistant to both squares
    found = locator.locate(LON0 - 0.01, LAT0 + STEP)
    assert found.node_id is None
    assert found.nearest_code == "0000000"
    assert found.distance_m == pytest.approx(float(haversine_m(LON0 - 0.01, LAT0 + STEP, LON0, LAT0 + STEP)))
    # a parent and a child share the nearest edge: the deeper child wins although its code is larger
    parent = GridPolygon(1, "1", 0, box(LON0, LAT0, LON0 + 2 * STEP, LAT0 + 2 * STEP))
    child = GridPolygon(2, "2", 1, box(LON0, LAT0, LON0 + STEP, LAT0 + STEP))
    found = Locator([parent, child]).locate(LON0 - 0.01, LAT0 + 0.5 * STEP)
    assert (found.nearest_node_id, found.nearest_code) == (2, "2")


# --------------------------------------------------------------------------------------------- edges


def test_empty_locator_reports_everything_outside_without_nearest() -> None:
    locator = Locator([])
    assert len(locator) == 0
    batch = locator.locate_many([120.4, 0.0], [36.4, 0.0])
    np.testing.assert_array_equal(batch.node_ids, [-1, -1])
    np.testing.assert_array_equal(batch.nearest_node_ids, [-1, -1])
    assert np.isnan(batch.distance_m).all()
    assert batch.outside.all()
    assert locator.locate(120.4, 36.4) == PointLocation(None, None, False, None, None, None)
    assert len(locator.locate_many([], [])) == 0


@pytest.mark.parametrize("raster_cells", RASTER_VARIANTS)
def test_non_finite_points_are_outside_without_nearest(raster_cells: int) -> None:
    grid = square_grid(4, 4)
    locator = Locator(grid, raster_cells=raster_cells)
    lons = [LON0 + 0.5 * STEP, math.nan, LON0 + 0.5 * STEP, math.inf, LON0 - 0.01, -math.inf]
    lats = [LAT0 + 0.5 * STEP, LAT0, math.nan, LAT0, LAT0 + 0.5 * STEP, math.nan]
    batch = locator.locate_many(np.array(lons), np.array(lats))
    assert len(batch) == 6
    np.testing.assert_array_equal(batch.outside, [False, True, True, True, True, True])
    np.testing.assert_array_equal(batch.nearest_node_ids[[1, 2, 3, 5]], [-1, -1, -1, -1])
    assert np.isnan(batch.distance_m[[0, 1, 2, 3, 5]]).all()
    assert batch.nearest_node_ids[4] >= 0
    assert batch.distance_m[4] > 800
    assert_same(batch, brute_force(grid, lons, lats))
    assert locator.locate(math.nan, LAT0) == PointLocation(None, None, False, None, None, None)
    assert not batch.on_boundary.any()


@pytest.mark.parametrize("raster_cells", RASTER_VARIANTS)
def test_multipolygon_hole_is_outside_that_polygon(raster_cells: int) -> None:
    outer = [(LON0, LAT0), (LON0 + 4 * STEP, LAT0), (LON0 + 4 * STEP, LAT0 + 4 * STEP), (LON0, LAT0 + 4 * STEP)]
    hole = [(LON0 + STEP, LAT0 + STEP), (LON0 + 3 * STEP, LAT0 + STEP), (LON0 + 3 * STEP, LAT0 + 3 * STEP)]
    hole.append((LON0 + STEP, LAT0 + 3 * STEP))
    island = box(LON0 + 5 * STEP, LAT0, LON0 + 6 * STEP, LAT0 + STEP)
    holed = GridPolygon(7, "7", 0, MultiPolygon([Polygon(outer, [hole]), island]))
    locator = Locator([holed], raster_cells=raster_cells)

    in_hole = locator.locate(LON0 + 2.5 * STEP, LAT0 + 2 * STEP)
    assert in_hole.node_id is None
    assert in_hole.nearest_node_id == 7
    expected_m = float(haversine_m(LON0 + 2.5 * STEP, LAT0 + 2 * STEP, LON0 + 3 * STEP, LAT0 + 2 * STEP))
    assert in_hole.distance_m == pytest.approx(expected_m, rel=1e-9)
    assert locator.locate(LON0 + STEP, LAT0 + 2 * STEP) == PointLocation(7, "7", True, None, None, None)  # hole edge
    # Planar-equidistant from the hole's west and south edges: shapely's nearest point (first edge in ring
    # order) decides, and the two candidates differ by the cos(latitude) factor.
    x, y = LON0 + 1.25 * STEP, LAT0 + 1.25 * STEP
    west = float(haversine_m(x, y, LON0 + STEP, y))
    south = float(haversine_m(x, y, x, LAT0 + STEP))
    assert abs(west - south) > 0.1 * south
    q = shapely.get_coordinates(shapely.shortest_line(Point(x, y), holed.geometry))[1]
    found = locator.locate(x, y)
    assert found.distance_m == pytest.approx(float(haversine_m(x, y, q[0], q[1])), rel=1e-12)
    assert found.distance_m in (pytest.approx(west), pytest.approx(south))
    assert locator.locate(LON0 + 0.5 * STEP, LAT0 + 0.5 * STEP).node_id == 7
    assert locator.locate(LON0 + 5.5 * STEP, LAT0 + 0.5 * STEP).node_id == 7  # the second part

    rng = random.Random(11)
    lons = [LON0 + rng.random() * 7 * STEP for _ in range(2_000)]
    lats = [LAT0 + rng.random() * 5 * STEP - STEP for _ in range(2_000)]
    batch = locator.locate_many(lons, lats)
    assert_same(batch, brute_force([holed], lons, lats))
    assert 100 < batch.outside.sum() < 1_900


def test_point_on_outer_boundary_of_whole_grid_is_inside_on_boundary() -> None:
    grid = square_grid(2, 2)
    for raster_cells in RASTER_VARIANTS:
        locator = Locator(grid, raster_cells=raster_cells)
        for x, y, code in [
            (LON0, LAT0 + 0.5 * STEP, "0000000"),  # west edge
            (LON0 + 2 * STEP, LAT0 + 1.5 * STEP, "0001001"),  # east edge
            (LON0 + 2 * STEP, LAT0 + 2 * STEP, "0001001"),  # north-east corner
        ]:
            found = locator.locate(x, y)
            assert (found.code, found.on_boundary, found.nearest_code) == (code, True, None)
            batch = locator.locate_many([x], [y])
            assert batch.on_boundary[0]
            assert not batch.outside[0]


def test_without_nearest_outside_points_have_no_nearest() -> None:
    locator = Locator(square_grid(3, 3), raster_cells=1_000)
    batch = locator.locate_many([LON0 - 0.1, LON0 + 0.5 * STEP], [LAT0, LAT0 + 0.5 * STEP], with_nearest=False)
    np.testing.assert_array_equal(batch.node_ids, [-1, 8])
    np.testing.assert_array_equal(batch.nearest_node_ids, [-1, -1])
    assert np.isnan(batch.distance_m).all()


def test_raster_pre_index_is_built_and_used() -> None:
    locator = Locator(square_grid(10, 10), raster_cells=10_000)
    shape_ = locator.raster_shape
    assert shape_ is not None
    assert 8_000 < shape_[0] * shape_[1] < 12_000
    assert Locator(square_grid(2, 2)).raster_shape is None


def test_rejects_bad_grid_input() -> None:
    square = box(LON0, LAT0, LON0 + STEP, LAT0 + STEP)
    with pytest.raises(InvalidInputError) as not_areal:
        Locator([GridPolygon(1, "1", 0, Point(LON0, LAT0))])
    assert not_areal.value.code == "grid_geometry_not_areal"
    with pytest.raises(InvalidInputError):
        Locator([GridPolygon(1, "1", 0, Polygon())])
    with pytest.raises(InvalidInputError) as duplicate:
        Locator([GridPolygon(1, "1", 0, square), GridPolygon(1, "2", 0, square)])
    assert duplicate.value.code == "grid_node_duplicate"
    with pytest.raises(InvalidInputError):
        Locator([GridPolygon(-1, "1", 0, square)])
    with pytest.raises(ValueError, match="equal length"):
        Locator([GridPolygon(1, "1", 0, square)]).locate_many([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="raster_cells"):
        Locator([], raster_cells=-1)
