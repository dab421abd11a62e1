"""Accounts use cases: organisations, teams, people, machine keys, sign-in and sessions.

Secrets are only ever stored hashed: passwords with argon2id, session tokens and API keys with
SHA-256 (they are long random strings, so a fast hash is enough and lookups stay cheap). A
plaintext secret is returned once, to the caller that created it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn

from metropilot.accounts import passwords, queries, repository, totp
from metropilot.accounts.model import (
    TOTP_ROLES,
    ApiKey,
    KeyScope,
    Organisation,
    OrganisationKind,
    OrganisationSaved,
    Role,
    Sector,
    Team,
    User,
    validate_password,
    validate_username,
)
from metropilot.accounts.policy import Principal
from metropilot.accounts.repository import StoredUser
from metropilot.db.uow import UnitOfWork, UnitOfWorkFactory
from metropilot.shared.actors import Actor, ActorKind
from metropilot.shared.audit import AuditEntry
from metropilot.shared.clock import utcnow
from metropilot.shared.errors import Conflict, DomainError, InvalidInput, NotFound
from metropilot.territory import queries as territory_queries

__all__ = [
    "AccountLocked",
    "AuthenticationFailed",
    "LastUse",
    "LoginPolicy",
    "OrganisationSaved",
    "ResolvedKey",
    "ResolvedSession",
    "SecondFactorRequired",
    "close_session",
    "create_key",
    "create_team",
    "create_user",
    "disable_totp",
    "enable_totp",
    "get_organisation",
    "list_keys",
    "list_organisations",
    "list_users",
    "open_session",
    "organisation_ids",
    "record_login",
    "resolve_key",
    "resolve_session",
    "revoke_key",
    "save_organisation",
    "set_password",
    "set_user_disabled",
    "verify_login",
]

SESSION_PREFIX = "mps_"
KEY_PREFIX = "mpk_"


class AuthenticationFailed(DomainError):
    code = "invalid_credentials"
    http_status = 401


class SecondFactorRequired(AuthenticationFailed):
    code = "totp_required"


class AccountLocked(DomainError):
    code = "account_locked"
    http_status = 403


@dataclass(frozen=True, slots=True)
class LoginPolicy:
    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=15)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# --- organisations and teams ---------------------------------------------------------------


def list_organisations(
    uow: UnitOfWork,
    *,
    kind: OrganisationKind | None = None,
    sector: Sector | None = None,
    commune_insee: str | None = None,
) -> list[Organisation]:
    return repository.list_organisations(
        uow.connection, kind=kind, sector=sector, commune_insee=commune_insee
    )


def get_organisation(uow: UnitOfWork, code: str) -> Organisation:
    org = repository.get_organisation_by_code(uow.connection, code)
    if org is None:
        raise NotFound(f"no organisation with code {code!r}")
    return org


def organisation_ids(uow: UnitOfWork, codes: list[str], where: str) -> list[int]:
    """Resolve organisation codes to ids; an unknown code is an error naming it."""
    ids = []
    for code in codes:
        org = repository.get_organisation_by_code(uow.connection, code)
        if org is None or org.id is None:
            raise InvalidInput(
                f"{where}: unknown organisation {code!r}", code="unknown_organisation"
            )
        ids.append(org.id)
    return ids


def save_organisation(uow: UnitOfWork, org: Organisation, actor: Actor) -> Organisation:
    if org.commune_insee is not None:
        known = territory_queries.commune_codes(uow.connection)
        if org.commune_insee not in known:
            raise InvalidInput(f"organisation {org.code!r}: unknown commune {org.commune_insee!r}")
    before = repository.get_organisation_by_code(uow.connection, org.code)
    saved = repository.save_organisation(uow.connection, org)
    changes = {
        name: [getattr(before, name, None) if before else None, getattr(org, name)]
        for name in ("name", "kind", "sector", "commune_insee")
        if before is None or getattr(before, name) != getattr(org, name)
    }
    if changes:
        uow.audit(
            AuditEntry(
                actor,
                "organisation.created" if before is None else "organisation.updated",
                "organisation",
                org.code,
                changes,
            )
        )
    uow.record(OrganisationSaved(code=org.code, actor=actor.label()))
    return saved


def create_team(uow: UnitOfWork, team: Team, actor: Actor) -> Team:
    org = get_organisation(uow, team.organisation)
    if repository.get_team(uow.connection, team.code) is not None:
        raise Conflict(f"a team with code {team.code!r} already exists")
    assert org.id is not None
    team.id = repository.insert_team(uow.connection, team, org.id)
    uow.audit(
        AuditEntry(
            actor,
            "team.created",
            "team",
            team.code,
            {"name": [None, team.name], "organisation": [None, team.organisation]},
        )
    )
    return team


# --- people ----------------------------------------------------------------------------------


def list_users(uow: UnitOfWork, *, role: Role | None = None) -> list[User]:
    return repository.list_users(uow.connection, role=role)


def _stored_user(uow: UnitOfWork, username: str) -> StoredUser:
    stored = repository.get_user(uow.connection, username=validate_username(username))
    if stored is None:
        raise NotFound(f"no user named {username!r}")
    return stored


def create_user(uow: UnitOfWork, user: User, password: str, actor: Actor) -> User:
    validate_password(password, user.username)
    conn = uow.connection
    if repository.get_user(conn, username=user.username) is not None:
        raise Conflict(f"a user named {user.username!r} already exists")
    org = get_organisation(uow, user.organisation) if user.organisation else None
    if user.role is Role.CONTRACTOR and (
        org is None or org.kind is not OrganisationKind.CONTRACTOR
    ):
        raise InvalidInput(
            f"a contractor account belongs to a contractor, not {user.organisation!r}"
        )
    if (
        user.role is Role.COMMUNE_AGENT
        and org is not None
        and org.kind is OrganisationKind.CONTRACTOR
    ):
        raise InvalidInput("a commune agent works for a public service, not a contractor")
    team_id = None
    if user.team:
        team = repository.get_team(conn, user.team)
        if team is None:
            raise InvalidInput(f"unknown team {user.team!r}")
        if team.organisation != user.organisation:
            raise InvalidInput(f"team {team.code!r} belongs to {team.organisation!r}")
        team_id = team.id
    known = territory_queries.commune_codes(conn)
    unknown = [c for c in user.communes if c not in known]
    if unknown:
        raise InvalidInput(f"unknown commune(s) {', '.join(unknown)}", code="unknown_commune")
    user.id = repository.insert_user(
        conn,
        user,
        password_hash=passwords.hash_password(password),
        organisation_id=org.id if org else None,
        team_id=team_id,
        now=utcnow(),
    )
    uow.audit(
        AuditEntry(
            actor,
            "user.created",
            "user",
            user.username,
            {
                "role": [None, user.role.value],
                "organisation": [None, user.organisation],
                "communes": [None, list(user.communes)],
                "team": [None, user.team],
            },
        )
    )
    return user


def set_user_disabled(uow: UnitOfWork, username: str, disabled: bool, actor: Actor) -> User:
    """Disabling also ends every open session of the account at once."""
    stored = _stored_user(uow, username)
    user = stored.user
    assert user.id is not None
    if user.disabled != disabled:
        now = utcnow()
        repository.update_user(uow.connection, user.id, disabled=disabled)
        if disabled:
            repository.revoke_sessions_of(uow.connection, user.id, now)
        uow.audit(
            AuditEntry(
                actor,
                "user.disabled" if disabled else "user.enabled",
                "user",
                user.username,
                {"disabled": [user.disabled, disabled]},
            )
        )
        user.disabled = disabled
    return user


def set_password(uow: UnitOfWork, username: str, password: str, actor: Actor) -> None:
    stored = _stored_user(uow, username)
    validate_password(password, stored.user.username)
    assert stored.user.id is not None
    repository.update_user(
        uow.connection,
        stored.user.id,
        password_hash=passwords.hash_password(password),
        failed_logins=0,
        locked_until=None,
    )
    repository.revoke_sessions_of(uow.connection, stored.user.id, utcnow())
    uow.audit(AuditEntry(actor, "user.password_changed", "user", stored.user.username))


def enable_totp(uow: UnitOfWork, username: str, actor: Actor) -> str:
    """Give the account a new second-factor secret; returns it once (for the authenticator)."""
    stored = _stored_user(uow, username)
    if stored.user.role not in TOTP_ROLES:
        raise InvalidInput(
            f"a second factor is offered to {', '.join(sorted(r.value for r in TOTP_ROLES))}"
        )
    assert stored.user.id is not None
    secret = totp.new_secret()
    repository.update_user(uow.connection, stored.user.id, totp_secret=secret, totp_last_step=None)
    uow.audit(
        AuditEntry(
            actor, "user.totp_enabled", "user", stored.user.username, {"totp": [False, True]}
        )
    )
    return secret


def disable_totp(uow: UnitOfWork, username: str, actor: Actor) -> None:
    """Remove an account's second factor (a lost phone); the next sign-in needs only the password,
    so give the account a new secret with ``enable_totp`` soon after."""
    stored = _stored_user(uow, username)
    assert stored.user.id is not None
    if stored.totp_secret is None:
        raise InvalidInput(f"{stored.user.username!r} has no second factor")
    repository.update_user(uow.connection, stored.user.id, totp_secret=None, totp_last_step=None)
    uow.audit(
        AuditEntry(
            actor, "user.totp_disabled", "user", stored.user.username, {"totp": [True, False]}
        )
    )


# --- signing in ------------------------------------------------------------------------------


GENERIC_FAILURE = "wrong username, password or code"


def verify_login(
    uow_factory: UnitOfWorkFactory,
    username: str,
    password: str,
    totp_code: str | None,
    *,
    policy: LoginPolicy,
    now: datetime | None = None,
) -> StoredUser:
    """Check credentials, counting failures and locking the account after too many.

    The slow password check runs outside any write transaction (on SQLite a write transaction
    would stop every other writer meanwhile). The counters are then updated under a row lock
    (PostgreSQL; SQLite's write lock serialises anyway), so parallel guesses all count and a
    second-factor code is accepted once. Every failure answers the same words, whether the
    account exists or not, and failures are committed (and audited) before the error is raised.
    """
    now = now or utcnow()
    try:
        name = validate_username(username)
    except InvalidInput:
        name = None
    with uow_factory() as uow:
        found = repository.get_user(uow.connection, username=name) if name else None
    if found is None:
        _refuse_unknown(uow_factory, name, password)
    password_ok = passwords.verify_password(found.password_hash, password)
    with uow_factory(write=True) as uow:
        stored = repository.get_user(uow.connection, user_id=found.user.id, for_update=True)
        assert stored is not None
        user_id = stored.user.id
        assert user_id is not None
        if stored.locked_until is not None and stored.locked_until > now:
            raise AccountLocked(
                f"too many failed sign-ins: account locked until {stored.locked_until:%H:%M} UTC"
            )
        step = _second_factor_step(stored, totp_code, now) if password_ok else None
        if not password_ok or (stored.totp_secret is not None and step is None):
            _count_failure(uow, stored, policy, now)
        if stored.user.disabled:
            raise AuthenticationFailed(GENERIC_FAILURE)
        values: dict[str, object] = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
        if step is not None:
            values["totp_last_step"] = step
        if passwords.needs_rehash(stored.password_hash):
            values["password_hash"] = passwords.hash_password(password)
        repository.update_user(uow.connection, user_id, **values)
        uow.commit()
    return stored


def _refuse_unknown(uow_factory: UnitOfWorkFactory, name: str | None, password: str) -> NoReturn:
    """No such account: as long as a password check, audited, then the same words as any
    other failure."""
    passwords.waste_time(password)
    with uow_factory(write=True) as uow:
        unknown = Actor(ActorKind.ANONYMOUS, (name or "?")[:63])
        uow.audit(AuditEntry(unknown, "user.login_failed", "user", (name or "?")[:63]))
        uow.commit()
    raise AuthenticationFailed(GENERIC_FAILURE)


def _second_factor_step(stored: StoredUser, totp_code: str | None, now: datetime) -> int | None:
    """The time step the account's second-factor code matches (None: no second factor, a wrong
    code, or a code already used); SecondFactorRequired when the code is missing."""
    if stored.totp_secret is None:
        return None
    if not totp_code:
        raise SecondFactorRequired("this account needs the code from its authenticator app")
    step = totp.matching_step(stored.totp_secret, totp_code, now.timestamp())
    if step is not None and stored.totp_last_step is not None and step <= stored.totp_last_step:
        return None  # a code already used: replay
    return step


def _count_failure(
    uow: UnitOfWork, stored: StoredUser, policy: LoginPolicy, now: datetime
) -> NoReturn:
    """Count a failed sign-in (locking the account after too many), commit it with its audit
    entry, and refuse."""
    user = stored.user
    assert user.id is not None
    actor = Actor(
        ActorKind.USER, user.username, user.id, user.organisation, user.organisation_sector
    )
    failures = repository.count_failed_login(uow.connection, user.id)
    action = "user.login_failed"
    if failures >= policy.max_failures:
        repository.update_user(
            uow.connection, user.id, locked_until=now + policy.lockout, failed_logins=0
        )
        action = "user.locked"
    uow.audit(
        AuditEntry(
            actor, action, "user", user.username, {"failed_logins": [failures - 1, failures]}
        )
    )
    uow.commit()
    if action == "user.locked":
        minutes = int(policy.lockout.total_seconds() // 60)
        raise AccountLocked(f"too many failed sign-ins: account locked for {minutes} minutes")
    raise AuthenticationFailed(GENERIC_FAILURE)


def record_login(uow: UnitOfWork, stored: StoredUser, via: str) -> None:
    user = stored.user
    actor = Actor(
        ActorKind.USER, user.username, user.id, user.organisation, user.organisation_sector
    )
    uow.audit(AuditEntry(actor, "user.login", "user", user.username, {"via": [None, via]}))


def open_session(
    uow: UnitOfWork,
    stored: StoredUser,
    *,
    kind: str,
    lifetime: timedelta,
    now: datetime | None = None,
) -> tuple[str, str | None]:
    """A new session (browser cookie) or bearer token; returns (token, csrf token or None)."""
    now = now or utcnow()
    token = SESSION_PREFIX + secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32) if kind == "session" else None
    assert stored.user.id is not None
    repository.insert_session(
        uow.connection,
        token_hash=_sha256(token),
        user_id=stored.user.id,
        kind=kind,
        csrf_token=csrf,
        created_at=now,
        expires_at=now + lifetime,
        last_seen_at=now,
    )
    return token, csrf


class LastUse:
    """When this process last saw each session and API key used, kept in memory and written to
    the database in one transaction from time to time (`write`, by the server's housekeeping).

    A request only notes the time here: it never waits for the database's writer to say it was
    seen (two operators at once once froze the server that way). The idle timeout of a session
    counts from the newer of the stored time and the time noted here, so a session in use never
    expires between two writes; a process that stops abruptly loses at most one interval of
    "last used" times, never a sign-in or a revocation.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[int, datetime] = {}
        self._keys: dict[int, datetime] = {}

    def session_used(self, session_id: int, at: datetime) -> None:
        with self._lock:
            if self._sessions.get(session_id, at) <= at:
                self._sessions[session_id] = at

    def key_used(self, key_id: int, at: datetime) -> None:
        with self._lock:
            if self._keys.get(key_id, at) <= at:
                self._keys[key_id] = at

    def session_seen(self, session_id: int) -> datetime | None:
        """The use of a session noted here and not written yet, if any."""
        with self._lock:
            return self._sessions.get(session_id)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._sessions) + len(self._keys)

    def write(self, uow_factory: UnitOfWorkFactory) -> int:
        """Write the noted times (each only where newer than the stored one) in one transaction;
        returns how many. What fails to be written is kept for the next time."""
        with self._lock:
            sessions, self._sessions = self._sessions, {}
            keys, self._keys = self._keys, {}
        if not sessions and not keys:
            return 0
        try:
            with uow_factory(write=True) as uow:
                repository.record_last_use(uow.connection, sessions, keys)
                uow.commit()
        except BaseException:
            for session_id, at in sessions.items():
                self.session_used(session_id, at)
            for key_id, at in keys.items():
                self.key_used(key_id, at)
            raise
        return len(sessions) + len(keys)


