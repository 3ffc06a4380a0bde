"""registry: people (sealed ID numbers and phones, blind indexes) and the versioned change log

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registry_person",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("id_number_sealed", sa.Text(), nullable=True),
        sa.Column("id_number_index", sa.String(length=64), nullable=True),
        sa.Column("phone_sealed", sa.Text(), nullable=True),
        sa.Column("phone_index", sa.String(length=64), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("male", sa.Boolean(), nullable=True),
        sa.Column("residence", sa.String(length=16), nullable=False),
        sa.Column("household_no", sa.String(length=40), nullable=True),
        sa.Column("tags", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("placement", sa.String(length=16), nullable=False),
        sa.Column("grid_node_id", sa.Integer(), nullable=True),
        sa.Column("scope_code", sa.String(length=32), nullable=False),
        sa.Column("moved_out_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "placement IN ('located', 'outside', 'no_location', 'manual')",
            name=op.f("ck_registry_person_placement_known"),
        ),
        sa.CheckConstraint(
            "residence IN ('household', 'resident', 'floating')", name=op.f("ck_registry_person_residence_known")
        ),
        sa.ForeignKeyConstraint(
            ["grid_node_id"],
            ["grid_node.id"],
            name=op.f("fk_registry_person_grid_node_id_grid_node"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["registry_person.id"],
            name=op.f("fk_registry_person_merged_into_id_registry_person"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_person")),
        sa.UniqueConstraint("id_number_index", name=op.f("uq_registry_person_id_number_index")),
    )
    with op.batch_alter_table("registry_person", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_registry_person_phone_index"), ["phone_index"], unique=False)
        batch_op.create_index(batch_op.f("ix_registry_person_scope_code"), ["scope_code"], unique=False)

    op.create_table(
        "registry_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("object_type", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("actor_label", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("fields", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["app_user.id"],
            name=op.f("fk_registry_change_actor_user_id_app_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_change")),
        sa.UniqueConstraint(
            "object_type", "object_id", "seq", name=op.f("uq_registry_change_object_type_object_id_seq")
        ),
    )
    with op.batch_alter_table("registry_change", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_registry_change_at"), ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("registry_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_change_at"))

    op.drop_table("registry_change")
    with op.batch_alter_table("registry_person", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_person_scope_code"))
        batch_op.drop_index(batch_op.f("ix_registry_person_phone_index"))

    op.drop_table("registry_person")
