"""`civicgrid registry …`: the registry of people, houses and units from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from civicgrid.cli.common import EXIT_REJECTED, AsUser, acting_as, console, handle_errors, print_report, unit_of_work
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
