"""What other contexts read of the territory."""

from __future__ import annotations

from sqlalchemy import Connection, select

from metropilot.territory.repository import communes

__all__ = ["commune_name", "commune_names"]


# --- read by contracts ---


def commune_name(conn: Connection, insee: str) -> str | None:
    """The commune's name (None: no such commune)."""
    row = conn.execute(select(communes.c.name).where(communes.c.insee == insee)).first()
    return None if row is None else str(row[0])


def commune_names(conn: Connection) -> dict[str, str]:
    """Every commune's name by INSEE code, in the order of the names."""
    rows = conn.execute(select(communes.c.insee, communes.c.name).order_by(communes.c.name))
    return {str(insee): str(name) for insee, name in rows}
