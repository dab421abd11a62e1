"""Helpers shared by the benchmark scripts: machine description, timing, a throw-away platform."""

from __future__ import annotations

import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from metropilot.bootstrap import Platform, bootstrap
from metropilot.settings import Settings
from metropilot.shared.actors import Actor, ActorKind

BENCH_ACTOR = Actor(ActorKind.CLI, "bench")


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{cpu}, {os.cpu_count()} cores, {mem_gb:.0f} GiB, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def header(title: str) -> None:
    print(f"# {title}")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M %Z')}")
    print(f"machine: {machine()}")
    print()


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def summarise(values_s: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values_s]
    return {
        "p50": statistics.median(ms),
        "p90": percentile(ms, 90),
        "p99": percentile(ms, 99),
        "mean": statistics.fmean(ms),
    }


def time_calls(fn: Callable[[], Any], repeat: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


@contextmanager
def sqlite_platform(data_dir: Path) -> Iterator[Platform]:
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings(data_dir=data_dir, database_url="")
    plat = bootstrap(settings, upgrade=True)
    try:
        yield plat
    finally:
        plat.close()


def postgres_platform(url: str, data_dir: Path) -> Platform:
    settings = Settings(data_dir=data_dir, database_url=url)
    return bootstrap(settings, upgrade=True)


def git_revision() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def python() -> str:
    return sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(data_dir: Path, extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """A real ``metropilot serve`` (uvicorn, one process) on the SQLite database of
    ``data_dir``; yields its base URL once it answers, stops it afterwards."""
    port = free_port()
    env = {
        **os.environ,
        "METROPILOT_DATA_DIR": str(data_dir),
        "METROPILOT_DATABASE_URL": "",
        **(extra_env or {}),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "metropilot", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=30) as probe:
            for _ in range(600):
                try:
                    if probe.get("/api/v1/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
            else:
                raise RuntimeError(f"the server on {base} did not answer in 60 s")
        yield base
    finally:
        server.terminate()
        server.wait(30)
