"""The equipment registry's domain: kinds, statuses, per-kind attributes, and change history.

Attribute names are snake_case; ``docs/assets.md`` maps each to its FIWARE Smart Data Models
counterpart (Streetlight, StreetlightControlCabinet, Camera, Device, …) where one exists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from metropilot.shared.errors import InvalidInput, Problem
from metropilot.shared.events import DomainEvent

__all__ = [
    "ATTRIBUTE_SCHEMAS",
    "FIWARE_TYPES",
    "PARENT_KINDS",
    "SENSOR_SUBTYPES",
    "Asset",
    "AssetChange",
    "AssetDraft",
    "AssetKind",
    "AssetStatus",
    "ChangeAction",
    "attribute_schema",
    "diff_assets",
    "validate_attributes",
    "validate_draft_shape",
]


class AssetKind(StrEnum):
    STREETLIGHT = "streetlight"
    LIGHTING_CABINET = "lighting_cabinet"
    TRAFFIC_JUNCTION = "traffic_junction"
    CAMERA = "camera"
    BUILDING = "building"
    BOLLARD = "bollard"
    VEHICLE = "vehicle"
    SENSOR = "sensor"


class AssetStatus(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"
    FAULT = "fault"
    OFFLINE = "offline"
    MAINTENANCE = "maintenance"
    DECOMMISSIONED = "decommissioned"


class ChangeAction(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    STATUS_CHANGED = "status_changed"


FIWARE_TYPES: dict[AssetKind, str] = {
    AssetKind.STREETLIGHT: "Streetlight",
    AssetKind.LIGHTING_CABINET: "StreetlightControlCabinet",
    # No junction model exists; the Transportation domain's flow entity is the closest.
    AssetKind.TRAFFIC_JUNCTION: "TrafficFlowObserved",
    AssetKind.CAMERA: "Camera",
    AssetKind.BUILDING: "Building",
    AssetKind.BOLLARD: "Device",
    AssetKind.VEHICLE: "Vehicle",
    AssetKind.SENSOR: "Device",
}

# Which kinds of asset may stand above another: a street light hangs off a control cabinet.
PARENT_KINDS: dict[AssetKind, frozenset[AssetKind]] = {
    AssetKind.STREETLIGHT: frozenset({AssetKind.LIGHTING_CABINET}),
    AssetKind.CAMERA: frozenset({AssetKind.BUILDING, AssetKind.TRAFFIC_JUNCTION}),
    AssetKind.SENSOR: frozenset(
        {
            AssetKind.BUILDING,
            AssetKind.LIGHTING_CABINET,
            AssetKind.STREETLIGHT,
            AssetKind.TRAFFIC_JUNCTION,
        }
    ),
    AssetKind.BOLLARD: frozenset({AssetKind.BUILDING}),
}

SENSOR_SUBTYPES = (
    "parking",
    "delivery_bay",
    "air_quality",
    "ev_charger",
    "noise",
    "weather",
    "flood",
    "traffic_counter",
)


class _Attributes(BaseModel):
    """Fields every kind may carry; unknown fields are refused so typos do not pass silently."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    manufacturer: str | None = Field(default=None, max_length=120)
    model_name: str | None = Field(default=None, max_length=120)
    serial_number: str | None = Field(default=None, max_length=120)
    install_date: date | None = None


# The most a street lamp draws (a stadium-grade floodlight); energy figures multiply it by hours.
LAMP_POWER_MAX_W = 2000


class StreetlightAttributes(_Attributes):
    lamp_technology: Literal["LED", "HPS", "MH", "LPS", "CFL", "other"]
    nominal_power_w: float = Field(gt=0, le=LAMP_POWER_MAX_W)
    mast_height_m: float | None = Field(default=None, gt=0, le=40)
    dimmable: bool = False
    colour_temperature_k: int | None = Field(default=None, ge=1500, le=7000)
    baseline_power_w: float | None = Field(
        default=None,
        gt=0,
        le=LAMP_POWER_MAX_W,
        description="Power of the lamp this one replaced (pre-LED).",
    )


class LightingCabinetAttributes(_Attributes):
    circuit_count: int = Field(default=1, ge=1, le=64)
    max_power_kva: float | None = Field(default=None, gt=0, le=1000)
    remote_managed: bool = True
    meter_ref: str | None = Field(default=None, max_length=64)


class TrafficJunctionAttributes(_Attributes):
    controller_model: str = Field(min_length=1, max_length=120)
    signal_heads: int = Field(ge=1, le=200)
    approaches: int = Field(default=4, ge=1, le=12)
    pedestrian_crossings: int = Field(default=0, ge=0, le=50)
    bus_priority: bool = False


class CameraAttributes(_Attributes):
    camera_type: Literal["fixed", "ptz"]
    resolution: str | None = Field(default=None, max_length=32)
    night_vision: bool = False
    presets: int = Field(default=0, ge=0, le=256)


