"""sla policies

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27 08:24:12.664995
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import metropilot.db.schema

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sla_policies",
        sa.Column("team", sa.String(length=63), nullable=False),
        sa.Column("priority", sa.String(length=2), nullable=False),
        sa.Column("clock", sa.String(length=16), nullable=False),
        sa.Column("response_minutes", sa.Integer(), nullable=False),
        sa.Column("resolution_minutes", sa.Integer(), nullable=False),
        sa.Column(
            "calendar",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("updated_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("team", "priority", name=op.f("pk_sla_policies")),
    )


def downgrade() -> None:
    op.drop_table("sla_policies")
