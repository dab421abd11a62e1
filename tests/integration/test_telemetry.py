"""The ingest pipeline, the twin and the time series, on SQLite and PostgreSQL."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select

from metropilot.accounts.model import parse_scope
from metropilot.accounts.policy import Principal
from metropilot.assets import services as asset_services
from metropilot.assets.model import AssetStatus
from metropilot.assets.repository import assets
from metropilot.bootstrap import Platform
from metropilot.shared.actors import ActorKind
from metropilot.simulate.services import generate_metropolis
from metropilot.telemetry import repository, services
from metropilot.telemetry.model import METRICS, DecodedReading, json_items
from metropilot.telemetry.services import IngestPipeline
from tests.conftest import TEST_ACTOR

NOW = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)


@pytest.fixture
def city(platform: Platform) -> Platform:
    with platform.uow_factory(write=True) as uow:
        generate_metropolis(uow, TEST_ACTOR, scale=0.01, seed=3)
        uow.commit()
    return platform


def pipeline(platform: Platform, **kwargs: Any) -> IngestPipeline:
    return IngestPipeline(
        platform.uow_factory,
        raw_retention=timedelta(days=30),
        max_batch=kwargs.pop("max_batch", 100),
        **kwargs,
    )


def reading(asset: str, minutes: float, **metrics: Any) -> dict[str, Any]:
    return {
        "asset": asset,
        "ts": (NOW + timedelta(minutes=minutes)).isoformat(),
        "metrics": metrics,
    }


def raw_count(platform: Platform) -> int:
    with platform.engine.connect() as conn:
        return int(
            conn.execute(select(func.count()).select_from(repository.telemetry_raw)).scalar_one()
        )


def test_valid_items_are_kept_and_each_bad_one_says_why(city: Platform) -> None:
    items: list[Any] = [
        reading("SL-21231-00001", -1, power_w=35.5, light_level_pct=100),
        {
            "device": "SL-21231-00002",
            "time": NOW.isoformat(),
            "data": {"activeEnergy": 1.5, "lampFailure": False},
        },
        reading("NOPE", 0, power_w=1),
        reading("SL-21231-00001", 10, power_w=1),
        {"asset": "SL-21231-00001", "ts": "2026-11-27T20:00:00", "metrics": {"power_w": 1}},
        reading("SL-21231-00001", 0, power_w="bright"),
        reading("SL-21231-00001", 0, power_w=-5),
        reading("SL-21231-00001", 0, colour="blue"),
        {
            "asset": "SL-21231-00001",
            "ts": (NOW - timedelta(days=40)).isoformat(),
            "metrics": {"power_w": 1},
        },
        "not an object",
        {
            "asset": "SL-21231-00003",
            "ts": NOW.isoformat(),
            "event": {"code": "door_open", "payload": {"by": "x"}},
        },
    ]
    result = pipeline(city).ingest(items, source="test", now=NOW)
    reasons = [r.get("reason") for r in result.results]
    assert reasons == [
        None,
        None,
        "unknown_asset",
        "future_timestamp",
        "bad_timestamp",
        "bad_value",
        "out_of_range",
        "unknown_metric",
        "too_old",
        "not_an_object",
        None,
    ]
    assert (result.accepted, result.rejected) == (3, 8)
    assert raw_count(city) == 4  # power and level, then energy (kWh → Wh) and failure flag
    with city.uow_factory() as uow:
        stats = services.ingest_stats(uow, now=NOW)
    assert stats["accepted"] == 3
    assert stats["rejected_by_reason"]["unknown_asset"] == 1
    assert stats["by_day"]["2026-11-27"]["test"]["future_timestamp"] == 1


def test_a_redelivered_batch_is_stored_once(city: Platform) -> None:
    items = [reading("SL-21231-00001", -m, power_w=30 + m) for m in range(10)]
    ingest = pipeline(city)
    ingest.ingest(items, source="test", now=NOW)
    ingest.ingest(items, source="test", now=NOW)
    assert raw_count(city) == 10


def test_a_failure_turns_the_asset_to_fault_and_back(city: Platform) -> None:
    ingest = pipeline(city, twin_flush_interval=0)
    ingest.ingest(
        [reading("SL-21231-00001", -2, lamp_failure=True, power_w=0)], source="test", now=NOW
    )
    with city.uow_factory() as uow:
        light_id = int(ingest.directory.resolve("SL-21231-00001").id)  # type: ignore[union-attr]
        asset, history = asset_services.asset_detail(uow, light_id)
        twin = services.twin(uow, light_id)
    assert asset.status is AssetStatus.FAULT
    assert history[0].actor == "system:telemetry"
    assert history[0].changes["status"] == ["ok", "fault"]
    assert twin["status"] == "fault"
    assert twin["values"]["lamp_failure"]["value"] == 1.0
    # An older reading does not overwrite a newer one in the twin.
    ingest.ingest([reading("SL-21231-00001", -5, lamp_failure=False)], source="test", now=NOW)
    assert ingest.latest_values(light_id)["lamp_failure"][1] == 1.0
    ingest.ingest(
        [reading("SL-21231-00001", -1, lamp_failure=False, power_w=36)], source="test", now=NOW
    )
    with city.uow_factory() as uow:
        assert asset_services.get_asset(uow, light_id).status is AssetStatus.OK


def test_maintenance_status_is_not_overruled_by_telemetry(city: Platform) -> None:
    ingest = pipeline(city)
    info = ingest.directory
    ingest.warm_up()
    light = info.resolve("SL-21231-00001")
    assert light is not None
    with city.uow_factory(write=True) as uow:
        asset_services.set_status(
            uow, light.id, AssetStatus.MAINTENANCE, TEST_ACTOR, reason="relamping"
        )
        uow.commit()
    ingest.warm_up()
    ingest.ingest([reading("SL-21231-00001", -1, lamp_failure=True)], source="test", now=NOW)
    with city.uow_factory() as uow:
        assert asset_services.get_asset(uow, light.id).status is AssetStatus.MAINTENANCE


def test_the_twin_survives_a_crash_before_it_was_flushed(city: Platform) -> None:
    first = pipeline(city, twin_flush_interval=3600)
    first.warm_up()
    first._last_flush = float("inf")  # never flushes in this test: as if it crashed
    now = datetime.now(UTC)
    item = {
        "asset": "SL-21231-00001",
        "ts": (now - timedelta(minutes=1)).isoformat(),
        "metrics": {"power_w": 42},
    }
    assert first.ingest([item], source="test", now=now).accepted == 1
    light = first.directory.resolve("SL-21231-00001")
    assert light is not None
    with city.uow_factory() as uow:
        assert services.twin(uow, light.id)["values"] == {}  # not flushed yet
    second = pipeline(city)  # a new process after a crash
    second.warm_up()
    assert second.latest_values(light.id)["power_w"][1] == 42.0


def test_a_flush_writes_the_metrics_reported_since_the_last(
    city: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest = pipeline(city, twin_flush_interval=3600)
    ingest.warm_up()
    now = datetime.now(UTC)

    def at(minutes: float, **metrics: Any) -> dict[str, Any]:
        ts = (now + timedelta(minutes=minutes)).isoformat()
        return {"asset": "SL-21231-00001", "ts": ts, "metrics": metrics}

    written: list[tuple[str, float]] = []
    write_batch = repository.write_batch

    def spy(conn: Any, **rows: Any) -> None:
        written.extend((metric, value) for _, metric, _, value in rows["twin_values_rows"])
        write_batch(conn, **rows)

    monkeypatch.setattr(repository, "write_batch", spy)
    ingest.ingest([at(-10, power_w=40, light_level_pct=80, operating_hours=100)], source="t")
    ingest.flush()
    assert sorted(written) == [
        ("light_level_pct", 80.0),
        ("operating_hours", 100.0),
        ("power_w", 40.0),
    ]
    written.clear()
    ingest.ingest([at(-5, power_w=35)], source="t")
    ingest.flush()
    assert written == [("power_w", 35.0)]  # not the two metrics that did not change
    written.clear()
    # A late reading: its value is older than the last flush, so everything is written again.
    ingest.ingest([at(-7, operating_hours=101)], source="t")
    ingest.flush()
    assert sorted(written) == [
        ("light_level_pct", 80.0),
        ("operating_hours", 101.0),
        ("power_w", 35.0),
    ]
    light = ingest.directory.resolve("SL-21231-00001")
    assert light is not None
    with city.uow_factory() as uow:
        stored = {
            metric: value
            for asset_id, metric, _, value in repository.twin_value_rows(uow.connection)
            if asset_id == light.id
        }
    assert stored == {
        metric: value for metric, (_, value) in ingest.latest_values(light.id).items()
    }


def test_a_key_only_sends_for_what_its_scope_names(city: Platform) -> None:
    key = Principal(
        ActorKind.API_KEY,
        "gateway",
        key_scopes=(parse_scope("telemetry:write kind=streetlight commune=21231"),),
    )
    result = pipeline(city).ingest(
        [
            reading("SL-21231-00001", -1, power_w=1),
            reading("CAB-21231-0001", -1, supply_loss=False),
            reading("CAB-21231-9999", -1, supply_loss=False),
        ],
        source="test",
        principal=key,
        now=NOW,
    )
    assert [r["status"] for r in result.results] == ["accepted", "rejected", "rejected"]
    # A cabinet the key may not write for is answered as one that does not exist: the key
    # cannot probe which equipment is registered.
    outside, unknown = result.results[1], result.results[2]
    assert outside["reason"] == unknown["reason"] == "unknown_asset"
    assert outside["message"].replace("CAB-21231-0001", "CAB-21231-9999") == unknown["message"]


def test_a_batch_over_the_limit_keeps_its_first_items(city: Platform) -> None:
    items = [reading("SL-21231-00001", -m, power_w=1) for m in range(5)]
    result = pipeline(city, max_batch=3).ingest(items, source="test", now=NOW)
    assert [r.get("reason") for r in result.results] == [
        None,
        None,
        None,
        "over_batch_limit",
        "over_batch_limit",
    ]


def test_series_raw_hourly_daily_and_retention(city: Platform) -> None:
    ingest = pipeline(city)
    start = NOW - timedelta(hours=3)
    items = [
        {
            "asset": "SL-21231-00001",
            "ts": (start + timedelta(minutes=15 * n)).isoformat(),
            "metrics": {"power_w": float(n)},
        }
        for n in range(12)
    ]
    ingest.ingest(items, source="test", now=NOW)
    light = ingest.directory.resolve("SL-21231-00001")
    assert light is not None
    with city.uow_factory(write=True) as uow:
        report = services.maintain(
            uow, now=NOW, raw_retention=timedelta(days=30), rollup_retention=timedelta(days=730)
        )
        uow.commit()
    assert report.rollup_rows == 3
    with city.uow_factory() as uow:
        raw, cursor = services.series(uow, light.id, "power_w", start, NOW, "raw", None, 5)
        assert [p["value"] for p in raw] == [0.0, 1.0, 2.0, 3.0, 4.0]
        more, _ = services.series(uow, light.id, "power_w", start, NOW, "raw", cursor, 100)
        assert [p["value"] for p in more] == [float(n) for n in range(5, 12)]
        hours, _ = services.series(uow, light.id, "power_w", start, NOW, "hour", None, 10)
        assert [(h["min"], h["max"], h["avg"], h["count"]) for h in hours] == [
            (0.0, 3.0, 1.5, 4),
            (4.0, 7.0, 5.5, 4),
            (8.0, 11.0, 9.5, 4),
        ]
        days, _ = services.series(
            uow, light.id, "power_w", start - timedelta(days=1), NOW, "day", None, 10
        )
        assert [(d["min"], d["max"], d["count"]) for d in days] == [(0.0, 11.0, 12)]
    with city.uow_factory(write=True) as uow:
        purged = services.maintain(
            uow,
            now=NOW + timedelta(days=31),
            raw_retention=timedelta(days=30),
            rollup_retention=timedelta(days=730),
        )
        uow.commit()
    # SQLite deletes the rows; PostgreSQL drops the day's partition at once.
    assert purged.raw_deleted == 12 or purged.partitions_dropped >= 1
    assert raw_count(city) == 0


def register_lights_after_the_warm_up(city: Platform, ingest: IngestPipeline, *refs: str) -> None:
    """New street lights beside a known one, registered once the pipeline has loaded."""
    from tests.factories import light

    with city.uow_factory() as uow:
        known = asset_services.get_asset(uow, ingest.directory.resolve("SL-21231-00001").id)  # type: ignore[union-attr]
    with city.uow_factory(write=True) as uow:
        lights = [light(ref, known.lon, known.lat, maintainer=None) for ref in refs]
        asset_services.import_assets(uow, lights, TEST_ACTOR)
        uow.commit()


def test_an_asset_registered_after_the_warm_up_is_found_on_first_sight(city: Platform) -> None:
    ingest = pipeline(city)
    ingest.warm_up()
    register_lights_after_the_warm_up(city, ingest, "SL-NEW-1")
    result = ingest.ingest(
        [reading("SL-NEW-1", -1, power_w=12), reading("SL-NOWHERE", -1, power_w=1)],
        source="test",
        now=NOW,
    )
    assert [r["status"] for r in result.results] == ["accepted", "rejected"]
    assert result.results[1]["reason"] == "unknown_asset"
    new_id = result.results[0]["asset"]
    assert ingest.latest_values(new_id)["power_w"][1] == 12.0
    # A reference found nowhere is not looked up again for a while.
    looked_up = ingest._unknown["SL-NOWHERE"]
    ingest.ingest([reading("SL-NOWHERE", -1, power_w=1)], source="test", now=NOW)
    assert ingest._unknown["SL-NOWHERE"] == looked_up


def test_an_asset_whose_first_words_were_an_event_keeps_its_own_row(city: Platform) -> None:
    """Registered after the warm-up, it has no row in its kind's columns until it reports a
    value; another light given a row in the same batch keeps its values."""
    ingest = pipeline(city)
    ingest.warm_up()
    register_lights_after_the_warm_up(city, ingest, "SL-NEW-A", "SL-NEW-B")
    event = {"asset": "SL-NEW-A", "ts": (NOW - timedelta(minutes=3)).isoformat()}
    event["event"] = {"code": "door_open"}
    assert ingest.ingest([event], source="test", now=NOW).accepted == 1
    # B's first words give it a row after the commit, A is given one as its reading is read.
    batch = [reading("SL-NEW-B", -2, power_w=22), reading("SL-NEW-A", -1, power_w=11)]
    assert ingest.ingest(batch, source="test", now=NOW).accepted == 2
    a, b = ingest.directory.resolve("SL-NEW-A"), ingest.directory.resolve("SL-NEW-B")
    assert a is not None
    assert b is not None
    assert ingest.latest_values(a.id)["power_w"][1] == 11.0
    assert ingest.latest_values(b.id)["power_w"][1] == 22.0


def test_how_readings_are_split_into_batches_never_changes_the_twin(city: Platform) -> None:
    """The straight road (an asset once in a batch, newer than its twin) and the general one
    (seen twice, late, with events) end in the same twin: the newest value of each metric."""
    import random

    refs = ["SL-21231-00001", "SL-21231-00002", "SL-21231-00003"]
    rng = random.Random(7)
    items = []
    for _ in range(60):
        metrics = {rng.choice(["power_w", "light_level_pct"]): float(rng.randint(0, 99))}
        if rng.random() < 0.2:
            metrics["lamp_failure"] = rng.random() < 0.5
        items.append(reading(rng.choice(refs), -rng.randint(1, 50), **metrics))
    expected: dict[str, dict[str, tuple[str, float]]] = {}
    for item in items:  # the newest value of each metric; the first of equal times is kept
        held = expected.setdefault(item["asset"], {})
        for metric, value in item["metrics"].items():
            if metric not in held or item["ts"] > held[metric][0]:
                held[metric] = (item["ts"], float(value))
    for sizes in ([60], [1] * 60, [7, 13, 1, 39]):
        ingest = pipeline(city)
        ingest.warm_up()
        ingest.twin = type(ingest.twin)()  # an empty twin: each split starts afresh
        start = 0
        for size in sizes:
            result = ingest.ingest(items[start : start + size], source="test", now=NOW)
            assert result.rejected == 0
            start += size
        for ref in refs:
            info = ingest.directory.resolve(ref)
            assert info is not None
            got = {m: v for m, (_, v) in ingest.latest_values(info.id).items()}
            assert got == {m: v for m, (_, v) in expected[ref].items()}, (sizes, ref)
            failing = got.get("lamp_failure") == 1.0
            assert ingest.twin.status[info.id] == ("fault" if failing else "ok"), (sizes, ref)


def test_no_rollup_overflows_at_the_top_of_every_range(city: Platform) -> None:
    # Two energy_wh readings of 1.7e308 in one hour once made the hour's average null (their
    # sum overflowed). Now every number has a range: at its top, an hour of readings as
    # frequent as one a millisecond, and a day of such hours, still sum to a finite number.
    with city.engine.connect() as conn:
        light_id = conn.execute(
            select(assets.c.id).where(assets.c.external_ref == "SL-21231-00001")
        ).scalar_one()
    hour_ms = int(NOW.timestamp() * 1000) // repository.HOUR_MS * repository.HOUR_MS
    tops = {name: spec.maximum for name, spec in METRICS.items() if spec.kind == "number"}
    with city.uow_factory(write=True) as uow:
        uow.connection.execute(
            repository.telemetry_raw.insert(),
            [
                {"asset_id": light_id, "metric": name, "ts_ms": hour_ms + n, "value": top}
                for name, top in tops.items()
                for n in range(2)
            ],
        )
        made = repository.roll_up(uow.connection, hour_ms, hour_ms + repository.HOUR_MS)
        assert made == len(tops)
        # The 23 hours before, each as full as it can be: 3.6 million readings at the top.
        full = 3_600_000
        uow.connection.execute(
            repository.telemetry_hourly.insert(),
            [
                {
                    "asset_id": light_id,
                    "metric": name,
                    "hour_ms": hour_ms - h * repository.HOUR_MS,
                    "min": top,
                    "max": top,
                    "sum": top * full,
                    "count": full,
                }
                for name, top in tops.items()
                for h in range(1, 24)
            ],
        )
        uow.commit()
    start, end = NOW - timedelta(days=2), NOW + timedelta(hours=1)
    with city.uow_factory() as uow:
        for name, top in tops.items():
            [hour] = services.series(
                uow, light_id, name, NOW - timedelta(minutes=30), end, "hour", None, 10
            )[0]
            assert (hour["min"], hour["max"], hour["avg"], hour["count"]) == (top, top, top, 2)
            days, _ = services.series(uow, light_id, name, start, end, "day", None, 10)
            assert sum(d["count"] for d in days) == 2 + 23 * full
            for day in days:
                assert math.isfinite(day["avg"]), (name, day)
                assert day["avg"] == pytest.approx(top), (name, day)


# --- time: what is accepted, and where PostgreSQL stores it --------------------------------------


def rows_in_default_partition(platform: Platform) -> int | None:
    """How many raw readings wait in PostgreSQL's default partition (None on SQLite)."""
    if platform.engine.dialect.name != "postgresql":
        return None
    with platform.engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM telemetry_raw_default").scalar_one())


