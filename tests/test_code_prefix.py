"""code_starts_with: a grid-code subtree as an index range on SQLite, an escaped LIKE on PostgreSQL — the same
rows as Python's str.startswith on both, LIKE's metacharacters and NULL included."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from civicgrid.cases.models import Case
from civicgrid.code_prefix import code_starts_with, like_pattern, upper_bound
from civicgrid.grid.models import GridNode

CODES = (
    "37", "3702", "370215", "370215002", "370215002009001", "370216", "3703", "3781", "4",
    "37%1", "37%", "37_1", "3701_", "37/x", "37//", "37\\1", "3\U0010ffff", "3\U0010ffff1", "3\ue000",
)  # fmt: skip
PREFIXES = ("37", "3702", "370215", "370215002009001", "37%", "37_", "3701_", "37/", "37\\", "3\U0010ffff", "9", "")


@pytest.fixture
def coded(session: Session) -> Session:
    for number, code in enumerate(CODES):
        district = None if number % 4 == 0 else code[:6]  # a nullable column as well
        session.add(GridNode(code=code, name=f"节点{number}", level="unit", depth=0, district_code=district))
    session.flush()
    return session


@pytest.mark.parametrize("prefix", PREFIXES)
def test_it_matches_exactly_what_startswith_matches(coded: Session, prefix: str) -> None:
    matched = set(coded.execute(select(GridNode.code).where(code_starts_with(GridNode.code, prefix))).scalars())
    assert matched == {code for code in CODES if code.startswith(prefix)}
    others = set(coded.execute(select(GridNode.code).where(~code_starts_with(GridNode.code, prefix))).scalars())
    assert others == {code for code in CODES if not code.startswith(prefix)}


@pytest.mark.parametrize("prefix", ["37", "37%", "3701_", ""])
def test_null_starts_with_nothing_and_its_negation_is_not_true_either(coded: Session, prefix: str) -> None:
    rows = coded.execute(select(GridNode.code, GridNode.district_code)).all()
    matched = set(
        coded.execute(select(GridNode.code).where(code_starts_with(GridNode.district_code, prefix))).scalars()
    )
    assert matched == {code for code, district in rows if district is not None and district.startswith(prefix)}
    negated = set(
        coded.execute(select(GridNode.code).where(~code_starts_with(GridNode.district_code, prefix))).scalars()
    )
    assert negated == {code for code, district in rows if district is not None and not district.startswith(prefix)}


def test_one_cached_statement_serves_every_prefix(coded: Session) -> None:
    def subtree(prefix: str) -> list[str]:
        stmt = select(GridNode.code).where(code_starts_with(GridNode.code, prefix)).order_by(GridNode.code)
        return list(coded.execute(stmt).scalars())

    assert subtree("370215") == ["370215", "370215002", "370215002009001"]
    assert subtree("37%") == ["37%", "37%1"]  # the same compiled statement, new parameters
    assert subtree("3701_") == ["3701_"]


def test_sqlite_gets_a_range_and_postgresql_an_escaped_like() -> None:
    condition = code_starts_with(Case.scope_code, "37_%")
    on_sqlite = str(select(Case.id).where(condition).compile(dialect=sqlite.dialect()))
    assert '"case".scope_code >= ? AND "case".scope_code < ?' in on_sqlite and "LIKE" not in on_sqlite
    on_postgresql = select(Case.id).where(condition).compile(dialect=postgresql.dialect())
    assert "LIKE" in str(on_postgresql) and "ESCAPE '/'" in str(on_postgresql)
    assert "37/_/%%" in on_postgresql.params.values()


def test_sqlite_answers_a_subtree_from_the_index(session: Session) -> None:
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("the query plan is SQLite's")
    compiled = select(Case.id).where(code_starts_with(Case.scope_code, "370215002")).compile(session.get_bind())
    parameters = tuple(compiled.params[name] for name in compiled.positiontup or ())
    plan = session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", parameters).all()
    assert any("INDEX ix_case_scope_code (scope_code>? AND scope_code<?)" in row[-1] for row in plan), plan


def test_the_upper_bound_is_the_least_string_above_the_subtree() -> None:
    assert upper_bound("370215") == "370216"
    assert upper_bound("37%") == "37&"
    assert upper_bound("3\U0010ffff") == "4"
    assert upper_bound("\ud7ff") == "\ue000"  # past the surrogates, which are not characters
    assert upper_bound("\U0010ffff") is None and upper_bound("") is None


def test_like_patterns_escape_the_metacharacters_and_the_escape() -> None:
    assert like_pattern("37") == "37%"
    assert like_pattern("3/7%_") == "3//7/%/_%"
