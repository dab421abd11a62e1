"""telemetry and the live stream

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 05:08:35.622838
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import metropilot.db.schema

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "asset_twin",
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("last_seen_ms", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("asset_id", name=op.f("pk_asset_twin")),
    )
    op.create_table(
        "device_events",
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("asset_id", "ts_ms", "code", name="pk_device_events"),
    )
    with op.batch_alter_table("device_events", schema=None) as batch_op:
        batch_op.create_index("ix_device_events_ts_ms", ["ts_ms"], unique=False)

    op.create_table(
        "ingest_counters",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "source", "outcome", name="pk_ingest_counters"),
    )
    op.create_table(
        "stream_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("type", sa.String(length=48), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=True),
        sa.Column("commune_insee", sa.String(length=5), nullable=True),
        sa.Column("maintainer_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=True),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stream_events")),
    )
    with op.batch_alter_table("stream_events", schema=None) as batch_op:
        batch_op.create_index("ix_stream_events_at", ["at"], unique=False)

    op.create_table(
        "telemetry_hourly",
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=24), nullable=False),
        sa.Column("hour_ms", sa.BigInteger(), nullable=False),
        sa.Column("min", sa.Float(), nullable=False),
        sa.Column("max", sa.Float(), nullable=False),
        sa.Column("sum", sa.Float(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("asset_id", "metric", "hour_ms", name="pk_telemetry_hourly"),
    )
    with op.batch_alter_table("telemetry_hourly", schema=None) as batch_op:
        batch_op.create_index("ix_telemetry_hourly_hour_ms", ["hour_ms"], unique=False)

    op.create_table(
        "telemetry_raw",
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=24), nullable=False),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("asset_id", "metric", "ts_ms", name="pk_telemetry_raw"),
        postgresql_partition_by="RANGE (ts_ms)",
        sqlite_with_rowid=False,
    )
    if op.get_bind().dialect.name == "postgresql":
        # Readings outside the daily partitions (late or far ahead) land here, never refused.
        op.execute("CREATE TABLE telemetry_raw_default PARTITION OF telemetry_raw DEFAULT")
    with op.batch_alter_table("telemetry_raw", schema=None) as batch_op:
        batch_op.create_index("ix_telemetry_raw_ts_ms", ["ts_ms"], unique=False)

    op.create_table(
        "twin_values",
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=24), nullable=False),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("asset_id", "metric", name="pk_twin_values"),
    )


def downgrade() -> None:
    op.drop_table("twin_values")
    with op.batch_alter_table("telemetry_raw", schema=None) as batch_op:
        batch_op.drop_index("ix_telemetry_raw_ts_ms")

    op.drop_table("telemetry_raw")
    with op.batch_alter_table("telemetry_hourly", schema=None) as batch_op:
        batch_op.drop_index("ix_telemetry_hourly_hour_ms")

    op.drop_table("telemetry_hourly")
    with op.batch_alter_table("stream_events", schema=None) as batch_op:
        batch_op.drop_index("ix_stream_events_at")

    op.drop_table("stream_events")
    op.drop_table("ingest_counters")
    with op.batch_alter_table("device_events", schema=None) as batch_op:
        batch_op.drop_index("ix_device_events_ts_ms")

    op.drop_table("device_events")
    op.drop_table("asset_twin")
