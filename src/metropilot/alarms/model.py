"""Alarm rules and alarms: what a rule says, how an alarm lives, and the events both emit. Pure.

A *rule* turns telemetry into a condition on one asset (a threshold crossed, a state reported,
silence, repeated events, a vehicle out of its zone). While the condition holds the asset has at
most one *alarm* for that rule, which an operator acknowledges and which clears when the
condition ends (or by hand, with a comment). The rules engine (``rules.py``) evaluates; the
services store and announce.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal, NoReturn

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from metropilot.shared.bounds import Id
from metropilot.shared.errors import Conflict, InvalidInput, Problem
from metropilot.shared.events import DomainEvent

__all__ = [
    "DEFAULT_ESCALATION_DELAYS",
    "PARAMS_MODELS",
    "Alarm",
    "AlarmAcknowledged",
    "AlarmCleared",
    "AlarmComment",
    "AlarmEscalated",
    "AlarmEvent",
    "AlarmRaised",
    "AlarmState",
    "ClearReason",
    "CountParams",
    "GeofenceParams",
    "HeartbeatParams",
    "Rule",
    "RuleParams",
    "RuleSpec",
    "RuleType",
    "Severity",
    "StateParams",
    "ThresholdParams",
    "parse_rule_spec",
    "parse_severity",
    "parse_state",
]


class Severity(StrEnum):
    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"
    WARNING = "warning"
    INFO = "info"


class AlarmState(StrEnum):
    ACTIVE = "active"
    ACKNOWLEDGED = "acknowledged"
    CLEARED = "cleared"


# The states in which an alarm still counts: at most one per (asset, rule).
OPEN_STATES = frozenset({AlarmState.ACTIVE, AlarmState.ACKNOWLEDGED})


class RuleType(StrEnum):
    THRESHOLD = "threshold"  # a number above (or below) a limit, with hysteresis
    STATE = "state"  # a metric equal to a value (lamp_failure true), or a device event code
    HEARTBEAT = "heartbeat"  # no reading for N expected intervals
    COUNT = "count"  # N occurrences within a sliding window
    GEOFENCE = "geofence"  # a position outside a polygon


class ClearReason(StrEnum):
    CONDITION_ENDED = "condition_ended"  # the equipment reports normal again
    MANUAL = "manual"  # a person cleared it, with a comment
    RULE_CHANGED = "rule_changed"  # the rule was disabled, deleted, or no longer covers the asset


# How long an alarm may stay unacknowledged before it is escalated; ``info`` never is.
DEFAULT_ESCALATION_DELAYS: dict[Severity, timedelta] = {
    Severity.CRITICAL: timedelta(minutes=5),
    Severity.MAJOR: timedelta(minutes=15),
    Severity.MINOR: timedelta(hours=1),
    Severity.WARNING: timedelta(hours=4),
}

CODE_PATTERN = r"^[a-z0-9][a-z0-9_-]{1,62}$"
EVENT_CODE = Annotated[str, Field(min_length=1, max_length=64)]
METRIC_NAME = Annotated[str, Field(min_length=1, max_length=24)]
MAX_ZONE_VERTICES = 50_000


def parse_severity(value: str, where: str = "severity") -> Severity:
    try:
        return Severity(value.strip())
    except ValueError:
        known = ", ".join(s.value for s in Severity)
        raise InvalidInput(
            f"{where}: unknown severity {value!r}; known: {known}", code="invalid_severity"
        ) from None


def parse_state(value: str, where: str = "state") -> AlarmState:
    try:
        return AlarmState(value.strip())
    except ValueError:
        known = ", ".join(s.value for s in AlarmState)
        raise InvalidInput(
            f"{where}: unknown alarm state {value!r}; known: {known}", code="invalid_state"
        ) from None


# --- rule parameters, one model per type ------------------------------------------------------


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


class ThresholdParams(_Params):
    """Raise when ``metric`` goes above ``raise_at`` and clear only once it is back below
    ``clear_at`` (or the reverse with ``direction: below``). The band between the two is the
    hysteresis: a value wandering around one limit does not make the alarm chatter."""

    metric: METRIC_NAME
    direction: Literal["above", "below"] = "above"
    raise_at: float
    clear_at: float | None = Field(
        default=None, description="Defaults to raise_at (no hysteresis band)."
    )

    _finite_raise = field_validator("raise_at")(_finite)

    @field_validator("clear_at")
    @classmethod
    def _finite_clear(cls, value: float | None) -> float | None:
        return None if value is None else _finite(value)

    @model_validator(mode="after")
    def _band(self) -> ThresholdParams:
        clear = self.clear_level
        if self.direction == "above" and clear > self.raise_at:
            raise ValueError("with direction above, clear_at must not be greater than raise_at")
        if self.direction == "below" and clear < self.raise_at:
            raise ValueError("with direction below, clear_at must not be less than raise_at")
        return self

    @property
    def clear_level(self) -> float:
        return self.raise_at if self.clear_at is None else self.clear_at


class StateParams(_Params):
    """Either a metric equal to a value (``lamp_failure`` equal to 1, i.e. true; ``online``
    equal to 0), raised while it holds; or a device event ``code``, raised when it arrives and
    cleared by ``clear_code`` (or by hand when the device sends no such code)."""

    metric: METRIC_NAME | None = None
    equals: float | None = Field(default=None, description="With metric; booleans are 1 and 0.")
    code: EVENT_CODE | None = None
    clear_code: EVENT_CODE | None = None

    @model_validator(mode="after")
    def _one_source(self) -> StateParams:
        if (self.metric is None) == (self.code is None):
            raise ValueError("give either metric (with equals) or code, not both")
        if self.metric is None and self.equals is not None:
            raise ValueError("equals goes with metric")
        if self.code is None and self.clear_code is not None:
            raise ValueError("clear_code goes with code")
        if self.equals is not None:
            _finite(self.equals)
        return self

    @property
    def target(self) -> float:
        return 1.0 if self.equals is None else self.equals


class HeartbeatParams(_Params):
    """Offline when nothing arrived for ``missed`` expected reporting intervals."""

    interval_s: int = Field(ge=10, le=7 * 86_400, description="Expected reporting interval.")
    missed: int = Field(default=3, ge=1, le=1_000)

    @property
    def timeout_ms(self) -> int:
        return self.interval_s * self.missed * 1000


class CountParams(_Params):
    """``count`` occurrences within ``window_s``: events with ``code``, or a boolean
    ``metric`` turning true (rising edges, so a device repeating "open" counts once)."""

    code: EVENT_CODE | None = None
    metric: METRIC_NAME | None = None
    count: int = Field(ge=2, le=10_000)
    window_s: int = Field(ge=1, le=7 * 86_400)

    @model_validator(mode="after")
    def _one_source(self) -> CountParams:
        if (self.metric is None) == (self.code is None):
            raise ValueError("give either code or metric, not both")
        return self


class GeofenceParams(_Params):
    """Raise while the asset's ``position`` is outside ``zone`` (a GeoJSON Polygon or
    MultiPolygon in WGS 84 longitude/latitude)."""

    zone: dict[str, Any]

    @field_validator("zone")
    @classmethod
    def _valid_zone(cls, value: dict[str, Any]) -> dict[str, Any]:
        if value.get("type") not in ("Polygon", "MultiPolygon"):
            raise ValueError("zone must be a GeoJSON Polygon or MultiPolygon")
        try:
            geometry = shape(value)
        except Exception as exc:  # shapely raises several types on malformed coordinates
            raise ValueError(f"zone coordinates are malformed: {exc}") from None
        if geometry.is_empty or geometry.area <= 0:
            raise ValueError("zone is empty")
        minx, miny, maxx, maxy = geometry.bounds
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            raise ValueError("zone coordinates must be WGS 84 longitude/latitude")
        if not geometry.is_valid:
            raise ValueError("zone is not a valid polygon (self-intersecting or badly closed)")
        count = sum(len(p.exterior.coords) for p in getattr(geometry, "geoms", [geometry]))
        if count > MAX_ZONE_VERTICES:
            raise ValueError(f"zone has {count} vertices, at most {MAX_ZONE_VERTICES}")
        return value

    def geometry(self) -> BaseGeometry:
        return shape(self.zone)


RuleParams = ThresholdParams | StateParams | HeartbeatParams | CountParams | GeofenceParams

PARAMS_MODELS: dict[RuleType, type[_Params]] = {
    RuleType.THRESHOLD: ThresholdParams,
    RuleType.STATE: StateParams,
    RuleType.HEARTBEAT: HeartbeatParams,
    RuleType.COUNT: CountParams,
    RuleType.GEOFENCE: GeofenceParams,
}


def is_level(rule_type: RuleType, params: RuleParams) -> bool:
    """Whether the condition is a level that holds over time (it can be held, re-armed and
    re-evaluated from the twin), as opposed to instantaneous events."""
    if rule_type is RuleType.STATE:
        return isinstance(params, StateParams) and params.metric is not None
    return rule_type in (RuleType.THRESHOLD, RuleType.GEOFENCE, RuleType.HEARTBEAT)


# --- a rule's definition, as people write it ----------------------------------------------------


class RuleScopeSpec(BaseModel):
    """Which assets a rule watches; an empty list does not restrict."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kinds: list[str] = Field(default_factory=list, max_length=20)
    communes: list[str] = Field(default_factory=list, max_length=100)
    assets: list[Id] = Field(default_factory=list, max_length=10_000)


