"""SQL the two backends spell differently: the Beijing calendar month or day of a UTC timestamp."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class _BeijingBucket(FunctionElement[str]):
    """The Beijing calendar bucket of a UTC timestamp as text. Beijing keeps UTC+8 all year. One class per
    bucket size: the size is part of the SQL text, so it must be part of the statement cache key too."""

    type = String()
    inherit_cache = True
    sqlite_format = ""
    postgres_format = ""


class beijing_month(_BeijingBucket):  # noqa: N801 - a SQL function, named like one
    """'2025-06'."""

    inherit_cache = True
    name = "beijing_month"
    sqlite_format = "%Y-%m"
    postgres_format = "YYYY-MM"


class beijing_day(_BeijingBucket):  # noqa: N801 - a SQL function, named like one
    """'2025-06-15'."""

    inherit_cache = True
    name = "beijing_day"
    sqlite_format = "%Y-%m-%d"
    postgres_format = "YYYY-MM-DD"


@compiles(_BeijingBucket, "sqlite")
def _sqlite(element: _BeijingBucket, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"strftime('{element.sqlite_format}', {column}, '+8 hours')"


@compiles(_BeijingBucket, "postgresql")
def _postgresql(element: _BeijingBucket, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"to_char({column} AT TIME ZONE 'Asia/Shanghai', '{element.postgres_format}')"
