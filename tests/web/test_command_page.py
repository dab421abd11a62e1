"""The command centre at ``/``: who gets it, what the page tells its script, the search.

The people who run the city (operators, supervisors, administrators, commune agents and
contractors) get the command centre; anonymous visitors, citizens, field agents and devices keep
the public home page (``test_home_page.py``). The browser side is in
``tests/browser/test_command_centre.py``.
"""

from __future__ import annotations

import html as html_lib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from metropilot.accounts.model import parse_scope
from metropilot.accounts.services import create_key
from metropilot.assets.repository import assets as asset_table
from metropilot.bootstrap import Platform
from metropilot.shared.actors import SYSTEM
from metropilot.web.app import create_app
from metropilot.web.command_pages import SEARCH_PATH, content_security_policy
from metropilot.web.i18n import CATALOGUE
from metropilot.web.security import CONTENT_SECURITY_POLICY
from metropilot.web.signin import LOGIN_CSRF_FIELD
from tests.factories import PASSWORD, bearer

WEB = Path(__file__).resolve().parents[2] / "src" / "metropilot" / "web"
COMMAND_ACCOUNTS = ("operator", "supervisor", "admin", "agent-dijon", "contractor-lighting")
PUBLIC_ACCOUNTS = ("citizen", "field-dijon")
ISLAND = re.compile(r"<div id=\"cc-config\" hidden data-config='([^']*)'></div>")

RELEASE = re.compile(r"^/static/r-[0-9a-f]{12}/")  # web.rendering.MODULES_URL: the modules' path
RELEASE_PATH = re.compile(r"/static/r-[0-9a-f]{12}/")


def _browser(world: Platform, username: str) -> TestClient:
    """A browser signed in through the sign-in form (session cookie and CSRF token)."""
    client = TestClient(create_app(world))
    page = client.get("/login")
    token = re.search(rf'name="{LOGIN_CSRF_FIELD}" value="([^"]+)"', page.text)
    assert token
    answer = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, LOGIN_CSRF_FIELD: token.group(1)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return client


def _config(html: str) -> dict[str, Any]:
    found = ISLAND.search(html)
    assert found, "no #cc-config data attribute"
    # Jinja's tojson escapes <, >, & and ' (\\u0027…): the attribute holds plain JSON.
    config: dict[str, Any] = json.loads(html_lib.unescape(found.group(1)))
    return config


@pytest.mark.parametrize("username", COMMAND_ACCOUNTS)
def test_the_people_who_run_the_city_get_the_command_centre(world: Platform, username: str) -> None:
    client = _browser(world, username)
    response = client.get("/")
    assert response.status_code == 200
    html = response.text
    assert 'id="cc-config"' in html
    assert 'id="map"' in html
    assert "/static/command.js" in RELEASE_PATH.sub("/static/", html)
    assert "/static/vendor/leaflet/leaflet.js" in html
    assert "/static/home.js" not in RELEASE_PATH.sub("/static/", html)
    assert response.headers["cache-control"] == "private, no-store"
    # The session's CSRF token for the actions, and the way out.
    assert re.search(r'<meta name="csrf-token" content="[^"]+">', html)
    assert 'action="/logout"' in html
    config = _config(html)
    assert config["user"] == username
    assert config["timeZone"] == "Europe/Paris"
    assert config["api"]["mapAssets"] == "/api/v1/map/assets"
    assert config["api"]["search"] == SEARCH_PATH
    assert config["tileUrl"] == ""  # the offline basemap by default


@pytest.mark.parametrize("username", PUBLIC_ACCOUNTS)
def test_citizens_and_field_agents_keep_the_public_home_page(
    world: Platform, username: str
) -> None:
    html = _browser(world, username).get("/").text
    assert 'id="cc-config"' not in html
    assert "/static/home.js" in RELEASE_PATH.sub("/static/", html)


def test_anonymous_visitors_and_devices_keep_the_public_home_page(world: Platform) -> None:
    client = TestClient(create_app(world))
    html = client.get("/").text
    assert 'id="cc-config"' not in html
    assert 'data-dots="off"' in html
    with world.uow_factory(write=True) as uow:
        _, key = create_key(uow, "command page test reader", [parse_scope("assets:read")], SYSTEM)
        uow.commit()
    device = client.get("/", headers={"X-API-Key": key}).text
    assert 'id="cc-config"' not in device