def raw_rows(platform: Platform) -> list[tuple[int, str, int, float]]:
    r = repository.telemetry_raw.c
    with platform.engine.connect() as conn:
        query = select(r.asset_id, r.metric, r.ts_ms, r.value).order_by(r.ts_ms, r.metric)
        return [(int(a), str(m), int(t), float(v)) for a, m, t, v in conn.execute(query)]


def ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def test_a_day_whose_readings_wait_in_the_default_partition_still_gets_its_partition(
    platform: Platform,
) -> None:
    """Creating a day's partition moves the readings the default partition holds for that day
    into it, in the same transaction, none lost and none twice; the others stay where they are.

    The days are in 1999–2000, where nothing else in the suite makes partitions, whatever the
    clock says: their readings land in the default partition as they did in production."""
    new_year = datetime(1999, 12, 31, tzinfo=UTC)  # a year's last day, and a month's
    written = [
        (1, "power_w", ms(new_year) + 1, 1.0),
        (1, "power_w", ms(new_year + timedelta(hours=23, minutes=59)), 2.0),
        (2, "power_w", ms(new_year + timedelta(hours=12)), 3.0),
        (1, "power_w", ms(new_year + timedelta(days=1, hours=1)), 4.0),  # 1 January 2000
        (1, "power_w", ms(new_year + timedelta(days=40)), 5.0),  # a day left without one
    ]
    with platform.engine.begin() as conn:
        repository.write_batch(
            conn, raw=written, events=(), twin_values_rows=(), twins=(), counters=()
        )
    postgres = platform.engine.dialect.name == "postgresql"
    assert rows_in_default_partition(platform) == (5 if postgres else None)

    last_day_of_1999 = ms(new_year) // repository.DAY_MS
    with platform.engine.begin() as conn:
        made = repository.ensure_partitions(conn, [last_day_of_1999, last_day_of_1999 + 1])
    assert made == (2 if postgres else 0)
    assert raw_rows(platform) == sorted(written, key=lambda row: (row[2], row[1]))
    assert rows_in_default_partition(platform) == (1 if postgres else None)
    if postgres:
        with platform.engine.connect() as conn:
            counted = conn.exec_driver_sql(
                f"SELECT count(*) FROM telemetry_raw_d{last_day_of_1999}"
            ).scalar_one()
        assert counted == 3
    # Asked again, nothing is made and nothing moves.
    with platform.engine.begin() as conn:
        again = repository.ensure_partitions(conn, [last_day_of_1999, last_day_of_1999 + 1])
    assert again == 0
    assert len(raw_rows(platform)) == 5


