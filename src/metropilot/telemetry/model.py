"""The telemetry message format, its validation, and the twin's derived status. Pure.

A reading is ``{"asset": "<id or external reference>", "ts": "<ISO 8601 with offset>",
"metrics": {...}}``; an event is ``{"asset", "ts", "event": {"code": "...", "payload": {...}}}``.
Lighting gateways speaking a TALQ-like vocabulary (``lampFailure``, ``supplyLoss``,
``activeEnergy``, ``operatingHours``, ``actualLightState``) are accepted and mapped.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

__all__ = [
    "METRICS",
    "TALQ_NAMES",
    "DecodedEvent",
    "DecodedReading",
    "InvalidItem",
    "MetricSpec",
    "decode_item",
    "derive_status",
    "parse_timestamp",
]

MAX_FUTURE_MS = 5 * 60 * 1000


class InvalidItem(ValueError):
    """One item of a batch is refused; ``reason`` is a stable code, the message says why."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class MetricSpec:
    kind: Literal["number", "bool", "position"]
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    description: str = ""


METRICS: dict[str, MetricSpec] = {
    "power_w": MetricSpec("number", "W", 0, 100_000, "instant active power"),
    "energy_wh": MetricSpec("number", "Wh", 0, None, "cumulative active energy"),
    "light_level_pct": MetricSpec("number", "%", 0, 100, "actual light output"),
    "operating_hours": MetricSpec("number", "h", 0, None, "cumulative burning hours"),
    "lamp_failure": MetricSpec("bool", "", description="the lamp does not light"),
    "supply_loss": MetricSpec("bool", "", description="no mains supply"),
    "online": MetricSpec("bool", "", description="the device is reachable"),
    "controller_fault": MetricSpec("bool", "", description="junction controller fault"),
    "door_open": MetricSpec("bool", "", description="a door or cabinet is open"),
    "intrusion": MetricSpec("bool", "", description="intrusion alarm"),
    "fire": MetricSpec("bool", "", description="fire alarm"),
    "position": MetricSpec("position", "°", description="[lon, lat] in WGS 84"),
    "speed_kmh": MetricSpec("number", "km/h", 0, 300),
    "heading_deg": MetricSpec("number", "°", 0, 360),
    "occupancy": MetricSpec("number", "", 0, None, "occupied places or occupancy 0–1"),
    "pm10": MetricSpec("number", "µg/m³", 0, 5000),
    "pm2_5": MetricSpec("number", "µg/m³", 0, 5000),
    "no2": MetricSpec("number", "µg/m³", 0, 5000),
    "o3": MetricSpec("number", "µg/m³", 0, 5000),
    "temperature_c": MetricSpec("number", "°C", -60, 80),
    "humidity_pct": MetricSpec("number", "%", 0, 100),
    "noise_db": MetricSpec("number", "dB(A)", 0, 200),
    "battery_pct": MetricSpec("number", "%", 0, 100),
    "charging_kw": MetricSpec("number", "kW", 0, 1000),
    "water_level_cm": MetricSpec("number", "cm", -1000, 10_000),
}

# TALQ-inspired gateway vocabulary → ours, with a unit factor where they differ.
TALQ_NAMES: dict[str, tuple[str, float]] = {
    "lampFailure": ("lamp_failure", 1.0),
    "supplyLoss": ("supply_loss", 1.0),
    "activeEnergy": ("energy_wh", 1000.0),  # TALQ reports kWh
    "activePower": ("power_w", 1.0),
    "operatingHours": ("operating_hours", 1.0),
    "actualLightState": ("light_level_pct", 1.0),
    "actualLightLevel": ("light_level_pct", 1.0),
}


@dataclass(slots=True)
class DecodedReading:
    asset_ref: str
    ts_ms: int  # milliseconds since the epoch, UTC
    values: dict[str, float]  # booleans as 0/1; position as position_lon/position_lat


@dataclass(slots=True)
class DecodedEvent:
    asset_ref: str
    ts_ms: int
    code: str
    payload: dict[str, Any] = field(default_factory=dict)


