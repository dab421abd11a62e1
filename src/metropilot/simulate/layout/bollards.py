"""Retractable bollards closing the city's pedestrian centre and a few town hall squares."""

from __future__ import annotations

import random

from metropilot.assets.model import AssetDraft, AssetKind
from metropilot.simulate.layout.common import LEAD_CONTRACTOR, XY, iso_day
from metropilot.simulate.layout.context import Build


def bollards(build: Build, buildings: list[AssetDraft]) -> list[AssetDraft]:
    """Retractable bollards closing the city's pedestrian centre, a few at other town halls."""
    total = build.counts[AssetKind.BOLLARD]
    in_city = max(1, round(total * 0.8)) if total > 1 else total
    others = sorted(
        (i for i in range(len(build.places)) if i != build.city),
        key=lambda i: (-build.places[i].seed.population, i),
    )
    halls = {
        d.external_ref.split("-")[1]: d
        for d in buildings
        if d.attributes.get("building_type") == "town_hall"
    }
    drafts: list[AssetDraft] = []
    city = build.places[build.city]
    rng = build.rng("bollards")
    for _ in range(in_city):
        xy, line = city.street_point(rng, within=600.0, main=False)
        street = city.line_names[line]
        drafts.append(bollard(build, len(drafts) + 1, xy, f"Accès {street}", rng, None))
    for k in range(total - in_city):
        place = build.places[others[k % len(others)]] if others else city
        hall = halls.get(place.insee)
        if hall is not None:
            origin = build.plane.to_xy(hall.lon, hall.lat)
            xy = place.near(rng, origin, 8.0, 20.0, place.inner)
            drafts.append(
                bollard(build, len(drafts) + 1, xy, "Parvis de la mairie", rng, hall.external_ref)
            )
        else:
            xy, line = place.street_point(rng, within=300.0)
            drafts.append(
                bollard(build, len(drafts) + 1, xy, f"Accès {place.line_names[line]}", rng, None)
            )
    return drafts


def bollard(
    build: Build, number: int, xy: XY, access: str, rng: random.Random, parent: str | None
) -> AssetDraft:
    attributes = {
        "bollard_type": "retractable",
        "access_point": access[:120],
        "default_position": "up",
        "install_date": iso_day(rng, 2008, 2023),
    }
    return build.draft(
        f"BOL-{number:03d}",
        AssetKind.BOLLARD,
        xy,
        attributes,
        LEAD_CONTRACTOR,
        name=f"Borne {access}",
        parent=parent,
    )
