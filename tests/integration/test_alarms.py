"""Rules and alarms through the ingest pipeline, against a real database (SQLite and PostgreSQL).

Each test builds a small hand-made city (two communes, a lighting cabinet with its lights, a
camera, a building, a vehicle, an air-quality sensor), wires the rules engine into an ingest
pipeline of its own, sends readings at controlled times, and looks at the alarms it made.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from metropilot.alarms import repository, services
from metropilot.alarms.model import (
    Alarm,
    AlarmAcknowledged,
    AlarmCleared,
    AlarmEscalated,
    AlarmEvent,
    AlarmRaised,
    AlarmState,
    Rule,
)
from metropilot.alarms.repository import AlarmFilter
from metropilot.assets import services as assets_services
from metropilot.assets.model import AssetDraft, AssetKind, AssetStatus
from metropilot.audit.repository import AuditFilter
from metropilot.audit.services import list_entries, verify
from metropilot.bootstrap import Platform, all_tables
from metropilot.db import migrate
from metropilot.shared.actors import Actor, ActorKind
from metropilot.shared.clock import utcnow
from metropilot.shared.errors import Conflict, InvalidInput, NotFound
from metropilot.telemetry.services import BatchResult, IngestPipeline
from tests.conftest import TEST_ACTOR
from tests.factories import cabinet, light, seed_territory

SUPERVISOR = Actor(ActorKind.USER, "sup", organisation="metropole-command-post", sector="public")
OPERATOR = Actor(ActorKind.USER, "op", organisation="metropole-command-post", sector="public")
WEST, EAST = "21001", "21002"
# A zone covering the west commune only (5.0–5.1 °E).
WEST_ZONE = {
    "type": "Polygon",
    "coordinates": [[[5.0, 47.3], [5.1, 47.3], [5.1, 47.4], [5.0, 47.4], [5.0, 47.3]]],
}


def draft(ref: str, kind: AssetKind, lon: float, lat: float, **extra: Any) -> AssetDraft:
    attributes = {
        AssetKind.CAMERA: {"camera_type": "fixed"},
        AssetKind.BUILDING: {"building_type": "school"},
        AssetKind.VEHICLE: {"vehicle_type": "van"},
        AssetKind.SENSOR: {"pollutants": ["pm10"]},
    }[kind]
    return AssetDraft(
        external_ref=ref,
        kind=kind,
        lon=lon,
        lat=lat,
        attributes=attributes,
        maintainer=extra.pop("maintainer", "roads"),
        where=ref,
        **extra,
    )


CITY = [
    cabinet("CAB-1", 5.05, 47.35),
    light("SL-1", 5.051, 47.35, parent_ref="CAB-1"),
    light("SL-2", 5.052, 47.35, parent_ref="CAB-1"),
    light("SL-3", 5.053, 47.35, parent_ref="CAB-1"),
    light("SL-9", 5.15, 47.35),
    draft("CAM-1", AssetKind.CAMERA, 5.06, 47.36),
    draft("CAM-2", AssetKind.CAMERA, 5.16, 47.36),
    draft("BLD-1", AssetKind.BUILDING, 5.17, 47.37),
    draft("VEH-1", AssetKind.VEHICLE, 5.07, 47.33),
    draft("AQ-1", AssetKind.SENSOR, 5.18, 47.38, subtype="air_quality"),
]


class City:
    """A seeded city with its own ingest pipeline, clock and helpers."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        seed_territory(platform)
        with platform.uow_factory(write=True) as uow:
            assets_services.import_assets(uow, CITY, TEST_ACTOR)
            uow.commit()
        with platform.engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT external_ref, id FROM assets").all()
        self.ids: dict[str, int] = {str(ref): int(i) for ref, i in rows}
        self.engine = services.AlarmEngine()
        self.pipeline = IngestPipeline(
            platform.uow_factory,
            raw_retention=timedelta(days=30),
            max_batch=10_000,
            observers=[self.engine],
            twin_flush_interval=0,  # the stored twin follows every batch (heartbeats read it)
        )
        self.t0 = utcnow().replace(microsecond=0) - timedelta(hours=2)

    def at(self, seconds: float) -> datetime:
        return self.t0 + timedelta(seconds=seconds)

    def send(self, seconds: float, *items: dict[str, Any]) -> BatchResult:
        """Send readings/events stamped ``seconds`` after t0, ingested at that same moment."""
        ts = self.at(seconds).isoformat()
        batch = [{**item, "ts": item.get("ts", ts)} for item in items]
        result = self.pipeline.ingest(batch, source="test", now=self.at(seconds))
        assert result.rejected == 0, result.results
        return result

    def rule(self, **spec: Any) -> Rule:
        spec.setdefault("name", spec.get("code") or "a rule")
        spec.setdefault("severity", "major")
        with self.platform.uow_factory(write=True) as uow:
            rule = services.create_rule(uow, spec, SUPERVISOR)
            uow.commit()
        return rule

    def alarms(self, **filters: Any) -> list[Alarm]:
        filters.setdefault("suppressed", None)
        with self.platform.uow_factory() as uow:
            page, _ = services.list_alarms(uow, AlarmFilter(**filters), 1000)
        return sorted(page, key=lambda a: a.id)

    def alarm(self, alarm_id: int) -> Alarm:
        with self.platform.uow_factory() as uow:
            return services.get_alarm(uow, alarm_id)

    def open_alarms(self, ref: str | None = None) -> list[Alarm]:
        asset_ids = [self.ids[ref]] if ref else []
        return self.alarms(asset_ids=asset_ids, states=["active", "acknowledged"])

    def run(self, name: str, *args: Any, **kwargs: Any) -> Any:
        with self.platform.uow_factory(write=True) as uow:
            result = getattr(services, name)(uow, *args, **kwargs)
            uow.commit()
        return result


