"""Territory use cases: read the communes, import real boundaries, place a point."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from shapely.geometry import Point

from metropilot.db.uow import UnitOfWork
from metropilot.shared.actors import Actor
from metropilot.shared.audit import AuditEntry
from metropilot.shared.errors import InvalidInput, Problem
from metropilot.shared.geo import BBox
from metropilot.territory import repository
from metropilot.territory.model import (
    BoundariesImported,
    Commune,
    CommuneLocator,
    District,
    DistrictsImported,
    area_km2,
    boundary_from_geojson,
    validate_insee,
)

T = TypeVar("T")

__all__ = [
    "BoundariesImported",
    "DistrictsImported",
    "import_commune_boundaries",
    "import_districts",
    "list_communes",
    "list_districts",
    "locator",
    "save_generated_territory",
]


def list_districts(uow: UnitOfWork, commune_insee: str | None = None) -> list[District]:
    return repository.list_districts(uow.connection, commune_insee)


def import_districts(
    uow: UnitOfWork, collection: Any, actor: Actor, source: str = "GeoJSON"
) -> int:
    """Import districts (quartiers) from a GeoJSON FeatureCollection, all or nothing.

    Each feature needs ``properties.code`` (unique), ``name`` and ``commune`` (INSEE); its
    polygon must lie within its commune (a 1 % overhang is tolerated for digitising noise).
    """
    communes = {c.insee: c for c in repository.list_communes(uow.connection)}
    seen: set[str] = set()
    parsed = _parse_features(
        collection, source, lambda f, where: _district_from_feature(f, where, communes, seen)
    )
    for district in parsed:
        repository.save_district(uow.connection, district)
        uow.audit(
            AuditEntry(
                actor,
                "district.saved",
                "district",
                district.code,
                {"name": [None, district.name], "commune": [None, district.commune_insee]},
            )
        )
    uow.record(DistrictsImported(count=len(parsed), actor=actor.label()))
    return len(parsed)


def _district_from_feature(
    feature: Any, where: str, communes: dict[str, Commune], seen: set[str]
) -> District:
    props = _properties(feature, where)
    code = str(props.get("code") or "").strip()
    if not code or len(code) > 32:
        raise InvalidInput(f"{where}: properties.code is required (at most 32 characters)")
    if code in seen:
        raise InvalidInput(f"{where}: district {code} appears twice in the file")
    seen.add(code)
    name = str(props.get("name") or props.get("nom") or "").strip()
    if not name:
        raise InvalidInput(f"{where}: properties.name is required")
    commune = communes.get(validate_insee(str(props.get("commune") or "")))
    if commune is None:
        raise InvalidInput(f"{where}: unknown commune {props.get('commune')!r}")
    boundary = boundary_from_geojson(feature.get("geometry"), f"{where}.geometry")
    overhang = boundary.difference(commune.boundary).area / boundary.area
    if overhang > 0.01:
        raise InvalidInput(
            f"{where}: {overhang:.0%} of the district lies outside its commune {commune.name}"
        )
    return District(code=code, name=name, commune_insee=commune.insee, boundary=boundary)


def _parse_features(collection: Any, source: str, parse: Callable[[Any, str], T]) -> list[T]:
    """Parse every feature of a FeatureCollection; if any is wrong, report them all, keep none."""
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        raise InvalidInput(f"{source}: expected a GeoJSON FeatureCollection")
    features = collection.get("features")
    if not isinstance(features, list) or not features:
        raise InvalidInput(f"{source}: the FeatureCollection has no features")
    parsed: list[T] = []
    problems: list[Problem] = []
    for index, feature in enumerate(features):
        where = f"{source} feature {index}"
        try:
            parsed.append(parse(feature, where))
        except InvalidInput as exc:
            problems.append(Problem(where, exc.message))
    if problems:
        raise InvalidInput(
            f"{source}: {len(problems)} invalid feature(s), nothing imported; first: "
            f"{problems[0]['message']}",
            details=problems,
        )
    return parsed


def _properties(feature: Any, where: str) -> dict[str, Any]:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise InvalidInput(f"{where}: not a GeoJSON Feature")
    props = feature.get("properties") or {}
    if not isinstance(props, dict):
        raise InvalidInput(f"{where}: properties must be an object")
    return props


def save_generated_territory(
    uow: UnitOfWork,
    communes: list[Commune],
    streets: list[dict[str, Any]],
    actor: Actor,
) -> None:
    """Store a synthetic territory: its communes (when none are stored) and its streets."""
    for commune in communes:
        if repository.save_commune(uow.connection, commune):
            uow.audit(
                AuditEntry(
                    actor,
                    "commune.created",
                    "commune",
                    commune.insee,
                    {"name": [None, commune.name], "population": [None, commune.population]},
                )
            )
    repository.delete_streets(uow.connection)
    repository.save_streets(uow.connection, streets)
    uow.audit(
        AuditEntry(
            actor, "streets.replaced", "territory", "streets", {"count": [None, len(streets)]}
        )
    )


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
    known = {c.insee: c for c in repository.list_communes(uow.connection)}
    seen: set[str] = set()
    parsed = _parse_features(
        collection, source, lambda f, where: _commune_from_feature(f, where, known, seen)
    )
    created = 0
    for commune in parsed:
        before = known.get(commune.insee)
        is_new = repository.save_commune(uow.connection, commune)
        created += is_new
        uow.audit(
            AuditEntry(
                actor,
                "commune.created" if is_new else "commune.boundary_updated",
                "commune",
                commune.insee,
                {
                    "name": [before.name if before else None, commune.name],
                    "population": [before.population if before else None, commune.population],
                    "area_km2": [before.area_km2 if before else None, commune.area_km2],
                },
            )
        )
    uow.record(
        BoundariesImported(created=created, updated=len(parsed) - created, actor=actor.label())
    )
    return created, len(parsed) - created


def _commune_from_feature(
    feature: Any, where: str, known: dict[str, Commune], seen: set[str]
) -> Commune:
    props = _properties(feature, where)
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


STREET_CATEGORIES = ("main", "local")


def streets_geojson(
    uow: UnitOfWork,
    *,
    bbox: BBox | None = None,
    category: str | None = None,
    commune: str | None = None,
) -> dict[str, Any]:
    """The streets as a GeoJSON FeatureCollection of LineStrings (the offline basemap), those
    crossing ``bbox`` only when given."""
    if category is not None and category not in STREET_CATEGORIES:
        raise InvalidInput(
            f"category must be one of {', '.join(STREET_CATEGORIES)}, not {category!r}",
            code="invalid_category",
        )
    features = []
    for row in repository.list_streets(uow.connection, category=category, commune=commune):
        line = row["line"]
        if bbox is not None:
            lons = [p[0] for p in line]
            lats = [p[1] for p in line]
            if (
                max(lons) < bbox.min_lon
                or min(lons) > bbox.max_lon
                or max(lats) < bbox.min_lat
                or min(lats) > bbox.max_lat
            ):
                continue
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": line},
                "properties": {
                    "name": row["name"],
                    "category": row["category"],
                    "commune": row["commune_insee"],
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}
