"""``code_starts_with(column, prefix)``: "the code is in the subtree of ``prefix``" in SQL, answered from an index.

Grid codes carry their tree (a child's code extends its parent's), so a subtree is a prefix match. Written as
``column LIKE :prefix || '%'``, SQLite never uses an index for it: the pattern is a bound parameter, not a literal,
so the planner cannot see the prefix and reads every row. On SQLite this construct therefore compiles to the range
``column >= :prefix AND column < :upper``, where ``upper`` is the least string above every string that starts
with the prefix. SQLite compares text columns byte by byte (BINARY collation) and UTF-8 byte order is code-point
order, so the range is exact for any prefix — LIKE's ``%`` and ``_`` included — and is a range search on the
column's index.

PostgreSQL (and any other backend) gets ``column LIKE :pattern ESCAPE '/'`` with the metacharacters escaped: a
range would follow the database's collation, under which "starts with" and "sorts between" are not the same thing.

The prefix is a bound parameter in both forms, so a statement built with it is compiled once and cached.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, String, bindparam, false, or_, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql import coercions, roles, sqltypes
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.visitors import InternalTraversal

Code = ColumnElement[str] | ColumnElement[str | None] | QueryableAttribute[str] | QueryableAttribute[str | None]
_LIKE_ESCAPE = "/"
_MAX_CODE_POINT = 0x10FFFF
_SURROGATES = range(0xD800, 0xE000)


def code_starts_with(column: Code, prefix: str) -> ColumnElement[bool]:
    """``column`` starts with ``prefix`` (NULL never does, as with LIKE): a range on SQLite, an escaped LIKE
    elsewhere."""
    upper = upper_bound(prefix)
    if upper is None:  # the empty prefix, or one of nothing but U+10FFFF: no range to search; LIKE is exact
        return column.startswith(prefix, autoescape=True)
    return _CodeStartsWith(column, prefix, upper)


def code_in_subtrees(column: Code, roots: tuple[str, ...]) -> ColumnElement[bool]:
    """``column`` starts with one of ``roots`` — an actor's grid scope: everything for the empty root, nothing for
    none."""
    if "" in roots:
        return true()
    if not roots:
        return false()
    return or_(*(code_starts_with(column, root) for root in roots))


def upper_bound(prefix: str) -> str | None:
    """The least string greater than every string that starts with ``prefix``, in code-point order: the prefix
    without its trailing U+10FFFF characters, its last character raised by one (None when nothing is left)."""
    kept = prefix.rstrip(chr(_MAX_CODE_POINT))
    if not kept:
        return None
    raised = ord(kept[-1]) + 1
    if raised in _SURROGATES:  # not characters: the next one after U+D7FF is U+E000
        raised = _SURROGATES.stop
    return kept[:-1] + chr(raised)


def like_pattern(prefix: str) -> str:
    """``prefix%`` with LIKE's metacharacters (and the escape character itself) escaped."""
    escaped = prefix.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2)
    for metacharacter in ("%", "_"):
        escaped = escaped.replace(metacharacter, _LIKE_ESCAPE + metacharacter)
    return escaped + "%"


class _CodeStartsWith(ColumnElement[bool]):
    __visit_name__ = "code_starts_with"
    inherit_cache = True
    type = sqltypes.BOOLEANTYPE
    _is_implicitly_boolean = True  # a condition in its own right: no "= 1" after it where booleans are integers
    _traverse_internals = [  # noqa: RUF012 (SQLAlchemy reads this class attribute; never mutated)
        ("column", InternalTraversal.dp_clauseelement),
        ("lower", InternalTraversal.dp_clauseelement),
        ("upper", InternalTraversal.dp_clauseelement),
        ("pattern", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: Code, prefix: str, upper: str) -> None:
        self.column: ColumnElement[Any] = coercions.expect(roles.ExpressionElementRole, column)  # ORM → Core
        # Every form's parameters are carried (each dialect renders the ones it needs), so the cache key and the
        # values extracted from a new statement line up whichever backend compiles it.
        self.lower: BindParameter[str] = bindparam(None, prefix, type_=String())
        self.upper: BindParameter[str] = bindparam(None, upper, type_=String())
        self.pattern: BindParameter[str] = bindparam(None, like_pattern(prefix), type_=String())


@compiles(_CodeStartsWith, "sqlite")
def _as_range(element: _CodeStartsWith, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    lower = compiler.process(element.lower, **kw)
    upper = compiler.process(element.upper, **kw)
    return f"({column} >= {lower} AND {column} < {upper})"


@compiles(_CodeStartsWith)
def _as_like(element: _CodeStartsWith, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    pattern = compiler.process(element.pattern, **kw)
    return f"({column} LIKE {pattern} ESCAPE '{_LIKE_ESCAPE}')"
