"""The performance contract's staff reports and the public transparency pages and open data."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from metropilot.assets import repository as assets_repository
from metropilot.bootstrap import Platform
from metropilot.contracts import services as contract_services
from metropilot.contracts.model import CONTRACT_ZONE, Period
from metropilot.reports import services as report_services
from metropilot.simulate.services import generate_metropolis
from metropilot.telemetry.services import IngestPipeline
from metropilot.web.app import create_app
from metropilot.web.signin import LOGIN_CSRF_FIELD
from tests.conftest import TEST_ACTOR
from tests.factories import PASSWORD, WORLD_ACCOUNTS, bearer, create_world_accounts

LIGHTING_TEAM = "lucerna-eclairage-field"
# What a citizen wrote in a report: none of it may reach a public page or file.
SECRETS = ("camille.secret@example.org", "Camille", "Secretperson", "my own doorstep")


def _now_paris() -> datetime:
    return datetime.now(UTC).astimezone(CONTRACT_ZONE)


def contract_document(start_year: int) -> dict[str, Any]:
    return {
        "code": "MPE-TEST",
        "parties": ["Métropole", "Consortium Lumière"],
        "start": f"{start_year}-01-01",
        "lots": [
            {
                "code": "lighting",
                "contractor": "lucerna-eclairage",
                "sla": [
                    {
                        "targets": {
                            p: {"response_hours": 4, "resolution_hours": 48}
                            for p in ("P1", "P2", "P3", "P4")
                        }
                    }
                ],
                "kpis": [
                    {
                        "code": "resolution_on_time",
                        "name": "Resolutions on time",
                        "unit": "%",
                        "period": "month",
                        "direction": "higher-is-better",
                        "target": 95,
                    },
                    {
                        "code": "lighting_availability",
                        "name": "Lighting availability",
                        "unit": "%",
                        "period": "month",
                        "direction": "higher-is-better",
                        "target": 98,
                    },
                ],
                "penalties": [
                    {
                        "cap_eur": 10000,
                        "rules": [
                            {"code": "late", "kind": "delay", "eur_per_hour": 100},
                            {
                                "code": "dark",
                                "kind": "shortfall",
                                "kpi": "lighting_availability",
                                "eur_per_point": 500,
                            },
                        ],
                    }
                ],
            },
            {
                "code": "it",
                "contractor": "ordival-infrastructures",
                "sla": [{"targets": {"P1": {"response_hours": 1, "resolution_hours": 4}}}],
                "kpis": [
                    {
                        "code": "it_availability",
                        "name": "IT availability",
                        "unit": "%",
                        "period": "month",
                        "direction": "higher-is-better",
                        "target": 99,
                    }
                ],
            },
        ],
    }


@dataclass
class City:
    platform: Platform
    client: TestClient
    headers: dict[str, dict[str, str]]
    month: str
    year: str


def _sign_in_browser(client: TestClient, username: str, next_path: str) -> None:
    page = client.get("/login", params={"next": next_path})
    token = re.search(rf'name="{LOGIN_CSRF_FIELD}" value="([^"]*)"', page.text)
    assert token
    form = {
        "username": username,
        "password": PASSWORD,
        "code": "",
        LOGIN_CSRF_FIELD: token.group(1),
        "next": next_path,
    }
    response = client.post("/login", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text


@pytest.fixture
def city(platform: Platform) -> Iterator[City]:
    """A small city under contract: a lamp failure dispatched to the lighting contractor, and a
    citizen's report with their name and e-mail address (which must never be published)."""
    with platform.uow_factory(write=True) as uow:
        # The generator installs its reference contract; ours starts later, so it is the one
        # in force this year.
        generate_metropolis(uow, TEST_ACTOR, scale=0.02, seed=5)
        uow.commit()
    create_world_accounts(platform)
    now = _now_paris()
    a = assets_repository.assets.c
    with platform.uow_factory() as uow:
        ref, lon, lat = uow.connection.execute(
            select(a.external_ref, a.lon, a.lat)
            .where(a.kind == "streetlight", a.commune_insee == "21231")
            .order_by(a.id)
            .limit(1)
        ).one()
    with TestClient(create_app(platform)) as client:
        headers = {name: bearer(client, name) for name in WORLD_ACCOUNTS}
        client.post(
            "/api/v1/routing/rules",
            json={
                "order": 10,
                "name": "Lamps",
                "categories": ["lamp-failure", "streetlight-broken"],
                "team": LIGHTING_TEAM,
            },
            headers=headers["supervisor"],
        ).raise_for_status()
        with platform.uow_factory(write=True) as uow:
            contract_services.import_contract(uow, contract_document(now.year), TEST_ACTOR)
            report_services.submit(
                uow,
                report_services.Submission(
                    category_code="streetlight-broken",
                    lon=lon,
                    lat=lat,
                    description="Dark in front of my own doorstep",
                    attributes={"light_state": "off"},
                    email=SECRETS[0],
                    first_name="Camille",
                    last_name="Secretperson",
                ),
                TEST_ACTOR,
            )
            uow.commit()
        instant = datetime.now(UTC)
        IngestPipeline(
            platform.uow_factory,
            raw_retention=timedelta(days=30),
            max_batch=10,
            observers=list(platform.wiring.batch_observers),
        ).ingest(
            [
                {
                    "asset": ref,
                    "ts": (instant - timedelta(seconds=2)).isoformat(),
                    "metrics": {"lamp_failure": True},
                }
            ],
            source="test",
            now=instant,
        )
        operator = headers["operator"]
        cases = client.get("/api/v1/cases", headers=operator).json()["items"]
        # The citizen's report opened the lamp's case; the failure alarm joined it.
        (case_id,) = {c["id"] for c in cases}
        client.post(f"/api/v1/cases/{case_id}/triage", json={}, headers=operator).raise_for_status()
        dispatched = client.post(
            f"/api/v1/cases/{case_id}/dispatch",
            json={"instructions": "Change it"},
            headers=operator,
        )
        assert dispatched.status_code == 201, dispatched.text
        month = Period.month(now.year, now.month).label
        yield City(platform, client, headers, month, str(now.year))


