"""Planning a scenario: exactly which commands reach which equipment, which work orders open
and what the public hears, before anything is done."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from shapely.geometry import LineString, Point

from metropilot.assets.queries import AssetSelection, PlacedAsset
from metropilot.control.model import CommandType, check_permission, parse_command
from metropilot.control.scenarios import (
    CommandStep,
    Scenario,
    Selection,
    WorkOrderStep,
    get_scenario,
    parse_params,
)
from metropilot.control.services.commands import check_junction_state
from metropilot.control.services.results import PlannedAlert, PlannedWorkOrder, ScenarioPreview
from metropilot.control.services.targets import Caller, commune_named, one_asset, reachable
from metropilot.db.uow import UnitOfWork
from metropilot.shared.errors import InvalidInput
from metropilot.shared.geo import METRES_PER_DEGREE_LAT, BBox, LocalPlane
from metropilot.territory import services as territory_services

NEAREST_WITHIN_M: Final = 1_000.0


@dataclass(frozen=True, slots=True)
class PlannedCommand:
    step: int
    label: str
    command: CommandType
    params: Mapping[str, Any]
    assets: tuple[PlacedAsset, ...]


@dataclass(frozen=True, slots=True)
class Plan:
    scenario: Scenario
    params: Mapping[str, Any]
    commands: tuple[PlannedCommand, ...]
    work_orders: tuple[PlannedWorkOrder, ...]
    alert: PlannedAlert | None
    warnings: tuple[str, ...]

    def communes(self) -> tuple[str, ...]:
        """Where the plan acts: its assets', work orders' and public message's communes."""
        found = {a.commune_insee for c in self.commands for a in c.assets}
        found |= {str(w["commune"]) for w in self.work_orders if w["commune"]}
        if self.alert is not None and self.alert["commune"]:
            found.add(str(self.alert["commune"]))
        return tuple(sorted(found))

    def as_dict(self) -> ScenarioPreview:
        return {
            "scenario": self.scenario.code,
            "name": self.scenario.name,
            "params": {k: list(v) if isinstance(v, tuple) else v for k, v in self.params.items()},
            "commands": [
                {
                    "step": c.step,
                    "label": c.label,
                    "command": c.command.value,
                    "params": dict(c.params),
                    "assets": [a.external_ref for a in c.assets],
                    "count": len(c.assets),
                }
                for c in self.commands
            ],
            "work_orders": list(self.work_orders),
            "alert": self.alert,
            "warnings": list(self.warnings),
        }


def _place(
    uow: UnitOfWork, caller: Caller, scenario: Scenario, values: Mapping[str, Any]
) -> tuple[dict[str, tuple[float, float]], dict[str, PlacedAsset], dict[str, str]]:
    """The scenario's places: (lon, lat) of its asset and point parameters, the asset rows, and
    the display name of each parameter (for the public message)."""
    points: dict[str, tuple[float, float]] = {}
    assets: dict[str, PlacedAsset] = {}
    names: dict[str, str] = {}
    for param in scenario.params:
        value = values.get(param.name)
        if param.kind == "asset":
            row = one_asset(uow, caller, str(value))
            if param.asset_kind and row.kind != param.asset_kind:
                raise InvalidInput(
                    f"{param.name}: {row.external_ref} is a {row.kind}, not a {param.asset_kind}",
                    code="invalid_scenario",
                )
            assets[param.name] = row
            points[param.name] = (row.lon, row.lat)
            names[param.name] = row.external_ref
        elif param.kind == "point":
            assert isinstance(value, tuple)
            points[param.name] = value
            names[param.name] = f"{value[1]:.4f}, {value[0]:.4f}"
        elif param.kind == "route":
            assert isinstance(value, tuple)
            names[param.name] = _route_name(uow, value)
        elif param.kind == "commune":
            names[param.name] = commune_named(uow, str(value), caller.scope)
        else:
            names[param.name] = str(value)
    return points, assets, names


def _route_name(uow: UnitOfWork, route: Sequence[tuple[float, float]]) -> str:
    """The route told by the communes it starts and ends in (or its end points)."""
    locator = territory_services.locator(uow)
    ends = [locator.locate(*route[0]), locator.locate(*route[-1])]
    named = [commune_named(uow, insee) for insee in ends if insee is not None]
    if not named:
        return (
            f"from {route[0][1]:.4f}, {route[0][0]:.4f} to {route[-1][1]:.4f}, {route[-1][0]:.4f}"
        )
    return named[0] if len(set(named)) == 1 else f"{named[0]} to {named[-1]}"


