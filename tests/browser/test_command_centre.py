"""The command centre at ``/`` in a real Chromium: the map, live alarms, actions, scoping.

The live server of ``conftest.py`` holds a small synthetic metropolis and the world accounts.
Telemetry is injected over HTTP with a device key created in the test (``POST
/api/v1/telemetry``), citizen reports through Open311 with an app key: the page must show what
follows (alarms, reports) from its live stream, without a reload.
"""

from __future__ import annotations

import json
import re
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from metropilot.accounts.model import parse_scope
from metropilot.accounts.services import create_key
from metropilot.assets.repository import assets as asset_table
from metropilot.bootstrap import Platform
from metropilot.shared.actors import SYSTEM
from tests.browser.conftest import PageFactory, PageLog, page_log, sign_in

READY_MS = 15_000
LIVE_MS = 15_000
TABLET = {"width": 1024, "height": 768}


# ---- Helpers -------------------------------------------------------------------------------------


def _wait_ready(page: Page) -> None:
    """The page says it drew the communes, the streets and the first assets."""
    expect(page.locator("html")).to_have_attribute("data-map-ready", "1", timeout=READY_MS)
    expect(page.locator("#map")).to_have_attribute("aria-busy", "false")


def _following(page: Page) -> None:
    """The live stream is open (what happens from now on reaches the page)."""
    expect(page.locator("#map")).to_have_attribute("data-stream", "open", timeout=READY_MS)


def _painted(page: Page) -> int:
    """Pixels of the assets' canvas that are not transparent."""
    return int(
        page.eval_on_selector(
            "canvas.cc-canvas",
            """canvas => {
                const data = canvas.getContext("2d")
                    .getImageData(0, 0, canvas.width, canvas.height).data;
                let n = 0;
                for (let i = 3; i < data.length; i += 16) if (data[i] > 0) n++;
                return n;
            }""",
        )
    )


def _post(url: str, body: Any, headers: dict[str, str], *, form: bool = False) -> Any:
    data = urlencode(body).encode() if form else json.dumps(body).encode()
    kind = "application/x-www-form-urlencoded" if form else "application/json"
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": kind, **headers}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read() or b"null")


def _no_failed_requests(log: PageLog) -> None:
    """Nothing refused or broken; a request the page aborted itself (a newer one replaced it)
    is fine."""
    failed = [line for line in log.failed_requests if "ERR_ABORTED" not in line]
    assert not failed, "requests failed:\n" + "\n".join(failed)


def _light(platform: Platform, commune: str = "21231", offset: int = 0) -> tuple[int, str]:
    """A street light of the commune that is working (id, reference)."""
    a = asset_table.c
    with platform.uow_factory() as uow:
        row = uow.connection.execute(
            select(a.id, a.external_ref)
            .where(a.kind == "streetlight", a.commune_insee == commune, a.status == "ok")
            .order_by(a.id)
            .offset(offset)
            .limit(1)
        ).one()
    return int(row[0]), str(row[1])


# ---- Tests ---------------------------------------------------------------------------------------


def test_operator_sees_the_map_drawn(page: Page, log: PageLog) -> None:
    sign_in(page, "operator")
    _wait_ready(page)
    expect(page.locator("h2#cc-title")).to_have_count(1)
    # Every commune is a path of its own SVG; the assets are drawn on one canvas.
    assert page.locator("svg.map__communes path").count() >= 2
    assert page.locator("#map .leaflet-marker-icon").count() == 0, "no marker per asset"
    assert _painted(page) > 0, "the map says it is ready; its canvas is empty"
    expect(page.locator("#map-status")).to_have_text(re.compile(r"\d[\d,]* on the map"))
    # The legend counts each status, in words next to its shape.
    expect(page.locator('[data-status-count="ok"]')).to_have_text(re.compile(r"\d"))
    expect(page.locator("#cc-alarms")).to_be_visible()
    # A click on a drawn asset opens its panel (hit-testing on the canvas).
    x, y = page.evaluate(
        """() => {
            const { layer, map } = window.__metropilot;
            const p = layer.point(layer.pointsInView()[0]);
            const at = map.latLngToContainerPoint([p.lat, p.lon]);
            return [at.x, at.y];
        }"""
    )
    box = page.locator("#map").bounding_box()
    assert box
    page.mouse.click(box["x"] + x, box["y"] + y)
    expect(page.locator("#cc-asset")).to_be_visible()
    expect(page.locator("#cc-asset-title")).to_contain_text(re.compile(r"-\d{5}-"))
    expect(page.locator("#cc-asset-body")).to_contain_text("Position")
    timing = page.evaluate("window.__metropilot.readyAt - window.__metropilot.startedAt")
    print(f"map ready {timing:.0f} ms after the script started")
    log.assert_no_errors()
    _no_failed_requests(log)


