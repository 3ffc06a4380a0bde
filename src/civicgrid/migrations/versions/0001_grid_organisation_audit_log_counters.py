"""grid, organisation, audit log, counters

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "grid_node",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("district_code", sa.String(length=6), nullable=True),
        sa.Column("geometry", sa.LargeBinary(), nullable=True),
        sa.Column("min_lon", sa.Float(), nullable=True),
        sa.Column("min_lat", sa.Float(), nullable=True),
        sa.Column("max_lon", sa.Float(), nullable=True),
        sa.Column("max_lat", sa.Float(), nullable=True),
        sa.Column("area_m2", sa.Float(), nullable=True),
        sa.Column("geometry_source", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "level IN ('province', 'city', 'district', 'street', 'community', 'unit')",
            name=op.f("ck_grid_node_level_known"),
        ),
        sa.CheckConstraint("depth >= 0", name=op.f("ck_grid_node_depth_not_negative")),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["grid_node.id"],
            name=op.f("fk_grid_node_parent_id_grid_node"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grid_node")),
        sa.UniqueConstraint("code", name=op.f("uq_grid_node_code")),
    )
    with op.batch_alter_table("grid_node", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grid_node_level"), ["level"], unique=False)
        batch_op.create_index(batch_op.f("ix_grid_node_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "system_counter",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_system_counter")),
    )
    op.create_table(
        "department",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("grid_node_id", sa.Integer(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('district_bureau', 'street_office', 'street_section', 'command_center', 'community', 'utility')",
            name=op.f("ck_department_kind_known"),
        ),
        sa.ForeignKeyConstraint(
            ["grid_node_id"],
            ["grid_node.id"],
            name=op.f("fk_department_grid_node_id_grid_node"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["department.id"],
            name=op.f("fk_department_parent_id_department"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_department")),
        sa.UniqueConstraint("code", name=op.f("uq_department_code")),
    )
    with op.batch_alter_table("department", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_department_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "app_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("all_grids", sa.Boolean(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_reason", sa.String(length=200), nullable=True),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["department.id"],
            name=op.f("fk_app_user_department_id_department"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_user")),
        sa.UniqueConstraint("username", name=op.f("uq_app_user_username")),
    )
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_app_user_department_id"), ["department_id"], unique=False)

    op.create_table(
        "audit_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("actor_label", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=32), nullable=False),
        sa.Column("object_key", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["app_user.id"],
            name=op.f("fk_audit_entry_actor_user_id_app_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entry")),
    )
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_entry_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_audit_entry_object_type_object_key"), ["object_type", "object_key"], unique=False
        )

    op.create_table(
        "grid_assignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grid_node_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("duty", sa.String(length=24), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "duty IN ('grid_worker', 'grid_leader', 'sunk_cadre')", name=op.f("ck_grid_assignment_duty_known")
        ),
        sa.ForeignKeyConstraint(
            ["grid_node_id"],
            ["grid_node.id"],
            name=op.f("fk_grid_assignment_grid_node_id_grid_node"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_grid_assignment_user_id_app_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grid_assignment")),
        sa.UniqueConstraint(
            "grid_node_id", "user_id", "duty", name=op.f("uq_grid_assignment_grid_node_id_user_id_duty")
        ),
    )
    with op.batch_alter_table("grid_assignment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grid_assignment_user_id"), ["user_id"], unique=False)

    op.create_table(
        "user_grid_scope",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("grid_node_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["grid_node_id"],
            ["grid_node.id"],
            name=op.f("fk_user_grid_scope_grid_node_id_grid_node"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_user_grid_scope_user_id_app_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "grid_node_id", name=op.f("pk_user_grid_scope")),
    )
    with op.batch_alter_table("user_grid_scope", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_grid_scope_grid_node_id"), ["grid_node_id"], unique=False)

    op.create_table(
        "user_role",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=24), nullable=False),
        sa.CheckConstraint(
            "role IN ('admin', 'leader', 'dispatcher', 'dept_staff', 'grid_worker', 'hotline_operator', 'resident')",
            name=op.f("ck_user_role_role_known"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_user_role_user_id_app_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "role", name=op.f("pk_user_role")),
    )


def downgrade() -> None:

    op.drop_table("user_role")
    with op.batch_alter_table("user_grid_scope", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_grid_scope_grid_node_id"))

    op.drop_table("user_grid_scope")
    with op.batch_alter_table("grid_assignment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grid_assignment_user_id"))

    op.drop_table("grid_assignment")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_entry_object_type_object_key"))
        batch_op.drop_index(batch_op.f("ix_audit_entry_at"))

    op.drop_table("audit_entry")
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_app_user_department_id"))

    op.drop_table("app_user")
    with op.batch_alter_table("department", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_department_parent_id"))

    op.drop_table("department")
    op.drop_table("system_counter")
    with op.batch_alter_table("grid_node", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grid_node_parent_id"))
        batch_op.drop_index(batch_op.f("ix_grid_node_level"))

    op.drop_table("grid_node")