def _assert_no_personal_data(text: str) -> None:
    for secret in SECRETS:
        assert secret.casefold() not in text.casefold(), secret


def _assert_csp_safe(html: str) -> None:
    assert "<script" not in html  # no script at all, inline or not
    assert " style=" not in html
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in html


def test_the_command_post_reads_a_report_with_charts_and_downloads(city: City) -> None:
    client, operator = city.client, city.headers["operator"]
    url = f"/contracts/reports/lighting/{city.month}"
    page = client.get(url, params={"lang": "en"}, headers=operator)
    assert page.status_code == 200, page.text
    assert page.headers["cache-control"] == "no-store"
    html = page.text
    assert f"Public lighting, {city.month}</h2>" in html
    assert "MPE-TEST" in html
    assert "Lucerna" in html  # the contractor by its name
    assert html.count("<svg") >= 2  # the indicators and the energy by month
    assert 'role="img"' in html
    assert "<title" in html
    assert "Resolutions on time" in html
    assert "Lighting energy" in html
    assert f'href="{url}.csv?lang=en"' in html
    assert f'href="{url}.pdf?lang=en"' in html
    assert 'aria-current="true"' in html  # the language switch
    _assert_csp_safe(html)
    _assert_no_personal_data(html)

    french = client.get(url, params={"lang": "fr"}, headers=operator).text
    assert "Éclairage public" in french
    assert "Indicateurs de performance" in french

    exported = client.get(f"{url}.csv", params={"lang": "en"}, headers=operator)
    assert exported.status_code == 200
    assert exported.headers["content-type"] == "text/csv; charset=utf-8"
    assert exported.headers["content-disposition"] == (
        f'attachment; filename="performance-MPE-TEST-lighting-{city.month}.csv"'
    )
    assert exported.headers["cache-control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert {"section", "item", "label", "field", "value", "unit"} == set(rows[0])
    facts = {(r["section"], r["item"], r["field"]): r["value"] for r in rows}
    assert facts[("report", "contract", "value")] == "MPE-TEST"
    assert facts[("report", "contractor", "value")] == "lucerna-eclairage"
    assert ("kpi", "resolution_on_time", "status") in facts
    assert ("energy", city.month, "baseline_kwh") in facts
    french_csv = client.get(f"{url}.csv", params={"lang": "fr"}, headers=operator).text
    assert french_csv.splitlines()[0] == "rubrique,élément,libellé,champ,valeur,unité"

    pdf = client.get(f"{url}.pdf", headers=operator)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].startswith("attachment; filename=")
    assert pdf.content.startswith(b"%PDF-")
    assert len(pdf.content) > 5_000

    # The period form leads to the report asked.
    chosen = client.get(
        "/contracts/reports",
        params={"lot": "it", "period": city.year},
        headers=operator,
        follow_redirects=False,
    )
    assert chosen.status_code == 303
    assert chosen.headers["location"] == f"/contracts/reports/it/{city.year}"


