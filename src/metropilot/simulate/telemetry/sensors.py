"""Sensors following daily cycles: air quality, parking, charging, noise, weather, floods."""

from __future__ import annotations

import math
from typing import Any

from metropilot.simulate.telemetry.city import SimAsset
from metropilot.simulate.telemetry.scheduler import SENSOR, Behaviour, Item, Scheduler


class Sensors(Behaviour):
    """Each sensor subtype's metrics, from the time of day, the season and the day's weather."""

    def __init__(self, scheduler: Scheduler, sensors: list[SimAsset]) -> None:
        super().__init__(scheduler)
        cfg = self.config
        rng = self._rng["sensors"]
        self._sensors = sensors
        intervals = [
            float(a.attributes.get("reporting_interval_s") or cfg.sensor_interval_s)
            for a in sensors
        ]
        self._sensor_site = [rng.uniform(0.8, 1.3) for _ in sensors]
        self._sensor_level = [rng.uniform(15.0, 60.0) for _ in sensors]  # flood gauges' base
        self._schedule_periodic(SENSOR, intervals)
        scheduler.on(SENSOR, self._sensor_report)

    def _sensor_report(self, t: int, s: int, out: list[Item]) -> None:
        asset = self._sensors[s]
        out.append(self._reading(asset.ref, t, self._sensor_metrics(s, asset, t)))

    def _sensor_metrics(self, s: int, asset: SimAsset, t: int) -> dict[str, Any]:
        rng = self._rng["sensors"]
        local = self._local
        day = local.day(t)
        weekday, doy = local.day_facts(day)
        h = local.hour(t)
        working = weekday < 5
        rush = math.exp(-(((h - 8.5) / 1.5) ** 2)) + 0.8 * math.exp(-(((h - 18.5) / 2.0) ** 2))
        if not working:
            rush *= 0.5
        daytime = 1.0 / (1.0 + math.exp(-(h - 7.0) * 2)) - 1.0 / (1.0 + math.exp(-(h - 21) * 2))
        winter = 0.5 + 0.5 * math.cos(math.tau * (doy - 15) / 365.25)
        attributes = asset.attributes
        subtype = asset.subtype
        if subtype == "air_quality":
            episode = self._day_value("episode", day, lambda r: r.lognormvariate(0.0, 0.3))
            site = self._sensor_site[s] * episode
            no2 = (10 + 32 * rush) * site * (0.9 + 0.3 * winter) + rng.gauss(0, 2)
            heating = winter * (1 - daytime)
            pm10 = (13 + 7 * winter + 6 * rush + 6 * heating) * site + rng.gauss(0, 1.5)
            pm10 = max(pm10, 2.0)
            sunny = max(0.0, math.sin(math.pi * (h - 7) / 13)) if 7 <= h <= 20 else 0.0
            o3 = (35 + 65 * (1 - winter) * sunny) * episode - 0.4 * no2 + rng.gauss(0, 3)
            values = {
                "no2": max(no2, 1.0),
                "pm10": pm10,
                "pm2_5": pm10 * (0.55 + 0.15 * winter),
                "o3": max(o3, 2.0),
            }
            pollutants = attributes.get("pollutants") or ("no2", "pm10", "pm2_5")
            return {name: round(values[name], 1) for name in pollutants if name in values}
        if subtype in ("parking", "delivery_bay"):
            bays = max(1, int(attributes.get("bay_count") or 10))
            if subtype == "parking":
                busy = 0.25 + 0.6 * daytime * (0.8 if working else 0.6) + 0.1 * rush
            else:
                busy = 0.05 + (0.65 if working and 6.5 <= h < 12.5 else 0.25) * daytime
            busy = min(max(busy + rng.gauss(0, 0.05), 0.0), 1.0)
            if bays <= 20:
                occupied = sum(1 for _ in range(bays) if rng.random() < busy)
            else:
                occupied = min(bays, max(0, round(bays * busy + rng.gauss(0, bays**0.5))))
            return {"occupancy": occupied}
        if subtype == "ev_charger":
            connectors = max(1, int(attributes.get("connector_count") or 2))
            max_kw = float(attributes.get("max_power_kw") or 22.0)
            share = 0.15 + 0.45 * daytime
            in_use = sum(1 for _ in range(connectors) if rng.random() < share)
            kw = sum(max_kw * rng.uniform(0.3, 1.0) for _ in range(in_use))
            return {"occupancy": in_use, "charging_kw": round(min(kw, max_kw * connectors), 1)}
        if subtype == "noise":
            db = 44 + 18 * daytime + 6 * rush + rng.gauss(0, 1.5)
            return {"noise_db": round(min(max(db, 20.0), 120.0), 1)}
        if subtype == "weather":
            anomaly = self._day_value("weather", day, lambda r: r.gauss(0.0, 3.0))
            mean = 11.5 - 9.5 * math.cos(math.tau * (doy - 15) / 365.25)
            temperature = mean + anomaly + 5.0 * math.cos(math.tau * (h - 15) / 24)
            temperature += rng.gauss(0, 0.3)
            humidity = 75 - 2.5 * (temperature - mean - anomaly) + 10 * winter + rng.gauss(0, 2)
            return {
                "temperature_c": round(temperature, 1),
                "humidity_pct": round(min(max(humidity, 15.0), 100.0), 1),
            }
        if subtype == "flood":
            anomaly = self._day_value("weather", day, lambda r: r.gauss(0.0, 3.0))
            level = self._sensor_level[s] * (1 + 0.3 * winter) + 2.0 * anomaly
            return {"water_level_cm": round(max(level + rng.gauss(0, 0.5), 0.0), 1)}
        if subtype == "traffic_counter":
            occupancy = 0.03 + 0.3 * rush + 0.08 * daytime + rng.gauss(0, 0.02)
            occupancy = min(max(occupancy, 0.0), 1.0)
            speed = max(5.0, 50.0 * (1 - 1.4 * occupancy) + rng.gauss(0, 2))
            return {"occupancy": round(occupancy, 3), "speed_kmh": round(speed, 1)}
        return {"online": True}
