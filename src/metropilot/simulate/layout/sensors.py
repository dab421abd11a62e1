"""Sensors of every subtype, where such a sensor would stand."""

from __future__ import annotations

import math
import random
from typing import Any

from metropilot.assets.model import AssetDraft, AssetKind
from metropilot.simulate.layout.common import LEAD_CONTRACTOR, apportion, iso_day
from metropilot.simulate.layout.context import Build

SENSOR_PLAN: tuple[tuple[str, str, float, str], ...] = (
    # subtype, reference prefix, share, maintainer
    ("parking", "PARK", 0.27, LEAD_CONTRACTOR),
    ("delivery_bay", "DLV", 0.15, LEAD_CONTRACTOR),
    ("air_quality", "AIR", 0.07, "metropole-environment"),
    ("ev_charger", "EV", 0.20, "metropole-roads"),
    ("noise", "NOISE", 0.07, "metropole-environment"),
    ("weather", "WTHR", 0.04, "metropole-environment"),
    ("flood", "FLOOD", 0.05, "metropole-roads"),
    ("traffic_counter", "TRAF", 0.15, LEAD_CONTRACTOR),
)
SENSOR_LABELS = {
    "parking": "Capteur de stationnement",
    "delivery_bay": "Aire de livraison",
    "air_quality": "Station qualité de l'air",
    "ev_charger": "Borne de recharge",
    "noise": "Sonomètre",
    "weather": "Station météo",
    "flood": "Capteur de crue",
    "traffic_counter": "Compteur routier",
}


def sensors(
    build: Build, junctions: list[AssetDraft], buildings: list[AssetDraft]
) -> list[AssetDraft]:
    """Sensors of every subtype, where such a sensor would be: parking and delivery in
    town centres, counters on main roads, weather and flood spread over the territory."""
    total = build.counts[AssetKind.SENSOR]
    minimum = 1 if total >= len(SENSOR_PLAN) else 0
    per_subtype = apportion(total, [share for _, _, share, _ in SENSOR_PLAN], minimum)
    population = [float(p.seed.population) for p in build.places]
    area = [float(p.cell.area) for p in build.places]
    by_commune_j = build.group(junctions)
    by_commune_b = build.group(buildings)
    drafts: list[AssetDraft] = []
    for (subtype, prefix, _, maintainer), count in zip(SENSOR_PLAN, per_subtype, strict=True):
        rng = build.rng("sensors", subtype)
        weights = area if subtype in ("weather", "flood") else population
        if subtype == "air_quality":
            weights = [math.sqrt(p) for p in population]
        for number in range(1, count + 1):
            index = rng.choices(range(len(build.places)), weights)[0]
            place = build.places[index]
            parent: AssetDraft | None = None
            if subtype == "traffic_counter" and by_commune_j[index] and rng.random() < 0.5:
                parent = rng.choice(by_commune_j[index])
            elif subtype == "ev_charger" and by_commune_b[index] and rng.random() < 0.3:
                parent = rng.choice(by_commune_b[index])
            if parent is not None:
                origin = build.plane.to_xy(parent.lon, parent.lat)
                xy = place.near(rng, origin, 8.0, 20.0, place.inner)
                label = parent.name or parent.external_ref
            else:
                within = (
                    0.4 * place.town_radius
                    if subtype in ("parking", "delivery_bay", "ev_charger", "noise")
                    else None
                )
                main = True if subtype in ("traffic_counter", "noise") else None
                xy, line = place.street_point(rng, within=within, main=main)
                label = place.line_names[line]
            attributes = _sensor_attributes(subtype, rng)
            drafts.append(
                build.draft(
                    f"SEN-{prefix}-{number:04d}",
                    AssetKind.SENSOR,
                    xy,
                    attributes,
                    maintainer,
                    name=f"{SENSOR_LABELS[subtype]} {label}"[:200],
                    parent=parent.external_ref if parent is not None else None,
                    subtype=subtype,
                )
            )
    return drafts


def _sensor_attributes(subtype: str, rng: random.Random) -> dict[str, Any]:
    attributes: dict[str, Any] = {"install_date": iso_day(rng, 2018, 2024)}
    if subtype == "parking":
        car_park = rng.random() < 0.6
        attributes["bay_count"] = rng.randint(40, 600) if car_park else rng.randint(4, 20)
        attributes["reporting_interval_s"] = 60
    elif subtype == "delivery_bay":
        attributes["bay_count"] = rng.randint(1, 3)
        attributes["reporting_interval_s"] = 30
    elif subtype == "air_quality":
        pollutants = ["no2", "pm10", "pm2_5"]
        if rng.random() < 0.5:
            pollutants.append("o3")
        attributes["pollutants"] = pollutants
        attributes["reporting_interval_s"] = 900
    elif subtype == "ev_charger":
        attributes["connector_count"] = rng.choice((2, 2, 2, 4))
        attributes["max_power_kw"] = rng.choices((22.0, 50.0, 150.0), (7, 2, 1))[0]
        attributes["reporting_interval_s"] = 300
    elif subtype == "weather":
        attributes["reporting_interval_s"] = 600
    elif subtype == "flood":
        attributes["reporting_interval_s"] = 300
    else:
        attributes["reporting_interval_s"] = 60
    return attributes
