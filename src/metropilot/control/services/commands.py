"""Issuing commands (checked, stored ``pending``, audited) and reading them and their batches."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from metropilot.assets.queries import PlacedAsset
from metropilot.contracts.queries import dimming_program
from metropilot.control import repository
from metropilot.control.model import (
    AREA_CONFIRMATION,
    COMMAND_SPECS,
    CommandsIssued,
    CommandStatus,
    CommandType,
    batch_status,
    check_junction,
    check_permission,
    check_reason,
    check_target,
    parse_command,
)
from metropilot.control.services.results import BatchOut, CommandOut, ProgramSchedule
from metropilot.control.services.targets import Caller, area_assets, one_asset, visible
from metropilot.db.uow import UnitOfWork
from metropilot.shared.audit import AuditEntry
from metropilot.shared.clock import utcnow
from metropilot.shared.errors import Conflict, InvalidInput, NotFound, Problem
from metropilot.shared.scope import Scope
from metropilot.telemetry.queries import latest_values

# How a junction reports its mode as a number (telemetry metrics are numbers).
JUNCTION_MODE_CODES: Final = {0: "normal", 1: "flashing_amber", 2: "all_red", 3: "forced_green"}
MAX_AREA: Final = 20_000
JUNCTION_METRICS: Final = ("junction_mode", "junction_approach", "controller_fault")


def _reported(uow: UnitOfWork, asset_id: int) -> dict[str, float]:
    """What the junction last reported: its newest raw readings, written in the very transaction
    that accepted them (the stored twin may lag by a few seconds), else the stored twin."""
    return latest_values(uow.connection, asset_id, JUNCTION_METRICS)


def check_junction_state(uow: UnitOfWork, row: PlacedAsset, params: Mapping[str, Any]) -> None:
    reported = _reported(uow, row.id)
    code = reported.get("junction_mode")
    approach = reported.get("junction_approach")
    check_junction(
        params,
        reported_mode=None if code is None else JUNCTION_MODE_CODES.get(int(code)),
        reported_approach=None if approach is None else int(approach),
        controller_fault=reported.get("controller_fault") == 1.0,
        approaches=int(row.attributes.get("approaches", 4)),
        ref=row.external_ref,
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
) -> CommandOut | BatchOut:
    """Accept a command for one asset or an area; stored ``pending``, sent after the commit."""
    normalised: Mapping[str, Any]
    kind, normalised = parse_command(command, params)
    check_permission(kind, caller.role)
    why = check_reason(reason)
    spec = COMMAND_SPECS[kind]
    now = now or utcnow()
    if (asset is None) == (area is None):
        raise InvalidInput('give either "asset" or "area"', code="invalid_target")
    if kind is CommandType.APPLY_DIMMING_PROGRAM:
        normalised = schedule(uow, normalised["program"])
    if asset is not None:
        rows = [one_asset(uow, caller, asset)]
        check_target(kind, rows[0].kind, rows[0].external_ref)
    else:
        assert area is not None
        rows = area_assets(uow, caller, area, spec.kinds)
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
            check_junction_state(uow, row, normalised)
    batch_id, ids = store(uow, caller, kind, normalised, rows, why, area, now)
    if batch_id is not None:
        return get_batch(uow, batch_id)
    return get_command(uow, ids[0])


def store(
    uow: UnitOfWork,
    caller: Caller,
    kind: CommandType,
    normalised: Mapping[str, Any],
    rows: Sequence[PlacedAsset],
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
                "asset_id": row.id,
                "asset_ref": row.external_ref,
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
                "assets": [None, len(rows) if batch_id is not None else rows[0].external_ref],
            },
            at=now,
        )
    )
    uow.record(
        CommandsIssued(
            command=kind.value,
            batch_id=batch_id,
            command_ids=tuple(ids),
            asset_ids=tuple(row.id for row in rows),
            communes=tuple(sorted({row.commune_insee for row in rows})),
            reason=why,
            actor=caller.actor.label(),
            occurred_at=now,
        )
    )
    return batch_id, ids


def _command_out(row: Mapping[str, Any]) -> CommandOut:
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


def get_command(uow: UnitOfWork, command_id: int, scope: Scope | None = None) -> CommandOut:
    row = repository.get_command(uow.connection, command_id)
    if row is None or (scope is not None and not visible(uow, scope, row["asset_id"])):
        raise NotFound(f"no command {command_id}", code="unknown_command")
    return _command_out(row)


def get_batch(uow: UnitOfWork, batch_id: int) -> BatchOut:
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
) -> list[CommandOut]:
    for status in statuses:
        try:
            CommandStatus(status)
        except ValueError:
            raise InvalidInput(f"unknown command status {status!r}") from None
    rows = repository.list_commands(
        uow.connection, asset_id=asset_id, batch_id=batch_id, statuses=statuses, limit=limit
    )
    return [_command_out(row) for row in rows]


def schedule(uow: UnitOfWork, code: str) -> ProgramSchedule:
    """What a cabinet receives: the program's steps (dusk and dawn from its own astronomical
    clock, the rest local clock times) and the version it is, to report back."""
    program = dimming_program(uow.connection, code)
    if program is None:
        raise NotFound(f"no dimming program {code!r}", code="unknown_program")
    return {"program": code, "version": program.version, "steps": program.steps}
