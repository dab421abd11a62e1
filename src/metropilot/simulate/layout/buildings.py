"""Public buildings: a town hall per commune, schools, museums, the metropolitan depot."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import shapely
from shapely.geometry import Point

from metropilot.assets.model import AssetDraft, AssetKind
from metropilot.simulate.layout.common import apportion, iso_day
from metropilot.simulate.layout.context import Build
from metropilot.simulate.layout.names import StreetNamer, name_list, of_name
from metropilot.simulate.layout.places import Place

BUILDING_TYPES: tuple[tuple[str, float], ...] = (
    ("school", 32),
    ("nursery", 9),
    ("gymnasium", 12),
    ("library", 7),
    ("museum", 3),
    ("office", 8),
    ("depot", 4),
    ("cultural", 10),
    ("social", 10),
    ("other", 5),
)
CITY_FIRST_BUILDINGS = ("depot", "museum", "museum", "library", "museum")
BUILDING_KINDS = [kind for kind, _ in BUILDING_TYPES]
BUILDING_WEIGHTS = [weight for _, weight in BUILDING_TYPES]
SUPERVISION: dict[str, list[str]] = {
    "town_hall": ["fire", "intrusion", "access_control"],
    "school": ["fire", "intrusion"],
    "nursery": ["fire", "intrusion", "access_control"],
    "gymnasium": ["fire", "intrusion"],
    "library": ["fire", "intrusion"],
    "museum": ["fire", "intrusion", "access_control"],
    "office": ["fire", "access_control"],
    "depot": ["fire", "intrusion", "access_control"],
    "cultural": ["fire", "intrusion"],
    "social": ["fire"],
    "other": ["fire"],
}
MUSEUMS = name_list(
    """
    Musée des Beaux-Arts, Musée archéologique, Musée de la Vie bourguignonne, Musée d'Art sacré,
    Muséum d'histoire naturelle, Musée Magnin
    """
)
NURSERIES = name_list(
    """
    Les Petits Loups, Les Lutins, Les Coccinelles, Les Marmousets, Pomme d'Api, Les Libellules,
    Les P'tits Mômes, Arc-en-ciel
    """
)


def buildings(build: Build) -> list[AssetDraft]:
    """One town hall per commune (largest first when the budget is short), then public
    buildings in proportion to population. The city's first one is the metropolitan depot,
    where the fleet is based: it is kept even when the budget is short, from two buildings.
    """
    total = build.counts[AssetKind.BUILDING]
    order = sorted(range(len(build.places)), key=lambda i: (-build.places[i].seed.population, i))
    with_hall = set(order[: min(len(order), total - 1) if total > 1 else total])
    rest = (
        apportion(total - len(with_hall), [p.seed.population for p in build.places])
        if total > len(with_hall)
        else [0] * len(build.places)
    )
    drafts: list[AssetDraft] = []
    for index, place in enumerate(build.places):
        rng = build.rng("buildings", place.insee)
        namer = StreetNamer(build.rng("building-names", place.insee))
        kinds: list[str] = []
        if index in with_hall:
            kinds.append("town_hall")
        # The city has the metropolitan depot and the museums; every town has a school.
        first = CITY_FIRST_BUILDINGS if index == build.city else ("school",)
        for k in range(rest[index]):
            kind = first[k] if k < len(first) else rng.choices(BUILDING_KINDS, BUILDING_WEIGHTS)[0]
            if kind == "museum" and index != build.city:
                kind = "cultural"
            kinds.append(kind)
        depot = "métropolitain" if index == build.city else of_name(place.seed.name)
        first_names = {"museum": iter(MUSEUMS), "depot": iter([f"Centre technique {depot}"])}
        for number, kind in enumerate(kinds, start=1):
            if kind == "town_hall":
                xy = place.near(rng, place.anchor, 5.0, 20.0, place.deep)
                line = int(shapely.STRtree(place.lines).nearest(Point(xy)))
            else:
                street_xy, line = place.street_point(
                    rng, within=0.8 * place.town_radius, main=False
                )
                xy = place.setback(rng, street_xy, line, rng.uniform(10.0, 20.0))
            name = building_name(build, kind, place, namer, rng, first_names)
            address = f"{rng.randint(1, 120)} {place.line_names[line]}, {place.seed.name}"
            attributes: dict[str, Any] = {
                "building_type": kind,
                "supervision": list(SUPERVISION[kind]),
                "floors": 2 if kind == "town_hall" else rng.randint(1, 4),
                "address": address[:200],
                "install_date": iso_day(rng, 1960, 2022),
            }
            drafts.append(
                build.draft(
                    f"BLD-{place.insee}-{number:03d}",
                    AssetKind.BUILDING,
                    xy,
                    attributes,
                    "metropole-buildings",
                    name=name,
                )
            )
    return drafts


def building_name(
    build: Build,
    kind: str,
    place: Place,
    namer: StreetNamer,
    rng: random.Random,
    first_names: dict[str, Iterator[str]],
) -> str:
    town = place.seed.name
    person = namer.body()
    if kind == "town_hall":
        if place is build.places[build.city]:
            return f"Hôtel de ville {of_name(town)}"
        return f"Mairie {of_name(town)}"
    if kind == "school":
        level = rng.choice(("élémentaire", "maternelle", "primaire"))
        return f"École {level} {person}"
    if kind == "nursery":
        return f"Crèche {rng.choice(NURSERIES)}"
    if kind == "gymnasium":
        return f"Gymnase {person}"
    if kind == "library":
        return f"Médiathèque {person}"
    if kind == "museum":
        return next(first_names["museum"], f"Musée {person}")
    if kind == "office":
        return f"Centre administratif {person}"
    if kind == "depot":
        return next(first_names["depot"], f"Dépôt {person}")
    if kind == "cultural":
        kind_name = rng.choice(("Centre culturel", "Salle des fêtes", "Espace"))
        return f"{kind_name} {person}"
    if kind == "social":
        kind_name = rng.choice(("Centre social", "Maison des seniors", "Maison de quartier"))
        return f"{kind_name} {person}"
    return f"Salle polyvalente {person}"
