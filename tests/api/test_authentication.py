"""Signing in, locking out, revoking: behaviour through the real HTTP API on both databases."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from metropilot.accounts import totp
from metropilot.accounts.model import Role, User
from metropilot.accounts.services import create_user, enable_totp
from metropilot.bootstrap import Platform
from metropilot.shared.actors import SYSTEM
from metropilot.web.app import create_app
from tests.factories import PASSWORD, bearer, seed_territory


@pytest.fixture
def app_client(platform: Platform) -> Iterator[TestClient]:
    seed_territory(platform)
    with platform.uow_factory(write=True) as uow:
        create_user(uow, User("root", Role.ADMIN, "roads"), PASSWORD, SYSTEM)
        create_user(uow, User("olga", Role.OPERATOR, "roads"), PASSWORD, SYSTEM)
        uow.commit()
    with TestClient(create_app(platform)) as client:
        yield client


def sign_in(client: TestClient, username: str, password: str, **extra: str) -> object:
    return client.post(
        "/api/v1/auth/token", data={"username": username, "password": password, **extra}
    )


def test_a_token_works_then_logout_revokes_it(app_client: TestClient) -> None:
    headers = bearer(app_client, "olga")
    me = app_client.get("/api/v1/auth/me", headers=headers).json()
    assert (me["name"], me["role"], me["organisation"], me["sector"]) == (
        "olga",
        "operator",
        "roads",
        "public",
    )
    assert app_client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert app_client.get("/api/v1/auth/me", headers=headers).status_code == 401


def test_wrong_password_then_lockout_even_with_the_right_one(
    app_client: TestClient, platform: Platform
) -> None:
    for _ in range(platform.settings.login_max_failures - 1):
        response = sign_in(app_client, "olga", "not the password")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_credentials"
    locking = sign_in(app_client, "olga", "not the password")
    assert locking.status_code == 403
    assert locking.json()["error"]["code"] == "account_locked"
    right = sign_in(app_client, "olga", PASSWORD)
    assert right.status_code == 403
    assert "locked until" in right.json()["error"]["message"]
    with platform.uow_factory() as uow:
        actions = [
            row[0]
            for row in uow.connection.exec_driver_sql(
                "SELECT action FROM audit_log WHERE object_id = 'olga' ORDER BY id"
            )
        ]
    assert actions[-1] == "user.locked"
    assert actions.count("user.login_failed") == platform.settings.login_max_failures - 1


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(app_client: TestClient) -> None:
    unknown = sign_in(app_client, "nobody", "whatever it is")
    wrong = sign_in(app_client, "olga", "whatever it is")
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json()["error"] == wrong.json()["error"]


def test_parallel_wrong_passwords_all_count(app_client: TestClient, platform: Platform) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from metropilot.accounts.services import (
        AccountLocked,
        AuthenticationFailed,
        LoginPolicy,
        verify_login,
    )

    policy = LoginPolicy(max_failures=5)

    def attempt(_: int) -> str:
        try:
            verify_login(platform.uow_factory, "olga", "not the password", None, policy=policy)
        except AccountLocked:
            return "locked"
        except AuthenticationFailed:
            return "failed"
        return "accepted"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(attempt, range(12)))
    assert "accepted" not in outcomes
    assert outcomes.count("failed") == 4  # the fifth locks; the rest find it locked
    with pytest.raises(AccountLocked):
        verify_login(platform.uow_factory, "olga", PASSWORD, None, policy=policy)


def test_a_revoked_key_is_refused_at_once(app_client: TestClient) -> None:
    admin = bearer(app_client, "root")
    created = app_client.post(
        "/api/v1/keys",
        json={"name": "gateway 1", "scopes": ["assets:read", "telemetry:write kind=streetlight"]},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    assert key.startswith("mpk_")
    listed = app_client.get("/api/v1/keys", headers=admin).json()["items"]
    assert key not in str(listed)
    assert listed[0]["scopes"] == ["assets:read", "telemetry:write kind=streetlight"]
    device = {"X-API-Key": key}
    assert app_client.get("/api/v1/assets", headers=device).status_code == 200
    revoked = app_client.delete(f"/api/v1/keys/{created.json()['id']}", headers=admin)
    assert revoked.json()["revoked_at"] is not None
    refused = app_client.get("/api/v1/assets", headers=device)
    assert refused.status_code == 401
    assert refused.json()["error"]["message"] == "unknown or revoked API key"


def test_disabling_an_account_ends_its_sessions(app_client: TestClient) -> None:
    admin = bearer(app_client, "root")
    olga = bearer(app_client, "olga")
    assert app_client.post("/api/v1/users/olga/disable", headers=admin).json()["disabled"]
    assert app_client.get("/api/v1/auth/me", headers=olga).status_code == 401
    assert sign_in(app_client, "olga", PASSWORD).status_code == 401
    app_client.post("/api/v1/users/olga/enable", headers=admin)
    assert sign_in(app_client, "olga", PASSWORD).status_code == 200


def test_second_factor(app_client: TestClient, platform: Platform) -> None:
    with platform.uow_factory(write=True) as uow:
        secret = enable_totp(uow, "olga", SYSTEM)
        uow.commit()
    needs = sign_in(app_client, "olga", PASSWORD)
    assert needs.status_code == 401
    assert needs.json()["error"]["code"] == "totp_required"
    code = totp.code_at(secret, time.time())
    assert sign_in(app_client, "olga", PASSWORD, totp=code).status_code == 200
    replayed = sign_in(app_client, "olga", PASSWORD, totp=code)
    assert replayed.status_code == 401  # the same code twice is a replay
    assert sign_in(app_client, "olga", PASSWORD, totp="000000").status_code == 401


def test_users_api(app_client: TestClient) -> None:
    admin = bearer(app_client, "root")
    body = {
        "username": "claire",
        "password": "a long enough pass phrase",
        "role": "commune_agent",
        "organisation": "roads",
        "communes": ["21001"],
    }
    created = app_client.post("/api/v1/users", json=body, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["communes"] == ["21001"]
    assert "password" not in created.text
    again = app_client.post("/api/v1/users", json=body, headers=admin)
    assert again.status_code == 409
    short = app_client.post(
        "/api/v1/users", json={**body, "username": "x2", "password": "short"}, headers=admin
    )
    assert short.status_code == 400
    assert "at least 12 characters" in short.json()["error"]["message"]
    no_commune = app_client.post(
        "/api/v1/users", json={**body, "username": "x3", "communes": []}, headers=admin
    )
    assert "needs at least one commune" in no_commune.json()["error"]["message"]
    unknown = app_client.post(
        "/api/v1/users", json={**body, "username": "x4", "communes": ["99999"]}, headers=admin
    )
    assert unknown.json()["error"]["code"] == "unknown_commune"
    names = [u["username"] for u in app_client.get("/api/v1/users", headers=admin).json()["items"]]
    assert names == ["claire", "olga", "root"]


def test_sign_in_attempts_are_rate_limited_per_address(platform: Platform) -> None:
    settings = platform.settings.model_copy(update={"login_attempts_per_minute": 3})
    limited = Platform(
        settings=settings,
        engine=platform.engine,
        uow_factory=platform.uow_factory,
        wiring=platform.wiring,
    )
    with TestClient(create_app(limited)) as client:
        for _ in range(3):
            assert sign_in(client, "nobody", "whatever it is").status_code == 401
        refused = sign_in(client, "nobody", "whatever it is")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) > 0