def _selected(
    uow: UnitOfWork,
    caller: Caller,
    selection: Selection,
    values: Mapping[str, Any],
    points: Mapping[str, tuple[float, float]],
    assets: Mapping[str, PlacedAsset],
) -> list[PlacedAsset]:
    if selection.of is not None:
        return [assets[selection.of]]
    of_kind = list(selection.kinds)
    if selection.commune is not None:
        return reachable(
            uow, caller, AssetSelection(kinds=of_kind, commune=values[selection.commune])
        )
    if selection.along is not None:
        return _along(
            uow, caller, of_kind, values[selection.along], float(values[selection.within or ""])
        )
    assert selection.around is not None
    lon, lat = points[selection.around]
    radius = float(values[selection.within]) if selection.within else NEAREST_WITHIN_M
    box = BBox.around(lon, lat, radius)
    rows = reachable(uow, caller, AssetSelection(kinds=of_kind, bbox=box))
    plane = LocalPlane(lon, lat)
    placed = sorted((plane.distance_m(lon, lat, row.lon, row.lat), row.id, row) for row in rows)
    inside = [row for distance, _, row in placed if distance <= radius]
    return inside[: selection.nearest] if selection.nearest else inside


def _along(
    uow: UnitOfWork,
    caller: Caller,
    of_kind: list[str],
    route: Sequence[tuple[float, float]],
    width_m: float,
) -> list[PlacedAsset]:
    """The assets within ``width_m`` of a route, in the order they come along it."""
    lons, lats = [p[0] for p in route], [p[1] for p in route]
    plane = LocalPlane(lons[0], lats[0])
    margin_lon = width_m / plane.metres_per_degree_lon
    margin_lat = width_m / METRES_PER_DEGREE_LAT
    box = BBox(
        min_lon=min(lons) - margin_lon,
        min_lat=min(lats) - margin_lat,
        max_lon=max(lons) + margin_lon,
        max_lat=max(lats) + margin_lat,
    )
    rows = reachable(uow, caller, AssetSelection(kinds=of_kind, bbox=box))
    line = LineString([plane.to_xy(lon, lat) for lon, lat in route])
    placed = []
    for row in rows:
        point = Point(plane.to_xy(row.lon, row.lat))
        if line.distance(point) <= width_m:
            placed.append((line.project(point), row.id, row))
    return [row for _, _, row in sorted(placed)]


def plan_scenario(uow: UnitOfWork, caller: Caller, code: str, given: Mapping[str, Any]) -> Plan:
    """Exactly what running the scenario would do now: the commands and their assets, the work
    orders, the public message. `run_scenario` carries out this same plan."""
    scenario = get_scenario(code)
    values = parse_params(scenario, given)
    points, assets, names = _place(uow, caller, scenario, values)
    commands: list[PlannedCommand] = []
    work_orders: list[PlannedWorkOrder] = []
    alert: PlannedAlert | None = None
    warnings: list[str] = []
    for index, step in enumerate(scenario.steps):
        if isinstance(step, CommandStep):
            kind, normalised = parse_command(step.command, step.params)
            check_permission(kind, caller.role)
            rows = _selected(uow, caller, step.select, values, points, assets)
            if not rows:
                warnings.append(f"{step.label}: no such equipment there")
                continue
            if kind is CommandType.SET_JUNCTION_MODE:
                for row in rows:
                    check_junction_state(uow, row, normalised)
            commands.append(PlannedCommand(index, step.label, kind, normalised, tuple(rows)))
        elif isinstance(step, WorkOrderStep):
            at = assets.get(step.at)
            work_orders.append(
                {
                    "step": index,
                    "category": step.category,
                    "priority": step.priority,
                    "asset": None if at is None else at.external_ref,
                    "commune": at.commune_insee if at is not None else values.get(step.at),
                    "title": step.title,
                    "instructions": step.instructions,
                }
            )
        else:
            alert = {
                "message": step.message.format(**names),
                "hours": step.hours,
                "commune": _alert_commune(scenario, values, assets),
            }
    return Plan(scenario, values, tuple(commands), tuple(work_orders), alert, tuple(warnings))


def _alert_commune(
    scenario: Scenario, values: Mapping[str, Any], assets: Mapping[str, PlacedAsset]
) -> str | None:
    for param in scenario.params:
        if param.kind == "commune":
            return str(values[param.name])
        if param.kind == "asset":
            return assets[param.name].commune_insee
    return None


def preview_scenario(
    uow: UnitOfWork, caller: Caller, code: str, given: Mapping[str, Any]
) -> ScenarioPreview:
    return plan_scenario(uow, caller, code, given).as_dict()