def test_a_script_with_a_bearer_token_gets_the_command_centre_without_csrf(
    world: Platform,
) -> None:
    client = TestClient(create_app(world))
    html = client.get("/", headers=bearer(client, "operator")).text
    assert 'id="cc-config"' in html
    assert 'name="csrf-token"' not in html


def test_the_page_follows_the_role(world: Platform) -> None:
    operator = _config(_browser(world, "operator").get("/").text)
    assert operator["role"] == "operator"
    assert operator["scoped"] is False
    assert len(operator["communes"]) > 1
    assert all(operator["can"].values()), operator["can"]

    agent = _config(_browser(world, "agent-dijon").get("/").text)
    assert agent["scoped"] is True
    assert [c["insee"] for c in agent["communes"]] == ["21231"]
    assert agent["can"]["reports"] is True
    assert agent["can"]["acknowledge"] is True
    # Not their audience: the page never asks (no 403 in the console).
    assert agent["can"]["workOrders"] is False
    assert agent["can"]["dispatch"] is False
    assert agent["can"]["reportCase"] is False

    contractor = _config(_browser(world, "contractor-lighting").get("/").text)
    assert contractor["scoped"] is True
    assert contractor["can"]["workOrders"] is True
    assert contractor["can"]["reports"] is False
    assert contractor["can"]["assign"] is False
    assert len(contractor["communes"]) == len(operator["communes"])

    admin = _config(_browser(world, "admin").get("/").text)
    assert admin["can"]["acknowledge"] is False  # the API's acknowledgers have no admin


def test_the_commune_select_follows_the_scope(world: Platform) -> None:
    agent = _browser(world, "agent-dijon").get("/").text
    options = re.findall(r'<option value="(\d{5})"', agent)
    assert options == ["21231"]
    operator = _browser(world, "operator").get("/").text
    assert '<option value="">Whole metropolis</option>' in operator
    assert len(re.findall(r'<option value="(\d{5})"', operator)) > 1


def test_the_page_in_french(world: Platform) -> None:
    client = _browser(world, "operator")
    response = client.get("/?lang=fr")
    html = response.text
    assert '<html lang="fr">' in html
    assert CATALOGUE["fr"]["cc.alarms"] in html
    config = _config(html)
    assert config["lang"] == "fr"
    assert config["messages"]["cc.acknowledge"] == "Acquitter"
    assert config["messages"]["kind.streetlight"] == "Points lumineux"
    assert response.headers["set-cookie"].startswith("lang=fr;")


def test_no_inline_script_style_or_outside_address(world: Platform) -> None:
    response = _browser(world, "operator").get("/")
    html = response.text
    for attributes, body in re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S):
        assert 'src="/static/' in attributes
        assert not body.strip()
    assert not re.search(r"\son[a-z]+\s*=", html, re.IGNORECASE)
    assert not re.search(r"\sstyle\s*=", html, re.IGNORECASE)
    assert "<style" not in html.lower()
    assert not re.search(r"https?://", html)
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


def test_the_static_files_are_served(world: Platform) -> None:
    client = _browser(world, "operator")
    html = client.get("/").text
    served = set(re.findall(r'(?:href|src)="(/static/[^"?]+)', html))
    referenced = {RELEASE.sub("/static/", path) for path in served}
    assert {
        "/static/command.js",
        "/static/command-map.js",
        "/static/command.css",
        "/static/vendor/leaflet/leaflet.js",
        "/static/vendor/leaflet/leaflet.css",
    } <= referenced
    for path in served | referenced:
        assert client.get(path).status_code == 200, path


def test_every_message_the_page_uses_exists_in_both_languages() -> None:
    names = ["static/command.js", "static/command-map.js", "templates/command.html"]
    names += sorted(f"static/js/command/{p.name}" for p in (WEB / "static/js/command").glob("*.js"))
    sources = "".join((WEB / name).read_text(encoding="utf-8") for name in names)
    used = set(re.findall(r"""t\(\s*['"](cc\.[a-z_.]+[a-z_])['"]""", sources))
    prefixes = set(re.findall(r"""['"](cc\.[a-z_]+\.)['"]\s*\+""", sources))
    prefixes |= set(re.findall(r"""t\('(cc\.[a-z_]+\.)'\s*~""", sources))
    assert len(used) > 50
    for lang in ("en", "fr"):
        missing = sorted(k for k in used if k not in CATALOGUE[lang])
        assert not missing, (lang, missing)
        for prefix in prefixes:
            assert any(k.startswith(prefix) for k in CATALOGUE[lang]), (lang, prefix)


