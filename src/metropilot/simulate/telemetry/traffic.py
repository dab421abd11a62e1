"""Junction controllers and cameras: periodic reports, faults and outages."""

from __future__ import annotations

from metropilot.simulate.telemetry.city import SimAsset
from metropilot.simulate.telemetry.clock import DAY_MS, hours_ms
from metropilot.simulate.telemetry.scheduler import (
    CAMERA,
    CAMERA_DOWN,
    CAMERA_UP,
    CONTROLLER_FAULT,
    CONTROLLER_OK,
    JUNCTION,
    Behaviour,
    Item,
    Scheduler,
)


class Traffic(Behaviour):
    """Junction controllers that fault, cameras that drop offline."""

    def __init__(
        self, scheduler: Scheduler, junctions: list[SimAsset], cameras: list[SimAsset]
    ) -> None:
        super().__init__(scheduler)
        cfg = self.config
        self._junction_ref = [a.ref for a in junctions]
        self._junction_fault = [False] * len(junctions)
        self._schedule_periodic(JUNCTION, [cfg.junction_interval_s] * len(junctions))

        self._camera_ref = [a.ref for a in cameras]
        self._camera_state = [0] * len(cameras)  # 0 online, 1 reports offline, 2 silent
        self._schedule_periodic(CAMERA, [cfg.camera_interval_s] * len(cameras))
        scheduler.on(JUNCTION, self._junction_report)
        scheduler.on(CONTROLLER_FAULT, self._controller_fault)
        scheduler.on(CONTROLLER_OK, self._controller_ok)
        scheduler.on(CAMERA, self._camera_report)
        scheduler.on(CAMERA_DOWN, self._camera_down)
        scheduler.on(CAMERA_UP, self._camera_up)
        f = cfg.incident_factor
        day = float(DAY_MS)
        scheduler.add_process(
            CONTROLLER_FAULT,
            len(self._junction_ref) * cfg.controller_faults_per_junction_per_day * f / day,
            self._rng["junctions"],
        )
        scheduler.add_process(
            CAMERA_DOWN,
            len(self._camera_ref) * cfg.camera_outages_per_camera_per_day * f / day,
            self._rng["cameras"],
        )

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
        self._at(t + hours_ms(rng, self.config.controller_fault_hours), CONTROLLER_OK, j)
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
        self._at(t + hours_ms(rng, self.config.camera_outage_hours), CAMERA_UP, c)
        if not silent:  # the video management system noticed
            out.append(self._reading(self._camera_ref[c], t, {"online": False}))

    def _camera_up(self, t: int, c: int, out: list[Item]) -> None:
        self._camera_state[c] = 0
        out.append(self._reading(self._camera_ref[c], t, {"online": True}))
