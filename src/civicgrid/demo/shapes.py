"""Plausible boundaries for the generated demo district: an irregular outline cut into Voronoi cells."""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely.geometry import MultiPoint, Point, Polygon

from civicgrid.geo.metric import LocalProjection
from civicgrid.geo.shapes import Areal


def irregular_outline(
    center_lon: float, center_lat: float, radius_m: float, rng: np.random.Generator, vertices: int = 240
) -> Polygon:
    """A closed, star-shaped outline whose radius wanders smoothly (a few low harmonics), like a real district."""
    projection = LocalProjection(center_lon, center_lat)
    angles = np.linspace(0.0, 2.0 * math.pi, vertices, endpoint=False)
    radius = np.ones_like(angles)
    for harmonic in range(2, 9):
        radius += rng.uniform(0.02, 0.12) / math.sqrt(harmonic) * np.sin(harmonic * angles + rng.uniform(0, 6.28))
    radius *= radius_m
    ring = np.column_stack([radius * np.cos(angles), radius * np.sin(angles)])
    return projection.to_lonlat(Polygon(ring))


def voronoi_cells(area: Areal, count: int, rng: np.random.Generator, relax: int = 3) -> list[Areal]:
    """Cut an area into ``count`` Voronoi cells around seeded points, relaxed (Lloyd) towards even sizes.

    Cells are returned north-west first (reading order), so numbering follows the map.
    """
    if count == 1:
        return [area]
    projection = LocalProjection.around(area)
    plane = projection.to_metric(area)
    seeds = _points_inside(plane, count, rng)
    cells: list[Areal] = []
    for _ in range(relax + 1):
        regions = shapely.voronoi_polygons(MultiPoint(seeds), extend_to=plane.envelope.buffer(1000))
        cells = [_areal(region.intersection(plane)) for region in regions.geoms]
        cells = [cell for cell in cells if not cell.is_empty]
        seeds = [cell.centroid for cell in cells]
    ordered = sorted(cells, key=lambda cell: (-round(cell.centroid.y / 1500), cell.centroid.x))
    return [projection.to_lonlat(cell) for cell in ordered]


def _points_inside(area: Areal, count: int, rng: np.random.Generator) -> list[Point]:
    min_x, min_y, max_x, max_y = area.bounds
    shapely.prepare(area)
    points: list[Point] = []
    while len(points) < count:
        candidate = Point(rng.uniform(min_x, max_x), rng.uniform(min_y, max_y))
        if area.contains(candidate):
            points.append(candidate)
    return points


def _areal(geometry: shapely.Geometry) -> Areal:
    if isinstance(geometry, Polygon | shapely.MultiPolygon):
        return geometry
    parts = [part for part in getattr(geometry, "geoms", []) if isinstance(part, Polygon)]
    merged = shapely.union_all(parts) if parts else Polygon()
    assert isinstance(merged, Polygon | shapely.MultiPolygon)
    return merged
