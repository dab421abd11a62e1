"""The equipment of one city, as one discrete-event simulation."""

from __future__ import annotations

from datetime import UTC, datetime

from metropilot.simulate.telemetry.buildings import Buildings
from metropilot.simulate.telemetry.city import City, SimAsset
from metropilot.simulate.telemetry.clock import ms
from metropilot.simulate.telemetry.config import SimConfig
from metropilot.simulate.telemetry.daylight import commune_calendars
from metropilot.simulate.telemetry.fleet import Fleet
from metropilot.simulate.telemetry.lighting import Lighting
from metropilot.simulate.telemetry.scheduler import Item, Scheduler
from metropilot.simulate.telemetry.sensors import Sensors
from metropilot.simulate.telemetry.traffic import Traffic


class TelemetryModel:
    """The equipment of one city from ``start`` on; :meth:`advance` returns what it sends."""

    def __init__(
        self, city: City, *, start: datetime, seed: int = 1, config: SimConfig | None = None
    ) -> None:
        self.config = cfg = config or SimConfig()
        self.seed = seed
        self.start_ms = ms(start)
        self._scheduler = scheduler = Scheduler(start_ms=self.start_ms, seed=seed, config=cfg)
        self.stats = scheduler.stats
        self._tz = scheduler.tz
        by_kind: dict[str, list[SimAsset]] = {}
        for asset in city.assets:
            by_kind.setdefault(asset.kind, []).append(asset)
        calendars = commune_calendars(city, self._tz, cfg, self.start_ms)
        # The order of the behaviours is the order of their draws and first events: keep it.
        self._lighting = Lighting(
            scheduler,
            by_kind.get("lighting_cabinet", []),
            by_kind.get("streetlight", []),
            calendars,
            city.counters,
        )
        self._traffic = Traffic(
            scheduler, by_kind.get("traffic_junction", []), by_kind.get("camera", [])
        )
        self._buildings = Buildings(
            scheduler, by_kind.get("building", []), by_kind.get("bollard", [])
        )
        self._sensors = Sensors(scheduler, by_kind.get("sensor", []))
        self._fleet = Fleet(scheduler, by_kind.get("vehicle", []), city)
        scheduler.start_processes()

    @property
    def now(self) -> datetime:
        """The simulated time up to which everything has been produced."""
        return datetime.fromtimestamp(self._scheduler.now_ms / 1000, UTC)

    @property
    def now_ms(self) -> int:
        return self._scheduler.now_ms

    def local_time(self, t: int | None = None) -> datetime:
        """A simulated instant (default: now) on the local wall clock, for display."""
        return datetime.fromtimestamp((self.now_ms if t is None else t) / 1000, self._tz)

    def advance(self, until: datetime, limit: int | None = None) -> list[Item]:
        """Every item due up to ``until`` (inclusive); at most about ``limit`` of them.

        With a limit the clock stops at the last event processed; call again to go on.
        """
        return self._scheduler.advance_ms(ms(until), limit)

    def advance_ms(self, until: int, limit: int | None = None) -> list[Item]:
        return self._scheduler.advance_ms(until, limit)
