"""Storage of organisations."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    bindparam,
    false,
    insert,
    or_,
    select,
)
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select

from metropilot.accounts.model import (
    ApiKey,
    KeyScope,
    Organisation,
    OrganisationKind,
    Role,
    Sector,
    Team,
    User,
)
from metropilot.db.schema import JSONDocument, UTCDateTime, metadata

__all__ = [
    "StoredUser",
    "api_keys",
    "auth_sessions",
    "count_failed_login",
    "get_key",
    "get_key_by_prefix",
    "get_organisation_by_code",
    "get_session",
    "get_team",
    "get_user",
    "insert_key",
    "insert_session",
    "insert_team",
    "insert_user",
    "list_keys",
    "list_organisations",
    "list_users",
    "organisations",
    "record_last_use",
    "revoke_sessions_of",
    "save_organisation",
    "teams",
    "update_key",
    "update_session",
    "update_user",
    "user_communes",
    "users",
]

organisations = Table(
    "organisations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(63), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("sector", String(16), nullable=False),
    Column("commune_insee", String(5), ForeignKey("communes.insee"), index=True),
)


def _to_domain(row: Any) -> Organisation:
    return Organisation(
        id=row.id,
        code=row.code,
        name=row.name,
        kind=OrganisationKind(row.kind),
        sector=Sector(row.sector),
        commune_insee=row.commune_insee,
    )


def list_organisations(
    conn: Connection,
    *,
    kind: OrganisationKind | None = None,
    sector: Sector | None = None,
    commune_insee: str | None = None,
    codes: list[str] | None = None,
) -> list[Organisation]:
    query = select(organisations).order_by(organisations.c.code)
    if codes is not None:
        query = query.where(organisations.c.code.in_(codes))
    if kind is not None:
        query = query.where(organisations.c.kind == kind.value)
    if sector is not None:
        query = query.where(organisations.c.sector == sector.value)
    if commune_insee is not None:
        query = query.where(organisations.c.commune_insee == commune_insee)
    return [_to_domain(row) for row in conn.execute(query)]


def get_organisation_by_code(conn: Connection, code: str) -> Organisation | None:
    row = conn.execute(select(organisations).where(organisations.c.code == code)).first()
    return _to_domain(row) if row else None


def save_organisation(conn: Connection, org: Organisation) -> Organisation:
    """Insert or update by code; returns the organisation with its id."""
    values = {
        "name": org.name,
        "kind": org.kind.value,
        "sector": org.sector.value,
        "commune_insee": org.commune_insee,
    }
    existing = conn.execute(
        select(organisations.c.id).where(organisations.c.code == org.code)
    ).scalar()
    if existing is not None:
        conn.execute(organisations.update().where(organisations.c.id == existing).values(**values))
        org.id = int(existing)
    else:
        org.id = int(
            conn.execute(
                insert(organisations).values(code=org.code, **values).returning(organisations.c.id)
            ).scalar_one()
        )
    return org


teams = Table(
    "teams",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(63), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("organisation_id", Integer, ForeignKey("organisations.id"), nullable=False, index=True),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(63), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False, server_default=""),
    Column("email", String(254)),
    Column("role", String(32), nullable=False),
    Column("organisation_id", Integer, ForeignKey("organisations.id"), index=True),
    Column("team_id", Integer, ForeignKey("teams.id"), index=True),
    Column("password_hash", String(255), nullable=False),
    Column("disabled", Boolean, nullable=False, server_default=false()),
    Column("totp_secret", String(64)),
    Column("totp_last_step", BigInteger),
    Column("failed_logins", Integer, nullable=False, server_default="0"),
    Column("locked_until", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_login_at", UTCDateTime),
)

user_communes = Table(
    "user_communes",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
    Column("commune_insee", String(5), ForeignKey("communes.insee"), primary_key=True),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(120), nullable=False),
    Column("prefix", String(16), nullable=False, unique=True),
    Column("secret_hash", String(64), nullable=False),
    Column("scopes", JSONDocument, nullable=False),
    Column("organisation_id", Integer, ForeignKey("organisations.id"), index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(160), nullable=False),
    Column("revoked_at", UTCDateTime),
    Column("last_used_at", UTCDateTime),
)

auth_sessions = Table(
    "auth_sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # "session" (browser cookie) or "bearer"
    Column("csrf_token", String(64)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
)


@dataclass(frozen=True, slots=True)
class StoredUser:
    """A user as the authentication code needs it: the domain user plus its secrets."""

    user: User
    password_hash: str
    totp_secret: str | None
    totp_last_step: int | None
    failed_logins: int
    locked_until: datetime | None
    organisation_id: int | None
    organisation_commune: str | None


_user_org = organisations.alias("user_org")


def _user_select() -> Select[Any]:
    return (
        select(
            users,
            _user_org.c.code.label("org_code"),
            _user_org.c.kind.label("org_kind"),
            _user_org.c.sector.label("org_sector"),
            _user_org.c.commune_insee.label("org_commune"),
            teams.c.code.label("team_code"),
        )
        .select_from(users)
        .outerjoin(_user_org, _user_org.c.id == users.c.organisation_id)
        .outerjoin(teams, teams.c.id == users.c.team_id)
    )


def _communes_of(conn: Connection, user_ids: list[int]) -> dict[int, tuple[str, ...]]:
    found: dict[int, list[str]] = {}
    if user_ids:
        query = (
            select(user_communes.c.user_id, user_communes.c.commune_insee)
            .where(user_communes.c.user_id.in_(user_ids))
            .order_by(user_communes.c.commune_insee)
        )
        for user_id, insee in conn.execute(query):
            found.setdefault(int(user_id), []).append(str(insee))
    return {k: tuple(v) for k, v in found.items()}


def _stored(row: Any, communes: tuple[str, ...]) -> StoredUser:
    user = User(
        id=row.id,
        username=row.username,
        role=Role(row.role),
        organisation=row.org_code,
        display_name=row.display_name,
        email=row.email,
        communes=communes,
        team=row.team_code,
        disabled=bool(row.disabled),
        totp_enabled=row.totp_secret is not None,
        organisation_sector=row.org_sector,
        organisation_kind=row.org_kind,
    )
    return StoredUser(
        user=user,
        password_hash=row.password_hash,
        totp_secret=row.totp_secret,
        totp_last_step=row.totp_last_step,
        failed_logins=row.failed_logins,
        locked_until=row.locked_until,
        organisation_id=row.organisation_id,
        organisation_commune=row.org_commune,
    )


def get_user(
    conn: Connection,
    *,
    user_id: int | None = None,
    username: str | None = None,
    for_update: bool = False,
) -> StoredUser | None:
    query = _user_select()
    if for_update:  # PostgreSQL locks the user's row; SQLite's writer already holds the lock
        query = query.with_for_update(of=users)
    if user_id is not None:
        query = query.where(users.c.id == user_id)
    else:
        query = query.where(users.c.username == username)
    row = conn.execute(query).first()
    if row is None:
        return None
    return _stored(row, _communes_of(conn, [row.id]).get(row.id, ()))


def list_users(
    conn: Connection, *, role: Role | None = None, organisation_id: int | None = None
) -> list[User]:
    query = _user_select().order_by(users.c.username)
    if role is not None:
        query = query.where(users.c.role == role.value)
    if organisation_id is not None:
        query = query.where(users.c.organisation_id == organisation_id)
    rows = list(conn.execute(query))
    communes = _communes_of(conn, [r.id for r in rows])
    return [_stored(r, communes.get(r.id, ())).user for r in rows]


def insert_user(
    conn: Connection,
    user: User,
    *,
    password_hash: str,
    organisation_id: int | None,
    team_id: int | None,
    now: datetime,
) -> int:
    user_id = int(
        conn.execute(
            insert(users)
            .values(
                username=user.username,
                display_name=user.display_name,
                email=user.email,
                role=user.role.value,
                organisation_id=organisation_id,
                team_id=team_id,
                password_hash=password_hash,
                disabled=user.disabled,
                created_at=now,
            )
            .returning(users.c.id)
        ).scalar_one()
    )
    if user.communes:
        conn.execute(
            insert(user_communes), [{"user_id": user_id, "commune_insee": c} for c in user.communes]
        )
    return user_id


def count_failed_login(conn: Connection, user_id: int) -> int:
    """Add one failed sign-in atomically; returns the new count."""
    conn.execute(
        users.update().where(users.c.id == user_id).values(failed_logins=users.c.failed_logins + 1)
    )
    return int(
        conn.execute(select(users.c.failed_logins).where(users.c.id == user_id)).scalar_one()
    )


def update_user(conn: Connection, user_id: int, **values: Any) -> None:
    conn.execute(users.update().where(users.c.id == user_id).values(**values))


def get_team(conn: Connection, code: str) -> Team | None:
    row = conn.execute(
        select(teams.c.id, teams.c.code, teams.c.name, organisations.c.code.label("org"))
        .join(organisations, organisations.c.id == teams.c.organisation_id)
        .where(teams.c.code == code)
    ).first()
    return Team(id=row.id, code=row.code, name=row.name, organisation=row.org) if row else None


def insert_team(conn: Connection, team: Team, organisation_id: int) -> int:
    return int(
        conn.execute(
            insert(teams)
            .values(code=team.code, name=team.name, organisation_id=organisation_id)
            .returning(teams.c.id)
        ).scalar_one()
    )


def _key_from_row(row: Any) -> ApiKey:
    return ApiKey(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        scopes=tuple(
            KeyScope(s["permission"], tuple(s.get("kinds", ())), tuple(s.get("communes", ())))
            for s in row.scopes
        ),
        organisation=row.org_code,
        created_at=row.created_at,
        created_by=row.created_by,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


def _key_select() -> Select[Any]:
    return (
        select(api_keys, organisations.c.code.label("org_code"))
        .select_from(api_keys)
        .outerjoin(organisations, organisations.c.id == api_keys.c.organisation_id)
    )


def get_key_by_prefix(conn: Connection, prefix: str) -> tuple[ApiKey, str] | None:
    """The key and its stored secret hash."""
    row = conn.execute(_key_select().where(api_keys.c.prefix == prefix)).first()
    return (_key_from_row(row), str(row.secret_hash)) if row else None


def get_key(conn: Connection, key_id: int) -> ApiKey | None:
    row = conn.execute(_key_select().where(api_keys.c.id == key_id)).first()
    return _key_from_row(row) if row else None


def list_keys(conn: Connection) -> list[ApiKey]:
    return [_key_from_row(r) for r in conn.execute(_key_select().order_by(api_keys.c.id))]


def insert_key(
    conn: Connection, key: ApiKey, *, secret_hash: str, organisation_id: int | None, now: datetime
) -> int:
    scopes = [
        {"permission": s.permission, "kinds": list(s.kinds), "communes": list(s.communes)}
        for s in key.scopes
    ]
    return int(
        conn.execute(
            insert(api_keys)
            .values(
                name=key.name,
                prefix=key.prefix,
                secret_hash=secret_hash,
                scopes=scopes,
                organisation_id=organisation_id,
                created_at=now,
                created_by=key.created_by or "",
            )
            .returning(api_keys.c.id)
        ).scalar_one()
    )


def update_key(conn: Connection, key_id: int, **values: Any) -> None:
    conn.execute(api_keys.update().where(api_keys.c.id == key_id).values(**values))


def insert_session(conn: Connection, **values: Any) -> int:
    return int(
        conn.execute(
            insert(auth_sessions).values(**values).returning(auth_sessions.c.id)
        ).scalar_one()
    )


def get_session(conn: Connection, token_hash: str) -> Any:
    return conn.execute(
        select(auth_sessions).where(auth_sessions.c.token_hash == token_hash)
    ).first()


def update_session(conn: Connection, session_id: int, **values: Any) -> None:
    conn.execute(auth_sessions.update().where(auth_sessions.c.id == session_id).values(**values))


def record_last_use(
    conn: Connection, sessions: Mapping[int, datetime], keys: Mapping[int, datetime]
) -> None:
    """Move sessions' last-seen and keys' last-used times forward (never back)."""
    s, k = auth_sessions.c, api_keys.c
    if sessions:
        conn.execute(
            auth_sessions.update()
            .where(s.id == bindparam("session_id"), s.last_seen_at < bindparam("at"))
            .values(last_seen_at=bindparam("at")),
            [{"session_id": i, "at": at} for i, at in sessions.items()],
        )
    if keys:
        conn.execute(
            api_keys.update()
            .where(
                k.id == bindparam("key_id"),
                or_(k.last_used_at.is_(None), k.last_used_at < bindparam("at")),
            )
            .values(last_used_at=bindparam("at")),
            [{"key_id": i, "at": at} for i, at in keys.items()],
        )


def revoke_sessions_of(conn: Connection, user_id: int, now: datetime) -> None:
    conn.execute(
        auth_sessions.update()
        .where(auth_sessions.c.user_id == user_id, auth_sessions.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
