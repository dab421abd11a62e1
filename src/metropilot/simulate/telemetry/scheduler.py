"""The discrete-event core: one heap of timed events, report groups, incident processes."""

from __future__ import annotations

import heapq
import itertools
import random
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from metropilot.simulate.telemetry.clock import DAY_MS, EPOCH_ORDINAL, LocalTime
from metropilot.simulate.telemetry.config import SimConfig

Item = dict[str, Any]
Handler = Callable[[int, int, list[Item]], None]


# Event codes: what happens at a heap entry.
(
    LAMP,
    LAMP_FAILS,
    LAMP_REPAIRED,
    LAMP_BOOT,
    CABINET,
    SUPPLY_LOST,
    SUPPLY_BACK,
    CABINET_DOOR,
    CABINET_DOOR_CLOSED,
    JUNCTION,
    CONTROLLER_FAULT,
    CONTROLLER_OK,
    CAMERA,
    CAMERA_DOWN,
    CAMERA_UP,
    BUILDING,
    INTRUSION,
    INTRUSION_END,
    FIRE,
    FIRE_END,
    BUILDING_DOOR,
    BUILDING_DOOR_AGAIN,
    BUILDING_DOOR_CLOSED,
    BOLLARD,
    SENSOR,
    VEHICLE,
    GROUP,
) = range(27)

RNG_NAMES = (
    "phase",
    "counters",
    "lamps",
    "cabinets",
    "junctions",
    "cameras",
    "buildings",
    "sensors",
    "vehicles",
)


