"""Smoke tests of today's pages in a real Chromium, and of the vendored Leaflet.

The home page draws the communes as SVG paths for everyone and, once signed in, the equipment
as dots on a canvas (static/home.js); it announces what it drew in ``#map-status``.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import urlsplit

from playwright.sync_api import Page, Route, expect

from metropilot.web.i18n import gettext
from metropilot.web.pages import STATIC_DIR
from metropilot.web.security import CONTENT_SECURITY_POLICY
from tests.browser.conftest import PHONE, PageFactory, PageLog, page_log, sign_in

LEAFLET_VERSION = "1.9.4"  # static/vendor/leaflet/README.md
LEAFLET_URL = "/static/vendor/leaflet"
LEAFLET_DIR = STATIC_DIR / "vendor" / "leaflet"
COMMUNE_PATHS = "svg.map__communes path"
COMMUNE_ROWS = "table.communes tbody tr"


def _painted_pixels(page: Page, selector: str = "canvas.map__dots") -> int:
    """How many pixels of the canvas are not transparent."""
    return int(
        page.eval_on_selector(
            selector,
            """canvas => {
                if (!canvas.width || !canvas.height) return 0;
                const data = canvas.getContext("2d")
                    .getImageData(0, 0, canvas.width, canvas.height).data;
                let painted = 0;
                for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
                return painted;
            }""",
        )
    )


def _communes_drawn(page: Page) -> int:
    """Wait until the map has its communes, each an SVG path with a shape; their number."""
    expect(page.locator("#map")).to_have_attribute("aria-busy", "false")
    rows = page.locator(COMMUNE_ROWS).count()
    assert rows > 0, "the page lists no communes"
    expect(page.locator(COMMUNE_PATHS)).to_have_count(rows)
    shapes = page.eval_on_selector_all(
        COMMUNE_PATHS, "paths => paths.filter(p => (p.getAttribute('d') || '').length > 10).length"
    )
    assert shapes == rows, f"{rows} communes, {shapes} drawn"
    return rows


def test_home_page_draws_the_communes_for_everyone(page: Page, log: PageLog) -> None:
    page.goto("/")
    expect(page.locator("h2#map-title")).to_have_text(gettext("en", "map.title"))
    _communes_drawn(page)
    # Anonymous: no dots, a call to sign in instead.
    expect(page.locator("#map-signin")).to_be_visible()
    expect(page.locator("#map-signin a")).to_have_text(gettext("en", "map.signin"))
    assert _painted_pixels(page) == 0
    log.assert_no_errors()
    log.assert_no_failed_requests()


def test_operator_sees_the_equipment_dots(page: Page, log: PageLog) -> None:
    sign_in(page, "operator")
    assert urlsplit(page.url).path == "/"
    _communes_drawn(page)
    status = page.locator("#map-status")
    # "Street lights: 1,234 on the map." (map.points_shown, or points_capped past the cap)
    expect(status).to_have_text(re.compile(r"\d[\d,\u00a0\u202f ]* on the map"))
    count = int(re.sub(r"\D", "", status.inner_text().split(" on the map")[0]))
    assert count > 0
    expect(page.locator("#map-signin")).to_be_hidden()
    assert _painted_pixels(page) > 0, "the status says dots were drawn; the canvas is empty"
    log.assert_no_errors()
    log.assert_no_failed_requests()


def test_home_page_in_french(page: Page, log: PageLog) -> None:
    page.goto("/?lang=fr")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator("h2#map-title")).to_have_text(gettext("fr", "map.title"))
    _communes_drawn(page)
    expect(page.locator("#map-signin a")).to_have_text(gettext("fr", "map.signin"))
    # The choice is remembered: the sign-in page that follows is French too.
    sign_in(page, "operator")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator("#map-status")).to_have_text(re.compile(r"sur la carte"))
    log.assert_no_errors()


def test_home_page_on_a_phone(open_page: PageFactory) -> None:
    page = open_page(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page.goto("/")
    _communes_drawn(page)
    box = page.locator("#map").bounding_box()
    assert box is not None
    assert box["width"] > 0
    assert box["height"] > 0
    assert box["x"] >= 0, box
    assert box["x"] + box["width"] <= PHONE["width"] + 0.5, box
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px on a phone"
    page_log(page).assert_no_errors()


# ---- The vendored Leaflet ------------------------------------------------------------------------


def test_vendored_leaflet_is_the_one_its_readme_names() -> None:
    """No browser needed: the files on disk are exactly those the README pins, unmodified."""
    readme = (LEAFLET_DIR / "README.md").read_text(encoding="utf-8")
    assert f"# Vendored: leaflet {LEAFLET_VERSION}" in readme
    listed = dict(re.findall(r"^\| `([^`]+)` \| `[^`]+` \| `([0-9a-f]{64})` \|$", readme, re.M))
    assert set(listed) >= {"leaflet.js", "leaflet.css", "LICENSE", "images/marker-icon.png"}
    for name, digest in listed.items():
        assert hashlib.sha256((LEAFLET_DIR / name).read_bytes()).hexdigest() == digest, name
    on_disk = {p.relative_to(LEAFLET_DIR).as_posix() for p in LEAFLET_DIR.rglob("*") if p.is_file()}
    assert on_disk - {"README.md"} == set(listed)
    assert "BSD 2-Clause License" in (LEAFLET_DIR / "LICENSE").read_text(encoding="utf-8")


def test_vendored_leaflet_is_served(page: Page, server_url: str) -> None:
    expected = {
        "leaflet.js": "text/javascript",
        "leaflet.css": "text/css",
        "images/marker-icon.png": "image/png",
        "images/layers.png": "image/png",
        "LICENSE": None,
    }
    for name, content_type in expected.items():
        answer = page.request.get(f"{server_url}{LEAFLET_URL}/{name}")
        assert answer.status == 200, (name, answer.status)
        if content_type:
            assert answer.headers["content-type"].split(";")[0] == content_type, name
    script = page.request.get(f"{server_url}{LEAFLET_URL}/leaflet.js").text()
    assert f"Leaflet {LEAFLET_VERSION}" in script[:300]
    css = page.request.get(f"{server_url}{LEAFLET_URL}/leaflet.css").text()
    # url(images/layers.png) and the like; url(#default#VML) is for old Internet Explorer.
    images = {m.strip("'\"") for m in re.findall(r"url\(([^)#][^)]*)\)", css)}
    assert images, "leaflet.css names no images"
    for image in images:
        assert not re.match(r"^(/|[a-z]+:)", image), f"not a relative URL: {image}"
        answer = page.request.get(f"{server_url}{LEAFLET_URL}/{image}")
        assert answer.status == 200, image
        assert answer.headers["content-type"] == "image/png", image


def _only_the_test_server(page: Page, server_url: str) -> list[str]:
    """Abort every request to another host; return the list of those refused."""
    origin = urlsplit(server_url).netloc
    refused: list[str] = []

    def handle(route: Route) -> None:
        url = route.request.url
        if url.startswith(("data:", "blob:", "about:")) or urlsplit(url).netloc == origin:
            route.continue_()
        else:
            refused.append(url)
            route.abort("blockedbyclient")

    page.route("**/*", handle)
    return refused


def _make_a_map(page: Page) -> None:
    page.evaluate(
        """() => {
            const map = L.map("map", { center: [47.322, 5.041], zoom: 12 });
            L.marker([47.322, 5.041]).addTo(map);
            L.circleMarker([47.33, 5.05], { radius: 6 }).addTo(map);
            window.testMap = map;
        }"""
    )
    expect(page.locator("#map.leaflet-container")).to_be_visible()
    expect(page.locator("#map .leaflet-marker-icon")).to_have_count(1)
    expect(page.locator("#map .leaflet-control-zoom-in")).to_be_visible()
    # The default icon comes from the stylesheet's relative URL, next to leaflet.css.
    icon = page.locator("#map .leaflet-marker-icon").get_attribute("src") or ""
    assert icon.endswith(f"{LEAFLET_URL}/images/marker-icon.png"), icon
    # Loaded or failed, an image ends complete: wait for that, then look at what came.
    page.wait_for_function(
        "() => document.querySelector('#map .leaflet-marker-icon').complete", timeout=15_000
    )
    loaded = page.eval_on_selector("#map .leaflet-marker-icon", "img => img.naturalWidth")
    assert loaded, "the marker icon did not load"


def test_vendored_leaflet_makes_a_map_offline(page: Page, log: PageLog, server_url: str) -> None:
    refused = _only_the_test_server(page, server_url)
    page.set_content('<div id="map" style="width: 800px; height: 600px"></div>')
    page.add_style_tag(url=f"{server_url}{LEAFLET_URL}/leaflet.css")
    page.add_script_tag(url=f"{server_url}{LEAFLET_URL}/leaflet.js")
    assert page.evaluate("window.L && window.L.version") == LEAFLET_VERSION
    _make_a_map(page)
    assert not refused, f"requests to other hosts: {refused}"
    log.assert_no_errors()
    log.assert_no_failed_requests()


def test_vendored_leaflet_under_the_platform_policy(
    page: Page, log: PageLog, server_url: str
) -> None:
    """A page of this origin with the app's Content-Security-Policy (no inline script or style)
    loads Leaflet and draws a map without a single violation."""
    refused = _only_the_test_server(page, server_url)
    html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Leaflet check</title>
<link rel="stylesheet" href="{LEAFLET_URL}/leaflet.css">
<script src="{LEAFLET_URL}/leaflet.js"></script>
</head><body><div id="map"></div></body></html>"""
    page.route(
        f"{server_url}/leaflet-check",
        lambda route: route.fulfill(
            status=200,
            content_type="text/html; charset=utf-8",
            headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY},
            body=html,
        ),
    )
    page.goto("/leaflet-check")
    # Sized from a script (CSSOM), as an inline style attribute would break the policy.
    page.evaluate(
        "Object.assign(document.getElementById('map').style, {width: '800px', height: '600px'})"
    )
    assert page.evaluate("window.L.version") == LEAFLET_VERSION
    _make_a_map(page)
    page.evaluate("window.testMap.setZoom(13)")
    assert not refused, f"requests to other hosts: {refused}"
    log.assert_no_errors()
