"""A synthetic metropolis: communes, streets, organisations and equipment at the reference scale.

Nobody publishes the inventory of a city's street lights, cameras and control cabinets, yet the
command post, the importers and the performance budget all need one of realistic size and shape.
This module builds one from public figures only (commune centres, populations and areas, and the
equipment counts of the reference metropolis). It is deterministic: the same seeds, scale and seed
give the same output to the last bit, so a test, a demo and a benchmark all run on one territory.
It is pure: no database, no network, no file except the commune list packaged with the code.

Geometry is computed on a :class:`~metropilot.shared.geo.LocalPlane` in metres and converted to
WGS 84 longitude/latitude at the end. Every asset stands at least ``BORDER_MARGIN_M`` inside its
commune so that the commune locator never has to settle a point on a border.
"""

from __future__ import annotations

import bisect
import csv
import gc
import io
import math
import random
import statistics
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from typing import Any

import shapely
from shapely.geometry import LineString, MultiPoint, MultiPolygon, Point, Polygon

from metropilot.accounts.model import Organisation, OrganisationKind, Sector
from metropilot.assets.model import AssetDraft, AssetKind, AssetStatus
from metropilot.shared.geo import METRES_PER_DEGREE_LAT, LocalPlane
from metropilot.territory.model import Commune, area_km2

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
    _check_scale(scale)
    counts = {kind: max(1, round(total * scale)) for kind, total in REFERENCE_COUNTS.items()}
    for kind in (AssetKind.STREETLIGHT, AssetKind.LIGHTING_CABINET):
        counts[kind] = max(counts[kind], commune_count)
    return counts


def build_metropolis(
    seeds: Sequence[CommuneSeed],
    *,
    scale: float = 1.0,
    seed: int = 1,
    boundaries: Sequence[Commune] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> SyntheticMetropolis:
    """Build the whole synthetic metropolis; see the module docstring for the guarantees.

    ``boundaries`` are real commune boundaries (matched by INSEE code) used instead of generated
    cells; communes in it that are not among ``seeds`` are ignored. The street network depends on
    the seeds and the seed only, never on ``scale``: a scaled-up build is a denser fit-out of the
    same territory.
    """
    _check_scale(scale)
    if not seeds:
        raise ValueError("a metropolis needs at least one commune")
    codes = [s.insee for s in seeds]
    if len(set(codes)) != len(codes):
        raise ValueError("commune seeds must have distinct INSEE codes")
    report: Report = progress if progress is not None else _ignore_progress
    plane = LocalPlane(
        statistics.fmean(s.lon for s in seeds), statistics.fmean(s.lat for s in seeds)
    )
    builder = _Builder(list(seeds), plane, scale, seed, report)
    with _collector_paused():
        return builder.build(boundaries)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while hundreds of thousands of drafts are allocated.

    The drafts hold no reference cycles, yet every full collection walks all of them again;
    pausing it nearly halves the build time at scale 10.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _check_scale(scale: float) -> None:
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive number, got {scale!r}")


def _ignore_progress(_label: str, _done: int, _total: int) -> None:
    return None


def _rng(seed: int, *parts: str) -> random.Random:
    """A generator per stage and commune, so that one stage's draws never shift another's.

    String seeds go through SHA-512 in :class:`random.Random`, independent of ``PYTHONHASHSEED``.
    """
    return random.Random(":".join(("metropilot", str(seed), *parts)))  # noqa: S311 (not secrets)


def _apportion(total: int, weights: Sequence[float], minimum: int = 0) -> list[int]:
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


# --------------------------------------------------------------------------- names


def _names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip())


PEOPLE = _names(
    """
    Victor Hugo, Jean Jaurès, Jules Ferry, Pasteur, Émile Zola, Voltaire, Gambetta, Jean Moulin,
    Marie Curie, Anatole France, Gustave Eiffel, Jean-Philippe Rameau, Buffon, Bossuet,
    Lamartine, Colette, George Sand, Molière, Racine, Montesquieu, Rabelais, Diderot, Condorcet,
    Lavoisier, Paul Bert, Henri Vincenot, Gaston Roupnel, Sadi Carnot, Clemenceau,
    Charles de Gaulle, Maréchal Leclerc, Pierre Curie, Louis Blériot, Jean Monnet, Simone Veil,
    Lucie Aubrac, Olympe de Gouges, Louise Michel, Camille Claudel, Hector Berlioz,
    Claude Debussy, Maurice Ravel, Paul Verlaine, Arthur Rimbaud, Charles Baudelaire,
    Alphonse Daudet, Guy de Maupassant, Jean de La Fontaine, Frédéric Mistral, Albert Camus,
    Antoine de Saint-Exupéry, Roland Garros, Pierre de Coubertin, Nicéphore Niépce,
    Claude Bernard, André-Marie Ampère, Édouard Branly, Édouard Herriot, François Rude,
    Henri Barbusse, Romain Rolland, Paul Éluard, Louis Aragon, Jacques Prévert, Marcel Pagnol,
    Stendhal, Gustave Flaubert, Honoré de Balzac, Chateaubriand, Alfred de Musset,
    Charles Péguy, Jean Giono, Colbert, Vauban, Sully, Turgot, Jean Mermoz, Hélène Boucher,
    Louis Braille, René Cassin, Abbé Pierre, Martin Luther King, Nelson Mandela, Auguste Renoir,
    Claude Monet, Paul Cézanne, Berthe Morisot, Rosa Bonheur, Gustave Courbet, Eugène Delacroix,
    Jean Zay, Pierre Mendès France, Léon Blum, Aristide Briand, Jean Macé, Ferdinand Buisson,
    Marcelin Berthelot, Henri Poincaré, Évariste Galois, Sophie Germain, Blaise Pascal,
    René Descartes, Denis Papin, Joseph Fourier, Gaspard Monge, Lazare Carnot, Jules Verne,
    Alexandre Dumas, Pierre Loti, Paul Valéry, Saint-Just, Mirabeau, La Fayette, Jeanne d'Arc,
    Hoche, Kléber, Marceau, Carnot, Jean Bart, Surcouf, Champollion, Daguerre, Foucault,
    Arago, Gay-Lussac, Laplace, Lagrange, Cauchy, Fermat, Charles Fourier, Proudhon,
    Jules Michelet, Ernest Renan, Anatole de Monzie, Georges Brassens, Édith Piaf,
    Joséphine Baker, Germaine Tillion, Geneviève de Gaulle, Pierre Brossolette, Jean Bouhey,
    Félix Kir, Robert Poujade, Gaston Gérard, Henri Dunant, Albert Schweitzer, Louis Lumière,
    Auguste Lumière, Paul Langevin, Irène Joliot-Curie, Frédéric Joliot-Curie, Émilie du Châtelet,
    Madame de Sévigné, Marguerite Yourcenar, Simone de Beauvoir, Aimé Césaire,
    Léopold Sédar Senghor, Victor Schœlcher, Toussaint Louverture, Alexandre Yersin,
    Jacques Cartier, Samuel de Champlain, Bougainville, La Pérouse, Dumont d'Urville,
    Paul-Émile Victor, Jacques-Yves Cousteau, Haroun Tazieff, Théodore Monod, Jean Rostand,
    Louis de Broglie, Pierre-Gilles de Gennes, Georges Charpak, Jean Perrin, Marcel Proust,
    Boris Vian, Raymond Queneau, Jean Cocteau, Guillaume Apollinaire, Saint-Saëns, Gounod,
    Bizet, Offenbach, Lully, Couperin, Fauré, Satie, Poulenc, Messiaen
    """
)
THEMES = _names(
    """
    des Lilas, des Tilleuls, des Vignes, du Moulin, de la Fontaine, des Écoles, de l'Église,
    du Stade, des Prés, des Champs, du Lavoir, de la Gare, du Château, des Cerisiers,
    des Acacias, des Peupliers, des Rosiers, des Jardins, du Parc, de la Combe, des Roches,
    du Bief, de la Tille, de l'Ouche, des Perrières, des Grands Champs, du Clos, des Noyers,
    des Chênes, des Charmes, du Puits, de la Croix, des Vergers, des Saules, des Glycines,
    des Mésanges, des Alouettes, des Hirondelles, du Paradis, de la Paix, de la Liberté,
    de la République, du 8 Mai 1945, du 11 Novembre, du 14 Juillet, des Frères Lumière,
    des Cassissiers, des Pinots, du Canal, de la Prairie, des Coteaux, du Bois, de la Forêt,
    des Sources, du Mont, de Bourgogne, de la Côte, des Marronniers, des Platanes, des Érables,
    des Bouleaux, des Aubépines, des Violettes, des Coquelicots, des Genêts, de la Source,
    du Pressoir, des Murgers, des Longènes, du Cellier, de la Corvée, des Essarts, du Fort,
    de la Citadelle, des Tanneries, des Artisans, du Commerce, de l'Industrie, des Sports,
    de l'Abreuvoir, des Tonneliers, des Vignerons, des Tanneurs, des Meuniers, des Charrons,
    des Forgerons, des Tisserands, des Maraîchers, des Jardiniers, des Vendangeurs,
    de Beaune, de Langres, d'Auxonne, de Gray, de Besançon, de Nuits, de Seurre, de Mirebeau,
    d'Is-sur-Tille, de Genlis, de Montbard, de Semur, de Saulieu, d'Arnay, de Vitteaux,
    de la Saône, de la Vingeanne, du Suzon, de la Norges, de l'Armançon, du Morvan,
    de l'Auxois, de la Montagne, du Plateau, de la Vallée, du Vallon, de la Plaine, du Val,
    des Hautes Terres, des Basses Terres, des Longs Prés, des Grandes Vignes, des Petits Champs,
    du Grand Pré, du Petit Bois, des Bruyères, des Fougères, des Noisetiers, des Pommiers,
    des Poiriers, des Pruniers, des Amandiers, des Mûriers, des Sureaux, des Frênes, des Ormes,
    des Trembles, des Aulnes, des Hêtres, des Sapins, des Mélèzes, des Cèdres, des Iris,
    des Jonquilles, des Primevères, des Pervenches, des Myosotis, des Bleuets, des Marguerites,
    des Tulipes, des Lavandes, des Roseaux, des Fauvettes, des Rossignols, des Pinsons,
    des Merles, des Loriots, des Bergeronnettes, des Chardonnerets, des Tourterelles,
    de la Chapelle, du Prieuré, de l'Abbaye, du Cloître, des Remparts, de la Porte,
    du Pont, de la Passerelle, de l'Écluse, du Port, du Quai, de la Halle, du Marché,
    de la Poste, de la Mairie, du Presbytère, du Cimetière, de la Ferme, du Domaine,
    de la Grange, des Granges, du Colombier, de la Tuilerie, de la Briqueterie, des Carrières,
    des Fontaines, du Lavoir Neuf, de la Vieille Route, du Chemin Vert, de l'Étang, des Mares
    """
)
RADIAL_NAMES = _names(
    """
    Avenue Jean Jaurès, Avenue Victor Hugo, Boulevard de Strasbourg, Avenue du Drapeau,
    Boulevard Gabriel, Avenue Aristide Briand, Boulevard de la Marne, Avenue Foch,
    Avenue de Stalingrad, Boulevard Voltaire, Avenue du Général Leclerc, Avenue de la Concorde
    """
)
RING_NAMES = _names(
    """
    Boulevard Carnot, Boulevard de Sévigné, Boulevard Thiers, Boulevard de Brosses,
    Boulevard de la Trémouille, Boulevard Clemenceau, Boulevard de Champagne
    """
)
SUFFIXES = ("", " prolongée", " nord", " sud", " est", " ouest")


