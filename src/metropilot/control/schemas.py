"""HTTP shapes of commands, scenarios and dimming programs: what the API takes and answers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from metropilot.shared.bounds import Id

__all__ = [
    "AlertListOut",
    "AlertOut",
    "BatchListOut",
    "BatchOut",
    "CabinetProgramListOut",
    "CabinetProgramOut",
    "CommandIn",
    "CommandListOut",
    "CommandOut",
    "ExpectedProgramOut",
    "PlanOut",
    "PlannedAlertOut",
    "PlannedCommandOut",
    "PlannedWorkOrderOut",
    "PushProgramsIn",
    "RollbackIn",
    "RollbackOut",
    "RunOut",
    "RunningProgramOut",
    "ScenarioIn",
    "ScenarioListOut",
    "ScenarioOut",
    "ScenarioParamOut",
]


class CommandIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    asset: Id | str | None = Field(default=None, description="an asset id or reference")
    area: dict[str, Any] | None = Field(
        default=None,
        description='several assets: {"commune": INSEE}, {"around": {lon, lat, radius_m}}, '
        '{"cabinet": ref}, {"group": code} or {"assets": [refs]}',
    )
    command: str = Field(examples=["set_light_level"])
    params: dict[str, Any] = Field(default_factory=dict, examples=[{"level_pct": 100}])
    reason: str = Field(default="", max_length=500)
    confirm: bool = Field(default=False, description="required for an area command")


class ScenarioIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    params: dict[str, Any] = Field(default_factory=dict, examples=[{"junction": "TJ-21231-001"}])
    reason: str = Field(default="", max_length=500)
    confirm: bool = Field(default=False, description="required to run")


class RollbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", max_length=500)


class PushProgramsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    commune: str | None = Field(default=None, min_length=5, max_length=5)
    reason: str = Field(default="", max_length=500)
    confirm: bool = False


# --- answers (the services build them as plain dicts; these say what they hold) -------------


class CommandOut(BaseModel):
    """One command to one asset, and how far it got."""

    id: int
    batch: int | None = Field(description="the area command it belongs to")
    asset: int
    asset_ref: str
    command: str
    params: dict[str, Any]
    reason: str
    status: str = Field(description="pending, sent, acknowledged, done, failed or timed_out")
    attempts: int
    created_at: str
    sent_at: str | None
    acknowledged_at: str | None
    finished_at: str | None
    deadline: str
    result: str | None = Field(description="why it failed or timed out")
    actor: str


class BatchOut(BaseModel):
    """An area command: how many of its commands are in each status."""

    id: int
    batch: int
    url: str
    command: str
    params: dict[str, Any]
    area: dict[str, Any]
    reason: str
    targets: int
    status: str
    counts: dict[str, int]
    created_at: str
    actor: str


class CommandListOut(BaseModel):
    items: list[CommandOut]
    next_cursor: str | None


class BatchListOut(BaseModel):
    items: list[BatchOut]
    next_cursor: str | None


class ScenarioParamOut(BaseModel):
    name: str
    kind: str
    description: str
    default: Any
    asset_kind: str | None


class ScenarioOut(BaseModel):
    """A response plan: its parameters and its steps (a command, a work order, an alert)."""

    code: str
    name: str
    description: str
    params: list[ScenarioParamOut]
    steps: list[dict[str, Any]]


class ScenarioListOut(BaseModel):
    items: list[ScenarioOut]
    next_cursor: str | None


class PlannedCommandOut(BaseModel):
    step: int
    label: str
    command: str
    params: dict[str, Any]
    assets: list[str]
    count: int


class PlannedWorkOrderOut(BaseModel):
    step: int
    category: str
    priority: str
    asset: str | None
    commune: str | None
    title: str
    instructions: str


class PlannedAlertOut(BaseModel):
    message: str
    hours: float
    commune: str | None


class PlanOut(BaseModel):
    """Exactly what running a scenario does: its commands and their assets, its work orders,
    its public message, and what it could not find."""

    scenario: str
    name: str
    params: dict[str, Any]
    commands: list[PlannedCommandOut]
    work_orders: list[PlannedWorkOrderOut]
    alert: PlannedAlertOut | None
    warnings: list[str]


class RunOut(BaseModel):
    """A scenario run: its plan, its commands' progress, its cases, its rollback."""

    id: int
    scenario: str
    plan: PlanOut
    batches: list[BatchOut]
    cases: list[int]
    alert: int | None
    reason: str
    run_at: str
    actor: str
    rolled_back_at: str | None
    rollback_batches: list[BatchOut]


class RollbackOut(RunOut):
    not_restored: list[str] = Field(description="the assets whose earlier state was not known")


class AlertOut(BaseModel):
    """A public message in force."""

    model_config = ConfigDict(populate_by_name=True)

    id: int
    message: str
    commune: str | None
    from_: str = Field(alias="from")
    until: str


class AlertListOut(BaseModel):
    items: list[AlertOut]
    next_cursor: str | None


class ExpectedProgramOut(BaseModel):
    program: str
    version: str | None


class RunningProgramOut(BaseModel):
    program: str | None
    version: str | None
    since: str


class CabinetProgramOut(BaseModel):
    """A lighting cabinet's program: expected, running, and whether (and why) it drifts."""

    cabinet: int
    ref: str
    commune: str
    expected: ExpectedProgramOut | None
    running: RunningProgramOut | None
    level_now: float | None
    lamps_level: float | None
    drift: bool
    reasons: list[str]


class CabinetProgramListOut(BaseModel):
    items: list[CabinetProgramOut]
    next_cursor: str | None
