"""What a command may reach: the caller, the equipment in their scope, one asset or an area (a
commune, a radius, a cabinet's or a group's lights, a list of references)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from metropilot.assets.queries import AssetSelection, PlacedAsset, in_scope, live_assets
from metropilot.contracts.queries import group_cabinet_ids
from metropilot.db.uow import UnitOfWork
from metropilot.shared.actors import Actor
from metropilot.shared.errors import InvalidInput, NotFound, Problem
from metropilot.shared.geo import BBox, LocalPlane
from metropilot.shared.scope import Scope
from metropilot.territory.queries import commune_name

AREA_KEYS: Final = ("commune", "around", "cabinet", "group", "assets")


@dataclass(frozen=True, slots=True)
class Caller:
    """Who gives the command: their role (for the permission), their scope (the equipment they
    may command is the equipment they may see), and the actor the audit trail names."""

    role: str | None
    scope: Scope
    actor: Actor


def reachable(uow: UnitOfWork, caller: Caller, selection: AssetSelection) -> list[PlacedAsset]:
    """The assets of the selection the caller may command (decommissioned ones never), by id."""
    return live_assets(uow.connection, caller.scope, selection)


def one_asset(uow: UnitOfWork, caller: Caller, asset: str | int) -> PlacedAsset:
    """One asset the caller may command, by id or reference."""
    selection = (
        AssetSelection(ids=[asset]) if isinstance(asset, int) else AssetSelection(refs=[asset])
    )
    found = reachable(uow, caller, selection)
    if not found:
        raise NotFound(f"no asset {asset!r} you may command", code="unknown_asset")
    return found[0]


def area_assets(
    uow: UnitOfWork, caller: Caller, area: Mapping[str, Any], kinds: frozenset[str]
) -> list[PlacedAsset]:
    """The assets of the kinds a command applies to, in the area: a commune, a radius around a
    point, the lights of a cabinet or of a group of cabinets, or a list of references."""
    given = [key for key in AREA_KEYS if key in area]
    if len(given) != 1 or set(area) - set(AREA_KEYS):
        raise InvalidInput(
            f"an area is exactly one of {', '.join(AREA_KEYS)}",
            details=[Problem("area", f"got {sorted(area)}")],
            code="invalid_area",
        )
    key = given[0]
    value = area[key]
    of_kind = sorted(kinds)
    if key == "commune":
        return reachable(uow, caller, AssetSelection(kinds=of_kind, commune=str(value)))
    if key == "assets":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InvalidInput("area.assets is a list of references", code="invalid_area")
        return reachable(uow, caller, AssetSelection(kinds=of_kind, refs=value))
    if key == "around":
        return _around(uow, caller, value, of_kind)
    cabinets: list[int]
    if key == "cabinet":
        cabinet = one_asset(uow, caller, value)
        if cabinet.kind != "lighting_cabinet":
            raise InvalidInput(f"{cabinet.external_ref} is not a lighting cabinet")
        cabinets = [cabinet.id]
    else:
        group = group_cabinet_ids(uow.connection, str(value))
        if group is None:
            raise NotFound(f"no lighting group {value!r}", code="unknown_group")
        cabinets = group
    return reachable(uow, caller, AssetSelection(kinds=of_kind, family_of=cabinets))


def _around(uow: UnitOfWork, caller: Caller, value: Any, kinds: list[str]) -> list[PlacedAsset]:
    """The assets of the kinds within ``radius_m`` of a point."""
    try:
        lon, lat, radius = float(value["lon"]), float(value["lat"]), float(value["radius_m"])
    except (TypeError, KeyError, ValueError, OverflowError):  # 10**400 overflows a float
        raise InvalidInput("area.around is {lon, lat, radius_m}", code="invalid_area") from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):  # NaN is neither
        raise InvalidInput("area.around: lon and lat must be WGS 84 degrees", code="invalid_area")
    if not 0 < radius <= 5_000:
        raise InvalidInput("area.around.radius_m must be 0–5,000 m", code="invalid_area")
    box = BBox.around(lon, lat, radius)
    rows = reachable(uow, caller, AssetSelection(kinds=kinds, bbox=box))
    plane = LocalPlane(lon, lat)
    return [row for row in rows if plane.distance_m(lon, lat, row.lon, row.lat) <= radius]


def visible(uow: UnitOfWork, scope: Scope, asset_id: int) -> bool:
    return in_scope(uow.connection, scope, asset_id)


def commune_named(uow: UnitOfWork, insee: str, scope: Scope | None = None) -> str:
    """A commune's name; a commune a caller names outside its scope is answered as an unknown
    one (the plan's work orders and public message would land there)."""
    name = commune_name(uow.connection, insee)
    if name is None or (scope is not None and not scope.allows_commune(insee)):
        raise NotFound(f"no commune {insee!r}", code="unknown_commune")
    return name
