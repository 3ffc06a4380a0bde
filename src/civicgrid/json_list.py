"""Filters shared by the registry lists, in SQL on both backends so that tens of thousands of rows are not
filtered in Python: ``json_list_has`` (a JSON list column such as tags holds a value) and ``like_pattern`` (a
literal substring for LIKE)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import String, bindparam
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import coercions, roles, sqltypes
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal


def like_pattern(text: str) -> str:
    """``text`` anywhere, for ``LIKE … ESCAPE '/'``: its own ``%`` and ``_`` are taken literally."""
    return "%" + text.strip().replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"


def json_list_has(column: Any, value: str) -> ColumnElement[bool]:
    return _JsonListHas(column, value)


class _JsonListHas(ColumnElement[bool]):
    __visit_name__ = "json_list_has"
    inherit_cache = True
    type = sqltypes.BOOLEANTYPE
    _is_implicitly_boolean = True
    _traverse_internals = [  # noqa: RUF012 (SQLAlchemy reads this class attribute; never mutated)
        ("column", InternalTraversal.dp_clauseelement),
        ("value", InternalTraversal.dp_clauseelement),
        ("as_list", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: Any, value: str) -> None:
        self.column: ColumnElement[Any] = coercions.expect(roles.ExpressionElementRole, column)
        self.value: BindParameter[str] = bindparam(None, value, type_=String())
        self.as_list: BindParameter[str] = bindparam(None, json.dumps([value]), type_=String())


@compiles(_JsonListHas, "sqlite")
def _with_json_each(element: _JsonListHas, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    value = compiler.process(element.value, **kw)
    return f"EXISTS (SELECT 1 FROM json_each({column}) WHERE json_each.value = {value})"


@compiles(_JsonListHas, "postgresql")
def _with_containment(element: _JsonListHas, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    as_list = compiler.process(element.as_list, **kw)
    return f"({column} @> CAST({as_list} AS JSONB))"
