"""rules, alarms, their comments and held conditions

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 05:18:29.782702
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import metropilot.db.schema

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alarm_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column(
            "params",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "kinds",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "communes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "asset_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("hold_s", sa.Integer(), nullable=False),
        sa.Column("flap_window_s", sa.Integer(), nullable=False),
        sa.Column(
            "suppresses",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("opens_case", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=160), nullable=False),
        sa.Column("updated_by", sa.String(length=160), nullable=False),
        sa.Column("deleted_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarm_rules")),
        sa.UniqueConstraint("code", name=op.f("uq_alarm_rules_code")),
    )
    op.create_table(
        "alarm_conditions",
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("phase", sa.String(length=10), nullable=False),
        sa.Column("since_ms", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["rule_id"], ["alarm_rules.id"], name=op.f("fk_alarm_conditions_rule_id_alarm_rules")
        ),
        sa.PrimaryKeyConstraint("asset_id", "rule_id", name="pk_alarm_conditions"),
    )
    op.create_table(
        "alarms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("active_key", sa.String(length=24), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("message", sa.String(length=300), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("observed_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column("raised_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reopened_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "acknowledged_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("acknowledged_by", sa.String(length=160), nullable=True),
        sa.Column("cleared_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cleared_by", sa.String(length=160), nullable=True),
        sa.Column("clear_reason", sa.String(length=24), nullable=True),
        sa.Column("assignee", sa.String(length=63), nullable=True),
        sa.Column("suppressed_by", sa.Integer(), nullable=True),
        sa.Column("flaps", sa.Integer(), nullable=False),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("escalated_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["rule_id"], ["alarm_rules.id"], name=op.f("fk_alarms_rule_id_alarm_rules")
        ),
        sa.ForeignKeyConstraint(
            ["suppressed_by"], ["alarms.id"], name=op.f("fk_alarms_suppressed_by_alarms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarms")),
        # At most one open alarm per (asset, rule): "<asset>:<rule>" while open, NULL once cleared.
        sa.UniqueConstraint("active_key", name=op.f("uq_alarms_active_key")),
    )
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.create_index("ix_alarms_asset_id_rule_id", ["asset_id", "rule_id"], unique=False)
        batch_op.create_index(
            "ix_alarms_open",
            ["asset_id"],
            unique=False,
            sqlite_where=sa.text("active_key IS NOT NULL"),
            postgresql_where=sa.text("active_key IS NOT NULL"),
        )
        batch_op.create_index("ix_alarms_rule_id_state", ["rule_id", "state"], unique=False)
        batch_op.create_index("ix_alarms_state_severity", ["state", "severity"], unique=False)
        batch_op.create_index("ix_alarms_suppressed_by", ["suppressed_by"], unique=False)

    op.create_table(
        "alarm_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alarm_id", sa.Integer(), nullable=False),
        sa.Column("at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("author", sa.String(length=160), nullable=False),
        sa.Column("text", sa.String(length=2000), nullable=False),
        sa.ForeignKeyConstraint(
            ["alarm_id"], ["alarms.id"], name=op.f("fk_alarm_comments_alarm_id_alarms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarm_comments")),
    )
    with op.batch_alter_table("alarm_comments", schema=None) as batch_op:
        batch_op.create_index("ix_alarm_comments_alarm_id", ["alarm_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("alarm_comments", schema=None) as batch_op:
        batch_op.drop_index("ix_alarm_comments_alarm_id")

    op.drop_table("alarm_comments")
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.drop_index("ix_alarms_suppressed_by")
        batch_op.drop_index("ix_alarms_state_severity")
        batch_op.drop_index("ix_alarms_open")
        batch_op.drop_index("ix_alarms_rule_id_state")
        batch_op.drop_index("ix_alarms_asset_id_rule_id")

    op.drop_table("alarms")
    op.drop_table("alarm_conditions")
    op.drop_table("alarm_rules")
