"""What other contexts and the entry points read of accounts: organisations (maintainers,
teams' companies), teams, people's display names. Plain values or frozen dataclasses, never rows."""

from __future__ import annotations

from sqlalchemy import Connection

from metropilot.accounts import repository
from metropilot.accounts.model import Organisation, Team

__all__ = ["display_name", "organisations", "team"]


def organisations(conn: Connection, *, codes: list[str] | None = None) -> list[Organisation]:
    """The organisations, by code (all of them, or those of ``codes``)."""
    return repository.list_organisations(conn, codes=codes)


# --- read by simulate ---


def team(conn: Connection, code: str) -> Team | None:
    """The team of that code, if there is one."""
    return repository.get_team(conn, code)


# --- read by web ---


def display_name(connection: Connection, user_id: int) -> str | None:
    """The name a person chose to be shown by (trimmed), or None if they gave none."""
    stored = repository.get_user(connection, user_id=user_id)
    if stored is None:
        return None
    return stored.user.display_name.strip() or None
