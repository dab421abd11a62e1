"""Authorisation in one place: who may reach an endpoint and what part of the city they see.

Every route declares its audiences; every query that lists or fetches equipment, cases, work
orders or citizen reports takes the scope computed here, so a commune agent's SQL only ever reads
its communes. Writes take the same scopes: an object a write names is looked up through the query
that reads it, so outside the caller's scope it does not exist (404) for the write either. Pure:
no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from metropilot.accounts.model import KeyScope, OrganisationKind, Role
from metropilot.shared.actors import Actor, ActorKind
from metropilot.shared.errors import Forbidden
from metropilot.shared.scope import ALL_WORK, UNRESTRICTED, Scope, WorkScope

__all__ = [
    "ANONYMOUS",
    "WHOLE_CITY_ROLES",
    "Principal",
    "asset_scope",
    "case_scope",
    "may_access",
    "report_scope",
    "require_permission",
    "telemetry_scope",
    "work_order_scope",
]

# Roles that see the whole metropolis.
WHOLE_CITY_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.OPERATOR})


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller of one request (or the anonymous public)."""

    kind: ActorKind
    name: str
    id: int | None = None
    role: Role | None = None
    organisation: str | None = None
    organisation_id: int | None = None
    organisation_kind: OrganisationKind | None = None
    organisation_commune: str | None = None
    sector: str | None = None
    communes: tuple[str, ...] = ()
    team: str | None = None
    key_scopes: tuple[KeyScope, ...] = ()
    session_id: int | None = None  # the session or bearer token used, for logout
    via_cookie: bool = False  # browser session: state changes need the CSRF token

    @property
    def authenticated(self) -> bool:
        return self.kind is not ActorKind.ANONYMOUS

    def actor(self) -> Actor:
        return Actor(self.kind, self.name, self.id, self.organisation, self.sector)


ANONYMOUS = Principal(ActorKind.ANONYMOUS, "anonymous")


def may_access(principal: Principal, audiences: Iterable[str]) -> bool:
    """Whether the caller belongs to one of a route's audiences (``Audience`` values)."""
    allowed = set(audiences)
    if "public" in allowed:
        return True
    if principal.kind is ActorKind.API_KEY:
        return "device" in allowed
    return principal.role is not None and principal.role.value in allowed


def require_permission(
    principal: Principal, permission: str, *, kind: str | None = None, commune: str | None = None
) -> None:
    """For machine keys: refuse what the key's scopes do not cover. People pass (their role
    already decided the audience)."""
    if principal.kind is not ActorKind.API_KEY:
        return
    if not any(s.covers(permission, kind, commune) for s in principal.key_scopes):
        where = "".join(
            f" {label} {value}" for label, value in (("for", kind), ("in", commune)) if value
        )
        raise Forbidden(f"this key is not allowed {permission}{where}")


def asset_scope(principal: Principal) -> Scope:
    """The equipment a caller may see. Raises Forbidden for callers who see none."""
    if principal.kind is ActorKind.API_KEY:
        return _key_scope(principal, "assets:read")
    role = principal.role
    if role in WHOLE_CITY_ROLES:
        return UNRESTRICTED
    if role is Role.COMMUNE_AGENT:
        return Scope(communes=principal.communes)
    if role is Role.CONTRACTOR:
        return Scope(maintainer_ids=_own_organisation(principal))
    if role is Role.FIELD_AGENT:
        return _organisation_scope(principal)
    raise Forbidden("this account does not see the equipment registry")


def _own_organisation(principal: Principal) -> tuple[int, ...]:
    return (principal.organisation_id,) if principal.organisation_id is not None else ()


def _organisation_scope(principal: Principal) -> Scope:
    """A team sees what its organisation looks after: a commune service its commune, a
    contractor what it maintains, a metropolitan service the whole city."""
    if principal.organisation_kind is OrganisationKind.COMMUNE_SERVICE:
        communes = (principal.organisation_commune,) if principal.organisation_commune else ()
        return Scope(communes=communes)
    if principal.organisation_kind is OrganisationKind.CONTRACTOR:
        return Scope(maintainer_ids=_own_organisation(principal))
    return UNRESTRICTED


def telemetry_scope(principal: Principal) -> Scope:
    """The equipment a caller may send readings for: a key's ``telemetry:write`` scopes within
    what its organisation looks after, as ``asset_scope`` reads them; people send none (the
    platform's own simulator and MQTT consumer send without a principal)."""
    if principal.kind is not ActorKind.API_KEY:
        raise Forbidden("only device keys send telemetry")
    return _key_scope(principal, "telemetry:write")


def _key_scope(principal: Principal, permission: str) -> Scope:
    reads = [s for s in principal.key_scopes if s.permission == permission]
    if not reads:
        raise Forbidden(f"this key is not allowed {permission}")
    base = _organisation_scope(principal) if principal.organisation else UNRESTRICTED
    if any(not s.kinds and not s.communes for s in reads):
        return base  # one unrestricted read scope covers every other
    alternatives = tuple(Scope(communes=s.communes or None, kinds=s.kinds or None) for s in reads)
    return Scope(communes=base.communes, maintainer_ids=base.maintainer_ids, any_of=alternatives)


def case_scope(principal: Principal) -> WorkScope:
    """The cases a caller sees: a commune agent those of its communes, a contractor and a field
    agent those assigned to their organisation, the command post all. Raises Forbidden for
    callers who see none."""
    role = principal.role if principal.kind is not ActorKind.API_KEY else None
    if role in WHOLE_CITY_ROLES:
        return ALL_WORK
    if role is Role.COMMUNE_AGENT:
        return WorkScope(communes=principal.communes)
    if role in (Role.CONTRACTOR, Role.FIELD_AGENT):
        return WorkScope(organisation_ids=_own_organisation(principal))
    raise Forbidden("this account does not see cases")


def work_order_scope(principal: Principal) -> WorkScope:
    """The work orders a caller sees: those of the cases it sees (a work order goes to its
    case's team, so the same organisations and communes)."""
    return case_scope(principal)


def report_scope(principal: Principal, *, key_permission: str = "reports:update") -> WorkScope:
    """The citizen reports a caller follows up: a commune agent those of its communes, the
    command post all; a key those of the communes its scopes of ``key_permission`` name
    (``reports:update`` for a back-office's Open311 updates, ``open311:post`` for where a
    client app may report). Raises Forbidden for callers who follow up none."""
    if principal.kind is ActorKind.API_KEY:
        return _key_report_scope(principal, key_permission)
    if principal.role in WHOLE_CITY_ROLES:
        return ALL_WORK
    if principal.role is Role.COMMUNE_AGENT:
        return WorkScope(communes=principal.communes)
    raise Forbidden("this account does not follow up citizen reports")


def _key_report_scope(principal: Principal, permission: str) -> WorkScope:
    """A report has a commune, not an asset kind: a scope narrowed to kinds covers no report
    (keys can no longer be given one, ``model.PLACE_PERMISSIONS``), and a commune service's key
    keeps to its commune, as it does for the registry."""
    updates = [s for s in principal.key_scopes if s.permission == permission and not s.kinds]
    if not updates:
        raise Forbidden(f"this key is not allowed {permission}")
    communes: set[str] | None = set()
    for scope in updates:
        if not scope.communes:
            communes = None
            break
        assert communes is not None
        communes.update(scope.communes)
    if (
        principal.organisation_kind is OrganisationKind.COMMUNE_SERVICE
        and principal.organisation_commune
    ):
        own = {principal.organisation_commune}
        communes = own if communes is None else communes & own
    return WorkScope(communes=None if communes is None else tuple(sorted(communes)))
