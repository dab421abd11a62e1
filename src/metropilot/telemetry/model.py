"""The telemetry message format, its validation, and the twin's derived status. Pure.

A reading is ``{"asset": "<id or external reference>", "ts": "<ISO 8601 with offset>",
"metrics": {...}}``; an event is ``{"asset", "ts", "event": {"code": "...", "payload": {...}}}``.
Lighting gateways speaking a TALQ-like vocabulary (``lampFailure``, ``supplyLoss``,
``activeEnergy``, ``operatingHours``, ``actualLightState``) are accepted and mapped.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Annotated, Any, Literal, NamedTuple

import msgspec
import orjson
from msgspec import UNSET, UnsetType

__all__ = [
    "FAULT_FLAGS",
    "METRICS",
    "TALQ_NAMES",
    "DecodedEvent",
    "DecodedReading",
    "InvalidItem",
    "MetricSpec",
    "decode_batch",
    "decode_item",
    "derive_status",
    "json_items",
    "outside_window",
    "parse_timestamp",
]

# How far ahead of the platform's clock a reading's time may be: a device's clock drifts a
# little, and a gateway's may have been set by hand. Beyond that the time is wrong, and a reading
# stored at it would pass for the latest value until the platform's clock caught up.
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


# Every number has a plausible range, and values outside it are refused with the range: a
# reading of 1.7e308 is a broken meter, and two of them would overflow any sum or average
# (rollups, energy, KPIs) to infinity. The upper bounds leave room for a century of readings:
# an hour's rollup sums at most 3.6 million of them, so no aggregate can come near overflow.
METRICS: dict[str, MetricSpec] = {
    "power_w": MetricSpec("number", "W", 0, 100_000, "instant active power"),
    # A cabinet's meter: 100 kW for a century is under 1e11 Wh.
    "energy_wh": MetricSpec("number", "Wh", 0, 1e12, "cumulative active energy"),
    "light_level_pct": MetricSpec("number", "%", 0, 100, "actual light output"),
    # A century is under 900,000 hours.
    "operating_hours": MetricSpec("number", "h", 0, 1e6, "cumulative burning hours"),
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
    "occupancy": MetricSpec("number", "", 0, 100_000, "occupied places or occupancy 0–1"),
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
    # States the equipment reports after a command (see docs/control.md).
    "junction_mode": MetricSpec(
        "number", "", 0, 3, "0 normal, 1 flashing amber, 2 all red, 3 forced green"
    ),
    "junction_approach": MetricSpec("number", "", 0, 12, "the approach given a forced green"),
    "bollard_up": MetricSpec("bool", "", description="the bollard is raised"),
    "door_locked": MetricSpec("bool", "", description="the building's doors are locked"),
    "camera_preset": MetricSpec("number", "", 0, 256, "the camera's current preset"),
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


class DecodedReading(NamedTuple):
    """One reading, checked. (A named tuple: the fast road makes one per reading.)"""

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
    if ts_ms - now_ms > MAX_FUTURE_MS or ts_ms < oldest_ms:
        raise outside_window(value, ts_ms, now_ms, oldest_ms)
    return ts_ms


def outside_window(value: str, ts_ms: int, now_ms: int, oldest_ms: int) -> InvalidItem:
    """The refusal of a timestamp too far ahead of the platform's clock, or older than the raw
    retention (the retention would delete the reading at once). Both say the platform's time,
    so that whoever reads the refusal can tell a device's clock is wrong, and by how much."""
    if ts_ms - now_ms > MAX_FUTURE_MS:
        return InvalidItem(
            "future_timestamp",
            f"ts {value} is more than {MAX_FUTURE_MS // 60_000} minutes ahead of the platform's "
            f"clock ({_iso_ms(now_ms)})",
        )
    return InvalidItem(
        "too_old",
        f"ts {value} is older than the raw retention: the oldest time still kept is "
        f"{_iso_ms(oldest_ms)}",
    )


def _iso_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")