def reading(ref: str, **metrics: Any) -> dict[str, Any]:
    return {"asset": ref, "metrics": metrics}


def event(ref: str, code: str) -> dict[str, Any]:
    return {"asset": ref, "event": {"code": code, "payload": {}}}


@pytest.fixture
def city(platform: Platform) -> City:
    return City(platform)


@pytest.fixture
def events(platform: Platform) -> Iterator[list[AlarmEvent]]:
    seen: list[AlarmEvent] = []
    assert platform.bus is not None
    platform.bus.subscribe(AlarmEvent, seen.append)
    yield seen
    platform.bus.unsubscribe(AlarmEvent, seen.append)


LAMP = {"code": "lamp", "type": "state", "params": {"metric": "lamp_failure"}}
SUPPLY = {"code": "supply", "type": "state", "params": {"metric": "supply_loss", "equals": 1}}


# --- schema ------------------------------------------------------------------------------------


def test_migration_creates_what_the_tables_declare(platform: Platform) -> None:
    migrate.check(platform.engine, all_tables())
    assert migrate.head_revision(platform.engine) == migrate.current_revision(platform.engine)


def test_the_database_refuses_a_second_open_alarm_for_an_asset_and_rule(city: City) -> None:
    rule = city.rule(**LAMP, scope={"kinds": ["streetlight"]})
    now = utcnow()
    row = {
        "rule_id": rule.id,
        "asset_id": city.ids["SL-1"],
        "active_key": repository.active_key(city.ids["SL-1"], rule.id),
        "state": "active",
        "severity": "major",
        "message": "",
        "raised_at": now,
        "flaps": 0,
        "escalation_level": 0,
        "updated_at": now,
    }
    with city.platform.engine.connect() as conn:
        conn.execute(insert(repository.alarms).values(row))
        with pytest.raises(IntegrityError):
            conn.execute(insert(repository.alarms).values(row))
        conn.rollback()


# --- rule types --------------------------------------------------------------------------------


def test_threshold_hysteresis_does_not_chatter_around_the_limit(
    city: City, events: list[AlarmEvent]
) -> None:
    city.rule(
        code="pm10",
        type="threshold",
        params={"metric": "pm10", "raise_at": 50, "clear_at": 40},
        flap_window_s=0,
        scope={"kinds": ["sensor"]},
    )
    states = []
    for step, value in enumerate([45, 51, 49, 50.5, 48, 41, 40, 39, 45, 49.9, 52, 30]):
        city.send(step * 60, reading("AQ-1", pm10=value))
        states.append(bool(city.open_alarms("AQ-1")))
    # raised above 50, held through the band (40..50), cleared only below 40, raised again
    assert states == [False, True, True, True, True, True, True, False, False, False, True, False]
    alarms = city.alarms()
    assert len(alarms) == 2
    assert alarms[0].message == "pm10 51 above 50"
    assert alarms[0].value == 51
    assert alarms[0].clear_reason == "condition_ended"
    raised = [e for e in events if isinstance(e, AlarmRaised)]
    assert len(raised) == 2
    assert raised[0].kind == "sensor"
    assert raised[0].commune_insee == EAST


def test_threshold_below_direction(city: City) -> None:
    city.rule(
        code="cold",
        type="threshold",
        params={"metric": "temperature_c", "direction": "below", "raise_at": -5, "clear_at": 0},
        scope={"kinds": ["sensor"]},
    )
    city.send(0, reading("AQ-1", temperature_c=-6))
    assert city.open_alarms("AQ-1")
    city.send(60, reading("AQ-1", temperature_c=-1))
    assert city.open_alarms("AQ-1")
    city.send(120, reading("AQ-1", temperature_c=1))
    assert not city.open_alarms("AQ-1")


