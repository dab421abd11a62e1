"""Public buildings (intrusion and fire alarms, doors) and bollards."""

from __future__ import annotations

from typing import Any

from metropilot.simulate.telemetry.city import SimAsset
from metropilot.simulate.telemetry.clock import DAY_MS, hours_ms
from metropilot.simulate.telemetry.scheduler import (
    BOLLARD,
    BUILDING,
    BUILDING_DOOR,
    BUILDING_DOOR_AGAIN,
    BUILDING_DOOR_CLOSED,
    FIRE,
    FIRE_END,
    INTRUSION,
    INTRUSION_END,
    Behaviour,
    Item,
    Scheduler,
)

# Share of a week an office building is armed: weeknights 20:00-07:00 and weekends.
ARMED_SHARE = (5 * 11 + 2 * 24) / (7 * 24)


class Buildings(Behaviour):
    """Buildings' alarms and doors, and the bollards' heartbeat."""

    def __init__(
        self, scheduler: Scheduler, buildings: list[SimAsset], bollards: list[SimAsset]
    ) -> None:
        super().__init__(scheduler)
        cfg = self.config
        self._building_ref = [a.ref for a in buildings]
        self._building_watch: list[frozenset[str]] = []
        for asset in buildings:
            supervision = asset.attributes.get("supervision") or ()
            self._building_watch.append(frozenset(str(s) for s in supervision))
        n = len(buildings)
        self._building_intrusion = [False] * n
        self._building_fire = [False] * n
        self._building_door_until = [0] * n
        self._building_door_count = [0] * n
        self._intrusion_watch = [k for k in range(n) if "intrusion" in self._building_watch[k]]
        self._fire_watch = [k for k in range(n) if "fire" in self._building_watch[k]]
        self._door_watch = [k for k in range(n) if "access_control" in self._building_watch[k]]
        self._schedule_periodic(BUILDING, [cfg.building_interval_s] * n)

        self._bollard_ref = [a.ref for a in bollards]
        self._schedule_periodic(BOLLARD, [cfg.bollard_interval_s] * len(bollards))
        scheduler.on(BUILDING, self._building_report)
        scheduler.on(INTRUSION, self._intrusion)
        scheduler.on(INTRUSION_END, self._intrusion_end)
        scheduler.on(FIRE, self._fire)
        scheduler.on(FIRE_END, self._fire_end)
        scheduler.on(BUILDING_DOOR, self._building_door)
        scheduler.on(BUILDING_DOOR_AGAIN, self._building_door_again)
        scheduler.on(BUILDING_DOOR_CLOSED, self._building_door_closed)
        scheduler.on(BOLLARD, self._bollard_report)
        f = cfg.incident_factor
        day = float(DAY_MS)
        scheduler.add_process(
            INTRUSION,
            len(self._intrusion_watch)
            * cfg.intrusions_per_building_per_day
            / ARMED_SHARE
            * f
            / day,
            self._rng["buildings"],
        )
        scheduler.add_process(
            FIRE,
            len(self._fire_watch) * cfg.fires_per_building_per_day * f / day,
            self._rng["buildings"],
        )
        scheduler.add_process(
            BUILDING_DOOR,
            len(self._door_watch) * cfg.building_doors_per_day * f / day,
            self._rng["buildings"],
        )

    def _building_item(self, b: int, t: int) -> Item:
        watch = self._building_watch[b]
        metrics: dict[str, Any] = {"online": True}
        if "intrusion" in watch:
            metrics["intrusion"] = self._building_intrusion[b]
        if "fire" in watch:
            metrics["fire"] = self._building_fire[b]
        if "access_control" in watch:
            metrics["door_open"] = self._building_door_until[b] > t
        return self._reading(self._building_ref[b], t, metrics)

    def _building_report(self, t: int, b: int, out: list[Item]) -> None:
        out.append(self._building_item(b, t))

    def _armed(self, t: int) -> bool:
        weekday, _ = self._local.day_facts(self._local.day(t))
        hour = self._local.hour(t)
        return weekday >= 5 or hour >= 20.0 or hour < 7.0

    def _intrusion(self, t: int, _index: int, out: list[Item]) -> None:
        self._next_incident(INTRUSION, t)
        rng = self._rng["buildings"]
        b = self._pick(rng, self._intrusion_watch, lambda k: self._building_intrusion[k])
        if b < 0 or not self._armed(t):
            return
        self._building_intrusion[b] = True
        self.stats["intrusion"] += 1
        self._at(t + hours_ms(rng, self.config.intrusion_hours), INTRUSION_END, b)
        zone = f"zone {1 + int(rng.random() * 6)}"
        out.append(self._event(self._building_ref[b], t, "intrusion", {"zone": zone}))
        out.append(self._reading(self._building_ref[b], t, {"intrusion": True}))

    def _intrusion_end(self, t: int, b: int, out: list[Item]) -> None:
        self._building_intrusion[b] = False
        out.append(self._reading(self._building_ref[b], t, {"intrusion": False}))

    def _fire(self, t: int, _index: int, out: list[Item]) -> None:
        self._next_incident(FIRE, t)
        rng = self._rng["buildings"]
        b = self._pick(rng, self._fire_watch, lambda k: self._building_fire[k])
        if b < 0:
            return
        self._building_fire[b] = True
        self.stats["fire"] += 1
        self._at(t + hours_ms(rng, self.config.fire_hours), FIRE_END, b)
        detector = f"DI-{1 + int(rng.random() * 40):02d}"
        out.append(self._event(self._building_ref[b], t, "fire", {"detector": detector}))
        out.append(self._reading(self._building_ref[b], t, {"fire": True}))

    def _fire_end(self, t: int, b: int, out: list[Item]) -> None:
        self._building_fire[b] = False
        out.append(self._reading(self._building_ref[b], t, {"fire": False}))

    def _building_door(self, t: int, _index: int, out: list[Item]) -> None:
        self._next_incident(BUILDING_DOOR, t)
        rng = self._rng["buildings"]
        b = self._pick(rng, self._door_watch, lambda k: False)
        if b < 0:
            return
        if rng.random() < self.config.door_burst_share:  # someone tries again and again
            for _ in range(1 + int(rng.random() * 3)):
                self._at(t + int(rng.uniform(20_000, 540_000)), BUILDING_DOOR_AGAIN, b)
        self._building_door_again(t, b, out)

    def _building_door_again(self, t: int, b: int, out: list[Item]) -> None:
        rng = self._rng["buildings"]
        until = t + int(rng.uniform(*self.config.building_door_minutes) * 60_000)
        self._building_door_until[b] = max(self._building_door_until[b], until)
        self._at(self._building_door_until[b], BUILDING_DOOR_CLOSED, b)
        self.stats["door_open"] += 1
        door = f"door {1 + int(rng.random() * 4)}"
        out.append(self._event(self._building_ref[b], t, "door_open", {"door": door}))
        out.append(self._reading(self._building_ref[b], t, {"door_open": True}))

    def _building_door_closed(self, t: int, b: int, out: list[Item]) -> None:
        if self._building_door_until[b] == t:
            self._building_door_until[b] = 0
            out.append(self._reading(self._building_ref[b], t, {"door_open": False}))

    def _bollard_report(self, t: int, b: int, out: list[Item]) -> None:
        out.append(self._reading(self._bollard_ref[b], t, {"online": True}))
