"""campaigns: door-to-door 摸排/排查/走访 over the registry — campaigns, tasks per grid, targets, submissions

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "campaign",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("verb", sa.String(length=8), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=True),
        sa.Column("target_kind", sa.String(length=32), nullable=False),
        sa.Column("target_filter", JSON, nullable=False),
        sa.Column("scope_code", sa.String(length=32), nullable=False),
        sa.Column("questions", JSON, nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("target_count", sa.Integer(), nullable=False),
        sa.Column("created_by_label", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("state IN ('open', 'closed')", name=op.f("ck_campaign_state_known")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign")),
    )
    op.create_index(op.f("ix_campaign_scope_code"), "campaign", ["scope_code"])

    op.create_table(
        "campaign_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("grid_code", sa.String(length=32), nullable=False),
        sa.Column("grid_name", sa.String(length=200), nullable=False),
        sa.Column("assignee_ids", JSON, nullable=False),
        sa.Column("target_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_campaign_task_campaign_id_campaign"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_task")),
        sa.UniqueConstraint("campaign_id", "grid_code", name=op.f("uq_campaign_task_campaign_id_grid_code")),
    )
    op.create_table(
        "campaign_target",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("object_type", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=False),
        sa.Column("scope_code", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_campaign_target_campaign_id_campaign"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["done_by_user_id"],
            ["app_user.id"],
            name=op.f("fk_campaign_target_done_by_user_id_app_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["campaign_task.id"], name=op.f("fk_campaign_target_task_id_campaign_task"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_target")),
        sa.UniqueConstraint(
            "campaign_id", "object_type", "object_id", name=op.f("uq_campaign_target_campaign_id_object_type_object_id")
        ),
    )
    op.create_index(
        op.f("ix_campaign_target_campaign_id_task_id_done_at"), "campaign_target", ["campaign_id", "task_id", "done_at"]
    )

    op.create_table(
        "campaign_submission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("client_submission_id", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("answers", JSON, nullable=False),
        sa.Column("case_numbers", JSON, nullable=False),
        sa.Column("submitted_by_user_id", sa.Integer(), nullable=True),
        sa.Column("submitted_by_label", sa.String(length=200), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("outcome IN ('visited', 'not_reached')", name=op.f("ck_campaign_submission_outcome_known")),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_campaign_submission_campaign_id_campaign"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by_user_id"],
            ["app_user.id"],
            name=op.f("fk_campaign_submission_submitted_by_user_id_app_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["campaign_target.id"],
            name=op.f("fk_campaign_submission_target_id_campaign_target"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_submission")),
        sa.UniqueConstraint(
            "campaign_id", "client_submission_id", name=op.f("uq_campaign_submission_campaign_id_client_submission_id")
        ),
    )
    op.create_index(op.f("ix_campaign_submission_target_id"), "campaign_submission", ["target_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_campaign_submission_target_id"), "campaign_submission")
    op.drop_table("campaign_submission")
    op.drop_index(op.f("ix_campaign_target_campaign_id_task_id_done_at"), "campaign_target")
    op.drop_table("campaign_target")
    op.drop_table("campaign_task")
    op.drop_index(op.f("ix_campaign_scope_code"), "campaign")
    op.drop_table("campaign")