def test_state_match_raises_and_clears_itself(city: City, events: list[AlarmEvent]) -> None:
    rule = city.rule(**LAMP, scope={"kinds": ["streetlight"]}, severity="minor", opens_case=True)
    city.send(0, reading("SL-1", lamp_failure=False, power_w=40))
    assert city.alarms() == []
    city.send(60, reading("SL-1", lamp_failure=True, power_w=0))
    (alarm,) = city.open_alarms("SL-1")
    assert (alarm.state, alarm.severity.value, alarm.rule_id) == ("active", "minor", rule.id)
    assert alarm.observed_at == city.at(60)
    city.send(120, reading("SL-1", lamp_failure=True, power_w=0))  # still failed: no new alarm
    assert len(city.alarms()) == 1
    city.send(180, reading("SL-1", lamp_failure=False, power_w=40))
    cleared = city.alarm(alarm.id)
    assert cleared.state is AlarmState.CLEARED
    assert cleared.cleared_by == "system:rules"
    assert cleared.clear_reason == "condition_ended"
    assert [type(e).__name__ for e in events] == ["AlarmRaised", "AlarmCleared"]
    raised = events[0]
    assert isinstance(raised, AlarmRaised)
    assert (raised.alarm_id, raised.asset_id, raised.rule_id) == (
        alarm.id,
        city.ids["SL-1"],
        rule.id,
    )
    assert raised.opens_case
    assert raised.severity == "minor"
    assert raised.commune_insee == WEST
    assert raised.maintainer_id is not None
    assert raised.suppressed_by is None


def test_event_code_raises_and_its_clear_code_clears(city: City) -> None:
    city.rule(
        code="forced",
        type="state",
        params={"code": "door_forced", "clear_code": "door_secured"},
        scope={"kinds": ["building"]},
    )
    city.send(0, event("BLD-1", "door_forced"))
    assert city.open_alarms("BLD-1")[0].message == "device event door_forced"
    city.send(60, event("BLD-1", "heartbeat"))
    assert city.open_alarms("BLD-1")
    city.send(120, event("BLD-1", "door_secured"))
    assert not city.open_alarms("BLD-1")


def test_scope_by_commune_and_by_asset(city: City) -> None:
    city.rule(**LAMP, scope={"kinds": ["streetlight"], "communes": [EAST]})
    city.rule(
        code="sl2",
        type="state",
        params={"metric": "lamp_failure"},
        scope={"assets": [city.ids["SL-2"]]},
    )
    city.send(
        0,
        reading("SL-1", lamp_failure=True),
        reading("SL-2", lamp_failure=True),
        reading("SL-9", lamp_failure=True),
    )
    assert [a.asset_ref for a in city.open_alarms()] == ["SL-2", "SL-9"]


def test_assets_in_maintenance_raise_nothing(city: City) -> None:
    city.rule(**LAMP, scope={"kinds": ["streetlight"]})
    with city.platform.uow_factory(write=True) as uow:
        assets_services.set_status(uow, city.ids["SL-1"], AssetStatus.MAINTENANCE, TEST_ACTOR)
        uow.commit()
    city.send(0, reading("SL-1", lamp_failure=True), reading("SL-2", lamp_failure=True))
    assert [a.asset_ref for a in city.open_alarms()] == ["SL-2"]


def test_heartbeat_raises_for_silent_assets_and_the_next_reading_clears(city: City) -> None:
    city.rule(
        code="cam-offline",
        type="heartbeat",
        params={"interval_s": 60, "missed": 5},
        scope={"kinds": ["camera"]},
    )
    city.send(0, reading("CAM-1", online=True), reading("CAM-2", online=True))
    assert city.run("check_heartbeats", city.at(240)).heartbeats == 0
    city.send(400, reading("CAM-2", online=True))  # CAM-1 stays silent
    report = city.run("check_heartbeats", city.at(420))
    assert report.heartbeats == 1
    (alarm,) = city.open_alarms()
    assert alarm.asset_ref == "CAM-1"
    assert "no reading for 5 expected intervals" in alarm.message
    assert city.run("check_heartbeats", city.at(480)).heartbeats == 0  # no duplicate
    city.send(500, reading("CAM-1", online=True))
    assert city.alarm(alarm.id).state is AlarmState.CLEARED


def test_heartbeat_does_not_blame_equipment_when_nothing_at_all_is_heard(city: City) -> None:
    city.rule(
        code="cam-offline", type="heartbeat", params={"interval_s": 60}, scope={"kinds": ["camera"]}
    )
    city.send(0, reading("CAM-1", online=True), reading("CAM-2", online=True))
    report = city.run("check_heartbeats", city.at(3600))
    assert report.skipped_deaf
    assert report.heartbeats == 0
    assert city.run("check_heartbeats", city.at(3600), deaf_guard=False).heartbeats == 2


def test_count_in_window_of_events(city: City) -> None:
    city.rule(
        code="doors",
        type="count",
        params={"code": "door_open", "count": 3, "window_s": 600},
        scope={"kinds": ["building"]},
    )
    city.send(0, event("BLD-1", "door_open"))
    city.send(200, event("BLD-1", "door_open"))
    city.send(700, event("BLD-1", "door_open"))  # the first has left the window
    assert city.alarms() == []
    city.send(750, event("BLD-1", "door_open"))
    (alarm,) = city.open_alarms("BLD-1")
    assert alarm.value == 3
    assert alarm.message == "3 × door_open within 600 s"
    city.send(760, event("BLD-1", "door_open"))  # still open: no second alarm
    assert len(city.alarms()) == 1
    # The window empties: the time-driven check clears it.
    assert city.run("check_timers", city.at(1000)).windows == 0
    assert city.run("check_timers", city.at(1400)).windows == 1
    assert city.alarm(alarm.id).state is AlarmState.CLEARED


