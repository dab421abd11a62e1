"""Commands to equipment and the batches of area commands.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-27 10:43:51.794826
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import metropilot.db.schema

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "command_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("command", sa.String(length=32), nullable=False),
        sa.Column(
            "params",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "area",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("targets", sa.Integer(), nullable=False),
        sa.Column("created_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_command_batches")),
    )
    op.create_table(
        "commands",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("asset_ref", sa.String(length=100), nullable=False),
        sa.Column("command", sa.String(length=32), nullable=False),
        sa.Column(
            "params",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "acknowledged_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("finished_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deadline", metropilot.db.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("next_send_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column("result", sa.String(length=500), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["assets.id"], name=op.f("fk_commands_asset_id_assets")
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["command_batches.id"], name=op.f("fk_commands_batch_id_command_batches")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commands")),
    )
    with op.batch_alter_table("commands", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_commands_asset_id"), ["asset_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_commands_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index("ix_commands_next_send_at", ["next_send_at"], unique=False)
        batch_op.create_index("ix_commands_status_deadline", ["status", "deadline"], unique=False)

    # ### end Alembic commands ###


def downgrade() -> None:
    with op.batch_alter_table("commands", schema=None) as batch_op:
        batch_op.drop_index("ix_commands_status_deadline")
        batch_op.drop_index("ix_commands_next_send_at")
        batch_op.drop_index(batch_op.f("ix_commands_batch_id"))
        batch_op.drop_index(batch_op.f("ix_commands_asset_id"))

    op.drop_table("commands")
    op.drop_table("command_batches")
    # ### end Alembic commands ###