class RuleSpec(BaseModel):
    """Everything a rule is, before it has an id: what the API, the CLI and the default set
    give to ``services.create_rule``."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    code: str | None = Field(default=None, pattern=CODE_PATTERN)
    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=2000)
    type: RuleType
    severity: Severity
    params: dict[str, Any]
    scope: RuleScopeSpec = Field(default_factory=RuleScopeSpec)
    hold_s: int = Field(default=0, ge=0, le=86_400)
    flap_window_s: int = Field(default=300, ge=0, le=86_400)
    suppresses: list[Id] = Field(default_factory=list, max_length=50)
    opens_case: bool = False
    enabled: bool = True


def _problems(exc: ValidationError, prefix: str = "") -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"])
        message = str(err["msg"]).removeprefix("Value error, ")
        problems.append(Problem(".".join(p for p in (prefix, loc) if p) or "body", message))
    return problems


def _raise_problems(problems: list[Problem]) -> NoReturn:
    summary = "; ".join(f"{p['loc']}: {p['message']}" for p in problems[:5])
    raise InvalidInput(f"invalid rule: {summary}", details=problems, code="invalid_rule")


def parse_rule_spec(data: dict[str, Any]) -> tuple[RuleSpec, RuleParams]:
    """Validate a rule definition and its type's parameters; every problem names its field."""
    try:
        spec = RuleSpec.model_validate(data)
    except ValidationError as exc:
        _raise_problems(_problems(exc))
    params = parse_params(spec.type, spec.params)
    problems: list[Problem] = []
    if spec.hold_s and not is_level(spec.type, params):
        problems.append(
            Problem(
                "hold_s",
                "only conditions that last (threshold, state of a metric, "
                "geofence) can be held; this rule reacts to events or to silence",
            )
        )
    if spec.type is RuleType.HEARTBEAT and not spec.scope.kinds:
        problems.append(Problem("scope.kinds", "a heartbeat rule must name the kinds it watches"))
    if problems:
        _raise_problems(problems)
    return spec, params


