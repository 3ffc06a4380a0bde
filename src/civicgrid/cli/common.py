"""What every CLI command shares: the database, the acting operator, and errors turned into exit codes."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from civicgrid import migrate
from civicgrid.db import make_engine, make_session_factory, transaction
from civicgrid.errors import (
    CivicgridError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    NotMigratedError,
    PermissionDeniedError,
)
from civicgrid.importing import ImportReport
from civicgrid.org.actor import Actor
from civicgrid.org.service import actor_for, get_user
from civicgrid.settings import get_settings

console = Console()
err_console = Console(stderr=True)

EXIT_OK = 0
EXIT_REJECTED = 1  # input refused (in whole or in part); the message says what and where
EXIT_USAGE = 2  # wrong options (Typer's own)
EXIT_NOT_FOUND = 3
EXIT_FORBIDDEN = 4
EXIT_CONFLICT = 5
EXIT_NOT_MIGRATED = 6

_EXIT_CODES: list[tuple[type[CivicgridError], int]] = [
    (NotMigratedError, EXIT_NOT_MIGRATED),
    (NotFoundError, EXIT_NOT_FOUND),
    (PermissionDeniedError, EXIT_FORBIDDEN),
    (ConflictError, EXIT_CONFLICT),
    (InvalidInputError, EXIT_REJECTED),
]

P = ParamSpec("P")
R = TypeVar("R")


def handle_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Print a refusal in Chinese (with its machine code) and exit with the documented code; no traceback."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except CivicgridError as error:
            err_console.print(f"[bold red]错误[/]：{error.message} [dim]({error.code})[/]")
            raise typer.Exit(exit_code_for(error)) from error

    return wrapper


def exit_code_for(error: CivicgridError) -> int:
    return next((code for kind, code in _EXIT_CODES if isinstance(error, kind)), EXIT_REJECTED)


def engine() -> Engine:
    return make_engine(get_settings().effective_database_url)


@contextmanager
def migrated_engine() -> Iterator[Engine]:
    """The configured database, refused unless at the current schema; disposed at the end of the command."""
    db = engine()
    try:
        migrate.ensure_current(db)
        yield db
    finally:
        db.dispose()


@contextmanager
def unit_of_work(*, write: bool = True) -> Iterator[Session]:
    """One transaction for the command, on a database at the current schema. Read-only commands pass
    ``write=False`` so they do not queue behind a long import on SQLite."""
    with migrated_engine() as db, transaction(make_session_factory(db, write=write)) as session:
        yield session


def operator() -> Actor:
    return Actor.system()


AsUser = Annotated[str | None, typer.Option("--as", help="以该用户身份操作（默认：命令行管理员）")]


def acting_as(session: Session, username: str | None) -> Actor:
    """The named user's actor (their roles and scope), or the command-line administrator."""
    return actor_for(session, get_user(session, username)) if username else operator()


def print_report(report: ImportReport) -> None:
    style = "green" if report.ok else ("yellow" if report.applied else "red")
    console.print(f"[{style}]{report.summary()}[/]")
    for warning in report.warnings:
        console.print(f"[yellow]提示[/]：{warning}")
    if report.rejected:
        table = Table("位置", "对象", "原因", "代码", title="被拒绝的项目", title_justify="left")
        unit = "行" if report.item_label == "行" else "个"
        for item in report.rejected:
            table.add_row(f"第{item.index}{unit}", item.ref, item.reason, item.code)
        console.print(table)


def finish_import(report: ImportReport) -> None:
    print_report(report)
    if report.rejected:
        raise typer.Exit(EXIT_REJECTED)
