"""`civicgrid report`: the work report (工作总结) of a grid for a period, as a Word or Markdown file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from civicgrid.cli.common import console, handle_errors, operator, unit_of_work
from civicgrid.errors import InvalidInputError
from civicgrid.kpi.periods import PERIOD_HELP, parse_period
from civicgrid.kpi.recurring import DEFAULT_MIN_CASES
from civicgrid.org.service import actor_for, get_user

if TYPE_CHECKING:
    from civicgrid.reports.service import ReportFormat

# The report pulls in matplotlib and python-docx (half a second): imported when the command runs, not whenever
# the CLI starts.


@handle_errors
def report_command(
    period: Annotated[str, typer.Option(help=f"统计期间。{PERIOD_HELP}")],
    scope: Annotated[str | None, typer.Option(help="网格代码（默认：操作人管辖范围的顶层网格）")] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="docx（Word，含图表）或 md（Markdown，图表存为同名 PNG）")
    ] = None,
    output: Annotated[Path | None, typer.Option(help="输出文件或目录（默认：当前目录，以报告标题命名）")] = None,
    as_user: Annotated[
        str | None, typer.Option("--as", help="以该用户的权限和管辖范围生成（默认：命令行管理员）")
    ] = None,
    min_repeats: Annotated[int, typer.Option(help="“突出问题”：同一网格同类问题达到多少件")] = DEFAULT_MIN_CASES,
    charts: Annotated[bool, typer.Option("--charts/--no-charts", help="是否绘制图表（需要中文字体）")] = True,
) -> None:
    """生成工作总结（总体情况、分类别、分网格、部门考核、超期督办、突出问题，附图表；存在问题、下步打算为系统起草的初稿）。"""
    from civicgrid.reports.service import WorkReportRequest, default_path, work_report, write

    report_format = _format(fmt, output)
    request = WorkReportRequest(parse_period(period), scope, with_charts=charts, min_repeats=min_repeats)
    with unit_of_work(write=False) as session:
        actor = actor_for(session, get_user(session, as_user)) if as_user else operator()
        document = work_report(session, actor, request)
    path = _path(output) or default_path(document, report_format, output or Path.cwd())
    written = write(document, report_format, path)
    console.print(f"[green]已生成工作报告[/]：{written[0]}")
    for extra in written[1:]:
        console.print(f"  图表：{extra}")


def _path(output: Path | None) -> Path | None:
    """The file asked for; None when ``output`` names a directory (existing, or given without an extension)."""
    if output is None or output.is_dir() or not output.suffix:
        return None
    return output


def _format(text: str | None, output: Path | None) -> ReportFormat:
    """--format, or the output file's extension, or Word; a contradiction between the two is refused."""
    from civicgrid.reports.service import ReportFormat, parse_format

    cli_formats = (ReportFormat.DOCX, ReportFormat.MD)
    suffix = output.suffix.lstrip(".").lower() if output is not None and output.suffix else ""
    if text is None:
        return parse_format(suffix, cli_formats) if suffix else ReportFormat.DOCX
    chosen = parse_format(text, cli_formats)
    if suffix and suffix != chosen.value:
        raise InvalidInputError(
            f"输出文件“{output}”的扩展名与格式 {chosen.value} 不符",
            code="format_mismatch",
            detail={"output": str(output)},
        )
    return chosen


kpi_app = typer.Typer(help="统计指标", no_args_is_help=True)


@kpi_app.command("rollup")
@handle_errors
def rollup_command(
    rebuild_all: Annotated[bool, typer.Option("--all", help="全部月份重建（默认只重建有变动的月份）")] = False,
) -> None:
    """更新统计汇总（按月、网格、类别、部门、渠道预先汇总的计数；定时任务也会自动更新）。"""
    from civicgrid.kpi.rollup import refresh

    with unit_of_work() as session:
        report = refresh(session, rebuild_all=rebuild_all)
    console.print(f"[green]{report}[/]")
