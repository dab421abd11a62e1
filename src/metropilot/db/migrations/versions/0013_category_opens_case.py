"""report categories open cases at once or at triage

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27 08:30:25.144446
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("report_categories", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("opens_case", sa.String(length=8), server_default="auto", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("report_categories", schema=None) as batch_op:
        batch_op.drop_column("opens_case")