def test_count_in_window_of_a_metric_counts_openings_not_repeats(city: City) -> None:
    city.rule(
        code="doors",
        type="count",
        params={"metric": "door_open", "count": 3, "window_s": 600},
        scope={"kinds": ["building"]},
    )
    for step, value in enumerate([True, True, True, True]):  # open, reported again and again
        city.send(step * 10, reading("BLD-1", door_open=value))
    assert city.alarms() == []
    for step, value in enumerate([False, True, False, True]):  # two more openings: three
        city.send(100 + step * 10, reading("BLD-1", door_open=value))
    assert len(city.open_alarms("BLD-1")) == 1


def test_geofence_raises_outside_the_zone_and_clears_back_inside(city: City) -> None:
    city.rule(
        code="zone", type="geofence", params={"zone": WEST_ZONE}, scope={"kinds": ["vehicle"]}
    )
    city.send(0, reading("VEH-1", position=[5.07, 47.33], speed_kmh=30))
    assert city.alarms() == []
    city.send(60, reading("VEH-1", position=[5.15, 47.33], speed_kmh=50))
    (alarm,) = city.open_alarms("VEH-1")
    assert alarm.message == "outside its zone"
    city.send(120, reading("VEH-1", speed_kmh=20))  # no position: nothing to judge
    assert city.open_alarms("VEH-1")
    city.send(180, reading("VEH-1", position=[5.09, 47.33]))
    assert not city.open_alarms("VEH-1")


def test_a_held_condition_raises_only_after_its_hold(city: City) -> None:
    city.rule(
        code="zone",
        type="geofence",
        params={"zone": WEST_ZONE},
        hold_s=60,
        scope={"kinds": ["vehicle"]},
    )
    city.send(0, reading("VEH-1", position=[5.15, 47.33]))
    city.send(30, reading("VEH-1", position=[5.16, 47.33]))
    assert city.alarms() == []
    city.send(45, reading("VEH-1", position=[5.09, 47.33]))  # back in: the hold starts over
    city.send(60, reading("VEH-1", position=[5.15, 47.33]))
    city.send(100, reading("VEH-1", position=[5.15, 47.33]))
    assert city.alarms() == []
    city.send(121, reading("VEH-1", position=[5.15, 47.33]))
    assert len(city.open_alarms("VEH-1")) == 1
    # Without a new reading, the time-driven check raises a condition that held long enough.
    city.send(200, reading("VEH-1", position=[5.09, 47.33]))
    city.send(210, reading("VEH-1", position=[5.15, 47.33]))
    assert city.run("check_timers", city.at(240)).holds == 0
    assert city.run("check_timers", city.at(271)).holds == 1


# --- one alarm per (asset, rule) ------------------------------------------------------------------


def test_a_duplicate_batch_makes_one_alarm(city: City) -> None:
    city.rule(**LAMP, scope={"kinds": ["streetlight"]})
    batch = [reading("SL-1", lamp_failure=True), reading("SL-2", lamp_failure=True)]
    city.send(0, *batch)
    city.send(0, *batch)  # redelivered
    city.send(5, *batch)
    assert [a.asset_ref for a in city.open_alarms()] == ["SL-1", "SL-2"]
    assert len(city.alarms()) == 2


def test_two_pipelines_racing_on_one_fault_make_one_alarm(city: City) -> None:
    """A second worker whose view is stale still cannot add a second open alarm."""
    rule = city.rule(**LAMP, scope={"kinds": ["streetlight"]})
    city.send(0, reading("SL-1", lamp_failure=True))
    with city.platform.uow_factory(write=True) as uow:
        created = repository.insert_alarms(
            uow.connection,
            [
                {
                    "rule_id": rule.id,
                    "asset_id": city.ids["SL-1"],
                    "active_key": repository.active_key(city.ids["SL-1"], rule.id),
                    "state": "active",
                    "severity": "major",
                    "message": "",
                    "raised_at": utcnow(),
                    "flaps": 0,
                    "escalation_level": 0,
                    "updated_at": utcnow(),
                }
            ],
        )
        uow.commit()
    assert created == {}
    assert len(city.alarms()) == 1


def test_an_end_seen_by_another_worker_is_caught_by_the_timers(city: City) -> None:
    """Two ingest workers each keep their own twin: an end of fault seen by the worker whose
    twin still said "normal" is not looked at, and the periodic re-judgement clears it."""
    city.rule(**LAMP, scope={"kinds": ["streetlight"]})
    other = IngestPipeline(
        city.platform.uow_factory,
        raw_retention=timedelta(days=30),
        max_batch=10_000,
        observers=[services.AlarmEngine()],
        twin_flush_interval=0,
    )

    def via_other(seconds: int, **metrics: Any) -> None:
        item = {"asset": "SL-1", "ts": city.at(seconds).isoformat(), "metrics": metrics}
        assert other.ingest([item], source="test", now=city.at(seconds)).rejected == 0

    city.send(0, reading("SL-1", lamp_failure=False))
    via_other(10, lamp_failure=False)
    city.send(20, reading("SL-1", lamp_failure=True))
    via_other(30, lamp_failure=False)
    assert len(city.open_alarms()) == 1
    assert city.run("check_timers", city.at(40)).reconciled == 1
    assert city.open_alarms() == []


