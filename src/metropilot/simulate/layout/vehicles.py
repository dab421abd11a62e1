"""The service fleet: vehicles parked at their depot or out on the streets."""

from __future__ import annotations

import random
from typing import Any

import shapely

from metropilot.assets.model import AssetDraft, AssetKind
from metropilot.simulate.layout.common import iso_day
from metropilot.simulate.layout.context import Build
from metropilot.simulate.layout.places import Place

VEHICLE_TYPES: tuple[tuple[str, float, str], ...] = (
    ("van", 34, "Fourgon"),
    ("car", 20, "Voiture"),
    ("truck", 12, "Camion"),
    ("bucket_truck", 8, "Nacelle"),
    ("street_sweeper", 8, "Balayeuse"),
    ("gritter", 7, "Saleuse"),
    ("motorbike", 4, "Moto"),
    ("bicycle", 7, "Vélo"),
)
FUELS: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {
    "van": (("diesel", "electric", "gas"), (6, 3, 1)),
    "car": (("electric", "hybrid", "petrol"), (5, 3, 2)),
    "truck": (("diesel", "gas"), (4, 1)),
    "bucket_truck": (("diesel", "electric"), (4, 1)),
    "street_sweeper": (("diesel", "electric", "gas"), (3, 2, 1)),
    "gritter": (("diesel",), (1,)),
    "motorbike": (("petrol", "electric"), (1, 1)),
    "bicycle": (("muscle", "electric"), (1, 1)),
}
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTVWXYZ"


def vehicles(build: Build, buildings: list[AssetDraft]) -> list[AssetDraft]:
    """Service vehicles, most parked at a depot, the others out on the streets."""
    rng = build.rng("vehicles")
    depots = [d for d in buildings if d.attributes.get("building_type") == "depot"]
    if not depots:  # too few buildings for a depot: the fleet parks at the city's town hall
        city_hall = f"BLD-{build.places[build.city].insee}-001"
        depots = [d for d in buildings if d.external_ref == city_hall]
    depot_place = {d.external_ref: place_of(build, d) for d in depots}
    out_weights = [float(p.street_length) for p in build.places]
    plates: set[str] = set()
    drafts: list[AssetDraft] = []
    for number in range(1, build.counts[AssetKind.VEHICLE] + 1):
        vehicle_type, _, label = rng.choices(VEHICLE_TYPES, [w for _, w, _ in VEHICLE_TYPES])[0]
        fuels, fuel_weights = FUELS[vehicle_type]
        fuel = rng.choices(fuels, fuel_weights)[0]
        plate = _plate(rng)
        while plate in plates:
            plate = _plate(rng)
        plates.add(plate)
        depot = rng.choice(depots) if depots else None
        if depot is not None and rng.random() < 0.55:
            place = depot_place[depot.external_ref]
            origin = build.plane.to_xy(depot.lon, depot.lat)
            xy = place.near(rng, origin, 5.0, 40.0, place.inner)
        else:
            place = rng.choices(build.places, out_weights)[0]
            xy, _ = place.street_point(rng)
        attributes: dict[str, Any] = {
            "vehicle_type": vehicle_type,
            "fuel": fuel,
            "install_date": iso_day(rng, 2012, 2024),
        }
        if vehicle_type != "bicycle":
            attributes["registration"] = plate
        if depot is not None:
            attributes["home_base"] = (depot.name or depot.external_ref)[:120]
        name = f"{label} {plate}" if vehicle_type != "bicycle" else f"{label} n°{number}"
        drafts.append(
            build.draft(
                f"VEH-{number:03d}",
                AssetKind.VEHICLE,
                xy,
                attributes,
                "metropole-fleet",
                name=name,
            )
        )
    return drafts


def place_of(build: Build, draft: AssetDraft) -> Place:
    xy = build.plane.to_xy(draft.lon, draft.lat)
    for place in build.places:
        if shapely.contains_xy(place.cell, *xy):
            return place
    return build.places[build.city]


def _plate(rng: random.Random) -> str:
    """A French SIV registration such as ``GA-123-BC`` (no I, O or U)."""
    letters = "".join(rng.choice(PLATE_LETTERS) for _ in range(4))
    return f"{letters[:2]}-{rng.randint(1, 999):03d}-{letters[2:]}"
