"""What other contexts read of the territory."""

from __future__ import annotations

from sqlalchemy import Connection, select

from metropilot.territory.repository import communes

__all__ = ["commune_name"]


# --- read by control ---


def commune_name(conn: Connection, insee: str) -> str | None:
    """A commune's name (None: no such commune)."""
    row = conn.execute(select(communes.c.name).where(communes.c.insee == insee)).first()
    return None if row is None else str(row[0])