def test_silence_ended_without_the_engine_is_caught_by_the_timers(city: City) -> None:
    city.rule(
        code="cam-offline", type="heartbeat", params={"interval_s": 60}, scope={"kinds": ["camera"]}
    )
    city.send(0, reading("CAM-1", online=True), reading("CAM-2", online=True))
    city.send(300, reading("CAM-2", online=True))
    assert city.run("check_heartbeats", city.at(300)).heartbeats == 1
    plain = IngestPipeline(
        city.platform.uow_factory,
        raw_retention=timedelta(days=30),
        max_batch=10_000,
        twin_flush_interval=0,
    )
    item = {"asset": "CAM-1", "ts": city.at(320).isoformat(), "metrics": {"online": True}}
    plain.ingest([item], source="test", now=city.at(320))
    assert city.run("check_timers", city.at(330)).reconciled == 1
    assert city.open_alarms() == []


def test_a_silence_cleared_by_hand_rearms_once_the_asset_is_heard(city: City) -> None:
    city.rule(
        code="cam-offline", type="heartbeat", params={"interval_s": 60}, scope={"kinds": ["camera"]}
    )
    city.send(0, reading("CAM-1", online=True), reading("CAM-2", online=True))
    city.send(400, reading("CAM-2", online=True))
    assert city.run("check_heartbeats", city.at(400)).heartbeats == 1
    (alarm,) = city.open_alarms()
    city.run("clear", alarm.id, "camera removed for works", OPERATOR, now=city.at(410))
    city.send(420, reading("CAM-2", online=True))
    assert city.run("check_heartbeats", city.at(420)).heartbeats == 0  # inhibited
    plain = IngestPipeline(
        city.platform.uow_factory,
        raw_retention=timedelta(days=30),
        max_batch=10_000,
        twin_flush_interval=0,
    )
    item = {"asset": "CAM-1", "ts": city.at(430).isoformat(), "metrics": {"online": True}}
    plain.ingest([item], source="test", now=city.at(430))
    assert city.run("check_timers", city.at(440)).rearmed == 1
    city.send(800, reading("CAM-2", online=True))
    assert city.run("check_heartbeats", city.at(800)).heartbeats == 1


# --- correlation and flapping --------------------------------------------------------------------


def correlated(city: City) -> tuple[Rule, Rule, Rule]:
    lamp = city.rule(**LAMP, scope={"kinds": ["streetlight"]}, severity="minor")
    silent = city.rule(
        code="sl-silent",
        type="heartbeat",
        params={"interval_s": 60, "missed": 2},
        scope={"kinds": ["streetlight"]},
    )
    supply = city.rule(
        **SUPPLY, scope={"kinds": ["lighting_cabinet"]}, suppresses=[lamp.id, silent.id]
    )
    return lamp, silent, supply


def test_a_cabinet_supply_loss_raises_one_alarm_and_mutes_its_lamps(
    city: City, events: list[AlarmEvent]
) -> None:
    _, _, supply = correlated(city)
    city.send(
        0,
        reading("SL-1", lamp_failure=True),
        reading("SL-2", lamp_failure=True),
        reading("CAB-1", supply_loss=True),
        reading("SL-3", lamp_failure=True),
        reading("SL-9", lamp_failure=True),  # not under that cabinet
    )
    with city.platform.uow_factory() as uow:
        visible, _ = services.list_alarms(uow, AlarmFilter(), 100)
    assert sorted(a.asset_ref for a in visible) == ["CAB-1", "SL-9"]
    cabinet_alarm = next(a for a in visible if a.asset_ref == "CAB-1")
    assert cabinet_alarm.rule_id == supply.id
    assert cabinet_alarm.suppressed_count == 3
    muted = city.alarms(suppressed=True)
    assert sorted(a.asset_ref for a in muted) == ["SL-1", "SL-2", "SL-3"]
    assert {a.suppressed_by for a in muted} == {cabinet_alarm.id}
    with city.platform.uow_factory() as uow:
        _, children = services.alarm_detail(uow, cabinet_alarm.id)
    assert sorted(c.asset_ref for c in children) == ["SL-1", "SL-2", "SL-3"]
    raised = [e for e in events if isinstance(e, AlarmRaised)]
    assert sorted(e.asset_id for e in raised) == sorted([city.ids["CAB-1"], city.ids["SL-9"]])

    # Supply back, SL-1 still failed, SL-2 repaired meanwhile, SL-3 reports healthy with it.
    city.send(60, reading("SL-2", lamp_failure=False))
    assert city.alarm(muted[1].id).state is AlarmState.CLEARED
    events.clear()
    city.send(120, reading("CAB-1", supply_loss=False), reading("SL-3", lamp_failure=False))
    assert city.alarm(cabinet_alarm.id).state is AlarmState.CLEARED
    sl1 = city.alarm(muted[0].id)
    assert sl1.state is AlarmState.ACTIVE
    assert sl1.suppressed_by is None
    assert city.alarm(muted[2].id).state is AlarmState.CLEARED
    released = [e for e in events if isinstance(e, AlarmRaised)]
    assert [(e.alarm_id, e.released) for e in released] == [(sl1.id, True)]