def test_a_gateway_back_after_a_week_is_stored_and_its_days_get_their_partitions(
    city: Platform,
) -> None:
    """A gateway that was cut off for a week sends its buffered readings: they are stored (on
    PostgreSQL in the default partition, their days having none) and counted in the hourly
    rollups; the next maintenance gives their days a partition and moves them in, and the
    retention removes them in time.

    Its week is in 2001, where nothing else in the suite makes partitions, whatever the clock
    says."""
    cut_off = datetime(2001, 9, 9, 1, 0, tzinfo=UTC)
    back = cut_off + timedelta(days=7)
    ingest = pipeline(city)
    buffered = [
        {
            "asset": "SL-21231-00001",
            "ts": (cut_off + timedelta(hours=6 * n)).isoformat(),
            "metrics": {"power_w": float(n)},
        }
        for n in range(28)  # every six hours, for the week
    ]
    result = ingest.ingest(buffered, source="test", now=back)
    assert (result.accepted, result.rejected) == (28, 0)
    # The warm-up prepared the days around the time the gateway came back: the last day of its
    # week has a partition; the six before wait in the default one.
    postgres = city.engine.dialect.name == "postgresql"
    assert rows_in_default_partition(city) == (24 if postgres else None)
    light = ingest.directory.resolve("SL-21231-00001")
    assert light is not None

    def hourly() -> list[tuple[float, int]]:
        with city.uow_factory() as uow:
            hours, _ = services.series(uow, light.id, "power_w", cut_off, back, "hour", None, 100)
        return [(h["avg"], h["count"]) for h in hours]

    # The maintenance recomputes the last 48 hours' rollups: the hours before, the batch rolled
    # up itself (the first 21 readings); sent again, they are counted once.
    assert hourly() == [(float(n), 1) for n in range(21)]
    assert ingest.ingest(buffered, source="test", now=back).accepted == 28
    assert hourly() == [(float(n), 1) for n in range(21)]

    with city.uow_factory(write=True) as uow:
        report = services.maintain(
            uow, now=back, raw_retention=timedelta(days=30), rollup_retention=timedelta(days=730)
        )
        uow.commit()
    assert report.partitions_made == (6 if postgres else 0)
    assert rows_in_default_partition(city) == (0 if postgres else None)
    with city.uow_factory() as uow:
        stored, _ = services.series(uow, light.id, "power_w", cut_off, back, "raw", None, 100)
    assert [p["value"] for p in stored] == [float(n) for n in range(28)]
    assert hourly() == [(float(n), 1) for n in range(28)]

    with city.uow_factory(write=True) as uow:
        later = services.maintain(
            uow,
            now=back + timedelta(days=31),
            raw_retention=timedelta(days=30),
            rollup_retention=timedelta(days=730),
        )
        uow.commit()
    assert later.raw_deleted == 28 or later.partitions_dropped >= 8
    assert raw_count(city) == 0


