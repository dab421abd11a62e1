"""What every layer of the synthetic metropolis shares: reference figures, results, seeded draws."""

from __future__ import annotations

import csv
import io
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from importlib import resources

from metropilot.accounts.model import Organisation
from metropilot.assets.model import AssetDraft, AssetKind
from metropilot.territory.model import Commune

REFERENCE_CSV = "dijon-metropole-communes.csv"

# Public figures of the reference metropolis (sensors: our own plausible order of magnitude).
REFERENCE_COUNTS: dict[AssetKind, int] = {
    AssetKind.STREETLIGHT: 34_000,
    AssetKind.LIGHTING_CABINET: 1_200,
    AssetKind.TRAFFIC_JUNCTION: 113,
    AssetKind.CAMERA: 269,
    AssetKind.BUILDING: 180,
    AssetKind.BOLLARD: 26,
    AssetKind.VEHICLE: 205,
    AssetKind.SENSOR: 300,
}

# The consortium of the reference contract, under invented names.
LEAD_CONTRACTOR = "ordival-infrastructures"
LIGHTING_COMPANY = "lucerna-eclairage"
OPERATOR_COMPANY = "vigilis-operations"
IT_COMPANY = "numelia-systemes"

BORDER_MARGIN_M = 3.0  # every asset stands at least this far inside its commune
DEEP_MARGIN_M = 25.0  # room for things set back from a street (masts, buildings)
LIGHT_SPACING_M = 30.0  # the street network is sized so scale-1 lights stand this far apart
LIGHTS_POPULATION_SHARE = 0.75  # the rest of the lights follow the area: roads cross the fields
WEIGHT_LIMIT = 0.7  # how far a big commune may push its border towards a neighbour's centre
ROUNDING = 7  # decimal degrees kept on points: about a centimetre

Report = Callable[[str, int, int], None]
XY = tuple[float, float]


@dataclass(frozen=True, slots=True)
class CommuneSeed:
    insee: str
    name: str
    population: int
    area_km2: float | None
    lon: float
    lat: float


@dataclass(frozen=True, slots=True)
class SyntheticStreet:
    commune_insee: str
    name: str
    category: str  # "main" or "local"
    line: tuple[tuple[float, float], ...]  # (lon, lat) vertices


@dataclass
class SyntheticMetropolis:
    communes: list[Commune]
    organisations: list[Organisation]
    streets: list[SyntheticStreet]
    assets: list[AssetDraft]

    def count(self, kind: AssetKind) -> int:
        return sum(1 for asset in self.assets if asset.kind is kind)


def load_reference_communes() -> list[CommuneSeed]:
    """The 23 communes of the reference metropolis, with their public centres and figures."""
    text = (
        resources.files("metropilot.territory.data")
        .joinpath(REFERENCE_CSV)
        .read_text(encoding="utf-8")
    )
    seeds = []
    for row in csv.DictReader(io.StringIO(text)):
        area = (row.get("area_km2") or "").strip()
        seeds.append(
            CommuneSeed(
                insee=row["insee"].strip(),
                name=row["name"].strip(),
                population=int(row["population"]),
                area_km2=float(area) if area else None,
                lon=float(row["lon"]),
                lat=float(row["lat"]),
            )
        )
    return seeds


def planned_counts(scale: float, commune_count: int) -> dict[AssetKind, int]:
    """How many assets of each kind a build produces, known before building (for progress bars).

    Every kind gets ``round(reference × scale)``, at least one; lights and cabinets also get at
    least one per commune, since every commune is lit and every light hangs off a cabinet.
    """
    check_scale(scale)
    counts = {kind: max(1, round(total * scale)) for kind, total in REFERENCE_COUNTS.items()}
    for kind in (AssetKind.STREETLIGHT, AssetKind.LIGHTING_CABINET):
        counts[kind] = max(counts[kind], commune_count)
    return counts


def check_scale(scale: float) -> None:
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive number, got {scale!r}")


def seeded_rng(seed: int, *parts: str) -> random.Random:
    """A generator per stage and commune, so that one stage's draws never shift another's.

    String seeds go through SHA-512 in :class:`random.Random`, independent of ``PYTHONHASHSEED``.
    """
    return random.Random(":".join(("metropilot", str(seed), *parts)))  # noqa: S311 (not secrets)


def apportion(total: int, weights: Sequence[float], minimum: int = 0) -> list[int]:
    """Split ``total`` in proportion to ``weights`` (largest remainders), each at least ``minimum``.

    When the minimums alone exceed ``total`` the minimums win: the result then sums to more.
    """
    n = len(weights)
    if n == 0:
        return []
    weight_sum = sum(weights)
    if weight_sum <= 0:
        weights, weight_sum = [1.0] * n, float(n)
    total = max(total, minimum * n)
    ideal = [total * w / weight_sum for w in weights]
    counts = [max(minimum, math.floor(x)) for x in ideal]
    missing = total - sum(counts)
    by_remainder = sorted(range(n), key=lambda i: (counts[i] - ideal[i], i))
    for i in by_remainder[: max(missing, 0)]:
        counts[i] += 1
    while sum(counts) > total:
        over = [i for i in range(n) if counts[i] > minimum]
        i = max(over, key=lambda i: (counts[i] - ideal[i], -i))
        counts[i] -= 1
    return counts


_DAYS: dict[int, str] = {}


def iso_day(rng: random.Random, first_year: int, last_year: int) -> str:
    """An ISO date in the given years (strings are what an importer reads from a file)."""
    start = date(first_year, 1, 1).toordinal()
    span = date(last_year, 12, 31).toordinal() - start + 1
    ordinal = start + int(rng.random() * span)
    text = _DAYS.get(ordinal)
    if text is None:
        text = _DAYS.setdefault(ordinal, date.fromordinal(ordinal).isoformat())
    return text
