"""Run the telemetry model against the platform: a paced loop and three ways to deliver.

:class:`Simulator` asks the pure :class:`~metropilot.simulate.telemetry.TelemetryModel` for the
items due, paced by a time acceleration (``speed``) and capped at ``rate`` items per second, and
hands them to a sink:

- :class:`InProcessSink`: the process's own ingest pipeline (``metropilot demo``);
- :class:`HttpSink`: ``POST /api/v1/telemetry`` with an API key, as a gateway would;
- :class:`MqttSink`: ``metropilot/<asset>/telemetry`` and ``…/events`` at QoS 1, as devices would.

A sink that cannot take a batch (HTTP 5xx or 429, the broker down, the database busy) gets the
same batch again after a growing pause, so nothing produced is lost; the simulated clock waits
meanwhile. The platform refuses readings more than five minutes ahead of its clock, so simulated
time never runs past the wall clock: an accelerated run replays the recent past and, once it
catches up with the present, goes on in real time.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote, urlsplit

import orjson
from sqlalchemy.exc import DBAPIError

from metropilot.assets import queries as assets_queries
from metropilot.db.uow import UnitOfWorkFactory
from metropilot.shared.clock import utcnow
from metropilot.simulate.telemetry import (
    City,
    SimAsset,
    SimConfig,
    SimStreet,
    TelemetryModel,
    city_from_layout,
)
from metropilot.telemetry import queries as telemetry_queries
from metropilot.territory import queries as territory_queries

if TYPE_CHECKING:
    import httpx
    from paho.mqtt.client import Client as MqttClient

    from metropilot.telemetry.services import IngestPipeline

__all__ = [
    "BackgroundSimulator",
    "HttpSink",
    "InProcessSink",
    "MqttSink",
    "RunStats",
    "SendResult",
    "Simulator",
    "Sink",
    "SinkRefused",
    "SinkUnavailable",
    "build_model",
    "city_from_generated",
    "load_city",
    "parse_duration",
    "publish_acknowledged",
    "start_in_background",
    "topic_for",
]

log = logging.getLogger("metropilot.simulator")
Item = dict[str, Any]
RESUMED_COUNTERS = ("energy_wh", "operating_hours")


# --------------------------------------------------------------------------- the city


def load_city(uow_factory: UnitOfWorkFactory, *, counters_until: datetime | None = None) -> City:
    """The city as the registry holds it; decommissioned equipment stays quiet.

    The energy and burning-hour counters last reported (up to ``counters_until``) are carried
    on, as a lamp's own counters would be across a restart of the simulator.
    """
    with uow_factory() as uow:
        conn = uow.connection
        rows = assets_queries.registry_rows(conn)
        street_rows = territory_queries.street_lines(conn)
        centres = territory_queries.commune_centres(conn)
        until_ms = int(counters_until.timestamp() * 1000) if counters_until is not None else None
        counter_rows = telemetry_queries.twin_metric_values(
            conn, RESUMED_COUNTERS, until_ms=until_ms
        )
    ref_of = {int(row[0]): str(row[1]) for row in rows}
    city_assets = tuple(
        SimAsset(
            ref=str(ref),
            kind=str(kind),
            lon=float(lon),
            lat=float(lat),
            commune=str(commune),
            attributes=attributes or {},
            subtype=subtype,
            parent=parent_ref,
        )
        for _, ref, kind, subtype, lon, lat, commune, status, attributes, parent_ref in rows
        if status != "decommissioned"
    )
    city_streets = tuple(
        SimStreet(str(category), tuple((float(p[0]), float(p[1])) for p in line), str(commune))
        for commune, category, line in street_rows
    )
    counters: dict[str, dict[str, float]] = {}
    for asset_id, metric, value in counter_rows:
        ref = ref_of.get(int(asset_id))
        if ref is not None:
            counters.setdefault(ref, {})[str(metric)] = float(value)
    return City(city_assets, city_streets, centres, counters)


def city_from_generated(scale: float, seed: int = 1) -> City:
    """The synthetic metropolis rebuilt in memory: the same references as ``metropilot
    generate`` with that scale and seed gave, for a simulator away from the database."""
    from metropilot.simulate.layout import build_metropolis, load_reference_communes

    return city_from_layout(build_metropolis(load_reference_communes(), scale=scale, seed=seed))


def parse_duration(text: str) -> timedelta:
    """``90``, ``90s``, ``15m``, ``2h``, ``1d``, ``1.5h`` → a duration."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    value = text.strip().lower()
    factor = 1
    if value and value[-1] in units:
        factor = units[value[-1]]
        value = value[:-1]
    try:
        seconds = float(value) * factor
    except ValueError:
        raise ValueError(f"{text!r} is not a duration such as 90s, 15m, 2h or 1d") from None
    if not seconds > 0:
        raise ValueError(f"a duration must be positive, got {text!r}")
    return timedelta(seconds=seconds)


