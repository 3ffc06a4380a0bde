"""case list indexes: (state, reported_at, id) for a state filter sorted by report time, and
(scope_code, escalation_code, reporter_user_id) for counting what an actor may read

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:

    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_state_reported_at_id"), ["state", "reported_at", "id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_case_scope_code_escalation_code_reporter_user_id"),
            ["scope_code", "escalation_code", "reporter_user_id"],
            unique=False,
        )


def downgrade() -> None:

    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_scope_code_escalation_code_reporter_user_id"))
        batch_op.drop_index(batch_op.f("ix_case_state_reported_at_id"))
