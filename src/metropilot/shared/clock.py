"""Timezone-aware UTC time; local time (Europe/Paris) only at the edges."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["utcnow"]


def utcnow() -> datetime:
    return datetime.now(UTC)
