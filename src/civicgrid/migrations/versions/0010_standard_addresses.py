"""registry: standard addresses (标准地址, the 一标 of 一标三实) — door plates with road, number, building, entrance, room

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TABLE = "registry_address"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("address", sa.String(200)),
        sa.Column("natural_key", sa.String(200), unique=True),
        sa.Column("tags", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("lon", sa.Float()),
        sa.Column("lat", sa.Float()),
        sa.Column("geometry", sa.LargeBinary()),
        sa.Column("placement", sa.String(16), nullable=False),
        sa.Column("grid_node_id", sa.Integer(), sa.ForeignKey("grid_node.id", ondelete="SET NULL")),
        sa.Column("scope_code", sa.String(32), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("road", sa.String(40), nullable=False),
        sa.Column("door_no", sa.String(16), nullable=False),
        sa.Column("building", sa.String(16)),
        sa.Column("entrance", sa.String(8)),
        sa.Column("room", sa.String(16)),
    )
    op.create_index(op.f(f"ix_{TABLE}_scope_code"), TABLE, ["scope_code"])


def downgrade() -> None:
    op.drop_table(TABLE)