class BuildingAttributes(_Attributes):
    building_type: Literal[
        "town_hall",
        "school",
        "nursery",
        "gymnasium",
        "library",
        "museum",
        "office",
        "depot",
        "cultural",
        "social",
        "other",
    ]
    supervision: list[Literal["fire", "intrusion", "access_control"]] = Field(default_factory=list)
    floors: int | None = Field(default=None, ge=0, le=100)
    address: str | None = Field(default=None, max_length=200)


class BollardAttributes(_Attributes):
    bollard_type: Literal["retractable", "removable", "fixed"] = "retractable"
    access_point: str | None = Field(default=None, max_length=120)
    default_position: Literal["up", "down"] = "up"


class VehicleAttributes(_Attributes):
    vehicle_type: Literal[
        "car", "van", "truck", "bucket_truck", "street_sweeper", "gritter", "motorbike", "bicycle"
    ]
    registration: str | None = Field(default=None, max_length=20)
    fuel: Literal["diesel", "petrol", "electric", "hybrid", "gas", "muscle"] | None = None
    home_base: str | None = Field(default=None, max_length=120)


class SensorAttributes(_Attributes):
    bay_count: int | None = Field(default=None, ge=1, le=10_000)
    pollutants: list[Literal["pm10", "pm2_5", "no2", "o3", "so2", "co"]] | None = None
    connector_count: int | None = Field(default=None, ge=1, le=64)
    max_power_kw: float | None = Field(default=None, gt=0, le=1000)
    reporting_interval_s: int | None = Field(default=None, ge=1, le=86_400)


ATTRIBUTE_SCHEMAS: dict[AssetKind, type[_Attributes]] = {
    AssetKind.STREETLIGHT: StreetlightAttributes,
    AssetKind.LIGHTING_CABINET: LightingCabinetAttributes,
    AssetKind.TRAFFIC_JUNCTION: TrafficJunctionAttributes,
    AssetKind.CAMERA: CameraAttributes,
    AssetKind.BUILDING: BuildingAttributes,
    AssetKind.BOLLARD: BollardAttributes,
    AssetKind.VEHICLE: VehicleAttributes,
    AssetKind.SENSOR: SensorAttributes,
}


def attribute_schema(kind: AssetKind) -> dict[str, Any]:
    """The JSON Schema of a kind's attributes, as published in the API."""
    return ATTRIBUTE_SCHEMAS[kind].model_json_schema()


def parse_kind(value: Any, where: str) -> AssetKind:
    try:
        return AssetKind(str(value).strip())
    except ValueError:
        known = ", ".join(k.value for k in AssetKind)
        raise InvalidInput(
            f"{where}: unknown kind {value!r}; known kinds: {known}",
            details=[Problem(where, f"unknown kind {value!r}")],
            code="unknown_kind",
        ) from None


def parse_status(value: Any, where: str) -> AssetStatus:
    try:
        return AssetStatus(str(value).strip())
    except ValueError:
        known = ", ".join(s.value for s in AssetStatus)
        raise InvalidInput(
            f"{where}: unknown status {value!r}; known statuses: {known}",
            details=[Problem(where, f"unknown status {value!r}")],
        ) from None


def validate_attributes(
    kind: AssetKind, subtype: str | None, raw: dict[str, Any], where: str
) -> dict[str, Any]:
    """Validate and normalise one asset's attributes; errors name every offending field."""
    if kind is AssetKind.SENSOR:
        if subtype not in SENSOR_SUBTYPES:
            raise InvalidInput(
                f"{where}.subtype: a sensor needs a subtype among {', '.join(SENSOR_SUBTYPES)}, "
                f"got {subtype!r}",
                details=[Problem(f"{where}.subtype", "unknown or missing sensor subtype")],
            )
    elif subtype:
        raise InvalidInput(
            f"{where}.subtype: only sensors have a subtype ({kind.value} given {subtype!r})",
            details=[Problem(f"{where}.subtype", "unexpected subtype")],
        )
    schema = ATTRIBUTE_SCHEMAS[kind]
    try:
        parsed = schema.model_validate(raw)
    except ValidationError as exc:
        problems = [
            Problem(
                ".".join([where, "attributes", *(str(p) for p in err["loc"])]),
                err["msg"],
                input=_jsonable(err.get("input")),
            )
            for err in exc.errors(include_url=False)
        ]
        summary = "; ".join(f"{p['loc']}: {p['message']}" for p in problems)
        raise InvalidInput(
            f"attributes invalid for a {kind.value}: {summary}",
            details=problems,
            code="invalid_attributes",
        ) from None
    clean = parsed.model_dump(mode="json", exclude_none=True)
    for name, value in clean.items():
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(t, str) and "\x00" in t for t in texts):
            raise InvalidInput(
                f"{where}.attributes.{name}: contains a NUL character",
                details=[Problem(f"{where}.attributes.{name}", "contains a NUL character")],
            )
    return clean


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(value)