# Accepted metric name (ours or TALQ's) → (our name, kind, lower, upper, unit factor), so that
# checking a value costs one dictionary lookup and two comparisons on the ingest hot path.
_NUMBER, _BOOL, _POSITION = 0, 1, 2
_KIND_CODES = {"number": _NUMBER, "bool": _BOOL, "position": _POSITION}
_LARGEST = 1.7976931348623157e308  # an unbounded metric still refuses infinity


def _field(name: str, factor: float) -> tuple[str, int, float, float, float]:
    # A name in another unit (TALQ's kWh) is bounded in its own unit, so that the value stored
    # after the factor is within the metric's range.
    spec = METRICS[name]
    lower = -_LARGEST if spec.minimum is None else float(spec.minimum) / factor
    upper = _LARGEST if spec.maximum is None else float(spec.maximum) / factor
    return name, _KIND_CODES[spec.kind], lower, upper, factor


_FIELDS: dict[str, tuple[str, int, float, float, float]] = {
    **{name: _field(name, 1.0) for name in METRICS},
    **{talq: _field(name, factor) for talq, (name, factor) in TALQ_NAMES.items()},
}


def _refuse_number(raw_name: str, value: Any, kind: int) -> InvalidItem:
    """Why a value was refused, worked out only once it has been (the slow path)."""
    if kind == _BOOL:
        return InvalidItem("bad_value", f"{raw_name} must be true or false, got {value!r}")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return InvalidItem("bad_value", f"{raw_name} must be a number, got {value!r}")
    if not math.isfinite(value):
        return InvalidItem("bad_value", f"{raw_name} must be finite")
    _, _, lowest, highest, _ = _FIELDS[raw_name]
    upper = "∞" if highest == _LARGEST else f"{highest:g}"
    lower = "-∞" if lowest == -_LARGEST else f"{lowest:g}"
    return InvalidItem("out_of_range", f"{raw_name}={float(value):g} outside {lower}..{upper}")


def _values(metrics: Any) -> dict[str, float]:
    if type(metrics) is not dict or not metrics:
        raise InvalidItem("bad_metrics", "metrics must be a non-empty object")
    values: dict[str, float] = {}
    fields = _FIELDS
    for raw_name, value in metrics.items():
        found = fields.get(raw_name)
        if found is None:
            raise InvalidItem("unknown_metric", f"unknown metric {raw_name!r}")
        name, kind, lower, upper, factor = found
        value_type = type(value)
        if kind == _NUMBER:
            # NaN fails both comparisons, infinity the bound: one test refuses all three.
            if (value_type is float or value_type is int) and lower <= value <= upper:
                values[name] = value * factor
                continue
            raise _refuse_number(raw_name, value, kind)
        if kind == _BOOL:
            if value_type is bool or (
                (value_type is int or value_type is float) and (value == 0 or value == 1)
            ):
                values[name] = 1.0 if value else 0.0
                continue
            raise _refuse_number(raw_name, value, kind)
        if (
            not isinstance(value, list | tuple)
            or len(value) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
            or not (-180 <= value[0] <= 180 and -90 <= value[1] <= 90)
        ):
            raise InvalidItem("bad_value", f"position must be [lon, lat], got {value!r}")
        values["position_lon"], values["position_lat"] = float(value[0]), float(value[1])
    return values


