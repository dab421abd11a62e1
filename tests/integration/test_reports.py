"""Citizen reports on both databases: submitting, "me too", asset links, following up, merging,
the e-mail outbox, and the catalogue."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from metropilot.assets import repository as assets_repository
from metropilot.bootstrap import Platform
from metropilot.reports import repository, services
from metropilot.reports.catalogue import DEFAULT_CATEGORIES
from metropilot.reports.model import ReportState, parse_category_spec
from metropilot.shared.errors import Conflict, InvalidInput, NotFound
from metropilot.simulate.services import generate_metropolis
from tests.conftest import TEST_ACTOR


@pytest.fixture
def city(platform: Platform) -> Platform:
    with platform.uow_factory(write=True) as uow:
        generate_metropolis(uow, TEST_ACTOR, scale=0.01, seed=3)
        uow.commit()
    return platform


def a_light(city: Platform) -> tuple[int, float, float]:
    a = assets_repository.assets.c
    with city.uow_factory() as uow:
        row = uow.connection.execute(
            select(a.id, a.lon, a.lat).where(a.kind == "streetlight").order_by(a.id).limit(1)
        ).one()
    return int(row[0]), float(row[1]), float(row[2])


def submit(city: Platform, **fields: Any) -> services.SubmitResult:
    with city.uow_factory(write=True) as uow:
        result = services.submit(uow, services.Submission(**fields), TEST_ACTOR)
        uow.commit()
    return result


def outbox(city: Platform) -> list[tuple[str, str]]:
    n = repository.report_notifications.c
    with city.uow_factory() as uow:
        rows = uow.connection.execute(select(n.recipient, n.subject).order_by(n.id)).all()
    return [(str(r), str(s)) for r, s in rows]


def test_the_catalogue_ships_with_the_city(city: Platform) -> None:
    with city.uow_factory() as uow:
        codes = {c.code for c in services.list_categories(uow)}
    assert codes == {raw["code"] for raw in DEFAULT_CATEGORIES}
    assert {"streetlight-broken", "pothole", "graffiti", "fly-tipping"} <= codes


def test_a_report_is_located_linked_to_the_light_and_tracked(city: Platform) -> None:
    light_id, lon, lat = a_light(city)
    result = submit(
        city,
        category_code="streetlight-broken",
        lon=lon + 0.00005,  # a few metres away
        lat=lat,
        description="Dark since Monday <b>really</b>",
        attributes={"light_state": "off"},
        email="camille@example.org",
        first_name="Camille",
    )
    report = result.report
    assert not result.me_too
    assert report.state is ReportState.NEW
    assert report.asset_id == light_id
    assert report.commune_insee is not None
    assert report.priority.value == "P3"
    assert len(report.token) >= 20
    assert report.description == "Dark since Monday <b>really</b>"  # stored as text
    with city.uow_factory() as uow:
        assert services.report_by_token(uow, report.token).id == report.id
        timeline = services.timeline(uow, report.id)
    assert [t["state"] for t in timeline] == ["new"]
    assert outbox(city) == [
        ("camille@example.org", f"Signalement {report.id} reçu / Report {report.id} received")
    ]


def test_a_second_report_close_by_is_support_for_the_first(city: Platform) -> None:
    _, lon, lat = a_light(city)
    first = submit(city, category_code="pothole", lon=lon, lat=lat, email="a@example.org")
    again = submit(city, category_code="pothole", lon=lon + 0.0001, lat=lat, email="b@example.org")
    assert again.me_too
    assert again.report.id == first.report.id
    assert again.report.supporters == 1
    assert "Already reported" in again.notice
    # Another category, or farther than the radius: a report of its own.
    other = submit(city, category_code="graffiti", lon=lon, lat=lat)
    far = submit(city, category_code="pothole", lon=lon + 0.01, lat=lat)
    assert not other.me_too
    assert not far.me_too
    # The supporter follows: a change reaches both.
    with city.uow_factory(write=True) as uow:
        services.change_state(uow, first.report.id, ReportState.FIXED, TEST_ACTOR, note="Filled.")
        uow.commit()
    recipients = [r for r, s in outbox(city) if "fixed" in s]
    assert sorted(recipients) == ["a@example.org", "b@example.org"]


def test_bad_reports_are_refused_with_a_reason(city: Platform) -> None:
    _, lon, lat = a_light(city)
    with pytest.raises(InvalidInput) as outside:
        submit(city, category_code="pothole", lon=2.35, lat=48.85)  # Paris
    assert outside.value.code == "outside_metropolis"
    with pytest.raises(InvalidInput) as long_text:
        submit(city, category_code="pothole", lon=lon, lat=lat, description="x" * 4001)
    assert long_text.value.code == "description_too_long"
    with pytest.raises(NotFound):
        submit(city, category_code="no-such-thing", lon=lon, lat=lat)
    with pytest.raises(InvalidInput) as email:
        submit(city, category_code="pothole", lon=lon, lat=lat, email="not an email")
    assert email.value.code == "bad_email"
    with city.uow_factory() as uow:
        assert repository.count_reports(uow.connection) == 0


def test_a_report_moves_on_closes_and_reopens(city: Platform) -> None:
    _, lon, lat = a_light(city)
    report = submit(city, category_code="bench-broken", lon=lon, lat=lat).report
    with city.uow_factory(write=True) as uow:
        services.change_state(
            uow, report.id, ReportState.TRIAGED, TEST_ACTOR, agency_responsible="Voirie"
        )
        fixed = services.change_state(uow, report.id, ReportState.FIXED, TEST_ACTOR)
        uow.commit()
    assert fixed.closed_at is not None
    assert fixed.agency_responsible == "Voirie"
    assert fixed.status_notes == "Fixed."
    with city.uow_factory(write=True) as uow, pytest.raises(Conflict):
        services.change_state(uow, report.id, ReportState.IN_PROGRESS, TEST_ACTOR)
    with city.uow_factory(write=True) as uow:
        reopened = services.change_state(
            uow, report.id, ReportState.REOPENED, TEST_ACTOR, note="Broken again."
        )
        uow.commit()
    assert reopened.closed_at is None
    assert reopened.is_open
    with city.uow_factory() as uow:
        states = [t["state"] for t in services.timeline(uow, report.id)]
    assert states == ["new", "triaged", "fixed", "reopened"]


def test_merging_closes_the_duplicate_and_moves_its_people(city: Platform) -> None:
    _, lon, lat = a_light(city)
    original = submit(city, category_code="graffiti", lon=lon, lat=lat).report
    duplicate = submit(
        city,
        category_code="graffiti",
        lon=lon + 0.001,  # beyond the radius: filed separately
        lat=lat,
        email="c@example.org",
        allow_me_too=False,
    ).report
    with city.uow_factory(write=True) as uow:
        merged = services.merge(uow, duplicate.id, original.id, TEST_ACTOR)
        uow.commit()
    assert merged.state is ReportState.DUPLICATE
    assert merged.duplicate_of == original.id
    with city.uow_factory() as uow:
        assert services.get_report(uow, original.id).supporters == 1
        f = repository.report_followers.c
        followers = (
            uow.connection.execute(select(f.email).where(f.report_id == original.id))
            .scalars()
            .all()
        )
    assert followers == ["c@example.org"]
    with city.uow_factory(write=True) as uow, pytest.raises(InvalidInput):
        services.merge(uow, original.id, original.id, TEST_ACTOR)


def test_the_catalogue_is_managed_and_audited(city: Platform) -> None:
    spec = parse_category_spec(
        {
            "code": "snow-ice",
            "group": "Roads and pavements",
            "name": "Snow or ice",
            "attributes": [
                {"code": "where", "datatype": "string", "description": "Where exactly?"}
            ],
        }
    )
    with city.uow_factory(write=True) as uow:
        services.create_category(uow, spec, TEST_ACTOR)
        uow.commit()
    with city.uow_factory(write=True) as uow, pytest.raises(Conflict):
        services.create_category(uow, spec, TEST_ACTOR)
    retired = spec.model_copy(update={"active": False})
    with city.uow_factory(write=True) as uow:
        services.update_category(uow, "snow-ice", retired, TEST_ACTOR)
        uow.commit()
    with city.uow_factory() as uow:
        assert "snow-ice" not in {c.code for c in services.list_categories(uow)}
        with pytest.raises(NotFound):
            services.get_category(uow, "snow-ice")
        audit_count = uow.connection.exec_driver_sql(
            "SELECT count(*) FROM audit_log WHERE object_id = 'snow-ice'"
        ).scalar_one()
    assert audit_count == 2
    with pytest.raises(InvalidInput):
        parse_category_spec({"code": "Bad Code", "group": "x", "name": "y"})
    with pytest.raises(InvalidInput):
        parse_category_spec(
            {
                "code": "list-without-values",
                "group": "x",
                "name": "y",
                "attributes": [{"code": "a", "datatype": "singlevaluelist", "description": "?"}],
            }
        )
