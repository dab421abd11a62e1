"""Commands to equipment: accepted and stored, sent after the commit, answered by the equipment.

1. `issue` checks the command (its parameters, who gives it, why, to what — one asset, or an
   area after an explicit confirmation — and the junction interlocks against what the junction
   last reported) and stores one ``pending`` command per asset in the caller's transaction.
2. `dispatch` (a loop of the server, every half second) sends what is due on the transport —
   MQTT ``metropilot/<asset>/commands`` or the in-process one of the embedded platform — marks
   it ``sent``, sends it again while no acknowledgement came (at most three times: a command
   asks for a state, so a second delivery is harmless), and times out what was not answered by
   its deadline.
3. The equipment answers with device events on its events topic (or ``POST /telemetry``):
   ``command.ack``, then ``command.done`` or ``command.failed``, each with ``{"command": id}``
   and, on failure, a ``message``; `record_answers` applies them in the ingest's transaction.
   An answer from another asset than the one commanded is ignored.
The state the equipment then reports (``light_level_pct``, ``junction_mode``, …) is what the
twin shows; a command never changes the twin itself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

import orjson
from shapely.geometry import LineString, Point
from sqlalchemy import func, select

from metropilot.assets import repository as assets_repository
from metropilot.cases import services as cases_services
from metropilot.cases.model import CaseOrigin, parse_priority
from metropilot.contracts import repository as contracts_repository
from metropilot.contracts import services as contracts_services
from metropilot.contracts.energy import DimmingProgram, level_at
from metropilot.contracts.model import CONTRACT_ZONE
from metropilot.control import repository
from metropilot.control.model import (
    AREA_CONFIRMATION,
    COMMAND_SPECS,
    CommandStatus,
    CommandType,
    batch_status,
    check_junction,
    check_permission,
    check_reason,
    check_target,
    parse_command,
    transition,
)
from metropilot.control.scenarios import (
    CommandStep,
    Scenario,
    Selection,
    WorkOrderStep,
    get_scenario,
    parse_params,
)
from metropilot.db.uow import UnitOfWork, UnitOfWorkFactory
from metropilot.shared.actors import Actor
from metropilot.shared.audit import AuditEntry
from metropilot.shared.clock import utcnow
from metropilot.shared.errors import Conflict, InvalidInput, NotFound, Problem
from metropilot.shared.geo import METRES_PER_DEGREE_LAT, BBox, LocalPlane
from metropilot.shared.scope import Scope
from metropilot.telemetry.repository import telemetry_raw, twin_values
from metropilot.territory import services as territory_services
from metropilot.territory.repository import communes

__all__ = [
    "ANSWER_CODES",
    "JUNCTION_MODE_CODES",
    "Caller",
    "CommandTransport",
    "LocalTransport",
    "dispatch",
    "get_batch",
    "get_command",
    "issue",
    "record_answers",
    "wait_for_work",
    "wake_dispatcher",
]

log = logging.getLogger(__name__)

ANSWER_CODES: Final = {"command.ack": "ack", "command.done": "done", "command.failed": "failed"}
# How a junction reports its mode as a number (telemetry metrics are numbers).
JUNCTION_MODE_CODES: Final = {0: "normal", 1: "flashing_amber", 2: "all_red", 3: "forced_green"}
MAX_AREA: Final = 20_000
DISPATCH_BATCH: Final = 2_000


class CommandTransport(Protocol):
    """Delivers a command message to one asset (MQTT, or in-process for the embedded demo)."""

    def send(self, asset_ref: str, message: Mapping[str, Any]) -> None: ...


class LocalTransport:
    """The embedded platform's transport: hands each message to the listeners in this process
    (the demo's simulated equipment), as a broker would."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[str, Mapping[str, Any]], None]] = []

    def listen(self, listener: Callable[[str, Mapping[str, Any]], None]) -> None:
        self._listeners.append(listener)

    def send(self, asset_ref: str, message: Mapping[str, Any]) -> None:
        for listener in list(self._listeners):
            listener(asset_ref, message)


@dataclass(frozen=True, slots=True)
class Caller:
    """Who gives the command: their role (for the permission), their scope (the equipment they
    may command is the equipment they may see), and the actor the audit trail names."""

    role: str | None
    scope: Scope
    actor: Actor


# --- targets ----------------------------------------------------------------------------------


def _asset_rows(uow: UnitOfWork, caller: Caller, where: Any) -> list[dict[str, Any]]:
    a = assets_repository.assets.c
    query = select(
        a.id, a.external_ref, a.kind, a.commune_insee, a.attributes, a.parent_id, a.lon, a.lat
    ).where(where, a.status != "decommissioned")
    if not caller.scope.unrestricted:
        query = query.where(assets_repository.scope_clause(caller.scope))
    return [dict(r) for r in uow.connection.execute(query.order_by(a.id)).mappings()]


def _one_asset(uow: UnitOfWork, caller: Caller, asset: str | int) -> dict[str, Any]:
    a = assets_repository.assets.c
    where = a.id == asset if isinstance(asset, int) else a.external_ref == asset
    found = _asset_rows(uow, caller, where)
    if not found:
        raise NotFound(f"no asset {asset!r} you may command", code="unknown_asset")
    return found[0]


AREA_KEYS: Final = ("commune", "around", "cabinet", "group", "assets")


def _area_rows(
    uow: UnitOfWork, caller: Caller, area: Mapping[str, Any], kinds: frozenset[str]
) -> list[dict[str, Any]]:
    """The assets of the kinds a command applies to, in the area: a commune, a radius around a
    point, the lights of a cabinet or of a group of cabinets, or a list of references."""
    a = assets_repository.assets.c
    given = [key for key in AREA_KEYS if key in area]
    if len(given) != 1 or set(area) - set(AREA_KEYS):
        raise InvalidInput(
            f"an area is exactly one of {', '.join(AREA_KEYS)}",
            details=[Problem("area", f"got {sorted(area)}")],
            code="invalid_area",
        )
    key = given[0]
    value = area[key]
    of_kind = a.kind.in_(sorted(kinds))
    if key == "commune":
        return _asset_rows(uow, caller, of_kind & (a.commune_insee == str(value)))
    if key == "assets":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InvalidInput("area.assets is a list of references", code="invalid_area")
        return _asset_rows(uow, caller, of_kind & a.external_ref.in_(value))
    if key == "around":
        try:
            lon, lat, radius = float(value["lon"]), float(value["lat"]), float(value["radius_m"])
        except (TypeError, KeyError, ValueError, OverflowError):  # 10**400 overflows a float
            raise InvalidInput("area.around is {lon, lat, radius_m}", code="invalid_area") from None
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):  # NaN is neither
            raise InvalidInput(
                "area.around: lon and lat must be WGS 84 degrees", code="invalid_area"
            )
        if not 0 < radius <= 5_000:
            raise InvalidInput("area.around.radius_m must be 0–5,000 m", code="invalid_area")
        box = BBox.around(lon, lat, radius)
        rows = _asset_rows(
            uow,
            caller,
            of_kind
            & a.lon.between(box.min_lon, box.max_lon)
            & a.lat.between(box.min_lat, box.max_lat),
        )
        plane = LocalPlane(lon, lat)
        return [row for row in rows if plane.distance_m(lon, lat, row["lon"], row["lat"]) <= radius]
    cabinets: list[int]
    if key == "cabinet":
        cabinet = _one_asset(uow, caller, value)
        if cabinet["kind"] != "lighting_cabinet":
            raise InvalidInput(f"{cabinet['external_ref']} is not a lighting cabinet")
        cabinets = [cabinet["id"]]
    else:
        group = contracts_repository.get_group(uow.connection, str(value))
        if group is None:
            raise NotFound(f"no lighting group {value!r}", code="unknown_group")
        cabinets = [int(i) for i in group["cabinet_ids"]]
    return _asset_rows(uow, caller, of_kind & (a.parent_id.in_(cabinets) | a.id.in_(cabinets)))