def decode_item(
    item: Any, now_ms: int, oldest_ms: int, seen_timestamps: dict[str, int] | None = None
) -> DecodedReading | DecodedEvent:
    """One reading or event of a batch, in either vocabulary, or InvalidItem saying why not.

    ``seen_timestamps`` remembers the timestamps already parsed in this batch: a gateway
    reporting its lamps at once repeats the same one, and parsing it again would cost more
    than the rest of the reading."""
    if type(item) is not dict:
        raise InvalidItem("not_an_object", "each item must be a JSON object")
    if "device" in item and "asset" not in item:  # TALQ-like gateway shape
        item = {"asset": item.get("device"), "ts": item.get("time"), "metrics": item.get("data")}
    ref = item.get("asset")
    if type(ref) is not str:
        if type(ref) is not int:
            raise InvalidItem("bad_asset", "asset must be the asset's id or external reference")
        ref = str(ref)
    ref = ref.strip()
    if not ref or len(ref) > 100:
        raise InvalidItem("bad_asset", "asset must be the asset's id or external reference")
    raw_ts = item.get("ts")
    ts = (
        seen_timestamps.get(raw_ts) if seen_timestamps is not None and type(raw_ts) is str else None
    )
    if ts is None:
        ts = parse_timestamp(raw_ts, now_ms, oldest_ms)
        if seen_timestamps is not None:
            seen_timestamps[raw_ts] = ts
    if "event" not in item:
        return DecodedReading(ref, ts, _values(item.get("metrics")))
    event = item["event"]
    if not isinstance(event, dict) or not isinstance(event.get("code"), str):
        raise InvalidItem("bad_event", 'event must be {"code": "…", "payload": {…}}')
    code = event["code"].strip()
    if not code or len(code) > 64:
        raise InvalidItem("bad_event", "event code must be 1-64 characters")
    payload = event.get("payload", {})
    if not isinstance(payload, dict):
        raise InvalidItem("bad_event", "event payload must be an object")
    return DecodedEvent(ref, ts, code, payload)


# --- the fast road for well-formed batches ------------------------------------------------------
#
# A batch from a gateway or the simulator is nearly always entirely valid. msgspec decodes such a
# JSON body in C into typed items and judges it there too: the metrics are a structure with one
# optional field per metric of METRICS, typed and bounded as METRICS says, refusing any other
# name; one more call in C turns every item's metrics into a dictionary. Python is left a short
# pass per item (the reference, the time in milliseconds). Anything unusual — one bad item, a
# TALQ name, a 0/1 boolean — sends the whole body down the general road (``decode_item`` item by
# item), which explains each refusal. The fast road never accepts what the general road would
# refuse; the tests hold the two to the same verdicts.


def _fast_metric_type(spec: MetricSpec) -> Any:
    if spec.kind == "bool":
        return bool
    if spec.kind == "position":
        return tuple[
            Annotated[float, msgspec.Meta(ge=-180, le=180)],
            Annotated[float, msgspec.Meta(ge=-90, le=90)],
        ]
    lower = -_LARGEST if spec.minimum is None else float(spec.minimum)
    upper = _LARGEST if spec.maximum is None else float(spec.maximum)
    return Annotated[float, msgspec.Meta(ge=lower, le=upper)]


_FastMetrics: Any = msgspec.defstruct(
    "_FastMetrics",
    [(name, _fast_metric_type(spec) | UnsetType, UNSET) for name, spec in METRICS.items()],
    forbid_unknown_fields=True,
)


class _FastEvent(msgspec.Struct, forbid_unknown_fields=True):
    code: str
    payload: dict[str, Any] | UnsetType = UNSET


_FAST_REF = Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | int
_FAST_FIELDS: list[tuple[str, Any, Any]] = [
    ("ts", Annotated[datetime, msgspec.Meta(tz=True)], msgspec.NODEFAULT),
    ("metrics", _FastMetrics | None, None),  # null is refused below, as when absent
    ("event", _FastEvent | UnsetType, UNSET),
]
_FastItem: Any = msgspec.defstruct("_FastItem", [("asset", _FAST_REF), *_FAST_FIELDS])
_FAST_BATCH = msgspec.json.Decoder(list[_FastItem] | _FastItem)
# On an MQTT topic the asset is the topic's; an item may name it again (it must be the same).
_FastTopicItem: Any = msgspec.defstruct(
    "_FastTopicItem", [*_FAST_FIELDS, ("asset", _FAST_REF | UnsetType, UNSET)]
)
_FAST_TOPIC_BATCH = msgspec.json.Decoder(list[_FastTopicItem] | _FastTopicItem)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)
# Metrics whose decoded value is not yet the float the twin stores (booleans, the position).
_NOT_PLAIN = frozenset(name for name, spec in METRICS.items() if spec.kind != "number")


