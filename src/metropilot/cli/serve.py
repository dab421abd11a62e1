"""Running the server: its background work, its one-server-per-database lease, its shutdown.

``metropilot serve`` and ``metropilot demo`` serve the web application with uvicorn and run, in
threads of their own, the work nobody asks for: the housekeeping (the twin written, silences and
escalations judged, cases the handlers missed opened, SLA deadlines announced, citizens' e-mails
sent, availability beats, telemetry rolled up and purged), the writing of when sessions and keys
were last used, and the dispatcher of commands to the equipment.

That work must run once per database, so a server holds a lease on it for as long as it runs
(`ServerLease`): a second server on the same data directory or the same PostgreSQL database is
refused with the first one's whereabouts, rather than running a second housekeeping, a second
dispatcher and a second simulator beside it.

SIGTERM or Ctrl-C ends the server within seconds, even under load: the live streams end, the
requests under way finish (those that do not within the grace period are cancelled: nothing was
acknowledged to their clients), the background threads stop between two pieces of work, then the
twin and the last-use times are written.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import IO

from sqlalchemy import Connection, text

from metropilot.bootstrap import Platform
from metropilot.control import services as control_services
from metropilot.shared.errors import DomainError
from metropilot.stream import wiring as stream_wiring
from metropilot.telemetry import wiring as telemetry_wiring

__all__ = [
    "AlreadyServing",
    "Background",
    "ServerLease",
    "maintain_telemetry",
    "run_server",
    "server_lease",
]

log = logging.getLogger("metropilot.server")

LEASE_FILE = "server.lock"
# PostgreSQL advisory lock key of the server lease: the bytes of "mpserve" as a number.
LEASE_KEY = int.from_bytes(b"mpserve", "big")
# How long the background threads get to finish the piece of work they are in, at shutdown.
BACKGROUND_STOP_S = 3.0


class AlreadyServing(DomainError):
    code = "already_serving"
    http_status = 409


# --- one server per database ------------------------------------------------------------------


@dataclass
class ServerLease:
    """Held while a server runs: released by `release` or by the process's end, however it
    ends (the operating system drops a file lock and PostgreSQL an advisory lock of a closed
    session), so a crashed server never blocks the next one."""

    _release: Callable[[], None]

    def release(self) -> None:
        self._release()


def _whereabouts() -> str:
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"pid {os.getpid()} on {socket.gethostname()}, started {started}"


def server_lease(platform: Platform) -> ServerLease:
    """Take the lease of this database, or raise `AlreadyServing` naming who holds it."""
    if platform.settings.is_sqlite:
        return _file_lease(platform.settings.data_dir)
    return _database_lease(platform)


def _file_lease(data_dir: Path) -> ServerLease:
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = data_dir / LEASE_FILE
    handle: IO[str] = open(path, "a+", encoding="utf-8")  # noqa: SIM115 (held while serving)
    try:
        _lock_file(handle)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise AlreadyServing(
            f"another Metropilot server is already running on {data_dir.resolve()} ({holder}): "
            "stop it first, or give this one another data directory (METROPILOT_DATA_DIR)"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(_whereabouts() + "\n")
    handle.flush()

    def release() -> None:
        with contextlib.suppress(OSError):
            handle.seek(0)
            handle.truncate()
            handle.flush()
        handle.close()  # closing the file drops its lock

    return ServerLease(release)


def _lock_file(handle: IO[str]) -> None:
    """Lock the file for this process, or raise OSError at once when another holds it."""
    if sys.platform == "win32":
        import msvcrt

        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
    else:
        import fcntl

        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def _database_lease(platform: Platform) -> ServerLease:
    # A session of its own holds the advisory lock for the server's life; its application name
    # tells a second server who holds it.
    connection: Connection = platform.engine.connect()
    try:
        name = f"metropilot serve, {_whereabouts()}"[:63]
        connection.exec_driver_sql("SELECT set_config('application_name', %s, false)", (name,))
        taken = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": LEASE_KEY})
        if not taken.scalar_one():
            holder = connection.execute(
                text(
                    "SELECT a.application_name, a.client_addr FROM pg_locks l "
                    "JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE l.locktype = 'advisory' AND l.granted "
                    "AND (l.classid::bigint << 32) | l.objid::bigint = :key"
                ),
                {"key": LEASE_KEY},
            ).first()
            who = f"{holder[0]}, from {holder[1] or 'this host'}" if holder else "another server"
            raise AlreadyServing(
                f"another Metropilot server is already running on this database ({who}): "
                "stop it first"
            )
        connection.commit()
    except BaseException:
        connection.close()
        raise

    def release() -> None:
        with contextlib.suppress(Exception):
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LEASE_KEY})
            connection.commit()
        connection.close()

    return ServerLease(release)


# --- the background work ----------------------------------------------------------------------


class Background:
    """The server's background threads: each repeats its work until asked to stop, and stops
    between two pieces of work, never in the middle of one."""

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def every(self, name: str, interval_s: float, work: Callable[[], object]) -> None:
        """Run ``work`` now and then every ``interval_s`` seconds until stopped."""
        self._start(name, work, lambda: self.stopping.wait(interval_s))

    def loop(self, name: str, work: Callable[[], object], pause: Callable[[], object]) -> None:
        """Run ``work`` again and again, ``pause`` in between (it must return within a second)."""
        self._start(name, work, pause)

    def _start(self, name: str, work: Callable[[], object], pause: Callable[[], object]) -> None:
        logger = logging.getLogger(f"metropilot.{name}")

        def run() -> None:
            while not self.stopping.is_set():
                try:
                    work()
                except Exception:
                    logger.exception("%s failed; trying again later", name)
                pause()

        thread = threading.Thread(target=run, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self, timeout_s: float = BACKGROUND_STOP_S) -> list[str]:
        """Ask every thread to stop and wait up to ``timeout_s`` in all; returns the names of
        those still busy (daemon threads: their unfinished transaction is rolled back)."""
        self.stopping.set()
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return [t.name for t in self._threads if t.is_alive()]


def maintain_telemetry(platform: Platform) -> str:
    """Roll up recent hours, apply retention and prune the live stream's journal."""
    return f"{telemetry_wiring.maintain(platform.wiring)}, {stream_wiring.prune(platform.wiring)}"