def _of(name: str) -> str:
    """French elision: "de Dijon" but "d'Ahuy", "d'Ouges"."""
    return f"d'{name}" if name[:1].upper() in "AEIOUYÉÈÊ" else f"de {name}"


class _StreetNamer:
    """Hands out street names for one commune, never the same one twice, in a seeded order."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._bodies = [*PEOPLE, *THEMES]
        rng.shuffle(self._bodies)
        self._next = 0
        self._used: set[str] = set()

    def body(self) -> str:
        """The next name to honour; once all are used, they come back as "… prolongée" etc."""
        cycle, index = divmod(self._next, len(self._bodies))
        self._next += 1
        suffix = SUFFIXES[cycle % len(SUFFIXES)]
        extra = f" {cycle // len(SUFFIXES) + 1}" if cycle >= len(SUFFIXES) else ""
        return f"{self._bodies[index]}{suffix}{extra}"

    def street(self, *, outer: bool) -> tuple[str, str]:
        """A fresh street name and its body: chemins on the fringe, mostly rues in town."""
        if outer:
            kind = self._rng.choices(("Chemin", "Rue", "Route"), (5, 4, 1))[0]
        else:
            kind = self._rng.choices(("Rue", "Allée", "Avenue"), (14, 3, 2))[0]
        while True:
            body = self.body()
            name = f"{kind} {body}"
            if name not in self._used:
                self._used.add(name)
                return name, body


# --------------------------------------------------------------------------- places


@dataclass
class _Place:
    """One commune on the plane, with the geometry every generator needs."""

    seed: CommuneSeed
    cell: Any  # Polygon | MultiPolygon, metres
    inner: Any  # cell shrunk by BORDER_MARGIN_M: every asset stands in it
    deep: Any  # cell shrunk by DEEP_MARGIN_M: for points set back from a street
    anchor: XY  # town centre
    boundary: Polygon | MultiPolygon  # lon/lat, as published
    centre: tuple[float, float]  # lon/lat
    town_radius: float = 0.0
    lines: list[Any] = field(default_factory=list)  # street pieces inside `inner`
    line_names: list[str] = field(default_factory=list)
    line_main: list[bool] = field(default_factory=list)
    ends: list[float] = field(default_factory=list)  # cumulative length at each piece's end

    @property
    def insee(self) -> str:
        return self.seed.insee

    @property
    def street_length(self) -> float:
        return self.ends[-1] if self.ends else 0.0

    def add_lines(self, lines: Sequence[Any], names: Sequence[str], main: bool) -> None:
        for line, name in zip(lines, names, strict=True):
            self.lines.append(line)
            self.line_names.append(name)
            self.line_main.append(main)
            self.ends.append(self.street_length + float(line.length))

    def locate(self, distance: float) -> tuple[int, float]:
        """Which street piece a distance along the whole network falls on, and where on it."""
        index = min(bisect.bisect_left(self.ends, distance), len(self.ends) - 1)
        start = self.ends[index - 1] if index else 0.0
        return index, distance - start

    def street_point(
        self,
        rng: random.Random,
        *,
        within: float | None = None,
        main: bool | None = None,
        region: Any = None,
    ) -> tuple[XY, int]:
        """A random point on the streets, optionally near the centre, on a main road, in a region.

        Constraints are tried a few times then relaxed: a point is always returned.
        """
        best: tuple[float, XY, int] | None = None
        for attempt in range(40):
            index, along = self.locate(rng.uniform(0.0, self.street_length))
            point = self.lines[index].interpolate(along)
            xy = (float(point.x), float(point.y))
            score = 0.0
            if within is not None:
                score += max(0.0, math.dist(xy, self.anchor) - within)
            if main is not None and self.line_main[index] is not main and attempt < 30:
                score += 1e6
            if region is not None and not shapely.contains_xy(region, *xy):
                score += 1e9
            if score == 0.0:
                return xy, index
            if best is None or score < best[0]:
                best = (score, xy, index)
        assert best is not None
        return best[1], best[2]

    def near(self, rng: random.Random, origin: XY, low: float, high: float, region: Any) -> XY:
        """A point a few metres from ``origin`` (a mast beside a junction), inside ``region``."""
        for _ in range(16):
            angle = rng.uniform(0.0, math.tau)
            radius = rng.uniform(low, high)
            xy = (origin[0] + radius * math.cos(angle), origin[1] + radius * math.sin(angle))
            if shapely.contains_xy(region, *xy):
                return xy
        return origin

    def setback(self, rng: random.Random, xy: XY, index: int, distance: float) -> XY:
        """A point beside the street (a building's door is not in the roadway)."""
        line = self.lines[index]
        along = float(line.project(Point(xy)))
        ahead = line.interpolate(min(along + 1.0, float(line.length)))
        behind = line.interpolate(max(along - 1.0, 0.0))
        dx, dy = float(ahead.x - behind.x), float(ahead.y - behind.y)
        norm = math.hypot(dx, dy) or 1.0
        side = rng.choice((-1.0, 1.0))
        for sign in (side, -side):
            candidate = (xy[0] - sign * dy / norm * distance, xy[1] + sign * dx / norm * distance)
            if shapely.contains_xy(self.inner, *candidate):
                return candidate
        return xy


# --------------------------------------------------------------------------- cells


def _outline(sites: Sequence[XY], target_area: float, rng: random.Random) -> Any:
    """The metropolis' outer edge: a buffered hull of the centres with a gentle, seeded wobble.

    The buffer distance is solved so the outline encloses ``target_area``; the wobble moves the
    edge by at most 45 % of that distance, so every centre stays well inside.
    """
    hull = MultiPoint(list(sites)).convex_hull
    cx, cy = (hull.centroid.x, hull.centroid.y) if hull.area > 0 else _mean_xy(sites)
    harmonics = [(k, rng.uniform(0.4, 1.0) / k, rng.uniform(0.0, math.tau)) for k in range(2, 7)]
    norm = sum(a for _, a, _ in harmonics)

    def shaped(distance: float) -> Any:
        ring = shapely.segmentize(hull.buffer(distance, quad_segs=16), distance / 4)
        coords = list(ring.exterior.coords)[:-1]
        out = []
        for x, y in coords:
            dx, dy = x - cx, y - cy
            radius = math.hypot(dx, dy)
            angle = math.atan2(dy, dx)
            wave = sum(a * math.sin(k * angle + p) for k, a, p in harmonics) / norm
            wobble = 0.45 * distance * wave
            out.append((x + dx / radius * wobble, y + dy / radius * wobble))
        return Polygon(out)

    low, high = 200.0, 1000.0
    while shaped(high).area < target_area and high < 200_000:
        low, high = high, high * 2
    if shaped(low).area >= target_area:
        return shaped(low)
    for _ in range(30):
        middle = (low + high) / 2
        if shaped(middle).area < target_area:
            low = middle
        else:
            high = middle
    return shaped(high)


def _mean_xy(points: Sequence[XY]) -> XY:
    return statistics.fmean(p[0] for p in points), statistics.fmean(p[1] for p in points)


def _clip_half_plane(poly: list[XY], ax: float, ay: float, b: float) -> list[XY]:
    """Sutherland–Hodgman: keep the part of a convex polygon where ``ax·x + ay·y ≤ b``."""
    out: list[XY] = []
    count = len(poly)
    for k in range(count):
        px, py = poly[k]
        qx, qy = poly[(k + 1) % count]
        fp = ax * px + ay * py - b
        fq = ax * qx + ay * qy - b
        if fp <= 0:
            out.append((px, py))
        if (fp < 0 < fq) or (fq < 0 < fp):
            t = fp / (fp - fq)
            out.append((px + t * (qx - px), py + t * (qy - py)))
    return out


def _power_cells(sites: Sequence[XY], targets: Sequence[float], outline: Any) -> list[Any]:
    """Cells of a power diagram whose weights are tuned so each cell gets its target area.

    A plain Voronoi diagram gives a big commune surrounded by close neighbours (Dijon) a small
    cell; a power diagram lets weights push borders outward. A weight difference stays below
    ``WEIGHT_LIMIT`` times the squared distance between two centres, which keeps every centre
    inside its own cell, at least ``(1 - WEIGHT_LIMIT) / 2`` of the way to its neighbour.
    """
    n = len(sites)
    if n == 1:
        return [outline]
    squared = [[(a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2 for b in sites] for a in sites]
    for i in range(n):
        for j in range(i + 1, n):
            if squared[i][j] < 1.0:
                raise ValueError("two communes share the same centre; cells cannot separate them")
    min_x, min_y, max_x, max_y = outline.bounds
    pad = 1000.0
    box = [(min_x - pad, min_y - pad), (max_x + pad, min_y - pad)]
    box += [(max_x + pad, max_y + pad), (min_x - pad, max_y + pad)]
    weights = [0.0] * n
    cells: Any = None
    previous: list[float] = []
    for _ in range(30):
        polygons = []
        for i, (xi, yi) in enumerate(sites):
            poly = box
            for j, (xj, yj) in enumerate(sites):
                if j != i:
                    ax, ay = 2 * (xj - xi), 2 * (yj - yi)
                    b = xj * xj + yj * yj - xi * xi - yi * yi + weights[i] - weights[j]
                    poly = _clip_half_plane(poly, ax, ay, b)
            polygons.append(Polygon(poly))
        cells = shapely.intersection(polygons, outline)
        areas = shapely.area(cells).tolist()
        if max(abs(a - t) / t for a, t in zip(areas, targets, strict=True)) < 0.02:
            break
        if previous and max(abs(a - b) / b for a, b in zip(areas, previous, strict=True)) < 0.002:
            break  # the weight limits bind: this is as close as the centres allow
        previous = areas
        weights = [w + 0.6 * (t - a) for w, t, a in zip(weights, targets, areas, strict=True)]
        for _ in range(n):  # difference constraints: relax like Bellman-Ford until all hold
            changed = False
            for i in range(n):
                for j in range(n):
                    limit = weights[i] + WEIGHT_LIMIT * squared[i][j]
                    if i != j and weights[j] > limit:
                        weights[j] = limit
                        changed = True
            if not changed:
                break
    return _reattach_fragments(list(cells), sites)


def _reattach_fragments(cells: list[Any], sites: Sequence[XY]) -> list[Any]:
    """Give a piece cut off from its cell by a dent of the outline to the neighbour it touches."""
    fragments: list[Any] = []
    kept: list[Any] = []
    for cell, site in zip(cells, sites, strict=True):
        parts = list(shapely.get_parts(cell))
        own = [p for p in parts if p.contains(Point(site))]
        kept.append(own[0] if own else cell)
        fragments.extend(p for p in parts if own and p is not own[0])
    for fragment in fragments:
        touching = [float(fragment.buffer(1.0).intersection(c).area) for c in kept]
        target = max(range(len(kept)), key=lambda i: (touching[i], -i))
        kept[target] = kept[target].union(fragment)
    # A common millimetre grid makes the vertices two neighbours share identical.
    return list(shapely.set_precision(kept, 0.001))


# --------------------------------------------------------------------------- streets


@dataclass(slots=True)
class _LocalStreet:
    line: Any  # LineString on the plane, inside its quarter
    grid_line: int  # pieces of one grid line share a name
    outer: bool  # on the fringe of the town, where chemins and impasses are


def _ladder(
    rng: random.Random, spacing: float, radius: float, low: float, high: float, across: float
) -> list[float]:
    """Positions from the town centre outward, wider apart away from it, covering low..high.

    ``across`` is the distance from the centre perpendicular to the ladder: the density follows
    the distance to the centre, so the core is denser than the fringe.
    """
    first = rng.uniform(-0.3, 0.3) * spacing
    ahead: list[float] = [first]
    behind: list[float] = []
    for sign, out in ((1.0, ahead), (-1.0, behind)):
        position = first
        while position < high if sign > 0 else position > low:
            step = spacing * (1.0 + 1.5 * math.hypot(across, position) / radius)
            position += sign * step * rng.uniform(0.78, 1.22)
            out.append(position)
    return [*reversed(behind), *ahead]


def _grid(
    rng: random.Random,
    anchor: XY,
    radius: float,
    spacing: float,
    angle: float,
    region: Any,
    first_line: int,
) -> list[_LocalStreet]:
    """A jittered grid of local streets over one quarter of a town, turned by ``angle``.

    Each grid line is cut into runs: segments drop out more often away from the centre, which
    leaves dead ends and irregular blocks instead of a chessboard.
    """
    ax0, ay0 = anchor
    corners = shapely.get_coordinates(region).tolist()
    coords: list[XY] = []
    owners: list[int] = []
    runs: list[tuple[int, bool]] = []
    grid_line = first_line
    for family in (angle, angle + math.pi / 2 + rng.uniform(-0.12, 0.12)):
        ux, uy = math.cos(family), math.sin(family)
        vx, vy = -uy, ux
        along = [(x - ax0) * ux + (y - ay0) * uy for x, y in corners]
        across = [(x - ax0) * vx + (y - ay0) * vy for x, y in corners]
        low, high = min(across), max(across)
        for offset in _ladder(rng, spacing, radius, low, high, 0.0):
            if not low < offset < high:
                continue
            grid_line += 1
            tilt = family + rng.uniform(-0.04, 0.04)
            lx, ly = math.cos(tilt), math.sin(tilt)
            stations = _ladder(rng, spacing, radius, min(along), max(along), offset)
            points = []
            for t in stations:
                local = spacing * (1.0 + 1.5 * math.hypot(offset, t) / radius)
                shift = offset + rng.uniform(-0.08, 0.08) * local
                points.append((ax0 + shift * vx + t * lx, ay0 + shift * vy + t * ly))
            run = [points[0]]
            for k in range(1, len(points)):
                middle = math.hypot(offset, (stations[k - 1] + stations[k]) / 2) / radius
                if rng.random() < 0.97 - 0.3 * min(middle, 1.0):
                    run.append(points[k])
                    continue
                if len(run) > 1:
                    coords += run
                    owners += [len(runs)] * len(run)
                    runs.append((grid_line, middle > 0.6))
                run = [points[k]]
            if len(run) > 1:
                coords += run
                owners += [len(runs)] * len(run)
                runs.append((grid_line, math.hypot(offset, stations[-1]) / radius > 0.6))
    if not runs:
        return []
    lines = shapely.linestrings(coords, indices=owners)
    parts, part_owners = _line_parts(shapely.intersection(lines, region))
    return [
        _LocalStreet(part, *runs[owner]) for part, owner in zip(parts, part_owners, strict=True)
    ]


def _quarters(rng: random.Random, anchor: XY, radius: float) -> list[tuple[Any, float]]:
    """A town's quarters, each with its own street orientation: (area, angle).

    A village is one quarter; a city is a patchwork, as towns grow by successive developments.
    The town's edge wobbles so that it does not end on a perfect circle.
    """
    x0, y0 = anchor
    phases = [rng.uniform(0.0, math.tau) for _ in range(3)]
    outline = []
    for step in range(72):
        a = step * math.tau / 72
        wave = sum(math.sin((k + 2) * a + p) / (k + 2) for k, p in enumerate(phases))
        r = radius * (1.0 + 0.15 * wave)
        outline.append((x0 + r * math.cos(a), y0 + r * math.sin(a)))
    town = Polygon(outline)
    count = 1 + int((radius / 1600.0) ** 2)
    centres = [anchor]
    for _ in range(200):
        if len(centres) >= count:
            break
        r = radius * 0.9 * math.sqrt(rng.random())
        a = rng.uniform(0.0, math.tau)
        candidate = (x0 + r * math.cos(a), y0 + r * math.sin(a))
        if all(math.dist(candidate, c) > 0.6 * radius / math.sqrt(count) for c in centres):
            centres.append(candidate)
    if len(centres) == 1:
        return [(town, rng.uniform(0.0, math.pi / 2))]
    cells = list(shapely.get_parts(shapely.voronoi_polygons(MultiPoint(centres), extend_to=town)))
    quarters = []
    for centre in centres:
        cell = next(c for c in cells if c.covers(Point(centre)))
        quarters.append((cell.intersection(town), rng.uniform(0.0, math.pi / 2)))
    return quarters


def _curved_road(rng: random.Random, start: XY, end: XY) -> list[XY]:
    """A country road between two centres: a gentle bow with a little irregularity."""
    dx, dy = end[0] - start[0], end[1] - start[1]
    length = math.hypot(dx, dy)
    nx, ny = -dy / length, dx / length
    bow = rng.uniform(-0.07, 0.07) * length
    points = [start]
    for k in range(1, 8):
        f = k / 8
        bend = bow * math.sin(math.pi * f) + rng.uniform(-0.01, 0.01) * length
        points.append((start[0] + f * dx + bend * nx, start[1] + f * dy + bend * ny))
    points.append(end)
    return points


def _town_radius(population: int) -> float:
    """How far the built-up area reaches: a village is a few hundred metres, Dijon kilometres."""
    return 200.0 + 9.0 * math.sqrt(max(population, 0))


def _line_parts(geometries: Any) -> tuple[list[Any], list[int]]:
    """The LineString pieces of clipped lines, with the index of the line each came from."""
    parts, owners = shapely.get_parts(geometries, return_index=True)
    keep = (shapely.get_type_id(parts) == 1) & (shapely.length(parts) > 1.0)
    return list(parts[keep]), owners[keep].tolist()


# --------------------------------------------------------------------------- equipment data

CONTROLLER_MODELS = ("Signalis CX-400", "Signalis CX-600", "Feuvert MC-22", "Trafikon TK-8")
CAMERA_MODELS = ("Optiview D-210", "Optiview D-410", "Panora PTZ-32", "Vigicam V8")
VEHICLE_TYPES: tuple[tuple[str, float, str], ...] = (
    ("van", 34, "Fourgon"),
    ("car", 20, "Voiture"),
    ("truck", 12, "Camion"),
    ("bucket_truck", 8, "Nacelle"),
    ("street_sweeper", 8, "Balayeuse"),
    ("gritter", 7, "Saleuse"),
    ("motorbike", 4, "Moto"),
    ("bicycle", 7, "Vélo"),
)
FUELS: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {
    "van": (("diesel", "electric", "gas"), (6, 3, 1)),
    "car": (("electric", "hybrid", "petrol"), (5, 3, 2)),
    "truck": (("diesel", "gas"), (4, 1)),
    "bucket_truck": (("diesel", "electric"), (4, 1)),
    "street_sweeper": (("diesel", "electric", "gas"), (3, 2, 1)),
    "gritter": (("diesel",), (1,)),
    "motorbike": (("petrol", "electric"), (1, 1)),
    "bicycle": (("muscle", "electric"), (1, 1)),
}
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTVWXYZ"
BUILDING_TYPES: tuple[tuple[str, float], ...] = (
    ("school", 32),
    ("nursery", 9),
    ("gymnasium", 12),
    ("library", 7),
    ("museum", 3),
    ("office", 8),
    ("depot", 4),
    ("cultural", 10),
    ("social", 10),
    ("other", 5),
)
CITY_FIRST_BUILDINGS = ("depot", "museum", "museum", "library", "museum")
BUILDING_KINDS = [kind for kind, _ in BUILDING_TYPES]
BUILDING_WEIGHTS = [weight for _, weight in BUILDING_TYPES]
SUPERVISION: dict[str, list[str]] = {
    "town_hall": ["fire", "intrusion", "access_control"],
    "school": ["fire", "intrusion"],
    "nursery": ["fire", "intrusion", "access_control"],
    "gymnasium": ["fire", "intrusion"],
    "library": ["fire", "intrusion"],
    "museum": ["fire", "intrusion", "access_control"],
    "office": ["fire", "access_control"],
    "depot": ["fire", "intrusion", "access_control"],
    "cultural": ["fire", "intrusion"],
    "social": ["fire"],
    "other": ["fire"],
}
MUSEUMS = _names(
    """
    Musée des Beaux-Arts, Musée archéologique, Musée de la Vie bourguignonne, Musée d'Art sacré,
    Muséum d'histoire naturelle, Musée Magnin
    """
)
NURSERIES = _names(
    """
    Les Petits Loups, Les Lutins, Les Coccinelles, Les Marmousets, Pomme d'Api, Les Libellules,
    Les P'tits Mômes, Arc-en-ciel
    """
)
SENSOR_PLAN: tuple[tuple[str, str, float, str], ...] = (
    # subtype, reference prefix, share, maintainer
    ("parking", "PARK", 0.27, LEAD_CONTRACTOR),
    ("delivery_bay", "DLV", 0.15, LEAD_CONTRACTOR),
    ("air_quality", "AIR", 0.07, "metropole-environment"),
    ("ev_charger", "EV", 0.20, "metropole-roads"),
    ("noise", "NOISE", 0.07, "metropole-environment"),
    ("weather", "WTHR", 0.04, "metropole-environment"),
    ("flood", "FLOOD", 0.05, "metropole-roads"),
    ("traffic_counter", "TRAF", 0.15, LEAD_CONTRACTOR),
)
SENSOR_LABELS = {
    "parking": "Capteur de stationnement",
    "delivery_bay": "Aire de livraison",
    "air_quality": "Station qualité de l'air",
    "ev_charger": "Borne de recharge",
    "noise": "Sonomètre",
    "weather": "Station météo",
    "flood": "Capteur de crue",
    "traffic_counter": "Compteur routier",
}
CABINET_SIZES_KVA = (3, 6, 9, 12, 18, 24, 36, 48, 60, 90, 120, 250, 500, 1000)


_DAYS: dict[int, str] = {}


def _day(rng: random.Random, first_year: int, last_year: int) -> str:
    """An ISO date in the given years (strings are what an importer reads from a file)."""
    start = date(first_year, 1, 1).toordinal()
    span = date(last_year, 12, 31).toordinal() - start + 1
    ordinal = start + int(rng.random() * span)
    text = _DAYS.get(ordinal)
    if text is None:
        text = _DAYS.setdefault(ordinal, date.fromordinal(ordinal).isoformat())
    return text


# --------------------------------------------------------------------------- builder


class _Builder:
    """Holds the shared state of one build; each method lays out one layer of the metropolis."""

    def __init__(
        self,
        seeds: list[CommuneSeed],
        plane: LocalPlane,
        scale: float,
        seed: int,
        report: Report,
    ) -> None:
        self.seeds = seeds
        self.plane = plane
        self.scale = scale
        self.seed = seed
        self.report = report
        self.mx = plane.metres_per_degree_lon
        self.my = METRES_PER_DEGREE_LAT
        self.counts = planned_counts(scale, len(seeds))
        self.places: list[_Place] = []
        self.streets: list[SyntheticStreet] = []
        self.city = max(range(len(seeds)), key=lambda i: (seeds[i].population, -i))

    def rng(self, *parts: str) -> random.Random:
        return _rng(self.seed, *parts)

    # -- coordinates

    def to_plane(self, geometry: Any) -> Any:
        lon0, lat0, mx, my = self.plane.lon0, self.plane.lat0, self.mx, self.my
        return shapely.transform(geometry, lambda c: (c - [lon0, lat0]) * [mx, my])

    def to_lonlat(self, geometry: Any) -> Any:
        lon0, lat0, mx, my = self.plane.lon0, self.plane.lat0, self.mx, self.my
        return shapely.transform(geometry, lambda c: c / [mx, my] + [lon0, lat0])

    def lonlat(self, xy: XY) -> tuple[float, float]:
        lon, lat = self.plane.to_lonlat(*xy)
        return round(lon, ROUNDING), round(lat, ROUNDING)

    # -- the whole build

    def build(self, boundaries: Sequence[Commune] | None) -> SyntheticMetropolis:
        self.report("Communes", 0, 1)
        self.places = self.place_communes(boundaries)
        self.report("Communes", 1, 1)
        self.lay_streets()
        organisations = self.organisations()
        assets = self.equipment()
        communes = [
            Commune(
                insee=p.insee,
                name=p.seed.name,
                population=p.seed.population,
                boundary=p.boundary,
                area_km2=area_km2(p.boundary),
                centre=p.centre,
            )
            for p in self.places
        ]
        return SyntheticMetropolis(communes, organisations, self.streets, assets)

    def place_communes(self, boundaries: Sequence[Commune] | None) -> list[_Place]:
        sites = [self.plane.to_xy(s.lon, s.lat) for s in self.seeds]
        if boundaries is None:
            cells = self.generate_cells(sites)
            lonlat = list(self.to_lonlat(cells))
            given_centres: list[tuple[float, float] | None] = [None] * len(self.seeds)
        else:
            by_code = {c.insee: c for c in boundaries}
            missing = [s.insee for s in self.seeds if s.insee not in by_code]
            if missing:
                raise ValueError(f"no boundary given for communes {', '.join(missing)}")
            lonlat = [by_code[s.insee].boundary for s in self.seeds]
            cells = list(self.to_plane(lonlat))
            given_centres = [by_code[s.insee].centre for s in self.seeds]
        places = []
        for seed, site, cell, boundary, given in zip(
            self.seeds, sites, cells, lonlat, given_centres, strict=True
        ):
            inner = cell.buffer(-BORDER_MARGIN_M)
            deep = cell.buffer(-DEEP_MARGIN_M)
            if inner.is_empty:
                raise ValueError(f"commune {seed.insee} is too small to hold any equipment")
            if deep.is_empty:
                deep = inner
            shapely.prepare(inner)
            shapely.prepare(deep)
            candidates = [site]
            if given is not None:
                candidates.append(self.plane.to_xy(*given))
            anchor = next((c for c in candidates if deep.contains(Point(c))), None)
            if anchor is None:
                point = deep.representative_point()
                anchor = (float(point.x), float(point.y))
            if given is not None:
                centre = given
            elif cell.contains(Point(site)):
                centre = (seed.lon, seed.lat)
            else:
                centre = self.lonlat(anchor)
            places.append(
                _Place(
                    seed, cell, inner, deep, anchor, boundary, centre, _town_radius(seed.population)
                )
            )
        return places

    def generate_cells(self, sites: list[XY]) -> list[Any]:
        known = [s.area_km2 for s in self.seeds if s.area_km2 is not None and s.area_km2 > 0]
        fallback = statistics.median(known) if known else 10.0
        targets = [
            (s.area_km2 if s.area_km2 is not None and s.area_km2 > 0 else fallback) * 1e6
            for s in self.seeds
        ]
        outline = _outline(sites, sum(targets), self.rng("outline"))
        scale_to_outline = float(outline.area) / sum(targets)
        return _power_cells(sites, [t * scale_to_outline for t in targets], outline)

    # -- streets

    def lay_streets(self) -> None:
        light_shares = self.light_weights()
        reference_lights = _apportion(REFERENCE_COUNTS[AssetKind.STREETLIGHT], light_shares, 1)
        roads = self.main_roads()
        road_lines = [LineString(points) for points, _, _ in roads]
        total = len(self.places)
        for index, place in enumerate(self.places):
            self.report("Streets", index, total)
            namer = _StreetNamer(self.rng("names", place.insee))
            main_lines: list[Any] = []
            main_names: list[str] = []
            if road_lines:
                for line, (_, a, b) in zip(road_lines, roads, strict=True):
                    if place.cell.intersects(line):
                        main_lines.append(line)
                        main_names.append(self.road_name(index, a, b))
            if index == self.city:
                extra_lines, extra_names = self.city_avenues(place)
                main_lines += extra_lines
                main_names += extra_names
            self.add_streets(place, main_lines, main_names, main=True)
            target = reference_lights[index] * LIGHT_SPACING_M
            local_target = max(target - place.street_length, 0.3 * target)
            # Every piece of a grid line keeps the line's name, as an interrupted street does.
            line_names: dict[int, tuple[str, str]] = {}
            local_lines, local_names = [], []
            for street in self.local_grid(place, local_target):
                if street.grid_line not in line_names:
                    line_names[street.grid_line] = namer.street(outer=street.outer)
                name, body = line_names[street.grid_line]
                if street.outer and float(street.line.length) < 150.0:
                    name = f"Impasse {body}"
                local_lines.append(street.line)
                local_names.append(name)
            self.add_streets(place, local_lines, local_names, main=False)
            if not place.lines:
                self.add_fallback_street(place)
        self.report("Streets", total, total)

    def add_streets(self, place: _Place, lines: list[Any], names: list[str], main: bool) -> None:
        """Clip raw streets to the commune (published) and to its inner margin (for equipment)."""
        if not lines:
            return
        category = "main" if main else "local"
        shown, owners = _line_parts(shapely.intersection(lines, place.cell))
        for part, owner in zip(shown, owners, strict=True):
            coords = self.to_lonlat(part).coords
            line = tuple((round(x, ROUNDING), round(y, ROUNDING)) for x, y in coords)
            self.streets.append(SyntheticStreet(place.insee, names[owner], category, line))
        usable, owners = _line_parts(shapely.intersection(lines, place.inner))
        place.add_lines(usable, [names[o] for o in owners], main)

    def add_fallback_street(self, place: _Place) -> None:
        """A commune too small for a grid still gets one street through its centre."""
        x, y = place.anchor
        line = LineString([(x - 100.0, y), (x + 100.0, y)])
        self.add_streets(place, [line], ["Rue de la Mairie"], main=False)
        if not place.lines:
            raise ValueError(f"commune {place.insee} is too small to hold a street")

    def light_weights(self) -> list[float]:
        population = sum(p.seed.population for p in self.places) or 1
        area = sum(float(p.cell.area) for p in self.places) or 1.0
        share = LIGHTS_POPULATION_SHARE
        return [
            share * p.seed.population / population + (1 - share) * float(p.cell.area) / area
            for p in self.places
        ]

    def main_roads(self) -> list[tuple[list[XY], int, int]]:
        """Roads between neighbouring town centres, along the edges of a Delaunay triangulation.

        Edges much longer than usual run along the rim of the metropolis, where no such road
        exists; they are left out.
        """
        anchors = [p.anchor for p in self.places]
        if len(anchors) < 2:
            return []
        if len(anchors) == 2:
            pairs = [(0, 1)]
        else:
            edges = shapely.get_parts(shapely.delaunay_triangles(MultiPoint(anchors), 0, True))
            pairs = []
            for edge in edges:
                ends = list(edge.coords)
                ij = sorted(
                    min(range(len(anchors)), key=lambda k: math.dist(e, anchors[k])) for e in ends
                )
                pairs.append((ij[0], ij[1]))
            pairs = sorted(set(pairs))
            lengths = [math.dist(anchors[i], anchors[j]) for i, j in pairs]
            limit = 2.0 * statistics.median(lengths)
            pairs = [pair for pair, length in zip(pairs, lengths, strict=True) if length <= limit]
        rng = self.rng("roads")
        return [(_curved_road(rng, anchors[i], anchors[j]), i, j) for i, j in pairs]

    def road_name(self, here: int, a: int, b: int) -> str:
        kind = "Avenue" if here == self.city else "Route"
        names = [self.places[a].seed.name, self.places[b].seed.name]
        if here == a:
            return f"{kind} {_of(names[1])}"
        if here == b:
            return f"{kind} {_of(names[0])}"
        return f"Route {_of(names[0])} à {names[1]}"

    def city_avenues(self, place: _Place) -> tuple[list[Any], list[str]]:
        """The city's radial avenues and its ring of boulevards around the old town."""
        rng = self.rng("avenues")
        x0, y0 = place.anchor
        radius = place.town_radius
        lines: list[Any] = []
        names: list[str] = []
        radial_names = list(RADIAL_NAMES)
        rng.shuffle(radial_names)
        base = rng.uniform(0.0, math.tau)
        for k in range(8):
            angle = base + k * math.tau / 8 + rng.uniform(-0.15, 0.15)
            points = []
            for step in range(9):
                r = 250.0 + step * (1.4 * radius - 250.0) / 8
                bend = angle + rng.uniform(-0.03, 0.03)
                points.append((x0 + r * math.cos(bend), y0 + r * math.sin(bend)))
            lines.append(LineString(points))
            names.append(radial_names[k % len(radial_names)])
        ring_radius = 0.22 * radius
        ring = []
        for step in range(72):
            angle = step * math.tau / 72
            r = ring_radius * (1.0 + 0.08 * math.sin(3 * angle + base))
            ring.append((x0 + r * math.cos(angle), y0 + r * math.sin(angle)))
        ring_names = list(RING_NAMES)
        rng.shuffle(ring_names)
        for k in range(6):
            arc = ring[k * 12 : k * 12 + 13] if k < 5 else [*ring[60:], ring[0]]
            lines.append(LineString(arc))
            names.append(ring_names[k])
        return lines, names

    def local_grid(self, place: _Place, target_length: float) -> list[_LocalStreet]:
        """Local streets whose spacing is tuned so the usable length meets the target.

        The generator is reseeded at each try, so mostly the spacing changes between tries; a
        village's few streets make the length jumpy, so the closest try wins.
        """
        radius = place.town_radius
        disc = Point(place.anchor).buffer(radius, quad_segs=16).intersection(place.inner)
        area = max(float(disc.area), 1.0)
        spacing = min(max(2.0 * area / (1.8 * max(target_length, 1.0)), 35.0), 800.0)
        best: tuple[float, list[_LocalStreet]] = (math.inf, [])
        for _ in range(4):
            rng = self.rng("grid", place.insee)
            streets: list[_LocalStreet] = []
            for region, angle in _quarters(rng, place.anchor, radius):
                first = streets[-1].grid_line + 1 if streets else 0
                streets += _grid(rng, place.anchor, radius, spacing, angle, region, first)
            if not streets:
                break
            clipped = shapely.intersection([s.line for s in streets], place.inner)
            ratio = float(sum(shapely.length(clipped).tolist())) / max(target_length, 1.0)
            if abs(ratio - 1.0) < best[0]:
                best = (abs(ratio - 1.0), streets)
            new_spacing = min(max(spacing * ratio, 35.0), 800.0)
            if abs(ratio - 1.0) < 0.05 or ratio == 0.0 or new_spacing == spacing:
                break
            spacing = new_spacing
        return best[1]

    # -- organisations

    def organisations(self) -> list[Organisation]:
        metro = OrganisationKind.METROPOLITAN_SERVICE
        contractor = OrganisationKind.CONTRACTOR
        public, private = Sector.PUBLIC, Sector.PRIVATE
        orgs = [
            Organisation("metropole-command-post", "Poste de pilotage connecté", metro, public),
            Organisation(
                "metropole-roads", "Direction de l'espace public et de la voirie", metro, public
            ),
            Organisation("metropole-green-spaces", "Direction des espaces verts", metro, public),
            Organisation("metropole-buildings", "Direction du patrimoine bâti", metro, public),
            Organisation("metropole-fleet", "Service du parc de véhicules", metro, public),
            Organisation("metropole-it", "Direction du numérique", metro, public),
            Organisation(
                "metropole-environment", "Service environnement et qualité de l'air", metro, public
            ),
            Organisation(LEAD_CONTRACTOR, "Ordival Infrastructures", contractor, private),
            Organisation(LIGHTING_COMPANY, "Lucerna Éclairage Public", contractor, private),
            Organisation(OPERATOR_COMPANY, "Vigilis Opérations Urbaines", contractor, private),
            Organisation(IT_COMPANY, "Numélia Systèmes", contractor, private),
        ]
        for place in self.places:
            orgs.append(
                Organisation(
                    f"commune-{place.insee.lower()}",
                    f"Services techniques {_of(place.seed.name)}",
                    OrganisationKind.COMMUNE_SERVICE,
                    public,
                    commune_insee=place.insee,
                )
            )
        return orgs

    # -- equipment

    def equipment(self) -> list[AssetDraft]:
        steps = ("lights", "buildings", "junctions", "cameras", "bollards", "vehicles", "sensors")
        assets: list[AssetDraft] = []
        lights = self.lighting()
        assets += lights
        self.report("Equipment", 1, len(steps))
        buildings = self.buildings()
        assets += buildings
        self.report("Equipment", 2, len(steps))
        junctions = self.junctions()
        assets += junctions
        self.report("Equipment", 3, len(steps))
        assets += self.cameras(junctions, buildings)
        self.report("Equipment", 4, len(steps))
        assets += self.bollards(buildings)
        self.report("Equipment", 5, len(steps))
        assets += self.vehicles(buildings)
        self.report("Equipment", 6, len(steps))
        assets += self.sensors(junctions, buildings)
        self.report("Equipment", 7, len(steps))
        return assets

    def draft(
        self,
        ref: str,
        kind: AssetKind,
        xy: XY,
        attributes: dict[str, Any],
        maintainer: str,
        *,
        name: str | None = None,
        parent: str | None = None,
        subtype: str | None = None,
    ) -> AssetDraft:
        lon, lat = self.lonlat(xy)
        return AssetDraft(
            external_ref=ref,
            kind=kind,
            lon=lon,
            lat=lat,
            attributes=attributes,
            maintainer=maintainer,
            parent_ref=parent,
            subtype=subtype,
            name=name,
            status=AssetStatus.OK,
            where=ref,
        )

    def lighting(self) -> list[AssetDraft]:
        """Lights evenly along every street, cabinets evenly among them, each light to the
        nearest cabinet of its commune (an STR-tree query, not a scan)."""
        light_counts = _apportion(self.counts[AssetKind.STREETLIGHT], self.light_weights(), 1)
        cabinet_counts = _apportion(self.counts[AssetKind.LIGHTING_CABINET], light_counts, 1)
        cabinets: list[AssetDraft] = []
        lights: list[AssetDraft] = []
        total = len(self.places)
        for index, place in enumerate(self.places):
            self.report("Street lights", index, total)
            rng = self.rng("lights", place.insee)
            n_lights, n_cabinets = light_counts[index], cabinet_counts[index]
            length = place.street_length
            step = length / n_lights
            light_at = [(k + 0.5 + rng.uniform(-0.2, 0.2)) * step for k in range(n_lights)]
            cabinet_step = length / n_cabinets
            cabinet_at = [(k + 0.5) * cabinet_step for k in range(n_cabinets)]
            light_xy, light_line = self.along_streets(place, light_at)
            cabinet_xy, cabinet_line = self.along_streets(place, cabinet_at)
            tree = shapely.STRtree(shapely.points(cabinet_xy))
            found = tree.query_nearest(shapely.points(light_xy), all_matches=False)
            parent = [0] * n_lights
            for light, cabinet in zip(found[0].tolist(), found[1].tolist(), strict=True):
                parent[light] = cabinet
            cabinet_refs = [f"CAB-{place.insee}-{k + 1:04d}" for k in range(n_cabinets)]
            children = [0] * n_cabinets
            load_w = [0.0] * n_cabinets
            lon0, lat0, mx, my = self.plane.lon0, self.plane.lat0, self.mx, self.my
            for k, (x, y) in enumerate(light_xy):
                attributes = _light_attributes(rng, place.line_main[light_line[k]])
                cabinet = parent[k]
                children[cabinet] += 1
                load_w[cabinet] += attributes["nominal_power_w"]
                ref = f"SL-{place.insee}-{k + 1:05d}"
                lights.append(  # built inline rather than through draft(): 340,000 at scale 10
                    AssetDraft(
                        external_ref=ref,
                        kind=AssetKind.STREETLIGHT,
                        lon=round(lon0 + x / mx, ROUNDING),
                        lat=round(lat0 + y / my, ROUNDING),
                        attributes=attributes,
                        maintainer=LIGHTING_COMPANY,
                        parent_ref=cabinet_refs[cabinet],
                        status=AssetStatus.OK,
                        where=ref,
                    )
                )
            cabinet_rng = self.rng("cabinets", place.insee)
            for k in range(n_cabinets):
                need_kva = load_w[k] * 1.25 / 1000 / 0.9
                kva = next((s for s in CABINET_SIZES_KVA if s >= need_kva), 1000)
                attributes = {
                    "circuit_count": min(max(math.ceil(children[k] / 12), 1), 64),
                    "max_power_kva": float(kva),
                    "remote_managed": cabinet_rng.random() < 0.93,
                    "meter_ref": f"PDL-{cabinet_rng.randrange(10**13, 10**14)}",
                    "install_date": _day(cabinet_rng, 2005, 2023),
                }
                street = place.line_names[cabinet_line[k]]
                cabinets.append(
                    self.draft(
                        cabinet_refs[k],
                        AssetKind.LIGHTING_CABINET,
                        cabinet_xy[k],
                        attributes,
                        LIGHTING_COMPANY,
                        name=f"Armoire {street}",
                    )
                )
        self.report("Street lights", total, total)
        return cabinets + lights

    def along_streets(self, place: _Place, distances: list[float]) -> tuple[list[XY], list[int]]:
        """Points at distances along the commune's whole network, interpolated in one GEOS call."""
        lines: list[int] = []
        local: list[float] = []
        ends = place.ends
        index = 0
        for distance in distances:  # ascending, so one forward walk over the pieces suffices
            while index < len(ends) - 1 and distance > ends[index]:
                index += 1
            lines.append(index)
            local.append(distance - (ends[index - 1] if index else 0.0))
        geometries = [place.lines[i] for i in lines]
        points = shapely.line_interpolate_point(geometries, local)
        coords = shapely.get_coordinates(points).tolist()
        return [(c[0], c[1]) for c in coords], lines

    def buildings(self) -> list[AssetDraft]:
        """One town hall per commune (largest first when the budget is short), then public
        buildings in proportion to population. The city's first one is the metropolitan depot,
        where the fleet is based: it is kept even when the budget is short, from two buildings.
        """
        total = self.counts[AssetKind.BUILDING]
        order = sorted(range(len(self.places)), key=lambda i: (-self.places[i].seed.population, i))
        with_hall = set(order[: min(len(order), total - 1) if total > 1 else total])
        rest = (
            _apportion(total - len(with_hall), [p.seed.population for p in self.places])
            if total > len(with_hall)
            else [0] * len(self.places)
        )
        drafts: list[AssetDraft] = []
        for index, place in enumerate(self.places):
            rng = self.rng("buildings", place.insee)
            namer = _StreetNamer(self.rng("building-names", place.insee))
            kinds: list[str] = []
            if index in with_hall:
                kinds.append("town_hall")
            # The city has the metropolitan depot and the museums; every town has a school.
            first = CITY_FIRST_BUILDINGS if index == self.city else ("school",)
            for k in range(rest[index]):
                if k < len(first):
                    kind = first[k]
                else:
                    kind = rng.choices(BUILDING_KINDS, BUILDING_WEIGHTS)[0]
                if kind == "museum" and index != self.city:
                    kind = "cultural"
                kinds.append(kind)
            depot = "métropolitain" if index == self.city else _of(place.seed.name)
            first_names = {"museum": iter(MUSEUMS), "depot": iter([f"Centre technique {depot}"])}
            for number, kind in enumerate(kinds, start=1):
                if kind == "town_hall":
                    xy = place.near(rng, place.anchor, 5.0, 20.0, place.deep)
                    line = int(shapely.STRtree(place.lines).nearest(Point(xy)))
                else:
                    street_xy, line = place.street_point(
                        rng, within=0.8 * place.town_radius, main=False
                    )
                    xy = place.setback(rng, street_xy, line, rng.uniform(10.0, 20.0))
                name = self.building_name(kind, place, namer, rng, first_names)
                address = f"{rng.randint(1, 120)} {place.line_names[line]}, {place.seed.name}"
                attributes: dict[str, Any] = {
                    "building_type": kind,
                    "supervision": list(SUPERVISION[kind]),
                    "floors": 2 if kind == "town_hall" else rng.randint(1, 4),
                    "address": address[:200],
                    "install_date": _day(rng, 1960, 2022),
                }
                drafts.append(
                    self.draft(
                        f"BLD-{place.insee}-{number:03d}",
                        AssetKind.BUILDING,
                        xy,
                        attributes,
                        "metropole-buildings",
                        name=name,
                    )
                )
        return drafts

    def building_name(
        self,
        kind: str,
        place: _Place,
        namer: _StreetNamer,
        rng: random.Random,
        first_names: dict[str, Iterator[str]],
    ) -> str:
        town = place.seed.name
        person = namer.body()
        if kind == "town_hall":
            if place is self.places[self.city]:
                return f"Hôtel de ville {_of(town)}"
            return f"Mairie {_of(town)}"
        if kind == "school":
            level = rng.choice(("élémentaire", "maternelle", "primaire"))
            return f"École {level} {person}"
        if kind == "nursery":
            return f"Crèche {rng.choice(NURSERIES)}"
        if kind == "gymnasium":
            return f"Gymnase {person}"
        if kind == "library":
            return f"Médiathèque {person}"
        if kind == "museum":
            return next(first_names["museum"], f"Musée {person}")
        if kind == "office":
            return f"Centre administratif {person}"
        if kind == "depot":
            return next(first_names["depot"], f"Dépôt {person}")
        if kind == "cultural":
            kind_name = rng.choice(("Centre culturel", "Salle des fêtes", "Espace"))
            return f"{kind_name} {person}"
        if kind == "social":
            kind_name = rng.choice(("Centre social", "Maison des seniors", "Maison de quartier"))
            return f"{kind_name} {person}"
        return f"Salle polyvalente {person}"

    def junctions(self) -> list[AssetDraft]:
        """Signalised junctions where main roads cross streets, mostly in the city."""
        weights = [p.seed.population**1.2 for p in self.places]
        counts = _apportion(self.counts[AssetKind.TRAFFIC_JUNCTION], weights)
        drafts: list[AssetDraft] = []
        for index, place in enumerate(self.places):
            if not counts[index]:
                continue
            rng = self.rng("junctions", place.insee)
            chosen = self.junction_sites(place, counts[index], rng)
            population = place.seed.population
            bus_share = 0.65 if index == self.city else 0.35 if population > 8000 else 0.1
            for xy, label, main_crossing in chosen:
                approaches = rng.choice((4, 4, 5)) if main_crossing else rng.choice((3, 4))
                crossings = approaches if rng.random() < 0.8 else approaches - 1
                attributes = {
                    "controller_model": rng.choice(CONTROLLER_MODELS),
                    "signal_heads": min(approaches * rng.randint(2, 3) + 2 * crossings, 200),
                    "approaches": approaches,
                    "pedestrian_crossings": crossings,
                    "bus_priority": rng.random() < bus_share,
                    "install_date": _day(rng, 1995, 2023),
                }
                drafts.append(
                    self.draft(
                        f"JCT-{len(drafts) + 1:04d}",
                        AssetKind.TRAFFIC_JUNCTION,
                        xy,
                        attributes,
                        LEAD_CONTRACTOR,
                        name=f"Carrefour {label}",
                    )
                )
        return drafts

    def junction_sites(
        self, place: _Place, count: int, rng: random.Random
    ) -> list[tuple[XY, str, bool]]:
        """Crossings of a main road with another street, spread out, nearest the centre first."""
        main = [i for i, is_main in enumerate(place.line_main) if is_main]
        candidates: list[tuple[float, XY, str, bool]] = []
        if main:
            tree = shapely.STRtree(place.lines)
            left, right = tree.query([place.lines[i] for i in main], predicate="intersects")
            pairs = []
            for a, b in zip(left.tolist(), right.tolist(), strict=True):
                i = main[a]
                if b != i and not (place.line_main[b] and b < i):
                    pairs.append((i, b))
            if pairs:
                hits = shapely.intersection(
                    [place.lines[i] for i, _ in pairs], [place.lines[j] for _, j in pairs]
                )
                parts, owners = shapely.get_parts(hits, return_index=True)
                is_point = shapely.get_type_id(parts) == 0
                points = parts[is_point]
                owners = owners[is_point].tolist()
                coords = shapely.get_coordinates(points).tolist()
                inside = (
                    shapely.contains_xy(place.deep, *zip(*coords, strict=True)) if coords else []
                )
                for (x, y), owner, ok in zip(coords, owners, list(inside), strict=True):
                    if not ok:
                        continue
                    i, j = pairs[owner]
                    both_main = place.line_main[j]
                    if place.line_names[i] == place.line_names[j]:
                        continue
                    score = math.dist((x, y), place.anchor) * (0.5 if both_main else 1.0)
                    score *= rng.uniform(0.7, 1.3)
                    label = f"{place.line_names[i]} / {place.line_names[j]}"
                    candidates.append((score, (x, y), label, both_main))
        candidates.sort(key=lambda c: c[0])
        chosen: list[tuple[XY, str, bool]] = []
        for separation in (150.0, 80.0, 30.0, 0.0):
            for _, xy, label, both_main in candidates:
                if len(chosen) >= count:
                    break
                if all(math.dist(xy, c[0]) >= separation for c in chosen) and (
                    separation > 0 or all(xy != c[0] for c in chosen)
                ):
                    chosen.append((xy, label, both_main))
            if len(chosen) >= count:
                break
        while len(chosen) < count:
            xy, line = place.street_point(rng, within=0.5 * place.town_radius, region=place.deep)
            chosen.append((xy, place.line_names[line], False))
        return chosen

    def cameras(self, junctions: list[AssetDraft], buildings: list[AssetDraft]) -> list[AssetDraft]:
        """Cameras on junction masts, at public buildings and over town centres."""
        weights = [float(p.seed.population) for p in self.places]
        counts = _apportion(self.counts[AssetKind.CAMERA], weights)
        by_commune_j = self.group(junctions)
        by_commune_b = self.group(buildings)
        drafts: list[AssetDraft] = []
        for index, place in enumerate(self.places):
            rng = self.rng("cameras", place.insee)
            local_junctions = by_commune_j[index]
            local_buildings = by_commune_b[index]
            for _ in range(counts[index]):
                draw = rng.random()
                parent: AssetDraft | None = None
                if local_junctions and draw < 0.5:
                    parent = rng.choice(local_junctions)
                    camera_type = "ptz" if rng.random() < 0.45 else "fixed"
                elif local_buildings and draw < 0.65:
                    parent = rng.choice(local_buildings)
                    camera_type = "fixed"
                else:
                    camera_type = "ptz" if rng.random() < 0.3 else "fixed"
                if parent is not None:
                    origin = self.plane.to_xy(parent.lon, parent.lat)
                    xy = place.near(rng, origin, 6.0, 15.0, place.inner)
                    label = parent.name or parent.external_ref
                else:
                    xy, line = place.street_point(rng, within=0.35 * place.town_radius)
                    label = place.line_names[line]
                attributes: dict[str, Any] = {
                    "camera_type": camera_type,
                    "resolution": rng.choice(("1080p", "1080p", "4MP", "4K")),
                    "night_vision": rng.random() < 0.85,
                    "presets": rng.randint(8, 32) if camera_type == "ptz" else 0,
                    "model_name": rng.choice(CAMERA_MODELS),
                    "install_date": _day(rng, 2012, 2024),
                }
                drafts.append(
                    self.draft(
                        f"CAM-{len(drafts) + 1:04d}",
                        AssetKind.CAMERA,
                        xy,
                        attributes,
                        LEAD_CONTRACTOR,
                        name=f"Caméra {label}",
                        parent=parent.external_ref if parent is not None else None,
                    )
                )
        return drafts

    def group(self, drafts: list[AssetDraft]) -> list[list[AssetDraft]]:
        """Drafts per commune, found by point-in-polygon since drafts do not carry a commune."""
        groups: list[list[AssetDraft]] = [[] for _ in self.places]
        if not drafts:
            return groups
        xy = [self.plane.to_xy(d.lon, d.lat) for d in drafts]
        for index, place in enumerate(self.places):
            inside = shapely.contains_xy(place.cell, *zip(*xy, strict=True)).tolist()
            groups[index] = [d for d, ok in zip(drafts, inside, strict=True) if ok]
        return groups

    def bollards(self, buildings: list[AssetDraft]) -> list[AssetDraft]:
        """Retractable bollards closing the city's pedestrian centre, a few at other town halls."""
        total = self.counts[AssetKind.BOLLARD]
        in_city = max(1, round(total * 0.8)) if total > 1 else total
        others = sorted(
            (i for i in range(len(self.places)) if i != self.city),
            key=lambda i: (-self.places[i].seed.population, i),
        )
        halls = {
            d.external_ref.split("-")[1]: d
            for d in buildings
            if d.attributes.get("building_type") == "town_hall"
        }
        drafts: list[AssetDraft] = []
        city = self.places[self.city]
        rng = self.rng("bollards")
        for _ in range(in_city):
            xy, line = city.street_point(rng, within=600.0, main=False)
            street = city.line_names[line]
            drafts.append(self.bollard(len(drafts) + 1, xy, f"Accès {street}", rng, None))
        for k in range(total - in_city):
            place = self.places[others[k % len(others)]] if others else city
            hall = halls.get(place.insee)
            if hall is not None:
                origin = self.plane.to_xy(hall.lon, hall.lat)
                xy = place.near(rng, origin, 8.0, 20.0, place.inner)
                drafts.append(
                    self.bollard(len(drafts) + 1, xy, "Parvis de la mairie", rng, hall.external_ref)
                )
            else:
                xy, line = place.street_point(rng, within=300.0)
                drafts.append(
                    self.bollard(len(drafts) + 1, xy, f"Accès {place.line_names[line]}", rng, None)
                )
        return drafts

    def bollard(
        self, number: int, xy: XY, access: str, rng: random.Random, parent: str | None
    ) -> AssetDraft:
        attributes = {
            "bollard_type": "retractable",
            "access_point": access[:120],
            "default_position": "up",
            "install_date": _day(rng, 2008, 2023),
        }
        return self.draft(
            f"BOL-{number:03d}",
            AssetKind.BOLLARD,
            xy,
            attributes,
            LEAD_CONTRACTOR,
            name=f"Borne {access}",
            parent=parent,
        )

    def vehicles(self, buildings: list[AssetDraft]) -> list[AssetDraft]:
        """Service vehicles, most parked at a depot, the others out on the streets."""
        rng = self.rng("vehicles")
        depots = [d for d in buildings if d.attributes.get("building_type") == "depot"]
        if not depots:  # too few buildings for a depot: the fleet parks at the city's town hall
            city_hall = f"BLD-{self.places[self.city].insee}-001"
            depots = [d for d in buildings if d.external_ref == city_hall]
        depot_place = {d.external_ref: self.place_of(d) for d in depots}
        out_weights = [float(p.street_length) for p in self.places]
        plates: set[str] = set()
        drafts: list[AssetDraft] = []
        for number in range(1, self.counts[AssetKind.VEHICLE] + 1):
            vehicle_type, _, label = rng.choices(VEHICLE_TYPES, [w for _, w, _ in VEHICLE_TYPES])[0]
            fuels, fuel_weights = FUELS[vehicle_type]
            fuel = rng.choices(fuels, fuel_weights)[0]
            plate = _plate(rng)
            while plate in plates:
                plate = _plate(rng)
            plates.add(plate)
            depot = rng.choice(depots) if depots else None
            if depot is not None and rng.random() < 0.55:
                place = depot_place[depot.external_ref]
                origin = self.plane.to_xy(depot.lon, depot.lat)
                xy = place.near(rng, origin, 5.0, 40.0, place.inner)
            else:
                place = rng.choices(self.places, out_weights)[0]
                xy, _ = place.street_point(rng)
            attributes: dict[str, Any] = {
                "vehicle_type": vehicle_type,
                "fuel": fuel,
                "install_date": _day(rng, 2012, 2024),
            }
            if vehicle_type != "bicycle":
                attributes["registration"] = plate
            if depot is not None:
                attributes["home_base"] = (depot.name or depot.external_ref)[:120]
            name = f"{label} {plate}" if vehicle_type != "bicycle" else f"{label} n°{number}"
            drafts.append(
                self.draft(
                    f"VEH-{number:03d}",
                    AssetKind.VEHICLE,
                    xy,
                    attributes,
                    "metropole-fleet",
                    name=name,
                )
            )
        return drafts

    def place_of(self, draft: AssetDraft) -> _Place:
        xy = self.plane.to_xy(draft.lon, draft.lat)
        for place in self.places:
            if shapely.contains_xy(place.cell, *xy):
                return place
        return self.places[self.city]

    def sensors(self, junctions: list[AssetDraft], buildings: list[AssetDraft]) -> list[AssetDraft]:
        """Sensors of every subtype, where such a sensor would be: parking and delivery in
        town centres, counters on main roads, weather and flood spread over the territory."""
        total = self.counts[AssetKind.SENSOR]
        minimum = 1 if total >= len(SENSOR_PLAN) else 0
        per_subtype = _apportion(total, [share for _, _, share, _ in SENSOR_PLAN], minimum)
        population = [float(p.seed.population) for p in self.places]
        area = [float(p.cell.area) for p in self.places]
        by_commune_j = self.group(junctions)
        by_commune_b = self.group(buildings)
        drafts: list[AssetDraft] = []
        for (subtype, prefix, _, maintainer), count in zip(SENSOR_PLAN, per_subtype, strict=True):
            rng = self.rng("sensors", subtype)
            weights = area if subtype in ("weather", "flood") else population
            if subtype == "air_quality":
                weights = [math.sqrt(p) for p in population]
            for number in range(1, count + 1):
                index = rng.choices(range(len(self.places)), weights)[0]
                place = self.places[index]
                parent: AssetDraft | None = None
                if subtype == "traffic_counter" and by_commune_j[index] and rng.random() < 0.5:
                    parent = rng.choice(by_commune_j[index])
                elif subtype == "ev_charger" and by_commune_b[index] and rng.random() < 0.3:
                    parent = rng.choice(by_commune_b[index])
                if parent is not None:
                    origin = self.plane.to_xy(parent.lon, parent.lat)
                    xy = place.near(rng, origin, 8.0, 20.0, place.inner)
                    label = parent.name or parent.external_ref
                else:
                    within = (
                        0.4 * place.town_radius
                        if subtype in ("parking", "delivery_bay", "ev_charger", "noise")
                        else None
                    )
                    main = True if subtype in ("traffic_counter", "noise") else None
                    xy, line = place.street_point(rng, within=within, main=main)
                    label = place.line_names[line]
                attributes = _sensor_attributes(subtype, rng)
                drafts.append(
                    self.draft(
                        f"SEN-{prefix}-{number:04d}",
                        AssetKind.SENSOR,
                        xy,
                        attributes,
                        maintainer,
                        name=f"{SENSOR_LABELS[subtype]} {label}"[:200],
                        parent=parent.external_ref if parent is not None else None,
                        subtype=subtype,
                    )
                )
        return drafts


def _plate(rng: random.Random) -> str:
    """A French SIV registration such as ``GA-123-BC`` (no I, O or U)."""
    letters = "".join(rng.choice(PLATE_LETTERS) for _ in range(4))
    return f"{letters[:2]}-{rng.randint(1, 999):03d}-{letters[2:]}"


LED_BASELINE_W = {True: (150, 250), False: (70, 100, 100, 150)}  # the lamps LED replaced
LED_COLOUR_K = {True: (4000, 3000), False: (3000, 3000, 2700)}
HPS_POWER_W = {True: (150, 250), False: (70, 100, 150)}
MH_POWER_W = {True: (100, 150), False: (70, 100)}


def _pick(rng: random.Random, options: tuple[int, ...]) -> int:
    return options[int(rng.random() * len(options))]


def _light_attributes(rng: random.Random, main: bool) -> dict[str, Any]:
    """A lamp as the contract found or left it: about 70 % already converted to LED.

    Drawn with plain ``random()`` calls: this runs 340,000 times at scale 10.
    """
    draw = rng.random()
    mast = round((8.0 if main else 4.0) + 4.0 * rng.random(), 1)
    if draw < 0.70:
        baseline = _pick(rng, LED_BASELINE_W[main])
        power = min(max(5 * round(baseline * (0.3 + 0.15 * rng.random()) / 5), 20), 90)
        return {
            "lamp_technology": "LED",
            "nominal_power_w": float(power),
            "baseline_power_w": float(baseline),
            "mast_height_m": mast,
            "dimmable": True,
            "colour_temperature_k": _pick(rng, LED_COLOUR_K[main]),
            "install_date": _day(rng, 2016, 2024),
        }
    technology, powers = ("HPS", HPS_POWER_W) if draw < 0.92 else ("MH", MH_POWER_W)
    return {
        "lamp_technology": technology,
        "nominal_power_w": float(_pick(rng, powers[main])),
        "mast_height_m": mast,
        "dimmable": False,
        "install_date": _day(rng, 1990, 2014),
    }


def _sensor_attributes(subtype: str, rng: random.Random) -> dict[str, Any]:
    attributes: dict[str, Any] = {"install_date": _day(rng, 2018, 2024)}
    if subtype == "parking":
        car_park = rng.random() < 0.6
        attributes["bay_count"] = rng.randint(40, 600) if car_park else rng.randint(4, 20)
        attributes["reporting_interval_s"] = 60
    elif subtype == "delivery_bay":
        attributes["bay_count"] = rng.randint(1, 3)
        attributes["reporting_interval_s"] = 30
    elif subtype == "air_quality":
        pollutants = ["no2", "pm10", "pm2_5"]
        if rng.random() < 0.5:
            pollutants.append("o3")
        attributes["pollutants"] = pollutants
        attributes["reporting_interval_s"] = 900
    elif subtype == "ev_charger":
        attributes["connector_count"] = rng.choice((2, 2, 2, 4))
        attributes["max_power_kw"] = rng.choices((22.0, 50.0, 150.0), (7, 2, 1))[0]
        attributes["reporting_interval_s"] = 300
    elif subtype == "weather":
        attributes["reporting_interval_s"] = 600
    elif subtype == "flood":
        attributes["reporting_interval_s"] = 300
    else:
        attributes["reporting_interval_s"] = 60
    return attributes