LIGHTING_TEAM = "lucerna-eclairage-field"


@dataclass(frozen=True)
class Keys:
    device: str  # telemetry:write
    app: str  # open311:post


@pytest.fixture(scope="module", autouse=True)
def keys(browser_platform: Platform) -> Keys:
    """The keys and the routing rule the tests need, written before any page acts: lamp
    failures go to the lighting contractor's team (as in tests/integration)."""
    from metropilot.cases import services as cases_services

    with browser_platform.uow_factory(write=True) as uow:
        cases_services.create_rule(
            uow,
            {
                "order": 1,
                "name": "Lamp failures to the lighting contractor (command centre test)",
                "categories": ["lamp-failure"],
                "team": LIGHTING_TEAM,
            },
            SYSTEM,
        )
        _, device = create_key(
            uow, "command centre test gateway", [parse_scope("telemetry:write")], SYSTEM
        )
        _, app = create_key(uow, "command centre test app", [parse_scope("open311:post")], SYSTEM)
        uow.commit()
    return Keys(device=device, app=app)


def test_a_lamp_failure_arrives_live_is_acknowledged_and_dispatched(
    page: Page, log: PageLog, server_url: str, browser_platform: Platform, keys: Keys
) -> None:
    _, ref = _light(browser_platform, offset=3)
    sign_in(page, "operator")
    _wait_ready(page)
    _following(page)
    before = page.evaluate("window.__metropilot.liveUpdates")

    reading = {
        "asset": ref,
        "ts": datetime.now(UTC).isoformat(),
        "metrics": {"lamp_failure": True, "power_w": 0},
    }
    results = _post(f"{server_url}/api/v1/telemetry", [reading], {"X-API-Key": keys.device})
    assert results["items"][0]["status"] == "accepted", results

    # The alarm arrives through the stream, without a reload, with the asset's reference.
    alarm = page.locator("#cc-alarms-list li.cc-alarm", has_text=ref)
    expect(alarm).to_have_count(1, timeout=LIVE_MS)
    expect(alarm).to_contain_text(re.compile("lamp failure", re.IGNORECASE))
    page.wait_for_function(f"window.__metropilot.liveUpdates > {before}")
    assert page.evaluate("document.getElementById('map').dataset.liveUpdates") != "0"

    # Acknowledge it: it leaves the list of alarms to handle, and shows with the acknowledged.
    alarm.locator("button[data-action='ack']").click()
    expect(page.locator("#cc-live")).to_contain_text("Acknowledged", timeout=LIVE_MS)
    expect(alarm).to_have_count(0)
    page.check("#cc-alarms-acked")
    expect(alarm).to_contain_text("Acknowledged", timeout=LIVE_MS)

    # Its equipment's panel: status, attributes, the case the alarm opened.
    alarm.locator("button[data-action='asset']").click()
    expect(page.locator("#cc-asset")).to_be_visible()
    expect(page.locator("#cc-asset-title")).to_contain_text(ref)
    case_button = page.locator("#cc-asset-cases button.cc-link").first
    expect(case_button).to_be_visible(timeout=LIVE_MS)

    # Open the case and dispatch a work order: the order shows with its SLA clocks ticking.
    case_button.click()
    expect(page.locator("#cc-tab-work")).to_have_attribute("aria-selected", "true")
    detail = page.locator("#cc-case-detail")
    expect(detail).to_contain_text(LIGHTING_TEAM)
    detail.locator("textarea").fill("Replace the lamp, check the driver.")
    detail.locator("button[data-action='dispatch']").click()
    expect(detail).to_contain_text(re.compile(r"Work order \d+ dispatched"), timeout=LIVE_MS)
    order = page.locator("#cc-orders-list li.cc-order").first
    expect(order).to_be_visible(timeout=LIVE_MS)
    clock = order.locator(".cc-sla").first
    expect(clock).to_contain_text(re.compile(r"due in (\d+ d )?\d\d:\d\d:\d\d"))
    # The countdowns tick every second towards their deadline (a business-hours clock paused
    # outside working hours moves its deadline, and the list is redrawn as the order moves:
    # the ticking is checked on a clock of its own, next to the list).
    texts = page.evaluate(
        """() => new Promise(done => {
            const node = document.createElement("span");
            node.className = "cc-sla";
            node.dataset.label = "Test:";
            node.dataset.due = new Date(Date.now() + 3600e3).toISOString();
            document.getElementById("cc-orders-list").after(node);
            const seen = [];
            setTimeout(() => seen.push(node.textContent), 1100);
            setTimeout(() => { seen.push(node.textContent); node.remove(); done(seen); }, 2300);
        })"""
    )
    assert re.fullmatch(r"Test: due in 00:59:5\d", texts[0]), texts
    assert texts[1] != texts[0], f"the SLA countdown does not tick: {texts}"

    # Escape closes the equipment's panel.
    page.keyboard.press("Escape")
    expect(page.locator("#cc-asset")).to_be_hidden()
    log.assert_no_errors()
    _no_failed_requests(log)


