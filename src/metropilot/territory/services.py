"""Territory use cases: read the communes, import real boundaries, place a point."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shapely.geometry import Point

from metropilot.db.uow import UnitOfWork
from metropilot.shared.actors import Actor
from metropilot.shared.errors import InvalidInput, Problem
from metropilot.shared.events import DomainEvent
from metropilot.territory import repository
from metropilot.territory.model import (
    Commune,
    CommuneLocator,
    area_km2,
    boundary_from_geojson,
    validate_insee,
)

__all__ = [
    "BoundariesImported",
    "import_commune_boundaries",
    "list_communes",
    "locator",
]


@dataclass(frozen=True, kw_only=True)
class BoundariesImported(DomainEvent):
    created: int
    updated: int
    actor: str


def list_communes(uow: UnitOfWork) -> list[Commune]:
    return repository.list_communes(uow.connection)


def locator(uow: UnitOfWork) -> CommuneLocator:
    """A point-in-commune index over the stored boundaries (23 polygons: cheap to build)."""
    return CommuneLocator([(c.insee, c.boundary) for c in repository.list_communes(uow.connection)])


def import_commune_boundaries(
    uow: UnitOfWork, collection: Any, actor: Actor, source: str = "GeoJSON"
) -> tuple[int, int]:
    """Import commune boundaries from a GeoJSON FeatureCollection: all or nothing.

    Each feature needs ``properties.insee`` (or ``code_insee``/``INSEE_COM``, as French open data
    names it) and ``properties.name`` (or ``nom``); ``population`` is optional for a commune
    already known. Returns ``(created, updated)``.
    """
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        raise InvalidInput(f"{source}: expected a GeoJSON FeatureCollection")
    features = collection.get("features")
    if not isinstance(features, list) or not features:
        raise InvalidInput(f"{source}: the FeatureCollection has no features")
    known = {c.insee: c for c in repository.list_communes(uow.connection)}
    parsed: list[Commune] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, feature in enumerate(features):
        where = f"{source} feature {index}"
        try:
            parsed.append(_commune_from_feature(feature, where, known, seen))
        except InvalidInput as exc:
            problems.append(Problem(where, exc.message))
    if problems:
        raise InvalidInput(
            f"{source}: {len(problems)} invalid feature(s), nothing imported; first: "
            f"{problems[0]['message']}",
            details=problems,
        )
    created = sum(repository.save_commune(uow.connection, c) for c in parsed)
    uow.record(
        BoundariesImported(created=created, updated=len(parsed) - created, actor=actor.label())
    )
    return created, len(parsed) - created


def _commune_from_feature(
    feature: Any, where: str, known: dict[str, Commune], seen: set[str]
) -> Commune:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise InvalidInput(f"{where}: not a GeoJSON Feature")
    props = feature.get("properties") or {}
    if not isinstance(props, dict):
        raise InvalidInput(f"{where}: properties must be an object")
    raw_code = props.get("insee") or props.get("code_insee") or props.get("INSEE_COM")
    if raw_code is None:
        raise InvalidInput(f"{where}: properties.insee is required")
    insee = validate_insee(str(raw_code))
    if insee in seen:
        raise InvalidInput(f"{where}: commune {insee} appears twice in the file")
    seen.add(insee)
    boundary = boundary_from_geojson(feature.get("geometry"), f"{where}.geometry")
    previous = known.get(insee)
    name = props.get("name") or props.get("nom") or (previous.name if previous else None)
    if not name:
        raise InvalidInput(f"{where}: properties.name is required for a new commune")
    population = props.get("population", previous.population if previous else None)
    if not isinstance(population, int) or isinstance(population, bool) or population < 0:
        raise InvalidInput(f"{where}: properties.population must be a whole number ≥ 0")
    centre = previous.centre if previous else None
    if centre is None or not boundary.contains(Point(centre)):
        rep = boundary.representative_point()
        centre = (rep.x, rep.y)
    return Commune(
        insee=insee,
        name=str(name),
        population=population,
        boundary=boundary,
        area_km2=area_km2(boundary),
        centre=centre,
    )
