"""HTTP shapes of the performance contract's inputs (the answers: `contracts.services.results`)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from metropilot.assets.model import LAMP_POWER_MAX_W
from metropilot.shared.bounds import Id

__all__ = ["AmendmentIn", "AssignmentIn", "FreezeIn", "GroupIn", "ProgramIn", "WhatIfIn"]


class AmendmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lot: str = Field(min_length=1, max_length=24)
    part: Literal["sla", "kpi", "penalties"]
    kpi: str | None = Field(default=None, max_length=48, description="for part 'kpi'")
    effective_from: date
    version: dict[str, Any] = Field(
        description="the new version: {'target': 99} for a KPI, {'targets': {...}} for an SLA "
        "table, {'rules': [...], 'cap_eur': …} for penalties"
    )
    reason: str = Field(min_length=1, max_length=2000)


class FreezeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    period: str = Field(examples=["2026-03"])
    lot: str = Field(min_length=1, max_length=24)


class WhatIfIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    year: int = Field(ge=2000, le=2100)
    program: str | None = Field(default=None, description="a program for every lamp")
    programs_by_commune: dict[str, str] = Field(default_factory=dict)
    power_w_by_technology: dict[str, Annotated[float, Field(ge=0, le=LAMP_POWER_MAX_W)]] = Field(
        default_factory=dict, description="a conversion plan: new power per lamp technology (W)"
    )
    commune: str | None = Field(default=None, min_length=5, max_length=5)


class ProgramIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    steps: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=24,
        examples=[
            [
                {"from": "dusk", "to": "23:00", "level": 100},
                {"from": "23:00", "to": "dawn", "level": 50},
            ]
        ],
    )


class AssignmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target_type: Literal["cabinet", "group", "commune", "metropolis"]
    target: str = Field(default="*", max_length=100)
    effective_from: date


class GroupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    cabinet_ids: list[Id] = Field(min_length=1, max_length=10_000)