def parse_params(rule_type: RuleType, raw: dict[str, Any]) -> RuleParams:
    model = PARAMS_MODELS[rule_type]
    try:
        parsed = model.model_validate(raw)
    except ValidationError as exc:
        _raise_problems(_problems(exc, "params"))
    assert isinstance(
        parsed, ThresholdParams | StateParams | HeartbeatParams | CountParams | GeofenceParams
    )
    return parsed


@dataclass(frozen=True, slots=True)
class Rule:
    id: int
    code: str | None
    name: str
    type: RuleType
    severity: Severity
    params: RuleParams
    kinds: tuple[str, ...] = ()  # empty: every kind
    communes: tuple[str, ...] = ()  # empty: every commune
    asset_ids: tuple[int, ...] = ()  # empty: every asset
    hold_s: int = 0
    flap_window_s: int = 300
    suppresses: tuple[int, ...] = ()  # rules whose alarms on this asset's children it mutes
    opens_case: bool = False
    enabled: bool = True
    description: str = ""
    version: int = 1
    created_at: datetime | None = None
    updated_at: datetime | None = None
    created_by: str = ""
    updated_by: str = ""
    deleted_at: datetime | None = None

    @property
    def level(self) -> bool:
        return is_level(self.type, self.params)

    def covers(self, kind: str, commune: str, asset_id: int) -> bool:
        return (
            (not self.kinds or kind in self.kinds)
            and (not self.communes or commune in self.communes)
            and (not self.asset_ids or asset_id in self.asset_ids)
        )

    def spec_dict(self) -> dict[str, Any]:
        """The rule as a ``RuleSpec`` dictionary (what an update starts from)."""
        return {
            "code": self.code,
            "name": self.name,
            "description": self.description,
            "type": self.type.value,
            "severity": self.severity.value,
            "params": self.params.model_dump(mode="json", exclude_none=True),
            "scope": {
                "kinds": list(self.kinds),
                "communes": list(self.communes),
                "assets": list(self.asset_ids),
            },
            "hold_s": self.hold_s,
            "flap_window_s": self.flap_window_s,
            "suppresses": list(self.suppresses),
            "opens_case": self.opens_case,
            "enabled": self.enabled,
        }


