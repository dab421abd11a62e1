"""work order sla alerts

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 08:17:50.899221
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import metropilot.db.schema

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("work_orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "response_warning_at",
                metropilot.db.schema.UTCDateTime(timezone=True),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column(
                "resolution_warning_at",
                metropilot.db.schema.UTCDateTime(timezone=True),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column(
                "response_warned_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column(
                "response_breached_at",
                metropilot.db.schema.UTCDateTime(timezone=True),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column(
                "resolution_warned_at",
                metropilot.db.schema.UTCDateTime(timezone=True),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column(
                "resolution_breached_at",
                metropilot.db.schema.UTCDateTime(timezone=True),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("work_orders", schema=None) as batch_op:
        batch_op.drop_column("resolution_breached_at")
        batch_op.drop_column("resolution_warned_at")
        batch_op.drop_column("response_breached_at")
        batch_op.drop_column("response_warned_at")
        batch_op.drop_column("resolution_warning_at")
        batch_op.drop_column("response_warning_at")