def test_a_citizen_report_arrives_live(
    page: Page, log: PageLog, server_url: str, browser_platform: Platform, keys: Keys
) -> None:
    _, lon_lat_ref = _light(browser_platform, offset=5)
    a = asset_table.c
    with browser_platform.uow_factory() as uow:
        lon, lat = uow.connection.execute(
            select(a.lon, a.lat).where(a.external_ref == lon_lat_ref)
        ).one()
    sign_in(page, "operator")
    _wait_ready(page)
    _following(page)
    expect(page.locator("#cc-reports-list")).not_to_contain_text("Loading")
    report = {
        "api_key": keys.app,
        "service_code": "bulky-waste",
        "lat": str(lat),
        "long": str(lon),
        "description": "A sofa left on the pavement (command centre test)",
    }
    created = _post(f"{server_url}/open311/v2/requests.json", report, {}, form=True)
    report_id = created[0]["service_request_id"]
    item = page.locator("#cc-reports-list li", has_text="A sofa left on the pavement")
    expect(item).to_have_count(1, timeout=LIVE_MS)
    expect(item).to_contain_text(f"Report {report_id}")
    expect(page.locator("#cc-live")).to_contain_text("New citizen report")
    # Triage from the panel: a case is opened for it.
    item.locator("button[data-action='case']").click()
    expect(item.locator(".cc-outcome")).to_contain_text(re.compile(r"Case \d+ opened"))
    log.assert_no_errors()
    _no_failed_requests(log)


def test_a_commune_agent_sees_their_commune_only(
    page: Page, log: PageLog, browser_platform: Platform
) -> None:
    sign_in(page, "agent-dijon")
    _wait_ready(page)
    options = page.locator("#cc-commune option")
    expect(options).to_have_count(1)
    assert options.first.get_attribute("value") == "21231"
    assert _painted(page) > 0
    refs = page.evaluate(
        """() => {
            const out = new Set();
            for (const b of document.querySelectorAll('#cc-inview-list button')) {
                out.add(b.textContent.split(' ')[0]);
            }
            return Array.from(out);
        }"""
    )
    assert refs, "the list of what is in view is empty"
    assert all("-21231-" in ref for ref in refs), refs
    # The API the page reads is scoped too: every point it received is in Dijon.
    ids = page.evaluate(
        """async () => {
            const m = document.getElementById('map');
            const r = await fetch(m.dataset.mapAssetsUrl + '?bbox=4.5,46.9,5.6,47.6&zoom=18');
            return (await r.json()).points.id;
        }"""
    )
    assert ids
    a = asset_table.c
    with browser_platform.uow_factory() as uow:
        communes = set(
            uow.connection.execute(select(a.commune_insee).where(a.id.in_(ids))).scalars()
        )
    assert communes == {"21231"}, communes
    # Reports: a commune agent triages their commune's; no work-order list (not their audience).
    expect(page.locator("#cc-tab-reports")).to_be_visible()
    expect(page.locator("#cc-orders-list")).to_have_count(0)
    log.assert_no_errors()
    _no_failed_requests(log)


def test_search_keyboard_and_french(page: Page, log: PageLog, browser_platform: Platform) -> None:
    _, ref = _light(browser_platform, offset=7)
    sign_in(page, "supervisor", next_path="/?lang=fr")
    _wait_ready(page)
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator("#map-status")).to_contain_text("sur la carte")
    # Search by reference with the keyboard only: type, Enter, the panel opens on the asset.
    page.focus("#cc-search")
    page.keyboard.type(ref)
    page.keyboard.press("Enter")
    expect(page.locator("#cc-asset")).to_be_visible()
    expect(page.locator("#cc-asset-title")).to_contain_text(ref)
    expect(page.locator("#cc-asset")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("#cc-asset")).to_be_hidden()
    expect(page.locator("#cc-search")).to_be_focused()
    # Tabs follow the arrow keys.
    page.focus("#cc-tab-reports")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#cc-tab-work")).to_be_focused()
    expect(page.locator("#cc-tabpanel-work")).to_be_visible()
    log.assert_no_errors()


def test_tablet_layout(open_page: PageFactory) -> None:
    page = open_page(viewport=TABLET)
    sign_in(page, "operator")
    _wait_ready(page)
    map_box = page.locator("#map").bounding_box()
    panels = page.locator(".cc-panels").bounding_box()
    assert map_box
    assert panels
    assert map_box["width"] >= TABLET["width"] - 2, map_box
    assert panels["y"] >= map_box["y"] + map_box["height"] - 1, (map_box, panels)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px on a tablet"
    page_log(page).assert_no_errors()
