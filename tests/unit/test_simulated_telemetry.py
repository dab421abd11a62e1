"""The simulated equipment: astronomy, dimming, counters, incidents, vehicles, pacing, sinks."""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import orjson
import pytest
import shapely
from astral import Observer
from astral import sun as astral_sun

from metropilot.shared.geo import LocalPlane
from metropilot.simulate.layout import build_metropolis, load_reference_communes
from metropilot.simulate.runner import (
    HttpSink,
    SendResult,
    Simulator,
    SinkUnavailable,
    parse_duration,
    topic_for,
)
from metropilot.simulate.telemetry import (
    City,
    SimAsset,
    SimConfig,
    TelemetryModel,
    city_from_layout,
)
from metropilot.telemetry.model import DecodedEvent, DecodedReading, decode_item

PARIS = ZoneInfo("Europe/Paris")
DIJON = "21231"
DIJON_CENTRE = (5.0415, 47.3220)
DAY = timedelta(days=1)


@pytest.fixture(scope="module")
def small_city() -> City:
    """The synthetic metropolis at scale 0.01: every kind of equipment, the full street net."""
    return city_from_layout(build_metropolis(load_reference_communes(), scale=0.01, seed=3))


def _paris(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _ts(item: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(item["ts"])


def _decode(item: dict[str, Any]) -> DecodedReading | DecodedEvent:
    """Through the platform's own decoder, with a clock just after the item."""
    when = _ts(item)
    return decode_item(item, _ms(when + timedelta(minutes=1)), _ms(when - DAY))


def _lamps_city() -> City:
    """Two lamps at Dijon's centre: a dimmable LED of 40 W and a high-pressure sodium of 100 W."""
    led = SimAsset(
        "SL-LED",
        "streetlight",
        *DIJON_CENTRE,
        DIJON,
        {"lamp_technology": "LED", "nominal_power_w": 40.0, "dimmable": True},
    )
    hps = SimAsset(
        "SL-HPS",
        "streetlight",
        *DIJON_CENTRE,
        DIJON,
        {"lamp_technology": "HPS", "nominal_power_w": 100.0, "dimmable": False},
    )
    return City([led, hps], centres={DIJON: DIJON_CENTRE})


def _by_asset(items: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in items:
        grouped[item["asset"]].append(item)
    return grouped


def _at(items: Sequence[dict[str, Any]], when: datetime) -> dict[str, Any]:
    """The last reading at or before ``when``."""
    before = [i for i in items if "metrics" in i and _ts(i) <= when]
    metrics: dict[str, Any] = before[-1]["metrics"]
    return metrics


# --------------------------------------------------------------------------- determinism


def test_same_seed_and_start_give_the_same_items_however_time_is_sliced(
    small_city: City,
) -> None:
    start = _paris(2026, 12, 21, 15)
    end = start + timedelta(hours=8)
    config = SimConfig(incident_factor=20)
    whole = TelemetryModel(small_city, start=start, seed=5, config=config).advance(end)
    sliced_model = TelemetryModel(small_city, start=start, seed=5, config=config)
    sliced: list[dict[str, Any]] = []
    while sliced_model.now < end:
        sliced += sliced_model.advance(end, limit=97)
    other_seed = TelemetryModel(small_city, start=start, seed=6, config=config).advance(end)
    assert len(whole) > 1000
    assert orjson.dumps(sliced) == orjson.dumps(whole)
    assert orjson.dumps(other_seed) != orjson.dumps(whole)


def test_every_item_passes_the_platforms_decoder(small_city: City) -> None:
    start = _paris(2026, 3, 13, 12)  # a Friday: a working day, a night, a weekend day
    model = TelemetryModel(small_city, start=start, seed=2, config=SimConfig(incident_factor=40))
    items = model.advance(start + 2 * DAY)
    metrics: Counter[str] = Counter()
    codes: Counter[str] = Counter()
    for item in items:
        decoded = _decode(item)
        if isinstance(decoded, DecodedEvent):
            codes[decoded.code] += 1
        else:
            metrics.update(k for k, v in decoded.values.items() if v)
    for name in (
        "power_w",
        "energy_wh",
        "light_level_pct",
        "operating_hours",
        "lamp_failure",
        "supply_loss",
        "controller_fault",
        "online",
        "door_open",
        "intrusion",
        "position_lon",
        "speed_kmh",
        "heading_deg",
        "occupancy",
    ):
        assert metrics[name] > 0, name
    assert codes["door_open"] > 0
    assert codes["intrusion"] > 0
    assert model.stats["camera_offline"] > 0
    # Readings carry an explicit UTC offset and arrive in time order.
    assert all(item["ts"].endswith("+00:00") for item in items)
    assert [_ts(i) for i in items] == sorted(_ts(i) for i in items)


def test_each_lamp_reports_every_interval_at_its_own_phase(small_city: City) -> None:
    start = _paris(2026, 12, 21, 12)
    model = TelemetryModel(small_city, start=start, seed=1)
    items = [i for i in model.advance(start + timedelta(hours=2)) if i["asset"].startswith("SL-")]
    lamps = {a.ref for a in small_city.assets if a.kind == "streetlight"}
    per_lamp = _by_asset(items)
    assert set(per_lamp) == lamps
    for reports in per_lamp.values():
        times = [_ts(i) for i in reports]
        assert all(b - a == timedelta(minutes=15) for a, b in pairwise(times))
    per_second = Counter(i["ts"] for i in items)
    mean = len(items) / (2 * 3600)
    assert len(per_second) > 0.5 * min(len(lamps), 900) * 8  # spread over the quarter hour
    assert max(per_second.values()) <= max(5, 10 * mean)


# --------------------------------------------------------------------------- street lights


@pytest.mark.parametrize("day", [date(2026, 12, 21), date(2026, 6, 21)])
def test_lights_burn_from_dusk_to_dawn_with_the_dimming_profile(day: date) -> None:
    config = SimConfig(lamp_interval_s=60)
    start = datetime.combine(day, datetime.min.time(), PARIS).replace(hour=11)
    model = TelemetryModel(_lamps_city(), start=start, seed=1, config=config)
    per_lamp = _by_asset(model.advance(start + DAY))
    led, hps = per_lamp["SL-LED"], per_lamp["SL-HPS"]
    observer = Observer(latitude=DIJON_CENTRE[1], longitude=DIJON_CENTRE[0])
    dusk = astral_sun.dusk(observer, day, config.sun_depression_deg, tzinfo=PARIS)
    dawn = astral_sun.dawn(observer, day + DAY, config.sun_depression_deg, tzinfo=PARIS)
    noon = start.replace(hour=12)
    two_am = datetime.combine(day + DAY, datetime.min.time(), PARIS).replace(hour=2)

    # Off at noon, off just before dusk, on just after it.
    for when in (noon, dusk - timedelta(minutes=3)):
        assert _at(led, when)["light_level_pct"] == 0
        assert _at(led, when)["power_w"] == 0
        assert _at(hps, when)["power_w"] == 0
    after_dusk = dusk + timedelta(minutes=3)
    evening_level = 100.0 if after_dusk.hour < 23 else 50.0
    assert _at(led, after_dusk)["light_level_pct"] == evening_level
    assert _at(hps, after_dusk)["power_w"] == 100.0
    # 02:00 local: LED dimmed to half, sodium cannot dim and burns at full power.
    assert _at(led, two_am) == {
        **_at(led, two_am),
        "light_level_pct": 50.0,
        "power_w": 20.0,
        "lamp_failure": False,
    }
    assert _at(hps, two_am)["light_level_pct"] == 100.0
    assert _at(hps, two_am)["power_w"] == 100.0
    # Back to full power from 05:00 until dawn, off after dawn.
    before_dawn = dawn - timedelta(minutes=3)
    assert _at(led, before_dawn)["light_level_pct"] == (100.0 if before_dawn.hour >= 5 else 50.0)
    assert _at(led, dawn + timedelta(minutes=3))["light_level_pct"] == 0


def test_winter_nights_are_longer_than_summer_nights() -> None:
    def burnt(start: datetime) -> float:
        model = TelemetryModel(_lamps_city(), start=start, seed=1)
        items = _by_asset(model.advance(start + DAY))["SL-HPS"]
        return float(
            items[-1]["metrics"]["operating_hours"] - items[0]["metrics"]["operating_hours"]
        )

    winter, summer = burnt(_paris(2026, 12, 21, 12)), burnt(_paris(2026, 6, 21, 12))
    assert 14.5 < winter < 16.5
    assert 7.0 < summer < 9.0


def test_energy_follows_power_and_never_decreases(small_city: City) -> None:
    # One night of the LED lamp, exactly: 40 W at full level, 20 W from 23:00 to 05:00.
    start = _paris(2026, 12, 21, 12)
    model = TelemetryModel(_lamps_city(), start=start, seed=1, config=SimConfig(lamp_interval_s=60))
    led = _by_asset(model.advance(start + DAY))["SL-LED"]
    observer = Observer(latitude=DIJON_CENTRE[1], longitude=DIJON_CENTRE[0])
    dusk = astral_sun.dusk(observer, start.date(), 3.0, tzinfo=PARIS)
    dawn = astral_sun.dawn(observer, start.date() + DAY, 3.0, tzinfo=PARIS)
    eleven, five = start.replace(hour=23), (start + DAY).replace(hour=5)
    hours = (eleven - dusk) / timedelta(hours=1), (five - eleven) / timedelta(hours=1)
    rest = (dawn - five) / timedelta(hours=1)
    expected = 40 * hours[0] + 20 * hours[1] + 40 * rest
    delta = led[-1]["metrics"]["energy_wh"] - led[0]["metrics"]["energy_wh"]
    assert delta == pytest.approx(expected, abs=0.2)

    # Across the whole city, with failures and supply losses: counters only ever grow.
    start = _paris(2026, 1, 10, 12)
    items = TelemetryModel(
        small_city, start=start, seed=4, config=SimConfig(incident_factor=30)
    ).advance(start + 3 * DAY)
    for ref, reports in _by_asset(items).items():
        for name in ("energy_wh", "operating_hours"):
            values = [r["metrics"][name] for r in reports if name in r.get("metrics", {})]
            assert values == sorted(values), (ref, name)
    cabinets = [r for r in items if r["asset"].startswith("CAB-") and "metrics" in r]
    assert any(r["metrics"].get("power_w", 0) > 0 for r in cabinets)


# --------------------------------------------------------------------------- incidents


def _many_lamps(count: int) -> City:
    lamp = {"lamp_technology": "LED", "nominal_power_w": 30.0, "dimmable": True}
    return City(
        [SimAsset(f"SL-{k:05d}", "streetlight", *DIJON_CENTRE, DIJON, lamp) for k in range(count)],
        centres={DIJON: DIJON_CENTRE},
    )


def test_lamp_failures_arrive_at_the_configured_rate() -> None:
    # 20,000 lamps at the default 3 failures a day per 10,000: 60 expected over ten days.
    config = SimConfig(lamp_interval_s=86_400)
    start = _paris(2026, 11, 2, 12)
    model = TelemetryModel(_many_lamps(20_000), start=start, seed=11, config=config)
    items = model.advance(start + 10 * DAY)
    failures = model.stats["lamp_failure"]
    assert 60 - 4 * 60**0.5 <= failures <= 60 + 4 * 60**0.5
    # They show in the readings: failed lamps report lamp_failure and no power.
    failed = [i for i in items if i["metrics"]["lamp_failure"]]
    assert failed
    assert all(i["metrics"]["power_w"] == 0 for i in failed)
    assert len({i["asset"] for i in failed}) <= failures
    assert model.stats["lamp_repaired"] > 0


def test_a_cabinet_supply_loss_silences_its_lamps() -> None:
    cabinet = SimAsset("CAB-1", "lighting_cabinet", *DIJON_CENTRE, DIJON, {})
    lamps = [
        SimAsset(
            f"SL-{k}",
            "streetlight",
            *DIJON_CENTRE,
            DIJON,
            {"lamp_technology": "LED", "nominal_power_w": 50.0},
            parent="CAB-1",
        )
        for k in range(10)
    ]
    city = City([cabinet, *lamps], centres={DIJON: DIJON_CENTRE})
    config = SimConfig(supply_losses_per_cabinet_per_day=2.0, lamp_failures_per_10k_per_day=0)
    start = _paris(2026, 12, 1, 12)
    model = TelemetryModel(city, start=start, seed=3, config=config)
    items = model.advance(start + 2 * DAY)
    assert model.stats["supply_loss"] > 0
    cabinet_reports = [i for i in items if i["asset"] == "CAB-1" and "metrics" in i]
    lost = [_ts(i) for i in cabinet_reports if i["metrics"]["supply_loss"]]
    assert lost
    back = next(
        _ts(i) for i in cabinet_reports if _ts(i) > lost[0] and not i["metrics"]["supply_loss"]
    )
    lamp_times = [_ts(i) for i in items if i["asset"].startswith("SL-")]
    assert not [t for t in lamp_times if lost[0] < t < back]  # silent while it lasted
    assert [t for t in lamp_times if t > back]  # and back afterwards

    # Reporting instead of silence: the lamps say supply_loss themselves.
    loud = SimConfig(
        supply_losses_per_cabinet_per_day=2.0,
        lamp_failures_per_10k_per_day=0,
        lamps_silent_on_supply_loss=False,
    )
    items = TelemetryModel(city, start=start, seed=3, config=loud).advance(start + 2 * DAY)
    assert any(i["metrics"].get("supply_loss") for i in items if i["asset"].startswith("SL-"))


def _cleared(reports: list[dict[str, Any]], flag: str) -> bool:
    """The flag went up and later came down again."""
    values = [r["metrics"][flag] for r in reports if flag in r.get("metrics", {})]
    return True in values and False in values[values.index(True) :]


def test_faults_outages_and_alarms_come_and_go(small_city: City) -> None:
    start = _paris(2026, 2, 6, 12)  # a Friday, then a weekend: buildings are armed
    model = TelemetryModel(small_city, start=start, seed=8, config=SimConfig(incident_factor=200))
    items = model.advance(start + 3 * DAY)
    by_asset = _by_asset(items)
    for flag, prefix in (("controller_fault", "JCT-"), ("intrusion", "BLD-")):
        flipped = [
            ref
            for ref, reports in by_asset.items()
            if ref.startswith(prefix)
            and any(r.get("metrics", {}).get(flag) is True for r in reports)
        ]
        assert flipped, flag
        cleared = [ref for ref in flipped if _cleared(by_asset[ref], flag)]
        assert cleared, flag
    assert model.stats["camera_offline"] > 0
    assert any(
        r.get("metrics", {}).get("online") is False
        for ref, reports in by_asset.items()
        if ref.startswith("CAM-")
        for r in reports
    )


# --------------------------------------------------------------------------- sensors, vehicles


def test_air_quality_follows_a_daily_cycle() -> None:
    sensor = SimAsset(
        "SEN-AQ-0001",
        "sensor",
        *DIJON_CENTRE,
        DIJON,
        {"pollutants": ["no2", "pm10", "pm2_5"], "reporting_interval_s": 900},
        subtype="air_quality",
    )
    start = _paris(2026, 1, 12, 0)  # a Monday in winter
    items = TelemetryModel(City([sensor]), start=start, seed=1).advance(start + DAY)
    by_hour: dict[int, list[float]] = defaultdict(list)
    for item in items:
        assert set(item["metrics"]) == {"no2", "pm10", "pm2_5"}
        assert item["metrics"]["pm2_5"] < item["metrics"]["pm10"]
        by_hour[_ts(item).astimezone(PARIS).hour].append(item["metrics"]["no2"])
    rush = sum(by_hour[8] + by_hour[9]) / len(by_hour[8] + by_hour[9])
    night = sum(by_hour[3] + by_hour[4]) / len(by_hour[3] + by_hour[4])
    assert rush > 1.5 * night


def test_vehicles_drive_on_streets_by_day_and_are_parked_at_night(small_city: City) -> None:
    start = _paris(2026, 4, 14, 0)  # a Tuesday
    model = TelemetryModel(small_city, start=start, seed=9)
    items = [i for i in model.advance(start + DAY) if i["asset"].startswith("VEH-")]
    vehicles = {a.ref: a for a in small_city.assets if a.kind == "vehicle"}
    assert {i["asset"] for i in items} == set(vehicles)
    plane = LocalPlane(*DIJON_CENTRE)
    network = shapely.transform(
        shapely.MultiLineString([s.line for s in small_city.streets]),
        lambda c: [plane.to_xy(x, y) for x, y in c],
    )
    moving = [i for i in items if i["metrics"]["speed_kmh"] > 0]
    assert len(moving) > 100
    for item in moving:
        hour = _ts(item).astimezone(PARIS).hour
        assert 5 <= hour < 19, item
        point = shapely.Point(plane.to_xy(*item["metrics"]["position"]))
        assert network.distance(point) < 0.5, item  # metres
        assert 0 <= item["metrics"]["heading_deg"] < 360
    # At night every vehicle stands still where the registry parks it.
    for item in items:
        if _ts(item).astimezone(PARIS).hour in (1, 2, 3):
            home = vehicles[item["asset"]]
            assert item["metrics"]["speed_kmh"] == 0
            assert item["metrics"]["position"] == pytest.approx([home.lon, home.lat], abs=1e-6)
    # Positions change along a trip: someone actually drives somewhere.
    trip = [i["metrics"]["position"] for i in moving if i["asset"] == moving[0]["asset"]]
    assert len({tuple(p) for p in trip}) > 3


def test_weekends_are_quiet_for_vehicles(small_city: City) -> None:
    start = _paris(2026, 4, 18, 0)  # a Saturday
    items = TelemetryModel(small_city, start=start, seed=9).advance(start + DAY)
    assert not [i for i in items if i["asset"].startswith("VEH-") and i["metrics"]["speed_kmh"]]


def test_producing_is_far_faster_than_a_5000_per_second_run(small_city: City) -> None:
    start = _paris(2026, 12, 21, 16)
    model = TelemetryModel(small_city, start=start, seed=1, config=SimConfig(lamp_interval_s=60))
    started = time.process_time()  # CPU time: other processes on the machine do not count
    count = 0
    while model.now < start + timedelta(hours=6):
        count += len(model.advance(start + timedelta(hours=6), limit=1000))
    per_cpu_second = count / max(time.process_time() - started, 1e-6)
    assert count > 20_000
    assert per_cpu_second > 10_000  # measured 60,000-100,000 on one core


# --------------------------------------------------------------------------- the runner


class _FlakySink:
    """Refuses the first ``failures`` batches, then keeps everything it is given."""

    name = "flaky"

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.kept: list[dict[str, Any]] = []
        self.calls = 0

    def send(self, items: Sequence[dict[str, Any]]) -> SendResult:
        self.calls += 1
        if self.calls <= self.failures:
            raise SinkUnavailable("broker down")
        self.kept.extend(items)
        return SendResult(accepted=len(items))

    def close(self) -> None:
        return None


def test_a_failing_sink_gets_every_item_again_after_backoff(small_city: City) -> None:
    start = datetime.now(UTC) - timedelta(hours=2)
    end = start + timedelta(hours=1)
    sink = _FlakySink(failures=4)
    lines: list[str] = []
    simulator = Simulator(
        TelemetryModel(small_city, start=start, seed=1),
        sink,
        speed=1e7,
        rate=1e7,
        until=end,
        report=lines.append,
        min_backoff_s=0.01,
        max_backoff_s=0.05,
    )
    stats = simulator.run()
    expected = TelemetryModel(small_city, start=start, seed=1).advance(end)
    assert sink.kept == expected
    assert stats.retries == 4
    assert stats.produced == stats.accepted == len(expected)
    assert any("unavailable" in line for line in lines)
    assert any("back" in line for line in lines)


def test_the_rate_cap_holds(small_city: City) -> None:
    start = datetime.now(UTC) - timedelta(hours=3)
    sink = _FlakySink(failures=0)
    simulator = Simulator(
        TelemetryModel(small_city, start=start, seed=1, config=SimConfig(lamp_interval_s=60)),
        sink,
        speed=1e7,
        rate=2_000,
        batch_size=200,
    )
    thread = threading.Thread(target=simulator.run)
    thread.start()
    time.sleep(1.5)
    simulator.stop()
    thread.join(5)
    # A first allowance of one batch, then 2,000 a second.
    assert 2_000 <= len(sink.kept) <= 200 + 2_000 * 1.5 * 1.15


def test_simulated_time_never_runs_past_the_wall_clock(small_city: City) -> None:
    start = datetime.now(UTC) - timedelta(minutes=20)
    sink = _FlakySink(failures=0)
    simulator = Simulator(
        TelemetryModel(small_city, start=start, seed=1), sink, speed=1e6, rate=1e7
    )
    thread = threading.Thread(target=simulator.run)
    thread.start()
    time.sleep(0.6)
    simulator.stop()
    thread.join(5)
    assert sink.kept
    assert max(_ts(i) for i in sink.kept) <= datetime.now(UTC)
    assert simulator.model.now > datetime.now(UTC) - timedelta(seconds=5)


def test_http_sink_posts_json_with_the_key_and_retries_on_server_errors() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            return httpx.Response(503)
        items = orjson.loads(request.content)
        results = [{"index": 0, "status": "rejected", "reason": "unknown_asset"}]
        return httpx.Response(
            200, json={"accepted": len(items) - 1, "rejected": 1, "items": results}
        )

    sink = HttpSink(
        "http://platform.test/",
        "mp_key",
        client=httpx.Client(transport=httpx.MockTransport(answer)),
    )
    item = {"asset": "SL-1", "ts": "2026-12-21T12:00:00.000+00:00", "metrics": {"power_w": 1.0}}
    with pytest.raises(SinkUnavailable):
        sink.send([item, item])
    result = sink.send([item, item])
    assert (result.accepted, result.rejected, dict(result.reasons)) == (1, 1, {"unknown_asset": 1})
    assert seen[-1].url == "http://platform.test/api/v1/telemetry"
    assert seen[-1].headers["x-api-key"] == "mp_key"
    assert seen[-1].headers["content-type"] == "application/json"


def test_topics_and_durations() -> None:
    reading = {"asset": "SL-21231-00001", "ts": "…", "metrics": {"power_w": 1}}
    event = {"asset": "BLD-21231-001", "ts": "…", "event": {"code": "fire", "payload": {}}}
    assert topic_for(reading) == "metropilot/SL-21231-00001/telemetry"
    assert topic_for(event) == "metropilot/BLD-21231-001/events"
    assert parse_duration("90") == timedelta(seconds=90)
    assert parse_duration("15m") == timedelta(minutes=15)
    assert parse_duration("1.5h") == timedelta(minutes=90)
    assert parse_duration("2d") == timedelta(days=2)
    with pytest.raises(ValueError, match="duration"):
        parse_duration("soon")