# --- alarms ------------------------------------------------------------------------------------


@dataclass(slots=True)
class AlarmComment:
    id: int
    alarm_id: int
    at: datetime
    author: str
    text: str


@dataclass(slots=True)
class Alarm:
    id: int
    rule_id: int
    rule_name: str
    asset_id: int
    asset_ref: str
    kind: str
    commune: str
    maintainer_id: int | None
    severity: Severity
    state: AlarmState
    raised_at: datetime
    message: str = ""
    value: float | None = None
    observed_at: datetime | None = None
    reopened_at: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    cleared_at: datetime | None = None
    cleared_by: str | None = None
    clear_reason: str | None = None
    assignee: str | None = None
    suppressed_by: int | None = None
    suppressed_count: int = 0
    flaps: int = 0
    escalation_level: int = 0
    escalated_at: datetime | None = None
    updated_at: datetime | None = None
    rule_code: str | None = None
    opens_case: bool = False
    comments: list[AlarmComment] = field(default_factory=list)

    @property
    def open(self) -> bool:
        return self.state in OPEN_STATES

    def check_acknowledge(self) -> None:
        if self.state is AlarmState.ACKNOWLEDGED:
            raise Conflict(f"alarm {self.id} is already acknowledged", code="already_acknowledged")
        if self.state is AlarmState.CLEARED:
            raise Conflict(f"alarm {self.id} is cleared", code="alarm_cleared")

    def check_clear(self) -> None:
        if self.state is AlarmState.CLEARED:
            raise Conflict(f"alarm {self.id} is already cleared", code="alarm_cleared")


# --- events ------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AlarmEvent(DomainEvent):
    """What every alarm event carries, so a subscriber (cases, the live stream) can route and
    scope it without reading the alarm back."""

    alarm_id: int
    asset_id: int
    commune_insee: str
    kind: str
    maintainer_id: int | None
    rule_id: int
    rule_code: str | None
    rule_name: str
    severity: str
    opens_case: bool
    suppressed_by: int | None = None
    actor: str = ""


@dataclass(frozen=True, kw_only=True)
class AlarmRaised(AlarmEvent):
    """An alarm became active and is not muted by a parent's: new, reopened after a flap
    (``reopened``, ``flaps``), or released when its parent's alarm cleared (``released``)."""

    message: str = ""
    reopened: bool = False
    released: bool = False
    flaps: int = 0


@dataclass(frozen=True, kw_only=True)
class AlarmAcknowledged(AlarmEvent):
    pass


@dataclass(frozen=True, kw_only=True)
class AlarmCleared(AlarmEvent):
    reason: str


@dataclass(frozen=True, kw_only=True)
class AlarmEscalated(AlarmEvent):
    level: int
    unacknowledged_s: float
