"""What the control services answer: typed JSON objects.

``TypedDict``s, as in the contracts' services: the answers stay the plain dicts the API renders
and the tests read, and mypy checks every key. Timestamps are ISO 8601 strings, as served.
A command's and a batch's parameters are the command's own (``COMMAND_SPECS``), hence
``dict[str, Any]``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# Pydantic reads these for the OpenAPI document; before Python 3.12 it needs this TypedDict.
from typing_extensions import TypedDict

__all__ = [
    "AppliedProgram",
    "BatchOut",
    "CabinetProgram",
    "CommandOut",
    "ExpectedProgram",
    "PlannedAlert",
    "PlannedCommandOut",
    "PlannedWorkOrder",
    "ProgramSchedule",
    "PublicAlert",
    "RolledBackRun",
    "ScenarioPreview",
    "ScenarioRunOut",
]


class CommandOut(TypedDict):
    """One command to one asset, as stored and as it stands."""

    id: int
    batch: int | None
    asset: int
    asset_ref: str
    command: str
    params: dict[str, Any]
    reason: str
    status: str
    attempts: int
    created_at: str | None
    sent_at: str | None
    acknowledged_at: str | None
    finished_at: str | None
    deadline: str | None
    result: str | None  # what the equipment said when it failed, or why it timed out
    actor: str


class BatchOut(TypedDict):
    """The commands of an area (or a scenario step), counted by status."""

    id: int
    batch: int
    url: str
    command: str
    params: dict[str, Any]
    area: dict[str, Any]
    reason: str
    targets: int
    status: str
    counts: dict[str, int]  # every command status, 0 when none
    created_at: str
    actor: str


class ProgramSchedule(TypedDict):
    """What a cabinet receives: a dimming program's steps and the version to report back."""

    program: str
    version: str
    steps: Sequence[Mapping[str, Any]]


class PlannedCommandOut(TypedDict):
    step: int
    label: str
    command: str
    params: dict[str, Any]
    assets: list[str]  # external references
    count: int


class PlannedWorkOrder(TypedDict):
    step: int
    category: str
    priority: str
    asset: str | None  # external reference
    commune: str | None
    title: str
    instructions: str


class PlannedAlert(TypedDict):
    message: str
    hours: float
    commune: str | None


class ScenarioPreview(TypedDict):
    """Exactly what running a scenario would do; stored as the run's plan."""

    scenario: str
    name: str
    params: dict[str, Any]
    commands: list[PlannedCommandOut]
    work_orders: list[PlannedWorkOrder]
    alert: PlannedAlert | None
    warnings: list[str]


class ScenarioRunOut(TypedDict):
    id: int
    scenario: str
    plan: ScenarioPreview
    batches: list[BatchOut]
    cases: list[int]
    alert: int | None
    reason: str
    run_at: str
    actor: str
    rolled_back_at: str | None
    rollback_batches: list[BatchOut]


class RolledBackRun(ScenarioRunOut):
    not_restored: list[str]  # the assets whose state before the run is unknown


# "from" is a keyword: the functional form.
PublicAlert = TypedDict(
    "PublicAlert",
    {"id": int, "message": str, "commune": str | None, "from": str, "until": str},
)


class ExpectedProgram(TypedDict):
    program: str
    version: str | None


class AppliedProgram(TypedDict):
    program: str | None
    version: str | None
    since: str


class CabinetProgram(TypedDict):
    """A lighting cabinet's program: expected today, last confirmed running, and the drift."""

    cabinet: int
    ref: str
    commune: str
    expected: ExpectedProgram | None
    running: AppliedProgram | None
    level_now: float | None
    lamps_level: float | None
    drift: bool
    reasons: list[str]
