"""What the equipment of the synthetic metropolis reports, tick by tick. Pure: no I/O.

Given the city's assets and streets, a start time and a seed, :class:`TelemetryModel` produces the
readings and events the equipment would send, in the platform's message format
(:mod:`metropilot.telemetry.model`), up to any simulated time asked for:

- street lights burn from dusk to dawn by an astronomical clock at their commune's centre, at the
  level the dimming profile sets (local time), report power, level, cumulative energy and burning
  hours every few simulated minutes, each lamp at its own phase so that they do not all speak in
  the same second; lamps fail now and then and are repaired hours later;
- cabinets sum their lamps and sometimes lose their supply (their lamps fall silent);
- junction controllers fault, cameras drop offline, buildings raise intrusion and fire alarms and
  report doors; cabinets' doors open for maintenance;
- sensors follow daily cycles (air quality, parking, noise, weather, …);
- service vehicles drive along the streets during working hours and are parked at night.

It is a discrete-event simulation: every report, failure and repair is an event on one heap,
processed in time order, and each kind of randomness draws from its own generator. The items
produced therefore depend only on the city, the seed, the start and the configuration, never on
how the caller slices time (one call for a day or a thousand calls with a limit give the same
items in the same order).
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
import random
import sys
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from zoneinfo import ZoneInfo

import shapely
from astral import Observer
from astral import sun as astral_sun

from metropilot.shared.geo import LocalPlane

if TYPE_CHECKING:
    from metropilot.simulate.layout import SyntheticMetropolis

__all__ = [
    "City",
    "LightingCalendar",
    "SimAsset",
    "SimConfig",
    "SimStreet",
    "StreetGraph",
    "TelemetryModel",
    "city_from_layout",
]

Item = dict[str, Any]
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
LAMP_HOURS_PER_YEAR = 4_100.0  # typical burning hours of French public lighting
LED_MEAN_LEVEL = 0.73  # the default dimming profile's mean level over a year at Dijon


# --------------------------------------------------------------------------- the city


@dataclass(frozen=True, slots=True)
class SimAsset:
    """One piece of equipment as the simulator needs it; ``ref`` is what it reports as."""

    ref: str
    kind: str
    lon: float
    lat: float
    commune: str
    attributes: Mapping[str, Any] = field(default_factory=dict)
    subtype: str | None = None
    parent: str | None = None  # the parent's reference


@dataclass(frozen=True, slots=True)
class SimStreet:
    category: str  # "main" or "local"
    line: tuple[tuple[float, float], ...]  # (lon, lat) vertices
    commune: str = ""


@dataclass(frozen=True, slots=True)
class City:
    assets: Sequence[SimAsset]
    streets: Sequence[SimStreet] = ()
    centres: Mapping[str, tuple[float, float]] = field(default_factory=dict)  # INSEE → lon, lat
    # Counters the equipment already reported (reference → {"energy_wh": …}), to resume from.
    counters: Mapping[str, Mapping[str, float]] = field(default_factory=dict)


def city_from_layout(metropolis: SyntheticMetropolis) -> City:
    """The simulator's view of a synthetic metropolis built in memory (no database needed)."""
    plane_communes = [(c.insee, c.boundary) for c in metropolis.communes]
    refs = [a.external_ref for a in metropolis.assets]
    points = shapely.points([(a.lon, a.lat) for a in metropolis.assets])
    commune_of: dict[str, str] = {}
    for insee, boundary in plane_communes:
        inside = shapely.contains_xy(boundary, *shapely.get_coordinates(points).T).tolist()
        for ref, ok in zip(refs, inside, strict=True):
            if ok and ref not in commune_of:
                commune_of[ref] = insee
    fallback = metropolis.communes[0].insee if metropolis.communes else ""
    assets = tuple(
        SimAsset(
            ref=a.external_ref,
            kind=a.kind.value,
            lon=a.lon,
            lat=a.lat,
            commune=commune_of.get(a.external_ref, fallback),
            attributes=a.attributes,
            subtype=a.subtype,
            parent=a.parent_ref,
        )
        for a in metropolis.assets
    )
    streets = tuple(SimStreet(s.category, s.line, s.commune_insee) for s in metropolis.streets)
    centres = {c.insee: c.centre for c in metropolis.communes if c.centre is not None}
    return City(assets, streets, centres)


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True, slots=True)
class SimConfig:
    """How the equipment behaves. Rates are per asset and per day unless said otherwise."""

    timezone: str = "Europe/Paris"
    # Lights switch on when the sun goes this far below the horizon (astronomical clock):
    # 3° is between sunset (0.83°) and civil dusk (6°), where such clocks are usually set.
    sun_depression_deg: float = 3.0
    # (local time, level %) steps; the level holds until the next step, wrapping at midnight.
    dimming: tuple[tuple[time, float], ...] = ((time(5, 0), 100.0), (time(23, 0), 50.0))

    lamp_interval_s: float = 900.0
    cabinet_interval_s: float = 900.0
    junction_interval_s: float = 300.0
    camera_interval_s: float = 300.0
    building_interval_s: float = 900.0
    bollard_interval_s: float = 900.0
    sensor_interval_s: float = 300.0  # when the sensor's reporting_interval_s does not say
    vehicle_moving_interval_s: float = 30.0
    vehicle_stopped_interval_s: float = 300.0
    vehicle_parked_interval_s: float = 900.0

    lamp_failures_per_10k_per_day: float = 3.0
    lamp_repair_hours: tuple[float, float] = (4.0, 48.0)
    supply_losses_per_cabinet_per_day: float = 1 / 365
    supply_loss_hours: tuple[float, float] = (0.5, 6.0)
    lamps_silent_on_supply_loss: bool = True  # False: lamps report supply_loss instead
    controller_faults_per_junction_per_day: float = 1 / 60
    controller_fault_hours: tuple[float, float] = (0.5, 6.0)
    camera_outages_per_camera_per_day: float = 1 / 20
    camera_outage_hours: tuple[float, float] = (0.1, 12.0)
    camera_silent_share: float = 0.5  # outages seen as silence rather than online=false
    intrusions_per_building_per_day: float = 1 / 100  # only while the building is armed
    intrusion_hours: tuple[float, float] = (0.25, 1.5)
    fires_per_building_per_day: float = 1 / 5_000
    fire_hours: tuple[float, float] = (0.5, 3.0)
    building_doors_per_day: float = 0.2  # door-open events of access-controlled buildings
    building_door_minutes: tuple[float, float] = (1.0, 10.0)
    door_burst_share: float = 0.2  # a door event followed by 1-3 more within ten minutes
    cabinet_doors_per_day: float = 1 / 60
    cabinet_door_minutes: tuple[float, float] = (10.0, 60.0)
    incident_factor: float = 1.0  # multiplies every failure and alarm rate (lively demos)

    workdays: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday = 0
    shift_start: time = time(7, 0)
    shift_start_spread_min: float = 90.0
    shift_hours: float = 8.0

    def __post_init__(self) -> None:
        for name in (
            "lamp_interval_s",
            "cabinet_interval_s",
            "junction_interval_s",
            "camera_interval_s",
            "building_interval_s",
            "bollard_interval_s",
            "sensor_interval_s",
            "vehicle_moving_interval_s",
            "vehicle_stopped_interval_s",
            "vehicle_parked_interval_s",
        ):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")
        if not self.dimming:
            raise ValueError("the dimming profile needs at least one step")
        if self.incident_factor < 0:
            raise ValueError("incident_factor must not be negative")


# --------------------------------------------------------------------------- time helpers


def _ms(when: datetime) -> int:
    if when.tzinfo is None:
        raise ValueError("simulated times must be timezone-aware")
    return int(when.timestamp() * 1000)


def _loguniform(rng: random.Random, bounds: tuple[float, float]) -> float:
    low, high = bounds
    return math.exp(rng.uniform(math.log(low), math.log(high)))


def _hours_ms(rng: random.Random, bounds: tuple[float, float]) -> int:
    return max(1000, int(_loguniform(rng, bounds) * HOUR_MS))


