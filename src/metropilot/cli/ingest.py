"""``metropilot ingest``: the MQTT consumer, as its own process (see docs/telemetry-mqtt.md)."""

from __future__ import annotations

import logging
import signal
import socket
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from metropilot.bootstrap import Platform
from metropilot.cli.common import fail, load_platform
from metropilot.contracts import services as contracts_services
from metropilot.settings import get_settings
from metropilot.shared.errors import DomainError
from metropilot.telemetry.mqtt import (
    BrokerAddress,
    MqttIngest,
    MqttOptions,
    MqttStats,
    parse_mqtt_url,
)

__all__ = ["ingest"]

log = logging.getLogger("metropilot.ingest")


def _default_client_id(group: str | None) -> str:
    host = socket.gethostname().split(".")[0] or "localhost"
    return f"metropilot-ingest-{group}-{host}" if group else f"metropilot-ingest-{host}"


def _path(value: Path | None) -> str | None:
    return str(value) if value is not None else None


def _report(
    stats: MqttStats, seconds: float, accepted: int, rejected: int, connected: bool
) -> None:
    reasons = ", ".join(f"{r} {n:,}" for r, n in stats.rejected_by_reason.most_common(5))
    log.info(
        "%.0f readings/s accepted, %.1f/s rejected over the last %.0f s; "
        "totals %s accepted, %s rejected%s; %s",
        (stats.accepted - accepted) / seconds,
        (stats.rejected - rejected) / seconds,
        seconds,
        f"{stats.accepted:,}",
        f"{stats.rejected:,}",
        f" ({reasons})" if reasons else "",
        "subscribed" if connected else "NOT CONNECTED",
    )


def _retire(adapter: MqttIngest, stop: threading.Event) -> None:
    outcome: list[bool] = []
    runner = threading.Thread(target=lambda: outcome.append(adapter.retire()), daemon=True)
    runner.start()
    while runner.is_alive():
        if stop.wait(0.2):
            adapter.stop()
            break
    runner.join(60)
    if not outcome or not outcome[0]:
        fail(f"{adapter.options.client_id}: the backlog was not drained; the session is kept")
    log.info(
        "%s retired: %s backlog items stored, %s refused; its session is ended",
        adapter.options.client_id,
        f"{adapter.stats.accepted:,}",
        f"{adapter.stats.rejected:,}",
    )


BEAT_EVERY_S = 30.0


def _beat(platform: Platform) -> None:
    try:
        with platform.uow_factory(write=True) as uow:
            contracts_services.beat(uow, "ingest")
            uow.commit()
    except Exception:  # a missed beat is downtime on the record, never a stopped consumer
        log.exception("could not record the ingest heartbeat")


# The command's options, named once so that its signature reads as a list.
GroupOption = Annotated[
    str | None,
    typer.Option(
        envvar="METROPILOT_MQTT_GROUP",
        help="Share the topics with the other workers of this group "
        "(MQTT v5 shared subscription $share/GROUP/…).",
    ),
]
BatchOption = Annotated[
    int, typer.Option(min=1, max=100_000, help="Items written per transaction, at most.")
]
LingerOption = Annotated[
    int,
    typer.Option(
        "--linger-ms",
        min=0,
        max=10_000,
        help="Longest wait to fill a batch, in milliseconds (every reading may wait this "
        "long before its alarm is raised).",
    ),
]
ClientIdOption = Annotated[
    str | None,
    typer.Option(
        "--client-id",
        envvar="METROPILOT_MQTT_CLIENT_ID",
        help="Stable MQTT client id: the broker keeps this worker's session under it "
        "[default: metropilot-ingest-[GROUP-]HOSTNAME].",
    ),
]
TopicPrefixOption = Annotated[
    str,
    typer.Option(
        "--topic-prefix",
        envvar="METROPILOT_MQTT_TOPIC_PREFIX",
        help="First level of the topics: PREFIX/<asset>/telemetry and PREFIX/<asset>/events.",
    ),
]
SessionExpiryOption = Annotated[
    float,
    typer.Option(
        "--session-expiry-hours",
        min=0,
        max=24 * 365,
        envvar="METROPILOT_MQTT_SESSION_EXPIRY_HOURS",
        help="How long the broker keeps this worker's messages while it is away.",
    ),
]
CaFileOption = Annotated[
    Path | None,
    typer.Option(
        "--ca-file",
        envvar="METROPILOT_MQTT_CA_FILE",
        help="mqtts://: CA bundle to verify the broker (default: the system's).",
    ),
]
CertFileOption = Annotated[
    Path | None,
    typer.Option(
        "--cert-file",
        envvar="METROPILOT_MQTT_CERT_FILE",
        help="mqtts://: client certificate (PEM).",
    ),
]
KeyFileOption = Annotated[
    Path | None,
    typer.Option(
        "--key-file",
        envvar="METROPILOT_MQTT_KEY_FILE",
        help="mqtts://: the client certificate's private key (PEM).",
    ),
]
RetireOption = Annotated[
    bool,
    typer.Option(
        "--retire",
        help="Remove this worker for good: store what the broker kept for it, end its "
        "session and exit.",
    ),
]
StatsEveryOption = Annotated[
    float,
    typer.Option("--stats-every", min=1, help="Seconds between two throughput lines."),
]


