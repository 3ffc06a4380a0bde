"""registry: estates, buildings, houses, enterprises, parcels, rivers, facilities; people in houses; case subjects

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _own_columns() -> list[tuple[str, list[sa.Column[object]]]]:
    return [
        ("registry_estate", [sa.Column("property_company", sa.String(200)), sa.Column("built_year", sa.Integer())]),
        (
            "registry_building",
            [
                sa.Column("estate_id", sa.Integer(), sa.ForeignKey("registry_estate.id", ondelete="SET NULL")),
                sa.Column("use", sa.String(16)),
                sa.Column("floors", sa.Integer()),
            ],
        ),
        (
            "registry_house",
            [
                sa.Column("building_id", sa.Integer(), sa.ForeignKey("registry_building.id", ondelete="SET NULL")),
                sa.Column("room", sa.String(40)),
                sa.Column("use", sa.String(16)),
                sa.Column("area_m2", sa.Float()),
                sa.Column("occupancy", sa.String(16)),
                sa.Column("owner_name", sa.String(100)),
            ],
        ),
        (
            "registry_enterprise",
            [
                sa.Column("credit_code", sa.String(18)),
                sa.Column("kind", sa.String(16)),
                sa.Column("industry", sa.String(1)),
                sa.Column("scale", sa.String(8)),
                sa.Column("employees", sa.Integer()),
                sa.Column("annual_tax", sa.Float()),
                sa.Column("land_mu", sa.Float()),
                sa.Column("building_id", sa.Integer(), sa.ForeignKey("registry_building.id", ondelete="SET NULL")),
                sa.Column("established_on", sa.Date()),
            ],
        ),
        (
            "registry_parcel",
            [
                sa.Column("parcel_no", sa.String(40)),
                sa.Column("use", sa.String(16)),
                sa.Column("area_mu", sa.Float()),
                sa.Column("status", sa.String(8)),
            ],
        ),
        (
            "registry_river",
            [
                sa.Column("level", sa.String(8)),
                sa.Column("length_km", sa.Float()),
                sa.Column("chief_name", sa.String(50)),
                sa.Column("chief_title", sa.String(100)),
            ],
        ),
        (
            "registry_facility",
            [
                sa.Column("class_code", sa.String(4), nullable=False),
                sa.Column("code", sa.String(16)),
                sa.Column("owner_department_id", sa.Integer(), sa.ForeignKey("department.id", ondelete="SET NULL")),
                sa.Column("condition", sa.String(8)),
            ],
        ),
    ]


def _placed_columns() -> list[sa.Column[object]]:
    return [
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
    ]


_INDEXED = {
    "registry_building": ["estate_id"],
    "registry_house": ["building_id"],
    "registry_enterprise": ["building_id"],
}


def upgrade() -> None:
    for table, own in _own_columns():
        op.create_table(table, *_placed_columns(), *own)
        for column in ["scope_code", *_INDEXED.get(table, [])]:
            op.create_index(op.f(f"ix_{table}_{column}"), table, [column])
    op.create_index(op.f("ix_registry_facility_class_code"), "registry_facility", ["class_code"])
    op.create_table(
        "registry_case_subject",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("case.id", ondelete="CASCADE"), nullable=False),
        sa.Column("object_type", sa.String(32), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("linked_by_user_id", sa.Integer(), sa.ForeignKey("app_user.id", ondelete="SET NULL")),
        sa.UniqueConstraint("case_id", "object_type", "object_id"),
    )
    op.create_index(
        op.f("ix_registry_case_subject_object_type_object_id"), "registry_case_subject", ["object_type", "object_id"]
    )
    with op.batch_alter_table("registry_person") as batch:  # SQLite: a copy of the (then young) table
        batch.add_column(sa.Column("house_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_registry_person_house_id_registry_house"),
            "registry_house",
            ["house_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_index(op.f("ix_registry_person_house_id"), "registry_person", ["house_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_registry_person_house_id"), "registry_person")
    with op.batch_alter_table("registry_person") as batch:
        batch.drop_column("house_id")
    op.drop_table("registry_case_subject")
    for table, _ in reversed(_own_columns()):
        op.drop_table(table)
