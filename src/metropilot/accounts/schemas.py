"""API shapes of organisations."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from metropilot.accounts.model import ApiKey, Organisation, OrganisationKind, Role, Sector, User

__all__ = [
    "KeyIn",
    "KeyOut",
    "MeOut",
    "NewKeyOut",
    "OrganisationOut",
    "TokenOut",
    "UserIn",
    "UserOut",
    "key_out",
    "organisation_out",
    "user_out",
]


class OrganisationOut(BaseModel):
    code: str
    name: str
    kind: OrganisationKind
    sector: Sector
    commune: str | None


def organisation_out(org: Organisation) -> OrganisationOut:
    return OrganisationOut(
        code=org.code, name=org.name, kind=org.kind, sector=org.sector, commune=org.commune_insee
    )


class UserOut(BaseModel):
    username: str
    display_name: str
    email: str | None
    role: Role
    organisation: str | None
    communes: list[str]
    team: str | None
    disabled: bool
    totp_enabled: bool


def user_out(user: User) -> UserOut:
    return UserOut(
        username=user.username,
        display_name=user.display_name,
        email=user.email,
        role=user.role,
        organisation=user.organisation,
        communes=list(user.communes),
        team=user.team,
        disabled=user.disabled,
        totp_enabled=user.totp_enabled,
    )


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str
    password: str = Field(min_length=1, description="At least 12 characters.")
    role: Role
    organisation: str | None = None
    communes: list[str] = Field(default_factory=list)
    team: str | None = None
    display_name: str = ""
    email: str | None = Field(default=None, max_length=254)


class KeyOut(BaseModel):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    organisation: str | None
    created_at: datetime | None
    created_by: str | None
    revoked_at: datetime | None
    last_used_at: datetime | None


def key_out(key: ApiKey) -> KeyOut:
    assert key.id is not None
    return KeyOut(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        scopes=[s.as_text() for s in key.scopes],
        organisation=key.organisation,
        created_at=key.created_at,
        created_by=key.created_by,
        revoked_at=key.revoked_at,
        last_used_at=key.last_used_at,
    )


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    scopes: list[str] = Field(
        min_length=1, examples=[["telemetry:write kind=streetlight commune=21231"]]
    )
    organisation: str | None = None


class NewKeyOut(KeyOut):
    key: str = Field(description="The key itself: shown this once, never again.")


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 (the OAuth2 token type, not a secret)
    expires_in: int


class MeOut(BaseModel):
    kind: str
    name: str
    role: Role | None
    organisation: str | None
    sector: str | None
    communes: list[str]
    team: str | None
    scopes: list[str]
