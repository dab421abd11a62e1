"""Service vehicles: parked at night, driving between jobs along the streets by day."""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass, field

from metropilot.shared.geo import LocalPlane
from metropilot.simulate.telemetry.city import City, SimAsset
from metropilot.simulate.telemetry.scheduler import VEHICLE, Behaviour, Item, Scheduler
from metropilot.simulate.telemetry.streets import StreetGraph

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
class Vehicle:
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


class Fleet(Behaviour):
    """The vehicles' shifts, trips and positions."""

    def __init__(self, scheduler: Scheduler, vehicles: list[SimAsset], city: City) -> None:
        super().__init__(scheduler)
        self._setup_vehicles(vehicles, city)
        scheduler.on(VEHICLE, self._vehicle_report)

    def _setup_vehicles(self, vehicles: list[SimAsset], city: City) -> None:
        self._vehicles: list[Vehicle] = []
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
                Vehicle(
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

    def _shift(self, v: Vehicle, day: int) -> tuple[int, int] | None:
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

    def _trip(self, v: Vehicle, start: int, goal: int, depart: int) -> bool:
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

    def _next_job(self, v: Vehicle, depart: int) -> None:
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

    def _vehicle_update(self, v: Vehicle, t: int) -> None:
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
