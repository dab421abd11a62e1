"""API shapes of rules and alarms."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from metropilot.alarms.model import Alarm, AlarmComment, AlarmState, Rule, RuleType, Severity
from metropilot.shared.bounds import ID_MAX, Id

__all__ = [
    "AcknowledgeIn",
    "AlarmDetailOut",
    "AlarmListOut",
    "AlarmOut",
    "AlarmSummaryOut",
    "AssignIn",
    "ClearIn",
    "CommentIn",
    "CommentOut",
    "RuleIn",
    "RuleListOut",
    "RuleOut",
    "RulePatch",
    "RuleScopeIO",
    "alarm_detail_out",
    "alarm_out",
    "comment_out",
    "rule_out",
]


class RuleScopeIO(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kinds: list[str] = Field(default_factory=list, description="Asset kinds; empty: all.")
    communes: list[str] = Field(default_factory=list, description="INSEE codes; empty: all.")
    assets: list[Id] = Field(default_factory=list, description="Asset ids; empty: all.")


class RuleIn(BaseModel):
    """A new rule. ``params`` depend on ``type`` (see docs/alarms.md):
    threshold ``{metric, direction, raise_at, clear_at}``; state ``{metric, equals}`` or
    ``{code, clear_code}``; heartbeat ``{interval_s, missed}``; count ``{code | metric, count,
    window_s}``; geofence ``{zone}`` (GeoJSON Polygon or MultiPolygon)."""

    model_config = ConfigDict(extra="forbid")

    code: str | None = Field(default=None, examples=["pm10-high"])
    name: str = Field(examples=["Air quality: PM10 above 50 µg/m³"])
    description: str = ""
    type: RuleType
    severity: Severity
    params: dict[str, Any] = Field(
        examples=[{"metric": "pm10", "direction": "above", "raise_at": 50, "clear_at": 40}]
    )
    scope: RuleScopeIO = Field(default_factory=RuleScopeIO)
    hold_s: int = Field(
        default=0, ge=0, le=86_400, description="Seconds the condition must hold before raising."
    )
    flap_window_s: int = Field(
        default=300,
        ge=0,
        le=86_400,
        description="A condition back within this many seconds reopens its alarm.",
    )
    suppresses: list[Id] = Field(
        default_factory=list,
        description="Rules whose alarms on this asset's children are muted while this one's "
        "alarm is open (a cabinet's supply loss mutes its lights' failures).",
    )
    opens_case: bool = False
    enabled: bool = True


class RulePatch(BaseModel):
    """Fields to change; ``scope`` and ``params`` merge key by key. ``version``, if given,
    must be the rule's current version (409 otherwise): no lost updates."""

    model_config = ConfigDict(extra="forbid")

    code: str | None = None
    name: str | None = None
    description: str | None = None
    type: RuleType | None = None
    severity: Severity | None = None
    params: dict[str, Any] | None = None
    scope: dict[str, Any] | None = None
    hold_s: int | None = Field(default=None, ge=0, le=86_400)
    flap_window_s: int | None = Field(default=None, ge=0, le=86_400)
    suppresses: list[Id] | None = None
    opens_case: bool | None = None
    enabled: bool | None = None
    version: int | None = Field(default=None, ge=1, le=ID_MAX)


class RuleOut(BaseModel):
    id: int
    code: str | None
    name: str
    description: str
    type: RuleType
    severity: Severity
    params: dict[str, Any]
    scope: RuleScopeIO
    hold_s: int
    flap_window_s: int
    suppresses: list[int]
    opens_case: bool
    enabled: bool
    version: int
    created_at: datetime | None
    updated_at: datetime | None
    created_by: str
    updated_by: str


def rule_out(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        **rule.spec_dict(),
        "version": rule.version,
        "created_at": rule.created_at,
        "updated_at": rule.updated_at,
        "created_by": rule.created_by,
        "updated_by": rule.updated_by,
    }


class AlarmOut(BaseModel):
    id: int
    asset: int = Field(description="Id of the asset in alarm.")
    asset_ref: str
    kind: str = Field(description="The asset's kind.")
    commune: str = Field(description="INSEE code of the asset's commune.")
    rule: int
    rule_name: str
    rule_code: str | None
    severity: Severity
    state: AlarmState
    message: str
    value: float | None = Field(description="The value that raised it, when there is one.")
    observed_at: datetime | None = Field(description="Time of the reading that raised it.")
    raised_at: datetime
    reopened_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    cleared_at: datetime | None
    cleared_by: str | None
    clear_reason: str | None
    assignee: str | None
    suppressed_by: int | None = Field(description="The parent's alarm muting this one.")
    suppressed_count: int = Field(description="How many children's alarms this one mutes.")
    flaps: int = Field(description="How many times the condition came back within the window.")
    escalation_level: int
    escalated_at: datetime | None
    opens_case: bool
    updated_at: datetime | None


class CommentOut(BaseModel):
    id: int
    at: datetime
    author: str
    text: str


class AlarmDetailOut(AlarmOut):
    comments: list[CommentOut]
    children: list[AlarmOut] = Field(description="The children's alarms this one mutes.")


class RuleListOut(BaseModel):
    items: list[RuleOut]
    next_cursor: str | None


class AlarmListOut(BaseModel):
    items: list[AlarmOut]
    next_cursor: str | None = Field(description="pass it back as cursor for the next page")


class AlarmSummaryOut(BaseModel):
    open_by_severity: dict[str, int]


class AcknowledgeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str | None = None


class ClearIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str | None = Field(default=None, description="Required: why it is cleared by hand.")


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assignee: str | None = Field(description="A username, or null to unassign.")


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str


def alarm_out(alarm: Alarm) -> dict[str, Any]:
    # Built by hand rather than validated: this runs for every row of every page.
    return {
        "id": alarm.id,
        "asset": alarm.asset_id,
        "asset_ref": alarm.asset_ref,
        "kind": alarm.kind,
        "commune": alarm.commune,
        "rule": alarm.rule_id,
        "rule_name": alarm.rule_name,
        "rule_code": alarm.rule_code,
        "severity": alarm.severity.value,
        "state": alarm.state.value,
        "message": alarm.message,
        "value": alarm.value,
        "observed_at": alarm.observed_at,
        "raised_at": alarm.raised_at,
        "reopened_at": alarm.reopened_at,
        "acknowledged_at": alarm.acknowledged_at,
        "acknowledged_by": alarm.acknowledged_by,
        "cleared_at": alarm.cleared_at,
        "cleared_by": alarm.cleared_by,
        "clear_reason": alarm.clear_reason,
        "assignee": alarm.assignee,
        "suppressed_by": alarm.suppressed_by,
        "suppressed_count": alarm.suppressed_count,
        "flaps": alarm.flaps,
        "escalation_level": alarm.escalation_level,
        "escalated_at": alarm.escalated_at,
        "opens_case": alarm.opens_case,
        "updated_at": alarm.updated_at,
    }


def comment_out(comment: AlarmComment) -> dict[str, Any]:
    return {"id": comment.id, "at": comment.at, "author": comment.author, "text": comment.text}


def alarm_detail_out(alarm: Alarm, children: list[Alarm]) -> dict[str, Any]:
    return {
        **alarm_out(alarm),
        "comments": [comment_out(c) for c in alarm.comments],
        "children": [alarm_out(c) for c in children],
    }
