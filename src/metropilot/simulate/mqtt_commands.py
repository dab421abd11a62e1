"""The simulated equipment answering commands over MQTT, as real equipment would.

:class:`MqttEquipment` subscribes (MQTT v5, QoS 1) to ``<prefix>/+/commands`` — or, to share the
load between several simulators, ``$share/<group>/<prefix>/+/commands`` — and hands each command
message to a :class:`~metropilot.simulate.commands.Responder`, which acknowledges it after a
delay, carries it out and reports the new state with ``command.done``, or reports
``command.failed`` now and then. Its answers are published at QoS 1 on the asset's own topics —
``<prefix>/<asset>/events`` for the events, ``<prefix>/<asset>/telemetry`` for the state — one
message per item, in the shape the simulator's ``MqttSink`` uses (``runner.topic_for``), which
is what ``metropilot ingest`` consumes.

The asset is read from the topic the message arrived on (the broker delivers the real topic,
never the ``$share/…`` filter). A command whose ``deadline`` has passed is dropped unanswered, as
equipment that came back online late would do: the platform has already timed it out.

One connection both receives and answers. The session is not kept (clean start): a simulator that
stops loses the commands sent meanwhile, and the platform's retries and timeouts cover them.

Run it alone (answering only, no telemetry)::

    python -m metropilot.simulate.mqtt_commands [--url mqtt://127.0.0.1:1883] [--prefix metropilot]

or through ``metropilot simulate --via mqtt``, which answers while it reports.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from types import FrameType
from typing import Any

import orjson
from paho.mqtt.client import Client, MQTTMessage

from metropilot.simulate.commands import Responder, ResponderConfig
from metropilot.simulate.runner import SinkUnavailable, publish_acknowledged, topic_for
from metropilot.telemetry.mqtt import MqttLink, parse_mqtt_url

__all__ = ["MqttEquipment", "answer_topic", "asset_of", "command_subscription"]

log = logging.getLogger(__name__)

Item = dict[str, Any]


def command_subscription(prefix: str = "metropilot", group: str | None = None) -> str:
    topic = f"{prefix}/+/commands"
    return f"$share/{group}/{topic}" if group else topic


def asset_of(topic: str, prefix: str = "metropilot") -> str | None:
    """The asset of ``<prefix>/<asset>/commands``; None for any other topic."""
    if not topic.startswith(prefix + "/") or not topic.endswith("/commands"):
        return None
    asset = topic[len(prefix) + 1 : -len("/commands")]
    return asset if asset and "/" not in asset else None


def answer_topic(item: Item, prefix: str = "metropilot") -> str:
    """``<prefix>/<asset>/events`` or ``…/telemetry``: the simulator's ``topic_for`` under
    another prefix."""
    _, rest = topic_for(item).split("/", 1)
    return f"{prefix}/{rest}"


def _expired(message: dict[str, Any]) -> bool:
    deadline = message.get("deadline")
    if not isinstance(deadline, str):
        return False
    try:
        when = datetime.fromisoformat(deadline)
    except ValueError:
        return False
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when <= datetime.now(UTC)


class MqttEquipment:
    """Every commandable asset of the city, answering on the broker at ``url``.

    ``responder`` (read-only) counts what it received and answered; ``expired`` and
    ``unreadable`` count the command messages dropped before reaching it.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "metropilot",
        group: str | None = None,
        client_id: str | None = None,
        seed: int = 1,
        config: ResponderConfig | None = None,
        ack_timeout: float = 15.0,
    ) -> None:
        self.broker = parse_mqtt_url(url)
        self.prefix = prefix
        self.group = group
        self.subscription = command_subscription(prefix, group)
        self._ack_timeout = ack_timeout
        self.expired = 0
        self.unreadable = 0
        # A clean session: the link subscribes again on every connection.
        self.link = MqttLink(
            self.broker,
            client_id=client_id or f"metropilot-equipment-{os.getpid()}-{id(self):x}",
            log=log,
            who="the simulated equipment",
            topics=[self.subscription],
            refused_subscription=f"the broker refused {self.subscription.replace('%', '%%')}: %s",
            subscribed_line="simulated equipment answering commands on %s",
        )
        self._connected, self._subscribed = self.link.connected, self.link.subscribed
        client = self.link.client
        # As the simulator's MqttSink: no in-flight window (paho scans it on every PUBACK), and
        # a batch of answers waits whole for the broker.
        client.max_inflight_messages_set(0)
        client.max_queued_messages_set(0)
        client.on_message = self._on_message
        self.client = client
        self.responder = Responder(self._publish, seed=seed, config=config)
        self.link.start(keepalive_s=30, clean_start=True)

    # network thread -----------------------------------------------------------------------------

    def _on_message(self, client: Client, userdata: Any, message: MQTTMessage) -> None:
        asset = asset_of(message.topic, self.prefix)
        try:
            command = orjson.loads(message.payload)
        except orjson.JSONDecodeError:
            command = None
        if asset is None or not isinstance(command, dict):
            self.unreadable += 1
            log.warning("not a command message on %s: %r", message.topic, message.payload[:200])
            return
        if _expired(command):
            self.expired += 1
            return
        try:
            self.responder.on_command(asset, command)
        except Exception:  # never let one message stop the network thread
            log.exception("simulated %s could not take a command", asset)

    # the responder's thread ---------------------------------------------------------------------

    def _publish(self, items: Sequence[Item]) -> int:
        """One QoS 1 message per item; returns once the broker acknowledged them all."""
        if not self._connected.wait(1.0):
            raise SinkUnavailable(f"{self.broker}: not connected")
        publish_acknowledged(
            self.client,
            [(answer_topic(item, self.prefix), orjson.dumps(item)) for item in items],
            self._ack_timeout,
            str(self.broker),
        )
        return len(items)

    # lifecycle ----------------------------------------------------------------------------------

    def wait_subscribed(self, timeout: float = 10.0) -> bool:
        return self._subscribed.wait(timeout)

    def close(self) -> None:
        """Stop answering (what is still due is not sent) and disconnect."""
        self.responder.stop()
        self.link.close()


