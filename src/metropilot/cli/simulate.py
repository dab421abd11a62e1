"""``metropilot simulate``: the synthetic metropolis's equipment sending telemetry."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer

from metropilot.cli.common import console, fail, load_platform, out
from metropilot.settings import get_settings
from metropilot.shared.clock import utcnow
from metropilot.shared.errors import DomainError
from metropilot.simulate import runner
from metropilot.simulate.telemetry import City, SimConfig

if TYPE_CHECKING:
    from metropilot.bootstrap import Platform
    from metropilot.simulate.mqtt_commands import MqttEquipment

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


# The command's options, one alias each so that the command reads as what it does.
ViaOption = Annotated[
    Via,
    typer.Option(
        help="inprocess: straight into this database; http or mqtt: as devices. With mqtt "
        "the equipment also answers the platform's commands (metropilot/<asset>/commands); "
        "over http it cannot receive any."
    ),
]
UrlOption = Annotated[
    str | None,
    typer.Option(
        help="http: the platform (default http://127.0.0.1:8000); "
        "mqtt: the broker (default METROPILOT_MQTT_URL, else mqtt://127.0.0.1:1883)."
    ),
]
ApiKeyOption = Annotated[
    str | None,
    typer.Option(
        envvar="METROPILOT_API_KEY", help="http: a key with telemetry:write (or that env var)."
    ),
]
RateOption = Annotated[float, typer.Option(min=1, help="At most this many items a second.")]
SpeedOption = Annotated[
    float, typer.Option(min=0.01, help="Time acceleration: 60 = a simulated minute a second.")
]
SeedOption = Annotated[int, typer.Option(help="Same seed and start, same telemetry.")]
DurationOption = Annotated[
    str | None,
    typer.Option(help="Simulated time to run, e.g. 90s, 15m, 2h, 1d; default: until Ctrl-C."),
]
StartOption = Annotated[
    str | None,
    typer.Option(
        help="Simulated start, ISO 8601 (no offset: Paris time). Default: now; with --speed "
        "above 1, --duration ago (one day ago without it), to catch up with the present."
    ),
]
LayoutScaleOption = Annotated[
    float | None,
    typer.Option(
        min=0.001,
        max=20,
        help="Rebuild the synthetic city in memory at this scale instead of reading the "
        "database (http/mqtt from another machine; same scale and --city-seed as generate).",
    ),
]
CitySeedOption = Annotated[int, typer.Option(help="With --layout-scale: generate's seed.")]
IncidentsOption = Annotated[
    float, typer.Option(min=0, help="Multiply every failure and alarm rate (1 = realistic).")
]


def simulate(
    via: ViaOption = Via.INPROCESS,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    rate: RateOption = 5000,
    speed: SpeedOption = 1.0,
    seed: SeedOption = 1,
    duration: DurationOption = None,
    start: StartOption = None,
    layout_scale: LayoutScaleOption = None,
    city_seed: CitySeedOption = 1,
    incidents: IncidentsOption = 1.0,
) -> None:
    """Simulate the equipment of the synthetic metropolis: lights, cabinets, junctions, cameras,
    buildings, sensors and vehicles report as real equipment would."""
    try:
        span = runner.parse_duration(duration) if duration else None
    except ValueError as exc:
        fail(f"--duration: {exc}")
    began = _simulated_start(start, speed, span)
    settings = get_settings()
    platform = None
    if via is Via.INPROCESS or layout_scale is None:
        platform = load_platform()
    city = _load_city(platform, layout_scale, city_seed, began)
    broker = url or settings.mqtt_url or "mqtt://127.0.0.1:1883"
    sink = _open_sink(via, url, api_key, platform, broker)
    equipment = _answering_equipment(sink, broker, seed) if via is Via.MQTT else None
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
    _print_summary(stats, model.local_time().strftime("%Y-%m-%d %H:%M %Z"))


def _simulated_start(start: str | None, speed: float, span: timedelta | None) -> datetime:
    """When the simulation starts; warns when the platform would refuse readings that old."""
    now = utcnow()
    if start is not None:
        began = _parse_start(start)
        if began > now + timedelta(minutes=1):
            fail("--start is in the future: the platform refuses readings from the future")
    elif speed > 1:
        began = now - (span or timedelta(days=1))
    else:
        began = now
    retention = timedelta(days=get_settings().telemetry_raw_retention_days)
    if now - began > retention:
        console.print(
            f"[yellow]warning:[/] the start is older than the raw retention ({retention.days} "
            "days): the platform will refuse those readings as too old"
        )
    return began


def _load_city(
    platform: Platform | None, layout_scale: float | None, city_seed: int, began: datetime
) -> City:
    """The city from the database, or rebuilt in memory when a layout scale is given."""
    if layout_scale is not None:
        console.print(f"building the synthetic city at scale {layout_scale:g} …")
        city = runner.city_from_generated(layout_scale, city_seed)
    else:
        assert platform is not None
        city = runner.load_city(platform.uow_factory, counters_until=began)
    if not city.assets:
        fail("the registry is empty: run 'metropilot generate' first (or pass --layout-scale)")
    return city


def _open_sink(
    via: Via, url: str | None, api_key: str | None, platform: Platform | None, broker: str
) -> runner.Sink:
    try:
        if via is Via.INPROCESS:
            assert platform is not None
            return runner.InProcessSink(platform.ingest_pipeline)
        if via is Via.HTTP:
            if not api_key:
                fail("--via http needs --api-key (a key with telemetry:write)")
            return runner.HttpSink(url or "http://127.0.0.1:8000", api_key)
        return runner.MqttSink(broker)
    except runner.SinkRefused as exc:
        fail(str(exc))


def _answering_equipment(sink: runner.Sink, broker: str, seed: int) -> MqttEquipment:
    """The equipment answering the platform's commands, on the broker the telemetry goes to."""
    from metropilot.simulate.mqtt_commands import MqttEquipment

    try:
        return MqttEquipment(broker if "://" in broker else f"mqtt://{broker}", seed=seed)
    except DomainError as exc:
        sink.close()
        fail(exc.message)


def _print_summary(stats: runner.RunStats, reached: str) -> None:
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