@dataclass(frozen=True, slots=True)
class ResolvedSession:
    principal: Principal
    csrf_token: str | None


def resolve_session(
    uow: UnitOfWork,
    token: str,
    *,
    kind: str,
    idle: timedelta,
    now: datetime | None = None,
    last_use: LastUse | None = None,
) -> ResolvedSession | None:
    """The principal behind a token, or None if it is unknown, expired, idle, revoked, or its
    account is disabled. ``last_use``: this process's uses not written yet (they count for the
    idle timeout); the use is noted there."""
    now = now or utcnow()
    if not token.startswith(SESSION_PREFIX):
        return None
    row = repository.get_session(uow.connection, _sha256(token))
    if row is None or row.kind != kind or row.revoked_at is not None:
        return None
    last_seen = row.last_seen_at
    noted = last_use.session_seen(row.id) if last_use is not None else None
    if noted is not None and noted > last_seen:
        last_seen = noted
    if row.expires_at <= now or last_seen + idle <= now:
        return None
    stored = repository.get_user(uow.connection, user_id=row.user_id)
    if stored is None or stored.user.disabled:
        return None
    if last_use is not None:
        last_use.session_used(row.id, now)
    principal = _principal(stored, session_id=row.id, via_cookie=kind == "session")
    return ResolvedSession(principal, row.csrf_token)


