"""Point → grid assignment benchmark: civicgrid Locator vs geopandas sjoin vs PostGIS, same data, same run.

Run from the repository root (see bench/locate/README.md):

    .venv/bin/python bench/locate/run.py --output bench/locate/data/results.json \\
        --postgis-url postgresql://civicgrid_bench:civicgrid_bench@127.0.0.1/civicgrid_bench
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import io
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import shapely

from civicgrid.geo.locator import BatchLocation, GridPolygon, Locator

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/, for the shared helpers
from machine import machine

T = TypeVar("T")
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
GeomArray = npt.NDArray[np.object_]

CENTER_LON = 120.4  # near Qingdao
CENTER_LAT = 36.4
HALF_SIDE_M = 15_000.0  # a ~30 × 30 km box
M_PER_DEG_LAT = 110_950.0
DEPTH = 3  # unit grids
OUTSIDE_BAND_M = 2_000.0


# ----------------------------------------------------------------------------------------------- data


def box_bounds() -> tuple[float, float, float, float]:
    half_lon = HALF_SIDE_M / (M_PER_DEG_LAT * math.cos(math.radians(CENTER_LAT)))
    half_lat = HALF_SIDE_M / M_PER_DEG_LAT
    return CENTER_LON - half_lon, CENTER_LAT - half_lat, CENTER_LON + half_lon, CENTER_LAT + half_lat


def clustered(rng: np.random.Generator, count: int, centres: FloatArray, sigma_deg: float) -> FloatArray:
    """Points inside the box: half uniform, half around 'urban' centres (rejection keeps them in the box)."""
    min_x, min_y, max_x, max_y = box_bounds()
    uniform = np.column_stack([rng.uniform(min_x, max_x, count // 2), rng.uniform(min_y, max_y, count // 2)])
    wanted = count - count // 2
    chunks = []
    while wanted > 0:
        base = centres[rng.integers(0, len(centres), wanted * 2)]
        cand = base + rng.normal(0.0, 1.0, (wanted * 2, 2)) * [
            sigma_deg / math.cos(math.radians(CENTER_LAT)),
            sigma_deg,
        ]
        keep = cand[(cand[:, 0] > min_x) & (cand[:, 0] < max_x) & (cand[:, 1] > min_y) & (cand[:, 1] < max_y)]
        chunks.append(keep[:wanted])
        wanted -= len(chunks[-1])
    return np.vstack([uniform, *chunks])


def make_grid(cells: int, seed: int) -> tuple[GeomArray, list[str]]:
    """Irregular unit grids: Voronoi cells of clustered seeds (smaller cells in dense cores), clipped to the box."""
    rng = np.random.default_rng(seed)
    centres = clustered(rng, 40, np.array([[CENTER_LON, CENTER_LAT]]), 0.08)[:20]
    seeds = clustered(rng, cells, centres, 0.02)
    frame = shapely.box(*box_bounds())
    cells_gc = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=frame)
    geoms = shapely.intersection(shapely.get_parts(cells_gc), frame)
    assert len(geoms) == cells, (len(geoms), cells)
    assert (shapely.get_type_id(geoms) == 3).all()
    assert shapely.is_valid(geoms).all()
    # deterministic codes in row-major order of the cell centroids (≈ 300 m rows)
    centroid = shapely.get_coordinates(shapely.centroid(geoms))
    order = np.lexsort((centroid[:, 0], np.floor((centroid[:, 1] - box_bounds()[1]) / 0.003)))
    geoms = geoms[order]
    codes = [f"370215001{k:06d}" for k in range(len(geoms))]
    return geoms, codes


def make_points(count: int, geoms: GeomArray, seed: int, outside_share: float) -> tuple[FloatArray, FloatArray]:
    """Cases: clustered inside the box, some exactly on grid vertices (ties), some up to 2 km outside the box."""
    rng = np.random.default_rng(seed + 1)
    min_x, min_y, max_x, max_y = box_bounds()
    n_vertex = min(1_000, count // 1_000)
    n_out = round(count * outside_share)
    n_in = count - n_vertex - n_out
    centres = np.column_stack([rng.uniform(min_x, max_x, 30), rng.uniform(min_y, max_y, 30)])
    inside = clustered(rng, n_in, centres, 0.015)
    vertices = np.unique(shapely.get_coordinates(geoms), axis=0)
    on_vertex = vertices[rng.choice(len(vertices), n_vertex, replace=False)]
    band_lon = OUTSIDE_BAND_M / (M_PER_DEG_LAT * math.cos(math.radians(CENTER_LAT)))
    band_lat = OUTSIDE_BAND_M / M_PER_DEG_LAT
    side = rng.integers(0, 4, n_out)
    along = rng.uniform(0.0, 1.0, n_out)
    depth = rng.uniform(1e-6, 1.0, n_out)
    ox = np.select(
        [side == 0, side == 1, side == 2],
        [min_x - depth * band_lon, max_x + depth * band_lon, min_x + along * (max_x - min_x)],
        min_x + along * (max_x - min_x),
    )
    oy = np.select(
        [side == 0, side == 1, side == 2],
        [min_y + along * (max_y - min_y), min_y + along * (max_y - min_y), min_y - depth * band_lat],
        max_y + depth * band_lat,
    )
    xy = np.vstack([inside, on_vertex, np.column_stack([ox, oy])])
    xy = xy[rng.permutation(len(xy))]
    return np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1])


def fresh(geoms: GeomArray) -> GeomArray:
    """Independent copies (no shared prepared state between peers or repeats)."""
    copies: GeomArray = shapely.from_wkb(shapely.to_wkb(geoms))
    return copies


# ----------------------------------------------------------------------------------------------- timing


@dataclass
class Row:
    name: str
    peer: str
    times: list[float] = field(default_factory=list)
    points: int | None = None  # points handled per run (None for build/load rows)
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def as_dict(self) -> dict[str, Any]:
        pps = self.points / self.median if self.points else None
        return {
            "name": self.name,
            "peer": self.peer,
            "times_s": [round(t, 4) for t in self.times],
            "median_s": round(self.median, 4),
            "points_per_s": round(pps) if pps else None,
            "note": self.note,
        }


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    gc.collect()
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def resolve_ties(
    point_idx: IntArray,
    poly_idx: IntArray,
    xs: FloatArray,
    ys: FloatArray,
    geoms: GeomArray,
    codes_rank: IntArray,
    size: int,
) -> IntArray:
    """One polygon per point from (point, polygon) matches: interior first, then the smallest code (rule 2)."""
    chosen = np.full(size, -1, dtype=np.int64)
    counts = np.bincount(point_idx, minlength=size)
    single = counts[point_idx] == 1
    chosen[point_idx[single]] = poly_idx[single]
    multi = np.flatnonzero(~single)
    if multi.size:
        p, g = point_idx[multi], poly_idx[multi]
        interior = shapely.contains_xy(geoms[g], xs[p], ys[p])
        order = np.lexsort((codes_rank[g], ~interior, p))
        p, g = p[order], g[order]
        first = np.ones(len(p), dtype=bool)
        first[1:] = p[1:] != p[:-1]
        chosen[p[first]] = g[first]
    return chosen


# ----------------------------------------------------------------------------------------------- peers


def run_civicgrid(
    polygons: list[GridPolygon], geoms: GeomArray, xs: FloatArray, ys: FloatArray, repeat: int, raster_cells: int
) -> tuple[list[Row], dict[str, BatchLocation]]:
    rows: list[Row] = []
    results: dict[str, BatchLocation] = {}
    variants = [("STRtree", 0), (f"raster pre-index {raster_cells:,} cells", raster_cells)]
    for label, cells in variants:
        build = Row(f"civicgrid build ({label})", "civicgrid")
        plain = Row(f"civicgrid locate_many, with_nearest=False ({label})", "civicgrid", points=len(xs))
        near = Row(f"civicgrid locate_many, with_nearest=True ({label})", "civicgrid", points=len(xs))
        for _ in range(repeat):
            copies = fresh(geoms)
            polys = [GridPolygon(p.node_id, p.code, p.depth, g) for p, g in zip(polygons, copies, strict=True)]
            seconds, locator = timed(lambda polys=polys, cells=cells: Locator(polys, raster_cells=cells))
            build.times.append(seconds)
            seconds, result = timed(lambda locator=locator: locator.locate_many(xs, ys, with_nearest=False))
            plain.times.append(seconds)
            results[f"{label} plain"] = result
            seconds, result = timed(lambda locator=locator: locator.locate_many(xs, ys, with_nearest=True))
            near.times.append(seconds)
            results[f"{label} nearest"] = result
        rows += [build, plain, near]
        print(f"  {label}: build {build.median:.3f} s, plain {plain.median:.3f} s, nearest {near.median:.3f} s")
    return rows, results


def run_geopandas(
    polygons: list[GridPolygon], geoms: GeomArray, xs: FloatArray, ys: FloatArray, repeat: int
) -> tuple[list[Row], IntArray]:
    import geopandas as gpd

    node_ids = np.array([p.node_id for p in polygons], dtype=np.int64)
    codes_rank = np.argsort(np.argsort(np.array([p.code for p in polygons]), kind="stable")).astype(np.int64)
    build_points = Row("geopandas points_from_xy + GeoDataFrame", "geopandas", points=len(xs))
    sjoin_only = Row('geopandas sjoin(predicate="intersects"), points prebuilt', "geopandas", points=len(xs))
    full = Row("geopandas from lon/lat: points + sjoin + tie rule", "geopandas", points=len(xs))
    chosen = np.empty(0, dtype=np.int64)
    for _ in range(repeat):
        grid = gpd.GeoDataFrame({"idx": np.arange(len(geoms))}, geometry=gpd.GeoSeries(fresh(geoms), crs=4326))

        def points_frame() -> Any:
            return gpd.GeoDataFrame(geometry=gpd.points_from_xy(xs, ys, crs=4326))

        t_points, pts = timed(points_frame)
        t_join, joined = timed(lambda pts=pts, grid=grid: gpd.sjoin(pts, grid, predicate="intersects", how="inner"))

        def ties(joined: Any = joined, grid: Any = grid) -> IntArray:
            return resolve_ties(
                joined.index.to_numpy(np.int64),
                joined["idx"].to_numpy(np.int64),
                xs,
                ys,
                grid.geometry.to_numpy(),
                codes_rank,
                len(xs),
            )

        t_ties, index = timed(ties)
        build_points.times.append(t_points)
        sjoin_only.times.append(t_join)
        full.times.append(t_points + t_join + t_ties)
        chosen = np.where(index >= 0, node_ids[np.maximum(index, 0)], -1)
    print(f"  sjoin {sjoin_only.median:.3f} s, from lon/lat incl. tie rule {full.median:.3f} s")
    return [build_points, sjoin_only, full], chosen


def run_postgis(
    url: str, polygons: list[GridPolygon], geoms: GeomArray, xs: FloatArray, ys: FloatArray, repeat: int
) -> tuple[list[Row], IntArray | None, dict[str, Any]]:
    import psycopg

    info: dict[str, Any] = {}
    try:
        conn = psycopg.connect(url, autocommit=True)
    except psycopg.Error as exc:
        print(f"  PostGIS skipped: cannot connect ({exc.__class__.__name__}: {str(exc).strip()[:200]})")
        return [], None, {"skipped": str(exc)[:500]}
    with conn:
        db = conn.execute("SELECT current_database()").fetchone()
        if db is None or db[0] != "civicgrid_bench":
            raise SystemExit("refusing to run: the PostGIS peer only uses a database named civicgrid_bench")
        try:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            version = conn.execute("SELECT postgis_full_version(), version()").fetchone()
        except psycopg.Error as exc:
            print(f"  PostGIS skipped: extension unavailable ({str(exc).strip()[:200]})")
            return [], None, {"skipped": str(exc)[:500]}
        assert version is not None
        info["postgis"] = version[0]
        info["postgresql"] = version[1]
        for setting in ("max_parallel_workers_per_gather", "shared_buffers", "work_mem", "jit"):
            row = conn.execute(f"SHOW {setting}").fetchone()
            info[setting] = row[0] if row else None

        conn.execute("DROP TABLE IF EXISTS bench_points, bench_grid")
        conn.execute(
            "CREATE TABLE bench_grid (node_id bigint PRIMARY KEY, code text NOT NULL, "
            "geom geometry(Polygon, 4326) NOT NULL)"
        )
        conn.execute("CREATE TABLE bench_points (id bigint NOT NULL, geom geometry(Point, 4326) NOT NULL)")
        grid_hex = shapely.to_wkb(shapely.set_srid(geoms, 4326), hex=True, include_srid=True)
        grid_text = "".join(f"{p.node_id}\t{p.code}\t{h}\n" for p, h in zip(polygons, grid_hex, strict=True))
        point_hex = shapely.to_wkb(shapely.set_srid(shapely.points(xs, ys), 4326), hex=True, include_srid=True)
        point_text = "\n".join(f"{i}\t{h}" for i, h in enumerate(point_hex.tolist())) + "\n"

        def copy(table: str, text: str) -> None:
            with conn.cursor() as cur, cur.copy(f"COPY {table} FROM STDIN") as copy_:
                data = text.encode()
                for start in range(0, len(data), 1 << 22):
                    copy_.write(data[start : start + (1 << 22)])

        start = time.perf_counter()
        copy("bench_grid (node_id, code, geom)", grid_text)
        conn.execute("CREATE INDEX bench_grid_geom ON bench_grid USING gist (geom)")
        conn.execute("ANALYZE bench_grid")
        load_grid = Row(
            "PostGIS load polygons (COPY + GiST index + ANALYZE)", "postgis", times=[time.perf_counter() - start]
        )
        start = time.perf_counter()
        copy("bench_points (id, geom)", point_text)
        conn.execute("ANALYZE bench_points")
        load_points = Row(
            "PostGIS load points (COPY + ANALYZE)", "postgis", points=len(xs), times=[time.perf_counter() - start]
        )
        print(f"  load: polygons {load_grid.median:.2f} s, points {load_points.median:.2f} s")

        join = "SELECT p.id, g.node_id FROM bench_points p JOIN bench_grid g ON ST_Intersects(g.geom, p.geom)"
        # Polygon-driven plan: one index scan of the points per polygon, so PostGIS can reuse its prepared
        # polygon across the inner loop. OFFSET 0 keeps the planner from flattening the LATERAL subquery.
        lateral = (
            "FROM bench_grid g CROSS JOIN LATERAL (SELECT p.id, ST_Contains(g.geom, p.geom) AS interior "
            "FROM bench_points p WHERE ST_Intersects(g.geom, p.geom) OFFSET 0) p"
        )
        tie_sql = (
            f'SELECT DISTINCT ON (p.id) p.id, g.node_id {lateral} ORDER BY p.id, p.interior DESC, g.code COLLATE "C"'
        )
        phases = [
            (False, {"PostGIS join ST_Intersects, points not indexed (planner's plan)": join}),
            (
                True,
                {
                    "PostGIS join ST_Intersects, points GiST-indexed (planner's plan)": join,
                    "PostGIS join ST_Intersects, points GiST-indexed, polygon-driven LATERAL plan": (
                        f"SELECT p.id, g.node_id {lateral}"
                    ),
                    "PostGIS join + tie rule (DISTINCT ON, ST_Contains DESC, code), polygon-driven LATERAL plan": (
                        tie_sql
                    ),
                },
            ),
        ]
        rows = [load_grid, load_points]
        for indexed, queries in phases:
            if indexed:
                start = time.perf_counter()
                conn.execute("CREATE INDEX bench_points_geom ON bench_points USING gist (geom)")
                conn.execute("ANALYZE bench_points")
                rows.append(
                    Row("PostGIS load: GiST index on points + ANALYZE", "postgis", times=[time.perf_counter() - start])
                )
            for name, sql in queries.items():
                row = Row(name, "postgis", points=len(xs), note="EXPLAIN (ANALYZE, TIMING OFF) Execution Time")
                plan_nodes: list[str] = []
                for _ in range(repeat):
                    result = conn.execute(f"EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) {sql}").fetchone()
                    assert result is not None
                    plan = result[0][0]
                    row.times.append(plan["Execution Time"] / 1000.0)
                    plan_nodes = _plan_nodes(plan["Plan"])
                info[f"plan: {row.name}"] = " > ".join(plan_nodes)
                rows.append(row)
                print(f"  {row.name}: {row.median:.3f} s  [{info[f'plan: {row.name}']}]")

        with conn.cursor() as cur:
            cur.execute(tie_sql)
            fetched = np.array(cur.fetchall(), dtype=np.int64).reshape(-1, 2)
        chosen = np.full(len(xs), -1, dtype=np.int64)
        chosen[fetched[:, 0]] = fetched[:, 1]
        conn.execute("DROP TABLE IF EXISTS bench_points, bench_grid")
    return rows, chosen, info


def _plan_nodes(plan: dict[str, Any]) -> list[str]:
    label = plan["Node Type"]
    if plan.get("Index Name"):
        label += f" ({plan['Index Name']})"
    if plan.get("Workers Planned"):
        label += f" [{plan['Workers Planned']} workers]"
    nodes = [label]
    for child in plan.get("Plans", []):
        nodes += _plan_nodes(child)
    return nodes


# ----------------------------------------------------------------------------------------------- experiments

_WORKER: Locator | None = None


def _init_worker(wkb: list[bytes], node_ids: list[int], codes: list[str]) -> None:
    global _WORKER
    geoms = shapely.from_wkb(np.array(wkb, dtype=object))
    _WORKER = Locator([GridPolygon(n, c, DEPTH, g) for n, c, g in zip(node_ids, codes, geoms, strict=True)])


def _worker_locate(chunk: tuple[FloatArray, FloatArray]) -> IntArray:
    assert _WORKER is not None
    return _WORKER.locate_many(chunk[0], chunk[1], with_nearest=False).node_ids


def run_experiments(
    polygons: list[GridPolygon], geoms: GeomArray, xs: FloatArray, ys: FloatArray, repeat: int
) -> tuple[list[Row], dict[str, IntArray]]:
    """Multi-core chunking of the STRtree path: 2 threads (GIL?) and a 2-process pool (warm)."""
    locator = Locator([GridPolygon(p.node_id, p.code, p.depth, g) for p, g in zip(polygons, fresh(geoms), strict=True)])
    locator.locate_many(xs[:1000], ys[:1000], with_nearest=False)
    workers = min(2, os.cpu_count() or 1)
    halves = np.array_split(np.arange(len(xs)), workers)
    threads = Row(f"experiment: STRtree path, {workers} threads", "experiment", points=len(xs))
    procs = Row(
        f"experiment: STRtree path, {workers}-process pool (warm, incl. pickling)", "experiment", points=len(xs)
    )
    outputs: dict[str, IntArray] = {}
    with ThreadPoolExecutor(workers) as pool:
        for _ in range(repeat):
            seconds, parts = timed(
                lambda: list(pool.map(lambda h: locator.locate_many(xs[h], ys[h], with_nearest=False).node_ids, halves))
            )
            threads.times.append(seconds)
            outputs["threads"] = np.concatenate(parts)
    init = ([bytes(b) for b in shapely.to_wkb(geoms)], [p.node_id for p in polygons], [p.code for p in polygons])
    with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=init) as ppool:
        list(ppool.map(_worker_locate, [(xs[:10], ys[:10])] * workers))  # warm the workers
        for _ in range(repeat):
            seconds, parts = timed(lambda: list(ppool.map(_worker_locate, [(xs[h], ys[h]) for h in halves])))
            procs.times.append(seconds)
            outputs["processes"] = np.concatenate(parts)
    print(f"  threads {threads.median:.3f} s, processes {procs.median:.3f} s")
    return [threads, procs], outputs


# ----------------------------------------------------------------------------------------------- report


def versions() -> dict[str, str]:
    import geopandas
    import pandas
    import psycopg

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "shapely": shapely.__version__,
        "geos (shapely)": shapely.geos_version_string,
        "geopandas": geopandas.__version__,
        "pandas": pandas.__version__,
        "psycopg": psycopg.__version__,
    }


def markdown(rows: list[Row], reference: Row) -> str:
    out = io.StringIO()
    out.write("| measurement | median (s) | runs (s) | points/s | speed vs geopandas from lon/lat |\n")
    out.write("|---|---:|---|---:|---:|\n")
    for row in rows:
        pps = f"{row.points / row.median:,.0f}" if row.points else ""
        ratio = f"{reference.median / row.median:.2f}×" if row.points and "load" not in row.name else ""
        runs = ", ".join(f"{t:.3f}" for t in row.times)
        out.write(f"| {row.name} | {row.median:.3f} | {runs} | {pps} | {ratio} |\n")
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--cells", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20240611)
    parser.add_argument("--outside-share", type=float, default=0.05, help="share of points outside the grid")
    parser.add_argument("--raster-cells", type=int, default=4_000_000, help="civicgrid pre-index size")
    parser.add_argument("--postgis-url", default=None, help="psycopg URL of the civicgrid_bench database")
    parser.add_argument("--skip-experiments", action="store_true", help="skip the threads/process-pool runs")
    parser.add_argument("--output", type=Path, default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)

    started = dt.datetime.now(dt.UTC)
    machine_info = machine()
    print(f"generating {args.cells:,} polygons and {args.points:,} points (seed {args.seed}) ...")
    geoms, codes = make_grid(args.cells, args.seed)
    xs, ys = make_points(args.points, geoms, args.seed, args.outside_share)
    polygons = [GridPolygon(k + 1, code, DEPTH, g) for k, (code, g) in enumerate(zip(codes, geoms, strict=True))]
    node_ids = np.array([p.node_id for p in polygons])

    print("civicgrid ...")
    rows, results = run_civicgrid(polygons, geoms, xs, ys, args.repeat, args.raster_cells)
    reference = results["STRtree plain"].node_ids
    print("geopandas ...")
    gpd_rows, gpd_chosen = run_geopandas(polygons, geoms, xs, ys, args.repeat)
    rows += gpd_rows
    assignments: dict[str, IntArray] = {name: r.node_ids for name, r in results.items()}
    assignments["geopandas"] = gpd_chosen
    postgis_info: dict[str, Any] = {"skipped": "no --postgis-url given"}
    if args.postgis_url:
        print("PostGIS ...")
        pg_rows, pg_chosen, postgis_info = run_postgis(args.postgis_url, polygons, geoms, xs, ys, args.repeat)
        rows += pg_rows
        if pg_chosen is not None:
            assignments["postgis"] = pg_chosen
    else:
        print("PostGIS skipped: no --postgis-url given")
    if not args.skip_experiments:
        print("experiments ...")
        exp_rows, exp_out = run_experiments(polygons, geoms, xs, ys, args.repeat)
        rows += exp_rows
        assignments.update({f"experiment {k}": v for k, v in exp_out.items()})

    mismatches = {name: int((chosen != reference).sum()) for name, chosen in assignments.items()}
    plain_near = results["STRtree nearest"]
    raster_near = next(r for n, r in results.items() if n.startswith("raster") and n.endswith("nearest"))
    mismatches["nearest ids STRtree vs raster"] = int(
        (plain_near.nearest_node_ids != raster_near.nearest_node_ids).sum()
    )
    mismatches["distances STRtree vs raster"] = int(
        (~np.isclose(plain_near.distance_m, raster_near.distance_m, rtol=0, atol=0, equal_nan=True)).sum()
    )
    print("mismatches vs civicgrid STRtree (must all be 0):")
    for name, count in mismatches.items():
        print(f"  {name}: {count}")

    on_vertex_matches = int(results["STRtree plain"].on_boundary.sum())
    data = {
        "polygons": len(geoms),
        "mean_vertices_per_polygon": float(shapely.get_num_coordinates(geoms).mean()),
        "points": len(xs),
        "points_inside": int((reference >= 0).sum()),
        "points_outside": int((reference < 0).sum()),
        "points_on_a_boundary": on_vertex_matches,
        "bbox": box_bounds(),
        "distinct_cells_hit": int(np.unique(reference[reference >= 0]).size),
    }
    assert set(np.unique(reference[reference >= 0])) <= set(node_ids.tolist())
    reference_row = next(r for r in rows if r.name.startswith("geopandas from lon/lat"))
    table = markdown(rows, reference_row)
    print()
    print(table)
    report = {
        "started_utc": started.isoformat(timespec="seconds"),
        "params": vars(args) | {"output": str(args.output) if args.output else None},
        "machine": machine_info | {"load_avg_at_end": os.getloadavg()},
        "versions": versions(),
        "postgis": postgis_info,
        "data": data,
        "results": [row.as_dict() for row in rows],
        "reference_for_ratios": reference_row.name,
        "mismatches": mismatches,
        "markdown": table,
    }
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
        print(f"wrote {args.output}")
    return 0 if all(v == 0 for v in mismatches.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