def test_bad_requests_are_explained(city: City) -> None:
    client, supervisor = city.client, city.headers["supervisor"]
    bad_period = client.get("/contracts/reports/lighting/2026-13", headers=supervisor)
    assert bad_period.status_code == 400
    assert "01–12" in bad_period.text
    assert client.get("/contracts/reports/lighting/soon.csv", headers=supervisor).status_code == 400
    unknown = client.get(f"/contracts/reports/parking/{city.month}", headers=supervisor)
    assert unknown.status_code == 404
    assert "parking" in unknown.text
    # A lot the contract does not have, and a period no contract covers.
    assert client.get(f"/contracts/reports/video/{city.month}", headers=supervisor).status_code in (
        400,
        404,
    )
    assert client.get("/contracts/reports/lighting/1999-01", headers=supervisor).status_code == 404


def test_contractors_read_only_their_own_lots(city: City) -> None:
    client = city.client
    lighting, lead = city.headers["contractor-lighting"], city.headers["contractor-lead"]
    url = f"/contracts/reports/lighting/{city.month}"
    assert client.get(url, headers=lighting).status_code == 200
    assert client.get(url + ".csv", headers=lighting).status_code == 200
    for path in (url, url + ".csv", url + ".pdf"):
        refused = client.get(path, headers=lead)
        assert refused.status_code == 404, path
        assert "MPE-TEST" not in refused.text
    assert client.get(f"/contracts/reports/it/{city.month}", headers=lead).status_code == 200
    assert client.get(f"/contracts/reports/it/{city.month}", headers=lighting).status_code == 404


@pytest.mark.parametrize("who", ["agent-dijon", "field-dijon", "citizen"])
def test_other_accounts_are_refused(city: City, who: str) -> None:
    for suffix in ("", ".csv", ".pdf"):
        refused = city.client.get(
            f"/contracts/reports/lighting/{city.month}{suffix}",
            params={"lang": "en"},
            headers=city.headers[who],
        )
        assert refused.status_code == 403
        assert "Performance reports are for the command post" in refused.text
        assert "MPE-TEST" not in refused.text


def test_anonymous_callers_sign_in_first(city: City) -> None:
    url = f"/contracts/reports/lighting/{city.month}"
    with TestClient(create_app(city.platform)) as anonymous:
        script = anonymous.get(url + ".csv")
        assert script.status_code == 401
        browser = anonymous.get(url, headers={"Accept": "text/html"}, follow_redirects=False)
        assert browser.status_code == 303
        assert browser.headers["location"] == f"/login?next={url}"
        # Back from the sign-in page, the report.
        _sign_in_browser(anonymous, "supervisor", url)
        page = anonymous.get(url)
        assert page.status_code == 200
        assert '<meta name="csrf-token"' in page.text