def close_session(uow: UnitOfWork, principal: Principal) -> None:
    if principal.session_id is not None:
        repository.update_session(uow.connection, principal.session_id, revoked_at=utcnow())
        uow.audit(
            AuditEntry(
                principal.actor(),
                "user.signed_out",
                "user",
                principal.name,
                {"session": [principal.session_id, None]},
            )
        )


def _principal(stored: StoredUser, *, session_id: int | None, via_cookie: bool) -> Principal:
    return queries.principal_of(stored, session_id=session_id, via_cookie=via_cookie)


# --- machine keys ----------------------------------------------------------------------------


def list_keys(uow: UnitOfWork) -> list[ApiKey]:
    return repository.list_keys(uow.connection)


def create_key(
    uow: UnitOfWork,
    name: str,
    scopes: list[KeyScope],
    actor: Actor,
    *,
    organisation: str | None = None,
) -> tuple[ApiKey, str]:
    """A new key; returns it with its plaintext, which is shown once and never stored."""
    name = name.strip()
    if not name or len(name) > 120:
        raise InvalidInput("a key needs a name of 1-120 characters")
    if not scopes:
        raise InvalidInput("a key needs at least one scope")
    org = None
    if organisation:
        org = repository.get_organisation_by_code(uow.connection, organisation)
    if organisation and org is None:
        raise InvalidInput(f"unknown organisation {organisation!r}", code="unknown_organisation")
    known = territory_queries.commune_codes(uow.connection)
    for scope in scopes:
        unknown = [c for c in scope.communes if c not in known]
        if unknown:
            raise InvalidInput(
                f"scope {scope.as_text()!r}: unknown commune(s) {', '.join(unknown)}"
            )
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    plaintext = f"{KEY_PREFIX}{prefix}_{secret}"
    now = utcnow()
    key = ApiKey(
        name=name,
        prefix=prefix,
        scopes=tuple(scopes),
        organisation=organisation,
        created_at=now,
        created_by=actor.label(),
    )
    key.id = repository.insert_key(
        uow.connection,
        key,
        secret_hash=_sha256(plaintext),
        organisation_id=org.id if org else None,
        now=utcnow(),
    )
    uow.audit(
        AuditEntry(
            actor,
            "api_key.created",
            "api_key",
            str(key.id),
            {
                "name": [None, name],
                "scopes": [None, [s.as_text() for s in scopes]],
                "organisation": [None, organisation],
            },
        )
    )
    return key, plaintext