def test_children_raised_before_their_parent_are_muted_when_it_arrives(city: City) -> None:
    correlated(city)
    city.send(0, reading("SL-1", lamp_failure=True), reading("SL-2", lamp_failure=True))
    city.send(5, reading("CAB-1", supply_loss=True))
    (cabinet_alarm,) = city.alarms(suppressed=False)
    assert cabinet_alarm.asset_ref == "CAB-1"
    assert cabinet_alarm.suppressed_count == 2
    # The parent clears and the twin says the lamps are fine now: the children clear too.
    city.send(60, reading("SL-1", lamp_failure=False), reading("SL-2", lamp_failure=False))
    city.send(65, reading("CAB-1", supply_loss=False))
    assert city.open_alarms() == []


def test_silent_lights_under_a_dead_cabinet_are_muted(city: City) -> None:
    correlated(city)
    city.send(
        0,
        reading("CAB-1", supply_loss=False),
        reading("SL-1", power_w=40),
        reading("SL-2", power_w=40),
        reading("SL-9", power_w=40),
    )
    city.send(30, reading("CAB-1", supply_loss=True))
    city.send(200, reading("CAB-1", supply_loss=True), reading("SL-9", power_w=40))
    assert city.run("check_heartbeats", city.at(200)).heartbeats == 2
    assert sorted(a.asset_ref for a in city.alarms(suppressed=True)) == ["SL-1", "SL-2"]
    # Power comes back but the lights stay silent: released as alarms of their own.
    city.send(260, reading("CAB-1", supply_loss=False), reading("SL-9", power_w=40))
    assert sorted(a.asset_ref for a in city.open_alarms()) == ["SL-1", "SL-2"]
    assert city.alarms(suppressed=True, states=["active"]) == []


def test_a_flapping_condition_reopens_its_alarm(city: City, events: list[AlarmEvent]) -> None:
    city.rule(**LAMP, scope={"kinds": ["streetlight"]}, flap_window_s=300)
    city.send(0, reading("SL-1", lamp_failure=True))
    (first,) = city.alarms()
    city.send(10, reading("SL-1", lamp_failure=False))
    city.send(20, reading("SL-1", lamp_failure=True))
    city.send(30, reading("SL-1", lamp_failure=False))
    city.send(40, reading("SL-1", lamp_failure=True))
    (again,) = city.alarms()
    assert again.id == first.id
    assert again.flaps == 2
    assert again.state is AlarmState.ACTIVE
    assert again.reopened_at is not None
    assert again.cleared_at is None
    reopened = [e for e in events if isinstance(e, AlarmRaised) and e.reopened]
    assert [e.flaps for e in reopened] == [1, 2]


def test_after_the_flap_window_a_new_alarm_is_raised(city: City) -> None:
    city.rule(**LAMP, scope={"kinds": ["streetlight"]}, flap_window_s=60)
    city.send(0, reading("SL-1", lamp_failure=True))
    city.send(10, reading("SL-1", lamp_failure=False))
    city.send(200, reading("SL-1", lamp_failure=True))
    assert [a.state.value for a in city.alarms()] == ["cleared", "active"]


# --- lifecycle, escalation, audit ----------------------------------------------------------------


def test_escalation_when_nobody_acknowledges(city: City, events: list[AlarmEvent]) -> None:
    city.rule(**LAMP, scope={"kinds": ["streetlight"]}, severity="critical")
    city.send(0, reading("SL-1", lamp_failure=True), reading("SL-2", lamp_failure=True))
    first, second = city.open_alarms()
    city.run("acknowledge", second.id, OPERATOR, now=first.raised_at + timedelta(minutes=1))
    start = first.raised_at
    assert city.run("escalate", start + timedelta(minutes=4)) == 0
    assert city.run("escalate", start + timedelta(minutes=6)) == 1
    assert city.run("escalate", start + timedelta(minutes=20)) == 0  # once per opening
    escalated = [e for e in events if isinstance(e, AlarmEscalated)]
    assert [(e.alarm_id, e.level) for e in escalated] == [(first.id, 1)]
    assert escalated[0].unacknowledged_s >= 360
    assert city.alarm(first.id).escalation_level == 1
    # A per-severity delay: minor alarms wait longer.
    assert city.run("escalate", start + timedelta(hours=5), {"minor": timedelta(hours=1)}) == 0