@dataclass(slots=True)
class AssetDraft:
    """An asset as an importer or a form describes it, before it is placed and stored."""

    external_ref: str
    kind: AssetKind
    lon: float
    lat: float
    attributes: dict[str, Any]
    maintainer: str | None = None  # organisation code
    parent_ref: str | None = None  # parent's external reference
    subtype: str | None = None
    name: str | None = None
    status: AssetStatus | None = None  # None keeps the current status (ok for a new asset)
    where: str = "asset"  # where the draft came from, for error messages: "line 12", "feature 3"


def validate_draft_shape(draft: AssetDraft) -> AssetDraft:
    """Checks that need nothing but the draft itself; returns the draft with clean attributes."""
    where = draft.where
    ref = draft.external_ref.strip()
    if not ref or len(ref) > 100:
        raise InvalidInput(
            f"{where}.external_ref: required, 1-100 characters",
            details=[Problem(f"{where}.external_ref", "required, 1-100 characters")],
        )
    for label, text in (("external_ref", ref), ("name", draft.name), ("subtype", draft.subtype)):
        if text is not None and "\x00" in text:
            raise InvalidInput(
                f"{where}.{label}: contains a NUL character",
                details=[Problem(f"{where}.{label}", "contains a NUL character")],
            )
    if draft.name is not None and len(draft.name) > 200:
        raise InvalidInput(
            f"{where}.name: at most 200 characters, got {len(draft.name)}",
            details=[Problem(f"{where}.name", "at most 200 characters")],
        )
    if not (math.isfinite(draft.lon) and math.isfinite(draft.lat)):
        raise InvalidInput(f"{where}: coordinates must be finite numbers")
    if not (-180 <= draft.lon <= 180 and -90 <= draft.lat <= 90):
        raise InvalidInput(
            f"{where}: coordinates ({draft.lon}, {draft.lat}) are not WGS 84 lon/lat degrees",
            details=[Problem(f"{where}.geometry", "not WGS 84 longitude/latitude")],
        )
    if draft.parent_ref is not None and draft.kind not in PARENT_KINDS:
        raise InvalidInput(
            f"{where}.parent: a {draft.kind.value} cannot have a parent",
            details=[Problem(f"{where}.parent", "this kind has no parent")],
        )
    attributes = validate_attributes(draft.kind, draft.subtype or None, draft.attributes, where)
    # A constructor call, not dataclasses.replace: this runs once per asset of every import.
    return AssetDraft(
        external_ref=ref,
        kind=draft.kind,
        lon=draft.lon,
        lat=draft.lat,
        attributes=attributes,
        maintainer=draft.maintainer,
        parent_ref=draft.parent_ref,
        subtype=draft.subtype or None,
        name=draft.name,
        status=draft.status,
        where=draft.where,
    )


@dataclass(slots=True)
class Asset:
    id: int
    external_ref: str
    kind: AssetKind
    lon: float
    lat: float
    commune_insee: str
    status: AssetStatus
    attributes: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    subtype: str | None = None
    name: str | None = None
    maintainer_id: int | None = None
    maintainer_code: str | None = None
    parent_id: int | None = None
    parent_ref: str | None = None
    version: int = 1


TRACKED_FIELDS = (
    "kind",
    "subtype",
    "name",
    "lon",
    "lat",
    "commune_insee",
    "status",
    "maintainer_code",
    "parent_ref",
    "attributes",
)


def diff_assets(before: Asset | None, after: Asset) -> dict[str, list[Any]]:
    """``{field: [before, after]}`` for every tracked field that changed (all of them on create)."""
    if before is None:
        return {
            name: [None, _plain(value)]
            for name in TRACKED_FIELDS
            if (value := getattr(after, name)) is not None
        }
    changes: dict[str, list[Any]] = {}
    for name in TRACKED_FIELDS:
        new = getattr(after, name)
        old = getattr(before, name)
        if name == "attributes":
            for key in sorted(set(before.attributes) | set(after.attributes)):
                old_value, new_value = before.attributes.get(key), after.attributes.get(key)
                if old_value != new_value:
                    changes[f"attributes.{key}"] = [old_value, new_value]
            continue
        if old != new:
            changes[name] = [_plain(old), _plain(new)]
    return changes


def _plain(value: Any) -> Any:
    # An enum member's _value_ is a plain attribute; .value goes through a slow descriptor.
    return value._value_ if isinstance(value, StrEnum) else value


@dataclass(slots=True)
class AssetChange:
    asset_id: int
    at: datetime
    actor: str
    action: ChangeAction
    changes: dict[str, list[Any]] = field(default_factory=dict)
    id: int | None = None


# --- events -----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AssetsImported(DomainEvent):
    created: int
    updated: int
    actor: str


@dataclass(frozen=True, kw_only=True)
class AssetStatusChanged(DomainEvent):
    """An asset's status changed; it says who maintains the asset, so the live stream can show
    the change to that contractor without reading the registry back."""

    asset_id: int
    commune_insee: str
    kind: str
    maintainer_id: int | None
    before: str
    after: str
    actor: str