def test_the_accepted_window_is_the_same_on_both_roads(city: Platform) -> None:
    """From the raw retention's start to five minutes ahead of the platform's clock, both
    bounds included; outside, each item is refused with its reason and the rest kept. A body the
    fast road decodes whole and the same items judged one by one get the same verdicts."""
    oldest = NOW - timedelta(days=30)
    ms_ = timedelta(milliseconds=1)
    times = [
        oldest - ms_,
        oldest,
        NOW - timedelta(days=7),
        NOW + timedelta(minutes=5),
        NOW + timedelta(minutes=5) + ms_,
        NOW + timedelta(days=365),
    ]
    batch = [
        {"asset": "SL-21231-00001", "ts": at.isoformat(timespec="milliseconds"), "metrics": {}}
        for at in times
    ]
    for n, item in enumerate(batch):
        item["metrics"] = {"power_w": float(n)}
    fast = json_items(orjson.dumps(batch))
    assert all(type(item) is DecodedReading for item in fast)  # the fast road took it
    verdicts = []
    for items in (fast, batch):
        result = pipeline(city).ingest(items, source="test", now=NOW)
        verdicts.append([(r["status"], r.get("reason")) for r in result.results])
        messages = [r.get("message", "") for r in result.results]
        assert "oldest time still kept is 2026-10-28T20:00:00+00:00" in messages[0]
        assert (
            "more than 5 minutes ahead of the platform's clock (2026-11-27T20:00:00"
            in (messages[4])
        )
    assert (
        verdicts[0]
        == verdicts[1]
        == [
            ("rejected", "too_old"),
            ("accepted", None),
            ("accepted", None),
            ("accepted", None),
            ("rejected", "future_timestamp"),
            ("rejected", "future_timestamp"),
        ]
    )
    assert raw_count(city) == 3  # the second run stored nothing twice
