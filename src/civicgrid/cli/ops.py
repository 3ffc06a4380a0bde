"""`civicgrid notify …` and `civicgrid calendar …`: the outbox and the holiday table."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.table import Table

from civicgrid.cli.common import console, handle_errors, migrated_engine, operator, unit_of_work
from civicgrid.db import make_session_factory
from civicgrid.notify import outbox
from civicgrid.notify.adapters import senders_from_settings
from civicgrid.notify.deliver import deliver_due
from civicgrid.notify.models import OutboxStatus
from civicgrid.settings import get_settings
from civicgrid.worktime import service as calendar_service

notify_app = typer.Typer(help="通知：投递、查看、重新排队", no_args_is_help=True)
calendar_app = typer.Typer(help="节假日表：录入、确认年度、查看", no_args_is_help=True)


@notify_app.command("deliver")
@handle_errors
def deliver(batch: Annotated[int, typer.Option(help="本次最多投递条数")] = 100) -> None:
    """投递到期的通知（serve 中也会定时运行）。"""
    settings = get_settings()
    with migrated_engine() as db:
        report = deliver_due(
            make_session_factory(db, write=True),
            senders_from_settings(settings),
            batch=batch,
            max_attempts=settings.notify_max_attempts,
        )
    console.print(
        f"[green]已发送 {len(report.sent)}[/]，待重试 {len(report.retrying)}，[red]已放弃 {len(report.dead)}[/]"
    )
    for channel, count in report.unconfigured.items():
        console.print(f"[yellow]渠道“{channel}”未配置，{count} 条等待中[/]")


@notify_app.command("list")
@handle_errors
def list_messages(
    status: Annotated[OutboxStatus | None, typer.Option(help="状态")] = None,
    limit: Annotated[int, typer.Option(help="条数")] = 30,
) -> None:
    """列出通知（最新在前）。"""
    with unit_of_work(write=False) as session:
        messages = outbox.list_messages(session, status=status, limit=limit)
        counts = outbox.stats(session)
        table = Table("编号", "类型", "渠道", "接收方", "主题", "状态", "次数", "错误", title=str(counts))
        for m in messages:
            table.add_row(
                str(m.id), m.kind, m.channel, m.recipient, m.subject, m.status, str(m.attempts), m.last_error or ""
            )
    console.print(table)


@notify_app.command("requeue")
@handle_errors
def requeue(ids: Annotated[list[int], typer.Argument(help="已放弃的通知编号")]) -> None:
    """把已放弃的通知重新排队。"""
    with unit_of_work() as session:
        done = outbox.requeue(session, ids)
    console.print(f"[green]已重新排队 {len(done)} 条[/]")


@calendar_app.command("set")
@handle_errors
def set_day(
    day: Annotated[dt.datetime, typer.Argument(formats=["%Y-%m-%d"], help="日期 YYYY-MM-DD")],
    name: Annotated[str, typer.Option(help="名称，如“元旦”或“国庆调休上班”")],
    workday: Annotated[bool, typer.Option("--workday/--holiday", help="上班日或放假日")] = False,
) -> None:
    """录入一天的安排（覆盖内置日历）。"""
    with unit_of_work() as session:
        calendar_service.set_day(session, operator(), day.date(), workday, name)
    console.print(f"[green]{day.date()}：{'上班' if workday else '放假'}（{name}）[/]")


@calendar_app.command("confirm")
@handle_errors
def confirm_year(year: int, note: Annotated[str, typer.Option(help="依据，如国务院办公厅通知文号")] = "") -> None:
    """确认某年度的节假日已全部录入（之后该年其余日期按周一至周五上班计算）。"""
    with unit_of_work() as session:
        calendar_service.confirm_year(session, operator(), year, note)
    console.print(f"[green]{year}年度已确认[/]")


@calendar_app.command("status")
@handle_errors
def status(year: int) -> None:
    """显示某年度的状态与已录入的日期。"""
    with unit_of_work(write=False) as session:
        state = calendar_service.year_status(session, year)
        days = calendar_service.list_days(session, year)
        table = Table("日期", "安排", "名称", title=f"{year}年：{state}")
        for day in days:
            table.add_row(day.day.isoformat(), "上班" if day.is_workday else "放假", day.name)
    console.print(table)
