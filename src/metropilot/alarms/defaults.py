"""The rules shipped for the reference equipment, installed by ``services.install_default_rules``.

Each has a stable ``code``: installing is idempotent (a rule already installed — even edited or
deleted since by a supervisor — is left alone), and the correlation between them is written with
codes, resolved to ids at installation. The numbers are starting points a supervisor tunes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
import shapely
from shapely.geometry.base import BaseGeometry

__all__ = ["DEFAULT_RULES", "ZONE_PLACEHOLDER", "metropolis_zone"]

# The vehicle rule's zone is the metropolis itself, computed from the communes at installation.
ZONE_PLACEHOLDER = "metropolis"

# Each entry is a RuleSpec dictionary, except ``suppresses``, which names rules by code.
DEFAULT_RULES: list[dict[str, Any]] = [
    {
        "code": "cabinet-supply-loss",
        "name": "Lighting cabinet: mains supply lost",
        "description": "The cabinet reports no mains supply: every light it feeds is dark. Its "
        "lights' own failure, supply and silence alarms are muted under this one.",
        "type": "state",
        "severity": "major",
        "params": {"metric": "supply_loss", "equals": 1},
        "scope": {"kinds": ["lighting_cabinet"]},
        "suppresses": ["lamp-failure", "streetlight-supply-loss", "streetlight-silent"],
        "opens_case": True,
    },
    {
        "code": "lamp-failure",
        "name": "Street light: lamp failure",
        "description": "The light's controller reports that the lamp does not light.",
        "type": "state",
        "severity": "minor",
        "params": {"metric": "lamp_failure", "equals": 1},
        "scope": {"kinds": ["streetlight"]},
        "opens_case": True,
    },
    {
        "code": "streetlight-supply-loss",
        "name": "Street light: no supply",
        "description": "The light's controller reports no mains supply at the light point.",
        "type": "state",
        "severity": "minor",
        "params": {"metric": "supply_loss", "equals": 1},
        "scope": {"kinds": ["streetlight"]},
        "opens_case": True,
    },
    {
        "code": "streetlight-silent",
        "name": "Street light: controller not reporting",
        "description": "Nothing heard from the light's controller for four expected intervals "
        "(an hour at one report every 15 minutes).",
        "type": "heartbeat",
        "severity": "minor",
        "params": {"interval_s": 900, "missed": 4},
        "scope": {"kinds": ["streetlight"]},
        "opens_case": True,
    },
    {
        "code": "cabinet-silent",
        "name": "Lighting cabinet: gateway not reporting",
        "description": "Nothing heard from the cabinet's gateway for four expected intervals "
        "(an hour at one report every 15 minutes): its lights can no longer be seen or "
        "controlled. Counts as gateway downtime in the contract's IT availability; its "
        "lights' silence alarms are muted under this one.",
        "type": "heartbeat",
        "severity": "major",
        "params": {"interval_s": 900, "missed": 4},
        "scope": {"kinds": ["lighting_cabinet"]},
        "suppresses": ["streetlight-silent"],
        "opens_case": True,
    },
    {
        "code": "junction-controller-fault",
        "name": "Traffic junction: controller fault",
        "description": "The junction controller reports a fault: the lights may be dark or "
        "flashing.",
        "type": "state",
        "severity": "critical",
        "params": {"metric": "controller_fault", "equals": 1},
        "scope": {"kinds": ["traffic_junction"]},
        "opens_case": True,
    },
    {
        "code": "camera-offline",
        "name": "Camera: offline",
        "description": "Nothing heard from the camera for five expected intervals of one minute.",
        "type": "heartbeat",
        "severity": "major",
        "params": {"interval_s": 60, "missed": 5},
        "scope": {"kinds": ["camera"]},
        "opens_case": True,
    },
    {
        "code": "building-intrusion",
        "name": "Building: intrusion",
        "description": "The building's intrusion alarm is set off.",
        "type": "state",
        "severity": "critical",
        "params": {"metric": "intrusion", "equals": 1},
        "scope": {"kinds": ["building"]},
        "opens_case": True,
    },
    {
        "code": "building-fire",
        "name": "Building: fire alarm",
        "description": "The building's fire detection is set off.",
        "type": "state",
        "severity": "critical",
        "params": {"metric": "fire", "equals": 1},
        "scope": {"kinds": ["building"]},
        "opens_case": True,
    },
    {
        "code": "door-opened-repeatedly",
        "name": "Door opened repeatedly",
        "description": "Three door openings within ten minutes on a building or a cabinet.",
        "type": "count",
        "severity": "warning",
        "params": {"metric": "door_open", "count": 3, "window_s": 600},
        "scope": {"kinds": ["building", "lighting_cabinet"]},
    },
    {
        "code": "vehicle-out-of-zone",
        "name": "Vehicle outside the metropolis",
        "description": "A service vehicle's position is outside the metropolis for more than a "
        "minute (the hold rides out GPS jitter at the edge).",
        "type": "geofence",
        "severity": "warning",
        "params": {"zone": ZONE_PLACEHOLDER},
        "scope": {"kinds": ["vehicle"]},
        "hold_s": 60,
    },
    {
        "code": "pm10-high",
        "name": "Air quality: PM10 above 50 µg/m³",
        "description": "PM10 above the 50 µg/m³ daily limit value; cleared once back under "
        "40 µg/m³, so a reading hovering around 50 does not chatter.",
        "type": "threshold",
        "severity": "warning",
        "params": {"metric": "pm10", "direction": "above", "raise_at": 50, "clear_at": 40},
        "scope": {"kinds": ["sensor"]},
    },
]


def metropolis_zone(boundaries: Iterable[BaseGeometry], tolerance_deg: float = 0.0005) -> Any:
    """The union of the communes as one GeoJSON geometry, simplified (about 50 m) so testing a
    position costs microseconds; None when there are no communes yet."""
    shapes = list(boundaries)
    if not shapes:
        return None
    union = shapely.union_all(shapes).buffer(0)
    simplified = union.simplify(tolerance_deg, preserve_topology=True)
    return orjson.loads(shapely.to_geojson(simplified))
