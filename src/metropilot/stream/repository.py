"""The stream's journal: every change a screen should see, numbered so a client can resume."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table

from metropilot.db.schema import JSONDocument, UTCDateTime, metadata

__all__ = ["stream_events"]

stream_events = Table(
    "stream_events",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("at", UTCDateTime, nullable=False),
    Column("type", String(48), nullable=False),  # e.g. asset.status, alarm.raised
    # What scoping needs, so each client's filter is applied in the query.
    Column("asset_id", Integer),
    Column("commune_insee", String(5)),
    Column("maintainer_id", Integer),
    Column("kind", String(32)),
    Column("payload", JSONDocument, nullable=False),
    Index("ix_stream_events_at", "at"),
)
