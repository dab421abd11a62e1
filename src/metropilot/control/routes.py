"""HTTP: commands to equipment and their follow-up.

| action | operator | supervisor | commune agent | others |
|---|---|---|---|---|
| give a command | ✓ | ✓ | lights and buildings of their communes | |
| apply a dimming program | | ✓ | | |
| follow commands | ✓ | ✓ | their communes' | |

Which command each role may give is checked per command type (`control.model.COMMAND_SPECS`);
the equipment a caller may command is the equipment they may see.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from metropilot.accounts.audience import Audience, audience
from metropilot.accounts.auth import CurrentPrincipal
from metropilot.accounts.policy import Principal, asset_scope
from metropilot.api.deps import UowDep, WriteUowDep
from metropilot.api.formats import comma_list, list_envelope
from metropilot.api.params import ObjectId
from metropilot.api.responses import JSONResponseFast
from metropilot.control import services
from metropilot.control.scenarios import SCENARIOS, describe
from metropilot.control.schemas import (
    AlertListOut,
    BatchListOut,
    BatchOut,
    CabinetProgramListOut,
    CommandIn,
    CommandListOut,
    CommandOut,
    PlanOut,
    PushProgramsIn,
    RollbackIn,
    RollbackOut,
    RunOut,
    ScenarioIn,
    ScenarioListOut,
)
from metropilot.shared.errors import NotFound

__all__ = ["router"]

router = APIRouter(tags=["control"])

COMMANDERS = (Audience.OPERATOR, Audience.SUPERVISOR, Audience.COMMUNE_AGENT)


def _caller(principal: Principal) -> services.Caller:
    role = principal.role.value if principal.role is not None else None
    return services.Caller(role=role, scope=asset_scope(principal), actor=principal.actor())


@router.post(
    "/commands",
    dependencies=[audience(*COMMANDERS)],
    summary="Command one asset or an area (confirmed); followed by GET /commands/{id}",
    status_code=201,
    response_model=CommandOut | BatchOut,
)
def post_command(body: CommandIn, principal: CurrentPrincipal, uow: WriteUowDep) -> Any:
    found = services.issue(
        uow,
        _caller(principal),
        command=body.command,
        params=body.params,
        reason=body.reason,
        asset=body.asset,
        area=body.area,
        confirm=body.confirm,
    )
    uow.commit()
    services.wake_dispatcher()
    return JSONResponseFast(found, status_code=201)


@router.get(
    "/commands",
    dependencies=[audience(*COMMANDERS)],
    summary="Commands, newest first",
    response_model=CommandListOut,
)
def list_commands(
    principal: CurrentPrincipal,
    uow: UowDep,
    asset: Annotated[ObjectId | None, Query()] = None,
    batch: Annotated[ObjectId | None, Query()] = None,
    status: Annotated[str | None, Query(description="statuses, comma separated")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    scope = asset_scope(principal)
    found = services.list_commands(
        uow, asset_id=asset, batch_id=batch, statuses=comma_list(status), limit=limit
    )
    visible = [c for c in found if services.visible(uow, scope, c["asset"])]
    return list_envelope(visible, None)


@router.get(
    "/commands/{command_id}",
    dependencies=[audience(*COMMANDERS)],
    summary="One command: pending, sent, acknowledged, done, failed or timed_out",
    response_model=CommandOut,
)
def get_command(command_id: ObjectId, principal: CurrentPrincipal, uow: UowDep) -> Any:
    return JSONResponseFast(services.get_command(uow, command_id, asset_scope(principal)))


@router.get(
    "/command-batches/{batch_id}",
    dependencies=[audience(*COMMANDERS)],
    summary="An area command: how many of its commands are in each status",
    response_model=BatchOut,
)
def get_batch(batch_id: ObjectId, principal: CurrentPrincipal, uow: UowDep) -> Any:
    found = services.get_batch(uow, batch_id)
    scope = asset_scope(principal)
    if not scope.unrestricted:
        mine = services.list_commands(uow, batch_id=batch_id, limit=1)
        if not mine or not services.visible(uow, scope, mine[0]["asset"]):
            raise NotFound(f"no command batch {batch_id}", code="unknown_batch")
    return JSONResponseFast(found)


# --- scenarios ------------------------------------------------------------------------------

SCENARIO_RUNNERS = (Audience.OPERATOR, Audience.SUPERVISOR)


@router.get(
    "/scenarios",
    dependencies=[audience(*SCENARIO_RUNNERS)],
    summary="The response plans, their parameters and steps",
    response_model=ScenarioListOut,
)
def list_scenarios() -> Any:
    return list_envelope((describe(s) for s in SCENARIOS.values()), None)


@router.post(
    "/scenarios/{code}/preview",
    dependencies=[audience(*SCENARIO_RUNNERS)],
    summary="Exactly what running the scenario would do now",
    response_model=PlanOut,
)
def preview_scenario(code: str, body: ScenarioIn, principal: CurrentPrincipal, uow: UowDep) -> Any:
    return JSONResponseFast(services.preview_scenario(uow, _caller(principal), code, body.params))


@router.post(
    "/scenarios/{code}/run",
    dependencies=[audience(*SCENARIO_RUNNERS)],
    summary="Run the scenario (with its confirmation): commands, work orders, public message",
    status_code=201,
    response_model=RunOut,
)
def run_scenario(code: str, body: ScenarioIn, principal: CurrentPrincipal, uow: WriteUowDep) -> Any:
    run = services.run_scenario(
        uow,
        _caller(principal),
        code,
        body.params,
        reason=body.reason,
        confirm=body.confirm,
    )
    uow.commit()
    services.wake_dispatcher()
    return JSONResponseFast(run, status_code=201)


@router.get(
    "/scenario-runs/{run_id}",
    dependencies=[audience(*SCENARIO_RUNNERS)],
    summary="A scenario run: its plan, its commands' progress, its cases",
    response_model=RunOut,
)
def get_run(run_id: ObjectId, uow: UowDep) -> Any:
    return JSONResponseFast(services.get_run(uow, run_id))


@router.post(
    "/scenario-runs/{run_id}/rollback",
    dependencies=[audience(*SCENARIO_RUNNERS)],
    summary="Send every asset the run touched back to the state it reported before",
    response_model=RollbackOut,
)
def rollback_run(
    run_id: ObjectId, body: RollbackIn, principal: CurrentPrincipal, uow: WriteUowDep
) -> Any:
    run = services.rollback_scenario(uow, _caller(principal), run_id, reason=body.reason)
    uow.commit()
    services.wake_dispatcher()
    return JSONResponseFast(run)


@router.get(
    "/alerts",
    dependencies=[audience(Audience.PUBLIC)],
    summary="The public messages in force (road closures, events, weather plans)",
    response_model=AlertListOut,
)
def list_alerts(uow: UowDep) -> Any:
    return list_envelope(services.public_alerts(uow), None)


# --- dimming programs on the cabinets ---------------------------------------------------------


@router.get(
    "/lighting-cabinets/programs",
    dependencies=[audience(*COMMANDERS)],
    summary="Which program each cabinet should run and runs, and which drift",
    response_model=CabinetProgramListOut,
)
def cabinet_programs(
    principal: CurrentPrincipal,
    uow: UowDep,
    commune: Annotated[str | None, Query(min_length=5, max_length=5)] = None,
    drift: Annotated[bool, Query(description="only the drifting cabinets")] = False,
) -> Any:
    found = services.cabinet_programs(uow, _caller(principal), commune=commune)
    return list_envelope((c for c in found if c["drift"] or not drift), None)


@router.post(
    "/lighting-cabinets/programs/push",
    dependencies=[audience(Audience.SUPERVISOR)],
    summary="Give every drifting cabinet (of a commune) its program, confirmed",
    status_code=201,
    response_model=BatchListOut,
)
def push_programs(body: PushProgramsIn, principal: CurrentPrincipal, uow: WriteUowDep) -> Any:
    batches = services.push_programs(
        uow, _caller(principal), reason=body.reason, confirm=body.confirm, commune=body.commune
    )
    uow.commit()
    services.wake_dispatcher()
    return list_envelope(batches, None)
