"""HTTP shapes of commands (the answers are plain dicts, see services)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from metropilot.shared.bounds import Id

__all__ = ["CommandIn", "PushProgramsIn", "RollbackIn", "ScenarioIn"]


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
