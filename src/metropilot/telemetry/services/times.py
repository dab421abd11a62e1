"""Times as the telemetry tables keep them: integer milliseconds since the epoch, UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = ["iso", "ms", "whole_ms"]


def ms(ts: datetime) -> int:
    return int(ts.timestamp() * 1000)


def whole_ms(span: timedelta) -> int:
    return int(span.total_seconds() * 1000)


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")
