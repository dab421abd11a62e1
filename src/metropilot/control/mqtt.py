"""Commands over MQTT: each message is published with QoS 1 on ``metropilot/<asset>/commands``.

The publisher connects in the background and reconnects with backoff; a command sent while the
broker is away raises, so the dispatcher leaves it due and sends it at its next round (the
commands table is the outbox: nothing accepted is lost). The equipment answers on its events
topic, which ``metropilot ingest`` consumes (see docs/control.md).
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Mapping
from typing import Any

import orjson
from paho.mqtt.client import Client, ConnectFlags, DisconnectFlags
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from metropilot.telemetry.mqtt import parse_mqtt_url, send_without_delay

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
        self._connected = threading.Event()
        self.client = Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or "",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        if self.broker.username is not None:
            self.client.username_pw_set(self.broker.username, self.broker.password)
        if self.broker.tls:
            self.client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
        self.client.reconnect_delay_set(1, 30)
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.connect_async(self.broker.host, self.broker.port, keepalive=30)
        self.client.loop_start()

    def _on_connect(
        self,
        client: Client,
        userdata: Any,
        flags: ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            log.error("the broker %s refused the command publisher: %s", self.broker, reason_code)
            return
        send_without_delay(client)
        self._connected.set()

    def _on_disconnect(
        self,
        client: Client,
        userdata: Any,
        flags: DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._connected.clear()

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
        self.client.disconnect()
        self.client.loop_stop()
