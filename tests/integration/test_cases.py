"""Cases on both databases: opened by alarms and citizen reports through the platform's bus (and
by the sweep when a handler missed one), routed by ordered rules, triaged with re-routing, and
recorded on the chain timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from metropilot.accounts.repository import organisations, teams
from metropilot.assets import repository as assets_repository
from metropilot.audit.services import append_entries
from metropilot.bootstrap import Platform
from metropilot.cases import services
from metropilot.cases.model import CaseOrigin, CaseState, Milestone, Priority
from metropilot.db.uow import UnitOfWork
from metropilot.reports import services as reports_services
from metropilot.shared.errors import Conflict, Forbidden, InvalidInput
from metropilot.shared.events import MessageBus
from metropilot.simulate.services import generate_metropolis
from metropilot.telemetry.services import IngestPipeline
from tests.conftest import TEST_ACTOR


@pytest.fixture
def city(platform: Platform) -> Platform:
    with platform.uow_factory(write=True) as uow:
        generate_metropolis(uow, TEST_ACTOR, scale=0.01, seed=3)
        uow.commit()
    return platform


def lights(city: Platform, n: int = 2) -> list[tuple[int, str, float, float]]:
    a = assets_repository.assets.c
    with city.uow_factory() as uow:
        rows = uow.connection.execute(
            select(a.id, a.external_ref, a.lon, a.lat)
            .where(a.kind == "streetlight")
            .order_by(a.id)
            .limit(n)
        ).all()
    return [(int(i), str(r), float(x), float(y)) for i, r, x, y in rows]


def a_team(city: Platform, sector: str) -> str:
    t, o = teams.c, organisations.c
    with city.uow_factory() as uow:
        return str(
            uow.connection.execute(
                select(t.code)
                .join(organisations, o.id == t.organisation_id)
                .where(o.sector == sector)
                .order_by(t.code)
                .limit(1)
            ).scalar_one()
        )


def fail_lamp(city: Platform, ref: str) -> None:
    pipeline = IngestPipeline(
        city.uow_factory,
        raw_retention=timedelta(days=30),
        max_batch=100,
        observers=list(city.wiring.batch_observers),
    )
    now = datetime.now(UTC)
    pipeline.ingest(
        [
            {
                "asset": ref,
                "ts": (now - timedelta(seconds=5)).isoformat(),
                "metrics": {"lamp_failure": True},
            }
        ],
        source="test",
        now=now,
    )


def test_an_alarm_opens_one_case_per_asset(city: Platform) -> None:
    (light_id, ref, _, _), (other_id, other_ref, _, _) = lights(city)
    fail_lamp(city, ref)
    with city.uow_factory() as uow:
        [case] = services.query_cases(uow, services.CaseQuery(asset_id=light_id))
        timeline = services.case_timeline(uow, case.id)["entries"]
    assert case.origin is CaseOrigin.ALARM
    assert case.category == "lamp-failure"
    assert case.state is CaseState.OPEN
    assert case.priority in (Priority.P1, Priority.P2, Priority.P3)
    assert len(case.alarm_ids) == 1
    assert case.commune_insee is not None
    assert [e.what for e in timeline][:3] == [
        Milestone.DETECTED,
        Milestone.OPENED,
        Milestone.ROUTED,
    ]
    # A citizen report on the same light joins the same case.
    with city.uow_factory() as uow:
        lon, lat = uow.connection.execute(
            select(assets_repository.assets.c.lon, assets_repository.assets.c.lat).where(
                assets_repository.assets.c.id == light_id
            )
        ).one()
    with city.uow_factory(write=True) as uow:
        report = reports_services.submit(
            uow,
            reports_services.Submission(
                category_code="streetlight-broken",
                lon=float(lon),
                lat=float(lat),
                attributes={"light_state": "off"},
            ),
            TEST_ACTOR,
        ).report
        uow.commit()
    assert report.asset_id == light_id
    with city.uow_factory() as uow:
        [same] = services.query_cases(uow, services.CaseQuery(asset_id=light_id))
        assert same.id == case.id
        assert same.report_ids == (report.id,)
        # Another asset: another case.
    fail_lamp(city, other_ref)
    with city.uow_factory() as uow:
        assert len(services.query_cases(uow, services.CaseQuery(asset_id=other_id))) == 1


def test_a_report_opens_a_case_and_the_sweep_catches_what_a_handler_missed(
    city: Platform,
) -> None:
    (_, _, lon, lat), _ = lights(city)
    with city.uow_factory(write=True) as uow:
        first = reports_services.submit(
            uow,
            reports_services.Submission(category_code="graffiti", lon=lon + 0.002, lat=lat),
            TEST_ACTOR,
        ).report
        uow.commit()
    with city.uow_factory() as uow:
        found = services.query_cases(uow, services.CaseQuery())
    assert [c.report_ids for c in found] == [(first.id,)]
    assert found[0].origin is CaseOrigin.CITIZEN_REPORT
    # A process that committed a report but died before its handler ran (a bus of its own,
    # with nobody listening): the housekeeping's sweep opens the case.
    deaf = partial(UnitOfWork, city.engine, MessageBus(), audit_sink=append_entries)
    with deaf(write=True) as uow:
        missed = reports_services.submit(
            uow,
            reports_services.Submission(category_code="bench-broken", lon=lon - 0.002, lat=lat),
            TEST_ACTOR,
        ).report
        uow.commit()
    with city.uow_factory(write=True) as uow:
        assert services.open_pending(uow) == 1
        uow.commit()
    with city.uow_factory(write=True) as uow:
        assert services.open_pending(uow) == 0  # nothing twice
        cases = services.query_cases(uow, services.CaseQuery())
    assert sorted(c.report_ids for c in cases) == sorted([(first.id,), (missed.id,)])


def test_routing_rules_choose_the_team_and_explain_why(city: Platform) -> None:
    private_team, public_team = a_team(city, "private"), a_team(city, "public")
    with city.uow_factory(write=True) as uow:
        night = services.create_rule(
            uow,
            {
                "order": 10,
                "name": "Lights at night to the lighting contractor",
                "categories": ["lamp-failure", "streetlight-broken"],
                "team": private_team,
            },
            TEST_ACTOR,
        )
        services.create_rule(
            uow,
            {
                "order": 20,
                "name": "Graffiti to the city",
                "categories": ["graffiti"],
                "team": public_team,
            },
            TEST_ACTOR,
        )
        uow.commit()
    with city.uow_factory(write=True) as uow, pytest.raises(InvalidInput):
        services.create_rule(uow, {"order": 1, "name": "x", "team": "no-such-team"}, TEST_ACTOR)
    (light_id, ref, _lon, _lat), _ = lights(city)
    fail_lamp(city, ref)
    with city.uow_factory() as uow:
        [case] = services.query_cases(uow, services.CaseQuery(asset_id=light_id))
        explanation = services.explain_routing(
            uow,
            category="graffiti",
            asset_kind="streetlight",
            commune_insee=case.commune_insee,
            at=datetime.now(UTC),
        )
    assert case.assignee is not None
    assert case.assignee.team == private_team
    assert case.assignee.sector == "private"
    assert case.routing_rule_id == night.id
    assert explanation.decision.team == public_team
    first, second = explanation.verdicts
    assert not first.matches
    assert [f.criterion.value for f in first.failures] == ["categories"]
    assert second.chosen

    # Triage with a new category routes the case again, and the reason is kept.
    with city.uow_factory(write=True) as uow, pytest.raises(InvalidInput):
        services.triage(uow, case.id, TEST_ACTOR, "operator", category="graffiti")
    with city.uow_factory(write=True) as uow:
        triaged = services.triage(
            uow,
            case.id,
            TEST_ACTOR,
            "operator",
            category="graffiti",
            reason="It is a tag on the mast",
        )
        uow.commit()
    assert triaged.state is CaseState.TRIAGED
    assert triaged.assignee is not None
    assert triaged.assignee.team == public_team
    with city.uow_factory() as uow:
        entries = services.case_timeline(uow, case.id)["entries"]
    routed = [e for e in entries if e.what is Milestone.ROUTED]
    assert "It is a tag on the mast" in routed[-1].note
    with city.uow_factory(write=True) as uow, pytest.raises(Conflict):
        services.triage(uow, case.id, TEST_ACTOR, "operator")  # already triaged


def test_a_case_opened_by_hand_goes_to_the_default_queue_without_a_rule(city: Platform) -> None:
    (light_id, _, _, _), _ = lights(city)
    with city.uow_factory(write=True) as uow:
        case = services.open_case(
            uow,
            origin=CaseOrigin.OPERATOR,
            category="pothole",
            priority=Priority.P2,
            actor=TEST_ACTOR,
            asset_id=light_id,
            title="Seen from the camera",
        )
        uow.commit()
    assert case.assignee is None  # the command post's own queue
    assert case.routing_rule_id is None
    with city.uow_factory() as uow:
        queue = services.query_cases(uow, services.CaseQuery(triage_queue=True))
    assert case.id in {c.id for c in queue}


def test_cases_reach_the_live_stream(city: Platform) -> None:
    from metropilot.shared.scope import UNRESTRICTED, Scope
    from metropilot.stream import journal

    (light_id, ref, _, _), _ = lights(city)
    fail_lamp(city, ref)
    with city.uow_factory() as uow:
        newest = journal.newest_id(uow.connection)
        everything = journal.read_after(uow.connection, 0, newest, UNRESTRICTED)
        [case] = services.query_cases(uow, services.CaseQuery(asset_id=light_id))
        elsewhere = journal.read_after(
            uow.connection, 0, newest, Scope(communes=("00000",)), types=("case.opened",)
        )
    opened = [e for e in everything if e.type == "case.opened"]
    assert [e.payload["case_id"] for e in opened] == [case.id]
    assert opened[0].payload["asset"] == light_id
    assert "case.routed" in {e.type for e in everything}
    assert elsewhere == []  # scoped by the case's commune, as alarms are


def test_sla_warnings_and_breaches_are_announced_once(city: Platform) -> None:
    (light_id, _, _, _), _ = lights(city)
    team = a_team(city, "private")
    with city.uow_factory(write=True) as uow:
        services.create_rule(
            uow, {"order": 1, "name": "all", "categories": ["pothole"], "team": team}, TEST_ACTOR
        )
        case = services.open_case(
            uow,
            origin=CaseOrigin.OPERATOR,
            category="pothole",
            priority=Priority.P1,
            actor=TEST_ACTOR,
            asset_id=light_id,
        )
        services.triage(uow, case.id, TEST_ACTOR, "operator")
        order = services.dispatch(uow, case.id, TEST_ACTOR, "operator")
        uow.commit()
        response_due, resolution_due = services.work_order_deadlines(uow, order.id)
    assert response_due is not None
    assert resolution_due is not None
    start = response_due - timedelta(hours=1)  # P1: 1 h to respond, 4 h to resolve
    assert resolution_due - start == timedelta(hours=4)

    def announce(at: datetime) -> int:
        with city.uow_factory(write=True) as uow:
            count = services.announce_deadlines(uow, at)
            uow.commit()
        return count

    assert announce(start + timedelta(minutes=47)) == 0
    assert announce(start + timedelta(minutes=49)) == 1  # 80% of the response time
    assert announce(start + timedelta(minutes=50)) == 0  # once
    assert announce(start + timedelta(hours=2)) == 1  # the response deadline passed
    assert announce(start + timedelta(hours=5)) == 2  # resolution: warning and breach
    assert announce(start + timedelta(hours=6)) == 0
    with city.uow_factory() as uow:
        entries = services.case_timeline(uow, case.id)["entries"]
    alerts = [e.note.split()[0] for e in entries if e.what.value.startswith("sla_")]
    assert alerts == ["response", "response", "resolution", "resolution"]


def test_waiting_on_a_third_party_pauses_the_sla_clock(city: Platform) -> None:
    from metropilot.cases import repository as cases_repository
    from metropilot.cases.model import CaseAction

    (light_id, _, _, _), _ = lights(city)
    team = a_team(city, "private")
    with city.uow_factory(write=True) as uow:
        services.create_rule(
            uow, {"order": 1, "name": "all", "categories": ["pothole"], "team": team}, TEST_ACTOR
        )
        case = services.open_case(
            uow,
            origin=CaseOrigin.OPERATOR,
            category="pothole",
            priority=Priority.P1,
            actor=TEST_ACTOR,
            asset_id=light_id,
        )
        services.triage(uow, case.id, TEST_ACTOR, "operator")
        order = services.dispatch(uow, case.id, TEST_ACTOR, "operator")
        uow.commit()
        before = services.work_order_deadlines(uow, order.id)
    contractor = TEST_ACTOR.__class__(
        TEST_ACTOR.kind, "crew", organisation=order.assignee.organisation, sector="private"
    )
    with city.uow_factory(write=True) as uow:
        from metropilot.cases.model import WorkOrderAction

        services.act(uow, order.id, WorkOrderAction.ACCEPT, contractor, "contractor")
        uow.commit()
    with city.uow_factory(write=True) as uow, pytest.raises(InvalidInput):
        services.move_case(uow, case.id, CaseAction.WAIT_THIRD_PARTY, TEST_ACTOR, "operator")
    with city.uow_factory(write=True) as uow:
        waiting = services.move_case(
            uow,
            case.id,
            CaseAction.WAIT_THIRD_PARTY,
            TEST_ACTOR,
            "operator",
            reason="Waiting for the grid operator to restore the supply",
        )
        uow.commit()
    assert waiting.state is CaseState.WAITING_THIRD_PARTY
    # As if the order went out an hour ago and the wait began 30 minutes ago.
    c, w = cases_repository.cases.c, cases_repository.work_orders.c
    with city.uow_factory(write=True) as uow:
        dispatched = uow.connection.execute(
            select(w.dispatched_at).where(w.id == order.id)
        ).scalar_one() - timedelta(hours=1)
        uow.connection.execute(
            cases_repository.work_orders.update()
            .where(w.id == order.id)
            .values(dispatched_at=dispatched)
        )
        [[start, end, reason]] = uow.connection.execute(
            select(c.sla_pauses).where(c.id == case.id)
        ).scalar_one()
        started = datetime.fromisoformat(start) - timedelta(minutes=30)
        uow.connection.execute(
            cases_repository.cases.update()
            .where(c.id == case.id)
            .values(sla_pauses=[[started.isoformat(), end, reason]])
        )
        uow.commit()
    with city.uow_factory(write=True) as uow:
        assert services.announce_deadlines(uow, datetime.now(UTC) + timedelta(hours=10)) == 0
        uow.rollback()
    with city.uow_factory(write=True) as uow, pytest.raises(Forbidden):
        services.move_case(uow, case.id, CaseAction.RESUME, contractor, "contractor")
    with city.uow_factory(write=True) as uow:
        resumed = services.move_case(uow, case.id, CaseAction.RESUME, TEST_ACTOR, "operator")
        uow.commit()
        after = services.work_order_deadlines(uow, order.id)
    assert resumed.state is CaseState.IN_PROGRESS
    assert before[1] is not None
    assert after[1] is not None
    # P1: 4 calendar hours from dispatch, plus the 30 minutes spent waiting.
    expected = dispatched + timedelta(hours=4, minutes=30)
    assert abs(after[1] - expected) < timedelta(seconds=5)
    with city.uow_factory() as uow:
        whats = [e.what for e in services.case_timeline(uow, case.id)["entries"]]
    assert Milestone.WAITING_THIRD_PARTY in whats
    assert Milestone.RESUMED in whats
    # Cancelling the case cancels its live order.
    with city.uow_factory(write=True) as uow:
        services.move_case(
            uow, case.id, CaseAction.CANCEL, TEST_ACTOR, "operator", reason="Duplicate case"
        )
        uow.commit()
        assert services.get_work_order(uow, order.id).state.value == "cancelled"


def test_sla_policies_per_team_set_the_deadlines(city: Platform) -> None:
    from metropilot.cases import repository as cases_repository

    (light_id, _, _, _), (other_id, _, _, _) = lights(city)
    team, other_team = a_team(city, "private"), a_team(city, "public")
    with city.uow_factory(write=True) as uow:
        for name, category, target in (("a", "pothole", team), ("b", "graffiti", other_team)):
            services.create_rule(
                uow,
                {"order": 1, "name": name, "categories": [category], "team": target},
                TEST_ACTOR,
            )
        services.put_sla_policy(
            uow,
            team,
            Priority.P2,
            "calendar",
            timedelta(minutes=30),
            timedelta(minutes=90),
            None,
            TEST_ACTOR,
        )
        services.put_sla_policy(
            uow,
            "*",
            Priority.P2,
            "calendar",
            timedelta(hours=2),
            timedelta(hours=8),
            None,
            TEST_ACTOR,
        )
        uow.commit()
    with city.uow_factory(write=True) as uow, pytest.raises(InvalidInput):
        services.put_sla_policy(
            uow,
            team,
            Priority.P2,
            "calendar",
            timedelta(hours=2),
            timedelta(hours=1),
            None,
            TEST_ACTOR,
        )
    with city.uow_factory(write=True) as uow, pytest.raises(InvalidInput):
        services.put_sla_policy(
            uow,
            team,
            Priority.P2,
            "business",
            timedelta(hours=1),
            timedelta(hours=2),
            {"hours": {"mon": ["25:00-26:00"]}},
            TEST_ACTOR,
        )

    def dispatched(asset_id: int, category: str) -> tuple[timedelta, timedelta]:
        with city.uow_factory(write=True) as uow:
            case = services.open_case(
                uow,
                origin=CaseOrigin.OPERATOR,
                category=category,
                priority=Priority.P2,
                actor=TEST_ACTOR,
                asset_id=asset_id,
            )
            services.triage(uow, case.id, TEST_ACTOR, "operator")
            order = services.dispatch(uow, case.id, TEST_ACTOR, "operator")
            uow.commit()
            w = cases_repository.work_orders.c
            start, response, resolution = uow.connection.execute(
                select(w.dispatched_at, w.response_due_at, w.resolution_due_at).where(
                    w.id == order.id
                )
            ).one()
        return response - start, resolution - start

    assert dispatched(light_id, "pothole") == (timedelta(minutes=30), timedelta(minutes=90))
    assert dispatched(other_id, "graffiti") == (timedelta(hours=2), timedelta(hours=8))
    with city.uow_factory() as uow:
        assert len(services.list_sla_policies(uow)) == 2


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    steps=st.lists(
        st.sampled_from(
            [
                ("team", "accept"),
                ("team", "refuse"),
                ("team", "en_route"),
                ("team", "on_site"),
                ("team", "done"),
                ("command", "verify"),
                ("command", "reject"),
                ("command", "cancel"),
                ("command", "close"),
                ("command", "dispatch"),
            ]
        ),
        max_size=14,
    )
)
@example(steps=[("team", "accept"), ("team", "on_site"), ("team", "done"), ("command", "verify")])
@example(steps=[("team", "refuse"), ("command", "dispatch"), ("team", "accept")])
def test_every_resolved_case_with_a_report_has_told_the_reporter(
    city: Platform, steps: list[tuple[str, str]]
) -> None:
    """Whatever the team and the command post do, in any order (illegal steps are refused and
    change nothing): a case that ends resolved has fixed its citizen's report and queued the
    e-mail telling them; a case not resolved has not."""
    from metropilot.cases.model import WorkOrderAction
    from metropilot.reports.repository import report_notifications

    team = a_team(city, "private")
    with city.uow_factory(write=True) as uow:
        if not services.list_rules(uow):
            services.create_rule(
                uow,
                {"order": 1, "name": "all", "categories": ["graffiti"], "team": team},
                TEST_ACTOR,
            )
            uow.commit()
    (_, _, lon, lat), _ = lights(city)
    import random

    spot = random.Random(len(steps) * 7919 + hash(tuple(steps)) % 1000)
    with city.uow_factory(write=True) as uow:
        report = reports_services.submit(
            uow,
            reports_services.Submission(
                category_code="graffiti",
                lon=lon + spot.uniform(-0.003, 0.003),
                lat=lat + spot.uniform(-0.002, 0.002),
                email="resident@example.org",
                allow_me_too=False,
            ),
            TEST_ACTOR,
        ).report
        uow.commit()
    with city.uow_factory() as uow:
        [case] = [
            c
            for c in services.query_cases(uow, services.CaseQuery(limit=1000))
            if report.id in c.report_ids
        ]
    crew = TEST_ACTOR.__class__(TEST_ACTOR.kind, "crew", sector="private")
    with city.uow_factory(write=True) as uow:
        services.triage(uow, case.id, TEST_ACTOR, "operator")
        order = services.dispatch(uow, case.id, TEST_ACTOR, "operator")
        uow.commit()
        crew = crew.__class__(
            crew.kind, "crew", organisation=order.assignee.organisation, sector="private"
        )
    orders = [order.id]
    for who, step in steps:
        with city.uow_factory(write=True) as uow:
            try:
                if step == "dispatch":
                    orders.append(services.dispatch(uow, case.id, TEST_ACTOR, "operator").id)
                else:
                    actor, role = (
                        (crew, "contractor") if who == "team" else (TEST_ACTOR, "operator")
                    )
                    note = "because" if step in ("refuse", "reject", "cancel", "done") else None
                    services.act(uow, orders[-1], WorkOrderAction(step), actor, role, note=note)
                uow.commit()
            except (Conflict, InvalidInput, Forbidden):
                uow.rollback()
    n = report_notifications.c
    with city.uow_factory() as uow:
        final = services.get_case(uow, case.id)
        told = (
            uow.connection.execute(
                select(n.subject).where(
                    n.report_id == report.id, n.recipient == "resident@example.org"
                )
            )
            .scalars()
            .all()
        )
        fixed = reports_services.get_report(uow, report.id).state.value == "fixed"
    resolved = final.state in (CaseState.RESOLVED, CaseState.CLOSED)
    assert fixed == resolved
    assert any("fixed" in subject for subject in told) == resolved


def test_some_categories_wait_for_triage_before_becoming_cases(city: Platform) -> None:
    (_, _, lon, lat), _ = lights(city)
    with city.uow_factory(write=True) as uow:
        report = reports_services.submit(
            uow,
            reports_services.Submission(category_code="bulky-waste", lon=lon, lat=lat),
            TEST_ACTOR,
        ).report
        uow.commit()
    with city.uow_factory(write=True) as uow:
        assert services.open_pending(uow) == 0  # the sweep leaves it to the operator too
        assert services.query_cases(uow, services.CaseQuery()) == []
        case = services.open_for_report(uow, report.id, by_hand=True)
        uow.commit()
    assert case is not None
    assert case.report_ids == (report.id,)
    with city.uow_factory(write=True) as uow:
        assert services.open_for_report(uow, report.id, by_hand=True) is None  # once
        assert services.case_of_report(uow, report.id) is not None


def test_resolving_clears_the_alarms_of_equipment_that_is_not_connected(city: Platform) -> None:
    from metropilot.alarms import services as alarms_services
    from metropilot.cases.model import CaseAction
    from metropilot.telemetry.repository import asset_twin

    (light_id, ref, _, _), _ = lights(city)
    fail_lamp(city, ref)
    with city.uow_factory() as uow:
        [case] = services.query_cases(uow, services.CaseQuery(asset_id=light_id))
    # As if the light had no connection: the platform holds no twin of it.
    with city.uow_factory(write=True) as uow:
        uow.connection.execute(asset_twin.delete().where(asset_twin.c.asset_id == light_id))
        services.move_case(
            uow, case.id, CaseAction.RESOLVE, TEST_ACTOR, "operator", reason="Replaced on patrol"
        )
        uow.commit()
    with city.uow_factory() as uow:
        [alarm_id] = case.alarm_ids
        assert alarms_services.get_alarm(uow, alarm_id).state.value == "cleared"
