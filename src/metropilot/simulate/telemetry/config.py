"""How the simulated equipment behaves: report intervals, incident rates, working hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time


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
