"""Commands over MQTT: each message is published with QoS 1 on ``metropilot/<asset>/commands``.

The publisher connects in the background and reconnects with backoff; a command sent while the
broker is away raises, so the dispatcher leaves it due and sends it at its next round (the
commands table is the outbox: nothing accepted is lost). The equipment answers on its events
topic, which ``metropilot ingest`` consumes (see docs/control.md).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import orjson

from metropilot.telemetry.mqtt import MqttLink, parse_mqtt_url

__all__ = ["MqttCommandTransport", "command_topic"]

log = logging.getLogger(__name__)


def command_topic(asset_ref: str, prefix: str = "metropilot") -> str:
    return f"{prefix}/{asset_ref}/commands"


class BrokerAway(Exception):
    pass


class MqttCommandTransport:
    """Publishes command messages; `send` raises `BrokerAway` while not connected."""

    def __init__(self, url: str, *, prefix: str = "metropilot", client_id: str | None = None):
        self.broker = parse_mqtt_url(url)
        self.prefix = prefix
        self.link = MqttLink(
            self.broker, client_id=client_id or "", log=log, who="the command publisher"
        )
        self._connected = self.link.connected
        self.client = self.link.client
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.link.start(keepalive_s=30)

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def send(self, asset_ref: str, message: Mapping[str, Any]) -> None:
        if not self._connected.is_set() and not self._connected.wait(1.0):
            raise BrokerAway(f"not connected to {self.broker}")
        info = self.client.publish(
            command_topic(asset_ref, self.prefix), orjson.dumps(dict(message)), qos=1
        )
        if info.rc != 0:
            raise BrokerAway(f"publishing to {self.broker} failed (code {info.rc})")

    def close(self) -> None:
        self.link.close()
