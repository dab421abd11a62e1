"""Simulated equipment answering commands like real equipment: after a delay it acknowledges,
then carries the command out and reports its new state, or, now and then, reports a failure.

`Responder.on_command(asset_ref, message)` is what a transport calls with each command message
(the embedded platform's in-process transport, or an MQTT subscription to
``metropilot/+/commands``). Answers are gathered and sent in batches through a ``send`` callable
(the platform's ingest pipeline in-process, or the simulator's MQTT or HTTP sink): ``command.ack``
events, then the state metrics the command asked for with ``command.done``, or
``command.failed`` with a message. Some messages are lost on the way (``loss_rate``) to exercise
the platform's retries.
"""

from __future__ import annotations

import heapq
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from metropilot.control.model import CommandType

__all__ = ["Responder", "ResponderConfig", "reported_state"]

log = logging.getLogger(__name__)

JUNCTION_MODE_NUMBERS = {"normal": 0, "flashing_amber": 1, "all_red": 2, "forced_green": 3}


def reported_state(kind: CommandType, params: Mapping[str, Any]) -> dict[str, Any]:
    """The metrics equipment reports once it carried a command out."""
    if kind is CommandType.SET_LIGHT_LEVEL:
        return {"light_level_pct": params["level_pct"]}
    if kind is CommandType.SWITCH_LIGHT:
        return {"light_level_pct": 100 if params["on"] else 0}
    if kind is CommandType.SET_JUNCTION_MODE:
        state: dict[str, Any] = {"junction_mode": JUNCTION_MODE_NUMBERS[params["mode"]]}
        state["junction_approach"] = params.get("approach", 0)
        return state
    if kind is CommandType.SET_BOLLARD:
        return {"bollard_up": params["position"] == "up"}
    if kind is CommandType.SET_DOOR_LOCK:
        return {"door_locked": params["locked"]}
    if kind is CommandType.CAMERA_PRESET:
        return {"camera_preset": params["preset"]}
    return {}


@dataclass(frozen=True, slots=True)
class ResponderConfig:
    ack_delay_s: tuple[float, float] = (0.02, 0.15)  # uniform, per command
    work_delay_s: tuple[float, float] = (0.05, 0.6)  # after the acknowledgement
    failure_rate: float = 0.01  # a lamp driver that does not answer, a jammed bollard
    loss_rate: float = 0.0  # commands that never reach the equipment
    batch_interval_s: float = 0.02


Item = dict[str, Any]


class Responder:
    """Answers commands on a thread of its own, in batches."""

    def __init__(
        self,
        send: Callable[[Sequence[Item]], object],
        *,
        seed: int = 1,
        config: ResponderConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._send = send
        self._config = config or ResponderConfig()
        self._rng = random.Random(seed)  # noqa: S311 (a simulation, not secrets)
        self._clock = clock
        self._due: list[tuple[float, int, Item]] = []
        self._sequence = 0
        self._lock = threading.Condition()
        self._stopping = False
        self.received = 0
        self.answered = 0
        self._thread = threading.Thread(target=self._run, name="command-responder", daemon=True)
        self._thread.start()

    def on_command(self, asset_ref: str, message: Mapping[str, Any]) -> None:
        try:
            kind = CommandType(message["type"])
            command_id = int(message["command"])
            params = dict(message.get("params") or {})
        except (KeyError, TypeError, ValueError):
            log.warning("simulated %s: a command message it cannot read: %r", asset_ref, message)
            return
        cfg = self._config
        with self._lock:
            self.received += 1
            if self._rng.random() < cfg.loss_rate:
                return  # lost on the way: the platform will send it again
            now = self._clock()
            acked = now + self._rng.uniform(*cfg.ack_delay_s)
            finished = acked + self._rng.uniform(*cfg.work_delay_s)
            failed = self._rng.random() < cfg.failure_rate
            self._push(acked, _event(asset_ref, "command.ack", {"command": command_id}))
            if failed:
                answer = _event(
                    asset_ref,
                    "command.failed",
                    {"command": command_id, "message": "the equipment did not respond as asked"},
                )
                self._push(finished, answer)
            else:
                state = reported_state(kind, params)
                if state:
                    self._push(finished, {"asset": asset_ref, "metrics": state})
                self._push(finished, _event(asset_ref, "command.done", {"command": command_id}))
            self._lock.notify()

    def _push(self, due: float, item: Item) -> None:
        self._sequence += 1
        heapq.heappush(self._due, (due, self._sequence, item))

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._stopping and (not self._due or self._due[0][0] > self._clock()):
                    wait = self._due[0][0] - self._clock() if self._due else None
                    self._lock.wait(timeout=wait)
                if self._stopping:
                    return
                # Gather what falls due within one batch interval.
                horizon = self._clock() + self._config.batch_interval_s
                batch = []
                while self._due and self._due[0][0] <= horizon:
                    batch.append(heapq.heappop(self._due)[2])
            stamp = datetime.now(UTC).isoformat()
            items = [{**item, "ts": stamp} for item in batch]
            try:
                self._send(items)
                with self._lock:
                    self.answered += sum(1 for item in batch if "event" in item)
            except Exception:
                log.exception("simulated equipment could not send its answers")

    def pending(self) -> int:
        with self._lock:
            return len(self._due)

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            self._lock.notify()
        self._thread.join(5)


def _event(asset_ref: str, code: str, payload: dict[str, Any]) -> Item:
    return {"asset": asset_ref, "event": {"code": code, "payload": payload}}
