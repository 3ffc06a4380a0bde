"""case outcomes for the KPIs: response deadline and time, handling working minutes, linked

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Plain ALTER TABLE, never a batch "move and copy": on SQLite a batch would drop and recreate "case", and with
# foreign keys on, dropping it deletes every case's history, assignments and attachments (ON DELETE CASCADE).


def upgrade() -> None:
    op.add_column("case", sa.Column("response_due_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("case", sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("case", sa.Column("handle_work_minutes", sa.Integer(), nullable=True))
    op.add_column("case", sa.Column("linked", sa.Boolean(), nullable=False, server_default=sa.false()))
    # What the history already tells: when each case first left 待立案, and which had assisting departments.
    # (The handling minutes need the working calendar; cases handled before this revision have none.)
    op.execute(
        'UPDATE "case" SET responded_at = (SELECT min(e.at) FROM case_event e WHERE e.case_id = "case".id '
        "AND e.from_state = 'reported' AND e.to_state <> 'reported')"
    )
    op.execute(
        'UPDATE "case" SET linked = true WHERE EXISTS (SELECT 1 FROM case_assignment a '
        "WHERE a.case_id = \"case\".id AND a.role = 'assist')"
    )


def downgrade() -> None:
    for column in ("linked", "handle_work_minutes", "responded_at", "response_due_at"):
        op.drop_column("case", column)
