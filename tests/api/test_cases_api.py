"""Cases and routing over HTTP, both databases: who sees which case, explaining, triaging."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from metropilot.assets import repository as assets_repository
from metropilot.bootstrap import Platform
from metropilot.simulate.services import generate_metropolis
from metropilot.telemetry.services import IngestPipeline
from metropilot.web.app import create_app
from tests.conftest import TEST_ACTOR
from tests.factories import WORLD_ACCOUNTS, bearer, create_world_accounts

LIGHTING_TEAM = "lucerna-eclairage-field"


@dataclass
class City:
    client: TestClient
    headers: dict[str, dict[str, str]]
    case_id: int


@pytest.fixture
def city(platform: Platform) -> Iterator[City]:
    with platform.uow_factory(write=True) as uow:
        generate_metropolis(uow, TEST_ACTOR, scale=0.02, seed=5)
        uow.commit()
    create_world_accounts(platform)
    a = assets_repository.assets.c
    with platform.uow_factory() as uow:
        ref = uow.connection.execute(
            select(a.external_ref)
            .where(a.kind == "streetlight", a.commune_insee == "21231")
            .order_by(a.id)
            .limit(1)
        ).scalar_one()
    with TestClient(create_app(platform)) as client:
        headers = {name: bearer(client, name) for name in WORLD_ACCOUNTS}
        rule = client.post(
            "/api/v1/routing/rules",
            json={
                "order": 10,
                "name": "Lamp failures to the lighting contractor",
                "categories": ["lamp-failure"],
                "team": LIGHTING_TEAM,
            },
            headers=headers["supervisor"],
        )
        assert rule.status_code == 201, rule.text
        now = datetime.now(UTC)
        IngestPipeline(
            platform.uow_factory,
            raw_retention=timedelta(days=30),
            max_batch=10,
            observers=list(platform.wiring.batch_observers),
        ).ingest(
            [
                {
                    "asset": ref,
                    "ts": (now - timedelta(seconds=2)).isoformat(),
                    "metrics": {"lamp_failure": True},
                }
            ],
            source="test",
            now=now,
        )
        cases = client.get("/api/v1/cases", headers=headers["operator"]).json()["items"]
        assert len(cases) == 1
        yield City(client, headers, cases[0]["id"])


def test_a_case_carries_its_team_and_who_sees_it(city: City) -> None:
    case = city.client.get(f"/api/v1/cases/{city.case_id}", headers=city.headers["operator"])
    body = case.json()
    assert body["category"] == "lamp-failure"
    assert body["state"] == "open"
    assert body["commune"] == "21231"
    assert body["team"]["code"] == LIGHTING_TEAM
    assert body["team"]["public"] is False
    assert body["alarms"]
    for who, sees in [
        ("contractor-lighting", True),
        ("contractor-lead", False),
        ("agent-dijon", True),
        ("agent-chenove", False),
        ("admin", True),
    ]:
        got = city.client.get(f"/api/v1/cases/{city.case_id}", headers=city.headers[who])
        assert got.status_code == (200 if sees else 404), who
        listed = city.client.get("/api/v1/cases", headers=city.headers[who]).json()["items"]
        assert (city.case_id in {c["id"] for c in listed}) is sees, who


def test_explaining_and_triaging(city: City) -> None:
    operator = city.headers["operator"]
    explained = city.client.post(
        "/api/v1/routing/explain", json={"case": city.case_id}, headers=operator
    ).json()
    assert explained["team"] == LIGHTING_TEAM
    assert explained["rules"][0]["chosen"] is True
    other = city.client.post(
        "/api/v1/routing/explain",
        json={"category": "pothole", "at": "2026-11-27T23:30:00+01:00"},
        headers=operator,
    ).json()
    assert other["default"] is True
    assert other["rules"][0]["failures"][0]["criterion"] == "categories"
    naive = city.client.post(
        "/api/v1/routing/explain",
        json={"category": "pothole", "at": "2026-11-27T23:30:00"},
        headers=operator,
    )
    assert naive.status_code == 400

    url = f"/api/v1/cases/{city.case_id}/triage"
    no_reason = city.client.post(url, json={"category": "pothole"}, headers=operator)
    assert no_reason.status_code == 400
    triaged = city.client.post(
        url,
        json={"category": "pothole", "priority": "P2", "reason": "a hole at the mast's foot"},
        headers=operator,
    )
    assert triaged.status_code == 200, triaged.text
    assert triaged.json()["state"] == "triaged"
    assert triaged.json()["team"] is None  # no rule for potholes: the command post's queue
    again = city.client.post(url, json={}, headers=operator)
    assert again.status_code == 409
    timeline = city.client.get(f"/api/v1/cases/{city.case_id}/timeline", headers=operator).json()
    whats = [e["what"] for e in timeline["entries"]]
    assert whats[:3] == ["detected", "opened", "routed"]
    assert "triaged" in whats
    assert timeline["links"][0]["from"] == "detected"
    assert timeline["links"][0]["to"] == "triaged"
    bad_rule = city.client.post(
        "/api/v1/routing/rules",
        json={"order": 1, "name": "x", "team": "no-such-team", "days": ["someday"]},
        headers=city.headers["supervisor"],
    )
    assert bad_rule.status_code == 400


def test_chain_2_from_a_citizen_report_to_the_fixed_report(platform: Platform) -> None:
    """A report opens a case routed to a contractor; the command post dispatches; the
    contractor accepts, gets there and finishes; the command post verifies: the case is
    resolved, the report fixed, the citizen told — each step on the timeline."""
    from metropilot.reports.repository import report_notifications

    with platform.uow_factory(write=True) as uow:
        generate_metropolis(uow, TEST_ACTOR, scale=0.02, seed=5)
        uow.commit()
    create_world_accounts(platform)
    a = assets_repository.assets.c
    with platform.uow_factory() as uow:
        lon, lat = uow.connection.execute(
            select(a.lon, a.lat)
            .where(a.kind == "streetlight", a.commune_insee == "21231")
            .order_by(a.id)
            .limit(1)
        ).one()
    with TestClient(create_app(platform)) as client:
        h = {name: bearer(client, name) for name in WORLD_ACCOUNTS}
        client.post(
            "/api/v1/routing/rules",
            json={
                "order": 1,
                "name": "Broken lights to the contractor",
                "categories": ["streetlight-broken"],
                "team": LIGHTING_TEAM,
            },
            headers=h["supervisor"],
        ).raise_for_status()
        # The citizen's app posts the report through the Open311 API.
        from metropilot.accounts.model import parse_scope
        from metropilot.accounts.services import create_key
        from metropilot.shared.actors import SYSTEM

        with platform.uow_factory(write=True) as uow:
            _, app_key = create_key(uow, "city app", [parse_scope("open311:post")], SYSTEM)
            uow.commit()
        posted = client.post(
            "/open311/v2/requests.json",
            data={
                "api_key": app_key,
                "service_code": "streetlight-broken",
                "lat": str(lat),
                "long": str(lon),
                "attribute[light_state]": "off",
                "email": "camille@example.org",
            },
        )
        assert posted.status_code == 201, posted.text
        report_id = int(posted.json()[0]["service_request_id"])
        [case] = client.get("/api/v1/cases", headers=h["operator"]).json()["items"]
        assert case["reports"] == [report_id]
        assert case["team"]["code"] == LIGHTING_TEAM
        cid = case["id"]
        # Not triaged yet: dispatching is refused with the reason.
        early = client.post(f"/api/v1/cases/{cid}/dispatch", json={}, headers=h["operator"])
        assert early.status_code == 409
        client.post(
            f"/api/v1/cases/{cid}/triage", json={}, headers=h["operator"]
        ).raise_for_status()
        dispatched = client.post(
            f"/api/v1/cases/{cid}/dispatch",
            json={"instructions": "Lamp out since Monday"},
            headers=h["operator"],
        )
        assert dispatched.status_code == 201, dispatched.text
        order = dispatched.json()
        assert order["state"] == "dispatched"
        assert order["team"]["public"] is False
        assert order["response_due_at"] < order["resolution_due_at"]
        oid = order["id"]
        step = f"/api/v1/work-orders/{oid}"
        # Another contractor neither sees nor moves it; the operator may not accept for them.
        assert client.get(step, headers=h["contractor-lead"]).status_code == 404
        assert client.post(f"{step}/accept", json={}, headers=h["operator"]).status_code == 403
        for action, note in [("accept", None), ("en_route", None), ("on_site", None)]:
            moved = client.post(
                f"{step}/{action}", json={"note": note}, headers=h["contractor-lighting"]
            )
            assert moved.status_code == 200, (action, moved.text)
        import io

        from PIL import Image

        jpeg = io.BytesIO()
        exif = Image.Exif()
        exif[0x010F] = "CrewPhone"
        Image.new("RGB", (80, 60), (10, 120, 10)).save(jpeg, "JPEG", exif=exif.tobytes())
        files = [("photos", ("after.jpg", jpeg.getvalue(), "image/jpeg"))]
        refused = client.post(f"{step}/photos", files=files, headers=h["operator"])
        assert refused.status_code == 403
        added = client.post(f"{step}/photos", files=files, headers=h["contractor-lighting"])
        assert added.status_code == 200, added.text
        assert added.json()["photos"] == 1
        photo = client.get(f"{step}/photos/1.jpg", headers=h["operator"])
        assert photo.status_code == 200
        assert b"CrewPhone" not in photo.content
        assert client.get(f"{step}/photos/1.thumb.jpg", headers=h["operator"]).status_code == 200
        assert client.get(f"{step}/photos/2.jpg", headers=h["operator"]).status_code == 404
        no_note = client.post(f"{step}/done", json={}, headers=h["contractor-lighting"])
        assert no_note.status_code == 400
        done = client.post(
            f"{step}/done",
            json={"note": "Lamp and driver replaced"},
            headers=h["contractor-lighting"],
        )
        assert done.json()["state"] == "done"
        # The contractor cannot verify its own work.
        assert (
            client.post(f"{step}/verify", json={}, headers=h["contractor-lighting"]).status_code
            == 403
        )
        verified = client.post(f"{step}/verify", json={}, headers=h["operator"])
        assert verified.json()["state"] == "verified"
        resolved = client.get(f"/api/v1/cases/{cid}", headers=h["operator"]).json()
        assert resolved["state"] == "resolved"
        fixed = client.get(f"/api/v1/reports/{report_id}", headers=h["operator"]).json()
        public = client.get(f"/open311/v2/requests/{report_id}.json").json()[0]
        assert public["status"] == "closed"
        assert "Lamp and driver replaced" in public["status_notes"]
        assert fixed["state"] == "fixed"
        assert "Lamp and driver replaced" in fixed["status_notes"]
        timeline = client.get(f"/api/v1/cases/{cid}/timeline", headers=h["operator"]).json()
        whats = [e["what"] for e in timeline["entries"]]
        for milestone in [
            "detected",
            "triaged",
            "dispatched",
            "accepted",
            "en_route",
            "on_site",
            "done",
            "verified",
            "resolved",
            "citizen_informed",
        ]:
            assert milestone in whats, milestone
        sectors = {e["what"]: e["public"] for e in timeline["entries"]}
        assert sectors["accepted"] is False  # the contractor: private
        assert timeline["links"][-1]["to"] == "citizen_informed"
        stats = client.get("/api/v1/chains/stats", headers=h["operator"]).json()
        assert stats["cases"] == 1
        assert stats["team"][LIGHTING_TEAM]["dispatched→accepted"]["count"] == 1
        assert "private" in stats["sector"]
        assert stats["commune"]["21231"]["detected→triaged"]["median_s"] >= 0
        other = client.get("/api/v1/chains/stats", headers=h["contractor-lead"]).json()
        assert other["cases"] == 0  # not its organisation's cases
        naive = client.get("/api/v1/chains/stats?since=2026-11-01T00:00:00", headers=h["operator"])
        assert naive.status_code == 400
    n = report_notifications.c
    with platform.uow_factory() as uow:
        subjects = (
            uow.connection.execute(
                select(n.subject).where(n.recipient == "camille@example.org").order_by(n.id)
            )
            .scalars()
            .all()
        )
    assert any("fixed" in s for s in subjects)


def test_a_refused_order_sends_the_case_back_to_triage(city: City) -> None:
    operator, contractor = city.headers["operator"], city.headers["contractor-lighting"]
    city.client.post(
        f"/api/v1/cases/{city.case_id}/triage", json={}, headers=operator
    ).raise_for_status()
    order = city.client.post(
        f"/api/v1/cases/{city.case_id}/dispatch", json={}, headers=operator
    ).json()
    refused = city.client.post(
        f"/api/v1/work-orders/{order['id']}/refuse", json={}, headers=contractor
    )
    assert refused.status_code == 400  # a reason is required
    refused = city.client.post(
        f"/api/v1/work-orders/{order['id']}/refuse",
        json={"note": "Not our lot: the cabinet belongs to the city"},
        headers=contractor,
    )
    assert refused.json()["state"] == "refused"
    case = city.client.get(f"/api/v1/cases/{city.case_id}", headers=operator).json()
    assert case["state"] == "open"
    unknown = city.client.post(f"/api/v1/work-orders/{order['id']}/fly", json={}, headers=operator)
    assert unknown.status_code == 404


def test_supervisors_write_the_triage_procedures(city: City) -> None:
    supervisor, operator = city.headers["supervisor"], city.headers["operator"]
    url = "/api/v1/procedures/lamp-failure"
    assert city.client.get(url, headers=operator).status_code == 404
    written = city.client.put(
        url,
        json={
            "title": "Lamp failure",
            "steps": ["Check the cabinet's supply alarm", "  ", "Check nearby lamps", "Dispatch"],
        },
        headers=supervisor,
    )
    assert written.status_code == 200, written.text
    assert written.json()["steps"] == [
        "Check the cabinet's supply alarm",
        "Check nearby lamps",
        "Dispatch",
    ]
    case = city.client.get(f"/api/v1/cases/{city.case_id}", headers=operator).json()
    assert case["procedure"]["title"] == "Lamp failure"
    empty = city.client.put(url, json={"title": "x", "steps": []}, headers=supervisor)
    assert empty.status_code == 400
    listed = city.client.get("/api/v1/procedures", headers=operator).json()["items"]
    assert [p["category"] for p in listed] == ["lamp-failure"]
    assert city.client.delete(url, headers=supervisor).status_code == 204
    assert city.client.delete(url, headers=supervisor).status_code == 404
