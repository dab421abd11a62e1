"""What other contexts read of citizen reports (``reports.queries``), and what the reports'
events tell their consumers, on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from metropilot.assets import repository as assets_repository
from metropilot.bootstrap import Platform
from metropilot.reports import queries, repository, services
from metropilot.reports.model import (
    Priority,
    ReportEvent,
    ReportState,
    ReportStatusChanged,
    ReportSubmitted,
)
from metropilot.shared.events import DomainEvent
from metropilot.simulate.services import generate_metropolis
from tests.conftest import TEST_ACTOR


@pytest.fixture
def city(platform: Platform) -> Platform:
    with platform.uow_factory(write=True) as uow:
        generate_metropolis(uow, TEST_ACTOR, scale=0.01, seed=3)
        uow.commit()
    return platform


def a_light(city: Platform) -> tuple[int, float, float, int | None]:
    a = assets_repository.assets.c
    with city.uow_factory() as uow:
        row = uow.connection.execute(
            select(a.id, a.lon, a.lat, a.maintainer_id)
            .where(a.kind == "streetlight")
            .order_by(a.id)
            .limit(1)
        ).one()
    maintainer = None if row[3] is None else int(row[3])
    return int(row[0]), float(row[1]), float(row[2]), maintainer


def test_a_report_reads_for_its_case_and_its_events_say_where_and_whose(city: Platform) -> None:
    light_id, lon, lat, maintainer = a_light(city)
    seen: list[DomainEvent] = []
    assert city.bus is not None
    city.bus.subscribe(ReportEvent, seen.append)
    try:
        with city.uow_factory(write=True) as uow:
            result = services.submit(
                uow,
                services.Submission(
                    category_code="streetlight-broken",
                    lon=lon + 0.00005,
                    lat=lat,
                    description="Dark since Monday",
                ),
                TEST_ACTOR,
            )
            uow.commit()
        report = result.report
        with city.uow_factory(write=True) as uow:
            services.change_state(uow, report.id, ReportState.IN_PROGRESS, TEST_ACTOR)
            uow.commit()
    finally:
        city.bus.unsubscribe(ReportEvent, seen.append)

    submitted = [e for e in seen if isinstance(e, ReportSubmitted)]
    assert len(submitted) == 1
    assert submitted[0].report_id == report.id
    assert submitted[0].category_code == "streetlight-broken"
    assert submitted[0].priority == "P3"
    assert submitted[0].asset_id == light_id
    assert submitted[0].maintainer_id == maintainer
    assert submitted[0].commune_insee == report.commune_insee
    assert submitted[0].opens_case == "auto"
    changed = [e for e in seen if isinstance(e, ReportStatusChanged)]
    assert [(e.previous, e.state) for e in changed] == [("new", "in_progress")]
    assert changed[0].maintainer_id == maintainer
    assert changed[0].priority == "P3"

    with city.uow_factory() as uow:
        found = queries.report_for_case(uow.connection, report.id)
        assert queries.report_for_case(uow.connection, report.id + 1000) is None
    assert found is not None
    assert found.id == report.id
    assert found.category_code == "streetlight-broken"
    assert found.opens_case == "auto"
    assert found.priority is Priority.P3
    assert found.state is ReportState.IN_PROGRESS
    assert found.asset_id == light_id
    assert found.commune_insee == report.commune_insee
    assert found.requested_at == report.requested_at
    assert found.description == "Dark since Monday"
    assert found.duplicate_of is None


def test_new_reports_await_a_case_until_one_links_them(city: Platform) -> None:
    _, lon, lat, _ = a_light(city)
    ids = []
    for step in range(3):  # far enough apart not to be "me too" of each other
        with city.uow_factory(write=True) as uow:
            result = services.submit(
                uow,
                services.Submission(
                    category_code="pothole", lon=lon + 0.002 * step, lat=lat, allow_me_too=False
                ),
                TEST_ACTOR,
            )
            uow.commit()
        ids.append(result.report.id)
    r = repository.reports.c
    with city.uow_factory(write=True) as uow:
        services.change_state(uow, ids[2], ReportState.TRIAGED, TEST_ACTOR)
        uow.commit()
    with city.uow_factory() as uow:
        nothing_linked = select(r.id).where(r.id < 0)
        awaiting = queries.report_ids_awaiting_case(
            uow.connection, already_linked=nothing_linked, limit=100
        )
        first_linked = select(r.id).where(r.id == ids[0])
        after_link = queries.report_ids_awaiting_case(
            uow.connection, already_linked=first_linked, limit=100
        )
        one = queries.report_ids_awaiting_case(
            uow.connection, already_linked=nothing_linked, limit=1
        )
    assert ids[0] in awaiting
    assert ids[1] in awaiting
    assert ids[2] not in awaiting  # triaged: no longer new
    assert ids[0] not in after_link
    assert ids[1] in after_link
    assert awaiting == sorted(awaiting)
    assert one == awaiting[:1]
