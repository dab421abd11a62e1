"""Commands through the real broker (issue 9): the platform's ``MqttCommandTransport`` publishes on
``<prefix>/<asset>/commands``, the simulated equipment (``simulate.mqtt_commands``) answers on the
asset's events and telemetry topics, a real ``MqttIngest`` consumer stores the answers, and the
commands move pending → sent → acknowledged → done, or failed, or are sent again, or time out.

Same rules as test_mqtt_ingest.py: Mosquitto at ``METROPILOT_TEST_MQTT_URL`` (default
127.0.0.1:1883), skipped on a developer's machine without it, failed in CI; each test has its own
topic prefix and client ids. Retries and timeouts are driven through ``dispatch(..., now=…)``
rather than by waiting for the real intervals.
"""

from __future__ import annotations

import random
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from paho.mqtt.client import Client, MQTTMessage
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from metropilot.bootstrap import Platform
from metropilot.control import services
from metropilot.control.mqtt import MqttCommandTransport
from metropilot.shared.actors import Actor, ActorKind
from metropilot.shared.scope import UNRESTRICTED
from metropilot.simulate.commands import ResponderConfig
from metropilot.simulate.mqtt_commands import (
    MqttEquipment,
    answer_topic,
    asset_of,
    command_subscription,
)
from metropilot.telemetry.mqtt import BrokerAddress, MqttIngest, MqttOptions
from metropilot.telemetry.services import IngestPipeline
from tests.integration.test_mqtt_ingest import (
    MQTT_URL,
    eventually,
    forget_session,
    mqtt_broker,
    small_city,
    tag,
)

__all__ = ["mqtt_broker", "tag"]  # fixtures shared with test_mqtt_ingest.py

OPERATOR = services.Caller("operator", UNRESTRICTED, Actor(ActorKind.USER, "operator"))
QUICK: dict[str, Any] = {
    "ack_delay_s": (0.0, 0.01),
    "work_delay_s": (0.0, 0.01),
    "failure_rate": 0.0,
}


# --- pure parts -------------------------------------------------------------------------------


def test_topics() -> None:
    assert command_subscription() == "metropilot/+/commands"
    assert command_subscription("city", "sim") == "$share/sim/city/+/commands"
    assert asset_of("metropilot/SL-1/commands") == "SL-1"
    assert asset_of("city/SL-1/commands", "city") == "SL-1"
    for other in ("metropilot/SL-1/events", "city/SL-1/commands", "metropilot//commands"):
        assert asset_of(other) is None
    event = {"asset": "SL-1", "event": {"code": "command.ack", "payload": {"command": 1}}}
    assert answer_topic(event) == "metropilot/SL-1/events"
    assert answer_topic({"asset": "SL-1", "metrics": {}}, "city") == "city/SL-1/telemetry"


# --- against the broker -----------------------------------------------------------------------


@dataclass
class Rig:
    """The platform's side (its transport, an ingest consumer) on one topic prefix."""

    platform: Platform
    broker: BrokerAddress
    prefix: str
    transport: MqttCommandTransport
    ingest: MqttIngest
    pipeline: IngestPipeline
    stack: ExitStack
    lights: list[tuple[int, str]]  # (id, external reference) of the city's street lights

    def equipment(self, seed: int = 1, **config: Any) -> MqttEquipment:
        """Simulated equipment on this prefix, until the end of the test."""
        found = MqttEquipment(
            MQTT_URL,
            prefix=self.prefix,
            client_id=f"{self.prefix}-equipment-{seed}",
            seed=seed,
            config=ResponderConfig(**config),
        )
        self.stack.callback(found.close)
        assert found.wait_subscribed(10), "the simulated equipment did not subscribe"
        return found

    def give(self, ref: str, now: datetime | None = None, **fields: Any) -> dict[str, Any]:
        with self.platform.uow_factory(write=True) as uow:
            found = services.issue(uow, OPERATOR, asset=ref, now=now, **fields)
            uow.commit()
        return found

    def dispatch(self, now: datetime | None = None) -> tuple[int, int]:
        return services.dispatch(self.platform.uow_factory, self.transport, now)

    def status(self, command_id: int) -> dict[str, Any]:
        with self.platform.uow_factory() as uow:
            return services.get_command(uow, command_id)

    def until(self, command_id: int, *statuses: str, timeout: float = 10.0) -> dict[str, Any]:
        seen: list[dict[str, Any]] = []

        def reached() -> bool:
            seen.append(self.status(command_id))
            return seen[-1]["status"] in statuses

        eventually(reached, timeout, f"command {command_id} to become {' or '.join(statuses)}")
        return seen[-1]


@pytest.fixture
def rig(platform: Platform, mqtt_broker: BrokerAddress, tag: str) -> Iterator[Rig]:
    lights = small_city(platform)
    # The ingest's own pipeline, with the observer that applies the equipment's answers.
    pipeline = IngestPipeline(
        platform.uow_factory,
        raw_retention=timedelta(days=30),
        max_batch=10_000,
        event_observers=[services.record_answers],
    )
    pipeline.warm_up()
    options = MqttOptions(client_id=f"{tag}-ingest", topic_prefix=tag, session_expiry_s=0)
    with ExitStack() as stack:
        transport = MqttCommandTransport(MQTT_URL, prefix=tag, client_id=f"{tag}-platform")
        stack.callback(transport.close)
        assert transport.wait_connected(10), "the command publisher did not connect"
        ingest = MqttIngest(pipeline, mqtt_broker, options)
        ingest.start()
        stack.callback(forget_session, mqtt_broker, options.client_id)
        stack.callback(ingest.stop)
        assert ingest.subscribed.wait(10), "the ingest consumer did not subscribe"
        yield Rig(platform, mqtt_broker, tag, transport, ingest, pipeline, stack, lights)


