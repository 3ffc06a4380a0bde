"""The KPI roll-up: the counters of ``kpi.metrics.Counts`` pre-summed per Beijing month and place (and category, or
main department and channel).

Derived data, rebuilt from the cases at any time (``kpi.rollup``). A month is served from its cells only while it
is *current*: database triggers on ``case`` (migration 0006) count every insert, update and delete into the
month's ``changes``, and a month whose cells were built at a lower count is read from the cases instead.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Column, Index, Integer, SmallInteger, String, Table
from sqlalchemy.orm import Mapped, mapped_column

from civicgrid.db import Base
from civicgrid.kpi.metrics import COUNTER_NAMES


class KpiRollupMonth(Base):
    """One Beijing calendar month's change count and the count its cells were built at."""

    __tablename__ = "kpi_rollup_month"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # '2025-06'
    changes: Mapped[int] = mapped_column(BigInteger, default=0)  # written by the triggers on "case"
    built_changes: Mapped[int | None] = mapped_column(BigInteger)  # None: no cells built yet


CODE_LENGTHS = (6, 9, 12)  # 区县, 乡镇/街道, 村/社区 in the codes of GB/T 2260 and 统计用区划代码
FULL_CODE = 32  # the code_length of uncut cells (scope_code holds at most 32 characters)


def _cells(name: str, *keys: Column[Any]) -> Table:
    return Table(
        name,
        Base.metadata,
        Column("id", Integer, primary_key=True),
        Column("month", String(7), nullable=False),
        Column("code_length", SmallInteger, nullable=False),  # scope_code cut to this many characters
        Column("scope_code", String(32), nullable=False),
        *keys,
        *(Column(counter, BigInteger, nullable=False) for counter in COUNTER_NAMES),
        Index(None, "month", "code_length", "scope_code"),
    )


# Two tables of cells: the counters of the cases reported in one month at one place in one category, and in one
# month at one place with one main department through one channel. Each month is kept at several sizes of place:
# ``scope_code`` cut to the code length of a district, a street, a community (6, 9, 12 characters) and uncut
# (``FULL_CODE``) — a district's dashboard reads a few thousand street-sized cells instead of every unit grid's.
# Core tables: only ever read and written in bulk, the counter columns named after ``Counts``' fields.
place_cell = _cells("kpi_place_cell", Column("category_id", Integer))
flow_cell = _cells("kpi_flow_cell", Column("department_id", Integer), Column("channel", String(24), nullable=False))
CELL_TABLES = (place_cell, flow_cell)