def revoke_key(uow: UnitOfWork, key_id: int, actor: Actor) -> ApiKey:
    key = repository.get_key(uow.connection, key_id)
    if key is None:
        raise NotFound(f"no API key with id {key_id}")
    if key.revoked_at is None:
        now = utcnow()
        repository.update_key(uow.connection, key_id, revoked_at=now)
        uow.audit(
            AuditEntry(actor, "api_key.revoked", "api_key", str(key_id), {"revoked": [False, True]})
        )
        key.revoked_at = now
    return key


@dataclass(frozen=True, slots=True)
class ResolvedKey:
    principal: Principal
    key_id: int


def resolve_key(
    uow: UnitOfWork, plaintext: str, now: datetime | None = None, last_use: LastUse | None = None
) -> ResolvedKey | None:
    """The principal behind an API key, or None when unknown or revoked (checked on every
    request, so a revocation takes effect at once); the use is noted in ``last_use``."""
    now = now or utcnow()
    if not plaintext.startswith(KEY_PREFIX):
        return None
    prefix, _, _ = plaintext[len(KEY_PREFIX) :].partition("_")
    found = repository.get_key_by_prefix(uow.connection, prefix)
    if found is None:
        return None
    key, secret_hash = found
    if not hmac.compare_digest(secret_hash, _sha256(plaintext)) or not key.active:
        return None
    org = (
        repository.get_organisation_by_code(uow.connection, key.organisation)
        if key.organisation
        else None
    )
    assert key.id is not None
    principal = Principal(
        kind=ActorKind.API_KEY,
        name=key.name,
        id=key.id,
        organisation=key.organisation,
        organisation_id=org.id if org else None,
        organisation_kind=org.kind if org else None,
        organisation_commune=org.commune_insee if org else None,
        sector=org.sector.value if org else None,
        key_scopes=key.scopes,
    )
    if last_use is not None:
        last_use.key_used(key.id, now)
    return ResolvedKey(principal, key.id)
