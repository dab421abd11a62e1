"""A synthetic metropolis: communes, streets, organisations and equipment at the reference scale.

Nobody publishes the inventory of a city's street lights, cameras and control cabinets, yet the
command post, the importers and the performance budget all need one of realistic size and shape.
This package builds one from public figures only (commune centres, populations and areas, and the
equipment counts of the reference metropolis). It is deterministic: the same seeds, scale and seed
give the same output to the last bit, so a test, a demo and a benchmark all run on one territory.
It is pure: no database, no network, no file except the commune list packaged with the code.

Geometry is computed on a :class:`~metropilot.shared.geo.LocalPlane` in metres and converted to
WGS 84 longitude/latitude at the end. Every asset stands at least ``BORDER_MARGIN_M`` inside its
commune so that the commune locator never has to settle a point on a border.

One module per layer, laid in this order by :mod:`.metropolis` on the shared state of
:mod:`.context`: :mod:`.communes` (cells from :mod:`.cells`, places from :mod:`.places`),
:mod:`.streets` (names from :mod:`.names`), :mod:`.organisations`, :mod:`.lighting`,
:mod:`.buildings`, :mod:`.junctions` (and cameras), :mod:`.bollards`, :mod:`.vehicles`,
:mod:`.sensors`. Each layer draws from generators of its own (:func:`.common.seeded_rng`), so
that one layer's draws never shift another's.
"""

from metropilot.simulate.layout.common import (
    IT_COMPANY,
    LEAD_CONTRACTOR,
    LIGHTING_COMPANY,
    OPERATOR_COMPANY,
    REFERENCE_COUNTS,
    CommuneSeed,
    SyntheticMetropolis,
    SyntheticStreet,
    load_reference_communes,
    planned_counts,
)
from metropilot.simulate.layout.metropolis import build_metropolis

__all__ = [
    "IT_COMPANY",
    "LEAD_CONTRACTOR",
    "LIGHTING_COMPANY",
    "OPERATOR_COMPANY",
    "REFERENCE_COUNTS",
    "CommuneSeed",
    "SyntheticMetropolis",
    "SyntheticStreet",
    "build_metropolis",
    "load_reference_communes",
    "planned_counts",
]
