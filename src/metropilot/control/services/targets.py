"""What a command may reach: the caller, the equipment in their scope, one asset or an area (a
commune, a radius, a cabinet's or a group's lights, a list of references)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import select

from metropilot.assets import repository as assets_repository
from metropilot.contracts import repository as contracts_repository
from metropilot.db.uow import UnitOfWork
from metropilot.shared.actors import Actor
from metropilot.shared.errors import InvalidInput, NotFound, Problem
from metropilot.shared.geo import BBox, LocalPlane
from metropilot.shared.scope import Scope
from metropilot.territory.repository import communes


@dataclass(frozen=True, slots=True)
class Caller:
    """Who gives the command: their role (for the permission), their scope (the equipment they
    may command is the equipment they may see), and the actor the audit trail names."""

    role: str | None
    scope: Scope
    actor: Actor


def _asset_rows(uow: UnitOfWork, caller: Caller, where: Any) -> list[dict[str, Any]]:
    a = assets_repository.assets.c
    query = select(
        a.id, a.external_ref, a.kind, a.commune_insee, a.attributes, a.parent_id, a.lon, a.lat
    ).where(where, a.status != "decommissioned")
    if not caller.scope.unrestricted:
        query = query.where(assets_repository.scope_clause(caller.scope))
    return [dict(r) for r in uow.connection.execute(query.order_by(a.id)).mappings()]


def _one_asset(uow: UnitOfWork, caller: Caller, asset: str | int) -> dict[str, Any]:
    a = assets_repository.assets.c
    where = a.id == asset if isinstance(asset, int) else a.external_ref == asset
    found = _asset_rows(uow, caller, where)
    if not found:
        raise NotFound(f"no asset {asset!r} you may command", code="unknown_asset")
    return found[0]


AREA_KEYS: Final = ("commune", "around", "cabinet", "group", "assets")


def _area_rows(
    uow: UnitOfWork, caller: Caller, area: Mapping[str, Any], kinds: frozenset[str]
) -> list[dict[str, Any]]:
    """The assets of the kinds a command applies to, in the area: a commune, a radius around a
    point, the lights of a cabinet or of a group of cabinets, or a list of references."""
    a = assets_repository.assets.c
    given = [key for key in AREA_KEYS if key in area]
    if len(given) != 1 or set(area) - set(AREA_KEYS):
        raise InvalidInput(
            f"an area is exactly one of {', '.join(AREA_KEYS)}",
            details=[Problem("area", f"got {sorted(area)}")],
            code="invalid_area",
        )
    key = given[0]
    value = area[key]
    of_kind = a.kind.in_(sorted(kinds))
    if key == "commune":
        return _asset_rows(uow, caller, of_kind & (a.commune_insee == str(value)))
    if key == "assets":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InvalidInput("area.assets is a list of references", code="invalid_area")
        return _asset_rows(uow, caller, of_kind & a.external_ref.in_(value))
    if key == "around":
        try:
            lon, lat, radius = float(value["lon"]), float(value["lat"]), float(value["radius_m"])
        except (TypeError, KeyError, ValueError, OverflowError):  # 10**400 overflows a float
            raise InvalidInput("area.around is {lon, lat, radius_m}", code="invalid_area") from None
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):  # NaN is neither
            raise InvalidInput(
                "area.around: lon and lat must be WGS 84 degrees", code="invalid_area"
            )
        if not 0 < radius <= 5_000:
            raise InvalidInput("area.around.radius_m must be 0–5,000 m", code="invalid_area")
        box = BBox.around(lon, lat, radius)
        rows = _asset_rows(
            uow,
            caller,
            of_kind
            & a.lon.between(box.min_lon, box.max_lon)
            & a.lat.between(box.min_lat, box.max_lat),
        )
        plane = LocalPlane(lon, lat)
        return [row for row in rows if plane.distance_m(lon, lat, row["lon"], row["lat"]) <= radius]
    cabinets: list[int]
    if key == "cabinet":
        cabinet = _one_asset(uow, caller, value)
        if cabinet["kind"] != "lighting_cabinet":
            raise InvalidInput(f"{cabinet['external_ref']} is not a lighting cabinet")
        cabinets = [cabinet["id"]]
    else:
        group = contracts_repository.get_group(uow.connection, str(value))
        if group is None:
            raise NotFound(f"no lighting group {value!r}", code="unknown_group")
        cabinets = [int(i) for i in group["cabinet_ids"]]
    return _asset_rows(uow, caller, of_kind & (a.parent_id.in_(cabinets) | a.id.in_(cabinets)))


def visible(uow: UnitOfWork, scope: Scope, asset_id: int) -> bool:
    if scope.unrestricted:
        return True
    a = assets_repository.assets.c
    query = select(a.id).where(a.id == asset_id, assets_repository.scope_clause(scope))
    return uow.connection.execute(query).first() is not None


def _commune_name(uow: UnitOfWork, insee: str, scope: Scope | None = None) -> str:
    """A commune's name; a commune a caller names outside its scope is answered as an unknown
    one (the plan's work orders and public message would land there)."""
    row = uow.connection.execute(select(communes.c.name).where(communes.c.insee == insee)).first()
    if row is None or (scope is not None and not scope.allows_commune(insee)):
        raise NotFound(f"no commune {insee!r}", code="unknown_commune")
    return str(row[0])
