"""What other contexts read of accounts: organisations (maintainers, teams' companies)."""

from __future__ import annotations

from sqlalchemy import Connection

from metropilot.accounts import repository
from metropilot.accounts.model import Organisation, Team

__all__ = ["organisations", "team"]


def organisations(conn: Connection, *, codes: list[str] | None = None) -> list[Organisation]:
    """The organisations, by code (all of them, or those of ``codes``)."""
    return repository.list_organisations(conn, codes=codes)


# --- read by simulate ---


def team(conn: Connection, code: str) -> Team | None:
    """The team of that code, if there is one."""
    return repository.get_team(conn, code)


# --- read by cases (and ``team`` above) ---


def organisation_by_code(conn: Connection, code: str) -> Organisation | None:
    return repository.get_organisation_by_code(conn, code)