# Builds a DecodedReading from a tuple in C, without the named tuple's Python constructor.
new_reading: Callable[[tuple[str, int, dict[str, float]]], DecodedReading] = partial(
    tuple.__new__, DecodedReading
)


def decode_batch(
    body: bytes | bytearray | str, topic_asset: str | None = None
) -> list[DecodedReading | DecodedEvent] | None:
    """A JSON body (an array of items or one item) decoded on the fast road, or None when
    any part of it needs the general road. ``topic_asset``: the body came on that asset's MQTT
    topic, and its items may leave the asset out."""
    decoder, single = (
        (_FAST_BATCH, _FastItem) if topic_asset is None else (_FAST_TOPIC_BATCH, _FastTopicItem)
    )
    try:
        parsed = decoder.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None
    if type(parsed) is single:
        parsed = [parsed]
    # Every item's metrics as a dictionary of the metrics it carried, in one call in C (None
    # where an item carries none).
    all_values = msgspec.to_builtins([item.metrics for item in parsed])
    decoded: list[DecodedReading | DecodedEvent] = []
    add = decoded.append
    not_plain, epoch, millisecond = _NOT_PLAIN, _EPOCH, _MILLISECOND
    for item, values in zip(parsed, all_values, strict=True):
        ref = item.asset
        if type(ref) is str:
            ref = ref.strip()
            if not ref:
                return None
        elif ref is UNSET:
            ref = topic_asset
        else:
            ref = str(ref)
            if len(ref) > 100:
                return None
        if topic_asset is not None and ref != topic_asset:
            return None  # the general road refuses it, saying which asset the topic named
        ts_ms = (item.ts - epoch) // millisecond
        event = item.event
        if event is not UNSET:
            code = event.code.strip()
            if not code or len(code) > 64:
                return None
            payload = {} if event.payload is UNSET else event.payload
            add(DecodedEvent(ref, ts_ms, code, payload))
            continue
        if not values:  # no metrics, or none at all
            return None
        if not not_plain.isdisjoint(values):
            values = _normalised(values)
        add(new_reading((ref, ts_ms, values)))
    return decoded


def json_items(body: bytes) -> list[Any]:
    """The items of a JSON body — an array of items or one item — decoded on the fast road
    when it can be, else as plain JSON for ``decode_item`` to judge item by item. A body that
    is not JSON at all, or neither an array nor an object, is refused whole (InvalidItem)."""
    # A large body decodes into tens of thousands of objects that form no reference cycles:
    # the garbage collector would walk them a dozen times for nothing (8% of the decoding).
    collecting = gc.isenabled()
    if collecting:
        gc.disable()
    try:
        fast = decode_batch(body)
    finally:
        if collecting:
            gc.enable()
    if fast is not None:
        return fast
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidItem("malformed_json", f"body is not valid JSON: {exc}") from None
    if isinstance(document, dict):
        return [document]
    if not isinstance(document, list):
        raise InvalidItem(
            "bad_body", "body must be a JSON array of readings, one reading, or NDJSON"
        )
    return document


def _normalised(values: dict[str, Any]) -> dict[str, float]:
    """Booleans as 0/1 and a position as its two coordinates, as the general road does."""
    out: dict[str, float] = {}
    for name, value in values.items():
        if type(value) is bool:
            out[name] = 1.0 if value else 0.0
        elif type(value) is tuple or type(value) is list:
            out["position_lon"], out["position_lat"] = value
        else:
            out[name] = value
    return out


FAULT_FLAGS = ("lamp_failure", "supply_loss", "controller_fault", "fire")


def derive_status(value_of: Callable[[str], float | None]) -> str:
    """The status an asset's latest values imply (rules add offline-by-silence and more)."""
    if value_of("online") == 0.0:
        return "offline"
    for flag in FAULT_FLAGS:
        if value_of(flag) == 1.0:
            return "fault"
    return "ok"
