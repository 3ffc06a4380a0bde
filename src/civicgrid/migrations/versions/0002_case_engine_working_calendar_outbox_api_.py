"""case engine, working calendar, outbox, API tokens

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "case_import_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_name", sa.String(length=200), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=24), nullable=False),
        sa.Column("sheet", sa.String(length=100), nullable=False),
        sa.Column("mapping", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("next_row", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_import_run")),
        sa.UniqueConstraint(
            "file_sha256", "channel", "sheet", name=op.f("uq_case_import_run_file_sha256_channel_sheet")
        ),
    )
    op.create_table(
        "case_type",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("fields", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_case_type")),
    )
    op.create_table(
        "work_calendar_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("is_workday", sa.Boolean(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_work_calendar_day")),
    )
    op.create_table(
        "work_calendar_year",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("confirmed_by", sa.String(length=100), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_work_calendar_year")),
    )
    op.create_table(
        "case_category",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("case_type_code", sa.String(length=32), nullable=True),
        sa.Column("default_department_code", sa.String(length=32), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("limits", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("self_handle_allowed", sa.Boolean(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_type_code"],
            ["case_type.code"],
            name=op.f("fk_case_category_case_type_code_case_type"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["case_category.id"],
            name=op.f("fk_case_category_parent_id_case_category"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_category")),
        sa.UniqueConstraint("code", name=op.f("uq_case_category_code")),
    )
    with op.batch_alter_table("case_category", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_category_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "case_import_error",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["case_import_run.id"],
            name=op.f("fk_case_import_error_run_id_case_import_run"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_import_error")),
        sa.UniqueConstraint("run_id", "row_number", name=op.f("uq_case_import_error_run_id_row_number")),
    )
    op.create_table(
        "routing_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("category_code", sa.String(length=32), nullable=True),
        sa.Column("grid_code", sa.String(length=32), nullable=True),
        sa.Column("keywords", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("main_department_id", sa.Integer(), nullable=False),
        sa.Column("assist_department_ids", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["main_department_id"],
            ["department.id"],
            name=op.f("fk_routing_rule_main_department_id_department"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_rule")),
    )
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_api_token_user_id_app_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_api_token_token_sha256")),
    )
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_token_user_id"), ["user_id"], unique=False)

    op.create_table(
        "case",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=24), nullable=False),
        sa.Column("channel", sa.String(length=24), nullable=False),
        sa.Column("source_id", sa.String(length=100), nullable=True),
        sa.Column("idempotency_key", sa.String(length=100), nullable=True),
        sa.Column("case_type_code", sa.String(length=32), nullable=True),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("extra", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("reporter_user_id", sa.Integer(), nullable=True),
        sa.Column("reporter_name", sa.String(length=50), nullable=True),
        sa.Column("reporter_phone", sa.String(length=32), nullable=True),
        sa.Column("tracking_code_hash", sa.String(length=64), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("input_crs", sa.String(length=8), nullable=True),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("placement", sa.String(length=16), nullable=False),
        sa.Column("grid_node_id", sa.Integer(), nullable=True),
        sa.Column("scope_code", sa.String(length=32), nullable=False),
        sa.Column("district_code", sa.String(length=6), nullable=True),
        sa.Column("nearest_grid_code", sa.String(length=32), nullable=True),
        sa.Column("distance_to_grid_m", sa.Float(), nullable=True),
        sa.Column("main_department_id", sa.Integer(), nullable=True),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("escalation_code", sa.String(length=32), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stage", sa.String(length=16), nullable=True),
        sa.Column("stage_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stage_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stage_minutes", sa.Integer(), nullable=True),
        sa.Column("due_soon_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("handle_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("handle_minutes", sa.Integer(), nullable=True),
        sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("suspended_from_state", sa.String(length=16), nullable=True),
        sa.Column("remaining_stage_minutes", sa.Integer(), nullable=True),
        sa.Column("remaining_deadline_minutes", sa.Integer(), nullable=True),
        sa.Column("due_soon", sa.Boolean(), nullable=False),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("ever_overdue", sa.Boolean(), nullable=False),
        sa.Column("pending_extension_minutes", sa.Integer(), nullable=True),
        sa.Column("pending_suspension", sa.Boolean(), nullable=False),
        sa.Column("rework_count", sa.Integer(), nullable=False),
        sa.Column("return_count", sa.Integer(), nullable=False),
        sa.Column("extension_count", sa.Integer(), nullable=False),
        sa.Column("supervision_count", sa.Integer(), nullable=False),
        sa.Column("reopen_count", sa.Integer(), nullable=False),
        sa.Column("self_handled", sa.Boolean(), nullable=False),
        sa.Column("handler_user_id", sa.Integer(), nullable=True),
        sa.Column("verifier_user_id", sa.Integer(), nullable=True),
        sa.Column("rating", sa.String(length=24), nullable=True),
        sa.Column("rated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "channel IN ('grid_patrol', 'resident', 'hotline_12345', 'hotline_8890', 'hotline_96685', 'message_board', 'sensor', 'referral', 'inspection')",
            name=op.f("ck_case_channel_known"),
        ),
        sa.CheckConstraint(
            "placement IN ('located', 'outside', 'no_location', 'manual')", name=op.f("ck_case_placement_known")
        ),
        sa.CheckConstraint(
            "state IN ('reported', 'registered', 'dispatched', 'in_progress', 'handled', 'suspended', 'closed', 'rejected', 'merged')",
            name=op.f("ck_case_state_known"),
        ),
        sa.ForeignKeyConstraint(
            ["case_type_code"], ["case_type.code"], name=op.f("fk_case_case_type_code_case_type"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["category_id"], ["case_category.id"], name=op.f("fk_case_category_id_case_category"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["grid_node_id"], ["grid_node.id"], name=op.f("fk_case_grid_node_id_grid_node"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["handler_user_id"], ["app_user.id"], name=op.f("fk_case_handler_user_id_app_user"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["main_department_id"],
            ["department.id"],
            name=op.f("fk_case_main_department_id_department"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"], ["case.id"], name=op.f("fk_case_merged_into_id_case"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["reporter_user_id"], ["app_user.id"], name=op.f("fk_case_reporter_user_id_app_user"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["verifier_user_id"], ["app_user.id"], name=op.f("fk_case_verifier_user_id_app_user"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case")),
        sa.UniqueConstraint("channel", "source_id", name=op.f("uq_case_channel_source_id")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_case_idempotency_key")),
        sa.UniqueConstraint("number", name=op.f("uq_case_number")),
    )
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_category_id"), ["category_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_deadline_at"), ["deadline_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_case_district_code_reported_at"), ["district_code", "reported_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_case_grid_node_id"), ["grid_node_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_merged_into_id"), ["merged_into_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_reported_at"), ["reported_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_scope_code"), ["scope_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_state"), ["state"], unique=False)

    op.create_table(
        "case_assignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('main', 'assist')", name=op.f("ck_case_assignment_role_known")),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case.id"], name=op.f("fk_case_assignment_case_id_case"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["department.id"],
            name=op.f("fk_case_assignment_department_id_department"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_assignment")),
        sa.UniqueConstraint("case_id", "department_id", name=op.f("uq_case_assignment_case_id_department_id")),
    )
    with op.batch_alter_table("case_assignment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_assignment_department_id"), ["department_id"], unique=False)

    op.create_table(
        "case_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("actor_label", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_user_id"], ["app_user.id"], name=op.f("fk_case_event_actor_user_id_app_user"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_case_event_case_id_case"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_event")),
        sa.UniqueConstraint("case_id", "seq", name=op.f("uq_case_event_case_id_seq")),
    )
    with op.batch_alter_table("case_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_event_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_event_at"), ["at"], unique=False)

    op.create_table(
        "notify_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.String(length=200), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("payload", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'sent', 'dead')", name=op.f("ck_notify_outbox_status_known")),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case.id"], name=op.f("fk_notify_outbox_case_id_case"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_outbox")),
    )
    with op.batch_alter_table("notify_outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notify_outbox_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_notify_outbox_status_next_attempt_at"), ["status", "next_attempt_at"], unique=False
        )

    op.create_table(
        "case_attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("original_name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case.id"], name=op.f("fk_case_attachment_case_id_case"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["case_event.id"], name=op.f("fk_case_attachment_event_id_case_event"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_attachment")),
    )
    with op.batch_alter_table("case_attachment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_attachment_case_id"), ["case_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("case_attachment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_attachment_case_id"))

    op.drop_table("case_attachment")
    with op.batch_alter_table("notify_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notify_outbox_status_next_attempt_at"))
        batch_op.drop_index(batch_op.f("ix_notify_outbox_case_id"))

    op.drop_table("notify_outbox")
    with op.batch_alter_table("case_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_event_at"))
        batch_op.drop_index(batch_op.f("ix_case_event_action"))

    op.drop_table("case_event")
    with op.batch_alter_table("case_assignment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_assignment_department_id"))

    op.drop_table("case_assignment")
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_state"))
        batch_op.drop_index(batch_op.f("ix_case_scope_code"))
        batch_op.drop_index(batch_op.f("ix_case_reported_at"))
        batch_op.drop_index(batch_op.f("ix_case_merged_into_id"))
        batch_op.drop_index(batch_op.f("ix_case_grid_node_id"))
        batch_op.drop_index(batch_op.f("ix_case_district_code_reported_at"))
        batch_op.drop_index(batch_op.f("ix_case_deadline_at"))
        batch_op.drop_index(batch_op.f("ix_case_category_id"))

    op.drop_table("case")
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_token_user_id"))

    op.drop_table("api_token")
    op.drop_table("routing_rule")
    op.drop_table("case_import_error")
    with op.batch_alter_table("case_category", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_category_parent_id"))

    op.drop_table("case_category")
    op.drop_table("work_calendar_year")
    op.drop_table("work_calendar_day")
    op.drop_table("case_type")
    op.drop_table("case_import_run")
