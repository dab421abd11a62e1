"""HTTP: organisations, signing in, people and machine keys."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.security import OAuth2PasswordRequestForm

from metropilot.accounts import services
from metropilot.accounts.audience import PEOPLE, Audience, audience
from metropilot.accounts.auth import CurrentPrincipal
from metropilot.accounts.model import OrganisationKind, Role, Sector, User, parse_scope
from metropilot.accounts.schemas import (
    KeyIn,
    KeyOut,
    MeOut,
    NewKeyOut,
    OrganisationOut,
    TokenOut,
    UserIn,
    UserOut,
    key_out,
    organisation_out,
    user_out,
)
from metropilot.api.deps import ObjectId, SettingsDep, UowDep, WriteUowDep
from metropilot.api.formats import Page, list_envelope
from metropilot.api.ratelimit import client_address

__all__ = ["router"]

router = APIRouter()


@router.get(
    "/organisations",
    dependencies=[audience(Audience.PUBLIC)],
    summary="Metropolitan services, commune services and contractors",
    tags=["organisations"],
    response_model=Page[OrganisationOut],
)
def list_organisations(
    uow: UowDep,
    kind: OrganisationKind | None = Query(default=None),
    sector: Sector | None = Query(default=None),
    commune: str | None = Query(default=None, description="INSEE code"),
) -> Any:
    orgs = services.list_organisations(uow, kind=kind, sector=sector, commune_insee=commune)
    return list_envelope((organisation_out(o).model_dump() for o in orgs), None)


@router.post(
    "/auth/token",
    dependencies=[audience(Audience.PUBLIC)],
    summary="Sign in with a password (OAuth2 password form); returns a bearer token",
    tags=["auth"],
    response_model=TokenOut,
)
def issue_token(
    request: Request,
    settings: SettingsDep,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    totp: Annotated[str | None, Form(description="Authenticator code, when enabled.")] = None,
) -> TokenOut:
    request.app.state.login_limiter.hit(client_address(request))
    policy = services.LoginPolicy(
        settings.login_max_failures, timedelta(minutes=settings.login_lockout_minutes)
    )
    factory = request.app.state.uow_factory
    stored = services.verify_login(factory, form.username, form.password, totp, policy=policy)
    lifetime = timedelta(hours=settings.token_lifetime_hours)
    with factory(write=True) as uow:
        services.record_login(uow, stored, "token")
        token, _ = services.open_session(uow, stored, kind="bearer", lifetime=lifetime)
        uow.commit()
    return TokenOut(access_token=token, expires_in=int(lifetime.total_seconds()))


@router.post(
    "/auth/logout",
    dependencies=[audience(*PEOPLE)],
    summary="End the current session or revoke the current bearer token",
    tags=["auth"],
    status_code=204,
)
def logout(principal: CurrentPrincipal, uow: WriteUowDep) -> None:
    services.close_session(uow, principal)
    uow.commit()


@router.get(
    "/auth/me",
    dependencies=[audience(*PEOPLE, Audience.DEVICE)],
    summary="Who the platform takes the caller for, and what they may see",
    tags=["auth"],
    response_model=MeOut,
)
def me(principal: CurrentPrincipal) -> MeOut:
    return MeOut(
        kind=principal.kind.value,
        name=principal.name,
        role=principal.role,
        organisation=principal.organisation,
        sector=principal.sector,
        communes=list(principal.communes),
        team=principal.team,
        scopes=[s.as_text() for s in principal.key_scopes],
    )


@router.get(
    "/users",
    dependencies=[audience(Audience.ADMIN)],
    summary="Accounts",
    tags=["users"],
    response_model=Page[UserOut],
)
def list_users(uow: UowDep, role: Role | None = None) -> Any:
    return list_envelope(
        (user_out(u).model_dump() for u in services.list_users(uow, role=role)), None
    )


@router.post(
    "/users",
    dependencies=[audience(Audience.ADMIN)],
    summary="Create an account",
    tags=["users"],
    status_code=201,
    response_model=UserOut,
)
def create_user(body: UserIn, principal: CurrentPrincipal, uow: WriteUowDep) -> UserOut:
    user = User(
        username=body.username,
        role=body.role,
        organisation=body.organisation,
        display_name=body.display_name,
        email=body.email,
        communes=tuple(body.communes),
        team=body.team,
    )
    created = services.create_user(uow, user, body.password, principal.actor())
    uow.commit()
    return user_out(created)


@router.post(
    "/users/{username}/disable",
    dependencies=[audience(Audience.ADMIN)],
    summary="Disable an account and end its sessions at once",
    tags=["users"],
    response_model=UserOut,
)
def disable_user(username: str, principal: CurrentPrincipal, uow: WriteUowDep) -> UserOut:
    user = services.set_user_disabled(uow, username, True, principal.actor())
    uow.commit()
    return user_out(user)


@router.post(
    "/users/{username}/enable",
    dependencies=[audience(Audience.ADMIN)],
    summary="Enable a disabled account",
    tags=["users"],
    response_model=UserOut,
)
def enable_user(username: str, principal: CurrentPrincipal, uow: WriteUowDep) -> UserOut:
    user = services.set_user_disabled(uow, username, False, principal.actor())
    uow.commit()
    return user_out(user)


@router.get(
    "/keys",
    dependencies=[audience(Audience.ADMIN)],
    summary="API keys of devices, gateways and integrators",
    tags=["keys"],
    response_model=Page[KeyOut],
)
def list_keys(uow: UowDep) -> Any:
    return list_envelope((key_out(k).model_dump() for k in services.list_keys(uow)), None)


@router.post(
    "/keys",
    dependencies=[audience(Audience.ADMIN)],
    summary="Create an API key (its value is in this answer only)",
    tags=["keys"],
    status_code=201,
    response_model=NewKeyOut,
)
def create_key(body: KeyIn, principal: CurrentPrincipal, uow: WriteUowDep) -> NewKeyOut:
    scopes = [parse_scope(text) for text in body.scopes]
    key, plaintext = services.create_key(
        uow, body.name, scopes, principal.actor(), organisation=body.organisation
    )
    uow.commit()
    return NewKeyOut(**key_out(key).model_dump(), key=plaintext)


@router.delete(
    "/keys/{key_id}",
    dependencies=[audience(Audience.ADMIN)],
    summary="Revoke an API key (refused from the next request on)",
    tags=["keys"],
    response_model=KeyOut,
)
def revoke_key(key_id: ObjectId, principal: CurrentPrincipal, uow: WriteUowDep) -> KeyOut:
    key = services.revoke_key(uow, key_id, principal.actor())
    uow.commit()
    return key_out(key)