# --------------------------------------------------------------------------- sinks


class SinkUnavailable(Exception):
    """The sink cannot take the batch now; the same batch is offered again later."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def publish_acknowledged(
    client: Any, messages: Sequence[tuple[str, bytes]], timeout_s: float, name: str
) -> None:
    """Publish (topic, payload) messages at QoS 1 and return once the broker acknowledged every
    one; SinkUnavailable when it did not within ``timeout_s`` (the caller sends them again)."""
    infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
    deadline = time.monotonic() + timeout_s
    for info in infos:
        if info.is_published():
            continue
        try:
            info.wait_for_publish(max(deadline - time.monotonic(), 0.001))
        except (RuntimeError, ValueError) as exc:
            raise SinkUnavailable(f"{name}: {exc}") from exc
        if not info.is_published():
            raise SinkUnavailable(
                f"{name}: {len(messages)} messages not all acknowledged within {timeout_s:g} s"
            )


class SinkRefused(Exception):
    """The sink will never take what we send (bad key, wrong URL): the run stops."""


@dataclass(slots=True)
class SendResult:
    accepted: int
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)


class Sink(Protocol):
    name: str

    def send(self, items: Sequence[Item]) -> SendResult: ...

    def close(self) -> None: ...


def _per_item(answer: dict[str, Any], count: int) -> SendResult:
    reasons: Counter[str] = Counter()
    for result in answer.get("items") or ():
        if isinstance(result, dict) and result.get("status") == "rejected":
            reasons[str(result.get("reason", "unknown"))] += 1
    accepted = int(answer.get("accepted", count - sum(reasons.values())))
    rejected = int(answer.get("rejected", sum(reasons.values())))
    return SendResult(accepted, rejected, reasons)


class InProcessSink:
    """The platform's own ingest pipeline, in this process: no broker, no HTTP."""

    name = "in-process"

    def __init__(self, pipeline: IngestPipeline, source: str = "simulator") -> None:
        self._pipeline = pipeline
        self._source = source

    def send(self, items: Sequence[Item]) -> SendResult:
        try:
            result = self._pipeline.ingest(items, source=self._source)
        except (DBAPIError, OSError, TimeoutError) as exc:  # busy or unreachable database
            raise SinkUnavailable(f"{type(exc).__name__}: {str(exc).splitlines()[0]}") from exc
        return _per_item(result.as_json(), len(items))

    def close(self) -> None:
        flush = getattr(self._pipeline, "flush", None)  # the twin's pending changes
        if callable(flush):
            flush()