# --- issuing ----------------------------------------------------------------------------------


JUNCTION_METRICS: Final = ("junction_mode", "junction_approach", "controller_fault")


def _reported(uow: UnitOfWork, asset_id: int) -> dict[str, float]:
    """What the junction last reported: its newest raw readings, written in the very transaction
    that accepted them (the stored twin may lag by a few seconds), else the stored twin."""
    found: dict[str, float] = {}
    r, t = telemetry_raw.c, twin_values.c
    for metric in JUNCTION_METRICS:
        newest = uow.connection.execute(
            select(r.value)
            .where(r.asset_id == asset_id, r.metric == metric)
            .order_by(r.ts_ms.desc())
            .limit(1)
        ).scalar()
        if newest is None:
            newest = uow.connection.execute(
                select(t.value).where(t.asset_id == asset_id, t.metric == metric)
            ).scalar()
        if newest is not None:
            found[metric] = float(newest)
    return found


def _check_junction(uow: UnitOfWork, row: Mapping[str, Any], params: Mapping[str, Any]) -> None:
    reported = _reported(uow, row["id"])
    code = reported.get("junction_mode")
    approach = reported.get("junction_approach")
    check_junction(
        params,
        reported_mode=None if code is None else JUNCTION_MODE_CODES.get(int(code)),
        reported_approach=None if approach is None else int(approach),
        controller_fault=reported.get("controller_fault") == 1.0,
        approaches=int((row["attributes"] or {}).get("approaches", 4)),
        ref=row["external_ref"],
    )


