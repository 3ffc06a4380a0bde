"""`civicgrid registry …`: the registry of people, houses and units from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from civicgrid.cli.common import EXIT_REJECTED, AsUser, acting_as, console, handle_errors, print_report, unit_of_work
from civicgrid.registry.kinds import KINDS, kind_of
from civicgrid.registry.objects_import import import_geojson, import_table, objects_template
from civicgrid.registry.people_import import import_people, people_template
from civicgrid.registry.protect import protector_for
from civicgrid.settings import get_settings
from civicgrid.tables import read_table

app = typer.Typer(help="登记信息：实有人口、房屋、单位", no_args_is_help=True)
people_app = typer.Typer(help="实有人口", no_args_is_help=True)
app.add_typer(people_app, name="people")


@people_app.command("template")
@handle_errors
def people_template_command(
    output: Annotated[Path, typer.Argument(dir_okay=False, help="模板文件（.xlsx）")] = Path("实有人口导入模板.xlsx"),
) -> None:
    """下载实有人口导入模板（中文表头、示例行、下拉选项）。"""
    output.write_bytes(people_template())
    console.print(f"[green]模板已保存：{output}[/]")


@people_app.command("import")
@handle_errors
def people_import_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="按模板填写的 .xlsx 或 CSV")],
    keep_good: Annotated[bool, typer.Option("--keep-good", help="有错误时仍导入无误的行（默认全部不导入）")] = False,
    as_user: AsUser = None,
) -> None:
    """导入实有人口：每个有误的行都列出行号和原因。"""
    protector = protector_for(get_settings())
    with unit_of_work() as session:
        actor = acting_as(session, as_user)
        report = import_people(session, actor, read_table(file), protector, source=file.name, keep_good=keep_good)
    print_report(report)
    if report.rejected:
        raise typer.Exit(EXIT_REJECTED)


objects_app = typer.Typer(help="小区、楼宇、房屋、单位、地块、河道、部件", no_args_is_help=True)
app.add_typer(objects_app, name="objects")
_KIND_HELP = "类别：" + "、".join(f"{kind.key}（{kind.label}）" for kind in KINDS.values())
KindArgument = Annotated[str, typer.Argument(help=_KIND_HELP)]


@objects_app.command("template")
@handle_errors
def objects_template_command(
    kind: KindArgument,
    output: Annotated[Path | None, typer.Argument(dir_okay=False, help="模板文件（.xlsx）")] = None,
) -> None:
    """下载某类登记对象的导入模板（中文表头、示例行、下拉选项）。"""
    target = output or Path(f"{kind_of(kind).label.replace('/', '、')}导入模板.xlsx")
    target.write_bytes(objects_template(kind))
    console.print(f"[green]模板已保存：{target}[/]")


@objects_app.command("import")
@handle_errors
def objects_import_command(
    kind: KindArgument,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="按模板填写的 .xlsx/CSV，或 GeoJSON")],
    crs: Annotated[str, typer.Option("--crs", help="GeoJSON 的坐标系：wgs84 或 gcj02")] = "wgs84",
    keep_good: Annotated[bool, typer.Option("--keep-good", help="有错误时仍导入无误的行（默认全部不导入）")] = False,
    as_user: AsUser = None,
) -> None:
    """导入登记对象：每个有误的行（或要素）都列出编号和原因。"""
    with unit_of_work() as session:
        actor = acting_as(session, as_user)
        if file.suffix.lower() in (".geojson", ".json"):
            raw = file.read_bytes()
            report = import_geojson(session, actor, kind, raw, source=file.name, crs=crs, keep_good=keep_good)
        else:
            report = import_table(session, actor, kind, read_table(file), source=file.name, keep_good=keep_good)
    print_report(report)
    if report.rejected:
        raise typer.Exit(EXIT_REJECTED)
