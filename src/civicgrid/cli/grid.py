"""`civicgrid grid …`: import, generate, check, export, locate and staff the grid."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Annotated

import numpy as np
import numpy.typing as npt
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.tree import Tree

from civicgrid.cli.common import (
    EXIT_REJECTED,
    console,
    finish_import,
    handle_errors,
    operator,
    print_report,
    unit_of_work,
)
from civicgrid.errors import InvalidInputError
from civicgrid.geo.coords import CRS, parse_crs, to_wgs84
from civicgrid.grid import service
from civicgrid.grid.check import check_grid
from civicgrid.grid.codes import GridLevel, normalise_code, parse_level
from civicgrid.grid.export import export_geojson
from civicgrid.grid.generate import DEFAULT_NAME_TEMPLATE, generate_units
from civicgrid.grid.import_boundaries import BoundaryOptions, import_boundaries
from civicgrid.grid.import_table import import_division_table
from civicgrid.grid.index import GridIndex, grid_index, locate
from civicgrid.grid.models import GridDuty
from civicgrid.importing import ImportReport, read_text_file

app = typer.Typer(help="网格：导入、生成、检查、导出、定位与人员分配", no_args_is_help=True)
import_app = typer.Typer(help="导入网格树（区划代码表）或边界（GeoJSON）", no_args_is_help=True)
app.add_typer(import_app, name="import")

CrsOption = Annotated[str, typer.Option("--crs", help="坐标系：wgs84 | gcj02 | bd09（必须声明）")]
KeepGood = Annotated[bool, typer.Option("--keep-good", help="有错误时仍导入无误的部分（默认全部不导入）")]


def _levels(values: list[str] | None) -> list[GridLevel] | None:
    return [parse_level(value) for value in values] if values else None


@import_app.command("table")
@handle_errors
def import_table(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, help="一个或多个 CSV 文件，按顺序导入")],
    root: Annotated[str | None, typer.Option(help="只导入此区划代码之下（含其上级链），如 370215")] = None,
    keep_good: KeepGood = False,
) -> None:
    """从国家统计局区划代码表或网格清单（代码、名称、上级代码、层级）导入网格树。

    多个文件在同一个事务中依次导入：任何一个文件有被拒绝的行时（且未选 --keep-good），全部不写入。
    """
    root_code = normalise_code(root) if root else None
    reports: list[ImportReport] = []
    try:
        with unit_of_work() as session:
            for path in files:
                report = import_division_table(
                    session,
                    operator(),
                    read_text_file(path),
                    source=path.name,
                    root_code=root_code,
                    keep_good=keep_good,
                )
                reports.append(report)
                print_report(report)
            if any(report.rejected for report in reports) and not keep_good:
                raise _NothingWrittenError
    except _NothingWrittenError:
        console.print("[red]有被拒绝的行：所有文件均未写入[/]")
    if any(report.rejected for report in reports):
        raise typer.Exit(EXIT_REJECTED)


class _NothingWrittenError(Exception):
    """Leave the transaction without writing (all files or none)."""


@import_app.command("geojson")
@handle_errors
def import_geojson(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    crs: CrsOption,
    within: Annotated[str | None, typer.Option(help="只匹配此网格之下的节点（含自身）")] = None,
    level: Annotated[str | None, typer.Option(help="只匹配此层级，如 street / 社区 / 网格")] = None,
    code_property: Annotated[str | None, typer.Option(help="代码属性名（默认自动识别 code/adcode/…）")] = None,
    name_property: Annotated[str | None, typer.Option(help="名称属性名（默认自动识别 name/名称/…）")] = None,
    create_missing: Annotated[bool, typer.Option(help="代码未匹配时按代码新建节点（用于网格单元数据）")] = False,
    repair: Annotated[bool, typer.Option(help="对无效几何做安全修复（面积不变时）")] = False,
    keep_good: KeepGood = False,
) -> None:
    """导入边界并按代码或名称匹配到网格节点；报告未匹配的要素和仍缺边界的节点。"""
    options = BoundaryOptions(
        crs=crs,
        within_code=normalise_code(within) if within else None,
        level=parse_level(level) if level else None,
        code_property=code_property,
        name_property=name_property,
        create_missing=create_missing,
        keep_good=keep_good,
        repair=repair,
    )
    with unit_of_work() as session:
        report = import_boundaries(session, operator(), file.read_bytes(), source=file.name, options=options)
    finish_import(report)


@app.command("generate")
@handle_errors
def generate(
    parent: Annotated[str, typer.Argument(help="街道或社区的代码")],
    count: Annotated[int, typer.Option(help="网格单元数量，如 218")],
    name_template: Annotated[str, typer.Option(help="名称模板")] = DEFAULT_NAME_TEMPLATE,
    replace: Annotated[bool, typer.Option(help="替换现有的空网格单元")] = False,
) -> None:
    """把街道或社区的边界划分为面积大致相等的网格单元（按从北到南、从西到东编号）。"""
    with console.status(f"正在划分 {count} 个网格单元…"), unit_of_work() as session:
        created = generate_units(
            session, operator(), normalise_code(parent), count, name_template=name_template, replace=replace
        )
        first, last = created[0].code, created[-1].code
    console.print(f"[green]已生成 {len(created)} 个网格单元：{first} … {last}[/]")


@app.command("check")
@handle_errors
def check(
    root: Annotated[str | None, typer.Option(help="只检查此网格之下")] = None,
    tolerance: Annotated[float, typer.Option(help="容差（米）")] = 5.0,
    fix: Annotated[bool, typer.Option(help="安全修复无效几何并写回")] = False,
) -> None:
    """检查：代码规则、无效几何、超出上级、同级重叠、上级内空隙、缺少边界。"""
    with console.status("正在检查网格…"), unit_of_work(write=fix) as session:
        report = check_grid(session, operator(), normalise_code(root) if root else None, tolerance_m=tolerance, fix=fix)
    table = Table("类型", "网格", "说明", title=f"检查了 {report.nodes_checked} 个节点（容差 {tolerance:g} 米）")
    for issue in report.issues:
        table.add_row(issue.kind.label, f"{issue.name}({issue.code})", issue.message)
    console.print(table if report.issues else f"[green]检查了 {report.nodes_checked} 个节点，未发现问题[/]")
    if report.problems:
        raise typer.Exit(EXIT_REJECTED)


@app.command("export")
@handle_errors
def export(
    output: Annotated[Path, typer.Option("-o", "--output", help="输出文件；- 表示标准输出")] = Path("-"),
    root: Annotated[str | None, typer.Option(help="只导出此网格之下")] = None,
    level: Annotated[list[str] | None, typer.Option(help="只导出这些层级（可重复）")] = None,
    crs: Annotated[str, typer.Option(help="输出坐标系 wgs84 | gcj02 | bd09")] = "wgs84",
) -> None:
    """导出为 GeoJSON（默认 WGS-84）。"""
    with unit_of_work(write=False) as session:
        collection = export_geojson(
            session,
            operator(),
            root_code=normalise_code(root) if root else None,
            levels=_levels(level),
            crs=parse_crs(crs),
        )
    text = json.dumps(collection, ensure_ascii=False)
    if str(output) == "-":
        sys.stdout.write(text + "\n")
        return
    output.write_text(text, encoding="utf-8")
    console.print(f"[green]已导出 {len(collection['features'])} 个网格到 {output}[/]")


@app.command("locate")
@handle_errors
def locate_command(
    lon: Annotated[float | None, typer.Argument(help="经度")] = None,
    lat: Annotated[float | None, typer.Argument(help="纬度")] = None,
    crs: CrsOption = "wgs84",
    input_file: Annotated[Path | None, typer.Option("--input", exists=True, help="批量：含经纬度列的 CSV")] = None,
    output: Annotated[Path | None, typer.Option(help="批量结果 CSV")] = None,
    lon_column: Annotated[str, typer.Option(help="经度列名")] = "lon",
    lat_column: Annotated[str, typer.Option(help="纬度列名")] = "lat",
) -> None:
    """定位：一个点（经度 纬度）或一个 CSV 文件中的所有点，落到最细的网格及其上级。"""
    coordinate_system = parse_crs(crs)
    if input_file is not None:
        if output is None:
            raise InvalidInputError("批量定位需要 --output 指定结果文件", code="output_required")
        _locate_file(input_file, output, coordinate_system, lon_column, lat_column)
        return
    if lon is None or lat is None:
        raise InvalidInputError("请给出经度和纬度，或用 --input 批量定位", code="point_required")
    with unit_of_work(write=False) as session:
        found = locate(session, operator(), lon, lat, coordinate_system)
    if found.node is None:
        nearest = ""
        if found.nearest is not None and found.distance_m is not None:
            nearest = f"最近的网格：{found.nearest.name}({found.nearest.code})，{found.distance_m:,.0f} 米"
        console.print(f"[yellow]该点不在任何网格内[/]（WGS-84 {found.lon:.6f}, {found.lat:.6f}）。{nearest}")
        raise typer.Exit(EXIT_REJECTED)
    path = " › ".join(ref.name for ref in found.path)
    edge = "（位于边界上，按规则归属）" if found.on_boundary else ""
    console.print(f"[green]{found.node.name}[/]（{found.node.code}）{edge}\n{path}")


def _locate_file(source: Path, target: Path, crs: CRS, lon_column: str, lat_column: str) -> None:
    rows = list(csv.DictReader(read_text_file(source).splitlines()))
    if rows and (lon_column not in rows[0] or lat_column not in rows[0]):
        raise InvalidInputError(
            f"找不到经纬度列“{lon_column}”“{lat_column}”，现有列：{', '.join(rows[0])}", code="missing_columns"
        )
    lons, lats, bad = _coordinates(rows, lon_column, lat_column)
    with unit_of_work(write=False) as session:
        index = grid_index(session)
    chunk = 100_000
    node_ids = np.full(len(rows), -1, dtype=np.int64)
    nearest_ids = np.full(len(rows), -1, dtype=np.int64)
    distances = np.full(len(rows), np.nan)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("定位", total=len(rows))
        for start in range(0, len(rows), chunk):
            stop = min(start + chunk, len(rows))
            wgs_lon, wgs_lat = to_wgs84(lons[start:stop], lats[start:stop], crs)
            batch = index.locate_many_wgs84(wgs_lon, wgs_lat)
            node_ids[start:stop], nearest_ids[start:stop] = batch.node_ids, batch.nearest_node_ids
            distances[start:stop] = batch.distance_m
            progress.advance(task, stop - start)
    _write_located(target, rows, index, node_ids, nearest_ids, distances, bad)
    outside = int(np.sum(node_ids < 0)) - len(bad)
    console.print(f"[green]已定位 {len(rows)} 个点[/]：网格外 {outside} 个，坐标无效 {len(bad)} 个 → {target}")


def _coordinates(
    rows: list[dict[str, str]], lon_column: str, lat_column: str
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], set[int]]:
    """Parse the columns; unreadable or out-of-range values become NaN and are listed (kept, not dropped)."""
    lons = np.array([_number(row.get(lon_column)) for row in rows], dtype=np.float64)
    lats = np.array([_number(row.get(lat_column)) for row in rows], dtype=np.float64)
    invalid = ~np.isfinite(lons) | ~np.isfinite(lats) | (np.abs(lons) > 180) | (np.abs(lats) > 90)
    lons[invalid] = np.nan
    lats[invalid] = np.nan
    return lons, lats, set(np.flatnonzero(invalid).tolist())


def _number(value: str | None) -> float:
    try:
        return float(value) if value else float("nan")
    except ValueError:
        return float("nan")


def _write_located(
    target: Path,
    rows: list[dict[str, str]],
    index: GridIndex,
    node_ids: npt.NDArray[np.int64],
    nearest_ids: npt.NDArray[np.int64],
    distances: npt.NDArray[np.float64],
    bad: set[int],
) -> None:
    extra = ["grid_code", "grid_name", "grid_path", "status", "nearest_code", "distance_m"]
    with target.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*rows[0].keys(), *extra] if rows else extra)
        writer.writeheader()
        for i, row in enumerate(rows):
            node_id, nearest_id = int(node_ids[i]), int(nearest_ids[i])
            path = index.path(node_id) if node_id >= 0 else ()
            status = "坐标无效" if i in bad else ("已定位" if node_id >= 0 else "网格外，待人工落图")
            writer.writerow(
                {
                    **row,
                    "grid_code": path[-1].code if path else "",
                    "grid_name": path[-1].name if path else "",
                    "grid_path": " › ".join(ref.name for ref in path),
                    "status": status,
                    "nearest_code": index.refs[nearest_id].code if nearest_id >= 0 else "",
                    "distance_m": f"{distances[i]:.1f}" if nearest_id >= 0 else "",
                }
            )


@app.command("tree")
@handle_errors
def tree(
    root: Annotated[str | None, typer.Option(help="从此网格开始")] = None,
    depth: Annotated[int, typer.Option(help="显示几层")] = 3,
) -> None:
    """以树形显示网格（含是否有边界、人员数）。"""
    with unit_of_work(write=False) as session:
        nodes = service.list_nodes(session, operator(), root_code=normalise_code(root) if root else None)
    if not nodes:
        console.print("[yellow]还没有网格：先运行 civicgrid grid import table …[/]")
        return
    top_depth = min(node.depth for node in nodes)
    branches: dict[int, Tree] = {}
    roots: list[Tree] = []
    for node in nodes:
        if node.depth - top_depth >= depth:
            continue
        mark = "" if node.has_geometry else " [dim](无边界)[/]"
        label = f"{node.name} [dim]{node.code} {node.grid_level.label}[/]{mark}"
        parent_branch = branches.get(node.parent_id) if node.parent_id else None
        branch = parent_branch.add(label) if parent_branch else Tree(label)
        if parent_branch is None:
            roots.append(branch)
        branches[node.id] = branch
    for branch in roots:
        console.print(branch)


@app.command("assign")
@handle_errors
def assign(
    code: Annotated[str, typer.Argument(help="网格代码")],
    username: Annotated[str, typer.Argument(help="用户名")],
    duty: Annotated[GridDuty, typer.Option(help="职责")] = GridDuty.GRID_WORKER,
) -> None:
    """把人员分配到网格（网格员、网格长或下沉干部）。"""
    with unit_of_work() as session:
        service.assign(session, operator(), normalise_code(code), username, duty)
    console.print(f"[green]已将 {username} 分配到 {code}（{duty.label}）[/]")


@app.command("unassign")
@handle_errors
def unassign(code: str, username: str) -> None:
    """撤销人员在网格上的分配。"""
    with unit_of_work() as session:
        removed = service.unassign(session, operator(), normalise_code(code), username)
    if not removed:
        raise InvalidInputError(f"{username} 没有分配在 {code}", code="not_assigned")
    console.print(f"[green]已撤销 {removed} 项分配[/]")