class Scheduler:
    """The clock, the heap of timed events and the handler of each event code.

    Each kind of equipment is a :class:`Behaviour` that registers its handlers here; events are
    processed in time order, ties in the order they were scheduled.
    """

    def __init__(self, *, start_ms: int, seed: int, config: SimConfig) -> None:
        self.config = config
        self.seed = seed
        self.start_ms = start_ms
        self._now = start_ms
        self.stats: Counter[str] = Counter()
        self.tz = ZoneInfo(config.timezone)
        self.local = LocalTime(self.tz)
        self._heap: list[tuple[int, int, int, int]] = []
        self._seq = itertools.count()
        self._iso_day = -1
        self._iso_prefix = ""
        self._iso_t = -1
        self._iso_text = ""
        self._day_cache: dict[tuple[str, int], float] = {}
        self._handlers: list[Handler] = [_unhandled] * (GROUP + 1)
        self._handlers[GROUP] = self._group
        self._groups: list[tuple[int, int, list[int]]] = []
        # Each kind of randomness draws from its own generator.
        self.rng = {
            name: random.Random(f"metropilot-simulator:{seed}:{name}")  # noqa: S311
            for name in RNG_NAMES
        }
        self._process_rate: dict[int, float] = {}  # events per millisecond
        self._process_rng: dict[int, random.Random] = {}

    def on(self, code: int, handler: Handler) -> None:
        """``handler(t, index, out)`` runs for each event of ``code``."""
        self._handlers[code] = handler

    @property
    def now_ms(self) -> int:
        return self._now

    def advance_ms(self, until: int, limit: int | None = None) -> list[Item]:
        out: list[Item] = []
        heap, handlers = self._heap, self._handlers
        cap = sys.maxsize if limit is None else max(1, limit)
        pop = heapq.heappop
        while heap and heap[0][0] <= until and len(out) < cap:
            t, _, code, index = pop(heap)
            self._now = t
            handlers[code](t, index, out)
        if not heap or heap[0][0] > until:
            self._now = max(self._now, until)
        self.stats["items"] += len(out)
        return out

    def at(self, t: int, code: int, index: int = -1) -> None:
        heapq.heappush(self._heap, (t, next(self._seq), code, index))

    def iso(self, t: int) -> str:
        if t == self._iso_t:  # periodic reports fall on whole seconds, dozens at a time
            return self._iso_text
        self._iso_t = t
        day, rem = divmod(t, DAY_MS)
        if day != self._iso_day:
            self._iso_day = day
            self._iso_prefix = date.fromordinal(EPOCH_ORDINAL + day).isoformat() + "T"
        seconds, millis = divmod(rem, 1000)
        minutes, seconds = divmod(seconds, 60)
        hours, minutes = divmod(minutes, 60)
        self._iso_text = (
            f"{self._iso_prefix}{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}+00:00"
        )
        return self._iso_text

    def reading(self, ref: str, t: int, metrics: dict[str, Any]) -> Item:
        return {"asset": ref, "ts": self.iso(t), "metrics": metrics}

    def event(self, ref: str, t: int, code: str, payload: dict[str, Any]) -> Item:
        return {"asset": ref, "ts": self.iso(t), "event": {"code": code, "payload": payload}}

    def schedule_periodic(
        self, code: int, periods_s: Sequence[float], *, first: int | None = None
    ) -> None:
        """Each asset reports on its own phase, a whole number of seconds into its period.

        Assets sharing a period and a phase form one group and one heap entry, so that a
        report costs a loop step rather than a heap operation.
        """
        phase = self.rng["phase"]
        start = self.start_ms if first is None else first
        groups: dict[tuple[int, int], list[int]] = {}
        for index, period_s in enumerate(periods_s):
            period = max(1, int(period_s))
            groups.setdefault((period, int(phase.random() * period)), []).append(index)
        for (period, offset), members in sorted(groups.items(), key=lambda g: (g[0][1], g[0][0])):
            self._groups.append((code, period * 1000, members))
            self.at(start + offset * 1000, GROUP, len(self._groups) - 1)

    def _group(self, t: int, g: int, out: list[Item]) -> None:
        code, period, members = self._groups[g]
        self.at(t + period, GROUP, g)
        handler = self._handlers[code]
        for index in members:
            handler(t, index, out)

    def day_value(self, name: str, day: int, draw: Callable[[random.Random], float]) -> float:
        """A random value per local day (weather, pollution episode), whatever the event order."""
        key = (name, day)
        value = self._day_cache.get(key)
        if value is None:
            rng = random.Random(f"metropilot-simulator:{self.seed}:{name}:{day}")  # noqa: S311
            value = self._day_cache[key] = draw(rng)
        return value

    # ----------------------------------------------------------------- incidents

    def add_process(self, code: int, rate: float, rng: random.Random) -> None:
        """A random incident: a Poisson process of ``rate`` events per millisecond."""
        self._process_rate[code] = rate
        self._process_rng[code] = rng

    def start_processes(self) -> None:
        """Schedule each process' first incident, in the order they were added."""
        for code in self._process_rate:
            self.next_incident(code, self.start_ms)

    def next_incident(self, code: int, t: int) -> None:
        rate = self._process_rate[code]
        if rate > 0:
            self.at(t + 1 + int(self._process_rng[code].expovariate(rate)), code)


def pick(rng: random.Random, candidates: Sequence[int], busy: Callable[[int], bool]) -> int:
    """A candidate not already in the state, chosen at random; -1 if none was found."""
    if not candidates:
        return -1
    for _ in range(16):
        chosen = candidates[int(rng.random() * len(candidates))]
        if not busy(chosen):
            return chosen
    return -1


def _unhandled(_t: int, _index: int, _out: list[Item]) -> None:
    raise RuntimeError("an event code without a handler was scheduled")


class Behaviour:
    """The equipment of one kind: its state, and handlers the scheduler calls at its events.

    The scheduler's services are bound once here: they run for every item produced.
    """

    _pick = staticmethod(pick)

    def __init__(self, scheduler: Scheduler) -> None:
        self.config = scheduler.config
        self.seed = scheduler.seed
        self.start_ms = scheduler.start_ms
        self.stats = scheduler.stats
        self._rng = scheduler.rng
        self._local = scheduler.local
        self._at = scheduler.at
        self._iso = scheduler.iso
        self._reading = scheduler.reading
        self._event = scheduler.event
        self._next_incident = scheduler.next_incident
        self._schedule_periodic = scheduler.schedule_periodic
        self._day_value = scheduler.day_value
