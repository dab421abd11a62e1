"""The Open311 GeoReport v2 server end to end, both formats, both databases: discovery, services,
definitions, posting (with photos and "me too"), tokens, reading with the 90-day rule, updates,
every documented error, and no personal data anywhere public."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from metropilot.accounts.model import parse_scope
from metropilot.accounts.services import create_key
from metropilot.assets import repository as assets_repository
from metropilot.bootstrap import Platform
from metropilot.reports import services
from metropilot.reports.model import ReportState
from metropilot.shared.actors import SYSTEM
from metropilot.simulate.services import generate_metropolis
from metropilot.web.app import create_app
from tests.conftest import TEST_ACTOR

BASE = "/open311/v2"
PERSONAL = ("camille@example.org", "Camille", "Durand", "+33612345678", "device-42")


@dataclass
class World:
    platform: Platform
    client: TestClient
    app_key: str
    backoffice_key: str
    reader_key: str
    lon: float
    lat: float


@pytest.fixture
def world(platform: Platform) -> Iterator[World]:
    with platform.uow_factory(write=True) as uow:
        generate_metropolis(uow, TEST_ACTOR, scale=0.01, seed=3)
        _, app_key = create_key(uow, "citizen app", [parse_scope("open311:post")], SYSTEM)
        _, backoffice_key = create_key(uow, "back-office", [parse_scope("reports:update")], SYSTEM)
        _, reader_key = create_key(uow, "reader", [parse_scope("assets:read")], SYSTEM)
        a = assets_repository.assets.c
        lon, lat = uow.connection.execute(
            select(a.lon, a.lat).where(a.kind == "streetlight").order_by(a.id).limit(1)
        ).one()
        uow.commit()
    with TestClient(create_app(platform)) as client:
        yield World(platform, client, app_key, backoffice_key, reader_key, float(lon), float(lat))


def post(
    world: World,
    fmt: str = "json",
    files: list[tuple[str, tuple[str, bytes, str]]] | None = None,
    **fields: str,
) -> object:
    data = {
        "api_key": world.app_key,
        "service_code": "pothole",
        "lat": str(world.lat),
        "long": str(world.lon),
        **fields,
    }
    return world.client.post(f"{BASE}/requests.{fmt}", data=data, files=files)


def xml(response: object) -> ET.Element:
    return ET.fromstring(response.content)  # type: ignore[attr-defined]


def errors(response: object) -> list[tuple[str, str]]:
    body = response.json()  # type: ignore[attr-defined]
    return [(str(e["code"]), e["description"]) for e in body]


def test_discovery_and_services_in_both_formats(world: World) -> None:
    discovery = world.client.get(f"{BASE}/discovery.xml")
    assert discovery.status_code == 200
    assert discovery.headers["content-type"].startswith("text/xml")
    root = xml(discovery)
    assert root.tag == "discovery"
    endpoint = root.find("endpoints/endpoint")
    assert endpoint is not None
    assert endpoint.findtext("specification") == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint.findtext("url", "").endswith(BASE)
    formats = [f.text for f in endpoint.findall("formats/format")]
    assert formats == ["text/xml", "application/json"]

    services_json = world.client.get(f"{BASE}/services.json").json()
    codes = {s["service_code"] for s in services_json}
    assert {"pothole", "streetlight-broken", "graffiti"} <= codes
    pothole = next(s for s in services_json if s["service_code"] == "pothole")
    assert pothole["metadata"] is True
    assert pothole["type"] == "realtime"
    assert pothole["group"] == "Roads and pavements"
    services_xml = xml(world.client.get(f"{BASE}/services.xml"))
    assert services_xml.tag == "services"
    assert {s.findtext("service_code") for s in services_xml.findall("service")} == codes
    french = world.client.get(f"{BASE}/services.json", headers={"Accept-Language": "fr-FR"})
    assert "Nid-de-poule" in {s["service_name"] for s in french.json()}


def test_service_definitions(world: World) -> None:
    definition = xml(world.client.get(f"{BASE}/services/pothole.xml"))
    assert definition.tag == "service_definition"
    assert definition.findtext("service_code") == "pothole"
    size = next(
        a for a in definition.findall("attributes/attribute") if a.findtext("code") == "size"
    )
    assert size.findtext("datatype") == "singlevaluelist"
    assert size.findtext("required") == "true"
    assert [v.findtext("key") for v in size.findall("values/value")] == [
        "small",
        "medium",
        "large",
    ]
    assert world.client.get(f"{BASE}/services/bench-broken.json").status_code == 404  # no metadata
    missing = world.client.get(f"{BASE}/services/no-such.json")
    assert missing.status_code == 404
    assert errors(missing)[0][0] == "404"


def test_posting_a_request_and_reading_it_back(world: World) -> None:
    created = post(
        world,
        service_code="pothole",
        description="Deep hole <near> the crossing & the bakery",
        email=PERSONAL[0],
        first_name=PERSONAL[1],
        last_name=PERSONAL[2],
        phone=PERSONAL[3],
        device_id=PERSONAL[4],
        **{"attribute[size]": "medium", "attribute[danger]": "yes"},
    )
    assert created.status_code == 201, created.text  # type: ignore[attr-defined]
    [answer] = created.json()  # type: ignore[attr-defined]
    assert set(answer) >= {"service_request_id"}
    assert "token" not in answer
    request_id = answer["service_request_id"]

    one = world.client.get(f"{BASE}/requests/{request_id}.json?extensions=true")
    assert one.status_code == 200
    [view] = one.json()
    assert view["status"] == "open"
    assert view["service_code"] == "pothole"
    assert view["description"] == "Deep hole <near> the crossing & the bakery"
    assert view["requested_datetime"][-6] in "+-"  # ISO 8601 with an offset
    assert {a["code"] for a in view["attributes"]} == {"size", "danger"}
    assert [n["type"] for n in view["notes"]] == ["new"]
    xml_view = xml(world.client.get(f"{BASE}/requests/{request_id}.xml"))
    assert xml_view.tag == "service_requests"
    assert xml_view.findtext("request/description") == view["description"]
    for response in (one, world.client.get(f"{BASE}/requests.json")):
        for secret in PERSONAL:
            assert secret not in response.text


def test_me_too_answers_with_the_existing_request(world: World) -> None:
    first = post(world, **{"attribute[size]": "small", "attribute[danger]": "no"}).json()  # type: ignore[attr-defined]
    again = post(
        world, email="other@example.org", **{"attribute[size]": "small", "attribute[danger]": "no"}
    ).json()  # type: ignore[attr-defined]
    assert again[0]["service_request_id"] == first[0]["service_request_id"]
    assert "Already reported" in again[0]["service_notice"]


def test_photos_posted_as_media_are_served_without_exif(world: World) -> None:
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes())
    created = post(
        world,
        service_code="graffiti",
        files=[("media", ("IMG_0001.HEIC", buffer.getvalue(), "application/octet-stream"))],
    )
    assert created.status_code == 201, created.text  # type: ignore[attr-defined]
    request_id = created.json()[0]["service_request_id"]  # type: ignore[attr-defined]
    [view] = world.client.get(f"{BASE}/requests/{request_id}.json").json()
    assert view["media_url"].endswith(f"/media/{request_id}/1.jpg")
    photo = world.client.get(view["media_url"].replace("http://testserver", ""))
    assert photo.status_code == 200
    assert photo.headers["content-type"] == "image/jpeg"
    assert b"PhoneMaker" not in photo.content
    assert not Image.open(io.BytesIO(photo.content)).getexif()
    bad = post(
        world,
        service_code="graffiti",
        lat=str(world.lat + 0.01),
        files=[("media", ("x.jpg", b"%PDF-1.4 not a photo", "image/jpeg"))],
    )
    assert bad.status_code == 400  # type: ignore[attr-defined]
    assert "photo" in bad.text.lower()  # type: ignore[attr-defined]


def test_every_documented_error(world: World) -> None:
    no_key = world.client.post(f"{BASE}/requests.xml", data={"service_code": "pothole"})
    assert no_key.status_code == 403
    root = xml(no_key)
    assert root.tag == "errors"
    assert root.findtext("error/code") == "403"
    assert root.findtext("error/description")
    wrong_key = post(world, api_key="mp_nonsense")
    assert wrong_key.status_code == 403  # type: ignore[attr-defined]
    other_permission = post(world, api_key=world.reader_key)
    assert other_permission.status_code == 403  # type: ignore[attr-defined]
    assert post(world, service_code="no-such").status_code == 404  # type: ignore[attr-defined]
    no_place = world.client.post(
        f"{BASE}/requests.json", data={"api_key": world.app_key, "service_code": "pothole"}
    )
    assert no_place.status_code == 400
    missing_attribute = post(world, **{"attribute[danger]": "no"})
    assert missing_attribute.status_code == 400  # type: ignore[attr-defined]
    assert "attribute[size]" in missing_attribute.text  # type: ignore[attr-defined]
    outside = post(
        world, lat="48.85", long="2.35", **{"attribute[size]": "small", "attribute[danger]": "no"}
    )
    assert outside.status_code == 400  # type: ignore[attr-defined]
    assert "outside the metropolis" in outside.text  # type: ignore[attr-defined]
    too_long = post(world, service_code="graffiti", description="x" * 4001)
    assert too_long.status_code == 400  # type: ignore[attr-defined]
    assert world.client.get(f"{BASE}/services.json?jurisdiction_id=elsewhere").status_code == 404
    assert world.client.get(f"{BASE}/services.json?jurisdiction_id=").status_code == 200
    assert (
        world.client.get(f"{BASE}/services.json?jurisdiction_id=dijon-metropole").status_code == 200
    )
    assert world.client.get(f"{BASE}/services.yaml").status_code == 400
    assert world.client.get(f"{BASE}/requests/999999.json").status_code == 404
    assert world.client.get(f"{BASE}/tokens/nope.json").status_code == 404
    wide = world.client.get(
        f"{BASE}/requests.json?start_date=2026-01-01T00:00:00%2B01:00&end_date=2026-06-01T00:00:00%2B01:00"
    )
    assert wide.status_code == 400
    assert "90 days" in wide.text
    naive = world.client.get(f"{BASE}/requests.json?start_date=2026-11-01T00:00:00")
    assert naive.status_code == 400


def test_reading_filters_and_the_90_day_window(world: World) -> None:
    ids = []
    for n, code in enumerate(["graffiti", "bench-broken", "bin-overflowing"]):
        created = post(world, service_code=code, lat=str(world.lat + 0.002 * n))
        ids.append(created.json()[0]["service_request_id"])  # type: ignore[attr-defined]
    with world.platform.uow_factory(write=True) as uow:
        services.change_state(uow, int(ids[1]), ReportState.FIXED, TEST_ACTOR)
        uow.commit()
    everything = world.client.get(f"{BASE}/requests.json").json()
    assert {r["service_request_id"] for r in everything} == set(ids)
    closed = world.client.get(f"{BASE}/requests.json?status=closed").json()
    assert [r["service_request_id"] for r in closed] == [ids[1]]
    by_code = world.client.get(f"{BASE}/requests.json?service_code=graffiti,bench-broken").json()
    assert {r["service_code"] for r in by_code} == {"graffiti", "bench-broken"}
    by_id = world.client.get(
        f"{BASE}/requests.json?service_request_id={ids[2]}&status=closed"
    ).json()
    assert [r["service_request_id"] for r in by_id] == [ids[2]]  # ids override other filters
    paged = world.client.get(f"{BASE}/requests.json?page_size=2&page=2").json()
    assert len(paged) == 1
    old = (datetime.now().astimezone() - timedelta(days=200)).isoformat(timespec="seconds")
    long_ago = world.client.get(f"{BASE}/requests.json", params={"end_date": old}).json()
    assert long_ago == []


def test_non_public_categories_stay_out_of_public_lists(world: World) -> None:
    created = post(world, service_code="camera-damaged")
    request_id = created.json()[0]["service_request_id"]  # type: ignore[attr-defined]
    assert request_id not in {
        r["service_request_id"] for r in world.client.get(f"{BASE}/requests.json").json()
    }
    assert world.client.get(f"{BASE}/requests/{request_id}.json").status_code == 404


def test_tokens_and_updates(world: World) -> None:
    created = post(world, service_code="graffiti")
    request_id = created.json()[0]["service_request_id"]  # type: ignore[attr-defined]
    with world.platform.uow_factory() as uow:
        token = services.get_report(uow, int(request_id)).token
    [found] = world.client.get(f"{BASE}/tokens/{token}.json").json()
    assert found == {"token": token, "service_request_id": request_id}

    pushed = world.client.post(
        f"{BASE}/servicerequestupdates.json",
        data={
            "api_key": world.backoffice_key,
            "service_request_id": request_id,
            "status": "in_progress",
            "description": "Crew on its way",
        },
    )
    assert pushed.status_code == 201, pushed.text
    [update] = pushed.json()
    assert update["status"] == "in_progress"
    assert update["description"] == "Crew on its way"
    refused = world.client.post(
        f"{BASE}/servicerequestupdates.json",
        data={"api_key": world.app_key, "service_request_id": request_id, "status": "fixed"},
    )
    assert refused.status_code == 403
    unknown = world.client.post(
        f"{BASE}/servicerequestupdates.json",
        data={"api_key": world.backoffice_key, "service_request_id": request_id, "status": "x"},
    )
    assert unknown.status_code == 400
    updates = xml(world.client.get(f"{BASE}/servicerequestupdates.xml"))
    assert updates.tag == "service_request_updates"
    statuses = [
        u.findtext("status")
        for u in updates.findall("request_update")
        if u.findtext("service_request_id") == request_id
    ]
    assert statuses == ["open", "in_progress"]


def test_dates_at_the_edge_of_the_calendar_are_400_in_the_url_s_format(world: World) -> None:
    # Year 1 at +14:00 is year 0 in UTC, year 9999 at −14:00 year 10000: both once answered 500.
    for query in (
        "start_date=9999-12-31T00:00:00-14:00&end_date=9999-12-31T23:00:00-14:00",
        "start_date=0001-01-01T00:00:00%2B14:00",
        "end_date=0001-01-01T00:00:00%2B14:00",
        "start_date=1969-12-31T00:00:00Z",
    ):
        for resource in ("requests", "servicerequestupdates"):
            as_xml = world.client.get(f"{BASE}/{resource}.xml?{query}")
            assert as_xml.status_code == 400, (resource, query, as_xml.text)
            assert xml(as_xml).findtext("error/code") == "400"
            assert "outside the instants" in (xml(as_xml).findtext("error/description") or "")
            as_json = world.client.get(f"{BASE}/{resource}.json?{query}")
            assert as_json.status_code == 400
            assert errors(as_json)[0][0] == "400"
    window = "start_date=2026-11-01T00:00:00%2B01:00&end_date=2026-11-30T00:00:00%2B01:00"
    assert world.client.get(f"{BASE}/requests.xml?{window}").status_code == 200


def test_numbers_that_cannot_be_report_ids_name_no_report(world: World) -> None:
    for value in ("9223372036854775808", "2147483648", "0", "²", "١٢"):
        one = world.client.get(f"{BASE}/requests/{value}.xml")
        assert one.status_code == 404, (value, one.text)
        assert xml(one).findtext("error/code") == "404"
        listed = world.client.get(f"{BASE}/requests.json", params={"service_request_id": value})
        assert listed.status_code == 400, (value, listed.text)
    for value in ("²", "١٠", "99999999999999999999"):
        paged = world.client.get(f"{BASE}/requests.xml", params={"page_size": value})
        assert paged.status_code == 400, (value, paged.text)
        assert xml(paged).findtext("error/code") == "400"
    update = world.client.post(
        f"{BASE}/servicerequestupdates.xml",
        data={
            "api_key": world.backoffice_key,
            "service_request_id": "9223372036854775808",
            "status": "fixed",
        },
    )
    assert update.status_code == 404, update.text
    assert xml(update).findtext("error/code") == "404"


def test_every_error_of_an_open311_url_is_in_its_format(world: World) -> None:
    # Refused before any route runs: a NUL character in the query.
    nul = world.client.get(f"{BASE}/services.xml?jurisdiction_id=%00")
    assert nul.status_code == 400
    assert "xml" in nul.headers["content-type"]
    assert xml(nul).findtext("error/code") == "400"
    nul_json = world.client.get(f"{BASE}/services.json?jurisdiction_id=%00")
    assert errors(nul_json) == [("400", "a NUL character is not allowed in a URL")]
    # Refused by FastAPI's validation of a path parameter, before the route's own code.
    photo = world.client.get(f"{BASE}/media/9223372036854775808/1.jpg")
    assert photo.status_code == 400
    assert xml(photo).findtext("error/code") == "400"


def test_the_openapi_document_describes_what_open311_reads(world: World) -> None:
    paths = world.client.get("/api/v1/openapi.json").json()["paths"]
    post = paths[f"{BASE}/requests.{{fmt}}"]["post"]
    form = post["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert {"service_code", "lat", "long"} <= set(form["required"])
    assert {"api_key", "email", "description", "media_url"} <= set(form["properties"])
    multipart = post["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert multipart["properties"]["media"]["items"]["format"] == "binary"
    update = paths[f"{BASE}/servicerequestupdates.{{fmt}}"]["post"]["requestBody"]
    fields = update["content"]["application/x-www-form-urlencoded"]["schema"]["properties"]
    assert "reopen" in fields["status"]["enum"]
    read = {p["name"]: p for p in paths[f"{BASE}/requests.{{fmt}}"]["get"]["parameters"]}
    assert read["start_date"]["schema"]["format"] == "date-time"
    assert read["fmt"]["schema"]["enum"] == ["xml", "json"]
    assert {"service_request_id", "status", "page", "page_size", "extensions"} <= set(read)
