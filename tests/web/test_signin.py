"""Signing in and out in the browser, and a home page that follows who is signed in."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from http.cookies import SimpleCookie

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from metropilot.accounts import services as accounts
from metropilot.accounts import totp
from metropilot.accounts.auth import SESSION_COOKIE
from metropilot.accounts.model import Role, User
from metropilot.api.ratelimit import SlidingWindowLimiter
from metropilot.assets import services as asset_services
from metropilot.bootstrap import Platform
from metropilot.shared.actors import SYSTEM
from metropilot.web.app import create_app
from metropilot.web.signin import LOGIN_CSRF_COOKIE, LOGIN_CSRF_FIELD, safe_next
from tests.factories import light, seed_territory

PASSWORD = "Lamp-posts at dawn 42"
OPERATOR = "ada"
AGENT = "camille"
CITIZEN = "zoe"
BAD_NEXTS = (
    "//evil.example/x",
    "https://evil.example/x",
    "http:/evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "javascript:alert(1)",
    "evil.example",
    "/login",
    "",
)


@pytest.fixture
def people(platform: Platform) -> Platform:
    """Communes 21001/21002, two lights in each, and an operator, a commune agent, a citizen."""
    seed_territory(platform)
    with platform.uow_factory(write=True) as uow:
        accounts.create_user(
            uow,
            User(OPERATOR, Role.OPERATOR, "roads", display_name="Ada Lovelace"),
            PASSWORD,
            SYSTEM,
        )
        accounts.create_user(
            uow,
            User(AGENT, Role.COMMUNE_AGENT, "roads", display_name="Camille", communes=("21001",)),
            PASSWORD,
            SYSTEM,
        )
        accounts.create_user(uow, User(CITIZEN, Role.CITIZEN, None), PASSWORD, SYSTEM)
        drafts = [
            light("W-1", 5.02, 47.33),
            light("W-2", 5.08, 47.37),
            light("E-1", 5.12, 47.33),
            light("E-2", 5.18, 47.37),
        ]
        asset_services.import_assets(uow, drafts, SYSTEM, source="test")
        uow.commit()
    return platform


@pytest.fixture
def browser(people: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(people)) as client:
        yield client


def _set_cookies(response: httpx.Response) -> dict[str, SimpleCookie]:
    """Every Set-Cookie of a response, by cookie name, with its attributes."""
    found: dict[str, SimpleCookie] = {}
    for header in response.headers.get_list("set-cookie"):
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        for name in jar:
            found[name] = jar
    return found


def _attributes(response: httpx.Response, name: str) -> tuple[str, str]:
    """The raw Set-Cookie header of ``name`` (lowercased) and its value."""
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(name + "="):
            value = header.split(";", 1)[0].split("=", 1)[1].strip('"')
            return header.lower(), value
    raise AssertionError(f"no Set-Cookie for {name}")


def _hidden(html: str, name: str) -> str:
    match = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)">', html)
    assert match, f"no hidden field {name}"
    return match.group(1)


def _meta_csrf(html: str) -> str | None:
    match = re.search(r'<meta name="csrf-token" content="([^"]+)">', html)
    return match.group(1) if match else None


def _post_login(
    client: TestClient,
    username: str,
    password: str,
    *,
    next_path: str | None = None,
    code: str = "",
    token: str | None = None,
) -> httpx.Response:
    page = client.get("/login", params={"next": next_path} if next_path is not None else None)
    assert page.status_code == 200
    form = {
        "username": username,
        "password": password,
        "code": code,
        LOGIN_CSRF_FIELD: _hidden(page.text, LOGIN_CSRF_FIELD) if token is None else token,
        "next": _hidden(page.text, "next"),
    }
    response: httpx.Response = client.post("/login", data=form, follow_redirects=False)
    return response


def _sign_in(client: TestClient, username: str = OPERATOR) -> str:
    """Sign in; returns the CSRF token the home page then carries."""
    response = _post_login(client, username, PASSWORD)
    assert response.status_code == 303, response.text
    token = _meta_csrf(client.get("/").text)
    assert token
    return token


# ---- The sign-in page -----------------------------------------------------------------------


def test_the_sign_in_page_in_both_languages(browser: TestClient) -> None:
    english = browser.get("/login?next=/")
    assert english.status_code == 200
    assert english.headers["content-type"].startswith("text/html")
    assert '<html lang="en"' in english.text
    for text in ("Sign in", "Username", "Password", "I use an authenticator app"):
        assert text in english.text
    assert 'name="username"' in english.text
    assert 'type="password"' in english.text
    assert 'name="code"' in english.text
    assert english.headers["cache-control"] == "no-store"
    header, token = _attributes(english, LOGIN_CSRF_COOKIE)
    assert _hidden(english.text, LOGIN_CSRF_FIELD) == token
    assert "httponly" in header
    assert "samesite=strict" in header
    assert "path=/login" in header
    assert "max-age=" in header

    french = browser.get("/login?lang=fr&next=/docs")
    assert '<html lang="fr"' in french.text
    for text in ("Connexion", "Identifiant", "Mot de passe", "Se connecter"):
        assert text in french.text
    # The language switch keeps where to go afterwards; several tabs share one form token.
    assert 'href="?lang=en&amp;next=%2Fdocs"' in french.text
    assert _hidden(french.text, LOGIN_CSRF_FIELD) == token


def test_the_pages_have_no_inline_script_or_style(browser: TestClient) -> None:
    pages = [browser.get("/login").text, browser.get("/").text]
    _sign_in(browser)
    pages.append(browser.get("/").text)
    for html in pages:
        for attributes, body in re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.DOTALL):
            assert 'src="/static/' in attributes
            assert not body.strip()
        assert not re.search(r"\son[a-z]+\s*=", html, re.IGNORECASE)
        assert not re.search(r"\sstyle\s*=", html, re.IGNORECASE)
        assert "<style" not in html.lower()
        assert not re.search(r"https?://", html)


def test_a_signed_in_visitor_skips_the_form(browser: TestClient) -> None:
    _sign_in(browser)
    response = browser.get("/login?next=/docs", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/docs"


# ---- Signing in -----------------------------------------------------------------------------


def test_a_good_sign_in_sets_the_session_cookie_and_redirects(
    browser: TestClient, people: Platform
) -> None:
    response = _post_login(browser, OPERATOR, PASSWORD, next_path="/?lang=fr")
    assert response.status_code == 303
    assert response.headers["location"] == "/?lang=fr"
    header, token = _attributes(response, SESSION_COOKIE)
    assert token.startswith("mps_")
    assert "httponly" in header
    assert "samesite=lax" in header
    assert "path=/" in header
    lifetime = int(people.settings.session_lifetime_hours * 3600)
    assert f"max-age={lifetime}" in header
    assert "secure" not in header  # plain HTTP in this test
    # The form token is spent.
    assert _set_cookies(response)[LOGIN_CSRF_COOKIE][LOGIN_CSRF_COOKIE]["max-age"] == "0"

    me = browser.get("/api/v1/auth/me")
    assert me.status_code == 200
    assert me.json()["name"] == OPERATOR
    assert me.json()["role"] == "operator"


def test_the_home_page_shows_who_is_signed_in(browser: TestClient) -> None:
    token = _sign_in(browser)
    response = browser.get("/")
    html = response.text
    for text in ("Ada Lovelace", "Operator", "Metropolitan roads", "Sign out"):
        assert text in html
    assert f'<meta name="csrf-token" content="{token}">' in html
    assert 'action="/logout"' in html
    assert _hidden(html, "csrf_token") == token
    assert 'data-dots="on"' in html
    assert 'data-scoped="false"' in html
    assert 'option value="streetlight" selected' in html
    assert "private" in response.headers["cache-control"]
    french = browser.get("/?lang=fr").text
    assert "Opérateur" in french
    assert "Se déconnecter" in french


def test_the_home_page_for_anonymous_visitors(browser: TestClient) -> None:
    html = browser.get("/").text
    assert "Sign in to see the equipment on the map" in html
    assert 'href="/login?next=/"' in html
    assert 'data-dots="off"' in html
    assert _meta_csrf(html) is None
    assert 'action="/logout"' not in html
    assert 'id="kind-select"' not in html
    # The public part stays: the communes and their counts.
    assert 'data-figure="assets">4<' in html
    assert "Ouestville" in html
    assert browser.get("/api/v1/assets/summary").json()["by_commune"] == {
        "21001": 2,
        "21002": 2,
    }
    assert browser.get("/api/v1/assets").status_code == 401
    assert "Connectez-vous pour voir les équipements" in browser.get("/?lang=fr").text


def test_a_commune_agent_sees_only_its_communes(browser: TestClient) -> None:
    _sign_in(browser, AGENT)
    html = browser.get("/").text
    assert "Commune agent" in html
    assert 'data-dots="on"' in html
    assert 'data-scoped="true"' in html
    page = browser.get("/api/v1/assets", params={"format": "geojson"}).json()
    refs = sorted(f["properties"]["external_ref"] for f in page["features"])
    assert refs == ["W-1", "W-2"]


def test_an_account_without_the_registry_gets_a_notice(browser: TestClient) -> None:
    _sign_in(browser, CITIZEN)
    html = browser.get("/").text
    assert 'data-dots="forbidden"' in html
    assert "Your account does not give access to the equipment map." in html
    assert browser.get("/api/v1/assets").status_code == 403


def test_secure_cookies_over_https_or_when_always(
    people: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    with TestClient(create_app(people), base_url="https://testserver") as client:
        assert "secure" in _attributes(client.get("/login"), LOGIN_CSRF_COOKIE)[0]
        response = _post_login(client, OPERATOR, PASSWORD)
        assert "secure" in _attributes(response, SESSION_COOKIE)[0]
    monkeypatch.setattr(people.settings, "secure_cookies", "always")
    with TestClient(create_app(people)) as client:
        assert "secure" in _attributes(client.get("/login"), LOGIN_CSRF_COOKIE)[0]
    monkeypatch.setattr(people.settings, "secure_cookies", "never")
    with TestClient(create_app(people), base_url="https://testserver") as client:
        response = _post_login(client, OPERATOR, PASSWORD)
        assert "secure" not in _attributes(response, SESSION_COOKIE)[0]


# ---- CSRF -----------------------------------------------------------------------------------


def test_changes_with_the_cookie_need_the_csrf_token(browser: TestClient) -> None:
    token = _sign_in(browser)
    refused = browser.post("/api/v1/auth/logout")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "csrf_failed"
    wrong = browser.post("/api/v1/auth/logout", headers={"X-CSRF-Token": "not-the-token"})
    assert wrong.status_code == 403
    assert browser.get("/api/v1/auth/me").status_code == 200  # still signed in
    accepted = browser.post("/api/v1/auth/logout", headers={"X-CSRF-Token": token})
    assert accepted.status_code == 204
    assert browser.get("/api/v1/auth/me").status_code == 401


def test_the_sign_in_form_needs_its_token(browser: TestClient, people: Platform) -> None:
    for token in ("", "x" * 43):
        response = _post_login(browser, OPERATOR, PASSWORD, token=token)
        assert response.status_code == 403
        assert "This sign-in form had expired" in response.text
        assert SESSION_COOKIE not in _set_cookies(response)
    # A post from elsewhere carries no login_csrf cookie at all.
    with TestClient(create_app(people)) as stranger:
        response = stranger.post(
            "/login",
            data={"username": OPERATOR, "password": PASSWORD, LOGIN_CSRF_FIELD: "x" * 43},
            follow_redirects=False,
        )
        assert response.status_code == 403
        assert SESSION_COOKIE not in _set_cookies(response)
        assert stranger.get("/api/v1/auth/me").status_code == 401


# ---- Signing out ----------------------------------------------------------------------------


def test_signing_out_ends_the_session(browser: TestClient, people: Platform) -> None:
    token = _sign_in(browser)
    old_cookie = browser.cookies[SESSION_COOKIE]
    # Without the page's token, nothing happens: a readable page, still signed in.
    refused = browser.post("/logout", follow_redirects=False)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert "This page had expired" in refused.text
    assert browser.get("/api/v1/auth/me").status_code == 200

    response = browser.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    header, _ = _attributes(response, SESSION_COOKIE)
    assert "max-age=0" in header
    assert SESSION_COOKIE not in browser.cookies
    html = browser.get("/").text
    assert _meta_csrf(html) is None
    assert 'href="/login?next=/"' in html
    # The old cookie no longer opens anything.
    with TestClient(create_app(people), cookies={SESSION_COOKIE: old_cookie}) as replay:
        assert replay.get("/api/v1/auth/me").status_code == 401
        assert 'data-dots="off"' in replay.get("/").text


def test_an_ended_session_still_signs_out_cleanly(people: Platform) -> None:
    with TestClient(create_app(people), cookies={SESSION_COOKIE: "mps_long_gone"}) as client:
        response = client.post("/logout", follow_redirects=False)
        assert response.status_code == 303
        assert "max-age=0" in _attributes(response, SESSION_COOKIE)[0]


# ---- Refusals -------------------------------------------------------------------------------


def test_a_wrong_password_shows_the_form_again(browser: TestClient) -> None:
    secret = "Not-the-password-9"
    response = _post_login(browser, OPERATOR, secret)
    assert response.status_code == 401
    html = response.text
    assert "Wrong username, password or code" in html
    assert 'role="alert"' in html
    assert 'name="username" type="text" value="ada"' in html
    assert secret not in html
    assert SESSION_COOKIE not in _set_cookies(response)
    assert browser.get("/api/v1/auth/me").status_code == 401
    unknown = _post_login(browser, "nobody", secret)
    assert unknown.status_code == 401
    browser.cookies.set("lang", "fr")
    french = _post_login(browser, OPERATOR, secret)
    assert "Identifiant, mot de passe ou code erroné" in french.text


def test_the_username_is_escaped(browser: TestClient) -> None:
    response = _post_login(browser, '"><b>x</b>', PASSWORD)
    assert response.status_code == 401
    assert "<b>x</b>" not in response.text
    assert "&#34;&gt;&lt;b&gt;x&lt;/b&gt;" in response.text


@pytest.mark.parametrize("target", BAD_NEXTS)
def test_open_redirects_fall_back_to_the_home_page(browser: TestClient, target: str) -> None:
    assert safe_next(target) == "/"
    page = browser.get("/login", params={"next": target})
    assert _hidden(page.text, "next") == "/"
    # Even when the form is posted by hand with the bad target.
    form = {
        "username": OPERATOR,
        "password": PASSWORD,
        LOGIN_CSRF_FIELD: _hidden(page.text, LOGIN_CSRF_FIELD),
        "next": target,
    }
    response = browser.post("/login", data=form, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/"


def test_same_site_targets_are_kept() -> None:
    for target in ("/", "/docs", "/?lang=fr", "/assets/12?tab=history#top", "/%2F%2Fevil"):
        assert safe_next(target) == target


def test_too_many_failures_lock_the_account(browser: TestClient, people: Platform) -> None:
    failures = people.settings.login_max_failures
    for attempt in range(1, failures + 1):
        response = _post_login(browser, OPERATOR, f"wrong password {attempt}")
        expected = 403 if attempt == failures else 401
        assert response.status_code == expected, attempt
    locked = _post_login(browser, OPERATOR, PASSWORD)
    assert locked.status_code == 403
    assert "this account is locked" in locked.text
    assert SESSION_COOKIE not in _set_cookies(locked)
    assert browser.get("/api/v1/auth/me").status_code == 401


def test_too_many_attempts_from_one_address(browser: TestClient) -> None:
    app = browser.app
    assert isinstance(app, FastAPI)
    app.state.login_limiter = SlidingWindowLimiter(2)
    for _ in range(2):
        assert _post_login(browser, OPERATOR, "wrong password!").status_code == 401
    limited = _post_login(browser, OPERATOR, PASSWORD)
    assert limited.status_code == 429
    assert "Too many sign-in attempts from this address" in limited.text
    assert int(limited.headers["retry-after"]) > 0
    assert SESSION_COOKIE not in _set_cookies(limited)


def test_an_account_with_a_second_factor(browser: TestClient, people: Platform) -> None:
    with people.uow_factory(write=True) as uow:
        secret = accounts.enable_totp(uow, OPERATOR, SYSTEM)
        uow.commit()
    asked = _post_login(browser, OPERATOR, PASSWORD)
    assert asked.status_code == 401
    html = asked.text
    assert "protected by an authenticator app" in html
    assert '<details class="signin__code" open>' in html
    assert SESSION_COOKIE not in _set_cookies(asked)
    response = _post_login(browser, OPERATOR, PASSWORD, code=totp.code_at(secret, time.time()))
    assert response.status_code == 303
    assert browser.get("/api/v1/auth/me").json()["name"] == OPERATOR