def issue(
    uow: UnitOfWork,
    caller: Caller,
    *,
    command: str,
    params: Mapping[str, Any] | None,
    reason: str | None,
    asset: str | int | None = None,
    area: Mapping[str, Any] | None = None,
    confirm: bool = False,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Accept a command for one asset or an area; stored ``pending``, sent after the commit."""
    kind, normalised = parse_command(command, params)
    check_permission(kind, caller.role)
    why = check_reason(reason)
    spec = COMMAND_SPECS[kind]
    now = now or utcnow()
    if (asset is None) == (area is None):
        raise InvalidInput('give either "asset" or "area"', code="invalid_target")
    if kind is CommandType.APPLY_DIMMING_PROGRAM:
        normalised = _schedule(uow, normalised["program"])
    if asset is not None:
        rows = [_one_asset(uow, caller, asset)]
        check_target(kind, rows[0]["kind"], rows[0]["external_ref"])
    else:
        assert area is not None
        rows = _area_rows(uow, caller, area, spec.kinds)
        if not rows:
            raise NotFound("no equipment this command applies to in the area", code="empty_area")
        if len(rows) > MAX_AREA:
            raise InvalidInput(
                f"{len(rows):,} assets: an area command reaches at most {MAX_AREA:,}",
                code="area_too_large",
            )
        if not confirm:
            raise Conflict(
                f"{kind.value} would reach {len(rows):,} assets: send it again with "
                f'"{AREA_CONFIRMATION}": true to confirm',
                details=[Problem("confirm", f"{len(rows)} assets")],
                code="confirmation_required",
            )
    if kind is CommandType.SET_JUNCTION_MODE:
        for row in rows:
            _check_junction(uow, row, normalised)
    batch_id, ids = _store(uow, caller, kind, normalised, rows, why, area, now)
    if batch_id is not None:
        return get_batch(uow, batch_id)
    return get_command(uow, ids[0])


def _store(
    uow: UnitOfWork,
    caller: Caller,
    kind: CommandType,
    normalised: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
    why: str,
    area: Mapping[str, Any] | None,
    now: datetime,
) -> tuple[int | None, list[int]]:
    """One pending command per asset (a batch when for an area), audited."""
    spec = COMMAND_SPECS[kind]
    batch_id: int | None = None
    if area is not None:
        batch_id = repository.insert_batch(
            uow.connection,
            {
                "command": kind.value,
                "params": dict(normalised),
                "area": dict(area),
                "reason": why,
                "targets": len(rows),
                "created_at": now,
                "actor": caller.actor.label(),
            },
        )
    ids = repository.insert_commands(
        uow.connection,
        [
            {
                "batch_id": batch_id,
                "asset_id": row["id"],
                "asset_ref": row["external_ref"],
                "command": kind.value,
                "params": dict(normalised),
                "reason": why,
                "status": CommandStatus.PENDING.value,
                "attempts": 0,
                "created_at": now,
                "deadline": now + spec.answer_within,
                "next_send_at": now,
                "actor": caller.actor.label(),
            }
            for row in rows
        ],
    )
    uow.audit(
        AuditEntry(
            caller.actor,
            "command.issued",
            "command_batch" if batch_id is not None else "command",
            str(batch_id if batch_id is not None else ids[0]),
            {
                "command": [None, kind.value],
                "params": [None, dict(normalised)],
                "reason": [None, why],
                "assets": [None, len(rows) if batch_id is not None else rows[0]["external_ref"]],
            },
            at=now,
        )
    )
    return batch_id, ids


# --- reading ----------------------------------------------------------------------------------


def _command_out(row: Mapping[str, Any]) -> dict[str, Any]:
    def when(key: str) -> str | None:
        value = row[key]
        return None if value is None else value.isoformat()

    return {
        "id": row["id"],
        "batch": row["batch_id"],
        "asset": row["asset_id"],
        "asset_ref": row["asset_ref"],
        "command": row["command"],
        "params": row["params"],
        "reason": row["reason"],
        "status": row["status"],
        "attempts": row["attempts"],
        "created_at": when("created_at"),
        "sent_at": when("sent_at"),
        "acknowledged_at": when("acknowledged_at"),
        "finished_at": when("finished_at"),
        "deadline": when("deadline"),
        "result": row["result"],
        "actor": row["actor"],
    }


def get_command(uow: UnitOfWork, command_id: int, scope: Scope | None = None) -> dict[str, Any]:
    row = repository.get_command(uow.connection, command_id)
    if row is None or (scope is not None and not visible(uow, scope, row["asset_id"])):
        raise NotFound(f"no command {command_id}", code="unknown_command")
    return _command_out(row)


def visible(uow: UnitOfWork, scope: Scope, asset_id: int) -> bool:
    if scope.unrestricted:
        return True
    a = assets_repository.assets.c
    query = select(a.id).where(a.id == asset_id, assets_repository.scope_clause(scope))
    return uow.connection.execute(query).first() is not None


def get_batch(uow: UnitOfWork, batch_id: int) -> dict[str, Any]:
    row = repository.get_batch(uow.connection, batch_id)
    if row is None:
        raise NotFound(f"no command batch {batch_id}", code="unknown_batch")
    counts = repository.batch_counts(uow.connection, batch_id)
    return {
        "id": row["id"],
        "batch": row["id"],
        "url": f"/api/v1/command-batches/{row['id']}",
        "command": row["command"],
        "params": row["params"],
        "area": row["area"],
        "reason": row["reason"],
        "targets": row["targets"],
        "status": batch_status(counts, row["targets"]),
        "counts": {status.value: counts.get(status.value, 0) for status in CommandStatus},
        "created_at": row["created_at"].isoformat(),
        "actor": row["actor"],
    }


def list_commands(
    uow: UnitOfWork,
    *,
    asset_id: int | None = None,
    batch_id: int | None = None,
    statuses: Sequence[str] = (),
    limit: int = 100,
) -> list[dict[str, Any]]:
    for status in statuses:
        try:
            CommandStatus(status)
        except ValueError:
            raise InvalidInput(f"unknown command status {status!r}") from None
    rows = repository.list_commands(
        uow.connection, asset_id=asset_id, batch_id=batch_id, statuses=statuses, limit=limit
    )
    return [_command_out(row) for row in rows]


# --- sending, retrying, timing out ------------------------------------------------------------


def message_of(row: Mapping[str, Any]) -> dict[str, Any]:
    """What the equipment receives on ``metropilot/<asset>/commands``."""
    return {
        "command": row["id"],
        "type": row["command"],
        "params": row["params"],
        "deadline": row["deadline"].isoformat(),
    }


_work = threading.Event()


def wake_dispatcher() -> None:
    """Commands were just committed: the dispatcher sends them now, not at its next tick."""
    _work.set()


def wait_for_work(timeout_s: float) -> None:
    """The dispatcher's pause: until commands are committed, or ``timeout_s`` at most."""
    _work.wait(timeout_s)
    _work.clear()


def dispatch(
    uow_factory: UnitOfWorkFactory, transport: CommandTransport, now: datetime | None = None
) -> tuple[int, int]:
    """Send what is due (new commands and retries) in rounds of `DISPATCH_BATCH` until none
    is left, time out what went unanswered; returns (messages sent, commands timed out)."""
    total_sent = total_timed_out = 0
    while True:
        sent, timed_out, full = _dispatch_round(uow_factory, transport, now or utcnow())
        total_sent += sent
        total_timed_out += timed_out
        if not full:
            return total_sent, total_timed_out


def _dispatch_round(
    uow_factory: UnitOfWorkFactory, transport: CommandTransport, now: datetime
) -> tuple[int, int, bool]:
    with uow_factory(write=True) as uow:
        due = repository.due_to_send(uow.connection, now, DISPATCH_BATCH)
        sent_ids: list[int] = []
        last_ids: list[int] = []
        for row in due:
            if row["deadline"] <= now:
                continue  # the timeout below settles it
            spec = COMMAND_SPECS[CommandType(row["command"])]
            try:
                transport.send(row["asset_ref"], message_of(row))
            except Exception:  # the broker is away: try again at the next round
                log.exception("could not send command %s to %s", row["id"], row["asset_ref"])
                break
            if row["attempts"] + 1 >= spec.max_attempts:
                last_ids.append(row["id"])
            else:
                sent_ids.append(row["id"])
        by_spec: dict[timedelta, list[int]] = {}
        for row in due:
            if row["id"] in sent_ids:
                spec = COMMAND_SPECS[CommandType(row["command"])]
                by_spec.setdefault(spec.answer_within / spec.max_attempts, []).append(row["id"])
        for interval, ids in by_spec.items():
            repository.mark_sent(uow.connection, ids, now, now + interval)
        if last_ids:
            repository.mark_sent(uow.connection, last_ids, now, now)
            repository.stop_sending(uow.connection, last_ids)
        timed_out = 0
        for row in repository.overdue(uow.connection, now, DISPATCH_BATCH):
            repository.update_command(
                uow.connection,
                row["id"],
                {
                    "status": transition(CommandStatus(row["status"]), "timeout").value,
                    "finished_at": now,
                    "next_send_at": None,
                    "result": f"no answer by the deadline after {row['attempts']} attempt(s)",
                },
            )
            timed_out += 1
        uow.commit()
    sent = len(sent_ids) + len(last_ids)
    # Another round when this one was full and sent everything it took (not stopped early
    # by a broker away, nor holding only commands past their deadline).
    return sent, timed_out, len(due) == DISPATCH_BATCH and sent == len(due)


# --- answers from the equipment ---------------------------------------------------------------


def record_answers(
    uow: UnitOfWork, events: Sequence[tuple[int, int, str, str]], now: datetime
) -> int:
    """Apply the equipment's answers among a batch's device events (asset id, time, code,
    payload JSON), in the ingest's transaction: one read of the commands answered and one
    statement per set of columns changed, so that an area's thousands of answers cost a few
    statements. Returns how many commands moved on."""
    answers: list[tuple[int, int, str, dict[str, Any]]] = []
    for asset_id, _ts_ms, code, payload_json in events:
        event = ANSWER_CODES.get(code)
        if event is None:
            continue
        try:
            payload = orjson.loads(payload_json)
            command_id = int(payload["command"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            log.warning("asset %s sent %s without a command id", asset_id, code)
            continue
        answers.append((asset_id, command_id, event, payload))
    if not answers:
        return 0
    state = repository.get_commands(uow.connection, sorted({a[1] for a in answers}))
    changed: dict[int, dict[str, Any]] = {}
    for asset_id, command_id, event, payload in answers:  # in arrival order: ack before done
        row = state.get(command_id)
        if row is None or row["asset_id"] != asset_id:
            log.warning("asset %s answered command %s, which is not its own", asset_id, command_id)
            continue
        try:
            after = transition(CommandStatus(row["status"]), event)
        except Conflict:
            continue  # a late or repeated answer: the device event keeps it on record
        values = changed.setdefault(command_id, {})
        values.update({"status": after.value, "next_send_at": None})
        if after is CommandStatus.ACKNOWLEDGED and row["acknowledged_at"] is None:
            values["acknowledged_at"] = now
        if after.final:
            values["finished_at"] = now
            if row["acknowledged_at"] is None and "acknowledged_at" not in values:
                values["acknowledged_at"] = now
        if after is CommandStatus.FAILED:
            values["result"] = str(payload.get("message") or "the equipment reported a failure")[
                :500
            ]
        row.update(values)  # a later answer of this batch starts from here
    if changed:
        repository.update_commands(uow.connection, changed)
    return len(changed)


# --- scenarios --------------------------------------------------------------------------------

# What each command changes, as the equipment reports it: remembered before a scenario runs, so
# that a rollback can ask for it again.
STATE_METRICS: Final[Mapping[CommandType, tuple[str, ...]]] = {
    CommandType.SET_LIGHT_LEVEL: ("light_level_pct",),
    CommandType.SWITCH_LIGHT: ("light_level_pct",),
    CommandType.SET_JUNCTION_MODE: ("junction_mode",),
    CommandType.SET_BOLLARD: ("bollard_up",),
    CommandType.SET_DOOR_LOCK: ("door_locked",),
    CommandType.CAMERA_PRESET: ("camera_preset",),
}
NEAREST_WITHIN_M: Final = 1_000.0


@dataclass(frozen=True, slots=True)
class PlannedCommand:
    step: int
    label: str
    command: CommandType
    params: Mapping[str, Any]
    assets: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True, slots=True)
class Plan:
    scenario: Scenario
    params: Mapping[str, Any]
    commands: tuple[PlannedCommand, ...]
    work_orders: tuple[dict[str, Any], ...]
    alert: dict[str, Any] | None
    warnings: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario.code,
            "name": self.scenario.name,
            "params": {k: list(v) if isinstance(v, tuple) else v for k, v in self.params.items()},
            "commands": [
                {
                    "step": c.step,
                    "label": c.label,
                    "command": c.command.value,
                    "params": dict(c.params),
                    "assets": [a["external_ref"] for a in c.assets],
                    "count": len(c.assets),
                }
                for c in self.commands
            ],
            "work_orders": list(self.work_orders),
            "alert": self.alert,
            "warnings": list(self.warnings),
        }


def _latest(uow: UnitOfWork, asset_id: int, metrics: Sequence[str]) -> dict[str, float]:
    """The newest reported value of each metric (raw readings first, then the stored twin)."""
    found: dict[str, float] = {}
    r, t = telemetry_raw.c, twin_values.c
    for metric in metrics:
        newest = uow.connection.execute(
            select(r.value)
            .where(r.asset_id == asset_id, r.metric == metric)
            .order_by(r.ts_ms.desc())
            .limit(1)
        ).scalar()
        if newest is None:
            newest = uow.connection.execute(
                select(t.value).where(t.asset_id == asset_id, t.metric == metric)
            ).scalar()
        if newest is not None:
            found[metric] = float(newest)
    return found


def _place(
    uow: UnitOfWork, caller: Caller, scenario: Scenario, values: Mapping[str, Any]
) -> tuple[dict[str, tuple[float, float]], dict[str, dict[str, Any]], dict[str, str]]:
    """The scenario's places: (lon, lat) of its asset and point parameters, the asset rows, and
    the display name of each parameter (for the public message)."""
    points: dict[str, tuple[float, float]] = {}
    assets: dict[str, dict[str, Any]] = {}
    names: dict[str, str] = {}
    for param in scenario.params:
        value = values.get(param.name)
        if param.kind == "asset":
            row = _one_asset(uow, caller, str(value))
            if param.asset_kind and row["kind"] != param.asset_kind:
                raise InvalidInput(
                    f"{param.name}: {row['external_ref']} is a {row['kind']}, not a "
                    f"{param.asset_kind}",
                    code="invalid_scenario",
                )
            assets[param.name] = row
            points[param.name] = (row["lon"], row["lat"])
            names[param.name] = row["external_ref"]
        elif param.kind == "point":
            assert isinstance(value, tuple)
            points[param.name] = value
            names[param.name] = f"{value[1]:.4f}, {value[0]:.4f}"
        elif param.kind == "route":
            assert isinstance(value, tuple)
            names[param.name] = _route_name(uow, value)
        elif param.kind == "commune":
            names[param.name] = _commune_name(uow, str(value), caller.scope)
        else:
            names[param.name] = str(value)
    return points, assets, names


def _route_name(uow: UnitOfWork, route: Sequence[tuple[float, float]]) -> str:
    """The route told by the communes it starts and ends in (or its end points)."""
    locator = territory_services.locator(uow)
    ends = [locator.locate(*route[0]), locator.locate(*route[-1])]
    named = [_commune_name(uow, insee) for insee in ends if insee is not None]
    if not named:
        return (
            f"from {route[0][1]:.4f}, {route[0][0]:.4f} to {route[-1][1]:.4f}, {route[-1][0]:.4f}"
        )
    return named[0] if len(set(named)) == 1 else f"{named[0]} to {named[-1]}"


def _commune_name(uow: UnitOfWork, insee: str, scope: Scope | None = None) -> str:
    """A commune's name; a commune a caller names outside its scope is answered as an unknown
    one (the plan's work orders and public message would land there)."""
    row = uow.connection.execute(select(communes.c.name).where(communes.c.insee == insee)).first()
    if row is None or (scope is not None and not scope.allows_commune(insee)):
        raise NotFound(f"no commune {insee!r}", code="unknown_commune")
    return str(row[0])


def _selected(
    uow: UnitOfWork,
    caller: Caller,
    selection: Selection,
    values: Mapping[str, Any],
    points: Mapping[str, tuple[float, float]],
    assets: Mapping[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    a = assets_repository.assets.c
    if selection.of is not None:
        return [assets[selection.of]]
    of_kind = a.kind.in_(list(selection.kinds))
    if selection.commune is not None:
        return _asset_rows(uow, caller, of_kind & (a.commune_insee == values[selection.commune]))
    if selection.along is not None:
        return _along(
            uow, caller, of_kind, values[selection.along], float(values[selection.within or ""])
        )
    assert selection.around is not None
    lon, lat = points[selection.around]
    radius = float(values[selection.within]) if selection.within else NEAREST_WITHIN_M
    box = BBox.around(lon, lat, radius)
    rows = _asset_rows(
        uow,
        caller,
        of_kind & a.lon.between(box.min_lon, box.max_lon) & a.lat.between(box.min_lat, box.max_lat),
    )
    plane = LocalPlane(lon, lat)
    placed = sorted(
        (plane.distance_m(lon, lat, row["lon"], row["lat"]), row["id"], row) for row in rows
    )
    inside = [row for distance, _, row in placed if distance <= radius]
    return inside[: selection.nearest] if selection.nearest else inside


def _along(
    uow: UnitOfWork,
    caller: Caller,
    of_kind: Any,
    route: Sequence[tuple[float, float]],
    width_m: float,
) -> list[dict[str, Any]]:
    """The assets within ``width_m`` of a route, in the order they come along it."""
    a = assets_repository.assets.c
    lons, lats = [p[0] for p in route], [p[1] for p in route]
    plane = LocalPlane(lons[0], lats[0])
    margin_lon = width_m / plane.metres_per_degree_lon
    margin_lat = width_m / METRES_PER_DEGREE_LAT
    rows = _asset_rows(
        uow,
        caller,
        of_kind
        & a.lon.between(min(lons) - margin_lon, max(lons) + margin_lon)
        & a.lat.between(min(lats) - margin_lat, max(lats) + margin_lat),
    )
    line = LineString([plane.to_xy(lon, lat) for lon, lat in route])
    placed = []
    for row in rows:
        point = Point(plane.to_xy(row["lon"], row["lat"]))
        if line.distance(point) <= width_m:
            placed.append((line.project(point), row["id"], row))
    return [row for _, _, row in sorted(placed)]


def plan_scenario(uow: UnitOfWork, caller: Caller, code: str, given: Mapping[str, Any]) -> Plan:
    """Exactly what running the scenario would do now: the commands and their assets, the work
    orders, the public message. `run_scenario` carries out this same plan."""
    scenario = get_scenario(code)
    values = parse_params(scenario, given)
    points, assets, names = _place(uow, caller, scenario, values)
    commands: list[PlannedCommand] = []
    work_orders: list[dict[str, Any]] = []
    alert: dict[str, Any] | None = None
    warnings: list[str] = []
    for index, step in enumerate(scenario.steps):
        if isinstance(step, CommandStep):
            kind, normalised = parse_command(step.command, step.params)
            check_permission(kind, caller.role)
            rows = _selected(uow, caller, step.select, values, points, assets)
            if not rows:
                warnings.append(f"{step.label}: no such equipment there")
                continue
            if kind is CommandType.SET_JUNCTION_MODE:
                for row in rows:
                    _check_junction(uow, row, normalised)
            commands.append(PlannedCommand(index, step.label, kind, normalised, tuple(rows)))
        elif isinstance(step, WorkOrderStep):
            at = assets.get(step.at)
            work_orders.append(
                {
                    "step": index,
                    "category": step.category,
                    "priority": step.priority,
                    "asset": None if at is None else at["external_ref"],
                    "commune": at["commune_insee"] if at is not None else values.get(step.at),
                    "title": step.title,
                    "instructions": step.instructions,
                }
            )
        else:
            alert = {
                "message": step.message.format(**names),
                "hours": step.hours,
                "commune": _alert_commune(scenario, values, assets),
            }
    return Plan(scenario, values, tuple(commands), tuple(work_orders), alert, tuple(warnings))


def _alert_commune(
    scenario: Scenario, values: Mapping[str, Any], assets: Mapping[str, dict[str, Any]]
) -> str | None:
    for param in scenario.params:
        if param.kind == "commune":
            return str(values[param.name])
        if param.kind == "asset":
            return str(assets[param.name]["commune_insee"])
    return None


def preview_scenario(
    uow: UnitOfWork, caller: Caller, code: str, given: Mapping[str, Any]
) -> dict[str, Any]:
    return plan_scenario(uow, caller, code, given).as_dict()


def run_scenario(
    uow: UnitOfWork,
    caller: Caller,
    code: str,
    given: Mapping[str, Any],
    *,
    reason: str | None,
    confirm: bool,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Carry the plan out in one transaction: the commands (sent after the commit), the cases
    and their work orders, the public message; remember each touched asset's reported state."""
    why = check_reason(reason)
    now = now or utcnow()
    plan = plan_scenario(uow, caller, code, given)
    if not confirm:
        total = sum(len(c.assets) for c in plan.commands)
        raise Conflict(
            f"{plan.scenario.name} would command {total:,} assets and open "
            f"{len(plan.work_orders)} work order(s): preview it, then run it with "
            f'"{AREA_CONFIRMATION}": true',
            code="confirmation_required",
        )
    previous: dict[str, dict[str, float]] = {}
    batches: list[int] = []
    for planned in plan.commands:
        metrics = STATE_METRICS.get(planned.command, ())
        for row in planned.assets:
            state = _latest(uow, row["id"], metrics)
            previous.setdefault(str(row["id"]), {}).update(
                {k: v for k, v in state.items() if k not in previous.get(str(row["id"]), {})}
            )
        batch_id, _ = _store(
            uow,
            caller,
            planned.command,
            planned.params,
            planned.assets,
            f"{plan.scenario.name}: {why}",
            {"scenario": plan.scenario.code, "step": planned.label},
            now,
        )
        assert batch_id is not None
        batches.append(batch_id)
    case_ids = [_open_work_order(uow, caller, order, why) for order in plan.work_orders]
    alert_id = None
    if plan.alert is not None:
        alert_id = repository.insert_alert(
            uow.connection,
            {
                "message": plan.alert["message"],
                "commune_insee": plan.alert["commune"],
                "starts_at": now,
                "ends_at": now + timedelta(hours=float(plan.alert["hours"])),
            },
        )
    run_id = repository.insert_run(
        uow.connection,
        {
            "scenario": plan.scenario.code,
            "params": plan.as_dict()["params"],
            "plan": plan.as_dict(),
            "previous": previous,
            "batches": batches,
            "cases": case_ids,
            "alert_id": alert_id,
            "reason": why,
            "run_at": now,
            "actor": caller.actor.label(),
        },
    )
    uow.audit(
        AuditEntry(
            caller.actor,
            "scenario.run",
            "scenario_run",
            str(run_id),
            {"scenario": [None, plan.scenario.code], "reason": [None, why]},
            at=now,
        )
    )
    return get_run(uow, run_id)


def _open_work_order(uow: UnitOfWork, caller: Caller, order: Mapping[str, Any], why: str) -> int:
    asset_id = None
    if order["asset"] is not None:
        asset_id = _one_asset(uow, caller, order["asset"])["id"]
    case = cases_services.open_case(
        uow,
        origin=CaseOrigin.OPERATOR,
        category=order["category"],
        priority=parse_priority(order["priority"]),
        actor=caller.actor,
        asset_id=asset_id,
        commune_insee=order["commune"],
        title=order["title"],
        description=f"{order['instructions']} ({why})",
    )
    # The operator running the plan decided it: triaged at once, and sent to the team the
    # routing rules give it (without one, it waits in the command post's queue).
    case = cases_services.triage(uow, case.id, caller.actor, caller.role)
    if case.assignee is not None:
        cases_services.dispatch(
            uow, case.id, caller.actor, caller.role, instructions=order["instructions"]
        )
    return case.id


def get_run(uow: UnitOfWork, run_id: int) -> dict[str, Any]:
    row = repository.get_run(uow.connection, run_id)
    if not row:
        raise NotFound(f"no scenario run {run_id}", code="unknown_run")
    return {
        "id": row["id"],
        "scenario": row["scenario"],
        "plan": row["plan"],
        "batches": [get_batch(uow, b) for b in row["batches"]],
        "cases": row["cases"],
        "alert": row["alert_id"],
        "reason": row["reason"],
        "run_at": row["run_at"].isoformat(),
        "actor": row["actor"],
        "rolled_back_at": None
        if row["rolled_back_at"] is None
        else row["rolled_back_at"].isoformat(),
        "rollback_batches": [get_batch(uow, b) for b in row["rollback_batches"] or []],
    }


def _restoring(kind: CommandType, state: Mapping[str, float]) -> dict[str, Any] | None:
    """The parameters that ask for a remembered state again (None: nothing was reported)."""
    if kind in (CommandType.SET_LIGHT_LEVEL, CommandType.SWITCH_LIGHT):
        level = state.get("light_level_pct")
        return None if level is None else {"level_pct": round(level)}
    if kind is CommandType.SET_JUNCTION_MODE:
        code = state.get("junction_mode")
        mode = JUNCTION_MODE_CODES.get(int(code)) if code is not None else None
        # A forced green is never restored: it was a moment of an escort, not a state.
        return None if mode is None else {"mode": "normal" if mode == "forced_green" else mode}
    if kind is CommandType.SET_BOLLARD:
        up = state.get("bollard_up")
        return None if up is None else {"position": "up" if up == 1.0 else "down"}
    if kind is CommandType.SET_DOOR_LOCK:
        locked = state.get("door_locked")
        return None if locked is None else {"locked": locked == 1.0}
    if kind is CommandType.CAMERA_PRESET:
        preset = state.get("camera_preset")
        return None if preset is None or preset < 1 else {"preset": int(preset)}
    return None


def rollback_scenario(
    uow: UnitOfWork, caller: Caller, run_id: int, *, reason: str | None, now: datetime | None = None
) -> dict[str, Any]:
    """Ask every asset the run touched for the state it reported before the run; end its public
    message. The work orders stay: they are real work, closed by the teams."""
    why = check_reason(reason)
    now = now or utcnow()
    row = repository.get_run(uow.connection, run_id)
    if not row:
        raise NotFound(f"no scenario run {run_id}", code="unknown_run")
    if row["rolled_back_at"] is not None:
        raise Conflict(f"scenario run {run_id} was already rolled back", code="already_rolled_back")
    a = assets_repository.assets.c
    batches: list[int] = []
    unknown: list[str] = []
    for planned in row["plan"]["commands"]:
        kind = CommandType(planned["command"])
        check_permission(kind, caller.role)
        by_params: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
        for target in _asset_rows(uow, caller, a.external_ref.in_(planned["assets"])):
            wanted = _restoring(kind, row["previous"].get(str(target["id"]), {}))
            if wanted is None:
                unknown.append(target["external_ref"])
                continue
            key = orjson.dumps(wanted, option=orjson.OPT_SORT_KEYS).decode()
            by_params.setdefault(key, (wanted, []))[1].append(target)
        for wanted, targets in by_params.values():
            kind_params = parse_command(kind.value, wanted)[1]
            batch_id, _ = _store(
                uow,
                caller,
                kind,
                kind_params,
                targets,
                f"rollback of {row['scenario']} run {run_id}: {why}",
                {"rollback": run_id, "step": planned["label"]},
                now,
            )
            assert batch_id is not None
            batches.append(batch_id)
    if row["alert_id"] is not None:
        repository.end_alert(uow.connection, row["alert_id"], now)
    repository.update_run(
        uow.connection, run_id, {"rolled_back_at": now, "rollback_batches": batches}
    )
    uow.audit(
        AuditEntry(
            caller.actor,
            "scenario.rolled_back",
            "scenario_run",
            str(run_id),
            {"reason": [None, why], "unknown_state": [None, len(unknown)]},
            at=now,
        )
    )
    result = get_run(uow, run_id)
    result["not_restored"] = sorted(set(unknown))
    return result


def public_alerts(uow: UnitOfWork, now: datetime | None = None) -> list[dict[str, Any]]:
    return [
        {
            "id": row["id"],
            "message": row["message"],
            "commune": row["commune_insee"],
            "from": row["starts_at"].isoformat(),
            "until": row["ends_at"].isoformat(),
        }
        for row in repository.active_alerts(uow.connection, now or utcnow())
    ]


# --- dimming programs on the cabinets ---------------------------------------------------------

LEVEL_DRIFT_POINTS: Final = 10.0  # lamps this far from the program's level are drifting
FRESH_READING: Final = timedelta(hours=2)


def _schedule(uow: UnitOfWork, code: str) -> dict[str, Any]:
    """What a cabinet receives: the program's steps (dusk and dawn from its own astronomical
    clock, the rest local clock times) and the version it is, to report back."""
    row = contracts_repository.get_program(uow.connection, code)
    if row is None:
        raise NotFound(f"no dimming program {code!r}", code="unknown_program")
    return {"program": code, "version": row["updated_at"].isoformat(), "steps": row["steps"]}


def cabinet_programs(
    uow: UnitOfWork,
    caller: Caller,
    *,
    commune: str | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Each lighting cabinet: the program it should run today, the one it last confirmed
    running, and whether it drifts — never given its program, running another one or an older
    version, or its lamps reporting a level the program does not ask for now."""
    now = now or utcnow()
    a = assets_repository.assets.c
    where = a.kind == "lighting_cabinet"
    if commune is not None:
        where = where & (a.commune_insee == commune)
    cabinets = _asset_rows(uow, caller, where)
    if not cabinets:
        return []
    today = now.astimezone(CONTRACT_ZONE).date()
    expected = contracts_services.programs_in_force(
        uow, [(c["id"], c["commune_insee"]) for c in cabinets], today
    )
    programs = {row["code"]: row for row in contracts_repository.list_programs(uow.connection)}
    running = _last_applied(uow, [c["id"] for c in cabinets])
    levels = _lamp_levels(uow, [c["id"] for c in cabinets], now)
    out = []
    for cabinet in cabinets:
        should = expected.get(cabinet["id"])
        program_row = programs.get(should) if should else None
        version = None if program_row is None else program_row["updated_at"].isoformat()
        applied = running.get(cabinet["id"])
        reasons: list[str] = []
        if should is not None:
            if applied is None:
                reasons.append("never given its program")
            elif applied["program"] != should:
                reasons.append(f"runs {applied['program']}, should run {should}")
            elif applied.get("version") != version:
                reasons.append(f"runs an older version of {should}")
        wanted_level = None
        if program_row is not None:
            program = DimmingProgram.from_dict(
                {"name": program_row["name"], "steps": program_row["steps"]}
            )
            wanted_level = level_at(program, cabinet["lon"], cabinet["lat"], now)
        reported = levels.get(cabinet["id"])
        if (
            wanted_level is not None
            and reported is not None
            and abs(reported - wanted_level) > LEVEL_DRIFT_POINTS
        ):
            reasons.append(
                f"its lamps report {reported:.0f}% where the program asks {wanted_level:.0f}%"
            )
        out.append(
            {
                "cabinet": cabinet["id"],
                "ref": cabinet["external_ref"],
                "commune": cabinet["commune_insee"],
                "expected": None if should is None else {"program": should, "version": version},
                "running": applied,
                "level_now": wanted_level,
                "lamps_level": None if reported is None else round(reported, 1),
                "drift": bool(reasons),
                "reasons": reasons,
            }
        )
    return out


def _last_applied(uow: UnitOfWork, cabinet_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The program each cabinet last confirmed (its newest done apply_dimming_program)."""
    c = repository.commands.c
    rows = uow.connection.execute(
        select(c.asset_id, c.params, c.finished_at)
        .where(
            c.asset_id.in_(list(cabinet_ids)),
            c.command == CommandType.APPLY_DIMMING_PROGRAM.value,
            c.status == CommandStatus.DONE.value,
        )
        .order_by(c.finished_at)
    )
    found: dict[int, dict[str, Any]] = {}
    for asset_id, params, finished_at in rows:
        found[int(asset_id)] = {
            "program": params.get("program"),
            "version": params.get("version"),
            "since": finished_at.isoformat(),
        }
    return found


def _lamp_levels(uow: UnitOfWork, cabinet_ids: Sequence[int], now: datetime) -> dict[int, float]:
    """The mean light level the lamps of each cabinet reported lately."""
    a, t = assets_repository.assets.c, twin_values.c
    since_ms = int((now - FRESH_READING).timestamp() * 1000)
    rows = uow.connection.execute(
        select(a.parent_id, func.avg(t.value))
        .select_from(assets_repository.assets.join(twin_values, t.asset_id == a.id))
        .where(
            a.parent_id.in_(list(cabinet_ids)),
            t.metric == "light_level_pct",
            t.ts_ms >= since_ms,
        )
        .group_by(a.parent_id)
    )
    return {int(parent): float(level) for parent, level in rows}


def push_programs(
    uow: UnitOfWork,
    caller: Caller,
    *,
    reason: str | None,
    confirm: bool,
    commune: str | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Give every drifting cabinet (of a commune) the program it should run: one confirmed
    batch per program."""
    check_permission(CommandType.APPLY_DIMMING_PROGRAM, caller.role)
    why = check_reason(reason)
    if commune is not None:
        _commune_name(uow, commune, caller.scope)  # an unknown commune is not "nothing drifts"
    now = now or utcnow()
    drifting = [
        c
        for c in cabinet_programs(uow, caller, commune=commune, now=now)
        if c["drift"] and c["expected"] is not None
    ]
    if not drifting:
        return []
    if not confirm:
        raise Conflict(
            f"{len(drifting)} cabinet(s) would be given their program: send it again with "
            f'"{AREA_CONFIRMATION}": true',
            code="confirmation_required",
        )
    a = assets_repository.assets.c
    by_program: dict[str, list[int]] = {}
    for cabinet in drifting:
        by_program.setdefault(cabinet["expected"]["program"], []).append(cabinet["cabinet"])
    batches = []
    for code, ids in by_program.items():
        rows = _asset_rows(uow, caller, a.id.in_(ids))
        batch_id, _ = _store(
            uow,
            caller,
            CommandType.APPLY_DIMMING_PROGRAM,
            _schedule(uow, code),
            rows,
            why,
            {"cabinets": "drifting", "commune": commune, "program": code},
            now,
        )
        assert batch_id is not None
        batches.append(get_batch(uow, batch_id))
    return batches
