"""KPI roll-up: counters per month and place (kpi_place_cell by category, kpi_flow_cell by department and channel), each month's change count kept by triggers on "case"
(kpi_rollup_month); an index for 协办 counts and a partial one for the cases still to be answered

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# kpi.metrics.Counts' fields when this revision was written (a later counter comes with its own revision).
COUNTER_NAMES = (
    "received", "duplicates", "registered", "rejected", "dispatched", "linked", "suspended", "closed",
    "closed_on_time", "overdue_now", "ever_overdue", "reworked", "extended", "self_handled", "rated", "satisfied",
    "basically_satisfied", "unsatisfied", "due_to_respond", "responded_on_time", "resolved", "reopened",
    "handle_minutes_total", "handle_minutes_count",
)  # fmt: skip
_SQLITE_MONTH = "strftime('%Y-%m', {row}.reported_at, '+8 hours')"
_POSTGRES_MONTH = "to_char(reported_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM')"


def upgrade() -> None:
    op.create_table(
        "kpi_rollup_month",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("changes", sa.BigInteger(), nullable=False),
        sa.Column("built_changes", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_kpi_rollup_month")),
    )
    _create_cells("kpi_place_cell", sa.Column("category_id", sa.Integer(), nullable=True))
    _create_cells(
        "kpi_flow_cell",
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=24), nullable=False),
    )
    op.create_index(
        op.f("ix_case_assignment_role_case_id_department_id"), "case_assignment", ["role", "case_id", "department_id"]
    )
    unresponded = sa.text("responded_at IS NULL")
    op.create_index(
        op.f("ix_case_unresponded_reported_at"),
        "case",
        ["reported_at"],
        sqlite_where=unresponded,
        postgresql_where=unresponded,
    )
    if _postgres():
        _postgres_triggers()
        month = _POSTGRES_MONTH
    else:
        _sqlite_triggers()
        month = _SQLITE_MONTH.format(row='"case"')
    # Every month that already has cases starts out not built: the scheduler's next run builds it.
    op.execute(f'INSERT INTO kpi_rollup_month (month, changes) SELECT {month}, count(*) FROM "case" GROUP BY 1')


def _create_cells(name: str, *keys: sa.Column[object]) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("code_length", sa.SmallInteger(), nullable=False),
        sa.Column("scope_code", sa.String(length=32), nullable=False),
        *keys,
        *(sa.Column(counter, sa.BigInteger(), nullable=False) for counter in COUNTER_NAMES),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
    )
    op.create_index(op.f(f"ix_{name}_month_code_length_scope_code"), name, ["month", "code_length", "scope_code"])


def _sqlite_triggers() -> None:
    def mark(row: str) -> str:
        return (
            f"INSERT INTO kpi_rollup_month (month, changes) VALUES ({_SQLITE_MONTH.format(row=row)}, 1) "
            "ON CONFLICT (month) DO UPDATE SET changes = changes + 1;"
        )

    op.execute(f'CREATE TRIGGER kpi_case_inserted AFTER INSERT ON "case" BEGIN {mark("NEW")} END')
    op.execute(f'CREATE TRIGGER kpi_case_updated AFTER UPDATE ON "case" BEGIN {mark("NEW")} {mark("OLD")} END')
    op.execute(f'CREATE TRIGGER kpi_case_deleted AFTER DELETE ON "case" BEGIN {mark("OLD")} END')


def _postgres_triggers() -> None:
    # Statement triggers with transition tables: a bulk load (COPY, executemany) marks each month once per
    # statement instead of once per row.
    def mark(rows: str) -> str:
        return (
            f"INSERT INTO kpi_rollup_month (month, changes) SELECT {_POSTGRES_MONTH}, count(*) FROM {rows} "
            "GROUP BY 1 ON CONFLICT (month) DO UPDATE SET changes = kpi_rollup_month.changes + EXCLUDED.changes;"
        )

    op.execute(
        "CREATE FUNCTION kpi_mark_months() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF TG_OP IN ('INSERT', 'UPDATE') THEN {mark('new_rows')} END IF; "
        f"IF TG_OP IN ('UPDATE', 'DELETE') THEN {mark('old_rows')} END IF; "
        "RETURN NULL; END $$"
    )
    for name, event, tables in (
        ("kpi_case_inserted", "INSERT", "NEW TABLE AS new_rows"),
        ("kpi_case_updated", "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
        ("kpi_case_deleted", "DELETE", "OLD TABLE AS old_rows"),
    ):
        op.execute(
            f'CREATE TRIGGER {name} AFTER {event} ON "case" REFERENCING {tables} '
            "FOR EACH STATEMENT EXECUTE FUNCTION kpi_mark_months()"
        )


def downgrade() -> None:
    for name in ("kpi_case_inserted", "kpi_case_updated", "kpi_case_deleted"):
        op.execute(f'DROP TRIGGER IF EXISTS {name} ON "case"' if _postgres() else f"DROP TRIGGER IF EXISTS {name}")
    if _postgres():
        op.execute("DROP FUNCTION IF EXISTS kpi_mark_months()")
    op.drop_index(op.f("ix_case_unresponded_reported_at"), table_name="case")
    op.drop_index(op.f("ix_case_assignment_role_case_id_department_id"), table_name="case_assignment")
    for name in ("kpi_place_cell", "kpi_flow_cell"):
        op.drop_index(op.f(f"ix_{name}_month_code_length_scope_code"), table_name=name)
        op.drop_table(name)
    op.drop_table("kpi_rollup_month")


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"
