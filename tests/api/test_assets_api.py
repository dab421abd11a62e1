"""The registry API over a small synthetic metropolis, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from metropilot.assets.transfer import read_csv, read_geojson
from metropilot.shared.geo import LocalPlane

DIJON = "21231"


def all_pages(client: TestClient, params: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        response = client.get(
            "/api/v1/assets", params={**params, **({"cursor": cursor} if cursor else {})}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        items.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return items


def assert_error(response: Any, status: int, code: str, fragment: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert fragment in error["message"]


def test_list_shape_and_conventions(world_client: TestClient) -> None:
    body = world_client.get("/api/v1/assets", params={"limit": 5}).json()
    assert set(body) == {"items", "next_cursor"}
    assert len(body["items"]) == 5
    item = body["items"][0]
    for key in (
        "id",
        "external_ref",
        "kind",
        "status",
        "commune",
        "lon",
        "lat",
        "maintainer",
        "attributes",
    ):
        assert key in item
    assert isinstance(body["next_cursor"], str)


def test_cursor_pagination_visits_every_asset_once(world_client: TestClient) -> None:
    summary = world_client.get("/api/v1/assets/summary").json()
    total = sum(summary["by_kind"].values())
    items = all_pages(world_client, {"limit": 500})
    ids = [i["id"] for i in items]
    assert len(ids) == total == len(set(ids))
    assert ids == sorted(ids)


@pytest.mark.parametrize(
    ("params", "check"),
    [
        ({"kind": "camera"}, lambda a: a["kind"] == "camera"),
        ({"kind": "camera,bollard"}, lambda a: a["kind"] in ("camera", "bollard")),
        ({"commune": DIJON}, lambda a: a["commune"] == DIJON),
        ({"status": "ok"}, lambda a: a["status"] == "ok"),
        ({"maintainer": "metropole-fleet"}, lambda a: a["maintainer"] == "metropole-fleet"),
    ],
)
def test_each_filter_keeps_only_what_it_names(
    world_client: TestClient, params: dict[str, str], check: Any
) -> None:
    items = all_pages(world_client, {**params, "limit": 1000})
    assert items
    assert all(check(a) for a in items)


def test_filter_counts_agree_with_the_summary(world_client: TestClient) -> None:
    summary = world_client.get("/api/v1/assets/summary").json()
    assert (
        len(all_pages(world_client, {"kind": "camera", "limit": 1000}))
        == summary["by_kind"]["camera"]
    )
    assert (
        len(all_pages(world_client, {"commune": DIJON, "limit": 1000}))
        == summary["by_commune"][DIJON]
    )
    dijon = world_client.get("/api/v1/assets/summary", params={"commune": DIJON}).json()
    assert dijon["by_commune"] == {DIJON: summary["by_commune"][DIJON]}
    assert set(summary) == {"by_kind", "by_status", "by_commune"}
    assert len(summary["by_commune"]) == 23


def test_bbox_returns_exactly_the_assets_inside(world_client: TestClient) -> None:
    box = (5.02, 47.31, 5.05, 47.33)
    inside = all_pages(world_client, {"bbox": ",".join(map(str, box)), "limit": 1000})
    assert inside
    assert all(box[0] <= a["lon"] <= box[2] and box[1] <= a["lat"] <= box[3] for a in inside)
    everything = all_pages(world_client, {"limit": 5000})
    expected = {
        a["id"] for a in everything if box[0] <= a["lon"] <= box[2] and box[1] <= a["lat"] <= box[3]
    }
    assert {a["id"] for a in inside} == expected


def test_near_returns_the_disc_with_distances(world_client: TestClient) -> None:
    centre = (5.0415, 47.3220)
    found = all_pages(world_client, {"near": "5.0415,47.3220", "radius_m": 800, "limit": 1000})
    plane = LocalPlane(*centre)
    assert found
    for a in found:
        assert a["distance_m"] <= 800.0 + 0.1
        assert a["distance_m"] == pytest.approx(
            plane.distance_m(*centre, a["lon"], a["lat"]), abs=0.1
        )
    everything = all_pages(world_client, {"limit": 5000})
    expected = {
        a["id"] for a in everything if plane.distance_m(*centre, a["lon"], a["lat"]) <= 799.0
    }
    assert expected <= {a["id"] for a in found}


def test_geojson_by_accept_header_and_by_format(world_client: TestClient) -> None:
    by_header = world_client.get(
        "/api/v1/assets", params={"limit": 3}, headers={"Accept": "application/geo+json"}
    )
    assert by_header.headers["content-type"].startswith("application/geo+json")
    body = by_header.json()
    assert body["type"] == "FeatureCollection"
    assert len(body["features"]) == 3
    feature = body["features"][0]
    assert feature["geometry"]["type"] == "Point"
    assert feature["properties"]["kind"]
    assert body["next_cursor"]
    by_format = world_client.get("/api/v1/assets", params={"limit": 3, "format": "geojson"}).json()
    assert by_format == body


def test_asset_detail_has_its_history(world_client: TestClient) -> None:
    first = world_client.get("/api/v1/assets", params={"kind": "streetlight", "limit": 1}).json()[
        "items"
    ][0]
    detail = world_client.get(f"/api/v1/assets/{first['id']}").json()
    assert detail["external_ref"] == first["external_ref"]
    assert detail["parent_ref"].startswith("CAB-")
    assert detail["history"][0]["action"] == "created"
    assert detail["history"][0]["actor"] == "cli:pytest"
    assert detail["attributes"]["lamp_technology"] in ("LED", "HPS", "MH")
    geo = world_client.get(f"/api/v1/assets/{first['id']}", params={"format": "geojson"}).json()
    assert geo["type"] == "Feature"


def test_communes_with_boundaries(world_client: TestClient) -> None:
    body = world_client.get("/api/v1/communes").json()
    assert len(body["items"]) == 23
    dijon = next(c for c in body["items"] if c["insee"] == DIJON)
    assert dijon["name"] == "Dijon"
    assert dijon["boundary"]["type"] in ("Polygon", "MultiPolygon")
    geo = world_client.get("/api/v1/communes", headers={"Accept": "application/geo+json"}).json()
    assert geo["type"] == "FeatureCollection"
    assert len(geo["features"]) == 23
    assert world_client.get(f"/api/v1/communes/{DIJON}").json()["population"] > 100_000
    assert_error(world_client.get("/api/v1/communes/99999"), 404, "not_found", "99999")


def test_organisations(world_client: TestClient) -> None:
    orgs = world_client.get("/api/v1/organisations").json()["items"]
    kinds = {o["kind"] for o in orgs}
    assert kinds == {"metropolitan_service", "commune_service", "contractor"}
    contractors = world_client.get("/api/v1/organisations", params={"kind": "contractor"}).json()[
        "items"
    ]
    assert contractors
    assert all(o["sector"] == "private" for o in contractors)
    assert_error(
        world_client.get("/api/v1/organisations", params={"kind": "guild"}),
        400,
        "invalid_input",
        "kind",
    )


@pytest.mark.parametrize(
    ("params", "code", "fragment"),
    [
        ({"bbox": "5,47,5.1"}, "invalid_bbox", "minlon,minlat,maxlon,maxlat"),
        ({"bbox": "5.1,47,5.0,47.1"}, "invalid_bbox", "min ≤ max"),
        ({"bbox": "a,b,c,d"}, "invalid_bbox", "decimal numbers"),
        ({"near": "5.04,47.32", "radius_m": "50000"}, "invalid_radius", "at most 10000 m"),
        ({"near": "5.04,47.32", "radius_m": "0"}, "invalid_radius", "greater than 0"),
        ({"near": "5.04,47.32"}, "invalid_near", "go together"),
        ({"near": "2.35,48.85", "radius_m": "100"}, "outside_territory", "outside the metropolis"),
        ({"kind": "spaceship"}, "unknown_kind", "unknown kind 'spaceship'"),
        ({"status": "asleep"}, "invalid_input", "unknown status 'asleep'"),
        ({"commune": "99999"}, "unknown_commune", "99999"),
        ({"maintainer": "nobody"}, "unknown_organisation", "nobody"),
        ({"cursor": "garbage"}, "invalid_cursor", "next_cursor"),
        ({"limit": "100000"}, "invalid_input", "at most 5000"),
        ({"limit": "0"}, "invalid_input", "limit"),
        ({"format": "kml"}, "invalid_input", "json or geojson"),
    ],
)
def test_bad_queries_get_a_precise_4xx(
    world_client: TestClient, params: dict[str, str], code: str, fragment: str
) -> None:
    assert_error(world_client.get("/api/v1/assets", params=params), 400, code, fragment)


def test_unknown_asset_and_route(world_client: TestClient) -> None:
    assert_error(world_client.get("/api/v1/assets/987654321"), 404, "not_found", "987654321")
    assert_error(world_client.get("/api/v1/assets/abc"), 400, "invalid_input", "asset_id")
    assert_error(world_client.get("/api/v1/nowhere"), 404, "not_found", "Not Found")
    assert_error(
        world_client.post("/api/v1/assets"), 405, "method_not_allowed", "Method Not Allowed"
    )


def test_export_round_trips_through_the_importers(world_client: TestClient) -> None:
    cameras = all_pages(world_client, {"kind": "camera", "limit": 1000})
    as_csv = world_client.get("/api/v1/assets/export", params={"format": "csv", "kind": "camera"})
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert len(rows) == len(cameras)
    drafts = read_csv(as_csv.text)
    by_ref = {c["external_ref"]: c for c in cameras}
    for draft in drafts:
        source = by_ref[draft.external_ref]
        assert (draft.lon, draft.lat) == (source["lon"], source["lat"])
        assert draft.parent_ref == source["parent_ref"]
    as_geojson = world_client.get("/api/v1/assets/export", params={"kind": "camera"})
    document = json.loads(as_geojson.text)
    assert len(document["features"]) == len(cameras)
    assert {d.external_ref for d in read_geojson(as_geojson.text)} == set(by_ref)


def test_kinds_publish_attribute_schemas(world_client: TestClient) -> None:
    body = world_client.get("/api/v1/assets/kinds").json()
    assert "lamp_technology" in body["kinds"]["streetlight"]["properties"]
    assert body["statuses"] == [
        "ok",
        "degraded",
        "fault",
        "offline",
        "maintenance",
        "decommissioned",
    ]


def test_openapi_and_health(world_client: TestClient) -> None:
    spec = world_client.get("/api/v1/openapi.json").json()
    assert "/api/v1/assets" in spec["paths"]
    assert world_client.get("/docs").status_code == 200
    assert world_client.get("/api/v1/health").json()["status"] == "ok"


def test_districts_list_is_empty_until_imported(world_client: TestClient) -> None:
    assert world_client.get("/api/v1/districts").json() == {"items": [], "next_cursor": None}
    geo = world_client.get("/api/v1/districts", params={"format": "geojson"}).json()
    assert geo == {"type": "FeatureCollection", "features": []}
