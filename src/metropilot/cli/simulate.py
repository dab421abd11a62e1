"""``metropilot simulate``: the synthetic metropolis's equipment sending telemetry."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from metropilot.cli.common import console, fail, load_platform, out
from metropilot.settings import get_settings
from metropilot.shared.clock import utcnow
from metropilot.shared.errors import DomainError
from metropilot.simulate import runner
from metropilot.simulate.telemetry import SimConfig

__all__ = ["Via", "simulate"]

LOCAL = ZoneInfo("Europe/Paris")


class Via(StrEnum):
    INPROCESS = "inprocess"
    HTTP = "http"
    MQTT = "mqtt"


def _parse_start(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--start {text!r} is not an ISO 8601 time such as 2026-12-21T16:00+01:00")
    return when if when.tzinfo is not None else when.replace(tzinfo=LOCAL)


def simulate(
    via: Annotated[
        Via,
        typer.Option(
            help="inprocess: straight into this database; http or mqtt: as devices. With mqtt "
            "the equipment also answers the platform's commands (metropilot/<asset>/commands); "
            "over http it cannot receive any."
        ),
    ] = Via.INPROCESS,
    url: Annotated[
        str | None,
        typer.Option(
            help="http: the platform (default http://127.0.0.1:8000); "
            "mqtt: the broker (default METROPILOT_MQTT_URL, else mqtt://127.0.0.1:1883)."
        ),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            envvar="METROPILOT_API_KEY", help="http: a key with telemetry:write (or that env var)."
        ),
    ] = None,
    rate: Annotated[float, typer.Option(min=1, help="At most this many items a second.")] = 5000,
    speed: Annotated[
        float, typer.Option(min=0.01, help="Time acceleration: 60 = a simulated minute a second.")
    ] = 1.0,
    seed: Annotated[int, typer.Option(help="Same seed and start, same telemetry.")] = 1,
    duration: Annotated[
        str | None,
        typer.Option(help="Simulated time to run, e.g. 90s, 15m, 2h, 1d; default: until Ctrl-C."),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            help="Simulated start, ISO 8601 (no offset: Paris time). Default: now; with --speed "
            "above 1, --duration ago (one day ago without it), to catch up with the present."
        ),
    ] = None,
    layout_scale: Annotated[
        float | None,
        typer.Option(
            min=0.001,
            max=20,
            help="Rebuild the synthetic city in memory at this scale instead of reading the "
            "database (http/mqtt from another machine; same scale and --city-seed as generate).",
        ),
    ] = None,
    city_seed: Annotated[int, typer.Option(help="With --layout-scale: generate's seed.")] = 1,
    incidents: Annotated[
        float, typer.Option(min=0, help="Multiply every failure and alarm rate (1 = realistic).")
    ] = 1.0,
) -> None:
    """Simulate the equipment of the synthetic metropolis: lights, cabinets, junctions, cameras,
    buildings, sensors and vehicles report as real equipment would."""
    now = utcnow()
    try:
        span = runner.parse_duration(duration) if duration else None
    except ValueError as exc:
        fail(f"--duration: {exc}")
    if start is not None:
        began = _parse_start(start)
        if began > now + timedelta(minutes=1):
            fail("--start is in the future: the platform refuses readings from the future")
    elif speed > 1:
        began = now - (span or timedelta(days=1))
    else:
        began = now
    settings = get_settings()
    retention = timedelta(days=settings.telemetry_raw_retention_days)
    if now - began > retention:
        console.print(
            f"[yellow]warning:[/] the start is older than the raw retention ({retention.days} "
            "days): the platform will refuse those readings as too old"
        )

    platform = None
    if via is Via.INPROCESS or layout_scale is None:
        platform = load_platform()
    if layout_scale is not None:
        console.print(f"building the synthetic city at scale {layout_scale:g} …")
        city = runner.city_from_generated(layout_scale, city_seed)
    else:
        assert platform is not None
        city = runner.load_city(platform.uow_factory, counters_until=began)
    if not city.assets:
        fail("the registry is empty: run 'metropilot generate' first (or pass --layout-scale)")

    sink: runner.Sink
    try:
        if via is Via.INPROCESS:
            assert platform is not None
            sink = runner.InProcessSink(platform.ingest_pipeline)
        elif via is Via.HTTP:
            if not api_key:
                fail("--via http needs --api-key (a key with telemetry:write)")
            sink = runner.HttpSink(url or "http://127.0.0.1:8000", api_key)
        else:
            broker = url or settings.mqtt_url or "mqtt://127.0.0.1:1883"
            sink = runner.MqttSink(broker)
    except runner.SinkRefused as exc:
        fail(str(exc))

    equipment = None
    if via is Via.MQTT:  # the equipment answers commands on the same broker
        from metropilot.simulate.mqtt_commands import MqttEquipment

        try:
            equipment = MqttEquipment(broker if "://" in broker else f"mqtt://{broker}", seed=seed)
        except DomainError as exc:
            sink.close()
            fail(exc.message)
    model = runner.build_model(
        city, start=began, seed=seed, config=SimConfig(incident_factor=incidents)
    )
    until = began + span if span is not None else None
    simulator = runner.Simulator(
        model,
        sink,
        speed=speed,
        rate=rate,
        until=until,
        report=lambda line: console.print(line, highlight=False),
    )
    shown = model.local_time().strftime("%Y-%m-%d %H:%M %Z")
    console.print(
        f"simulating {len(city.assets):,} assets from {shown} at ×{speed:g}, at most "
        f"{rate:,.0f} items/s, through {sink.name}"
        + (", answering commands" if equipment is not None else "")
        + (f", for {span} of simulated time" if span else "; Ctrl-C stops"),
        highlight=False,
    )
    try:
        stats = simulator.run()
    except KeyboardInterrupt:
        simulator.stop()
        stats = simulator.stats
        console.print("interrupted")
    except runner.SinkRefused as exc:
        fail(str(exc))
    finally:
        if equipment is not None:
            equipment.close()
        sink.close()
    reached = model.local_time().strftime("%Y-%m-%d %H:%M %Z")
    out.print(
        f"{stats.produced:,} items produced, {stats.accepted:,} accepted, "
        f"{stats.rejected:,} rejected, {stats.retries} retries; simulated up to {reached}",
        highlight=False,
    )
    if stats.reasons:
        out.print(
            "rejected: " + ", ".join(f"{r} {n:,}" for r, n in stats.reasons.most_common()),
            highlight=False,
        )
    if stats.unsent:
        out.print(f"{stats.unsent:,} items produced but not delivered before the stop")
