"""The `civicgrid` command."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from civicgrid import migrate
from civicgrid.cli import cases, grid, ops, org, registry, report
from civicgrid.cli.common import console, engine, handle_errors, unit_of_work
from civicgrid.errors import ConflictError
from civicgrid.settings import get_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from civicgrid.demo.history import HistoryOptions

app = typer.Typer(help="civicgrid 网格化基层治理平台", no_args_is_help=True, pretty_exceptions_show_locals=False)
db_app = typer.Typer(help="数据库结构迁移", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(grid.app, name="grid")
app.add_typer(org.user_app, name="user")
app.add_typer(org.dept_app, name="dept")
app.add_typer(cases.app, name="case")
app.command("tick")(handle_errors(cases.tick_command))
app.add_typer(ops.notify_app, name="notify")
app.add_typer(ops.calendar_app, name="calendar")
app.command("report")(report.report_command)
app.add_typer(report.kpi_app, name="kpi")
app.add_typer(registry.app, name="registry")


@db_app.command("upgrade")
@handle_errors
def db_upgrade(revision: Annotated[str, typer.Argument(help="目标版本")] = "head") -> None:
    """把数据库结构升级到最新（或指定）版本。"""
    db = engine()
    try:
        before = migrate.current_revision(db)
        migrate.upgrade(db, revision)
        after = migrate.current_revision(db)
    finally:
        db.dispose()
    url = db.url.render_as_string(hide_password=True)
    console.print(f"[green]数据库 {url}：{before or '（空）'} → {after}[/]")


@db_app.command("current")
@handle_errors
def db_current() -> None:
    """显示数据库结构版本。"""
    db = engine()
    try:
        current = migrate.current_revision(db)
    finally:
        db.dispose()
    head = migrate.head_revision()
    state = "[green]最新[/]" if current == head else f"[yellow]落后，最新为 {head}[/]"
    console.print(f"{current or '（空）'} {state}")


@app.command("serve")
@handle_errors
def serve(
    host: Annotated[str | None, typer.Option(help="监听地址")] = None,
    port: Annotated[int | None, typer.Option(help="端口")] = None,
) -> None:
    """启动 Web 服务。"""
    import uvicorn

    from civicgrid.app import create_app

    settings = get_settings()
    app = create_app(settings)  # refuses an unmigrated database, naming the command that fixes it
    where_host, where_port = host or settings.host, port or settings.port
    console.print(f"civicgrid 正在 http://{where_host}:{where_port} 运行（Ctrl+C 停止）")
    uvicorn.run(app, host=where_host, port=where_port, log_level="info")


demo_app = typer.Typer(help="演示数据：演示辖区与历史案件")
app.add_typer(demo_app, name="demo")


@demo_app.callback(invoke_without_command=True)
@handle_errors
def demo(
    ctx: typer.Context,
    reset: Annotated[bool, typer.Option(help="清空后重建（仅限演示库）")] = False,
    if_empty: Annotated[bool, typer.Option(help="已有数据时跳过（make demo 用）")] = False,
    history: Annotated[int, typer.Option(help="同时生成近一年的历史案件数（0 为不生成）")] = 0,
    registry: Annotated[int, typer.Option(help="同时生成登记信息，约多少实有人口（0 为不生成）")] = 0,
) -> None:
    """生成演示辖区：街道、社区/村、218 个网格单元、部门、每个角色一个演示账号；子命令 history 追加历史案件。"""
    from civicgrid.demo.district import build_demo, demo_logins, has_data, reset_database
    from civicgrid.demo.history import HistoryOptions

    if ctx.invoked_subcommand is not None:
        return
    if reset:
        reset_database(engine())
    with unit_of_work() as session:
        if has_data(session):
            if if_empty:
                console.print("[dim]数据库已有数据，跳过演示数据生成[/]")
                _print_logins(demo_logins())
                return
            raise ConflictError("数据库已有数据：如需重建演示数据请加 --reset", code="not_empty")
        summary = build_demo(session, progress=console)
        if history:
            _load_history(session, HistoryOptions(cases=history))
        if registry:
            _load_registry(session, registry)
    console.print(f"[green]演示辖区已生成[/]：{summary}")
    _print_logins(demo_logins())


@demo_app.command("history")
@handle_errors
def demo_history(
    cases: Annotated[int, typer.Option(help="案件数")] = 6000,
    start: Annotated[dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="起始日期（默认一年前）")] = None,
    end: Annotated[dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="结束日期（默认今天）")] = None,
    seed: Annotated[int, typer.Option(help="随机种子（相同种子、日期范围得到相同案件）")] = 20261124,
    events: Annotated[bool, typer.Option(help="写入办理记录（百万级压测库可关闭）")] = True,
    grid: Annotated[str, typer.Option(help="案件所在网格（其下各网格）")] = "370299001",
    batch_size: Annotated[int, typer.Option(help="每批写入行数")] = 20_000,
) -> None:
    """在演示辖区中追加一段时间的历史案件（集合化批量写入，不经逐件受理）。"""
    from civicgrid.demo.history import HistoryOptions

    first, last = (moment.date() if moment else None for moment in (start, end))
    options = HistoryOptions(cases, first, last, seed=seed, events=events, batch_size=batch_size, grid_code=grid)
    with unit_of_work() as session:
        _load_history(session, options)


def _load_history(session: Session, options: HistoryOptions) -> None:
    from civicgrid.demo.history import generate_history
    from civicgrid.kpi.rollup import refresh

    console.print(f"生成{options.cases}件历史案件…")
    result = generate_history(session, options, progress=lambda done, total: console.print(f"  {done}/{total}"))
    console.print(f"[green]历史案件已生成[/]：{result.summary()}")
    console.print(f"[green]{refresh(session)}[/]")


@demo_app.command("registry")
@handle_errors
def demo_registry(
    residents: Annotated[int, typer.Option(help="约多少实有人口（其余按第004号报告的比例）")] = 109_863,
    seed: Annotated[int, typer.Option(help="随机种子")] = 20041231,
) -> None:
    """为海川街道生成登记信息：小区、楼宇、房屋、住户与人口、单位/企业、地块、河道、部件（集合化批量写入）。"""
    with unit_of_work() as session:
        _load_registry(session, residents, seed)


def _load_registry(session: Session, residents: int, seed: int | None = None) -> None:
    from civicgrid.demo.registry import RegistryOptions, generate_registry
    from civicgrid.registry.protect import protector_for

    options = RegistryOptions(residents=residents) if seed is None else RegistryOptions(residents, seed)
    console.print(f"生成登记信息（约{residents}名实有人口）…")
    result = generate_registry(session, protector_for(get_settings()), options, progress=console.print)
    console.print(f"[green]登记信息已生成[/]：{result.summary()}")
    from civicgrid.demo.campaign import start_campaign

    console.print("发起入户大走访并生成部分走访记录…")
    console.print(f"[green]摸排任务已生成[/]：{start_campaign(session, get_settings())}")


def _print_logins(logins: list[tuple[str, str, str]]) -> None:
    table = Table("角色", "用户名", "密码", title="演示账号（仅用于演示库）")
    for role, username, password in logins:
        table.add_row(role, username, password)
    console.print(table)


def main() -> None:
    app()
