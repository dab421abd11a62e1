"""work orders

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 08:15:46.821693
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import metropilot.db.schema

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "work_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("team", sa.String(length=63), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("organisation", sa.String(length=63), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("sector", sa.String(length=8), nullable=False),
        sa.Column("instructions", sa.String(length=2000), nullable=False),
        sa.Column("note", sa.String(length=2000), nullable=False),
        sa.Column(
            "photos",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=2000), nullable=False),
        sa.Column("created_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("dispatched_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column("accepted_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column("on_site_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column("done_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column("verified_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "response_due_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "resolution_due_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_work_orders_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_work_orders_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_work_orders_team_id_teams")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_orders")),
    )
    with op.batch_alter_table("work_orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_work_orders_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_work_orders_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index("ix_work_orders_state", ["state"], unique=False)
        batch_op.create_index("ix_work_orders_team", ["team"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("work_orders", schema=None) as batch_op:
        batch_op.drop_index("ix_work_orders_team")
        batch_op.drop_index("ix_work_orders_state")
        batch_op.drop_index(batch_op.f("ix_work_orders_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_work_orders_case_id"))

    op.drop_table("work_orders")
