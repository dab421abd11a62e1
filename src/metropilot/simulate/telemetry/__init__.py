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

The modules: :mod:`.city` (what the simulator knows of the city), :mod:`.config`,
:mod:`.clock` (simulated and local time), :mod:`.daylight` (when lights burn),
:mod:`.streets` (the graph vehicles route on), :mod:`.scheduler` (the heap, report groups and
incident processes), one behaviour per kind of equipment (:mod:`.lighting`, :mod:`.traffic`,
:mod:`.buildings`, :mod:`.sensors`, :mod:`.fleet`) and :mod:`.model`, which puts them together
in a fixed order: the order of their draws and first events, on which the stream depends.
"""

from metropilot.simulate.telemetry.city import City, SimAsset, SimStreet, city_from_layout
from metropilot.simulate.telemetry.config import SimConfig
from metropilot.simulate.telemetry.daylight import LightingCalendar
from metropilot.simulate.telemetry.model import TelemetryModel
from metropilot.simulate.telemetry.streets import StreetGraph

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