def _housekeeping(platform: Platform) -> Callable[[], None]:
    """One round of housekeeping: the ingest pipeline's pending work flushed, then the jobs the
    contexts registered (``metropilot.db.wiring``), each due every so many rounds, each on its
    own: one that fails is logged and the others still run."""
    rounds = 0

    def round_() -> None:
        nonlocal rounds
        tick, rounds = rounds, rounds + 1
        platform.ingest_pipeline.flush()
        for job in platform.wiring.housekeeping_jobs:
            if tick % job.every_rounds:
                continue
            try:
                said = job.run()
            except Exception:
                log.exception("housekeeping: %s failed", job.name)
                continue
            if isinstance(said, str):
                log.info("%s: %s", job.name, said)

    return round_


def start_background(platform: Platform) -> Background:
    """The server's background work, started."""
    s = platform.settings
    background = Background()
    background.every("housekeeping", s.housekeeping_interval_s, _housekeeping(platform))
    background.every(
        "last-use", s.last_use_write_s, lambda: platform.last_use.write(platform.uow_factory)
    )
    transport = platform.command_transport
    # The commands table is the outbox: send what is due, retry the unanswered, time out the
    # overdue; woken at once when a request commits commands, else every quarter second.
    background.loop(
        "command-dispatcher",
        lambda: control_services.dispatch(platform.uow_factory, transport),
        lambda: control_services.wait_for_work(0.25),
    )
    return background


# --- the server -------------------------------------------------------------------------------


def run_server(
    platform: Platform,
    host: str,
    port: int,
    *,
    lease: ServerLease | None = None,
    on_stop: Callable[[], None] | None = None,
) -> None:
    """Serve until SIGTERM or Ctrl-C, with the lease of the database (taken here unless given)
    and the background work; ``on_stop`` runs first when the server stops (the demo stops its
    simulator there)."""
    import uvicorn

    from metropilot.stream.routes import stream_hub
    from metropilot.web.app import create_app

    if lease is None:
        lease = server_lease(platform)
    try:
        platform.ingest_pipeline.warm_up(long_lived=True)
        app = create_app(platform)
        hub = stream_hub(app)

        class Server(uvicorn.Server):
            def handle_exit(self, sig: int, frame: FrameType | None) -> None:
                # Live streams never end by themselves: end them, or the graceful shutdown
                # would wait for them until its grace period runs out.
                hub.close()
                super().handle_exit(sig, frame)
                # uvicorn raises the signal again once it has stopped serving, which would end
                # the process before the background work stops and the twin is written: the
                # stop is ours to finish, and then the process exits normally.
                self._captured_signals.clear()

        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="info",
            timeout_graceful_shutdown=platform.settings.shutdown_grace_s,
        )
        background = start_background(platform)
        try:
            Server(config).run()
        finally:
            _stop(platform, background, on_stop)
    finally:
        lease.release()


def _stop(platform: Platform, background: Background, on_stop: Callable[[], None] | None) -> None:
    started = time.monotonic()
    if on_stop is not None:
        on_stop()
    busy = background.stop()
    if busy:
        log.warning("stopping while still busy: %s (their unfinished work rolls back)", busy)
    # What only this process knew: the twin's latest values and when sessions were last used.
    for name, write in (
        ("the twin", platform.ingest_pipeline.flush),
        ("the last uses", lambda: platform.last_use.write(platform.uow_factory)),
    ):
        try:
            write()
        except Exception:
            log.exception("could not write %s on the way out", name)
    log.info("stopped in %.1f s", time.monotonic() - started)