class _LocalTime:
    """UTC milliseconds → local wall-clock facts, the UTC offset cached per hour."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self._offsets: dict[int, int] = {}
        self._days: dict[int, tuple[int, int]] = {}

    def offset_ms(self, t: int) -> int:
        hour = t // HOUR_MS
        offset = self._offsets.get(hour)
        if offset is None:
            moment = datetime.fromtimestamp(hour * 3600, UTC).astimezone(self.tz)
            delta = moment.utcoffset()
            offset = int(delta.total_seconds() * 1000) if delta is not None else 0
            self._offsets[hour] = offset
        return offset

    def local_ms(self, t: int) -> int:
        return t + self.offset_ms(t)

    def hour(self, t: int) -> float:
        """Local time of day in hours, 0 ≤ h < 24."""
        return (self.local_ms(t) % DAY_MS) / HOUR_MS

    def day(self, t: int) -> int:
        """Local day number (days since 1970-01-01)."""
        return self.local_ms(t) // DAY_MS

    def day_facts(self, day: int) -> tuple[int, int]:
        """(weekday with Monday = 0, day of year 1-366) of a local day number."""
        facts = self._days.get(day)
        if facts is None:
            d = date.fromordinal(EPOCH_ORDINAL + day)
            facts = (d.weekday(), d.timetuple().tm_yday)
            self._days[day] = facts
        return facts

    def utc_ms(self, day: int, hours: float) -> int:
        """The UTC instant of a local day number and time of day."""
        local = day * DAY_MS + int(hours * HOUR_MS)
        return local - self.offset_ms(local - self.offset_ms(local))


# --------------------------------------------------------------------------- lighting


class LightingCalendar:
    """When the lights of one commune burn, and at which level, as a step function of time.

    Nights run from dusk to the next dawn (the sun ``depression`` degrees below the horizon at
    the commune's centre); within a night the dimming profile sets the level by local time. The
    running integrals of the level (%·h) and of the burning time (h) let a lamp's energy and
    hours between two instants be two look-ups. The calendar extends itself night by night.
    """

    def __init__(
        self,
        lon: float,
        lat: float,
        tz: ZoneInfo,
        depression: float,
        dimming: Sequence[tuple[time, float]],
        origin_ms: int,
    ) -> None:
        self._observer = Observer(latitude=lat, longitude=lon)
        self._tz = tz
        self._depression = depression
        self._steps = sorted(dimming)
        first_day = datetime.fromtimestamp(origin_ms / 1000, tz).date() - timedelta(days=1)
        self._next_day = first_day
        noon = self._local_ms(first_day, time(12, 0))
        self._bounds: list[int] = [noon]
        self._levels: list[float] = []  # level on [bounds[k], bounds[k + 1])
        self._level_h: list[float] = [0.0]  # ∫ level dt up to bounds[k], in %·h
        self._on_h: list[float] = [0.0]  # ∫ burning dt up to bounds[k], in h

    def _local_ms(self, day: date, at: time) -> int:
        return _ms(datetime.combine(day, at, tzinfo=self._tz))

    def _level_at(self, at: time) -> float:
        level = self._steps[-1][1]
        for start, step_level in self._steps:
            if start <= at:
                level = step_level
        return level

    def _night(self, day: date) -> tuple[int, int]:
        """Dusk on ``day`` and dawn on the next, in UTC milliseconds."""
        following = day + timedelta(days=1)
        try:
            dusk = astral_sun.dusk(self._observer, day, self._depression, tzinfo=self._tz)
            dawn = astral_sun.dawn(self._observer, following, self._depression, tzinfo=self._tz)
            return _ms(dusk), _ms(dawn)
        except ValueError:  # polar day or night: the sun never crosses the threshold
            midnight = datetime.combine(following, time(0), tzinfo=self._tz)
            dark = astral_sun.elevation(self._observer, midnight) < -self._depression
            noon, next_noon = self._local_ms(day, time(12)), self._local_ms(following, time(12))
            return (noon, next_noon) if dark else (next_noon, next_noon)

    def _append(self, until: int, level: float) -> None:
        start = self._bounds[-1]
        if until <= start:
            return
        hours = (until - start) / HOUR_MS
        self._levels.append(level)
        self._level_h.append(self._level_h[-1] + level * hours)
        self._on_h.append(self._on_h[-1] + (hours if level > 0 else 0.0))
        self._bounds.append(until)

    def _add_night(self) -> None:
        day = self._next_day
        dusk, dawn = self._night(day)
        dusk = max(dusk, self._bounds[-1])
        self._append(dusk, 0.0)
        if dawn > dusk:
            changes: list[tuple[int, float]] = []
            for on_day in (day, day + timedelta(days=1)):
                for start, level in self._steps:
                    instant = self._local_ms(on_day, start)
                    if dusk < instant < dawn:
                        changes.append((instant, level))
            changes.sort()
            dusk_time = datetime.fromtimestamp(dusk / 1000, self._tz).time()
            level = self._level_at(dusk_time)
            for instant, next_level in changes:
                self._append(instant, level)
                level = next_level
            self._append(dawn, level)
        self._next_day = day + timedelta(days=1)

    def state(self, t: int) -> tuple[float, float, float]:
        """(level %, ∫ level in %·h, ∫ burning in h) at ``t`` (UTC milliseconds)."""
        bounds = self._bounds
        while t >= bounds[-1]:
            self._add_night()
        if t < bounds[0]:
            raise ValueError("the lighting calendar starts the day before the simulation")
        k = bisect.bisect_right(bounds, t) - 1
        level = self._levels[k]
        hours = (t - bounds[k]) / HOUR_MS
        return (
            level,
            self._level_h[k] + level * hours,
            self._on_h[k] + (hours if level > 0 else 0.0),
        )

    def level(self, t: int) -> float:
        return self.state(t)[0]


# --------------------------------------------------------------------------- streets


class StreetGraph:
    """The street network noded at its crossings: nodes, polyline edges, shortest paths.

    Vehicles only ever stand on a node or between two vertices of an edge, so every position
    they report lies on a street.
    """

    SPEED_KMH: ClassVar[dict[str, float]] = {"main": 45.0, "local": 28.0}
    CELL_M = 500.0  # the grid that finds nodes near a place

    def __init__(self, streets: Sequence[SimStreet], plane: LocalPlane) -> None:
        self.plane = plane
        self.lonlat: list[tuple[float, float]] = []
        self.xy: list[tuple[float, float]] = []
        # node → [(neighbour, edge, forward, length m)]
        self.adjacent: list[list[tuple[int, int, bool, float]]] = []
        # Per edge, in its forward direction: lon/lat vertices, and per piece its length in
        # metres and heading in degrees clockwise from north.
        self.edge_points: list[list[tuple[float, float]]] = []
        self.edge_pieces: list[list[tuple[float, float]]] = []
        self.edge_speed: list[float] = []  # km/h
        self.component: list[int] = []
        self.main_nodes: list[int] = []
        self._grid: dict[tuple[int, int], list[int]] = {}
        kept = [s for s in streets if len(s.line) >= 2]
        if not kept:
            return
        originals = [shapely.LineString(s.line) for s in kept]
        noded = shapely.node(shapely.MultiLineString(originals))
        parts = shapely.get_parts(noded)
        parts = parts[shapely.length(parts) > 0]
        middles = shapely.line_interpolate_point(parts, 0.5, normalized=True)
        found = shapely.STRtree(originals).query(middles, predicate="dwithin", distance=1e-6)
        category = ["local"] * len(parts)
        for part, street in zip(found[0].tolist(), found[1].tolist(), strict=True):
            if kept[street].category == "main":
                category[part] = "main"
        index: dict[tuple[float, float], int] = {}
        coordinates = shapely.get_coordinates(parts).tolist()
        counts = shapely.get_num_coordinates(parts).tolist()
        offset = 0
        for number, count in enumerate(counts):
            points = [(c[0], c[1]) for c in coordinates[offset : offset + count]]
            offset += count
            ends = []
            for point in (points[0], points[-1]):
                node = index.get(point)
                if node is None:
                    node = index[point] = len(self.lonlat)
                    self.lonlat.append(point)
                    self.xy.append(plane.to_xy(*point))
                    self.adjacent.append([])
                ends.append(node)
            a, b = ends
            if a == b:
                continue
            xy = [plane.to_xy(*p) for p in points]
            pieces = []
            for k in range(len(xy) - 1):
                dx, dy = xy[k + 1][0] - xy[k][0], xy[k + 1][1] - xy[k][1]
                pieces.append((math.hypot(dx, dy), math.degrees(math.atan2(dx, dy)) % 360.0))
            length = sum(p[0] for p in pieces)
            edge = len(self.edge_points)
            self.edge_points.append(points)
            self.edge_pieces.append(pieces)
            self.edge_speed.append(self.SPEED_KMH.get(category[number], 30.0))
            self.adjacent[a].append((b, edge, True, length))
            self.adjacent[b].append((a, edge, False, length))
        self._components()
        for node in self.main_nodes:
            x, y = self.xy[node]
            self._grid.setdefault(self._cell(x, y), []).append(node)

    def _cell(self, x: float, y: float) -> tuple[int, int]:
        return math.floor(x / self.CELL_M), math.floor(y / self.CELL_M)

    def _components(self) -> None:
        self.component = [-1] * len(self.lonlat)
        sizes: list[int] = []
        for start in range(len(self.lonlat)):
            if self.component[start] >= 0:
                continue
            label = len(sizes)
            self.component[start] = label
            stack, size = [start], 0
            while stack:
                here = stack.pop()
                size += 1
                for other, _, _, _ in self.adjacent[here]:
                    if self.component[other] < 0:
                        self.component[other] = label
                        stack.append(other)
            sizes.append(size)
        main = max(range(len(sizes)), key=lambda c: (sizes[c], -c)) if sizes else -1
        self.main_nodes = [n for n, c in enumerate(self.component) if c == main]

    def __len__(self) -> int:
        return len(self.lonlat)

    def nearest_main_nodes(self, places: Sequence[tuple[float, float]]) -> list[int]:
        """The node of the main component nearest to each (lon, lat) place."""
        if not places or not self.main_nodes:
            return [-1] * len(places)
        tree = shapely.STRtree(shapely.points([self.xy[n] for n in self.main_nodes]))
        found = tree.query_nearest(
            shapely.points([self.plane.to_xy(*p) for p in places]), all_matches=False
        )
        nearest = [-1] * len(places)
        for place, node in zip(found[0].tolist(), found[1].tolist(), strict=True):
            nearest[place] = self.main_nodes[node]
        return nearest

    def node_near(self, node: int, radius_m: float, rng: random.Random) -> int:
        """A random node of the main component within about ``radius_m``; -1 if none found."""
        x, y = self.xy[node]
        for _ in range(12):
            angle = rng.uniform(0.0, math.tau)
            distance = radius_m * math.sqrt(rng.random())
            cell = self._grid.get(
                self._cell(x + distance * math.cos(angle), y + distance * math.sin(angle))
            )
            if cell:
                found = cell[int(rng.random() * len(cell))]
                if found != node:
                    return found
        return -1

    def route(self, start: int, goal: int) -> list[tuple[int, bool]] | None:
        """A short path as (edge, forward) steps; None if unreachable.

        Weighted A* (the straight-line estimate counts 1.3 times): routes at most 30 % longer
        than the shortest, found exploring far fewer crossings, as drivers do.
        """
        if start == goal:
            return []
        xy, adjacent = self.xy, self.adjacent
        gx, gy = xy[goal]
        best = {start: 0.0}
        came: dict[int, tuple[int, int, bool]] = {}
        frontier: list[tuple[float, float, int]] = [(0.0, 0.0, start)]
        push, pop, hypot = heapq.heappush, heapq.heappop, math.hypot
        while frontier:
            _, base, here = pop(frontier)
            if base > best[here]:
                continue  # a stale entry: a shorter way here was found since
            if here == goal:
                steps: list[tuple[int, bool]] = []
                while here != start:
                    previous, edge, forward = came[here]
                    steps.append((edge, forward))
                    here = previous
                steps.reverse()
                return steps
            for other, edge, forward, length in adjacent[here]:
                cost = base + length
                if cost < best.get(other, math.inf):
                    best[other] = cost
                    came[other] = (here, edge, forward)
                    ox, oy = xy[other]
                    push(frontier, (cost + 1.3 * hypot(ox - gx, oy - gy), cost, other))
        return None


# --------------------------------------------------------------------------- vehicles

PARKED, DRIVING, STOPPED = 0, 1, 2
VEHICLE_FACTOR = {
    "bicycle": 0.5,
    "motorbike": 1.1,
    "truck": 0.85,
    "bucket_truck": 0.8,
    "street_sweeper": 0.4,
    "gritter": 0.8,
}


@dataclass(slots=True)
class _Vehicle:
    ref: str
    home: tuple[float, float]
    home_node: int
    factor: float
    early: bool  # street sweepers start at dawn
    state: int = PARKED
    parked_since: int = 0
    node: int = -1
    heading: float = 0.0
    shift_end: int = 0
    going_home: bool = False
    stop_until: int = 0
    # The current trip: lon/lat points, their times (ms) and the speed (km/h) leaving each.
    points: list[tuple[float, float]] = field(default_factory=list)
    times: list[int] = field(default_factory=list)
    speeds: list[float] = field(default_factory=list)
    headings: list[float] = field(default_factory=list)
    destination: int = -1


# --------------------------------------------------------------------------- the model

# Event codes: what happens at a heap entry.
(
    LAMP,
    LAMP_FAILS,
    LAMP_REPAIRED,
    LAMP_BOOT,
    CABINET,
    SUPPLY_LOST,
    SUPPLY_BACK,
    CABINET_DOOR,
    CABINET_DOOR_CLOSED,
    JUNCTION,
    CONTROLLER_FAULT,
    CONTROLLER_OK,
    CAMERA,
    CAMERA_DOWN,
    CAMERA_UP,
    BUILDING,
    INTRUSION,
    INTRUSION_END,
    FIRE,
    FIRE_END,
    BUILDING_DOOR,
    BUILDING_DOOR_AGAIN,
    BUILDING_DOOR_CLOSED,
    BOLLARD,
    SENSOR,
    VEHICLE,
    GROUP,
) = range(27)

# Share of a week an office building is armed: weeknights 20:00-07:00 and weekends.
ARMED_SHARE = (5 * 11 + 2 * 24) / (7 * 24)


class TelemetryModel:
    """The equipment of one city from ``start`` on; :meth:`advance` returns what it sends."""

    def __init__(
        self, city: City, *, start: datetime, seed: int = 1, config: SimConfig | None = None
    ) -> None:
        self.config = cfg = config or SimConfig()
        self.seed = seed
        self.start_ms = _ms(start)
        self._now = self.start_ms
        self.stats: Counter[str] = Counter()
        self._tz = ZoneInfo(cfg.timezone)
        self._local = _LocalTime(self._tz)
        self._heap: list[tuple[int, int, int, int]] = []
        self._seq = itertools.count()
        self._iso_day = -1
        self._iso_prefix = ""
        self._iso_t = -1
        self._iso_text = ""
        self._day_cache: dict[tuple[str, int], float] = {}
        self._handlers: list[Callable[[int, int, list[Item]], None]] = [
            self._lamp_report,
            self._lamp_fails,
            self._lamp_repaired,
            self._lamp_boot,
            self._cabinet_report,
            self._supply_lost,
            self._supply_back,
            self._cabinet_door,
            self._cabinet_door_closed,
            self._junction_report,
            self._controller_fault,
            self._controller_ok,
            self._camera_report,
            self._camera_down,
            self._camera_up,
            self._building_report,
            self._intrusion,
            self._intrusion_end,
            self._fire,
            self._fire_end,
            self._building_door,
            self._building_door_again,
            self._building_door_closed,
            self._bollard_report,
            self._sensor_report,
            self._vehicle_report,
            self._group,
        ]
        self._groups: list[tuple[int, int, list[int]]] = []
        self._rng = {
            name: random.Random(f"metropilot-simulator:{seed}:{name}")  # noqa: S311
            for name in (
                "phase",
                "counters",
                "lamps",
                "cabinets",
                "junctions",
                "cameras",
                "buildings",
                "sensors",
                "vehicles",
            )
        }
        by_kind: dict[str, list[SimAsset]] = {}
        for asset in city.assets:
            by_kind.setdefault(asset.kind, []).append(asset)
        centres = dict(city.centres)
        for asset in city.assets:  # communes without a known centre: the mean of their assets
            if asset.commune not in centres:
                mine = [a for a in city.assets if a.commune == asset.commune]
                centres[asset.commune] = (
                    sum(a.lon for a in mine) / len(mine),
                    sum(a.lat for a in mine) / len(mine),
                )
        self._calendars = {
            insee: LightingCalendar(
                lon, lat, self._tz, cfg.sun_depression_deg, cfg.dimming, self.start_ms
            )
            for insee, (lon, lat) in sorted(centres.items())
        }
        self._setup_cabinets(by_kind.get("lighting_cabinet", []))
        self._setup_lamps(by_kind.get("streetlight", []), city.counters)
        self._setup_cabinet_counters(city.counters)
        self._setup_simple(by_kind)
        self._setup_vehicles(by_kind.get("vehicle", []), city)
        self._setup_processes()

    # ----------------------------------------------------------------- clock and heap

    @property
    def now(self) -> datetime:
        """The simulated time up to which everything has been produced."""
        return datetime.fromtimestamp(self._now / 1000, UTC)

    @property
    def now_ms(self) -> int:
        return self._now

    def local_time(self, t: int | None = None) -> datetime:
        """A simulated instant (default: now) on the local wall clock, for display."""
        return datetime.fromtimestamp((self._now if t is None else t) / 1000, self._tz)

    def advance(self, until: datetime, limit: int | None = None) -> list[Item]:
        """Every item due up to ``until`` (inclusive); at most about ``limit`` of them.

        With a limit the clock stops at the last event processed; call again to go on.
        """
        return self.advance_ms(_ms(until), limit)

    def advance_ms(self, until: int, limit: int | None = None) -> list[Item]:
        out: list[Item] = []
        heap, handlers = self._heap, self._handlers
        cap = sys.maxsize if limit is None else max(1, limit)
        pop = heapq.heappop
        while heap and heap[0][0] <= until and len(out) < cap:
            t, _, code, index = pop(heap)
            self._now = t
            handlers[code](t, index, out)
        if not heap or heap[0][0] > until:
            self._now = max(self._now, until)
        self.stats["items"] += len(out)
        return out

    def _at(self, t: int, code: int, index: int = -1) -> None:
        heapq.heappush(self._heap, (t, next(self._seq), code, index))

    def _iso(self, t: int) -> str:
        if t == self._iso_t:  # periodic reports fall on whole seconds, dozens at a time
            return self._iso_text
        self._iso_t = t
        day, rem = divmod(t, DAY_MS)
        if day != self._iso_day:
            self._iso_day = day
            self._iso_prefix = date.fromordinal(EPOCH_ORDINAL + day).isoformat() + "T"
        seconds, millis = divmod(rem, 1000)
        minutes, seconds = divmod(seconds, 60)
        hours, minutes = divmod(minutes, 60)
        self._iso_text = (
            f"{self._iso_prefix}{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}+00:00"
        )
        return self._iso_text

    def _reading(self, ref: str, t: int, metrics: dict[str, Any]) -> Item:
        return {"asset": ref, "ts": self._iso(t), "metrics": metrics}

    def _event(self, ref: str, t: int, code: str, payload: dict[str, Any]) -> Item:
        return {"asset": ref, "ts": self._iso(t), "event": {"code": code, "payload": payload}}

    def _schedule_periodic(
        self, code: int, periods_s: Sequence[float], *, first: int | None = None
    ) -> None:
        """Each asset reports on its own phase, a whole number of seconds into its period.

        Assets sharing a period and a phase form one group and one heap entry, so that a
        report costs a loop step rather than a heap operation.
        """
        phase = self._rng["phase"]
        start = self.start_ms if first is None else first
        groups: dict[tuple[int, int], list[int]] = {}
        for index, period_s in enumerate(periods_s):
            period = max(1, int(period_s))
            groups.setdefault((period, int(phase.random() * period)), []).append(index)
        for (period, offset), members in sorted(groups.items(), key=lambda g: (g[0][1], g[0][0])):
            self._groups.append((code, period * 1000, members))
            self._at(start + offset * 1000, GROUP, len(self._groups) - 1)

    def _group(self, t: int, g: int, out: list[Item]) -> None:
        code, period, members = self._groups[g]
        self._at(t + period, GROUP, g)
        handler = self._handlers[code]
        for index in members:
            handler(t, index, out)

    def _day_value(self, name: str, day: int, draw: Callable[[random.Random], float]) -> float:
        """A random value per local day (weather, pollution episode), whatever the event order."""
        key = (name, day)
        value = self._day_cache.get(key)
        if value is None:
            rng = random.Random(f"metropilot-simulator:{self.seed}:{name}:{day}")  # noqa: S311
            value = self._day_cache[key] = draw(rng)
        return value

    # ----------------------------------------------------------------- setup

    def _setup_cabinets(self, cabinets: list[SimAsset]) -> None:
        self._cab_ref = [a.ref for a in cabinets]
        self._cab_index = {a.ref: k for k, a in enumerate(cabinets)}
        self._cab_reports = [bool(a.attributes.get("remote_managed", True)) for a in cabinets]
        self._cab_managed = [k for k, reports in enumerate(self._cab_reports) if reports]
        self._cab_calendar = [self._calendars[a.commune] for a in cabinets]
        n = len(cabinets)
        self._cab_down = [False] * n
        self._cab_door_until = [0] * n
        self._cab_dimmable_w = [0.0] * n  # nominal power of its working dimmable lamps
        self._cab_fixed_w = [0.0] * n  # … and of its working non-dimmable lamps
        self._cab_energy = [0.0] * n
        self._cab_last = [(0.0, 0.0)] * n  # calendar integrals at the last accrual
        self._cab_lamps: list[list[int]] = [[] for _ in range(n)]

    def _setup_lamps(
        self, lamps: list[SimAsset], counters: Mapping[str, Mapping[str, float]]
    ) -> None:
        rng = self._rng["counters"]
        start_day = datetime.fromtimestamp(self.start_ms / 1000, UTC).date()
        self._lamp_ref = [a.ref for a in lamps]
        self._lamp_calendar = [self._calendars[a.commune] for a in lamps]
        self._lamp_nominal: list[float] = []
        self._lamp_dimmable: list[bool] = []
        self._lamp_cab: list[int] = []
        self._lamp_energy: list[float] = []
        self._lamp_hours: list[float] = []
        self._lamp_last: list[tuple[float, float]] = []
        for index, asset in enumerate(lamps):
            attributes = asset.attributes
            nominal = float(attributes.get("nominal_power_w", 50.0))
            technology = str(attributes.get("lamp_technology", "LED"))
            dimmable = bool(attributes.get("dimmable", technology == "LED"))
            cabinet = self._cab_index.get(asset.parent, -1) if asset.parent else -1
            # The lamp's node counts from its install, at most ten years back (relamping).
            years = min(_years_since(attributes.get("install_date"), start_day), 10.0)
            hours = years * LAMP_HOURS_PER_YEAR * rng.uniform(0.97, 1.03)
            energy = hours * nominal * (LED_MEAN_LEVEL if dimmable else 1.0)
            known = counters.get(asset.ref, {})
            hours = float(known.get("operating_hours", hours))
            energy = float(known.get("energy_wh", energy))
            _, level_h, on_h = self._lamp_calendar[index].state(self.start_ms)
            self._lamp_nominal.append(nominal)
            self._lamp_dimmable.append(dimmable)
            self._lamp_cab.append(cabinet)
            self._lamp_energy.append(energy)
            self._lamp_hours.append(hours)
            self._lamp_last.append((level_h, on_h))
            if cabinet >= 0:
                self._cab_lamps[cabinet].append(index)
                if dimmable:
                    self._cab_dimmable_w[cabinet] += nominal
                else:
                    self._cab_fixed_w[cabinet] += nominal
                self._cab_energy[cabinet] += energy
        self._lamp_failed_at = [-1] * len(lamps)  # failure instant, -1 when it works
        self._lamp_failed_on_h = [0.0] * len(lamps)  # burning integral at the failure
        self._schedule_periodic(LAMP, [self.config.lamp_interval_s] * len(lamps))

    def _setup_cabinet_counters(self, counters: Mapping[str, Mapping[str, float]]) -> None:
        for index, ref in enumerate(self._cab_ref):
            known = counters.get(ref, {})
            if "energy_wh" in known:
                self._cab_energy[index] = float(known["energy_wh"])
            _, level_h, on_h = self._cab_calendar[index].state(self.start_ms)
            self._cab_last[index] = (level_h, on_h)
        self._schedule_periodic(CABINET, [self.config.cabinet_interval_s] * len(self._cab_ref))

    def _setup_simple(self, by_kind: dict[str, list[SimAsset]]) -> None:
        cfg = self.config
        junctions = by_kind.get("traffic_junction", [])
        self._junction_ref = [a.ref for a in junctions]
        self._junction_fault = [False] * len(junctions)
        self._schedule_periodic(JUNCTION, [cfg.junction_interval_s] * len(junctions))

        cameras = by_kind.get("camera", [])
        self._camera_ref = [a.ref for a in cameras]
        self._camera_state = [0] * len(cameras)  # 0 online, 1 reports offline, 2 silent
        self._schedule_periodic(CAMERA, [cfg.camera_interval_s] * len(cameras))

        buildings = by_kind.get("building", [])
        self._building_ref = [a.ref for a in buildings]
        self._building_watch: list[frozenset[str]] = []
        for asset in buildings:
            supervision = asset.attributes.get("supervision") or ()
            self._building_watch.append(frozenset(str(s) for s in supervision))
        n = len(buildings)
        self._building_intrusion = [False] * n
        self._building_fire = [False] * n
        self._building_door_until = [0] * n
        self._building_door_count = [0] * n
        self._intrusion_watch = [k for k in range(n) if "intrusion" in self._building_watch[k]]
        self._fire_watch = [k for k in range(n) if "fire" in self._building_watch[k]]
        self._door_watch = [k for k in range(n) if "access_control" in self._building_watch[k]]
        self._schedule_periodic(BUILDING, [cfg.building_interval_s] * n)

        bollards = by_kind.get("bollard", [])
        self._bollard_ref = [a.ref for a in bollards]
        self._schedule_periodic(BOLLARD, [cfg.bollard_interval_s] * len(bollards))

        sensors = by_kind.get("sensor", [])
        rng = self._rng["sensors"]
        self._sensors = sensors
        intervals = [
            float(a.attributes.get("reporting_interval_s") or cfg.sensor_interval_s)
            for a in sensors
        ]
        self._sensor_site = [rng.uniform(0.8, 1.3) for _ in sensors]
        self._sensor_level = [rng.uniform(15.0, 60.0) for _ in sensors]  # flood gauges' base
        self._schedule_periodic(SENSOR, intervals)

    def _setup_vehicles(self, vehicles: list[SimAsset], city: City) -> None:
        self._vehicles: list[_Vehicle] = []
        self._graph: StreetGraph | None = None
        if not vehicles:
            return
        lons = [a.lon for a in city.assets]
        lats = [a.lat for a in city.assets]
        plane = LocalPlane(sum(lons) / len(lons), sum(lats) / len(lats))
        graph = StreetGraph(city.streets, plane)
        self._graph = graph if graph.main_nodes else None
        rng = self._rng["vehicles"]
        homes = graph.nearest_main_nodes([(a.lon, a.lat) for a in vehicles])
        for asset, home_node in zip(vehicles, homes, strict=True):
            vehicle_type = str(asset.attributes.get("vehicle_type", "van"))
            self._vehicles.append(
                _Vehicle(
                    ref=asset.ref,
                    home=(asset.lon, asset.lat),
                    home_node=home_node,
                    factor=VEHICLE_FACTOR.get(vehicle_type, 1.0),
                    early=vehicle_type == "street_sweeper",
                    parked_since=0,  # a shift under way at the start is played from its start
                    heading=round(rng.uniform(0.0, 359.9), 1),
                )
            )
        phase = self._rng["phase"]
        period = int(self.config.vehicle_parked_interval_s)
        for index in range(len(vehicles)):  # one heap entry each: their pace changes
            self._at(self.start_ms + 1000 * int(phase.random() * period), VEHICLE, index)

    def _setup_processes(self) -> None:
        """The random incidents: one Poisson process per kind, over the whole population."""
        cfg = self.config
        f = cfg.incident_factor
        day = float(DAY_MS)
        lamps = len(self._lamp_ref)
        self._process_rate = {  # events per millisecond
            LAMP_FAILS: lamps / 10_000 * cfg.lamp_failures_per_10k_per_day * f / day,
            SUPPLY_LOST: len(self._cab_ref) * cfg.supply_losses_per_cabinet_per_day * f / day,
            CABINET_DOOR: sum(self._cab_reports) * cfg.cabinet_doors_per_day * f / day,
            CONTROLLER_FAULT: len(self._junction_ref)
            * cfg.controller_faults_per_junction_per_day
            * f
            / day,
            CAMERA_DOWN: len(self._camera_ref) * cfg.camera_outages_per_camera_per_day * f / day,
            INTRUSION: len(self._intrusion_watch)
            * cfg.intrusions_per_building_per_day
            / ARMED_SHARE
            * f
            / day,
            FIRE: len(self._fire_watch) * cfg.fires_per_building_per_day * f / day,
            BUILDING_DOOR: len(self._door_watch) * cfg.building_doors_per_day * f / day,
        }
        self._process_rng = {
            LAMP_FAILS: self._rng["lamps"],
            SUPPLY_LOST: self._rng["cabinets"],
            CABINET_DOOR: self._rng["cabinets"],
            CONTROLLER_FAULT: self._rng["junctions"],
            CAMERA_DOWN: self._rng["cameras"],
            INTRUSION: self._rng["buildings"],
            FIRE: self._rng["buildings"],
            BUILDING_DOOR: self._rng["buildings"],
        }
        for code in self._process_rate:
            self._next_incident(code, self.start_ms)

    def _next_incident(self, code: int, t: int) -> None:
        rate = self._process_rate[code]
        if rate > 0:
            self._at(t + 1 + int(self._process_rng[code].expovariate(rate)), code)

    @staticmethod
    def _pick(rng: random.Random, candidates: Sequence[int], busy: Callable[[int], bool]) -> int:
        """A candidate not already in the state, chosen at random; -1 if none was found."""
        if not candidates:
            return -1
        for _ in range(16):
            pick = candidates[int(rng.random() * len(candidates))]
            if not busy(pick):
                return pick
        return -1

    # ----------------------------------------------------------------- street lights

    def _lamp_accrue(self, i: int, t: int) -> tuple[float, float, float]:
        """Bring the lamp's energy and hours up to ``t``; returns the calendar state there."""
        _, level_h, on_h = state = self._lamp_calendar[i].state(t)
        cab = self._lamp_cab[i]
        if self._lamp_failed_at[i] < 0 and (cab < 0 or not self._cab_down[cab]):
            last_level_h, last_on_h = self._lamp_last[i]
            burnt = on_h - last_on_h
            if burnt > 0:
                self._lamp_hours[i] += burnt
                if self._lamp_dimmable[i]:
                    self._lamp_energy[i] += self._lamp_nominal[i] * (level_h - last_level_h) / 100
                else:
                    self._lamp_energy[i] += self._lamp_nominal[i] * burnt
        self._lamp_last[i] = (level_h, on_h)
        return state

    def _lamp_item(self, i: int, t: int) -> Item | None:
        level, _, on_h = self._lamp_accrue(i, t)
        cab = self._lamp_cab[i]
        down = cab >= 0 and self._cab_down[cab]
        silent = self.config.lamps_silent_on_supply_loss
        if down and silent:
            return None
        failed_at = self._lamp_failed_at[i]
        # A failure shows once the lamp has been asked to light since it happened.
        failure = failed_at >= 0 and (level > 0 or on_h > self._lamp_failed_on_h[i])
        if down or failure or level <= 0:
            power = light = 0.0
        elif self._lamp_dimmable[i]:
            light = level
            power = round(self._lamp_nominal[i] * level / 100, 1)
        else:
            light, power = 100.0, self._lamp_nominal[i]
        metrics: dict[str, Any] = {
            "power_w": power,
            "light_level_pct": light,
            "energy_wh": round(self._lamp_energy[i], 1),
            "operating_hours": round(self._lamp_hours[i], 2),
            "lamp_failure": failure,
        }
        if not silent:
            metrics["supply_loss"] = down
        return {"asset": self._lamp_ref[i], "ts": self._iso(t), "metrics": metrics}

    def _lamp_boot(self, t: int, i: int, out: list[Item]) -> None:
        """A node reporting as it powers up again after a supply loss."""
        item = self._lamp_item(i, t)
        if item is not None:
            out.append(item)

    def _lamp_report(self, t: int, i: int, out: list[Item]) -> None:
        item = self._lamp_item(i, t)
        if item is not None:
            out.append(item)

    def _cab_accrue(self, c: int, t: int) -> tuple[float, float, float]:
        _, level_h, on_h = state = self._cab_calendar[c].state(t)
        if not self._cab_down[c]:
            last_level_h, last_on_h = self._cab_last[c]
            self._cab_energy[c] += self._cab_dimmable_w[c] * (level_h - last_level_h) / 100
            self._cab_energy[c] += self._cab_fixed_w[c] * (on_h - last_on_h)
        self._cab_last[c] = (level_h, on_h)
        return state

    def _lamp_fails(self, t: int, _index: int, out: list[Item]) -> None:
        self._next_incident(LAMP_FAILS, t)
        rng = self._rng["lamps"]
        i = self._pick(rng, range(len(self._lamp_ref)), lambda k: self._lamp_failed_at[k] >= 0)
        if i < 0:
            return
        level, _, on_h = self._lamp_accrue(i, t)
        cab = self._lamp_cab[i]
        if cab >= 0:
            self._cab_accrue(cab, t)
            self._cab_watts(cab, i, -1.0)
        self._lamp_failed_at[i] = t
        self._lamp_failed_on_h[i] = on_h
        self.stats["lamp_failure"] += 1
        self._at(t + _hours_ms(rng, self.config.lamp_repair_hours), LAMP_REPAIRED, i)
        if level > 0:  # seen at once while lit; otherwise at the next switch-on
            item = self._lamp_item(i, t)
            if item is not None:
                out.append(item)

    def _cab_watts(self, cab: int, lamp: int, sign: float) -> None:
        if self._lamp_dimmable[lamp]:
            self._cab_dimmable_w[cab] = max(
                0.0, self._cab_dimmable_w[cab] + sign * self._lamp_nominal[lamp]
            )
        else:
            self._cab_fixed_w[cab] = max(
                0.0, self._cab_fixed_w[cab] + sign * self._lamp_nominal[lamp]
            )

    def _lamp_repaired(self, t: int, i: int, out: list[Item]) -> None:
        self._lamp_accrue(i, t)
        cab = self._lamp_cab[i]
        if cab >= 0:
            self._cab_accrue(cab, t)
            self._cab_watts(cab, i, 1.0)
        self._lamp_failed_at[i] = -1
        self.stats["lamp_repaired"] += 1
        item = self._lamp_item(i, t)  # the technician's test
        if item is not None:
            out.append(item)

    # ----------------------------------------------------------------- cabinets

    def _cabinet_item(self, c: int, t: int, *, door: bool | None = None) -> Item:
        level, _, _ = self._cab_accrue(c, t)
        if self._cab_down[c] or level <= 0:
            power = 0.0
        else:
            power = self._cab_dimmable_w[c] * level / 100 + self._cab_fixed_w[c]
        metrics: dict[str, Any] = {
            "power_w": round(power, 1),
            "energy_wh": round(self._cab_energy[c], 1),
            "supply_loss": self._cab_down[c],
            "door_open": self._cab_door_until[c] > t if door is None else door,
        }
        return self._reading(self._cab_ref[c], t, metrics)

    def _cabinet_report(self, t: int, c: int, out: list[Item]) -> None:
        if self._cab_reports[c]:
            out.append(self._cabinet_item(c, t))
        else:
            self._cab_accrue(c, t)

    def _supply_lost(self, t: int, _index: int, out: list[Item]) -> None:
        self._next_incident(SUPPLY_LOST, t)
        rng = self._rng["cabinets"]
        c = self._pick(rng, range(len(self._cab_ref)), lambda k: self._cab_down[k])
        if c < 0:
            return
        self._cab_accrue(c, t)
        for lamp in self._cab_lamps[c]:
            self._lamp_accrue(lamp, t)
        self._cab_down[c] = True
        self.stats["supply_loss"] += 1
        self._at(t + _hours_ms(rng, self.config.supply_loss_hours), SUPPLY_BACK, c)
        if self._cab_reports[c]:  # the cabinet's modem runs on its battery
            out.append(self._cabinet_item(c, t))
        if not self.config.lamps_silent_on_supply_loss:
            for lamp in self._cab_lamps[c]:  # the nodes' last gasp
                item = self._lamp_item(lamp, t)
                if item is not None:
                    out.append(item)

    def _supply_back(self, t: int, c: int, out: list[Item]) -> None:
        self._cab_accrue(c, t)
        for lamp in self._cab_lamps[c]:
            self._lamp_accrue(lamp, t)
        self._cab_down[c] = False
        if self._cab_reports[c]:
            out.append(self._cabinet_item(c, t))
        rng = self._rng["cabinets"]
        for lamp in self._cab_lamps[c]:  # each node boots and reports within two minutes
            self._at(t + 1000 + int(rng.random() * 119_000), LAMP_BOOT, lamp)

    def _cabinet_door(self, t: int, _index: int, out: list[Item]) -> None:
        self._next_incident(CABINET_DOOR, t)
        rng = self._rng["cabinets"]
        c = self._pick(rng, self._cab_managed, lambda k: self._cab_door_until[k] > t)
        if c < 0:
            return
        until = t + int(rng.uniform(*self.config.cabinet_door_minutes) * 60_000)
        self._cab_door_until[c] = until
        self.stats["door_open"] += 1
        self._at(until, CABINET_DOOR_CLOSED, c)
        out.append(self._event(self._cab_ref[c], t, "door_open", {"door": "cabinet"}))
        out.append(self._cabinet_item(c, t, door=True))

    def _cabinet_door_closed(self, t: int, c: int, out: list[Item]) -> None:
        if self._cab_door_until[c] == t:
            out.append(self._cabinet_item(c, t, door=False))

    # ----------------------------------------------------------------- junctions, cameras

    def _junction_report(self, t: int, j: int, out: list[Item]) -> None:
        out.append(
            self._reading(
                self._junction_ref[j],
                t,
                {"online": True, "controller_fault": self._junction_fault[j]},
            )
        )

    def _controller_fault(self, t: int, _index: int, out: list[Item]) -> None:
        self._next_incident(CONTROLLER_FAULT, t)
        rng = self._rng["junctions"]
        j = self._pick(rng, range(len(self._junction_ref)), lambda k: self._junction_fault[k])
        if j < 0:
            return
        self._junction_fault[j] = True
        self.stats["controller_fault"] += 1
        self._at(t + _hours_ms(rng, self.config.controller_fault_hours), CONTROLLER_OK, j)
        out.append(
            self._reading(self._junction_ref[j], t, {"online": True, "controller_fault": True})
        )

    def _controller_ok(self, t: int, j: int, out: list[Item]) -> None:
        self._junction_fault[j] = False
        out.append(
            self._reading(self._junction_ref[j], t, {"online": True, "controller_fault": False})
        )

    def _camera_report(self, t: int, c: int, out: list[Item]) -> None:
        down = self._camera_state[c]
        if down != 2:
            out.append(self._reading(self._camera_ref[c], t, {"online": down == 0}))

    def _camera_down(self, t: int, _index: int, out: list[Item]) -> None:
        self._next_incident(CAMERA_DOWN, t)
        rng = self._rng["cameras"]
        c = self._pick(rng, range(len(self._camera_ref)), lambda k: self._camera_state[k] > 0)
        if c < 0:
            return
        silent = rng.random() < self.config.camera_silent_share
        self._camera_state[c] = 2 if silent else 1
        self.stats["camera_offline"] += 1
        self._at(t + _hours_ms(rng, self.config.camera_outage_hours), CAMERA_UP, c)
        if not silent:  # the video management system noticed
            out.append(self._reading(self._camera_ref[c], t, {"online": False}))

    def _camera_up(self, t: int, c: int, out: list[Item]) -> None:
        self._camera_state[c] = 0
        out.append(self._reading(self._camera_ref[c], t, {"online": True}))

    # ----------------------------------------------------------------- buildings, bollards

    def _building_item(self, b: int, t: int) -> Item:
        watch = self._building_watch[b]
        metrics: dict[str, Any] = {"online": True}
        if "intrusion" in watch:
            metrics["intrusion"] = self._building_intrusion[b]
        if "fire" in watch:
            metrics["fire"] = self._building_fire[b]
        if "access_control" in watch:
            metrics["door_open"] = self._building_door_until[b] > t
        return self._reading(self._building_ref[b], t, metrics)

    def _building_report(self, t: int, b: int, out: list[Item]) -> None:
        out.append(self._building_item(b, t))

    def _armed(self, t: int) -> bool:
        weekday, _ = self._local.day_facts(self._local.day(t))
        hour = self._local.hour(t)
        return weekday >= 5 or hour >= 20.0 or hour < 7.0

    def _intrusion(self, t: int, _index: int, out: list[Item]) -> None:
        self._next_incident(INTRUSION, t)
        rng = self._rng["buildings"]
        b = self._pick(rng, self._intrusion_watch, lambda k: self._building_intrusion[k])
        if b < 0 or not self._armed(t):
            return
        self._building_intrusion[b] = True
        self.stats["intrusion"] += 1
        self._at(t + _hours_ms(rng, self.config.intrusion_hours), INTRUSION_END, b)
        zone = f"zone {1 + int(rng.random() * 6)}"
        out.append(self._event(self._building_ref[b], t, "intrusion", {"zone": zone}))
        out.append(self._reading(self._building_ref[b], t, {"intrusion": True}))

    def _intrusion_end(self, t: int, b: int, out: list[Item]) -> None:
        self._building_intrusion[b] = False
        out.append(self._reading(self._building_ref[b], t, {"intrusion": False}))

    def _fire(self, t: int, _index: int, out: list[Item]) -> None:
        self._next_incident(FIRE, t)
        rng = self._rng["buildings"]
        b = self._pick(rng, self._fire_watch, lambda k: self._building_fire[k])
        if b < 0:
            return
        self._building_fire[b] = True
        self.stats["fire"] += 1
        self._at(t + _hours_ms(rng, self.config.fire_hours), FIRE_END, b)
        detector = f"DI-{1 + int(rng.random() * 40):02d}"
        out.append(self._event(self._building_ref[b], t, "fire", {"detector": detector}))
        out.append(self._reading(self._building_ref[b], t, {"fire": True}))

    def _fire_end(self, t: int, b: int, out: list[Item]) -> None:
        self._building_fire[b] = False
        out.append(self._reading(self._building_ref[b], t, {"fire": False}))

    def _building_door(self, t: int, _index: int, out: list[Item]) -> None:
        self._next_incident(BUILDING_DOOR, t)
        rng = self._rng["buildings"]
        b = self._pick(rng, self._door_watch, lambda k: False)
        if b < 0:
            return
        if rng.random() < self.config.door_burst_share:  # someone tries again and again
            for _ in range(1 + int(rng.random() * 3)):
                self._at(t + int(rng.uniform(20_000, 540_000)), BUILDING_DOOR_AGAIN, b)
        self._building_door_again(t, b, out)

    def _building_door_again(self, t: int, b: int, out: list[Item]) -> None:
        rng = self._rng["buildings"]
        until = t + int(rng.uniform(*self.config.building_door_minutes) * 60_000)
        self._building_door_until[b] = max(self._building_door_until[b], until)
        self._at(self._building_door_until[b], BUILDING_DOOR_CLOSED, b)
        self.stats["door_open"] += 1
        door = f"door {1 + int(rng.random() * 4)}"
        out.append(self._event(self._building_ref[b], t, "door_open", {"door": door}))
        out.append(self._reading(self._building_ref[b], t, {"door_open": True}))

    def _building_door_closed(self, t: int, b: int, out: list[Item]) -> None:
        if self._building_door_until[b] == t:
            self._building_door_until[b] = 0
            out.append(self._reading(self._building_ref[b], t, {"door_open": False}))

    def _bollard_report(self, t: int, b: int, out: list[Item]) -> None:
        out.append(self._reading(self._bollard_ref[b], t, {"online": True}))

    # ----------------------------------------------------------------- sensors

    def _sensor_report(self, t: int, s: int, out: list[Item]) -> None:
        asset = self._sensors[s]
        out.append(self._reading(asset.ref, t, self._sensor_metrics(s, asset, t)))

    def _sensor_metrics(self, s: int, asset: SimAsset, t: int) -> dict[str, Any]:
        rng = self._rng["sensors"]
        local = self._local
        day = local.day(t)
        weekday, doy = local.day_facts(day)
        h = local.hour(t)
        working = weekday < 5
        rush = math.exp(-(((h - 8.5) / 1.5) ** 2)) + 0.8 * math.exp(-(((h - 18.5) / 2.0) ** 2))
        if not working:
            rush *= 0.5
        daytime = 1.0 / (1.0 + math.exp(-(h - 7.0) * 2)) - 1.0 / (1.0 + math.exp(-(h - 21) * 2))
        winter = 0.5 + 0.5 * math.cos(math.tau * (doy - 15) / 365.25)
        attributes = asset.attributes
        subtype = asset.subtype
        if subtype == "air_quality":
            episode = self._day_value("episode", day, lambda r: r.lognormvariate(0.0, 0.3))
            site = self._sensor_site[s] * episode
            no2 = (10 + 32 * rush) * site * (0.9 + 0.3 * winter) + rng.gauss(0, 2)
            heating = winter * (1 - daytime)
            pm10 = (13 + 7 * winter + 6 * rush + 6 * heating) * site + rng.gauss(0, 1.5)
            pm10 = max(pm10, 2.0)
            sunny = max(0.0, math.sin(math.pi * (h - 7) / 13)) if 7 <= h <= 20 else 0.0
            o3 = (35 + 65 * (1 - winter) * sunny) * episode - 0.4 * no2 + rng.gauss(0, 3)
            values = {
                "no2": max(no2, 1.0),
                "pm10": pm10,
                "pm2_5": pm10 * (0.55 + 0.15 * winter),
                "o3": max(o3, 2.0),
            }
            pollutants = attributes.get("pollutants") or ("no2", "pm10", "pm2_5")
            return {name: round(values[name], 1) for name in pollutants if name in values}
        if subtype in ("parking", "delivery_bay"):
            bays = max(1, int(attributes.get("bay_count") or 10))
            if subtype == "parking":
                busy = 0.25 + 0.6 * daytime * (0.8 if working else 0.6) + 0.1 * rush
            else:
                busy = 0.05 + (0.65 if working and 6.5 <= h < 12.5 else 0.25) * daytime
            busy = min(max(busy + rng.gauss(0, 0.05), 0.0), 1.0)
            if bays <= 20:
                occupied = sum(1 for _ in range(bays) if rng.random() < busy)
            else:
                occupied = min(bays, max(0, round(bays * busy + rng.gauss(0, bays**0.5))))
            return {"occupancy": occupied}
        if subtype == "ev_charger":
            connectors = max(1, int(attributes.get("connector_count") or 2))
            max_kw = float(attributes.get("max_power_kw") or 22.0)
            share = 0.15 + 0.45 * daytime
            in_use = sum(1 for _ in range(connectors) if rng.random() < share)
            kw = sum(max_kw * rng.uniform(0.3, 1.0) for _ in range(in_use))
            return {"occupancy": in_use, "charging_kw": round(min(kw, max_kw * connectors), 1)}
        if subtype == "noise":
            db = 44 + 18 * daytime + 6 * rush + rng.gauss(0, 1.5)
            return {"noise_db": round(min(max(db, 20.0), 120.0), 1)}
        if subtype == "weather":
            anomaly = self._day_value("weather", day, lambda r: r.gauss(0.0, 3.0))
            mean = 11.5 - 9.5 * math.cos(math.tau * (doy - 15) / 365.25)
            temperature = mean + anomaly + 5.0 * math.cos(math.tau * (h - 15) / 24)
            temperature += rng.gauss(0, 0.3)
            humidity = 75 - 2.5 * (temperature - mean - anomaly) + 10 * winter + rng.gauss(0, 2)
            return {
                "temperature_c": round(temperature, 1),
                "humidity_pct": round(min(max(humidity, 15.0), 100.0), 1),
            }
        if subtype == "flood":
            anomaly = self._day_value("weather", day, lambda r: r.gauss(0.0, 3.0))
            level = self._sensor_level[s] * (1 + 0.3 * winter) + 2.0 * anomaly
            return {"water_level_cm": round(max(level + rng.gauss(0, 0.5), 0.0), 1)}
        if subtype == "traffic_counter":
            occupancy = 0.03 + 0.3 * rush + 0.08 * daytime + rng.gauss(0, 0.02)
            occupancy = min(max(occupancy, 0.0), 1.0)
            speed = max(5.0, 50.0 * (1 - 1.4 * occupancy) + rng.gauss(0, 2))
            return {"occupancy": round(occupancy, 3), "speed_kmh": round(speed, 1)}
        return {"online": True}

    # ----------------------------------------------------------------- vehicles

    def _shift(self, v: _Vehicle, day: int) -> tuple[int, int] | None:
        """The vehicle's working shift on a local day, in UTC ms, or None on a day off."""
        weekday, _ = self._local.day_facts(day)
        if weekday not in self.config.workdays:
            return None
        rng = random.Random(f"metropilot-simulator:{self.seed}:{v.ref}:{day}")  # noqa: S311
        cfg = self.config
        begin = cfg.shift_start.hour + cfg.shift_start.minute / 60
        if v.early:
            begin -= 2.0
        begin += rng.uniform(0.0, cfg.shift_start_spread_min / 60)
        end = begin + cfg.shift_hours + rng.uniform(-0.5, 0.5)
        return self._local.utc_ms(day, begin), self._local.utc_ms(day, end)

    def _trip(self, v: _Vehicle, start: int, goal: int, depart: int) -> bool:
        """Plan the drive from node ``start`` to ``goal`` leaving at ``depart``."""
        graph = self._graph
        assert graph is not None
        steps = graph.route(start, goal)
        if steps is None:
            return False
        pace = v.factor * self._rng["vehicles"].uniform(0.85, 1.05)
        points = [graph.lonlat[start]]
        times = [depart]
        speeds: list[float] = []
        headings: list[float] = []
        t = float(depart)
        for edge, forward in steps:
            vertices = graph.edge_points[edge]
            pieces = graph.edge_pieces[edge]
            speed = min(graph.edge_speed[edge] * pace, 130.0)
            ms_per_metre = 3_600.0 / speed
            if forward:
                points.extend(vertices[1:])
                for length, heading in pieces:
                    t += length * ms_per_metre
                    times.append(int(t))
                    headings.append(heading)
            else:
                points.extend(vertices[-2::-1])
                for length, heading in reversed(pieces):
                    t += length * ms_per_metre
                    times.append(int(t))
                    headings.append((heading + 180.0) % 360.0)
            speeds.extend([speed] * len(pieces))
        v.points, v.times, v.speeds, v.headings = points, times, speeds, headings
        v.destination = goal
        v.state = DRIVING
        return True

    def _next_job(self, v: _Vehicle, depart: int) -> None:
        """Drive to the next job, within a few kilometres: crews work by sector."""
        graph = self._graph
        assert graph is not None
        rng = self._rng["vehicles"]
        for _ in range(4):
            goal = graph.node_near(v.node, 3_000.0, rng)
            if goal >= 0 and self._trip(v, v.node, goal, depart):
                v.going_home = False
                return
        v.state, v.stop_until = STOPPED, depart + 600_000

    def _vehicle_update(self, v: _Vehicle, t: int) -> None:
        """Play the vehicle's day forward to ``t``: shift start, trips, jobs, the way home."""
        rng = self._rng["vehicles"]
        for _ in range(1000):
            if v.state == PARKED:
                shift = self._shift(v, self._local.day(t))
                if shift is None or self._graph is None:
                    return
                begin, end = shift
                if not (v.parked_since <= begin <= t < end - 1_800_000):
                    return
                v.shift_end = end
                v.node = v.home_node
                self._next_job(v, begin)
            elif v.state == DRIVING:
                arrival = v.times[-1]
                if t < arrival:
                    return
                v.node = v.destination
                if v.headings:
                    v.heading = v.headings[-1]
                if v.going_home:
                    v.state, v.parked_since, v.going_home = PARKED, arrival, False
                    v.points, v.times, v.speeds, v.headings = [], [], [], []
                else:
                    v.state = STOPPED
                    v.stop_until = arrival + int(rng.uniform(10, 60) * 60_000)
            else:  # STOPPED at a job
                if t < v.stop_until:
                    return
                depart = v.stop_until
                if depart >= v.shift_end - 1_800_000:
                    if not self._trip(v, v.node, v.home_node, depart):
                        v.state, v.parked_since = PARKED, depart
                        continue
                    v.going_home = True
                else:
                    self._next_job(v, depart)

    def _vehicle_report(self, t: int, k: int, out: list[Item]) -> None:
        cfg = self.config
        v = self._vehicles[k]
        self._vehicle_update(v, t)
        graph = self._graph
        speed = 0.0
        if v.state == DRIVING:
            times = v.times
            seg = bisect.bisect_right(times, t) - 1
            seg = min(max(seg, 0), len(v.speeds) - 1)
            t0, t1 = times[seg], times[seg + 1]
            f = 0.0 if t1 <= t0 else min(max((t - t0) / (t1 - t0), 0.0), 1.0)
            (lon0, lat0), (lon1, lat1) = v.points[seg], v.points[seg + 1]
            lon, lat = lon0 + f * (lon1 - lon0), lat0 + f * (lat1 - lat0)
            speed = v.speeds[seg] * self._rng["vehicles"].uniform(0.9, 1.05)
            v.heading = v.headings[seg]
            upcoming = min(t + int(cfg.vehicle_moving_interval_s * 1000), times[-1])
        elif v.state == STOPPED and graph is not None:
            lon, lat = graph.lonlat[v.node]
            upcoming = min(t + int(cfg.vehicle_stopped_interval_s * 1000), v.stop_until)
        else:
            lon, lat = v.home
            upcoming = t + int(cfg.vehicle_parked_interval_s * 1000)
            shift = self._shift(v, self._local.day(t))
            if shift is not None and t < shift[0] < upcoming:
                upcoming = shift[0]  # the tracker wakes with the ignition
        self._at(max(upcoming, t + 1000), VEHICLE, k)
        metrics = {
            "position": [round(lon, 7), round(lat, 7)],
            "speed_kmh": round(min(speed, 299.0), 1),
            "heading_deg": round(v.heading % 360.0, 1),
        }
        out.append(self._reading(v.ref, t, metrics))


def _years_since(install: Any, today: date) -> float:
    try:
        installed = date.fromisoformat(str(install))
    except ValueError:
        return 5.0
    return max((today - installed).days, 0) / 365.25