def test_acknowledge_comment_assign_and_clear_are_audited(
    city: City, events: list[AlarmEvent]
) -> None:
    city.rule(**LAMP, scope={"kinds": ["streetlight"]})
    city.send(0, reading("SL-1", lamp_failure=True))
    (alarm,) = city.alarms()
    acked = city.run("acknowledge", alarm.id, OPERATOR, comment="crew informed")
    assert acked.state is AlarmState.ACKNOWLEDGED
    assert acked.acknowledged_by == "user:op"
    with pytest.raises(Conflict):
        city.run("acknowledge", alarm.id, OPERATOR)
    note = city.run("comment", alarm.id, "lamp head broken", OPERATOR)
    assert note.author == "user:op"
    with pytest.raises(InvalidInput) as refused:
        city.run("clear", alarm.id, "  ", OPERATOR)
    assert refused.value.code == "comment_required"
    cleared = city.run("clear", alarm.id, "false alarm: lamp replaced", OPERATOR)
    assert cleared.state is AlarmState.CLEARED
    assert cleared.clear_reason == "manual"
    with pytest.raises(Conflict):
        city.run("clear", alarm.id, "again", OPERATOR)
    with city.platform.uow_factory() as uow:
        detail, _ = services.alarm_detail(uow, alarm.id)
        entries, _ = list_entries(
            uow, AuditFilter(object_type="alarm", object_id=str(alarm.id)), 50
        )
        assert verify(uow).ok
    assert [c.text for c in detail.comments] == [
        "crew informed",
        "lamp head broken",
        "false alarm: lamp replaced",
    ]
    assert [e.action for e in reversed(entries)] == [
        "alarm.raised",
        "alarm.acknowledged",
        "alarm.commented",
        "alarm.commented",
        "alarm.commented",
        "alarm.cleared",
    ]
    assert entries[0].actor_name == "op"
    kinds = [type(e) for e in events]
    assert kinds == [AlarmRaised, AlarmAcknowledged, AlarmCleared]


def test_cleared_by_hand_it_stays_down_until_the_lamp_reports_normal(city: City) -> None:
    city.rule(**LAMP, scope={"kinds": ["streetlight"]}, flap_window_s=0)
    city.send(0, reading("SL-1", lamp_failure=True))
    (alarm,) = city.alarms()
    city.run("clear", alarm.id, "known: replacement scheduled", OPERATOR)
    city.send(60, reading("SL-1", lamp_failure=True))
    assert city.open_alarms() == []
    city.send(120, reading("SL-1", lamp_failure=False))
    city.send(180, reading("SL-1", lamp_failure=True))
    assert len(city.open_alarms()) == 1


def test_assign_checks_the_assignee(city: City) -> None:
    from metropilot.accounts.model import Role, User
    from metropilot.accounts.services import create_user

    with city.platform.uow_factory(write=True) as uow:
        for name, role, communes in (
            ("agent-east", Role.COMMUNE_AGENT, ("21002",)),
            ("op-one", Role.OPERATOR, ()),
        ):
            create_user(
                uow,
                User(username=name, role=role, organisation="roads", communes=communes),
                "correct horse battery staple",
                TEST_ACTOR,
            )
        uow.commit()
    city.rule(**LAMP, scope={"kinds": ["streetlight"]})
    city.send(0, reading("SL-1", lamp_failure=True))
    (alarm,) = city.alarms()
    assert city.run("assign", alarm.id, "op-one", OPERATOR).assignee == "op-one"
    with pytest.raises(InvalidInput) as refused:
        city.run("assign", alarm.id, "agent-east", OPERATOR)  # SL-1 stands in the west
    assert refused.value.code == "unknown_assignee"
    with pytest.raises(InvalidInput) as unknown:
        city.run("assign", alarm.id, "nobody", OPERATOR)
    assert unknown.value.message.replace("nobody", "agent-east") == refused.value.message
    assert city.run("assign", alarm.id, None, OPERATOR).assignee is None


# --- rules management ----------------------------------------------------------------------------


def test_rule_validation_reports_every_problem(city: City) -> None:
    with pytest.raises(InvalidInput) as bad:
        city.rule(
            code="bad-band",
            type="threshold",
            params={"metric": "pm10", "raise_at": 40, "clear_at": 50},
        )
    assert bad.value.code == "invalid_rule"
    assert bad.value.details[0]["loc"] == "params"
    with pytest.raises(InvalidInput) as bad:
        city.rule(
            code="bad-refs",
            type="state",
            params={"metric": "nonsense"},
            scope={"kinds": ["spaceship"], "communes": ["99999"], "assets": [999999]},
            suppresses=[424242],
        )
    locs = sorted(p["loc"] for p in bad.value.details)
    assert locs == [
        "params.metric",
        "scope.assets.0",
        "scope.communes.0",
        "scope.kinds.0",
        "suppresses.0",
    ]
    with pytest.raises(InvalidInput) as bad:
        city.rule(code="no-kinds", type="heartbeat", params={"interval_s": 60})
    assert bad.value.details[0]["loc"] == "scope.kinds"
    with pytest.raises(InvalidInput):
        city.rule(
            code="bad-zone",
            type="geofence",
            params={"zone": {"type": "Point", "coordinates": [5, 47]}},
        )
    city.rule(**LAMP)
    with pytest.raises(Conflict):
        city.rule(**LAMP)