@contextmanager
def listening(rig: Rig) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """What the broker delivers on the command topics, as a device would see it."""
    heard: list[tuple[str, dict[str, Any]]] = []
    ready = threading.Event()
    client = Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)

    def on_message(c: Client, userdata: Any, message: MQTTMessage) -> None:
        heard.append((message.topic, orjson.loads(message.payload)))

    client.on_message = on_message
    client.on_subscribe = lambda *_: ready.set()
    client.connect(rig.broker.host, rig.broker.port)
    client.loop_start()
    client.subscribe(command_subscription(rig.prefix), qos=1)
    try:
        assert ready.wait(10), "the listener did not subscribe"
        yield heard
    finally:
        client.disconnect()
        client.loop_stop()


def test_the_platform_and_the_equipment_send_small_packets_at_once(rig: Rig) -> None:
    """Nagle's algorithm off on every MQTT connection of theirs: otherwise a command or an
    answer that follows another waits for its TCP acknowledgement (up to 40 ms)."""
    equipment = rig.equipment()
    for client in (rig.transport.client, rig.ingest.client, equipment.client):
        connection = client.socket()
        assert connection is not None
        assert connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_a_command_is_acknowledged_then_done_through_the_broker(rig: Rig) -> None:
    equipment = rig.equipment(ack_delay_s=(0.0, 0.01), work_delay_s=(0.6, 0.6), failure_rate=0.0)
    light_id, ref = rig.lights[0]
    command = rig.give(
        ref, command="set_light_level", params={"level_pct": 40}, reason="market on the square"
    )
    assert command["status"] == "pending"
    with listening(rig) as heard:
        assert rig.dispatch() == (1, 0)
        assert rig.status(command["id"])["status"] in ("sent", "acknowledged")
        acknowledged = rig.until(command["id"], "acknowledged", "done")
        assert acknowledged["status"] == "acknowledged", "the acknowledgement was not seen alone"
        assert acknowledged["acknowledged_at"] is not None
        done = rig.until(command["id"], "done")
        eventually(lambda: len(heard) == 1, 5, "the command on the broker")
    assert heard == [
        (
            f"{rig.prefix}/{ref}/commands",
            {
                "command": command["id"],
                "type": "set_light_level",
                "params": {"level_pct": 40},
                "deadline": command["deadline"],
            },
        )
    ]
    assert (done["attempts"], done["finished_at"] is not None) == (1, True)
    # The twin shows what the equipment reported, through the ingest.
    assert rig.pipeline.latest_values(light_id)["light_level_pct"][1] == 40.0
    assert equipment.responder.received == 1
    assert rig.dispatch() == (0, 0)  # nothing left to send


def test_a_failure_reported_by_the_equipment(rig: Rig) -> None:
    rig.equipment(**{**QUICK, "failure_rate": 1.0})
    _, ref = rig.lights[0]
    command = rig.give(ref, command="switch_light", params={"on": False}, reason="cable cut")
    rig.dispatch()
    failed = rig.until(command["id"], "failed", "done")
    assert failed["status"] == "failed"
    assert failed["result"] == "the equipment did not respond as asked"
    assert failed["acknowledged_at"] is not None


def first_loss_then_delivery(rate: float) -> int:
    """A seed whose Responder loses the first command message and not the second: its first
    random draw decides the loss of the first message and, that one lost, the second draw the
    loss of the next."""
    for seed in range(10_000):
        draws = random.Random(seed)
        if draws.random() < rate <= draws.random():
            return seed
    raise AssertionError("no such seed")


def test_a_lost_command_is_sent_again_then_done(rig: Rig) -> None:
    equipment = rig.equipment(seed=first_loss_then_delivery(0.5), loss_rate=0.5, **QUICK)
    _, ref = rig.lights[0]
    t0 = datetime.now(UTC)
    command = rig.give(
        ref, now=t0, command="set_light_level", params={"level_pct": 80}, reason="fog tonight"
    )
    assert rig.dispatch(t0) == (1, 0)
    eventually(lambda: equipment.responder.received == 1, 5, "the first delivery")
    time.sleep(0.5)  # lost on the way: no answer comes
    assert rig.status(command["id"])["status"] == "sent"
    # 30 s to answer, three attempts: the second goes 10 s after the first.
    assert rig.dispatch(t0 + timedelta(seconds=5)) == (0, 0)
    assert rig.dispatch(t0 + timedelta(seconds=10.1)) == (1, 0)
    done = rig.until(command["id"], "done")
    assert done["attempts"] == 2
    assert equipment.responder.received == 2


def test_a_command_nobody_answers_times_out_after_its_retries(rig: Rig) -> None:
    equipment = rig.equipment(loss_rate=1.0)  # it hears, and never answers
    _, ref = rig.lights[0]
    t0 = datetime.now(UTC)
    command = rig.give(
        ref, now=t0, command="switch_light", params={"on": True}, reason="test of the line"
    )
    with listening(rig) as heard:
        for after_s in (0, 10.1, 20.2):
            assert rig.dispatch(t0 + timedelta(seconds=after_s)) == (1, 0)
        assert rig.status(command["id"])["status"] == "sent"
        assert rig.dispatch(t0 + timedelta(seconds=30.1)) == (0, 1)
        eventually(lambda: len(heard) == 3, 5, "three deliveries on the broker")
    eventually(lambda: equipment.responder.received == 3, 5, "three deliveries")
    final = rig.status(command["id"])
    assert (final["status"], final["attempts"]) == ("timed_out", 3)
    assert "after 3 attempt" in final["result"]
    assert {m["command"] for _, m in heard} == {command["id"]}