def test_a_tile_server_is_passed_to_the_page_and_allowed_by_the_policy(world: Platform) -> None:
    app = create_app(world)
    app.state.settings = world.settings.model_copy(
        update={
            "map_tile_url": "https://{s}.tiles.example.org/{z}/{x}/{y}.png",
            "map_tile_attribution": "© Example tiles",
        }
    )
    client = TestClient(app)
    token = re.search(rf'name="{LOGIN_CSRF_FIELD}" value="([^"]+)"', client.get("/login").text)
    assert token
    client.post(
        "/login",
        data={"username": "operator", "password": PASSWORD, LOGIN_CSRF_FIELD: token.group(1)},
    )
    response = client.get("/")
    config = _config(response.text)
    assert config["tileUrl"] == "https://{s}.tiles.example.org/{z}/{x}/{y}.png"
    assert config["tileAttribution"] == "© Example tiles"
    assert 'data-tile-url="https://{s}.tiles.example.org/{z}/{x}/{y}.png"' in html_lib.unescape(
        response.text
    )
    policy = response.headers["content-security-policy"]
    assert "img-src 'self' https://*.tiles.example.org data: blob:" in policy
    assert "script-src 'self';" in policy  # nothing else widened
    # The public page keeps the platform's policy.
    assert TestClient(app).get("/").headers["content-security-policy"] == CONTENT_SECURITY_POLICY


def test_a_tile_url_that_is_not_http_is_ignored() -> None:
    assert content_security_policy("") is None
    assert content_security_policy("javascript:alert(1)") is None
    assert content_security_policy("https://tiles.example.org/{z}/{x}/{y}.png") == (
        CONTENT_SECURITY_POLICY.replace(
            "img-src 'self'", "img-src 'self' https://tiles.example.org"
        )
    )


# ---- Search by reference -----------------------------------------------------------------------


def _ref(world: Platform, commune: str) -> str:
    a = asset_table.c
    with world.uow_factory() as uow:
        return str(
            uow.connection.execute(
                select(a.external_ref)
                .where(a.commune_insee == commune, a.kind == "streetlight")
                .order_by(a.id)
                .limit(1)
            ).scalar_one()
        )


def test_search_by_reference(world: Platform, world_anonymous: TestClient) -> None:
    ref = _ref(world, "21231")
    headers = bearer(world_anonymous, "operator")
    exact = world_anonymous.get(SEARCH_PATH, params={"q": ref.lower()}, headers=headers)
    assert exact.status_code == 200
    items = exact.json()["items"]
    assert items[0]["ref"] == ref
    assert set(items[0]) == {"id", "ref", "kind", "status", "commune", "lon", "lat"}
    prefix = world_anonymous.get(SEARCH_PATH, params={"q": "SL-21231-"}, headers=headers)
    found = prefix.json()["items"]
    assert 1 < len(found) <= 12
    assert all(item["ref"].startswith("SL-21231-") for item in found)
    # LIKE's wildcards are searched for as such, not as wildcards.
    assert world_anonymous.get(SEARCH_PATH, params={"q": "%"}, headers=headers).json() == {
        "items": []
    }
    assert world_anonymous.get(SEARCH_PATH, params={"q": "_L"}, headers=headers).json() == {
        "items": []
    }


def test_search_stays_within_the_scope(world: Platform, world_anonymous: TestClient) -> None:
    chenove = _ref(world, "21166")
    dijon = _ref(world, "21231")
    agent = bearer(world_anonymous, "agent-dijon")
    assert world_anonymous.get(SEARCH_PATH, params={"q": chenove}, headers=agent).json() == {
        "items": []
    }
    assert (
        world_anonymous.get(SEARCH_PATH, params={"q": dijon}, headers=agent).json()["items"][0][
            "ref"
        ]
        == dijon
    )
    assert world_anonymous.get(SEARCH_PATH, params={"q": dijon}).status_code == 401
    citizen = bearer(world_anonymous, "citizen")
    assert world_anonymous.get(SEARCH_PATH, params={"q": dijon}, headers=citizen).status_code == 403
    operator = bearer(world_anonymous, "operator")
    assert world_anonymous.get(SEARCH_PATH, params={"q": ""}, headers=operator).status_code == 400