def test_disabling_or_narrowing_a_rule_clears_what_it_no_longer_justifies(city: City) -> None:
    rule = city.rule(**LAMP, scope={"kinds": ["streetlight"]})
    city.send(0, reading("SL-1", lamp_failure=True), reading("SL-9", lamp_failure=True))
    assert len(city.open_alarms()) == 2
    narrowed = city.run("update_rule", rule.id, {"scope": {"communes": [EAST]}}, SUPERVISOR)
    assert narrowed.version == 2
    assert narrowed.kinds == ("streetlight",)
    assert [a.asset_ref for a in city.open_alarms()] == ["SL-9"]
    with pytest.raises(Conflict):
        city.run("update_rule", rule.id, {"enabled": False}, SUPERVISOR, version=1)
    city.run("update_rule", rule.id, {"enabled": False}, SUPERVISOR, version=2)
    assert city.open_alarms() == []
    assert city.alarms()[-1].clear_reason == "rule_changed"
    city.send(60, reading("SL-9", lamp_failure=True))  # disabled: not evaluated
    assert city.open_alarms() == []


def test_new_thresholds_apply_to_open_alarms(city: City) -> None:
    rule = city.rule(
        code="pm10",
        type="threshold",
        params={"metric": "pm10", "raise_at": 50, "clear_at": 40},
        scope={"kinds": ["sensor"]},
    )
    city.send(0, reading("AQ-1", pm10=60))
    assert city.open_alarms()
    city.run("update_rule", rule.id, {"params": {"raise_at": 80, "clear_at": 70}}, SUPERVISOR)
    assert city.open_alarms() == []
    with pytest.raises(InvalidInput) as refused:
        city.run("update_rule", rule.id, {"type": "state"}, SUPERVISOR)
    assert refused.value.code == "type_immutable"


def test_deleting_a_rule_keeps_its_alarms_history(city: City) -> None:
    rule = city.rule(**LAMP, scope={"kinds": ["streetlight"]})
    city.send(0, reading("SL-1", lamp_failure=True))
    city.run("delete_rule", rule.id, SUPERVISOR)
    (alarm,) = city.alarms()
    assert alarm.state is AlarmState.CLEARED
    assert alarm.rule_name == "lamp"
    with pytest.raises(NotFound):
        city.run("get_rule", rule.id)
    city.send(60, reading("SL-1", lamp_failure=True))
    assert city.open_alarms() == []


def test_default_rules_install_once_and_mute_lamps_under_their_cabinet(city: City) -> None:
    created = city.run("install_default_rules", SUPERVISOR)
    codes = {r.code for r in created}
    assert {
        "lamp-failure",
        "cabinet-supply-loss",
        "junction-controller-fault",
        "camera-offline",
        "building-intrusion",
        "building-fire",
        "door-opened-repeatedly",
        "vehicle-out-of-zone",
        "pm10-high",
    } <= codes
    assert city.run("install_default_rules", SUPERVISOR) == []
    by_code = {r.code: r for r in created}
    assert set(by_code["cabinet-supply-loss"].suppresses) == {
        by_code["lamp-failure"].id,
        by_code["streetlight-supply-loss"].id,
        by_code["streetlight-silent"].id,
    }
    city.send(
        0,
        reading("CAB-1", supply_loss=True),
        {"device": "SL-1", "time": city.at(0).isoformat(), "data": {"lampFailure": True}},
        reading("AQ-1", pm10=55),
        reading("VEH-1", position=[4.0, 47.0]),  # far outside the metropolis: held a minute
    )
    visible = city.alarms(suppressed=False)
    assert sorted(a.asset_ref for a in visible) == ["AQ-1", "CAB-1"]
    assert [a.asset_ref for a in city.alarms(suppressed=True)] == ["SL-1"]
    city.send(61, reading("VEH-1", position=[4.0, 47.0]))
    assert city.open_alarms("VEH-1")


def test_the_rules_cache_sees_changes_made_elsewhere(city: City) -> None:
    rule = city.rule(**LAMP, scope={"kinds": ["streetlight"]})
    city.send(0, reading("SL-1", lamp_failure=True))
    # Another process (the web app) disables the rule: the next batch evaluates without it.
    with city.platform.engine.begin() as conn:
        conn.execute(
            repository.alarm_rules.update()
            .where(repository.alarm_rules.c.id == rule.id)
            .values(enabled=False, version=rule.version + 1, updated_at=utcnow())
        )
    city.send(60, reading("SL-2", lamp_failure=True))
    assert [a.asset_ref for a in city.open_alarms()] == ["SL-1"]


def test_engine_statistics_and_batch_proportional_lookups(city: City) -> None:
    city.rule(**LAMP, scope={"kinds": ["streetlight"]})
    city.send(0, reading("CAM-1", online=True), reading("BLD-1", fire=False))
    assert city.engine.stats.totals.findings == 0  # no rule watches those kinds
    city.send(60, reading("SL-1", lamp_failure=False, power_w=40))
    assert city.engine.stats.totals.findings == 1
    assert city.engine.stats.batches == 2
    assert city.engine.stats.changes == 3
    with city.platform.engine.connect() as conn:
        assert conn.execute(select(repository.alarms.c.id)).first() is None
