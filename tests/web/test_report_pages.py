"""The citizens' report pages on both databases: the form, sending (photos, CSRF, limits, "me
too"), the tracking page and its photos, the public map without personal data."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from PIL import ExifTags, Image
from sqlalchemy import select

from metropilot.accounts import services as accounts
from metropilot.accounts.model import Role, User
from metropilot.api.ratelimit import SlidingWindowLimiter
from metropilot.assets import repository as assets_repository
from metropilot.bootstrap import Platform
from metropilot.reports import repository, services
from metropilot.reports.model import ReportState
from metropilot.shared.actors import SYSTEM
from metropilot.simulate.services import generate_metropolis
from metropilot.web.app import create_app
from metropilot.web.report_form import LIMITER_ATTRIBUTE, REPORT_CSRF_FIELD
from metropilot.web.signin import LOGIN_CSRF_FIELD
from tests.conftest import TEST_ACTOR

PARIS = (2.3522, 48.8566)  # well outside the metropolis
TOKEN_FIELD = re.compile(rf'name="{REPORT_CSRF_FIELD}" value="([^"]+)"')
TRACK = re.compile(r"^/report/track/([A-Za-z0-9_-]+)\?sent=1$")


@pytest.fixture
def city(platform: Platform) -> Platform:
    with platform.uow_factory(write=True) as uow:
        generate_metropolis(uow, TEST_ACTOR, scale=0.01, seed=3)
        uow.commit()
    return platform


@pytest.fixture
def browser(city: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(city)) as client:
        yield client


def lights(city: Platform, count: int = 3) -> list[tuple[float, float]]:
    """Places inside the metropolis, far enough apart not to be "me too" of each other."""
    a = assets_repository.assets.c
    with city.uow_factory() as uow:
        rows = uow.connection.execute(
            select(a.lon, a.lat).where(a.kind == "streetlight").order_by(a.id).limit(400)
        ).all()
    chosen: list[tuple[float, float]] = []
    for lon, lat in rows:
        if all(abs(lon - x) + abs(lat - y) > 0.003 for x, y in chosen):
            chosen.append((float(lon), float(lat)))
        if len(chosen) == count:
            break
    assert len(chosen) == count
    return chosen


def form_token(client: TestClient, lang: str = "en") -> str:
    page = client.get(f"/report?lang={lang}")
    assert page.status_code == 200
    found = TOKEN_FIELD.search(page.text)
    assert found is not None
    return found.group(1)


def jpeg_with_gps(size: tuple[int, int] = (64, 48)) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "CityPhone"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (47.0, 19.0, 12.0),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (5.0, 2.0, 30.0),
    }
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, "JPEG", exif=exif.tobytes())
    data = buffer.getvalue()
    with Image.open(io.BytesIO(data)) as check:
        assert check.getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the test photo does reveal it
    return data


def send(
    client: TestClient,
    where: tuple[float, float] | None,
    *,
    token: str | None = None,
    category: str = "streetlight-broken",
    photos: list[bytes] | None = None,
    extra: dict[str, str] | None = None,
    **fields: str,
) -> Response:
    data: dict[str, Any] = {"category": category, "description": "Dark since Monday"}
    if category == "streetlight-broken":
        data["attr-streetlight-broken-light_state"] = "off"
    if where is not None:
        data["lon"], data["lat"] = f"{where[0]:.6f}", f"{where[1]:.6f}"
    data[REPORT_CSRF_FIELD] = form_token(client) if token is None else token
    data.update(fields)
    data.update(extra or {})
    files = [("photos", (f"p{i}.jpg", p, "image/jpeg")) for i, p in enumerate(photos or [])]
    if not files:
        # A browser sends the empty file field all the same.
        files = [("photos", ("", b"", "application/octet-stream"))]
    response: Response = client.post("/report", data=data, files=files, follow_redirects=False)
    return response


def count_reports(city: Platform) -> int:
    with city.uow_factory() as uow:
        return repository.count_reports(uow.connection)


def tracked_token(response: Response) -> str:
    assert response.status_code == 303, response.text[:2000]
    found = TRACK.match(response.headers["location"])
    assert found is not None, response.headers["location"]
    return found.group(1)


# ---- The form --------------------------------------------------------------------------------


def test_the_form_shows_the_categories_by_group_in_english_and_french(
    browser: TestClient,
) -> None:
    english = browser.get("/report?lang=en")
    assert english.status_code == 200
    assert english.headers["content-language"] == "en"
    assert '<optgroup label="Lighting">' in english.text
    assert ">Broken street light</option>" in english.text
    assert "What is wrong with the light?" in english.text  # the category's question
    assert 'maxlength="4000"' in english.text
    assert 'accept="image/*"' in english.text
    assert "Only used to tell you how your report progresses" in english.text
    assert english.headers["cache-control"] == "no-store"
    cookie = english.headers["set-cookie"]
    assert "report_csrf=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    # No inline script: a JSON data island and the static file, nothing else.
    scripts = re.findall(r"<script[^>]*>", english.text)
    assert scripts
    assert all('src="/static/' in s or 'type="application/json"' in s for s in scripts)
    assert "'unsafe-inline'" not in english.headers["content-security-policy"]

    french = browser.get("/report?lang=fr")
    assert french.headers["content-language"] == "fr"
    assert '<optgroup label="Éclairage">' in french.text
    assert ">Lampadaire en panne</option>" in french.text
    assert "Envoyer le signalement" in french.text
    assert "Utiliser ma position" in french.text
    # The private category is offered (it is only kept off the public map).
    assert "camera-damaged" in french.text


def test_the_script_and_stylesheet_are_served(browser: TestClient) -> None:
    for path in ("/static/report.js", "/static/report.css"):
        assert browser.get(path).status_code == 200


# ---- Sending and following -------------------------------------------------------------------


def test_a_report_with_a_photo_is_tracked_and_its_photo_has_no_exif(
    city: Platform, browser: TestClient
) -> None:
    where = lights(city, 1)[0]
    response = send(
        browser,
        where,
        photos=[jpeg_with_gps()],
        name="Camille Dupont",
        email="camille@example.org",
        address="12 rue des Lampes",
    )
    token = tracked_token(response)
    assert response.headers["referrer-policy"] == "no-referrer"

    page = browser.get(f"/report/track/{token}?sent=1")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert '<meta name="referrer" content="no-referrer">' in page.text
    text = page.text
    assert "Thank you: your report was received." in text
    assert "Broken street light" in text
    assert ">Received</span>" in text  # the state
    assert "Report received." in text  # the timeline's first entry
    assert "Dark since Monday" in text
    assert "12 rue des Lampes" in text
    assert "Off at night" in text  # the answer, by its name
    assert "Camille" not in text
    assert "camille@example.org" not in text

    thumb = f"/report/track/{token}/photos/1.thumb.jpg"
    assert thumb in text
    for path in (thumb, f"/report/track/{token}/photos/1.jpg"):
        served = browser.get(path)
        assert served.status_code == 200
        assert served.headers["content-type"] == "image/jpeg"
        assert served.headers["referrer-policy"] == "no-referrer"
        with Image.open(io.BytesIO(served.content)) as image:
            assert len(image.getexif()) == 0
            assert "exif" not in image.info
    assert browser.get(f"/report/track/{token}/photos/2.jpg").status_code == 404
    assert browser.get(f"/report/track/{token}/photos/..%2F1.jpg").status_code == 404

    french = browser.get(f"/report/track/{token}?lang=fr")
    assert ">Reçu</span>" in french.text
    assert "Signalement reçu." in french.text
    assert "Lampadaire en panne" in french.text

    with city.uow_factory() as uow:
        stored = services.report_by_token(uow, token)
    assert stored.email == "camille@example.org"  # kept for the e-mails, never shown
    assert stored.first_name == "Camille Dupont"
    assert stored.attributes == {"light_state": "off"}
    assert len(stored.photos) == 1


def test_the_description_is_escaped_on_the_tracking_page(
    city: Platform, browser: TestClient
) -> None:
    where = lights(city, 1)[0]
    attack = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'
    token = tracked_token(send(browser, where, description=attack))
    page = browser.get(f"/report/track/{token}")
    assert "<script>alert" not in page.text
    assert "<img src=x" not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;img" in page.text
    with city.uow_factory() as uow:
        assert services.report_by_token(uow, token).description == attack  # stored as text


def test_a_photo_refused_leaves_no_report_behind(city: Platform, browser: TestClient) -> None:
    where = lights(city, 1)[0]
    response = send(browser, where, photos=[jpeg_with_gps(), b"GIF89a not really a photo"])
    assert response.status_code == 400
    assert "A file is not a photo that can be accepted" in response.text
    assert "choose them again" in response.text
    assert "Dark since Monday" in response.text  # what they typed is kept
    assert count_reports(city) == 0


def test_a_form_without_its_token_is_refused(city: Platform, browser: TestClient) -> None:
    where = lights(city, 1)[0]
    browser.get("/report")  # the cookie is there; the field is missing or wrong
    for token in ("", "x" * 43):
        response = send(browser, where, token=token)
        assert response.status_code == 403
        assert "This form had expired or did not come from this site" in response.text
        assert "Dark since Monday" in response.text
    fresh = TestClient(create_app(city))  # no cookie at all
    assert send(fresh, where, token="y" * 43).status_code == 403
    assert count_reports(city) == 0


def test_a_description_over_4000_characters_is_refused(city: Platform, browser: TestClient) -> None:
    where = lights(city, 1)[0]
    response = send(browser, where, description="a" * 4001)
    assert response.status_code == 400
    assert "The description has 4,001 characters: at most 4,000 are accepted." in response.text
    assert count_reports(city) == 0
    # Exactly 4,000 is fine, line breaks counted once as the browser counts them.
    text = ("b" * 99 + "\r\n") * 40
    assert len(text.replace("\r\n", "\n")) == 4000
    tracked_token(send(browser, where, description=text))


def test_a_place_outside_the_metropolis_is_refused_clearly(
    city: Platform, browser: TestClient
) -> None:
    response = send(browser, PARIS)
    assert response.status_code == 400
    assert f"This place is outside {city.settings.metropolis_name}" in response.text
    assert 'value="48.856600"' in response.text  # the point is kept to be corrected
    french = send(browser, PARIS, token=form_token(browser, "fr"))
    assert "Cet endroit est hors de" in french.text
    assert count_reports(city) == 0


def test_missing_answers_are_each_reported(city: Platform, browser: TestClient) -> None:
    response = send(
        browser,
        None,
        category="",
        description="Somewhere",
    )
    assert response.status_code == 400
    assert "Choose what you are reporting." in response.text
    assert "Say where the problem is" in response.text
    where = lights(city, 1)[0]
    response = send(browser, where, extra={"attr-streetlight-broken-light_state": "exploded"})
    assert response.status_code == 400
    assert "The answer to “What is wrong with the light?” is not valid." in response.text
    response = send(browser, where, extra={"attr-streetlight-broken-light_state": ""})
    assert "Please answer: “What is wrong with the light?”." in response.text
    response = send(browser, where, email="not an address")
    assert response.status_code == 400
    assert "The e-mail address does not look right" in response.text
    assert count_reports(city) == 0


def test_me_too_never_shows_the_original_token(city: Platform, browser: TestClient) -> None:
    where = lights(city, 1)[0]
    original = tracked_token(send(browser, where, description="First, with my phone number"))
    nearby = (where[0] + 0.00005, where[1])  # a few metres away
    second = send(browser, nearby, photos=[jpeg_with_gps()], email="second@example.org")
    assert second.status_code == 200
    assert original not in second.text
    assert "/report/track/" not in second.text
    assert "First, with my phone number" not in second.text
    assert "Already reported: thank you for your support" in second.text
    assert "You will receive an e-mail each time it progresses." in second.text
    assert "Your photos were not added" in second.text
    assert second.headers["cache-control"] == "no-store"
    assert count_reports(city) == 1
    with city.uow_factory() as uow:
        report = services.report_by_token(uow, original)
    assert report.supporters == 1
    assert report.photos == []
    assert f"report {report.id}" in second.text


def test_an_unknown_token_is_a_404_page(browser: TestClient) -> None:
    page = browser.get("/report/track/no-such-report-token-here")
    assert page.status_code == 404
    assert "No report matches this address" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    assert browser.get("/report/track/no-such-report-token-here/photos/1.jpg").status_code == 404
    assert browser.get("/report/track/a/photos/1.jpg").status_code == 404


def test_sending_is_rate_limited_per_address(city: Platform, browser: TestClient) -> None:
    setattr(browser.app.state, LIMITER_ATTRIBUTE, SlidingWindowLimiter(2, 600))  # type: ignore[attr-defined]
    where = lights(city, 3)
    assert send(browser, where[0]).status_code == 303
    assert send(browser, where[1]).status_code == 303
    refused = send(browser, where[2])
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    assert "Please wait 10 minutes, then send again." in refused.text
    assert count_reports(city) == 2


def test_a_signed_in_citizen_reports_with_the_session_token(
    city: Platform, browser: TestClient
) -> None:
    password = "Lamp-posts at dawn 42"
    with city.uow_factory(write=True) as uow:
        zoe = accounts.create_user(uow, User("zoe", Role.CITIZEN, None), password, SYSTEM)
        uow.commit()
    login = browser.get("/login")
    login_token = re.search(rf'name="{LOGIN_CSRF_FIELD}" value="([^"]+)"', login.text)
    assert login_token is not None
    signed_in = browser.post(
        "/login",
        data={
            "username": "zoe",
            "password": password,
            LOGIN_CSRF_FIELD: login_token.group(1),
            "next": "/report",
        },
        follow_redirects=False,
    )
    assert signed_in.status_code == 303
    page = browser.get("/report")
    session_token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert session_token is not None
    where = lights(city, 1)[0]
    # The form token alone is not enough with a session: its own CSRF token is checked too.
    assert send(browser, where).status_code == 403
    token = tracked_token(send(browser, where, csrf_token=session_token.group(1)))
    with city.uow_factory() as uow:
        report = services.report_by_token(uow, token)
    assert zoe.id is not None
    assert report.account_id == zoe.id


# ---- The public map --------------------------------------------------------------------------


def test_the_public_map_shows_no_personal_data(city: Platform, browser: TestClient) -> None:
    places = lights(city, 3)
    secrets: list[str] = ["Camille Secret", "camille.secret@example.org", "My own doorstep"]
    token = tracked_token(
        send(
            browser,
            places[0],
            name="Camille Secret",
            email="camille.secret@example.org",
            description="My own doorstep",
        )
    )
    secrets.append(token)
    with city.uow_factory(write=True) as uow:
        by_app = services.submit(
            uow,
            services.Submission(
                category_code="pothole",
                lon=places[1][0],
                lat=places[1][1],
                description="Pothole described privately",
                attributes={"size": "small", "danger": "no"},
                phone="+33 6 12 34 56 78",
                device_id="device-4242",
                last_name="Martin-Privé",
            ),
            TEST_ACTOR,
        )
        private = services.submit(
            uow,
            services.Submission(category_code="camera-damaged", lon=places[2][0], lat=places[2][1]),
            TEST_ACTOR,
        )
        uow.commit()
    secrets += [
        "+33 6 12 34 56 78",
        "device-4242",
        "Martin-Privé",
        "Pothole described privately",
        by_app.report.token,
        private.report.token,
    ]

    data = browser.get("/reports/map.json?lang=en")
    assert data.status_code == 200
    points = data.json()["points"]
    assert {p["category"] for p in points} == {"streetlight-broken", "pothole"}
    assert all(
        set(p)
        == {
            "number",
            "lon",
            "lat",
            "category",
            "category_name",
            "group",
            "state",
            "state_label",
            "date",
            "requested_at",
            "commune",
            "supporters",
        }
        for p in points
    )
    assert {p["state_label"] for p in points} == {"Received"}
    assert all(p["commune"] for p in points)

    page = browser.get("/reports/map?lang=fr")
    assert page.status_code == 200
    assert "Signalements en cours" in page.text
    assert "Nid-de-poule" in page.text
    assert "Lampadaire en panne" in page.text
    assert "Caméra" not in page.text  # a private category stays off the public map
    for body in (data.text, page.text, browser.get("/reports/map.json?lang=fr").text):
        for secret in secrets:
            assert secret not in body
        assert "@" not in body
        assert "/report/track/" not in body


def test_a_closed_report_leaves_the_public_map(city: Platform, browser: TestClient) -> None:
    where = lights(city, 1)[0]
    token = tracked_token(send(browser, where))
    with city.uow_factory(write=True) as uow:
        report = services.report_by_token(uow, token)
        services.change_state(uow, report.id, ReportState.FIXED, TEST_ACTOR)
        uow.commit()
    assert browser.get("/reports/map.json").json()["points"] == []
    page = browser.get(f"/report/track/{token}")
    assert ">Fixed</span>" in page.text
    assert "(closed)" in page.text
