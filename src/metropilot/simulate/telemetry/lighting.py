"""Street lights and their cabinets: burning, energy counters, failures, supply losses."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from metropilot.simulate.telemetry.city import SimAsset
from metropilot.simulate.telemetry.clock import DAY_MS, hours_ms
from metropilot.simulate.telemetry.daylight import LightingCalendar
from metropilot.simulate.telemetry.scheduler import (
    CABINET,
    CABINET_DOOR,
    CABINET_DOOR_CLOSED,
    LAMP,
    LAMP_BOOT,
    LAMP_FAILS,
    LAMP_REPAIRED,
    SUPPLY_BACK,
    SUPPLY_LOST,
    Behaviour,
    Item,
    Scheduler,
)

LAMP_HOURS_PER_YEAR = 4_100.0  # typical burning hours of French public lighting
LED_MEAN_LEVEL = 0.73  # the default dimming profile's mean level over a year at Dijon


class Lighting(Behaviour):
    """Lamps and the cabinets feeding them (a supply loss darkens a cabinet's lamps)."""

    def __init__(
        self,
        scheduler: Scheduler,
        cabinets: list[SimAsset],
        lamps: list[SimAsset],
        calendars: Mapping[str, LightingCalendar],
        counters: Mapping[str, Mapping[str, float]],
    ) -> None:
        super().__init__(scheduler)
        self._calendars = calendars
        self._setup_cabinets(cabinets)
        self._setup_lamps(lamps, counters)
        self._setup_cabinet_counters(counters)
        scheduler.on(LAMP, self._lamp_report)
        scheduler.on(LAMP_FAILS, self._lamp_fails)
        scheduler.on(LAMP_REPAIRED, self._lamp_repaired)
        scheduler.on(LAMP_BOOT, self._lamp_boot)
        scheduler.on(CABINET, self._cabinet_report)
        scheduler.on(SUPPLY_LOST, self._supply_lost)
        scheduler.on(SUPPLY_BACK, self._supply_back)
        scheduler.on(CABINET_DOOR, self._cabinet_door)
        scheduler.on(CABINET_DOOR_CLOSED, self._cabinet_door_closed)
        cfg = self.config
        f = cfg.incident_factor
        day = float(DAY_MS)
        lamp_count = len(self._lamp_ref)
        scheduler.add_process(
            LAMP_FAILS,
            lamp_count / 10_000 * cfg.lamp_failures_per_10k_per_day * f / day,
            self._rng["lamps"],
        )
        scheduler.add_process(
            SUPPLY_LOST,
            len(self._cab_ref) * cfg.supply_losses_per_cabinet_per_day * f / day,
            self._rng["cabinets"],
        )
        scheduler.add_process(
            CABINET_DOOR,
            sum(self._cab_reports) * cfg.cabinet_doors_per_day * f / day,
            self._rng["cabinets"],
        )

    def _setup_cabinets(self, cabinets: list[SimAsset]) -> None:
        self._cab_ref = [a.ref for a in cabinets]
        self._cab_index = {a.ref: k for k, a in enumerate(cabinets)}
        self._cab_reports = [bool(a.attributes.get("remote_managed", True)) for a in cabinets]
        self._cab_managed = [k for k, reports in enumerate(self._cab_reports) if reports]
        self._cab_calendar = [self._calendars[a.commune] for a in cabinets]
        n = len(cabinets)
        self._cab_down = [False] * n
        self._cab_door_until = [0] * n
        self._cab_dimmable_w = [0.0] * n  # nominal power of its working dimmable lamps
        self._cab_fixed_w = [0.0] * n  # … and of its working non-dimmable lamps
        self._cab_energy = [0.0] * n
        self._cab_last = [(0.0, 0.0)] * n  # calendar integrals at the last accrual
        self._cab_lamps: list[list[int]] = [[] for _ in range(n)]

    def _setup_lamps(
        self, lamps: list[SimAsset], counters: Mapping[str, Mapping[str, float]]
    ) -> None:
        rng = self._rng["counters"]
        start_day = datetime.fromtimestamp(self.start_ms / 1000, UTC).date()
        self._lamp_ref = [a.ref for a in lamps]
        self._lamp_calendar = [self._calendars[a.commune] for a in lamps]
        self._lamp_nominal: list[float] = []
        self._lamp_dimmable: list[bool] = []
        self._lamp_cab: list[int] = []
        self._lamp_energy: list[float] = []
        self._lamp_hours: list[float] = []
        self._lamp_last: list[tuple[float, float]] = []
        for index, asset in enumerate(lamps):
            attributes = asset.attributes
            nominal = float(attributes.get("nominal_power_w", 50.0))
            technology = str(attributes.get("lamp_technology", "LED"))
            dimmable = bool(attributes.get("dimmable", technology == "LED"))
            cabinet = self._cab_index.get(asset.parent, -1) if asset.parent else -1
            # The lamp's node counts from its install, at most ten years back (relamping).
            years = min(_years_since(attributes.get("install_date"), start_day), 10.0)
            hours = years * LAMP_HOURS_PER_YEAR * rng.uniform(0.97, 1.03)
            energy = hours * nominal * (LED_MEAN_LEVEL if dimmable else 1.0)
            known = counters.get(asset.ref, {})
            hours = float(known.get("operating_hours", hours))
            energy = float(known.get("energy_wh", energy))
            _, level_h, on_h = self._lamp_calendar[index].state(self.start_ms)
            self._lamp_nominal.append(nominal)
            self._lamp_dimmable.append(dimmable)
            self._lamp_cab.append(cabinet)
            self._lamp_energy.append(energy)
            self._lamp_hours.append(hours)
            self._lamp_last.append((level_h, on_h))
            if cabinet >= 0:
                self._cab_lamps[cabinet].append(index)
                if dimmable:
                    self._cab_dimmable_w[cabinet] += nominal
                else:
                    self._cab_fixed_w[cabinet] += nominal
                self._cab_energy[cabinet] += energy
        self._lamp_failed_at = [-1] * len(lamps)  # failure instant, -1 when it works
        self._lamp_failed_on_h = [0.0] * len(lamps)  # burning integral at the failure
        self._schedule_periodic(LAMP, [self.config.lamp_interval_s] * len(lamps))

    def _setup_cabinet_counters(self, counters: Mapping[str, Mapping[str, float]]) -> None:
        for index, ref in enumerate(self._cab_ref):
            known = counters.get(ref, {})
            if "energy_wh" in known:
                self._cab_energy[index] = float(known["energy_wh"])
            _, level_h, on_h = self._cab_calendar[index].state(self.start_ms)
            self._cab_last[index] = (level_h, on_h)
        self._schedule_periodic(CABINET, [self.config.cabinet_interval_s] * len(self._cab_ref))

    # ----------------------------------------------------------------- street lights

    def _lamp_accrue(self, i: int, t: int) -> tuple[float, float, float]:
        """Bring the lamp's energy and hours up to ``t``; returns the calendar state there."""
        _, level_h, on_h = state = self._lamp_calendar[i].state(t)
        cab = self._lamp_cab[i]
        if self._lamp_failed_at[i] < 0 and (cab < 0 or not self._cab_down[cab]):
            last_level_h, last_on_h = self._lamp_last[i]
            burnt = on_h - last_on_h
            if burnt > 0:
                self._lamp_hours[i] += burnt
                if self._lamp_dimmable[i]:
                    self._lamp_energy[i] += self._lamp_nominal[i] * (level_h - last_level_h) / 100
                else:
                    self._lamp_energy[i] += self._lamp_nominal[i] * burnt
        self._lamp_last[i] = (level_h, on_h)
        return state

    def _lamp_item(self, i: int, t: int) -> Item | None:
        level, _, on_h = self._lamp_accrue(i, t)
        cab = self._lamp_cab[i]
        down = cab >= 0 and self._cab_down[cab]
        silent = self.config.lamps_silent_on_supply_loss
        if down and silent:
            return None
        failed_at = self._lamp_failed_at[i]
        # A failure shows once the lamp has been asked to light since it happened.
        failure = failed_at >= 0 and (level > 0 or on_h > self._lamp_failed_on_h[i])
        if down or failure or level <= 0:
            power = light = 0.0
        elif self._lamp_dimmable[i]:
            light = level
            power = round(self._lamp_nominal[i] * level / 100, 1)
        else:
            light, power = 100.0, self._lamp_nominal[i]
        metrics: dict[str, Any] = {
            "power_w": power,
            "light_level_pct": light,
            "energy_wh": round(self._lamp_energy[i], 1),
            "operating_hours": round(self._lamp_hours[i], 2),
            "lamp_failure": failure,
        }
        if not silent:
            metrics["supply_loss"] = down
        return {"asset": self._lamp_ref[i], "ts": self._iso(t), "metrics": metrics}

    def _lamp_boot(self, t: int, i: int, out: list[Item]) -> None:
        """A node reporting as it powers up again after a supply loss."""
        item = self._lamp_item(i, t)
        if item is not None:
            out.append(item)

    def _lamp_report(self, t: int, i: int, out: list[Item]) -> None:
        item = self._lamp_item(i, t)
        if item is not None:
            out.append(item)

    def _cab_accrue(self, c: int, t: int) -> tuple[float, float, float]:
        _, level_h, on_h = state = self._cab_calendar[c].state(t)
        if not self._cab_down[c]:
            last_level_h, last_on_h = self._cab_last[c]
            self._cab_energy[c] += self._cab_dimmable_w[c] * (level_h - last_level_h) / 100
            self._cab_energy[c] += self._cab_fixed_w[c] * (on_h - last_on_h)
        self._cab_last[c] = (level_h, on_h)
        return state

    def _lamp_fails(self, t: int, _index: int, out: list[Item]) -> None:
        self._next_incident(LAMP_FAILS, t)
        rng = self._rng["lamps"]
        i = self._pick(rng, range(len(self._lamp_ref)), lambda k: self._lamp_failed_at[k] >= 0)
        if i < 0:
            return
        level, _, on_h = self._lamp_accrue(i, t)
        cab = self._lamp_cab[i]
        if cab >= 0:
            self._cab_accrue(cab, t)
            self._cab_watts(cab, i, -1.0)
        self._lamp_failed_at[i] = t
        self._lamp_failed_on_h[i] = on_h
        self.stats["lamp_failure"] += 1
        self._at(t + hours_ms(rng, self.config.lamp_repair_hours), LAMP_REPAIRED, i)
        if level > 0:  # seen at once while lit; otherwise at the next switch-on
            item = self._lamp_item(i, t)
            if item is not None:
                out.append(item)

    def _cab_watts(self, cab: int, lamp: int, sign: float) -> None:
        if self._lamp_dimmable[lamp]:
            self._cab_dimmable_w[cab] = max(
                0.0, self._cab_dimmable_w[cab] + sign * self._lamp_nominal[lamp]
            )
        else:
            self._cab_fixed_w[cab] = max(
                0.0, self._cab_fixed_w[cab] + sign * self._lamp_nominal[lamp]
            )

    def _lamp_repaired(self, t: int, i: int, out: list[Item]) -> None:
        self._lamp_accrue(i, t)
        cab = self._lamp_cab[i]
        if cab >= 0:
            self._cab_accrue(cab, t)
            self._cab_watts(cab, i, 1.0)
        self._lamp_failed_at[i] = -1
        self.stats["lamp_repaired"] += 1
        item = self._lamp_item(i, t)  # the technician's test
        if item is not None:
            out.append(item)

    # ----------------------------------------------------------------- cabinets

    def _cabinet_item(self, c: int, t: int, *, door: bool | None = None) -> Item:
        level, _, _ = self._cab_accrue(c, t)
        if self._cab_down[c] or level <= 0:
            power = 0.0
        else:
            power = self._cab_dimmable_w[c] * level / 100 + self._cab_fixed_w[c]
        metrics: dict[str, Any] = {
            "power_w": round(power, 1),
            "energy_wh": round(self._cab_energy[c], 1),
            "supply_loss": self._cab_down[c],
            "door_open": self._cab_door_until[c] > t if door is None else door,
        }
        return self._reading(self._cab_ref[c], t, metrics)

    def _cabinet_report(self, t: int, c: int, out: list[Item]) -> None:
        if self._cab_reports[c]:
            out.append(self._cabinet_item(c, t))
        else:
            self._cab_accrue(c, t)

    def _supply_lost(self, t: int, _index: int, out: list[Item]) -> None:
        self._next_incident(SUPPLY_LOST, t)
        rng = self._rng["cabinets"]
        c = self._pick(rng, range(len(self._cab_ref)), lambda k: self._cab_down[k])
        if c < 0:
            return
        self._cab_accrue(c, t)
        for lamp in self._cab_lamps[c]:
            self._lamp_accrue(lamp, t)
        self._cab_down[c] = True
        self.stats["supply_loss"] += 1
        self._at(t + hours_ms(rng, self.config.supply_loss_hours), SUPPLY_BACK, c)
        if self._cab_reports[c]:  # the cabinet's modem runs on its battery
            out.append(self._cabinet_item(c, t))
        if not self.config.lamps_silent_on_supply_loss:
            for lamp in self._cab_lamps[c]:  # the nodes' last gasp
                item = self._lamp_item(lamp, t)
                if item is not None:
                    out.append(item)

    def _supply_back(self, t: int, c: int, out: list[Item]) -> None:
        self._cab_accrue(c, t)
        for lamp in self._cab_lamps[c]:
            self._lamp_accrue(lamp, t)
        self._cab_down[c] = False
        if self._cab_reports[c]:
            out.append(self._cabinet_item(c, t))
        rng = self._rng["cabinets"]
        for lamp in self._cab_lamps[c]:  # each node boots and reports within two minutes
            self._at(t + 1000 + int(rng.random() * 119_000), LAMP_BOOT, lamp)

    def _cabinet_door(self, t: int, _index: int, out: list[Item]) -> None:
        self._next_incident(CABINET_DOOR, t)
        rng = self._rng["cabinets"]
        c = self._pick(rng, self._cab_managed, lambda k: self._cab_door_until[k] > t)
        if c < 0:
            return
        until = t + int(rng.uniform(*self.config.cabinet_door_minutes) * 60_000)
        self._cab_door_until[c] = until
        self.stats["door_open"] += 1
        self._at(until, CABINET_DOOR_CLOSED, c)
        out.append(self._event(self._cab_ref[c], t, "door_open", {"door": "cabinet"}))
        out.append(self._cabinet_item(c, t, door=True))

    def _cabinet_door_closed(self, t: int, c: int, out: list[Item]) -> None:
        if self._cab_door_until[c] == t:
            out.append(self._cabinet_item(c, t, door=False))


def _years_since(install: Any, today: date) -> float:
    try:
        installed = date.fromisoformat(str(install))
    except ValueError:
        return 5.0
    return max((today - installed).days, 0) / 365.25
