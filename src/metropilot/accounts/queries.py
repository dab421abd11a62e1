"""What other contexts and the entry points may read of the accounts: small query functions
on a connection, answering plain values or frozen dataclasses (never rows)."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from metropilot.accounts import repository

__all__ = ["display_name"]


# --- read by web ---


def display_name(connection: Connection, user_id: int) -> str | None:
    """The name a person chose to be shown by (trimmed), or None if they gave none."""
    stored = repository.get_user(connection, user_id=user_id)
    if stored is None:
        return None
    return stored.user.display_name.strip() or None
