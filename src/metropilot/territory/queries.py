"""What other contexts read of the territory."""

from __future__ import annotations

from sqlalchemy import Connection, select

from metropilot.territory.repository import communes

# --- read by cases ---


def commune_exists(conn: Connection, insee: str) -> bool:
    c = communes.c
    return conn.execute(select(c.insee).where(c.insee == insee)).first() is not None
