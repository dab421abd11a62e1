"""What other contexts and the entry points read of accounts: organisations (maintainers,
teams' companies), teams, people's display names. Plain values or frozen dataclasses, never rows."""

from __future__ import annotations

from sqlalchemy import Connection

from metropilot.accounts import repository
from metropilot.accounts.model import Organisation, OrganisationKind, Team
from metropilot.accounts.policy import Principal
from metropilot.accounts.repository import StoredUser
from metropilot.shared.actors import ActorKind

__all__ = [
    "active_principal",
    "display_name",
    "organisation_by_code",
    "organisations",
    "principal_of",
    "team",
]


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


# --- read by cases (and ``team`` above) ---


def organisation_by_code(conn: Connection, code: str) -> Organisation | None:
    return repository.get_organisation_by_code(conn, code)


# --- read by alarms ---


def active_principal(conn: Connection, username: str) -> Principal | None:
    """Who an active account is, as the policy judges it (None: no such account, or disabled)."""
    stored = repository.get_user(conn, username=username)
    if stored is None or stored.user.disabled:
        return None
    return principal_of(stored)


def principal_of(
    stored: StoredUser, *, session_id: int | None = None, via_cookie: bool = False
) -> Principal:
    """A stored account as the policy judges it (with the session it came by, if any)."""
    user = stored.user
    return Principal(
        kind=ActorKind.USER,
        name=user.username,
        id=user.id,
        role=user.role,
        organisation=user.organisation,
        organisation_id=stored.organisation_id,
        organisation_kind=OrganisationKind(user.organisation_kind)
        if user.organisation_kind
        else None,
        organisation_commune=stored.organisation_commune,
        sector=user.organisation_sector,
        communes=user.communes,
        team=user.team,
        session_id=session_id,
        via_cookie=via_cookie,
    )
