"""The performance contract: contracts, amendments, frozen statements, dimming programs, uptime.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27 10:04:47.980725
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import metropilot.db.schema

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "component_uptime",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("component", sa.String(length=64), nullable=False),
        sa.Column("started_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_beat_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_component_uptime")),
    )
    with op.batch_alter_table("component_uptime", schema=None) as batch_op:
        batch_op.create_index(
            "ix_component_uptime_component_last_beat_at",
            ["component", "last_beat_at"],
            unique=False,
        )

    op.create_table(
        "contracts",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column(
            "document",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_contracts")),
    )
    op.create_table(
        "dimming_programs",
        sa.Column("code", sa.String(length=48), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "steps",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_dimming_programs")),
    )
    op.create_table(
        "lighting_groups",
        sa.Column("code", sa.String(length=48), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "cabinet_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("updated_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_lighting_groups")),
    )
    op.create_table(
        "contract_amendments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_code", sa.String(length=40), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("lot", sa.String(length=24), nullable=False),
        sa.Column("part", sa.String(length=16), nullable=False),
        sa.Column("kpi", sa.String(length=48), nullable=True),
        sa.Column(
            "version",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=2000), nullable=False),
        sa.Column("at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_code"],
            ["contracts.code"],
            name=op.f("fk_contract_amendments_contract_code_contracts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_amendments")),
    )
    with op.batch_alter_table("contract_amendments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contract_amendments_contract_code"), ["contract_code"], unique=False
        )

    op.create_table(
        "dimming_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_code", sa.String(length=48), nullable=False),
        sa.Column("target_type", sa.String(length=12), nullable=False),
        sa.Column("target", sa.String(length=100), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["program_code"],
            ["dimming_programs.code"],
            name=op.f("fk_dimming_assignments_program_code_dimming_programs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dimming_assignments")),
    )
    with op.batch_alter_table("dimming_assignments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_dimming_assignments_target", ["target_type", "target"], unique=False
        )

    op.create_table(
        "frozen_statements",
        sa.Column("contract_code", sa.String(length=40), nullable=False),
        sa.Column("lot", sa.String(length=24), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("period_end", metropilot.db.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "statement",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("frozen_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("frozen_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_code"],
            ["contracts.code"],
            name=op.f("fk_frozen_statements_contract_code_contracts"),
        ),
        sa.PrimaryKeyConstraint("contract_code", "lot", "period", name="pk_frozen_statements"),
    )
    # ### end Alembic commands ###


def downgrade() -> None:
    op.drop_table("frozen_statements")
    with op.batch_alter_table("dimming_assignments", schema=None) as batch_op:
        batch_op.drop_index("ix_dimming_assignments_target")

    op.drop_table("dimming_assignments")
    with op.batch_alter_table("contract_amendments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contract_amendments_contract_code"))

    op.drop_table("contract_amendments")
    op.drop_table("lighting_groups")
    op.drop_table("dimming_programs")
    op.drop_table("contracts")
    with op.batch_alter_table("component_uptime", schema=None) as batch_op:
        batch_op.drop_index("ix_component_uptime_component_last_beat_at")

    op.drop_table("component_uptime")
    # ### end Alembic commands ###
