"""Who shares the platform: organisations, their people (users, roles, scopes) and machine keys."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from metropilot.shared.errors import InvalidInput
from metropilot.shared.events import DomainEvent

__all__ = [
    "PERMISSIONS",
    "PLACE_PERMISSIONS",
    "TOTP_ROLES",
    "ApiKey",
    "KeyScope",
    "Organisation",
    "OrganisationKind",
    "Role",
    "Sector",
    "Team",
    "User",
    "parse_scope",
    "validate_org_code",
    "validate_password",
    "validate_username",
]

CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,62}$")
MIN_PASSWORD_LENGTH = 12


class OrganisationKind(StrEnum):
    METROPOLITAN_SERVICE = "metropolitan_service"
    COMMUNE_SERVICE = "commune_service"
    CONTRACTOR = "contractor"


class Sector(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"


def validate_org_code(code: str) -> str:
    if not CODE_PATTERN.match(code):
        raise InvalidInput(
            f"organisation code must be 2-63 lowercase letters, digits or dashes, got {code!r}"
        )
    return code


@dataclass(slots=True)
class Organisation:
    code: str
    name: str
    kind: OrganisationKind
    sector: Sector
    commune_insee: str | None = None
    id: int | None = None

    def __post_init__(self) -> None:
        validate_org_code(self.code)
        if self.kind is OrganisationKind.COMMUNE_SERVICE and not self.commune_insee:
            raise InvalidInput(f"commune service {self.code!r} must name its commune")
        if self.kind is OrganisationKind.CONTRACTOR and self.sector is not Sector.PRIVATE:
            raise InvalidInput(f"contractor {self.code!r} must be private")
        if self.kind is not OrganisationKind.CONTRACTOR and self.sector is not Sector.PUBLIC:
            raise InvalidInput(f"public service {self.code!r} must be public")


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"  # contract and rules management
    OPERATOR = "operator"  # the command post, whole metropolis
    COMMUNE_AGENT = "commune_agent"  # one or more communes
    CONTRACTOR = "contractor"  # its organisation's equipment and work
    FIELD_AGENT = "field_agent"  # a team's missions
    CITIZEN = "citizen"


# Roles whose accounts can change the city: they may (and should) add a second factor.
TOTP_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.OPERATOR})

# The equipment kinds a key may be narrowed to (the registry's; repeated so the model stays pure
# of the assets context).
ASSET_KINDS = (
    "streetlight",
    "lighting_cabinet",
    "traffic_junction",
    "camera",
    "building",
    "bollard",
    "vehicle",
    "sensor",
)

# What a machine key may be allowed to do. Each may be narrowed to asset kinds and communes.
PERMISSIONS = {
    "telemetry:write": "send readings and events for equipment",
    "assets:read": "read the equipment registry",
    "assets:write": "create and update equipment",
    "open311:post": "post citizen reports on behalf of a client app",
    "reports:update": "push updates of citizen reports from a back-office (Open311 updates)",
}
# The permissions about citizen reports: narrowed to communes, never to asset kinds.
PLACE_PERMISSIONS = frozenset({"open311:post", "reports:update"})


def validate_username(username: str) -> str:
    username = username.strip().lower()
    if not USERNAME_PATTERN.match(username):
        raise InvalidInput(
            "username must be 2-63 characters: lowercase letters, digits, '.', '_', '@' or '-', "
            f"got {username!r}"
        )
    return username


def validate_password(password: str, username: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    if username and username.lower() in password.lower():
        raise InvalidInput("password must not contain the username")
    if len(set(password)) < 5:
        raise InvalidInput("password is too repetitive")


@dataclass(slots=True)
class Team:
    code: str
    name: str
    organisation: str  # organisation code
    id: int | None = None

    def __post_init__(self) -> None:
        validate_org_code(self.code)


@dataclass(slots=True)
class User:
    username: str
    role: Role
    organisation: str | None  # organisation code; None only for citizens
    display_name: str = ""
    email: str | None = None
    communes: tuple[str, ...] = ()  # commune agents: the INSEE codes they may see
    team: str | None = None  # field agents: their team's code
    disabled: bool = False
    totp_enabled: bool = False
    id: int | None = None
    organisation_sector: str | None = None
    organisation_kind: str | None = None

    def __post_init__(self) -> None:
        self.username = validate_username(self.username)
        if self.role is Role.COMMUNE_AGENT and not self.communes:
            raise InvalidInput(f"commune agent {self.username!r} needs at least one commune")
        if self.role is not Role.COMMUNE_AGENT and self.communes:
            raise InvalidInput(f"only commune agents are scoped to communes ({self.role.value})")
        if self.role is Role.FIELD_AGENT and not self.team:
            raise InvalidInput(f"field agent {self.username!r} needs a team")
        if self.role is not Role.CITIZEN and not self.organisation:
            raise InvalidInput(f"a {self.role.value} belongs to an organisation")
        if self.totp_enabled and self.role not in TOTP_ROLES:
            raise InvalidInput(f"a second factor is offered to {', '.join(sorted(TOTP_ROLES))}")


@dataclass(frozen=True, slots=True)
class KeyScope:
    """One permission of a key, optionally narrowed to asset kinds and communes."""

    permission: str
    kinds: tuple[str, ...] = ()
    communes: tuple[str, ...] = ()

    def covers(self, permission: str, kind: str | None = None, commune: str | None = None) -> bool:
        if permission != self.permission:
            return False
        if self.kinds and kind is not None and kind not in self.kinds:
            return False
        return not (self.communes and commune is not None and commune not in self.communes)

    def as_text(self) -> str:
        parts = [self.permission]
        if self.kinds:
            parts.append("kind=" + ",".join(self.kinds))
        if self.communes:
            parts.append("commune=" + ",".join(self.communes))
        return " ".join(parts)


def parse_scope(text: str) -> KeyScope:
    """``telemetry:write``, ``telemetry:write kind=streetlight,camera commune=21231``."""
    tokens = text.split()
    if not tokens:
        raise InvalidInput("a scope needs a permission")
    permission, *restrictions = tokens
    if permission not in PERMISSIONS:
        raise InvalidInput(
            f"unknown permission {permission!r}; known: {', '.join(sorted(PERMISSIONS))}"
        )
    kinds: tuple[str, ...] = ()
    communes: tuple[str, ...] = ()
    for token in restrictions:
        key, sep, value = token.partition("=")
        values = tuple(v for v in value.split(",") if v)
        if not sep or not values or key not in ("kind", "commune"):
            raise InvalidInput(
                f"scope restriction must be kind=a,b or commune=INSEE,…; got {token!r}"
            )
        if key == "kind":
            unknown = [v for v in values if v not in ASSET_KINDS]
            if unknown:
                raise InvalidInput(
                    f"scope restriction kind={','.join(unknown)}: unknown kind; known: "
                    + ", ".join(ASSET_KINDS)
                )
            kinds = values
        else:
            communes = values
    if kinds and permission in PLACE_PERMISSIONS:
        raise InvalidInput(
            f"{permission} concerns citizen reports, which have a commune but no asset kind: "
            "narrow it with commune= only"
        )
    return KeyScope(permission, kinds, communes)


@dataclass(slots=True)
class ApiKey:
    name: str
    prefix: str
    scopes: tuple[KeyScope, ...]
    organisation: str | None = None
    id: int | None = None
    created_at: datetime | None = None
    created_by: str | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def allows(self, permission: str, kind: str | None = None, commune: str | None = None) -> bool:
        return self.active and any(s.covers(permission, kind, commune) for s in self.scopes)


# --- events -------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class OrganisationSaved(DomainEvent):
    code: str
    actor: str