def parse_timestamp(value: Any, now_ms: int, oldest_ms: int) -> int:
    """Milliseconds since the epoch of an ISO 8601 time with offset, within the accepted window
    (not more than 5 minutes ahead of ``now_ms``, not before ``oldest_ms``)."""
    if not isinstance(value, str):
        raise InvalidItem("bad_timestamp", "ts must be an ISO 8601 string with a UTC offset")
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidItem("bad_timestamp", f"ts {value!r} is not ISO 8601") from None
    if ts.tzinfo is None:
        raise InvalidItem("bad_timestamp", f"ts {value!r} has no UTC offset")
    ts_ms = int(ts.timestamp() * 1000)
    if ts_ms - now_ms > MAX_FUTURE_MS:
        raise InvalidItem("future_timestamp", f"ts {value} is more than 5 minutes ahead")
    if ts_ms < oldest_ms:
        raise InvalidItem("too_old", f"ts {value} is older than the raw retention")
    return ts_ms


def _number(name: str, value: Any, spec: MetricSpec) -> float:
    if spec.kind == "bool":
        if isinstance(value, bool):
            return 1.0 if value else 0.0
        if value in (0, 1):
            return float(value)
        raise InvalidItem("bad_value", f"{name} must be true or false, got {value!r}")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidItem("bad_value", f"{name} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise InvalidItem("bad_value", f"{name} must be finite")
    if (spec.minimum is not None and number < spec.minimum) or (
        spec.maximum is not None and number > spec.maximum
    ):
        upper = "∞" if spec.maximum is None else f"{spec.maximum:g}"
        lower = "-∞" if spec.minimum is None else f"{spec.minimum:g}"
        raise InvalidItem("out_of_range", f"{name}={number:g} outside {lower}..{upper}")
    return number


def _values(metrics: Any) -> dict[str, float]:
    if not isinstance(metrics, dict) or not metrics:
        raise InvalidItem("bad_metrics", "metrics must be a non-empty object")
    values: dict[str, float] = {}
    for raw_name, value in metrics.items():
        name, factor = TALQ_NAMES.get(raw_name, (raw_name, 1.0))
        spec = METRICS.get(name)
        if spec is None:
            raise InvalidItem("unknown_metric", f"unknown metric {raw_name!r}")
        if spec.kind == "position":
            if (
                not isinstance(value, list | tuple)
                or len(value) != 2
                or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
                or not (-180 <= value[0] <= 180 and -90 <= value[1] <= 90)
            ):
                raise InvalidItem("bad_value", f"position must be [lon, lat], got {value!r}")
            values["position_lon"], values["position_lat"] = float(value[0]), float(value[1])
            continue
        values[name] = _number(raw_name, value, spec) * factor
    return values


def decode_item(item: Any, now_ms: int, oldest_ms: int) -> DecodedReading | DecodedEvent:
    """One reading or event of a batch, in either vocabulary, or InvalidItem saying why not."""
    if not isinstance(item, dict):
        raise InvalidItem("not_an_object", "each item must be a JSON object")
    if "device" in item and "asset" not in item:  # TALQ-like gateway shape
        item = {"asset": item.get("device"), "ts": item.get("time"), "metrics": item.get("data")}
    ref = item.get("asset")
    if isinstance(ref, int) and not isinstance(ref, bool):
        ref = str(ref)
    if not isinstance(ref, str) or not ref.strip() or len(ref) > 100:
        raise InvalidItem("bad_asset", "asset must be the asset's id or external reference")
    ts = parse_timestamp(item.get("ts"), now_ms, oldest_ms)
    if "event" not in item:
        return DecodedReading(ref.strip(), ts, _values(item.get("metrics")))
    event = item["event"]
    if not isinstance(event, dict) or not isinstance(event.get("code"), str):
        raise InvalidItem("bad_event", 'event must be {"code": "…", "payload": {…}}')
    code = event["code"].strip()
    if not code or len(code) > 64:
        raise InvalidItem("bad_event", "event code must be 1-64 characters")
    payload = event.get("payload", {})
    if not isinstance(payload, dict):
        raise InvalidItem("bad_event", "event payload must be an object")
    return DecodedEvent(ref.strip(), ts, code, payload)


FAULT_FLAGS = ("lamp_failure", "supply_loss", "controller_fault", "fire")


def derive_status(value_of: Callable[[str], float | None]) -> str:
    """The status an asset's latest values imply (rules add offline-by-silence and more)."""
    if value_of("online") == 0.0:
        return "offline"
    for flag in FAULT_FLAGS:
        if value_of(flag) == 1.0:
            return "fault"
    return "ok"