def test_the_public_pages_and_open_data_answer_without_signing_in(city: City) -> None:
    with TestClient(create_app(city.platform)) as public:
        page = public.get("/transparency", params={"lang": "en"})
        assert page.status_code == 200, page.text
        assert page.headers["cache-control"] == "public, max-age=300"
        html = page.text
        assert f"performance of the contract in {city.year}" in html
        assert "Public lighting" in html
        assert "Held by Lucerna" in html  # the contractor, a company, by its name
        assert "Resolutions on time" in html
        assert "Energy of public lighting" in html
        assert "Penalties applied over the period" in html
        assert f'href="/open-data/performance/{city.year}.json"' in html
        assert f'href="/open-data/performance/{city.year}.csv"' in html
        assert f'href="/transparency/21231?year={city.year}"' in html  # the communes
        assert "<svg" in html
        _assert_csp_safe(html)
        _assert_no_personal_data(html)

        commune = public.get("/transparency/21231", params={"lang": "fr"})
        assert commune.status_code == 200
        assert "Dijon\u00a0: performance du marché en" in commune.text
        assert "Pénalités appliquées" not in commune.text  # the metropolis' only
        assert f'href="/open-data/performance/{city.year}/21231.json"' in commune.text
        assert 'aria-current="page"' in commune.text
        _assert_no_personal_data(commune.text)

        # Before any contract (the generator's reference one included), nothing to publish.
        long_ago = public.get("/transparency", params={"year": "2001", "lang": "en"})
        assert long_ago.status_code == 200
        assert "No performance contract is loaded yet" in long_ago.text

        assert public.get("/transparency/99999").status_code == 404
        assert public.get("/transparency/dijon").status_code == 404
        assert public.get("/transparency", params={"year": "next"}).status_code == 400
        # Public years are bounded: anonymous callers cannot make the server compute any year.
        assert public.get("/transparency", params={"year": "1900"}).status_code == 404
        too_late = str(int(city.year) + 2)
        assert public.get(f"/open-data/performance/{too_late}.json").status_code == 404

        data = public.get(f"/open-data/performance/{city.year}.json")
        assert data.status_code == 200
        assert data.headers["content-type"] == "application/json"
        assert data.headers["cache-control"] == "public, max-age=300"
        body = data.json()
        # Computed once, then shared by every visitor for five minutes.
        again = public.get(f"/open-data/performance/{city.year}.json").json()
        assert again["generated_at"] == body["generated_at"]
        assert body["scope"] == "metropolis"
        assert body["period"] == city.year
        assert body["contract"]["code"] == "MPE-TEST"
        assert {lot["lot"] for lot in body["lots"]} == {"lighting", "it"}
        assert body["penalties_eur"] is not None
        _assert_no_personal_data(data.text)

        table = public.get(f"/open-data/performance/{city.year}.csv")
        assert table.status_code == 200
        assert table.headers["content-type"] == "text/csv; charset=utf-8"
        assert table.headers["content-disposition"] == (
            f'attachment; filename="performance-{city.year}.csv"'
        )
        assert table.headers["cache-control"] == "public, max-age=300"
        assert table.text.splitlines()[0] == (
            "period,scope,commune,section,item,label,field,value,unit"
        )
        _assert_no_personal_data(table.text)

        one = public.get(f"/open-data/performance/{city.year}/21231.json")
        assert one.status_code == 200
        assert one.json()["commune"] == {"insee": "21231", "name": "Dijon"}
        assert one.json()["penalties_eur"] is None
        one_csv = public.get(f"/open-data/performance/{city.year}/21231.csv")
        assert one_csv.status_code == 200
        assert f"{city.year},commune,21231," in one_csv.text
        _assert_no_personal_data(one.text + one_csv.text)

        missing = public.get(f"/open-data/performance/{city.year}/99999.json")
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "unknown_commune"
        assert public.get("/open-data/performance/20x6.csv").status_code == 400


def test_a_signed_in_visitor_s_transparency_page_is_not_cached(city: City) -> None:
    page = city.client.get("/transparency", headers=city.headers["citizen"])
    assert page.status_code == 200
    assert page.headers["cache-control"] == "private, no-store"


def test_without_a_contract_the_public_page_says_so(client: TestClient) -> None:
    page = client.get("/transparency", params={"lang": "en"})
    assert page.status_code == 200, page.text
    assert "No performance contract is loaded yet" in page.text
    data = client.get(f"/open-data/performance/{_now_paris().year}.json")
    assert data.status_code == 200
    assert data.json()["contract"] is None
    assert data.json()["lots"] == []
