"""The home page at ``/``: languages, escaping, static files, and nothing fetched from outside.

The page is public; the equipment dots are for signed-in people (``test_signin.py`` covers the
sign-in itself and what each account sees).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Polygon

from metropilot.accounts import services as accounts_services
from metropilot.accounts.model import Role, User
from metropilot.accounts.repository import save_organisation
from metropilot.assets import services as asset_services
from metropilot.assets.model import AssetDraft, AssetKind, AssetStatus
from metropilot.bootstrap import Platform, bootstrap
from metropilot.settings import Settings
from metropilot.shared.actors import SYSTEM
from metropilot.territory.model import Commune
from metropilot.territory.repository import save_commune
from metropilot.web.app import create_app
from metropilot.web.formatting import format_number, format_percent
from metropilot.web.i18n import CATALOGUE, gettext, pick_language
from tests.factories import ROADS

STATIC_DIR = Path(__file__).resolve().parents[2] / "src" / "metropilot" / "web" / "static"
TRICKY_NAME = "<b>Saint-Apollinaire</b> & Co"
URL = re.compile(r"https?://", re.IGNORECASE)
SVG_NAMESPACE = "http://www.w3.org/2000/svg"
OPERATOR_PASSWORD = "Night shift at the PC 7"

RELEASE = re.compile(r"^/static/r-[0-9a-f]{12}/")  # web.rendering.MODULES_URL: the modules' path


def _square(lon: float, lat: float, size: float = 0.02) -> Polygon:
    return Polygon(
        [(lon, lat), (lon + size, lat), (lon + size, lat + size), (lon, lat + size), (lon, lat)]
    )


@pytest.fixture
def platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Platform]:
    monkeypatch.setenv("METROPILOT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("METROPILOT_DATABASE_URL", raising=False)
    platform = bootstrap(Settings())
    yield platform
    platform.close()


@pytest.fixture
def populated(platform: Platform) -> Platform:
    with platform.uow_factory() as uow:
        save_commune(uow.connection, Commune("21231", "Dijon", 156_920, _square(5.00, 47.30)))
        save_commune(uow.connection, Commune("21540", TRICKY_NAME, 7_412, _square(5.02, 47.30)))
        uow.commit()
    drafts = [
        AssetDraft(
            external_ref=f"SL-{i}",
            kind=AssetKind.STREETLIGHT,
            lon=5.005 + i * 0.001,
            lat=47.31,
            attributes={"lamp_technology": "LED", "nominal_power_w": 40},
            status=AssetStatus.FAULT if i == 0 else None,
        )
        for i in range(3)
    ]
    drafts.append(
        AssetDraft(
            external_ref="CAM-1",
            kind=AssetKind.CAMERA,
            lon=5.03,
            lat=47.31,
            attributes={"camera_type": "ptz"},
        )
    )
    with platform.uow_factory() as uow:
        asset_services.import_assets(uow, drafts, SYSTEM, source="test")
        uow.commit()
    return platform


@pytest.fixture
def client(populated: Platform) -> TestClient:
    return TestClient(create_app(populated))


@pytest.fixture
def operator_client(populated: Platform) -> TestClient:
    """A browser signed in as a command-post operator (whole metropolis)."""
    with populated.uow_factory(write=True) as uow:
        save_organisation(uow.connection, ROADS)
        accounts_services.create_user(
            uow, User("olga", Role.OPERATOR, ROADS.code), OPERATOR_PASSWORD, SYSTEM
        )
        uow.commit()
    client = TestClient(create_app(populated))
    page = client.get("/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
    assert token
    response = client.post(
        "/login",
        data={"username": "olga", "password": OPERATOR_PASSWORD, "login_csrf": token.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    return client


def _html_lang(html: str) -> str:
    match = re.search(r"<html[^>]*\blang=\"([a-z]+)\"", html)
    assert match, "the <html> element has no lang attribute"
    return match.group(1)


# ---- Languages ------------------------------------------------------------------------------


def test_english_by_default(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert _html_lang(html) == "en"
    assert response.headers["content-language"] == "en"
    for text in ("Metropilot", "Dijon Métropole", "Map of the metropolis", "Equipment by kind"):
        assert text in html
    assert "Street lights" in html
    assert "set-cookie" not in response.headers


def test_french_from_the_switch_sets_the_cookie(client: TestClient) -> None:
    response = client.get("/?lang=fr")
    assert response.status_code == 200
    html = response.text
    assert _html_lang(html) == "fr"
    for text in ("Équipements", "Communes", "Carte de la métropole", "Équipements par état"):
        assert text in html
    assert "Points lumineux" in html
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("lang=fr;")
    assert "samesite=lax" in cookie.lower()
    # The next visit without ?lang= stays in French: the client sends the cookie back.
    assert _html_lang(client.get("/").text) == "fr"
    # And the switch back to English wins over the cookie.
    assert _html_lang(client.get("/?lang=en").text) == "en"
    assert _html_lang(client.get("/").text) == "en"


def test_language_from_accept_language(client: TestClient) -> None:
    french = client.get("/", headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.8"})
    assert _html_lang(french.text) == "fr"
    assert "Équipements par type" in french.text
    unsupported = client.get("/", headers={"Accept-Language": "de-DE,de;q=0.9"})
    assert _html_lang(unsupported.text) == "en"
    prefers_english = client.get("/", headers={"Accept-Language": "de, fr;q=0.5, en;q=0.8"})
    assert _html_lang(prefers_english.text) == "en"
    assert "accept-language" in french.headers["vary"].lower()


def test_language_from_the_cookie_beats_accept_language(populated: Platform) -> None:
    client = TestClient(create_app(populated), cookies={"lang": "fr"})
    response = client.get("/", headers={"Accept-Language": "en"})
    assert _html_lang(response.text) == "fr"


def test_an_unknown_language_is_ignored(client: TestClient) -> None:
    response = client.get("/?lang=xx", headers={"Accept-Language": "fr"})
    assert response.status_code == 200
    assert _html_lang(response.text) == "fr"
    assert "set-cookie" not in response.headers


def test_pick_language_order() -> None:
    assert pick_language() == "en"
    assert pick_language("fr", "en", "en") == "fr"
    assert pick_language(None, "fr", "en") == "fr"
    assert pick_language("de", None, "fr-CA") == "fr"
    assert pick_language(None, None, "fr;q=0, en") == "en"
    assert pick_language(None, None, "*") == "en"


def test_the_catalogues_have_the_same_messages() -> None:
    assert set(CATALOGUE["en"]) == set(CATALOGUE["fr"])
    placeholders = re.compile(r"\{(\w+)\}")
    for key, english in CATALOGUE["en"].items():
        french = CATALOGUE["fr"][key]
        assert set(placeholders.findall(english)) == set(placeholders.findall(french)), key
    assert gettext("fr", "stats.assets") == "Équipements"
    assert format_number(34000, "en") == "34,000"
    assert format_number(34000, "fr") == "34\u202f000"
    assert format_percent(87.42, "en") == "87.4%"
    assert format_percent(87.42, "fr") == "87,4\u00a0%"
    assert format_percent(1, "en") == "1.0%"


def test_every_kind_and_status_is_translated() -> None:
    for lang in ("en", "fr"):
        for kind in AssetKind:
            assert f"kind.{kind.value}" in CATALOGUE[lang]
        for status in AssetStatus:
            assert f"status.{status.value}" in CATALOGUE[lang]


# ---- Content --------------------------------------------------------------------------------


def test_commune_names_are_escaped(client: TestClient) -> None:
    html = client.get("/").text
    assert "&lt;b&gt;Saint-Apollinaire&lt;/b&gt; &amp; Co" in html
    assert "<b>Saint-Apollinaire" not in html


def test_counts_and_communes_are_on_the_page(client: TestClient) -> None:
    html = client.get("/").text
    assert "21231" in html
    assert "21540" in html
    assert "156,920" in html  # Dijon's population, English grouping
    row = re.search(r'<tr data-insee="21231">(.*?)</tr>', html, re.DOTALL)
    assert row
    assert re.findall(r'<td class="num">([^<]*)</td>', row.group(1)) == ["156,920", "3"]
    assert 'data-figure="assets">4<' in html
    assert 'data-figure="attention">1<' in html
    assert 'href="/docs"' in html
    assert 'href="/api/v1/openapi.json"' in html
    french = client.get("/?lang=fr").text
    assert "156\u202f920" in french


def test_anonymous_visitors_are_invited_to_sign_in(client: TestClient) -> None:
    html = client.get("/").text
    assert 'data-dots="off"' in html
    assert "Sign in to see the equipment on the map" in html
    assert 'href="/login?next=/"' in html
    assert 'id="kind-select"' not in html
    assert client.get("/api/v1/assets").status_code == 401


def test_the_map_is_fed_by_the_api(client: TestClient, operator_client: TestClient) -> None:
    html = operator_client.get("/").text
    assert 'data-dots="on"' in html
    assert 'option value="streetlight" selected' in html
    urls = dict(re.findall(r'data-(communes|summary|kinds|assets)-url="([^"]+)"', html))
    assert set(urls) == {"communes", "summary", "kinds", "assets"}
    communes = client.get(urls["communes"]).json()
    assert communes["type"] == "FeatureCollection"
    assert len(communes["features"]) == 2
    summary = client.get(urls["summary"]).json()
    assert summary["by_commune"]["21231"] == 3
    assert "streetlight" in client.get(urls["kinds"]).json()["kinds"]
    # The equipment itself: for signed-in people only.
    assert client.get(urls["assets"], params={"format": "geojson"}).status_code == 401
    client = operator_client
    page = client.get(
        urls["assets"], params={"kind": "streetlight", "limit": 2, "format": "geojson"}
    )
    body = page.json()
    assert len(body["features"]) == 2
    assert body["next_cursor"]
    rest = client.get(
        urls["assets"],
        params={
            "kind": "streetlight",
            "limit": 2,
            "format": "geojson",
            "cursor": body["next_cursor"],
        },
    ).json()
    assert len(rest["features"]) == 1
    assert rest["next_cursor"] is None


def test_an_empty_territory_still_renders(platform: Platform) -> None:
    response = TestClient(create_app(platform)).get("/")
    assert response.status_code == 200
    assert "metropilot demo" in response.text
    assert 'id="map"' not in response.text


# ---- Static files, offline, CSP-ready -------------------------------------------------------


def test_static_files_are_served(client: TestClient) -> None:
    html = client.get("/").text
    served = set(re.findall(r'(?:href|src)="(/static/[^"?]+)', html))
    referenced = {RELEASE.sub("/static/", path) for path in served}
    assert {"/static/home.js", "/static/home.css", "/static/favicon.svg"} <= referenced
    types = {"js": "javascript", "css": "text/css", "svg": "image/svg+xml"}
    for path in served | referenced:
        response = client.get(path)
        assert response.status_code == 200, path
        assert types[path.rsplit(".", 1)[1]] in response.headers["content-type"], path


def test_nothing_is_fetched_from_outside(client: TestClient) -> None:
    for lang in ("en", "fr"):
        html = client.get(f"/?lang={lang}").text
        assert not URL.search(html), URL.findall(html)
    for path in ("/static/home.js", "/static/home.css"):
        text = client.get(path).text
        assert not URL.search(text), path
    for lang in ("en", "fr"):
        html = client.get(f"/login?lang={lang}").text
        assert not URL.search(html), URL.findall(html)
    # An SVG file must name its namespace; that is an identifier, never fetched.
    svg = client.get("/static/favicon.svg").text
    assert not URL.search(svg.replace(SVG_NAMESPACE, "")), "favicon.svg"
    # Our own files; vendored ones (static/vendor/) are pinned and checked by test_security.py.
    for file in STATIC_DIR.rglob("*"):
        if "vendor" in file.relative_to(STATIC_DIR).parts:
            continue
        if file.is_file() and file.suffix in (".js", ".css", ".html"):
            assert not URL.search(file.read_text(encoding="utf-8")), file.name


@pytest.mark.parametrize("path", ["/", "/login"])
def test_no_inline_script_style_or_handler(client: TestClient, path: str) -> None:
    html = client.get(path).text
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.DOTALL | re.IGNORECASE)
    if path == "/":
        assert scripts, "the page loads its script"
    for attributes, body in scripts:
        assert 'src="/static/' in attributes
        assert not body.strip()
    assert not re.search(r"\son[a-z]+\s*=", html, re.IGNORECASE)
    assert not re.search(r"\sstyle\s*=", html, re.IGNORECASE)
    assert "<style" not in html.lower()
    assert "javascript:" not in html.lower()


def test_an_upgrade_never_mixes_old_and_new_modules(client: TestClient) -> None:
    """The modules come from a path that changes with the release (kept for good); the files at
    their plain URLs are checked again before each use."""
    page = client.get("/").text
    entry = re.search(r'<script type="module" src="(/static/r-[0-9a-f]{12}/home\.js)"', page)
    assert entry is not None
    module = client.get(entry.group(1))
    assert module.status_code == 200
    assert module.headers["cache-control"] == "public, max-age=31536000, immutable"
    shared = client.get(entry.group(1).replace("home.js", "js/shared.js"))
    assert shared.status_code == 200
    plain = client.get("/static/js/shared.js")
    assert plain.headers["cache-control"] == "no-cache"
    again = client.get("/static/js/shared.js", headers={"If-None-Match": plain.headers["etag"]})
    assert again.status_code == 304
