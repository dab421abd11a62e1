"""Scenarios: named, parameterised response plans. Pure: what a plan is made of and how its
parameters are read; the services choose the assets by place and carry it out.

A scenario is a list of steps, each one of:

- `CommandStep`: a command for the assets a `Selection` finds — the asset named by a parameter,
  those of some kinds within a radius of it or of a point, the nearest ones, those of a commune;
- `WorkOrderStep`: a case for a category at the scenario's place, dispatched to the team the
  routing rules give it (or left for triage when none does);
- `AlertStep`: a public message for the area, shown until an end.

`preview` and `run` share one planning function, so what the preview shows is what runs;
`rollback` sends every touched asset back the state it reported before the run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from metropilot.shared.errors import InvalidInput, NotFound, Problem

__all__ = [
    "SCENARIOS",
    "AlertStep",
    "CommandStep",
    "Param",
    "Scenario",
    "Selection",
    "WorkOrderStep",
    "describe",
    "get_scenario",
    "parse_params",
]


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    kind: str  # "asset", "commune", "number", "point", "route", "text"
    description: str
    default: Any = None
    asset_kind: str | None = None  # for "asset": the kind it must be
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True, slots=True)
class Selection:
    """Where a step's assets are: ``of`` the asset parameter itself; or assets of ``kinds``
    ``within`` the radius parameter of ``around`` (an asset or point parameter), the
    ``nearest`` N of them (within ``within``), those ``within`` the width parameter ``along``
    a route parameter, or those of the ``commune`` parameter."""

    kinds: tuple[str, ...] = ()
    of: str | None = None
    around: str | None = None
    along: str | None = None
    within: str | None = None
    nearest: int | None = None
    commune: str | None = None


@dataclass(frozen=True, slots=True)
class CommandStep:
    select: Selection
    command: str
    params: Mapping[str, Any]
    label: str


@dataclass(frozen=True, slots=True)
class WorkOrderStep:
    category: str
    priority: str
    at: str  # the asset or point parameter the case is about
    title: str
    instructions: str


@dataclass(frozen=True, slots=True)
class AlertStep:
    message: str  # may name parameters: {junction}, {commune}, …
    hours: float


Step = CommandStep | WorkOrderStep | AlertStep


@dataclass(frozen=True, slots=True)
class Scenario:
    code: str
    name: str
    description: str
    params: tuple[Param, ...]
    steps: tuple[Step, ...] = field(default=())


RADIUS = Param(
    "radius_m", "number", "radius around the place, metres", 150, minimum=20, maximum=3000
)

SCENARIOS: Final[Mapping[str, Scenario]] = {
    s.code: s
    for s in (
        Scenario(
            "night-accident",
            "Night accident at a junction",
            "The junction flashes amber, the lights around it go to full power, the nearest "
            "bollard drops for the emergency vehicles, a road crew is sent and the public told.",
            (
                Param("junction", "asset", "the junction", asset_kind="traffic_junction"),
                RADIUS,
            ),
            (
                CommandStep(
                    Selection(of="junction"),
                    "set_junction_mode",
                    {"mode": "flashing_amber"},
                    "the junction flashes amber",
                ),
                CommandStep(
                    Selection(kinds=("streetlight",), around="junction", within="radius_m"),
                    "set_light_level",
                    {"level_pct": 100},
                    "the lights around it at full power",
                ),
                CommandStep(
                    Selection(kinds=("bollard",), around="junction", nearest=1),
                    "set_bollard",
                    {"position": "down"},
                    "the nearest bollard drops for the emergency vehicles",
                ),
                WorkOrderStep(
                    "road-clearance",
                    "P1",
                    "junction",
                    "Accident: clear and secure the junction",
                    "Night accident reported at the junction: secure the area, clear the road, "
                    "report when traffic can resume.",
                ),
                AlertStep("Accident at junction {junction}: expect delays, drive carefully.", 4),
            ),
        ),
        Scenario(
            "major-event",
            "Major event",
            "Around a venue: lights at full power, the bollards up to close the streets to "
            "traffic, cameras to their first preset, and a public message.",
            (
                Param("venue", "point", "the venue, [lon, lat]"),
                Param(
                    "radius_m",
                    "number",
                    "radius around the venue, metres",
                    300,
                    minimum=20,
                    maximum=3000,
                ),
            ),
            (
                CommandStep(
                    Selection(kinds=("streetlight",), around="venue", within="radius_m"),
                    "set_light_level",
                    {"level_pct": 100},
                    "the lights around the venue at full power",
                ),
                CommandStep(
                    Selection(kinds=("bollard",), around="venue", within="radius_m"),
                    "set_bollard",
                    {"position": "up"},
                    "the bollards up: the streets closed to traffic",
                ),
                CommandStep(
                    Selection(kinds=("camera",), around="venue", within="radius_m"),
                    "camera_preset",
                    {"preset": 1},
                    "the cameras on the crowd",
                ),
                AlertStep("Event near {venue}: streets closed to traffic around it.", 6),
            ),
        ),
        Scenario(
            "route-closure",
            "Route closure",
            "Along a route (a parade, a race, an escort): the bollards up to close the side "
            "streets, the lights at full power, the cameras on the route, and a public message.",
            (
                Param("route", "route", "the route, [[lon, lat], …] (two points at least)"),
                Param(
                    "width_m",
                    "number",
                    "how far from the route, metres",
                    40,
                    minimum=5,
                    maximum=500,
                ),
            ),
            (
                CommandStep(
                    Selection(kinds=("bollard",), along="route", within="width_m"),
                    "set_bollard",
                    {"position": "up"},
                    "the bollards along the route up",
                ),
                CommandStep(
                    Selection(kinds=("streetlight",), along="route", within="width_m"),
                    "set_light_level",
                    {"level_pct": 100},
                    "the lights along the route at full power",
                ),
                CommandStep(
                    Selection(kinds=("camera",), along="route", within="width_m"),
                    "camera_preset",
                    {"preset": 1},
                    "the cameras on the route",
                ),
                AlertStep("Route closed to traffic: {route}.", 4),
            ),
        ),
        Scenario(
            "snow-plan",
            "Snow plan",
            "In a commune: lights at full power for visibility, a gritting crew sent, and a "
            "public message.",
            (Param("commune", "commune", "the commune"),),
            (
                CommandStep(
                    Selection(kinds=("streetlight",), commune="commune"),
                    "set_light_level",
                    {"level_pct": 100},
                    "the commune's lights at full power",
                ),
                WorkOrderStep(
                    "snow-clearing",
                    "P2",
                    "commune",
                    "Snow plan: grit and clear the main roads",
                    "Snow plan in force: grit and clear the main roads, then the others.",
                ),
                AlertStep("Snow plan in {commune}: drive slowly, expect gritters.", 12),
            ),
        ),
        Scenario(
            "flood",
            "Flood",
            "In a commune: the bollards up to keep traffic out of the low streets, lights at "
            "full power, a pumping crew sent, and a public message.",
            (Param("commune", "commune", "the commune"),),
            (
                CommandStep(
                    Selection(kinds=("bollard",), commune="commune"),
                    "set_bollard",
                    {"position": "up"},
                    "the bollards up: the low streets closed",
                ),
                CommandStep(
                    Selection(kinds=("streetlight",), commune="commune"),
                    "set_light_level",
                    {"level_pct": 100},
                    "the commune's lights at full power",
                ),
                WorkOrderStep(
                    "flood-pumping",
                    "P1",
                    "commune",
                    "Flood: pump the flooded streets",
                    "Flooding reported: pump the low streets and check the drains.",
                ),
                AlertStep("Flooding in {commune}: avoid the low streets.", 12),
            ),
        ),
    )
}


def _is_point(value: Any) -> bool:
    """``[lon, lat]`` in WGS 84 degrees (a huge integer or NaN is no place)."""
    return (
        isinstance(value, list | tuple)
        and len(value) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        and -180 <= value[0] <= 180
        and -90 <= value[1] <= 90
    )


def parse_params(scenario: Scenario, given: Mapping[str, Any]) -> dict[str, Any]:
    """The scenario's parameters with their defaults, checked by kind (the services check that
    assets and communes exist)."""
    problems: list[Problem] = []
    known = {p.name for p in scenario.params}
    problems += [
        Problem(name, "not a parameter of this scenario") for name in given if name not in known
    ]
    values: dict[str, Any] = {}
    for param in scenario.params:
        value = given.get(param.name, param.default)
        if value is None:
            problems.append(Problem(param.name, f"required: {param.description}"))
            continue
        if param.kind == "number":
            if isinstance(value, bool) or not isinstance(value, int | float):
                problems.append(Problem(param.name, f"must be a number, not {value!r}"))
                continue
            # NaN passes neither comparison below: it is refused here, with infinity.
            if not math.isfinite(value) or (
                (param.minimum is not None and value < param.minimum)
                or (param.maximum is not None and value > param.maximum)
            ):
                problems.append(Problem(param.name, f"must be {param.minimum:g}–{param.maximum:g}"))
                continue
            values[param.name] = float(value)
        elif param.kind == "route":
            if not isinstance(value, list) or len(value) < 2 or not all(map(_is_point, value)):
                problems.append(Problem(param.name, "must be [[lon, lat], …], two points at least"))
                continue
            values[param.name] = tuple((float(p[0]), float(p[1])) for p in value)
        elif param.kind == "point":
            if not _is_point(value):
                problems.append(Problem(param.name, "must be [lon, lat] in WGS 84 degrees"))
                continue
            values[param.name] = (float(value[0]), float(value[1]))
        else:
            if not isinstance(value, str) or not value.strip():
                problems.append(Problem(param.name, f"must be {param.description}"))
                continue
            values[param.name] = value.strip()
    if problems:
        raise InvalidInput(
            f"invalid parameters for {scenario.code}", details=problems, code="invalid_scenario"
        )
    return values


def get_scenario(code: str) -> Scenario:
    found = SCENARIOS.get(code)
    if found is None:
        raise NotFound(
            f"no scenario {code!r}; there are {', '.join(SCENARIOS)}", code="unknown_scenario"
        )
    return found


def describe(scenario: Scenario) -> dict[str, Any]:
    return {
        "code": scenario.code,
        "name": scenario.name,
        "description": scenario.description,
        "params": [
            {
                "name": p.name,
                "kind": p.kind,
                "description": p.description,
                "default": p.default,
                "asset_kind": p.asset_kind,
            }
            for p in scenario.params
        ],
        "steps": [_describe_step(step) for step in scenario.steps],
    }


def _describe_step(step: Step) -> dict[str, Any]:
    if isinstance(step, CommandStep):
        return {
            "type": "command",
            "command": step.command,
            "params": dict(step.params),
            "label": step.label,
        }
    if isinstance(step, WorkOrderStep):
        return {
            "type": "work_order",
            "category": step.category,
            "priority": step.priority,
            "title": step.title,
        }
    return {"type": "alert", "message": step.message, "hours": step.hours}