def _span(text: str) -> tuple[float, float]:
    low, _, high = text.partition(",")
    return float(low), float(high or low)


def main(argv: Sequence[str] | None = None) -> None:
    """Answer commands only (no telemetry) until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(
        prog="python -m metropilot.simulate.mqtt_commands", description=main.__doc__
    )
    parser.add_argument(
        "--url", default=os.environ.get("METROPILOT_MQTT_URL") or "mqtt://127.0.0.1:1883"
    )
    parser.add_argument("--prefix", default="metropilot")
    parser.add_argument("--group", default=None, help="share the commands: $share/GROUP/…")
    parser.add_argument("--seed", type=int, default=1)
    defaults = ResponderConfig()
    parser.add_argument("--failure-rate", type=float, default=defaults.failure_rate)
    parser.add_argument("--loss-rate", type=float, default=defaults.loss_rate)
    parser.add_argument(
        "--ack-delay", type=_span, default=defaults.ack_delay_s, help="seconds: LOW,HIGH"
    )
    parser.add_argument(
        "--work-delay",
        type=_span,
        default=defaults.work_delay_s,
        help="seconds from the acknowledgement to the result: LOW,HIGH",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    equipment = MqttEquipment(
        args.url,
        prefix=args.prefix,
        group=args.group,
        seed=args.seed,
        config=ResponderConfig(
            ack_delay_s=args.ack_delay,
            work_delay_s=args.work_delay,
            failure_rate=args.failure_rate,
            loss_rate=args.loss_rate,
        ),
    )
    try:
        stop.wait()
    finally:
        equipment.close()
        log.info(
            "%d commands received, %d answers sent, %d expired",
            equipment.responder.received,
            equipment.responder.answered,
            equipment.expired,
        )


if __name__ == "__main__":
    main()
