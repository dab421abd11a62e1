"""Dimming programs on the lighting cabinets: what each should run, what it runs, whether it
drifts, and giving the drifting ones their program."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

from metropilot.assets.queries import AssetSelection
from metropilot.contracts import services as contracts_services
from metropilot.contracts.energy import DimmingProgram, level_at
from metropilot.contracts.model import CONTRACT_ZONE
from metropilot.contracts.queries import dimming_programs
from metropilot.control import repository
from metropilot.control.model import AREA_CONFIRMATION, CommandType, check_permission, check_reason
from metropilot.control.services.commands import get_batch, schedule, store
from metropilot.control.services.results import AppliedProgram, BatchOut, CabinetProgram
from metropilot.control.services.targets import Caller, commune_named, reachable
from metropilot.db.uow import UnitOfWork
from metropilot.shared.clock import utcnow
from metropilot.shared.errors import Conflict

LEVEL_DRIFT_POINTS: Final = 10.0  # lamps this far from the program's level are drifting
FRESH_READING: Final = timedelta(hours=2)


def cabinet_programs(
    uow: UnitOfWork, caller: Caller, *, commune: str | None = None, now: datetime | None = None
) -> list[CabinetProgram]:
    """Each lighting cabinet: the program it should run today, the one it last confirmed
    running, and whether it drifts — never given its program, running another one or an older
    version, or its lamps reporting a level the program does not ask for now."""
    now = now or utcnow()
    selection = AssetSelection(kinds=["lighting_cabinet"], commune=commune)
    cabinets = reachable(uow, caller, selection)
    if not cabinets:
        return []
    today = now.astimezone(CONTRACT_ZONE).date()
    expected = contracts_services.programs_in_force(
        uow, [(c.id, c.commune_insee) for c in cabinets], today
    )
    programs = {p.code: p for p in dimming_programs(uow.connection)}
    running = _last_applied(uow, [c.id for c in cabinets])
    levels = _lamp_levels(uow, [c.id for c in cabinets], now)
    out: list[CabinetProgram] = []
    for cabinet in cabinets:
        should = expected.get(cabinet.id)
        program_row = programs.get(should) if should else None
        version = None if program_row is None else program_row.version
        applied = running.get(cabinet.id)
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
                {"name": program_row.name, "steps": program_row.steps}
            )
            wanted_level = level_at(program, cabinet.lon, cabinet.lat, now)
        reported = levels.get(cabinet.id)
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
                "cabinet": cabinet.id,
                "ref": cabinet.external_ref,
                "commune": cabinet.commune_insee,
                "expected": None if should is None else {"program": should, "version": version},
                "running": applied,
                "level_now": wanted_level,
                "lamps_level": None if reported is None else round(reported, 1),
                "drift": bool(reasons),
                "reasons": reasons,
            }
        )
    return out


def _last_applied(uow: UnitOfWork, cabinet_ids: Sequence[int]) -> dict[int, AppliedProgram]:
    """The program each cabinet last confirmed (its newest done apply_dimming_program)."""
    done = repository.last_done(
        uow.connection, cabinet_ids, CommandType.APPLY_DIMMING_PROGRAM.value
    )
    return {
        asset_id: {
            "program": params.get("program"),
            "version": params.get("version"),
            "since": finished_at.isoformat(),
        }
        for asset_id, (params, finished_at) in done.items()
    }


def _lamp_levels(uow: UnitOfWork, cabinet_ids: Sequence[int], now: datetime) -> dict[int, float]:
    """The mean light level the lamps of each cabinet reported lately."""
    since_ms = int((now - FRESH_READING).timestamp() * 1000)
    return repository.mean_of_children(uow.connection, cabinet_ids, "light_level_pct", since_ms)


def push_programs(
    uow: UnitOfWork,
    caller: Caller,
    *,
    reason: str | None,
    confirm: bool,
    commune: str | None = None,
    now: datetime | None = None,
) -> list[BatchOut]:
    """Give every drifting cabinet (of a commune) the program it should run: one confirmed
    batch per program."""
    check_permission(CommandType.APPLY_DIMMING_PROGRAM, caller.role)
    why = check_reason(reason)
    if commune is not None:
        commune_named(uow, commune, caller.scope)  # an unknown commune is not "nothing drifts"
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
    by_program: dict[str, list[int]] = {}
    for cabinet in drifting:
        expected = cabinet["expected"]
        assert expected is not None  # drifting ones expect a program
        by_program.setdefault(expected["program"], []).append(cabinet["cabinet"])
    batches: list[BatchOut] = []
    for code, ids in by_program.items():
        rows = reachable(uow, caller, AssetSelection(ids=ids))
        batch_id, _ = store(
            uow,
            caller,
            CommandType.APPLY_DIMMING_PROGRAM,
            schedule(uow, code),
            rows,
            why,
            {"cabinets": "drifting", "commune": commune, "program": code},
            now,
        )
        assert batch_id is not None
        batches.append(get_batch(uow, batch_id))
    return batches