def _broker_and_options(
    client_id: str,
    group: str | None,
    batch: int,
    linger_ms: int,
    topic_prefix: str,
    session_expiry_hours: float,
    tls_files: tuple[Path | None, Path | None, Path | None],
) -> tuple[BrokerAddress, MqttOptions]:
    """The broker to consume from and how; the command fails with the reason when invalid."""
    settings = get_settings()
    if not settings.mqtt_url.strip():
        fail(
            "no MQTT broker configured: set METROPILOT_MQTT_URL, e.g. "
            "METROPILOT_MQTT_URL=mqtt://127.0.0.1:1883 metropilot ingest"
        )
    ca_file, cert_file, key_file = tls_files
    try:
        broker = parse_mqtt_url(settings.mqtt_url)
        options = MqttOptions(
            client_id=client_id,
            topic_prefix=topic_prefix,
            group=group,
            batch_items=batch,
            linger_ms=linger_ms,
            session_expiry_s=int(session_expiry_hours * 3600),
            ca_file=_path(ca_file),
            cert_file=_path(cert_file),
            key_file=_path(key_file),
        )
    except DomainError as exc:
        fail(exc.message)
    if (ca_file or cert_file or key_file) and not broker.tls:
        fail("--ca-file, --cert-file and --key-file need an mqtts:// broker URL")
    return broker, options


def _consume(
    platform: Platform, adapter: MqttIngest, stop: threading.Event, stats_every: float
) -> bool:
    """Run the started consumer until ``stop``, beating and reporting; False if its worker
    died."""
    since, accepted, rejected = time.monotonic(), 0, 0
    beaten = 0.0
    while not stop.wait(max(0.0, min(1.0, since + stats_every - time.monotonic()))):
        if not adapter.alive:
            log.error("the ingest worker stopped unexpectedly")
            return False
        now = time.monotonic()
        if now - beaten >= BEAT_EVERY_S and adapter.subscribed.is_set():
            # Up means subscribed and consuming: the IT availability counts these beats.
            beaten = now
            _beat(platform)
        if now - since >= stats_every:
            stats = adapter.stats
            _report(stats, now - since, accepted, rejected, adapter.subscribed.is_set())
            since, accepted, rejected = now, stats.accepted, stats.rejected
    return True


def ingest(
    group: GroupOption = None,
    batch: BatchOption = 2000,
    linger_ms: LingerOption = 2,
    client_id: ClientIdOption = None,
    topic_prefix: TopicPrefixOption = "metropilot",
    session_expiry_hours: SessionExpiryOption = 168.0,
    ca_file: CaFileOption = None,
    cert_file: CertFileOption = None,
    key_file: KeyFileOption = None,
    retire: RetireOption = False,
    stats_every: StatsEveryOption = 60.0,
) -> None:
    """Consume equipment telemetry and events from the MQTT broker until stopped."""
    broker, options = _broker_and_options(
        client_id or _default_client_id(group),
        group,
        batch,
        linger_ms,
        topic_prefix,
        session_expiry_hours,
        (ca_file, cert_file, key_file),
    )
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )

    platform = load_platform()
    pipeline = platform.ingest_pipeline
    pipeline.warm_up(long_lived=True)
    log.info("ingest pipeline ready: %d assets known", len(pipeline.directory))

    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("%s received: finishing the current batch", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)

    adapter = MqttIngest(pipeline, broker, options)
    log.info(
        "consuming %s as %s%s, batches of %d items or %d ms",
        broker,
        options.client_id,
        f" in group {group}" if group else "",
        options.batch_items,
        options.linger_ms,
    )
    if retire:
        _retire(adapter, stop)
        platform.close()
        return
    adapter.start()
    try:
        healthy = _consume(platform, adapter, stop, stats_every)
    finally:
        adapter.stop()
        platform.close()
    if not healthy:
        raise typer.Exit(code=1)
