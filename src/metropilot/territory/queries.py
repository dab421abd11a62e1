"""What other contexts read of the territory: the communes and their codes."""

from __future__ import annotations

from sqlalchemy import Connection, select

from metropilot.territory import repository
from metropilot.territory.model import Commune

__all__ = [
    "commune_centres",
    "commune_codes",
    "commune_exists",
    "commune_name",
    "commune_names",
    "communes",
    "street_lines",
]


def communes(conn: Connection) -> list[Commune]:
    """The metropolis's communes."""
    return repository.list_communes(conn)


def commune_codes(conn: Connection) -> set[str]:
    """The INSEE codes of the metropolis's communes."""
    return {c.insee for c in repository.list_communes(conn)}


# --- read by cases ---


def commune_exists(conn: Connection, insee: str) -> bool:
    c = repository.communes.c
    return conn.execute(select(c.insee).where(c.insee == insee)).first() is not None


# --- read by control ---


def commune_name(conn: Connection, insee: str) -> str | None:
    """A commune's name (None: no such commune)."""
    row = conn.execute(
        select(repository.communes.c.name).where(repository.communes.c.insee == insee)
    ).first()
    return None if row is None else str(row[0])


def commune_names(conn: Connection) -> dict[str, str]:
    """Every commune's name by INSEE code, in the order of the names (no boundary parsed)."""
    c = repository.communes.c
    rows = conn.execute(select(c.insee, c.name).order_by(c.name))
    return {str(insee): str(name) for insee, name in rows}


# --- read by simulate ---


def street_lines(conn: Connection) -> list[tuple[str, str, list[list[float]]]]:
    """Every street as (commune, category, line of [lon, lat] points), by id."""
    s = repository.streets.c
    rows = conn.execute(select(s.commune_insee, s.category, s.line).order_by(s.id)).all()
    return [(str(commune), str(category), line) for commune, category, line in rows]


def commune_centres(conn: Connection) -> dict[str, tuple[float, float]]:
    """Each commune's town centre (lon, lat), for those that have one."""
    c = repository.communes.c
    rows = conn.execute(select(c.insee, c.centre_lon, c.centre_lat)).all()
    return {
        str(insee): (float(lon), float(lat))
        for insee, lon, lat in rows
        if lon is not None and lat is not None
    }
