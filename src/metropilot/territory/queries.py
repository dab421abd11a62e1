"""What other contexts read of the territory: the communes and their codes."""

from __future__ import annotations

from sqlalchemy import Connection

from metropilot.territory import repository
from metropilot.territory.model import Commune

__all__ = ["commune_codes", "communes"]


def communes(conn: Connection) -> list[Commune]:
    """The metropolis's communes."""
    return repository.list_communes(conn)


def commune_codes(conn: Connection) -> set[str]:
    """The INSEE codes of the metropolis's communes."""
    return {c.insee for c in repository.list_communes(conn)}
