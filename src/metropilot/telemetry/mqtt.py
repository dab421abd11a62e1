"""MQTT ingest: equipment topics on the broker, into the ingest pipeline, acknowledged once stored.

Topics (``metropilot`` is the default prefix)::

    metropilot/<asset>/telemetry   one reading, or a JSON array of readings
    metropilot/<asset>/events      {"ts", "code", "payload"} or {"ts", "event": {...}}, or an array

``<asset>`` is the asset's id or external reference; it fills a missing ``asset`` field and must
equal a given one.

Delivery: QoS 1 over MQTT v5, a persistent session under a stable client id (the broker keeps
what is not yet acknowledged while the worker is away), and **manual acknowledgement**: the
network thread only queues what arrives; a worker thread gathers messages into batches (up to
``batch_items`` items or ``linger_ms``), has the pipeline write each batch in one transaction,
and only then sends the PUBACKs, in the order the messages came. A message that can never be
stored (malformed JSON, unknown asset, wrong types) is acknowledged all the same, after the
pipeline has counted it as refused. When the database fails, nothing is acknowledged: the same
batch is retried with backoff, so the order is kept and the broker still holds every message if
the process dies. A message redelivered after a crash is harmless: a reading already stored
(same asset, metric and timestamp) is ignored.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import orjson
from paho.mqtt.client import (
    MQTT_CLEAN_START_FIRST_ONLY,
    CleanStartOption,
    Client,
    ConnectFlags,
    DisconnectFlags,
    MQTTMessage,
)
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError

from metropilot.shared.errors import InvalidInput
from metropilot.telemetry.model import InvalidItem, decode_batch
from metropilot.telemetry.services.batch import BatchResult

__all__ = [
    "BrokerAddress",
    "MqttIngest",
    "MqttLink",
    "MqttOptions",
    "MqttStats",
    "items_of",
    "parse_mqtt_url",
    "send_without_delay",
    "subscriptions",
]

log = logging.getLogger(__name__)

SOURCE = "mqtt"  # the ingest counters' source for everything that arrives here
QOS = 1


class Pipeline(Protocol):
    """What the adapter needs of :class:`metropilot.telemetry.services.pipeline.IngestPipeline`."""

    max_batch: int

    def ingest(self, items: Sequence[Any], *, source: str) -> BatchResult: ...

    def flush(self) -> None: ...


# --- configuration --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None

    def __str__(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"  # no credentials


def parse_mqtt_url(url: str) -> BrokerAddress:
    """``mqtt://[user[:password]@]host[:1883]`` or ``mqtts://…[:8883]`` (TLS)."""
    if not url.strip():
        raise InvalidInput("no MQTT broker configured: set METROPILOT_MQTT_URL")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("mqtt", "mqtts"):
        raise InvalidInput(f"the MQTT URL must start with mqtt:// or mqtts://, got {url!r}")
    try:
        port = parts.port
    except ValueError:
        raise InvalidInput(f"the MQTT URL has an invalid port: {url!r}") from None
    if not parts.hostname:
        raise InvalidInput(f"the MQTT URL names no host: {url!r}")
    tls = parts.scheme == "mqtts"
    return BrokerAddress(
        host=parts.hostname,
        port=port or (8883 if tls else 1883),
        tls=tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


@dataclass(frozen=True, slots=True)
class MqttOptions:
    client_id: str
    """Stable across restarts: the broker keeps this worker's session under it."""
    topic_prefix: str = "metropilot"
    group: str | None = None
    """Several workers sharing the load: MQTT v5 shared subscription ``$share/<group>/…``."""
    batch_items: int = 2000
    linger_ms: int = 2
    session_expiry_s: int = 7 * 24 * 3600
    """How long the broker keeps the session (and queues messages) while the worker is away."""
    receive_maximum: int = 10_000
    """Unacknowledged messages the broker may have in flight to this worker."""
    keepalive_s: int = 30
    reconnect_min_s: int = 1
    reconnect_max_s: int = 60
    retry_initial_s: float = 0.2
    retry_max_s: float = 30.0
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None

    def __post_init__(self) -> None:
        if not self.client_id or len(self.client_id) > 128:
            raise InvalidInput("the MQTT client id must be 1-128 characters")
        prefix = self.topic_prefix
        if not prefix or any(c in prefix for c in "+#") or prefix.startswith(("/", "$")):
            raise InvalidInput(f"invalid topic prefix {prefix!r}")
        if self.group is not None and (not self.group or any(c in self.group for c in "/+#")):
            raise InvalidInput(f"invalid shared-subscription group {self.group!r}")
        if self.batch_items < 1 or self.linger_ms < 0:
            raise InvalidInput("the batch needs at least one item and a linger of 0 ms or more")
        if not 1 <= self.receive_maximum <= 65535:
            raise InvalidInput("receive maximum must be 1-65535")


def subscriptions(options: MqttOptions) -> list[str]:
    topics = [f"{options.topic_prefix}/+/telemetry", f"{options.topic_prefix}/+/events"]
    if options.group:
        return [f"$share/{options.group}/{topic}" for topic in topics]
    return topics


def send_without_delay(client: Client) -> None:
    """Send this client's small packets (a command, an answer, an acknowledgement) at once.

    paho leaves Nagle's algorithm on: a packet waits until the previous one is acknowledged,
    which the other end delays by up to 40 ms when it has nothing to send back. That cost a
    command's round trip about 25 ms at each client that sends two packets in a row."""
    # Not a TCP socket (a websocket transport, a Unix socket), or already closed: nothing to do.
    with contextlib.suppress(AttributeError, OSError):
        client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # type: ignore[union-attr]


# --- one client ------------------------------------------------------------------------------


class MqttLink:
    """One paho client with the callbacks every Metropilot MQTT client shares.

    It connects in the background and reconnects with backoff (paho's loop thread), sets
    ``connected`` while up, sends small packets at once (``send_without_delay``), subscribes
    again to ``topics`` on every connection (harmless when the session survived, needed when it
    did not), sets ``subscribed`` once the broker granted them, and keeps the last problem met.
    Its log lines go to the owner's logger (``log``; None: it logs nothing): a refused
    connection always; the connections, disconnections and failed attempts too when
    ``announce`` is set.

    The owner may add to what happens on each connection (``on_connected``, called with the
    client and whether the broker resumed the session; returning False skips the subscription)
    and on each disconnection (``on_disconnected``). ``start()`` begins connecting, ``close()``
    disconnects for good (no warning for that one).
    """

    def __init__(
        self,
        broker: BrokerAddress,
        *,
        client_id: str,
        log: logging.Logger | None,
        who: str = "the connection",
        topics: Sequence[str] = (),
        refused_subscription: str = "the broker refused the subscriptions: %s",
        subscribed_line: str = "subscribed to %s",
        announce: bool = False,
        protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv5,
        manual_ack: bool = False,
        reconnect_s: tuple[int, int] = (1, 30),
        tls_files: tuple[str | None, str | None, str | None] = (None, None, None),
        on_connected: Callable[[Client, bool], bool] | None = None,
        on_disconnected: Callable[[], None] | None = None,
    ) -> None:
        self.broker = broker
        self.client_id = client_id
        self.topics = list(topics)
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.last_problem = "not connected yet"
        self.closing = False
        self._log, self._who, self._announce = log, who, announce
        self._refused_subscription, self._subscribed_line = refused_subscription, subscribed_line
        self._on_connected, self._on_disconnected = on_connected, on_disconnected
        client = Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=protocol,
            manual_ack=manual_ack,
        )
        if broker.username is not None:
            client.username_pw_set(broker.username, broker.password)
        if broker.tls:
            ca_file, cert_file, key_file = tls_files
            client.tls_set(
                ca_certs=ca_file, certfile=cert_file, keyfile=key_file, cert_reqs=ssl.CERT_REQUIRED
            )
        client.reconnect_delay_set(*reconnect_s)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_connect_fail = self._on_connect_fail
        client.on_subscribe = self._on_subscribe
        self.client = client

    def start(
        self,
        *,
        keepalive_s: int = 30,
        clean_start: CleanStartOption = MQTT_CLEAN_START_FIRST_ONLY,
        properties: Properties | None = None,
    ) -> None:
        """Connect in the background, then again whenever the connection is lost."""
        self.client.connect_async(
            self.broker.host,
            self.broker.port,
            keepalive=keepalive_s,
            clean_start=clean_start,
            properties=properties,
        )
        self.client.loop_start()

    def close(self, properties: Properties | None = None) -> None:
        self.closing = True
        self.client.disconnect(properties=properties)
        self.client.loop_stop()

    def _on_connect(
        self,
        client: Client,
        userdata: Any,
        flags: ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            self.last_problem = f"the broker refused the connection: {reason_code}"
            self.connected.clear()
            if self._log is not None:
                self._log.error("the broker %s refused %s: %s", self.broker, self._who, reason_code)
            return
        send_without_delay(client)
        self.connected.set()
        hooked = self._on_connected
        subscribe = hooked is None or hooked(client, flags.session_present)
        if self._announce and self._log is not None:
            self._log.info(
                "connected to %s as %s (%s session)",
                self.broker,
                self.client_id,
                "resumed" if flags.session_present else "new",
            )
        if subscribe and self.topics:
            client.subscribe([(topic, SubscribeOptions(qos=QOS)) for topic in self.topics])

    def _on_subscribe(
        self,
        client: Client,
        userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        refused = [str(code) for code in reason_codes if code.is_failure]
        if refused:
            if self._log is not None:
                self._log.error(self._refused_subscription, ", ".join(refused))
            return
        if self._log is not None:
            self._log.info(self._subscribed_line, ", ".join(self.topics))
        self.subscribed.set()

    def _on_disconnect(
        self,
        client: Client,
        userdata: Any,
        flags: DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self.last_problem = f"disconnected: {reason_code}"
        self.connected.clear()
        self.subscribed.clear()
        if self._on_disconnected is not None:
            self._on_disconnected()
        if self._announce and self._log is not None and not self.closing:
            self._log.warning("disconnected from %s (%s); reconnecting", self.broker, reason_code)

    def _on_connect_fail(self, client: Client, userdata: Any) -> None:
        if self._announce and self._log is not None:
            self._log.warning("cannot reach the broker %s; retrying with backoff", self.broker)


# --- payloads -------------------------------------------------------------------------------


def _asset_given(item: dict[str, Any], key: str, asset: str) -> InvalidItem | None:
    given = item.get(key)
    if given is None or isinstance(given, bool) or not isinstance(given, str | int):
        return None  # absent, or the pipeline refuses its type
    if str(given).strip() != asset:
        return InvalidItem(
            "asset_mismatch",
            f"the item names asset {given!r} but was published on the topic of {asset!r}",
        )
    return None


def _reading(item: Any, asset: str) -> Any:
    if not isinstance(item, dict):
        return item  # refused by the pipeline as not_an_object
    if "asset" not in item and "device" in item:  # TALQ-like gateway shape
        return _asset_given(item, "device", asset) or item
    if "asset" in item:
        return _asset_given(item, "asset", asset) or item
    return {**item, "asset": asset}


def _event(item: Any, asset: str) -> Any:
    if not isinstance(item, dict):
        return InvalidItem(
            "bad_event", 'an event is {"ts", "code", "payload"} or {"ts", "event": {…}}'
        )
    mismatch = _asset_given(item, "asset", asset)
    if mismatch is not None:
        return mismatch
    if "event" in item:
        event = item["event"]
    else:
        event = {"code": item.get("code"), "payload": item.get("payload", {})}
    return {"asset": item.get("asset", asset), "ts": item.get("ts"), "event": event}


def items_of(topic: str, payload: bytes | bytearray | str, prefix: str = "metropilot") -> list[Any]:
    """The pipeline items one message carries; what can never be valid as an InvalidItem."""
    rest = topic[len(prefix) + 1 :] if topic.startswith(prefix + "/") else ""
    asset, _, kind = rest.partition("/")
    asset = asset.strip()
    if not asset or kind not in ("telemetry", "events"):
        return [InvalidItem("bad_topic", f"not a telemetry or events topic: {topic!r}")]
    if kind == "telemetry":
        # A well-formed message (a gateway's array above all) takes the fast road; anything
        # unusual is judged item by item below.
        fast = decode_batch(payload, asset)
        if fast is not None:
            return list(fast)
    try:
        document = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        return [InvalidItem("malformed_json", f"{topic}: payload is not JSON: {exc}")]
    documents = document if isinstance(document, list) else [document]
    shape = _reading if kind == "telemetry" else _event
    return [shape(item, asset) for item in documents]


# --- the adapter ----------------------------------------------------------------------------


@dataclass(slots=True)
class _Inbound:
    mid: int
    qos: int
    generation: int  # the connection it arrived on: only that connection may acknowledge it
    topic: str
    payload: bytes | bytearray
    items: list[Any] = field(default_factory=list)


@dataclass(slots=True)
class MqttStats:
    """Running totals since start; read from any thread (each value is written by one)."""

    messages: int = 0
    accepted: int = 0
    rejected: int = 0
    batches: int = 0
    acknowledged: int = 0
    database_failures: int = 0
    connections: int = 0
    rejected_by_reason: Counter[str] = field(default_factory=Counter)


# Failures of the database or the network to it: retried forever, the batch unacknowledged.
# IntegrityError and DataError are about the rows themselves and would fail again.
def _transient(exc: BaseException) -> bool:
    if isinstance(exc, IntegrityError | DataError):
        return False
    return isinstance(exc, SQLAlchemyError | OSError)


class MqttIngest:
    """One consumer: a paho network thread and a batching worker thread.

    ``start()`` connects (retrying with backoff until the broker answers), ``stop()`` finishes
    the batch in hand, acknowledges it and disconnects; what was received but not yet in a batch
    stays unacknowledged and is delivered again on the next start.
    """

    def __init__(self, pipeline: Pipeline, broker: BrokerAddress, options: MqttOptions) -> None:
        self.pipeline = pipeline
        self.broker = broker
        self.options = options
        self.stats = MqttStats()
        self.subscribed = threading.Event()
        self._inbox: queue.SimpleQueue[_Inbound] = queue.SimpleQueue()
        self._carry: _Inbound | None = None
        self._stopping = threading.Event()
        self._ack_lock = threading.Lock()
        self._generation = 0
        self._worker: threading.Thread | None = None
        self._retiring = False
        self._stop_lock = threading.Lock()
        self._stopped = False
        self._unsubscribed = threading.Event()
        self._received = 0
        self._last_received = 0.0
        o = options
        self.link = MqttLink(
            broker,
            client_id=o.client_id,
            log=log,
            topics=subscriptions(o),
            announce=True,
            manual_ack=True,
            reconnect_s=(o.reconnect_min_s, o.reconnect_max_s),
            tls_files=(o.ca_file, o.cert_file, o.key_file),
            on_connected=self._on_connected,
            on_disconnected=self._on_disconnected,
        )
        self.subscribed = self.link.subscribed
        self.client = self.link.client
        self.client.on_unsubscribe = self._on_unsubscribe
        self.client.on_message = self._on_message

    # network thread ---------------------------------------------------------------------------

    def _connect_properties(self) -> Properties:
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = self.options.session_expiry_s
        properties.ReceiveMaximum = self.options.receive_maximum
        return properties

    def _on_connected(self, client: Client, session_present: bool) -> bool:
        """A new connection: what arrives now is acknowledged on it. False: do not subscribe."""
        with self._ack_lock:
            self._generation += 1
        self.stats.connections += 1
        if self._retiring:
            # The session's subscriptions survive it: drop them so that nothing new is routed
            # here, and take in only what the broker kept for this worker.
            client.unsubscribe(subscriptions(self.options))
            return False
        return True

    def _on_disconnected(self) -> None:
        with self._ack_lock:
            self._generation += 1  # what arrived so far is delivered again on the next session

    def _on_unsubscribe(
        self,
        client: Client,
        userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        log.info("unsubscribed: taking in this worker's backlog, then leaving")
        self._last_received = time.monotonic()  # what the broker kept arrives from now on
        self._unsubscribed.set()

    def _on_message(self, client: Client, userdata: Any, message: MQTTMessage) -> None:
        self._received += 1
        self._last_received = time.monotonic()
        self._inbox.put(
            _Inbound(message.mid, message.qos, self._generation, message.topic, message.payload)
        )

    # lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        o = self.options
        self._worker = threading.Thread(target=self._work, name="mqtt-ingest", daemon=True)
        self._worker.start()
        self.link.start(
            keepalive_s=o.keepalive_s, clean_start=False, properties=self._connect_properties()
        )

    @property
    def alive(self) -> bool:
        return self._worker is not None and self._worker.is_alive()

    def retire(self, quiet_s: float = 2.0, timeout: float = 600.0) -> bool:
        """Leave for good: store what the broker kept for this worker, then end its session.

        For a worker removed from a group: the broker shares messages among every session of
        the group, those of stopped workers included, and would keep this one's share waiting.
        Returns True once the backlog was stored and the session ended; False (session kept)
        when the broker was not reached or the backlog did not drain within ``timeout``.
        """
        self._retiring = True
        self.start()
        deadline = time.monotonic() + timeout
        drained = self._unsubscribed.wait(min(timeout, 30.0))
        while drained:
            quiet = time.monotonic() - self._last_received >= quiet_s
            if quiet and self.stats.messages == self._received:
                break
            if time.monotonic() > deadline or self._stopping.wait(0.1):
                drained = False
        self.stop(end_session=drained)
        return drained

    def stop(self, timeout: float = 30.0, *, end_session: bool = False) -> None:
        """Finish and acknowledge the batch in hand, then disconnect. Only the first call acts."""
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
        self._stopping.set()
        self.link.closing = True  # the disconnection that follows is no news
        if self._worker is not None:
            self._worker.join(timeout)
        if end_session:
            properties = Properties(PacketTypes.DISCONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = 0
            self.link.close(properties)
            log.info("session %s ended", self.options.client_id)
        else:
            self.link.close()
        try:
            self.pipeline.flush()  # the twin's latest state, written now rather than replayed
        except Exception:
            log.exception("writing the twin on shutdown failed; it is rebuilt on the next start")
        log.info(
            "stopped: %d messages, %d items accepted, %d rejected",
            self.stats.messages,
            self.stats.accepted,
            self.stats.rejected,
        )

    # worker thread ---------------------------------------------------------------------------

    def _next(self, timeout: float) -> _Inbound | None:
        if self._carry is not None:
            carried, self._carry = self._carry, None
            return carried
        try:
            message = self._inbox.get(timeout=timeout) if timeout > 0 else self._inbox.get_nowait()
        except queue.Empty:
            return None
        message.items = items_of(message.topic, message.payload, self.options.topic_prefix)
        return message

    def _gather(self) -> list[_Inbound]:
        first = self._next(0.2)
        if first is None:
            return []
        batch, size = [first], len(first.items)
        target = min(self.options.batch_items, self.pipeline.max_batch)
        deadline = time.monotonic() + self.options.linger_ms / 1000
        while size < target and not self._stopping.is_set():
            message = self._next(deadline - time.monotonic())
            if message is None:
                break
            if size + len(message.items) > self.pipeline.max_batch:
                self._carry = message  # starts the next batch
                break
            batch.append(message)
            size += len(message.items)
        return batch

    def _work(self) -> None:
        while not self._stopping.is_set():
            try:
                batch = self._gather()
                if batch and self._store(batch):
                    self._acknowledge(batch)
            except Exception:  # never let the consumer die; the batch stays unacknowledged
                log.exception("unexpected failure in the ingest worker")
                self._stopping.wait(1.0)

    def _ingest(self, items: list[Any]) -> None:
        if not items:
            return
        result = self.pipeline.ingest(items, source=SOURCE)
        self.stats.accepted += result.accepted
        self.stats.rejected += result.rejected
        for refusal in result.refusals:
            self.stats.rejected_by_reason[refusal.reason] += 1

    def _retrying(self, items: list[Any], what: str) -> bool | None:
        """Ingest ``items``, retrying with backoff while the database fails.

        True once committed; False after three failures for another reason (a bug the same
        input would hit again); None when asked to stop before it succeeded.
        """
        delay, faults = self.options.retry_initial_s, 0
        while True:
            try:
                self._ingest(items)
                return True
            except Exception as exc:
                if _transient(exc):
                    self.stats.database_failures += 1
                    first_line = str(exc).splitlines()[0] if str(exc) else ""
                    log.warning(
                        "database unavailable (%s: %s); %s kept unacknowledged, retrying in %.1f s",
                        exc.__class__.__name__,
                        first_line,
                        what,
                        delay,
                    )
                else:
                    faults += 1
                    log.exception("ingesting %s failed", what)
                    if faults >= 3:
                        return False
            if self._stopping.wait(delay):
                return None
            delay = min(delay * 2, self.options.retry_max_s)

    def _store(self, batch: list[_Inbound]) -> bool:
        """Write the batch; True once committed (False: stopping, leave it unacknowledged)."""
        items = [item for message in batch for item in message.items]
        done = self._retrying(items, f"a batch of {len(batch)} messages")
        if done is None:
            return False
        if not done:
            # Failing for a reason other than the database: find the messages at fault, count
            # them as refused (they would fail forever) and store the others.
            for message in batch:
                alone = self._retrying(message.items, f"the message on {message.topic}")
                if alone is None:
                    return False
                if alone:
                    continue
                log.error("refusing a message that cannot be ingested: %r", message.payload[:200])
                refused: list[Any] = [
                    InvalidItem("internal_error", "ingesting this message failed")
                ] * max(1, len(message.items))
                counted = self._retrying(refused, "the count of a refused message")
                if counted is None:
                    return False
                if not counted:
                    self.stats.rejected += len(refused)
                    self.stats.rejected_by_reason["internal_error"] += len(refused)
        self.stats.batches += 1
        return True

    def _acknowledge(self, batch: list[_Inbound]) -> None:
        with self._ack_lock:
            generation = self._generation
            for message in batch:
                self.stats.messages += 1
                # A message from an earlier connection is delivered again by the broker (it is
                # still in the session) and acknowledged then; its packet id may be reused now.
                if message.generation != generation or message.qos == 0:
                    continue
                if self.client.ack(message.mid, message.qos) == MQTTErrorCode.MQTT_ERR_SUCCESS:
                    self.stats.acknowledged += 1