class HttpSink:
    """``POST /api/v1/telemetry`` with an API key holding ``telemetry:write``."""

    PATH = "/api/v1/telemetry"

    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        client: httpx.Client | None = None,
    ) -> None:
        import httpx  # only the HTTP path needs it

        base = url.rstrip("/")
        self.endpoint = base if base.endswith(self.PATH) else base + self.PATH
        self.name = self.endpoint
        self._http_error = httpx.HTTPError
        self._client = client or httpx.Client(timeout=timeout)
        self._headers = {"X-API-Key": api_key, "Content-Type": "application/json"}

    def send(self, items: Sequence[Item]) -> SendResult:
        try:
            response = self._client.post(
                self.endpoint, content=orjson.dumps(list(items)), headers=self._headers
            )
        except self._http_error as exc:
            raise SinkUnavailable(f"{type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if status == 429 or status >= 500:
            retry_after = response.headers.get("retry-after")
            delay = float(retry_after) if retry_after and retry_after.isdigit() else None
            raise SinkUnavailable(f"HTTP {status} from {self.endpoint}", retry_after=delay)
        if status != 200:
            raise SinkRefused(f"HTTP {status} from {self.endpoint}: {response.text[:300]}")
        answer = response.json()
        if not isinstance(answer, dict):
            raise SinkRefused(f"{self.endpoint} did not answer with a batch result")
        return _per_item(answer, len(items))

    def close(self) -> None:
        self._client.close()


def topic_for(item: Item) -> str:
    """``metropilot/<asset>/telemetry`` for a reading, ``…/events`` for an event."""
    return f"metropilot/{item['asset']}/{'events' if 'event' in item else 'telemetry'}"


class MqttSink:
    """One MQTT message per item at QoS 1; a batch counts as sent once the broker acknowledged
    every message of it. Delivery is at least once: a batch offered again after a broken
    connection may repeat messages, which the platform ignores."""

    def __init__(
        self,
        url: str,
        *,
        client_id: str | None = None,
        ack_timeout: float = 15.0,
        connect_timeout: float = 5.0,
    ) -> None:
        # Imported when used: the simulator's other sinks do without paho.
        from paho.mqtt.enums import MQTTProtocolVersion

        from metropilot.telemetry.mqtt import BrokerAddress, MqttLink

        parts = urlsplit(url if "://" in url else f"mqtt://{url}")
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise SinkRefused(f"{url}: the broker URL must start with mqtt:// or mqtts://")
        secure = parts.scheme in ("mqtts", "ssl")
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (8883 if secure else 1883)
        self.name = f"{'mqtts' if secure else 'mqtt'}://{self.host}:{self.port}"
        self._ack_timeout = ack_timeout
        broker = BrokerAddress(
            self.host,
            self.port,
            tls=secure,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password or ""),
        )
        # Quiet: a broken connection is reported by ``send`` (SinkUnavailable) to the loop.
        self._link = MqttLink(
            broker,
            client_id=client_id or f"metropilot-simulator-{os.getpid()}",
            log=None,
            protocol=MQTTProtocolVersion.MQTTv311,
        )
        self._connected = self._link.connected
        client: MqttClient = self._link.client
        # No in-flight window: with a large finite one, paho scans every unacknowledged message
        # on each PUBACK, and a publisher that falls a little behind slows to a crawl.
        client.max_inflight_messages_set(0)
        client.max_queued_messages_set(0)  # no limit: a batch waits whole for the broker
        self._client = client
        try:
            self._link.start(keepalive_s=30)
        except (OSError, ValueError) as exc:
            raise SinkRefused(f"{self.name}: {exc}") from exc
        self._connected.wait(connect_timeout)

    def send(self, items: Sequence[Item]) -> SendResult:
        if not self._connected.wait(1.0) or not self._client.is_connected():
            raise SinkUnavailable(f"{self.name}: {self._link.last_problem}")
        client = self._client
        publish_acknowledged(
            client,
            [(topic_for(item), orjson.dumps(item)) for item in items],
            self._ack_timeout,
            self.name,
        )
        return SendResult(accepted=len(items))

    def close(self) -> None:
        self._link.close()


# --------------------------------------------------------------------------- the loop


@dataclass(slots=True)
class RunStats:
    produced: int = 0
    accepted: int = 0
    rejected: int = 0
    retries: int = 0
    unsent: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    elapsed_s: float = 0.0
    simulated_s: float = 0.0


@dataclass(slots=True)
class _Window:
    """What happened since the last periodic report."""

    real: float
    sim_ms: int
    produced: int = 0
    accepted: int = 0
    rejected: int = 0
    retries: int = 0


