"""The alarms' tables: rules, alarms, their comments, the conditions the engine is holding."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    text,
)

from metropilot.alarms.model import AlarmState
from metropilot.db.schema import JSONDocument, UTCDateTime, metadata

alarm_rules = Table(
    "alarm_rules",
    metadata,
    Column("id", Integer, primary_key=True),
    # A stable name for rules shipped with the product, so installing them twice is harmless.
    Column("code", String(64), unique=True),
    Column("name", String(120), nullable=False),
    Column("description", String(2000), nullable=False),
    Column("type", String(16), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("params", JSONDocument, nullable=False),
    Column("kinds", JSONDocument, nullable=False),
    Column("communes", JSONDocument, nullable=False),
    Column("asset_ids", JSONDocument, nullable=False),
    Column("hold_s", Integer, nullable=False),
    Column("flap_window_s", Integer, nullable=False),
    Column("suppresses", JSONDocument, nullable=False),
    Column("opens_case", Boolean, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("created_by", String(160), nullable=False),
    Column("updated_by", String(160), nullable=False),
    # Deleted rules stay, so the alarms they raised keep their name and history.
    Column("deleted_at", UTCDateTime),
)


# No foreign key to assets: like the twin, alarms outlive a registry rebuild (the synthetic
# generator's replace) instead of blocking it; the lists join on assets, so orphans stay hidden.
alarms = Table(
    "alarms",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("rule_id", Integer, ForeignKey("alarm_rules.id"), nullable=False),
    Column("asset_id", Integer, nullable=False),
    Column("active_key", String(24), unique=True),
    Column("state", String(16), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("message", String(300), nullable=False),
    Column("value", Float),
    Column("observed_at", UTCDateTime),
    Column("raised_at", UTCDateTime, nullable=False),
    Column("reopened_at", UTCDateTime),
    Column("acknowledged_at", UTCDateTime),
    Column("acknowledged_by", String(160)),
    Column("cleared_at", UTCDateTime),
    Column("cleared_by", String(160)),
    Column("clear_reason", String(24)),
    Column("assignee", String(63)),
    Column("suppressed_by", Integer, ForeignKey("alarms.id")),
    Column("flaps", Integer, nullable=False),
    Column("escalation_level", Integer, nullable=False),
    Column("escalated_at", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_alarms_asset_id_rule_id", "asset_id", "rule_id"),
    # The open alarms alone (a small set, however long the history grows): what the engine reads.
    Index(
        "ix_alarms_open",
        "asset_id",
        sqlite_where=text("active_key IS NOT NULL"),
        postgresql_where=text("active_key IS NOT NULL"),
    ),
    Index("ix_alarms_rule_id_state", "rule_id", "state"),
    Index("ix_alarms_state_severity", "state", "severity"),
    Index("ix_alarms_suppressed_by", "suppressed_by"),
)


alarm_comments = Table(
    "alarm_comments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("alarm_id", Integer, ForeignKey("alarms.id"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("author", String(160), nullable=False),
    Column("text", String(2000), nullable=False),
    Index("ix_alarm_comments_alarm_id", "alarm_id"),
)


# Conditions the engine holds without an open alarm: "pending" (true since ``since_ms``, waiting
# for the rule's hold time) and "inhibited" (cleared by hand while still true: not raised again
# until the equipment has reported normal once). Stored, so every process and a restart agree.
alarm_conditions = Table(
    "alarm_conditions",
    metadata,
    Column("asset_id", Integer, nullable=False),
    Column("rule_id", Integer, ForeignKey("alarm_rules.id"), nullable=False),
    Column("phase", String(10), nullable=False),
    Column("since_ms", BigInteger, nullable=False),
    Column("value", Float),
    PrimaryKeyConstraint("asset_id", "rule_id", name="pk_alarm_conditions"),
)


PENDING, INHIBITED = "pending", "inhibited"


_OPEN = (AlarmState.ACTIVE.value, AlarmState.ACKNOWLEDGED.value)


def active_key(asset_id: int, rule_id: int) -> str:
    return f"{asset_id}:{rule_id}"
