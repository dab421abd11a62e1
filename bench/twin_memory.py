"""Resident memory of the twin at scale 1 and scale 10. Target: ≤ 300 MB at scale 10.

The twin is what an ingest process keeps in memory between batches (``IngestPipeline``): the
asset directory (every asset's id, reference, kind, commune, maintainer, parent and status) and
the twin proper (every asset's last contact, status and latest value of each metric). For each
scale the synthetic metropolis is generated into a throw-away SQLite database; then fresh
subprocesses, each a clean interpreter, measure:

- fed: resident memory after imports and bootstrap (the baseline), after ``warm_up`` (the
  directory; a new database has no twin yet), then after one reading per asset, carrying every
  metric its kind reports, went through the real ingest pipeline in batches and the twin was
  flushed. A street light sends power, level, energy, burning hours, lamp failure and online;
  a cabinet power, energy, supply loss and door; a vehicle position, speed and heading; a
  sensor its subtype's metrics (as ``metropilot.simulate.telemetry`` has them);
- restart: a new worker's ``warm_up`` on that database, which loads every asset's twin from the
  twin tables and replays the last hour of raw readings, as after a crash;
- the same two again under tracemalloc (the fed run on a copy of the fresh database), for the
  Python allocations still alive after warm-up and feeding, by source line.

Resident memory is VmRSS of /proc/self/status (VmHWM for the peak). SQLite's own heap (its page
cache may grow to 64 MB a connection) is read from ``sqlite3_memory_used``, and the directory
and the twin are also sized object by object, to tell them from the interpreter, SQLAlchemy and
SQLite.

Usage: .venv/bin/python -m bench.twin_memory [--scales 1,10] [--quick] [--batch 5000]
       [--seed 1] [--no-tracemalloc]
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import importlib
import random
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

# bench.common imports metropilot.bootstrap: part of every worker's baseline anyway.
from bench.common import BENCH_ACTOR, git_revision, header, sqlite_platform
from metropilot.telemetry.services import IngestPipeline

REPO_ROOT = Path(__file__).resolve().parents[1]
TARGET_MB = 300.0
TARGET_SCALE = 10.0
MB = 2**20
RESULT_PREFIX = "RESULT "  # the line a measuring subprocess hands its figures back on
# Readings are stamped this long before the run: inside the last hour the platform replays into
# the twin on restart, and far enough back that no reading is refused as being in the future.
READINGS_AGE_MS = 20 * 60 * 1000
LAMP_FAILURE_EVERY = 3_000  # about what the simulator's failure rate leaves at any moment
CAMERA_OFFLINE_EVERY = 50
TOP_TRACED_LINES = 8


# --------------------------------------------------------------------------- measuring


@dataclass(frozen=True, slots=True)
class MemoryReading:
    rss: int  # bytes resident now (VmRSS)
    peak_rss: int  # high-water mark (VmHWM): since start for the baseline, since it after
    anon_rss: int  # RssAnon: heap and stacks, as opposed to mapped files such as libraries
    sqlite_heap: int  # sqlite3_memory_used(): page caches and statements, unseen by tracemalloc


def _sqlite_memory_used() -> int:
    # The symbol is resolved through the sqlite3 module's own extension, so this is the very
    # library (and the very allocation counters) the engine's connections use.
    extension = importlib.import_module("_sqlite3")
    try:
        memory_used = ctypes.CDLL(extension.__file__).sqlite3_memory_used
    except (OSError, AttributeError):
        return -1
    memory_used.restype = ctypes.c_int64
    return int(memory_used())


def read_memory() -> MemoryReading:
    # Garbage still waiting for a collection is nobody's steady-state memory.
    gc.collect()
    fields: dict[str, int] = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM", "RssAnon"):
            fields[name] = int(value.split()[0]) * 1024  # the kernel reports kB
    return MemoryReading(fields["VmRSS"], fields["VmHWM"], fields["RssAnon"], _sqlite_memory_used())


def reset_peak() -> None:
    """Start VmHWM again from the current RSS (Linux 4.0 and later), so that the peak reported is
    that of loading and feeding the twin, not of the imports and migrations (about 150 MB)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def release_free_heap() -> None:
    """Give the C heap's free pages back to the system (glibc): what remains resident after this
    is held, the difference was only freed and not yet returned."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to release
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class SizeTally:
    """Bytes and objects per part of a structure, each object counted once.

    Sizes are ``sys.getsizeof`` rounded up to pymalloc's 16-byte classes for small objects,
    which is what an object really occupies. Integers and strings may be shared (a reading's
    timestamp by all its metrics, an asset id by the directory and the twin), so they are counted
    at their first sighting only; containers, tuples and floats of the twin are never shared.
    """

    def __init__(self) -> None:
        self.bytes_by_part: Counter[str] = Counter()
        self.objects_by_part: Counter[str] = Counter()
        self._seen: set[int] = set()

    def add(self, part: str, obj: object) -> None:
        size = sys.getsizeof(obj)
        self.bytes_by_part[part] += (size + 15) // 16 * 16 if size <= 512 else size
        self.objects_by_part[part] += 1

    def add_shared(self, part: str, obj: object) -> None:
        if obj is None or (isinstance(obj, int) and -5 <= obj <= 256):
            return  # preallocated by the interpreter: costs the twin nothing
        if id(obj) in self._seen:
            return
        self._seen.add(id(obj))
        self.add(part, obj)

    def parts(self) -> dict[str, tuple[int, int]]:
        return {
            part: (self.objects_by_part[part], size) for part, size in self.bytes_by_part.items()
        }


def size_of_twin(pipeline: IngestPipeline) -> dict[str, tuple[int, int]]:
    """The directory and the twin, part by part: (objects, bytes)."""
    tally = SizeTally()
    directory = pipeline.directory
    # The directory's tables are private; the benchmark may look (bench/ingest.py does too).
    tally.add("directory: ref → info dict", directory._by_ref)
    tally.add("directory: id → info list", directory._by_id)
    for info in directory:
        tally.add("directory: AssetInfo objects", info)
        tally.add_shared("directory: id ints", info.id)
        tally.add_shared("directory: external_ref strs", info.external_ref)
        tally.add_shared("directory: kind, commune, status strs", info.kind)
        tally.add_shared("directory: kind, commune, status strs", info.commune)
        tally.add_shared("directory: kind, commune, status strs", info.status)
        tally.add_shared("directory: maintainer, parent ints", info.maintainer_id)
        tally.add_shared("directory: maintainer, parent ints", info.parent_id)
    twin = pipeline.twin
    tally.add("twin: per-asset arrays (row, last seen)", twin.row_index)
    tally.add("twin: per-asset arrays (row, last seen)", twin.last_seen)
    tally.add("twin: per-asset status lists", twin.status)
    tally.add("twin: per-asset status lists", twin.derived)
    for columns in twin.columns.values():
        tally.add("twin: column dicts", columns)
        for values, times in columns.values():
            tally.add("twin: value and time columns", values)
            tally.add("twin: value and time columns", times)
    return tally.parts()


def top_traced_lines(snapshot: tracemalloc.Snapshot) -> list[tuple[str, int, int]]:
    """Where the live traced memory was allocated: (file:line, bytes, blocks), largest first."""
    lines = []
    for stat in snapshot.statistics("lineno")[:TOP_TRACED_LINES]:
        frame = stat.traceback[0]
        filename = frame.filename
        for marker in ("/site-packages/", "/src/", "/lib/python3"):
            if marker in filename:
                filename = filename.split(marker, 1)[1]
                break
        lines.append((f"{filename}:{frame.lineno}", stat.size, stat.count))
    return lines


# --------------------------------------------------------------------------- the subprocesses


def reading_for(
    ref: str,
    kind: str,
    subtype: str | None,
    lon: float,
    lat: float,
    attributes: dict[str, Any],
    serial: int,
    ts: str,
    rng: random.Random,
) -> dict[str, Any]:
    """One reading carrying every metric an asset of this kind reports (the simulator's sets)."""
    metrics: dict[str, Any]
    if kind == "streetlight":
        metrics = {
            "power_w": round(rng.uniform(18.0, 90.0), 1),
            "light_level_pct": rng.choice((50.0, 100.0)),
            "energy_wh": round(rng.uniform(1e5, 2e6), 1),
            "operating_hours": round(rng.uniform(500.0, 40_000.0), 2),
            "lamp_failure": serial % LAMP_FAILURE_EVERY == 0,
            "online": True,
        }
    elif kind == "lighting_cabinet":
        metrics = {
            "power_w": round(rng.uniform(500.0, 3_000.0), 1),
            "energy_wh": round(rng.uniform(1e6, 5e7), 1),
            "supply_loss": False,
            "door_open": False,
        }
    elif kind == "traffic_junction":
        metrics = {"online": True, "controller_fault": False}
    elif kind == "camera":
        metrics = {"online": serial % CAMERA_OFFLINE_EVERY != 0}
    elif kind == "building":
        metrics = {"online": True, "intrusion": False, "fire": False, "door_open": False}
    elif kind == "vehicle":
        metrics = {
            "position": [round(lon, 7), round(lat, 7)],
            "speed_kmh": round(rng.uniform(0.0, 50.0), 1),
            "heading_deg": round(rng.uniform(0.0, 359.9), 1),
        }
    elif kind == "sensor":
        metrics = sensor_metrics(subtype, attributes, rng)
    else:  # bollards, and any kind added later: a heartbeat
        metrics = {"online": True}
    return {"asset": ref, "ts": ts, "metrics": metrics}


def sensor_metrics(
    subtype: str | None, attributes: dict[str, Any], rng: random.Random
) -> dict[str, Any]:
    if subtype == "air_quality":
        pollutants = attributes.get("pollutants") or ["no2", "pm10", "pm2_5"]
        return {name: round(rng.uniform(2.0, 60.0), 1) for name in pollutants}
    if subtype in ("parking", "delivery_bay"):
        return {"occupancy": rng.randint(0, int(attributes.get("bay_count") or 10))}
    if subtype == "ev_charger":
        return {"occupancy": rng.randint(0, 2), "charging_kw": round(rng.uniform(0.0, 44.0), 1)}
    if subtype == "noise":
        return {"noise_db": round(rng.uniform(40.0, 75.0), 1)}
    if subtype == "weather":
        return {
            "temperature_c": round(rng.uniform(-5.0, 30.0), 1),
            "humidity_pct": round(rng.uniform(30.0, 95.0), 1),
        }
    if subtype == "flood":
        return {"water_level_cm": round(rng.uniform(0.0, 80.0), 1)}
    if subtype == "traffic_counter":
        return {
            "occupancy": round(rng.uniform(0.0, 0.4), 3),
            "speed_kmh": round(rng.uniform(5.0, 50.0), 1),
        }
    return {"online": True}


def prepare(
    data_dir: Path, readings_path: Path, scale: float, seed: int, batch: int
) -> dict[str, Any]:
    """Generate the metropolis, and write one reading per asset as JSON batches, one a line."""
    # Imported here, not at the top: the layout generator (shapely, numpy) would otherwise be in
    # the measured subprocesses' baseline, which import this module too.
    from sqlalchemy import select

    from metropilot.assets.repository import assets
    from metropilot.simulate.services import generate_metropolis

    started = time.perf_counter()
    with sqlite_platform(data_dir) as platform:
        with platform.uow_factory(write=True) as uow:
            report = generate_metropolis(uow, BENCH_ACTOR, scale=scale, seed=seed)
            uow.commit()
        generate_s = time.perf_counter() - started
        a = assets.c
        with platform.uow_factory() as uow:
            rows = uow.connection.execute(
                select(a.external_ref, a.kind, a.subtype, a.lon, a.lat, a.attributes).order_by(a.id)
            ).all()
    rng = random.Random(f"twin-memory:{seed}")
    first_ms = int(time.time() * 1000) - READINGS_AGE_MS
    with readings_path.open("wb") as out:
        for first in range(0, len(rows), batch):
            items = []
            for serial in range(first, min(first + batch, len(rows))):
                ref, kind, subtype, lon, lat, attributes = rows[serial]
                # 1 ms apart, as a stream of gateways would send them.
                ts = datetime.fromtimestamp((first_ms + serial) / 1000, UTC)
                items.append(
                    reading_for(
                        str(ref),
                        str(kind),
                        subtype,
                        float(lon),
                        float(lat),
                        attributes or {},
                        serial,
                        ts.isoformat(timespec="milliseconds"),
                        rng,
                    )
                )
            out.write(orjson.dumps(items) + b"\n")
    return {"assets": report.assets, "readings": len(rows), "generate_s": generate_s}


def feed(pipeline: IngestPipeline, readings_path: Path) -> tuple[int, float]:
    """Every batch of the file through the real pipeline; (readings, seconds).

    A function of its own so that the last batch is not kept alive by a local variable while
    memory is measured.
    """
    readings = 0
    started = time.perf_counter()
    with readings_path.open("rb") as batches:
        for line in batches:
            items = orjson.loads(line)
            result = pipeline.ingest(items, source="bench")
            if result.rejected:
                refused = [r for r in result.results if r["status"] == "rejected"][:3]
                raise RuntimeError(f"{result.rejected} readings refused, e.g. {refused}")
            readings += result.accepted
    pipeline.flush()
    return readings, time.perf_counter() - started


def measure(data_dir: Path, readings_path: Path | None, trace: bool) -> dict[str, Any]:
    """In a fresh process: the baseline, after warm-up, and after feeding (when given readings)."""
    with sqlite_platform(data_dir) as platform:
        pipeline = platform.ingest_pipeline
        points = {"baseline": read_memory()}
        reset_peak()
        if trace:
            tracemalloc.start()
        started = time.perf_counter()
        pipeline.warm_up()
        warm_up_s = time.perf_counter() - started
        points["warmed"] = read_memory()
        traced = {"warmed": tracemalloc.get_traced_memory()[0] if trace else 0}
        readings, feed_s = 0, 0.0
        if readings_path is not None:
            readings, feed_s = feed(pipeline, readings_path)
            points["fed"] = read_memory()
            traced["fed"] = tracemalloc.get_traced_memory()[0] if trace else 0
        top_lines: list[tuple[str, int, int]] = []
        if trace:
            top_lines = top_traced_lines(tracemalloc.take_snapshot())
            tracemalloc.stop()
        release_free_heap()
        points["trimmed"] = read_memory()
        return {
            "assets": len(pipeline.directory),
            "twin_assets": len(pipeline.twin),
            "twin_values": sum(
                len(pipeline.twin.latest(info.id, info.kind)) for info in pipeline.directory
            ),
            "points": {name: asdict(point) for name, point in points.items()},
            "traced": traced,
            "top_traced_lines": top_lines,
            # Sized after the readings above: the tally's own memory must not be in them.
            "parts": {} if trace else size_of_twin(pipeline),
            "warm_up_s": warm_up_s,
            "readings": readings,
            "feed_s": feed_s,
        }


def child_main(args: argparse.Namespace) -> None:
    data_dir = Path(args.data_dir)
    readings = Path(args.readings) if args.readings else None
    if args.child == "prepare":
        assert readings is not None
        result = prepare(data_dir, readings, args.scale, args.seed, args.batch)
    else:
        result = measure(data_dir, readings if args.child == "fed" else None, args.trace)
    print(RESULT_PREFIX + orjson.dumps(result).decode(), flush=True)


def run_child(mode: str, *options: str) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.twin_memory", "--child", mode, *options]
    completed = subprocess.run(
        command, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True, check=True
    )
    for line in completed.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            found: dict[str, Any] = orjson.loads(line[len(RESULT_PREFIX) :])
            return found
    raise RuntimeError(f"the {mode} subprocess printed no result:\n{completed.stdout}")


# --------------------------------------------------------------------------- the report


@dataclass(frozen=True, slots=True)
class StateFigures:
    """One measured state of one scale, as the table shows it."""

    scale: float
    state: str  # "fed" (by the ingest pipeline) or "restart" (loaded by warm_up)
    assets: int
    twin_assets: int
    twin_values: int
    baseline: MemoryReading
    with_twin: MemoryReading
    trimmed: MemoryReading
    estimate_bytes: int
    traced_bytes: int | None

    @property
    def delta(self) -> int:
        return self.with_twin.rss - self.baseline.rss


def figures_of(scale: float, state: str, run: dict[str, Any], traced: int | None) -> StateFigures:
    points = {name: MemoryReading(**point) for name, point in run["points"].items()}
    return StateFigures(
        scale=scale,
        state=state,
        assets=run["assets"],
        twin_assets=run["twin_assets"],
        twin_values=run["twin_values"],
        baseline=points["baseline"],
        with_twin=points["fed" if state == "fed" else "warmed"],
        trimmed=points["trimmed"],
        estimate_bytes=sum(size for _, size in run["parts"].values()),
        traced_bytes=traced,
    )


def print_table(rows: list[StateFigures]) -> None:
    print(
        "| scale | state | assets | twin values | RSS baseline MB | RSS with twin MB "
        "| twin delta MB | bytes/asset | peak MB | after malloc_trim MB | SQLite heap MB "
        "| twin est. MB | traced MB |"
    )
    print("|---" * 13 + "|")
    for row in rows:
        traced = f"{row.traced_bytes / MB:.0f}" if row.traced_bytes is not None else "-"
        print(
            f"| {row.scale:g} | {row.state} | {row.assets:,} | {row.twin_values:,} "
            f"| {row.baseline.rss / MB:.0f} | **{row.with_twin.rss / MB:.0f}** "
            f"| {row.delta / MB:.0f} | {row.delta / row.assets:,.0f} "
            f"| {row.with_twin.peak_rss / MB:.0f} | {row.trimmed.rss / MB:.0f} "
            f"| {row.with_twin.sqlite_heap / MB:.0f} | {row.estimate_bytes / MB:.0f} | {traced} |"
        )


def print_parts(scale: float, assets: int, fed: dict[str, Any], restart: dict[str, Any]) -> None:
    print(f"\nwhat the directory and twin hold at scale {scale:g} (object by object):\n")
    print("| part | fed: objects | fed: MB | fed: B/asset | restart: objects | restart: MB |")
    print("|---|---|---|---|---|---|")
    names = sorted(
        set(fed) | set(restart),
        key=lambda n: -max(fed.get(n, (0, 0))[1], restart.get(n, (0, 0))[1]),
    )
    for name in names:
        fed_objects, fed_bytes = fed.get(name, (0, 0))
        restart_objects, restart_bytes = restart.get(name, (0, 0))
        print(
            f"| {name} | {fed_objects:,} | {fed_bytes / MB:.1f} | {fed_bytes / assets:,.0f} "
            f"| {restart_objects:,} | {restart_bytes / MB:.1f} |"
        )


def print_traced(scale: float, state: str, run: dict[str, Any]) -> None:
    print(f"\ntracemalloc, scale {scale:g}, {state}: live Python allocations since the baseline")
    print(
        f"  after warm_up {run['traced']['warmed'] / MB:,.1f} MB"
        + (f", after feeding {run['traced']['fed'] / MB:,.1f} MB" if "fed" in run["traced"] else "")
    )
    for where, size, blocks in run["top_traced_lines"]:
        print(f"  {size / MB:8.1f} MB {blocks:>10,} blocks  {where}")


def measure_scale(
    scale: float, seed: int, batch: int, trace: bool
) -> tuple[list[StateFigures], dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="twin-memory-") as tmp:
        fresh, untouched = Path(tmp) / "db", Path(tmp) / "db-untouched"
        readings = Path(tmp) / "readings.ndjson"
        print(f"scale {scale:g}: generating …", file=sys.stderr, flush=True)
        prepared = run_child(
            "prepare",
            *("--data-dir", str(fresh), "--readings", str(readings)),
            *("--scale", str(scale), "--seed", str(seed), "--batch", str(batch)),
        )
        print(
            f"scale {scale:g}: {prepared['assets']:,} assets generated in "
            f"{prepared['generate_s']:.0f} s; measuring …",
            file=sys.stderr,
            flush=True,
        )
        if trace:  # the traced feed needs a database no reading has reached yet
            shutil.copytree(fresh, untouched)
        fed = run_child("fed", "--data-dir", str(fresh), "--readings", str(readings))
        restart = run_child("restart", "--data-dir", str(fresh))
        fed_traced = restart_traced = None
        if trace:
            print(f"scale {scale:g}: under tracemalloc …", file=sys.stderr, flush=True)
            fed_traced = run_child(
                "fed", "--data-dir", str(untouched), "--readings", str(readings), "--trace"
            )
            restart_traced = run_child("restart", "--data-dir", str(fresh), "--trace")
    for run in (fed, restart):
        if run["twin_assets"] != run["assets"]:
            raise RuntimeError(f"only {run['twin_assets']:,} of {run['assets']:,} assets in twin")
    rows = [
        figures_of(scale, "fed", fed, fed_traced["traced"]["fed"] if fed_traced else None),
        figures_of(
            scale,
            "restart",
            restart,
            restart_traced["traced"]["warmed"] if restart_traced else None,
        ),
    ]
    details = {
        "fed": fed,
        "restart": restart,
        "fed_traced": fed_traced,
        "restart_traced": restart_traced,
    }
    return rows, details


def revision() -> str:
    """The commit measured, and whether the working tree differed from it (figures of a tree
    being edited cannot be reproduced from the commit alone)."""
    try:
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        changed = ""
    return git_revision() + (" with uncommitted changes" if changed else "")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scales", default="1,10", help="comma-separated scales (default 1,10)")
    parser.add_argument("--quick", action="store_true", help="scale 0.1 only, a fast check")
    parser.add_argument("--batch", type=int, default=5_000, help="readings per ingest batch")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-tracemalloc", action="store_true", help="skip the traced runs")
    # What the measuring subprocesses are started with; not for people.
    parser.add_argument("--child", choices=("prepare", "fed", "restart"), help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    parser.add_argument("--readings", help=argparse.SUPPRESS)
    parser.add_argument("--scale", type=float, default=1.0, help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args)
        return

    scales = [0.1] if args.quick else [float(s) for s in args.scales.split(",") if s.strip()]
    trace = not args.no_tracemalloc
    header("resident memory of the twin (directory + latest values of every asset)")
    print(f"revision: {revision()}")
    print(
        f"one reading per asset with all its kind's metrics, batches of {args.batch:,}, "
        f"seed {args.seed}; each state measured in a fresh subprocess\n"
    )
    rows: list[StateFigures] = []
    details: dict[float, dict[str, Any]] = {}
    for scale in scales:
        scale_rows, details[scale] = measure_scale(scale, args.seed, args.batch, trace)
        rows.extend(scale_rows)
        fed = details[scale]["fed"]
        print(
            f"scale {scale:g}: warm-up {fed['warm_up_s']:.1f} s, "
            f"{fed['readings']:,} readings fed in {fed['feed_s']:.1f} s, "
            f"restart warm-up {details[scale]['restart']['warm_up_s']:.1f} s, "
            f"startup peak (imports, migrations) {fed['points']['baseline']['peak_rss'] / MB:.0f} MB"
        )
    print()
    print_table(rows)
    for scale in scales:
        scale_details = details[scale]
        assets = scale_details["fed"]["assets"]
        print_parts(scale, assets, scale_details["fed"]["parts"], scale_details["restart"]["parts"])
        for state in ("fed", "restart"):
            traced_run = scale_details[f"{state}_traced"]
            if traced_run is not None:
                print_traced(scale, state, traced_run)

    print(
        "\nstates: fed = a worker after ingesting one reading per asset; restart = a new worker "
        "after warm_up\nloaded the flushed twin and replayed the last hour. Twin delta = RSS with "
        "twin − baseline\n(includes SQLite's page-cache growth); twin est. = the directory and "
        "twin sized object by object;\ntraced = tracemalloc's live Python allocations since "
        "the baseline (separate runs); peak = VmHWM since the baseline\n(warm-up and feeding, "
        "not the imports and migrations)."
    )
    at_target = [row for row in rows if row.scale == TARGET_SCALE]
    if at_target:
        # The twin's resident memory: what loading and running it adds to the process (the
        # directory, the columns, and SQLite's page cache grown by reading and writing them).
        # The whole process is printed beside it: the interpreter and libraries come on top.
        worst = max(at_target, key=lambda row: row.delta)
        verdict = "PASS" if worst.delta <= TARGET_MB * MB else "FAIL"
        peak = max(row.with_twin.peak_rss for row in at_target)
        largest = max(row.with_twin.rss for row in at_target)
        print(
            f"\ntarget ≤ {TARGET_MB:.0f} MB resident for the twin at scale {TARGET_SCALE:g}: "
            f"{verdict}\n  twin {worst.delta / MB:.0f} MB ({worst.state}: RSS with the twin − "
            f"baseline); whole worker process {largest / MB:.0f} MB, peak {peak / MB:.0f} MB"
        )
    else:
        print(f"\ntarget ≤ {TARGET_MB:.0f} MB at scale {TARGET_SCALE:g}: not measured in this run")


if __name__ == "__main__":
    main()
