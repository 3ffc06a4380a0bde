"""`civicgrid case …`, `civicgrid tick`: the case engine from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import select

from civicgrid.cases import queries
from civicgrid.cases.actions import ActionInput, perform
from civicgrid.cases.attachments import Upload
from civicgrid.cases.defaults import install_defaults
from civicgrid.cases.hotline_import import HotlineImportResult, import_hotline_file, parse_mapping
from civicgrid.cases.intake import IntakeRequest, intake
from civicgrid.cases.models import Channel, Rating
from civicgrid.cases.routing import create_rule, list_rules
from civicgrid.cases.taxonomy import list_categories
from civicgrid.cases.taxonomy_import import import_categories_file
from civicgrid.cases.tick import tick
from civicgrid.cases.views import case_view, event_view
from civicgrid.cases.workflow import Action
from civicgrid.cli.common import (
    EXIT_REJECTED,
    AsUser,
    acting_as,
    console,
    handle_errors,
    migrated_engine,
    operator,
    print_report,
    unit_of_work,
)
from civicgrid.db import make_session_factory
from civicgrid.kpi.rollup import refresh
from civicgrid.org.models import Department
from civicgrid.settings import get_settings

app = typer.Typer(help="案件：受理、办理、查询、导入", no_args_is_help=True)
categories_app = typer.Typer(help="案件类别（大类/小类）与时限", no_args_is_help=True)
rules_app = typer.Typer(help="派遣规则（类别 + 网格 + 关键词 → 主办/协办部门）", no_args_is_help=True)
app.add_typer(categories_app, name="categories")
app.add_typer(rules_app, name="rules")


@app.command("defaults")
@handle_errors
def defaults() -> None:
    """安装内置案件类型与街道默认类别（可重复运行，不改已有编码）。"""
    with unit_of_work() as session:
        report = install_defaults(session, operator())
    console.print(f"[green]{report.summary()}[/]")


@app.command("intake")
@handle_errors
def intake_command(
    channel: Annotated[Channel, typer.Option(help="渠道")],
    title: Annotated[str, typer.Option(help="标题")] = "",
    description: Annotated[str, typer.Option(help="描述")] = "",
    category: Annotated[str | None, typer.Option(help="类别代码")] = None,
    lon: Annotated[float | None, typer.Option(help="经度")] = None,
    lat: Annotated[float | None, typer.Option(help="纬度")] = None,
    crs: Annotated[str | None, typer.Option(help="坐标系 wgs84|gcj02|bd09")] = None,
    address: Annotated[str | None, typer.Option(help="地址")] = None,
    reporter_name: Annotated[str | None, typer.Option(help="反映人")] = None,
    reporter_phone: Annotated[str | None, typer.Option(help="联系电话")] = None,
    source_id: Annotated[str | None, typer.Option(help="来源系统编号（同渠道幂等）")] = None,
    extra: Annotated[str | None, typer.Option(help="扩展字段 JSON")] = None,
    photo: Annotated[list[Path] | None, typer.Option(exists=True, dir_okay=False, help="照片，可重复")] = None,
    as_user: AsUser = None,
) -> None:
    """受理一件案件。同一渠道同一来源编号重复提交不会生成第二件。"""
    with unit_of_work() as session:
        actor = acting_as(session, as_user)
        result = intake(
            session,
            actor,
            IntakeRequest(
                channel=channel,
                title=title,
                description=description,
                category_code=category,
                lon=lon,
                lat=lat,
                crs=crs,
                address=address,
                reporter_name=reporter_name,
                reporter_phone=reporter_phone,
                source_id=source_id,
                extra=json.loads(extra) if extra else {},
                attachments=[Upload(path.name, path.read_bytes()) for path in photo or []],
            ),
        )
        view = case_view(session, actor, result.case)
    verb = "已受理" if result.created else "已存在（未重复受理）"
    console.print(f"[green]{verb}[/] 案件 {view.number}：{view.title}（{view.state_label}，{view.placement_label}）")


@app.command("act")
@handle_errors
def act(
    number: Annotated[str, typer.Argument(help="案件编号")],
    action: Annotated[Action, typer.Argument(help="动作")],
    note: Annotated[str, typer.Option(help="理由或说明")] = "",
    category: Annotated[str | None, typer.Option(help="立案类别")] = None,
    main: Annotated[str | None, typer.Option(help="主办部门代码（默认按派遣规则）")] = None,
    assist: Annotated[list[str] | None, typer.Option(help="协办部门代码，可重复")] = None,
    extension: Annotated[float | None, typer.Option(help="延期时长")] = None,
    extension_unit: Annotated[str, typer.Option(help="hours | days")] = "days",
    master: Annotated[str | None, typer.Option(help="合并到的主案件编号")] = None,
    rating: Annotated[Rating | None, typer.Option(help="评价")] = None,
    lon: Annotated[float | None, typer.Option(help="人工落图：经度")] = None,
    lat: Annotated[float | None, typer.Option(help="人工落图：纬度")] = None,
    crs: Annotated[str | None, typer.Option(help="人工落图：坐标系 wgs84|gcj02|bd09")] = None,
    grid: Annotated[str | None, typer.Option(help="人工落图：直接指定网格代码")] = None,
    expected_version: Annotated[int | None, typer.Option(help="预期版本（防止并发覆盖）")] = None,
    photo: Annotated[list[Path] | None, typer.Option(exists=True, dir_okay=False, help="照片，可重复")] = None,
    as_user: AsUser = None,
) -> None:
    """对案件执行一个办理动作。"""
    with unit_of_work() as session:
        actor = acting_as(session, as_user)
        params = ActionInput(
            note=note,
            expected_version=expected_version,
            category_code=category,
            main_department=main,
            assist_departments=assist,
            extension_value=extension,
            extension_unit=extension_unit,
            master_number=master,
            rating=rating,
            lon=lon,
            lat=lat,
            crs=crs,
            grid_code=grid,
            attachments=[Upload(path.name, path.read_bytes()) for path in photo or []],
        )
        event = perform(session, actor, number, action, params)
        view = case_view(session, actor, queries.get_case(session, actor, number))
    console.print(f"[green]{action.label}[/]：案件 {number} → {view.state_label}（第{event.seq}步）")


@app.command("show")
@handle_errors
def show(number: str, as_user: AsUser = None) -> None:
    """显示案件与全过程记录。"""
    with unit_of_work(write=False) as session:
        actor = acting_as(session, as_user)
        view = case_view(session, actor, queries.get_case(session, actor, number))
        events = [event_view(e) for e in queries.history(session, actor, number)]
    path = " › ".join(ref.name for ref in view.grid_path) or view.placement_label
    console.print(f"[bold]{view.number}[/] {view.title}  [cyan]{view.state_label}[/]  {path}")
    if view.deadline_at:
        flags = "（超期）" if view.overdue else "（临期）" if view.due_soon else ""
        deadline = view.deadline_at.astimezone(ZoneInfo(get_settings().timezone)).strftime("%Y-%m-%d %H:%M")
        console.print(f"处置时限：{deadline}{flags}")
    zone = ZoneInfo(get_settings().timezone)
    table = Table("步", "时间", "操作人", "动作", "状态", "说明")
    for event in events:
        table.add_row(
            str(event.seq),
            event.at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            event.actor,
            event.action,
            f"{event.from_state or ''}→{event.to_state}",
            event.note,
        )
    console.print(table)


@app.command("list")
@handle_errors
def list_command(
    overdue: Annotated[bool, typer.Option(help="只看超期")] = False,
    limit: Annotated[int, typer.Option(help="条数")] = 20,
    as_user: AsUser = None,
) -> None:
    """列出案件（按权限范围）。"""
    with unit_of_work(write=False) as session:
        actor = acting_as(session, as_user)
        cases, total = queries.list_cases(
            session, actor, queries.CaseFilter(overdue=True if overdue else None), limit=limit
        )
        table = Table("编号", "标题", "状态", "渠道", "网格", title=f"共 {total} 件")
        for case in cases:
            view = case_view(session, actor, case)
            table.add_row(view.number, view.title[:30], view.state_label, view.channel_label, case.scope_code)
    console.print(table)


@app.command("import")
@handle_errors
def import_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="热线导出文件（CSV 或 .xlsx）")],
    channel: Annotated[Channel, typer.Option(help="渠道，如 hotline_12345、message_board")],
    mapping: Annotated[
        str, typer.Option("--map", help="列对应关系，如 title=留言主题,description=留言详情,reported_at=留言时间")
    ],
    batch_size: Annotated[int, typer.Option(help="每批行数（每批一个事务，中断后从下一批继续）")] = 500,
    as_user: AsUser = None,
) -> None:
    """批量导入热线工单：有效行生成案件，问题行按行号报告；可重复运行、可断点续导，不会重复生成案件。"""
    column_mapping = parse_mapping(mapping)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with migrated_engine() as db, Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("导入", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        result = import_hotline_file(
            make_session_factory(db, write=True),
            lambda session: acting_as(session, as_user),
            file,
            channel=channel,
            mapping=column_mapping,
            batch_size=batch_size,
            progress=advance,
        )
    _print_hotline_result(result)
    if result.rejected:
        raise typer.Exit(EXIT_REJECTED)


def _print_hotline_result(result: HotlineImportResult) -> None:
    console.print(f"[{'yellow' if result.rejected else 'green'}]{result.summary()}[/]")
    for warning in result.warnings:
        console.print(f"[yellow]提示[/]：{warning}")
    if result.rejected:
        table = Table("行号", "原因", "代码", title="被拒绝的行（其余行已导入）", title_justify="left")
        for row in result.rejected:
            table.add_row(str(row.row), row.reason, row.code)
        console.print(table)


@categories_app.command("import")
@handle_errors
def categories_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="类别表（.xlsx 或 CSV）")],
    keep_good: Annotated[bool, typer.Option("--keep-good", help="有错误时仍导入无误的行（默认全部不导入）")] = False,
) -> None:
    """导入案件类别：每行一个小类，列为 一级分类/二级分类/三级分类…，可选 主办部门、优先级、各环节时限、可自处置。"""
    with unit_of_work() as session:
        report = import_categories_file(session, operator(), file, keep_good=keep_good)
    print_report(report)
    if report.rejected:
        raise typer.Exit(EXIT_REJECTED)


@categories_app.command("list")
@handle_errors
def categories_list() -> None:
    """列出案件类别及处置时限。"""
    with unit_of_work(write=False) as session:
        table = Table("代码", "名称", "默认部门", "优先级", "时限")
        for category in list_categories(session):
            limits = "、".join(f"{stage} {v['value']}{v['unit']}" for stage, v in (category.limits or {}).items())
            indent = "  " * category.depth
            table.add_row(
                category.code,
                indent + category.name,
                category.default_department_code or "",
                str(category.priority),
                limits,
            )
    console.print(table)


@rules_app.command("add")
@handle_errors
def rules_add(
    name: Annotated[str, typer.Argument(help="规则名称")],
    main: Annotated[str, typer.Option(help="主办部门代码")],
    assist: Annotated[list[str] | None, typer.Option(help="协办部门代码，可重复")] = None,
    category: Annotated[str | None, typer.Option(help="类别代码（含其下级）")] = None,
    grid: Annotated[str | None, typer.Option(help="网格代码（含其下级网格）")] = None,
    keyword: Annotated[list[str] | None, typer.Option(help="关键词，可重复（任一出现即匹配）")] = None,
    priority: Annotated[int, typer.Option(help="同样具体时数字小者优先")] = 100,
) -> None:
    """新增一条派遣规则。"""
    with unit_of_work() as session:
        rule = create_rule(
            session,
            operator(),
            name=name,
            main_department_code=main,
            assist_department_codes=assist or [],
            category_code=category,
            grid_code=grid,
            keywords=keyword or [],
            priority=priority,
        )
        rule_id = rule.id
    console.print(f"[green]已新增派遣规则[/] #{rule_id}：{name}")


@rules_app.command("list")
@handle_errors
def rules_list() -> None:
    """列出派遣规则。"""
    with unit_of_work(write=False) as session:
        codes = {row.id: row.code for row in session.execute(select(Department.id, Department.code))}
        table = Table("#", "名称", "类别", "网格", "关键词", "主办", "协办", "优先")
        for rule in list_rules(session):
            table.add_row(
                str(rule.id),
                rule.name,
                rule.category_code or "全部",
                rule.grid_code or "全部",
                "、".join(rule.keywords or []),
                codes.get(rule.main_department_id, "?"),
                "、".join(codes.get(i, "?") for i in rule.assist_department_ids or []),
                str(rule.priority),
            )
    console.print(table)


def tick_command() -> None:
    """刷新临期/超期标记并写入提醒，再更新统计汇总（serve 中也会定时运行）。"""
    with unit_of_work() as session:
        report = tick(session)
    with unit_of_work() as session:
        rollup_report = refresh(session)
    console.print(f"[green]临期 +{report.became_due_soon}，超期 +{report.became_overdue}；{rollup_report}[/]")