class Simulator:
    """Drives a model into a sink at ``speed`` × real time, at most ``rate`` items a second."""

    def __init__(
        self,
        model: TelemetryModel,
        sink: Sink,
        *,
        speed: float = 1.0,
        rate: float = 5_000.0,
        until: datetime | None = None,
        batch_size: int = 1_000,
        clamp_to_now: bool = True,
        report: Callable[[str], None] | None = None,
        report_every_s: float = 60.0,
        min_backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
    ) -> None:
        if not speed > 0:
            raise ValueError("speed must be positive")
        if not rate > 0:
            raise ValueError("rate must be positive")
        self.model = model
        self.sink = sink
        self.speed = speed
        self.rate = rate
        self.until_ms = None if until is None else int(until.timestamp() * 1000)
        self.batch_size = max(1, batch_size)
        self.clamp_to_now = clamp_to_now
        self.report = report or log.info
        self.report_every_s = report_every_s
        self.min_backoff_s = min_backoff_s
        self.max_backoff_s = max_backoff_s
        self.stats = RunStats()
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def _wall_ms(self) -> int:
        return int(time.time() * 1000)

    def run(self) -> RunStats:
        """Run until ``until`` is reached and delivered, or :meth:`stop` is called."""
        model, stats = self.model, self.stats
        started = time.monotonic()
        sim_start = model.now_ms
        window = _Window(started, sim_start)
        tokens = float(min(self.rate, self.batch_size))
        bucket = max(self.rate, float(self.batch_size))
        last = started
        pending: list[Item] = []
        backoff = self.min_backoff_s
        failing = False
        while not self._stop.is_set():
            now = time.monotonic()
            tokens = min(tokens + (now - last) * self.rate, bucket)
            last = now
            target = sim_start + int((now - started) * self.speed * 1000)
            if self.clamp_to_now:
                target = min(target, self._wall_ms())
            if self.until_ms is not None:
                target = min(target, self.until_ms)
            if not pending and tokens >= 1 and model.now_ms < target:
                pending = model.advance_ms(target, limit=min(int(tokens), self.batch_size))
                stats.produced += len(pending)
                window.produced += len(pending)
            if pending:
                try:
                    result = self.sink.send(pending)
                except SinkUnavailable as exc:
                    stats.retries += 1
                    window.retries += 1
                    if not failing:
                        self.report(
                            f"{self.sink.name} unavailable ({exc}); keeping {len(pending):,} "
                            "items and retrying with backoff"
                        )
                    failing = True
                    self._stop.wait(exc.retry_after or backoff)
                    backoff = min(backoff * 2, self.max_backoff_s)
                    continue
                if failing:
                    self.report(f"{self.sink.name} is back; delivery resumed")
                failing = False
                backoff = self.min_backoff_s
                tokens -= len(pending)
                pending = []
                stats.accepted += result.accepted
                stats.rejected += result.rejected
                stats.reasons.update(result.reasons)
                window.accepted += result.accepted
                window.rejected += result.rejected
            elif self.until_ms is not None and model.now_ms >= self.until_ms:
                break
            else:
                wait = 0.05 if tokens >= 1 else min(0.2, (1 - tokens) / self.rate)
                self._stop.wait(wait)
            if now - window.real >= self.report_every_s:
                self._report(window, now)
                window = _Window(now, model.now_ms)
        if pending:  # stopped before they could be delivered
            stats.unsent += len(pending)
        stats.elapsed_s = time.monotonic() - started
        stats.simulated_s = (model.now_ms - sim_start) / 1000
        return stats

    def _report(self, window: _Window, now: float) -> None:
        real = max(now - window.real, 1e-9)
        pace = (self.model.now_ms - window.sim_ms) / 1000 / real
        local = self.model.local_time().strftime("%Y-%m-%d %H:%M %Z")
        self.report(
            f"[{local}] {window.produced:,} produced, {window.accepted:,} accepted, "
            f"{window.rejected:,} rejected, {window.retries} retries in {real:.0f} s "
            f"({window.produced / real:,.0f}/s, ×{pace:,.1f})"
        )


# --------------------------------------------------------------------------- the demo


class _Platform(Protocol):
    @property
    def uow_factory(self) -> UnitOfWorkFactory: ...

    @property
    def ingest_pipeline(self) -> IngestPipeline: ...


class BackgroundSimulator:
    """The in-process simulator of ``metropilot demo``, on a daemon thread."""

    def __init__(self, target: Callable[[BackgroundSimulator], None]) -> None:
        self.simulator: Simulator | None = None
        self._stopping = threading.Event()
        self.thread = threading.Thread(
            target=target, args=(self,), name="metropilot-simulator", daemon=True
        )

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self.simulator is not None:
            self.simulator.stop()
        self.thread.join(timeout)

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()


def start_in_background(
    platform: _Platform,
    *,
    seed: int = 1,
    speed: float = 60.0,
    rate: float = 2_000.0,
    warm_up: timedelta = timedelta(minutes=15),
    config: SimConfig | None = None,
    report: Callable[[str], None] | None = None,
) -> BackgroundSimulator:
    """Start the simulator on the platform's own pipeline; returns at once.

    It begins ``warm_up`` in the past so that every lamp has reported within seconds, replays
    that at ``speed`` and then follows the wall clock.
    """
    say = report or log.info

    def run(handle: BackgroundSimulator) -> None:
        try:
            start = utcnow() - warm_up
            city = load_city(platform.uow_factory, counters_until=start)
            if not city.assets:
                say("simulator: the registry is empty, nothing to simulate")
                return
            model = build_model(city, start=start, seed=seed, config=config)
            sink = InProcessSink(platform.ingest_pipeline)
            simulator = Simulator(model, sink, speed=speed, rate=rate, report=say)
            handle.simulator = simulator
            if handle.stopping:
                return
            say(f"simulator: {len(city.assets):,} assets reporting (in-process)")
            try:
                simulator.run()
            finally:
                sink.close()
        except Exception:  # a demo keeps serving pages when its simulator dies
            log.exception("the simulator stopped")

    handle = BackgroundSimulator(run)
    handle.thread.start()
    return handle


def _freeze_long_lived() -> None:
    """Move what exists now (the city, the model) out of the cyclic collector's sight: they live
    as long as the process, and walking them at every full collection halves the pace."""
    gc.collect()
    gc.freeze()


def build_model(
    city: City, *, start: datetime, seed: int, config: SimConfig | None = None
) -> TelemetryModel:
    """The model for a run of this process, its long-lived objects set aside from the GC."""
    model = TelemetryModel(city, start=start.astimezone(UTC), seed=seed, config=config)
    _freeze_long_lived()
    return model
