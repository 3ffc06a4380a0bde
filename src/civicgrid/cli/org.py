"""`civicgrid user …` and `civicgrid dept …`."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer
from rich.table import Table
from rich.tree import Tree

from civicgrid.cli.common import console, handle_errors, operator, unit_of_work
from civicgrid.errors import InvalidInputError
from civicgrid.grid.codes import normalise_code
from civicgrid.org import service
from civicgrid.org.models import DepartmentKind
from civicgrid.org.roles import Role, parse_role

user_app = typer.Typer(help="用户：新增、停用、启用、改密码、列表", no_args_is_help=True)
ROLE_HELP = "角色，可重复：" + " ".join(f"{role.value}（{role.label}）" for role in Role)
dept_app = typer.Typer(help="部门：新增、列表（树形）", no_args_is_help=True)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("密码：")
    if getpass.getpass("再次输入密码：") != first:
        raise InvalidInputError("两次输入的密码不一致", code="password_mismatch")
    return first


@user_app.command("add")
@handle_errors
def add_user(
    username: Annotated[str, typer.Argument(help="登录名（小写字母、数字、_ . @ -）")],
    name: Annotated[str, typer.Option("--name", help="姓名")],
    role: Annotated[list[str], typer.Option("--role", help=ROLE_HELP)],
    dept: Annotated[str | None, typer.Option(help="所属部门代码")] = None,
    grid: Annotated[list[str] | None, typer.Option(help="管辖网格代码，可重复")] = None,
    password_stdin: Annotated[bool, typer.Option(help="从标准输入读取密码（脚本用）")] = False,
    no_password: Annotated[bool, typer.Option(help="暂不设密码（账号不能登录）")] = False,
    all_grids: Annotated[bool, typer.Option(help="管辖全部网格（如全区系统管理员）")] = False,
) -> None:
    """新增用户；密码交互输入，不会出现在命令行或日志中。"""
    roles = [parse_role(value) for value in role]
    password = None if no_password else _read_password(password_stdin)
    with unit_of_work() as session:
        user = service.create_user(
            session,
            operator(),
            username=username,
            display_name=name,
            roles=roles,
            password=password,
            department_code=dept,
            grid_codes=[normalise_code(code) for code in grid or []],
            all_grids=all_grids,
        )
        labels = "、".join(r.label for r in sorted(user.roles))
    console.print(f"[green]已创建用户 {user.username}（{user.display_name}，{labels}）[/]")


@user_app.command("disable")
@handle_errors
def disable_user(username: str, reason: Annotated[str, typer.Option(help="停用原因（记入审计日志）")]) -> None:
    """停用用户：不能再登录，历史记录保留。"""
    with unit_of_work() as session:
        service.disable_user(session, operator(), username, reason)
    console.print(f"[green]已停用 {username}[/]")


@user_app.command("enable")
@handle_errors
def enable_user(username: str) -> None:
    """重新启用用户。"""
    with unit_of_work() as session:
        service.enable_user(session, operator(), username)
    console.print(f"[green]已启用 {username}[/]")


@user_app.command("passwd")
@handle_errors
def set_password(
    username: str,
    password_stdin: Annotated[bool, typer.Option(help="从标准输入读取密码")] = False,
) -> None:
    """重置用户密码。"""
    password = _read_password(password_stdin)
    with unit_of_work() as session:
        service.set_password(session, operator(), username, password)
    console.print(f"[green]已重置 {username} 的密码[/]")


@user_app.command("list")
@handle_errors
def list_users() -> None:
    """列出用户。"""
    with unit_of_work(write=False) as session:
        users = service.list_users(session, operator())
        table = Table("用户名", "姓名", "角色", "部门", "状态")
        for user in users:
            table.add_row(
                user.username,
                user.display_name,
                "、".join(role.label for role in sorted(user.roles)),
                user.department.name if user.department else "",
                "正常" if user.is_active else f"[red]停用[/]（{user.disabled_reason}）",
            )
    console.print(table)


@dept_app.command("add")
@handle_errors
def add_department(
    code: Annotated[str, typer.Argument(help="部门代码，如 CGJ")],
    name: Annotated[str, typer.Option("--name", help="部门名称，如 区城市管理局")],
    kind: Annotated[DepartmentKind, typer.Option(help="类型")] = DepartmentKind.DISTRICT_BUREAU,
    parent: Annotated[str | None, typer.Option(help="上级部门代码")] = None,
    grid: Annotated[str | None, typer.Option(help="所属网格代码（如街道科室属于该街道）")] = None,
) -> None:
    """新增部门。"""
    with unit_of_work() as session:
        department = service.create_department(
            session, operator(), code=code, name=name, kind=kind, parent_code=parent, grid_code=grid
        )
    console.print(f"[green]已创建部门 {department.code}（{department.name}）[/]")


@dept_app.command("list")
@handle_errors
def list_departments() -> None:
    """以树形列出部门。"""
    with unit_of_work(write=False) as session:
        departments = service.list_departments(session, operator())
        branches: dict[int, Tree] = {}
        root = Tree("部门")
        for department in sorted(departments, key=lambda d: (d.parent_id is not None, d.code)):
            label = f"{department.name} [dim]{department.code} {DepartmentKind(department.kind).label}[/]"
            parent = branches.get(department.parent_id) if department.parent_id else None
            branches[department.id] = (parent or root).add(label)
    console.print(root)


@user_app.command("token")
@handle_errors
def create_token(username: str, name: Annotated[str, typer.Option("--name", help="用途，如“12345热线对接”")]) -> None:
    """为用户签发接口令牌（Authorization: Bearer …）。令牌只显示这一次。"""
    with unit_of_work() as session:
        token = service.create_api_token(session, operator(), username, name)
    console.print(f"[green]已签发令牌[/]（只显示一次，请妥善保存）：\n{token}")


@user_app.command("revoke-tokens")
@handle_errors
def revoke_tokens(username: str) -> None:
    """吊销用户的全部接口令牌。"""
    with unit_of_work() as session:
        count = service.revoke_api_tokens(session, operator(), username)
    console.print(f"[green]已吊销 {count} 个令牌[/]")
