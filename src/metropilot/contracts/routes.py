"""HTTP: the performance contract, its KPIs, penalties and lighting energy, dimming programs.

| action | operator | supervisor | admin | commune agent | contractor |
|---|---|---|---|---|---|
| read contracts, KPIs, energy, programs | ✓ | ✓ | ✓ | their communes' KPIs | their lots' KPIs |
| read penalty statements | ✓ | ✓ | ✓ | | their lots' |
| import a contract | | ✓ | ✓ | | |
| amend a contract, freeze a period, manage programs | | ✓ | | | |
| energy what-if | ✓ | ✓ | ✓ | | |
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query

from metropilot.accounts.audience import STAFF, Audience, audience
from metropilot.accounts.auth import CurrentPrincipal
from metropilot.accounts.model import Role
from metropilot.accounts.policy import Principal
from metropilot.api.deps import UowDep, WriteUowDep
from metropilot.api.formats import list_envelope
from metropilot.api.responses import JSONResponseFast
from metropilot.contracts import services
from metropilot.contracts.model import Period, parse_period, parse_periods
from metropilot.contracts.schemas import (
    AmendmentIn,
    AssignmentIn,
    FreezeIn,
    GroupIn,
    ProgramIn,
    WhatIfIn,
)
from metropilot.contracts.services.results import (
    Assignment,
    ContractDetail,
    ContractList,
    ContractSummary,
    EnergyReport,
    Group,
    GroupList,
    KpiReport,
    PenaltyStatementOut,
    Program,
    ProgramList,
    StatementList,
    WhatIfReport,
)
from metropilot.db.uow import UnitOfWork
from metropilot.shared.clock import utcnow
from metropilot.shared.errors import Forbidden, InvalidInput, NotFound

__all__ = ["router"]

router = APIRouter(tags=["contract"])

CONTRACT_READERS = (*STAFF, Audience.COMMUNE_AGENT, Audience.CONTRACTOR)
PENALTY_READERS = (*STAFF, Audience.CONTRACTOR)
CONTRACT_MANAGERS = (Audience.SUPERVISOR,)
PERIOD_HELP = "a year (2026), a month (2026-03) or a quarter (2026-Q2); default: this month"


def _period(text: str | None) -> Period:
    if text is None:
        now = utcnow()
        return Period.month(now.year, now.month)
    return parse_period(text)


def _commune_scope(principal: Principal, commune: str | None) -> str | None:
    """A commune agent reads the figures of their own communes only."""
    if principal.role is not Role.COMMUNE_AGENT:
        return commune
    if commune is None:
        if len(principal.communes) == 1:
            return principal.communes[0]
        raise InvalidInput(
            f"name one of your communes: commune={'|'.join(principal.communes)}",
            code="commune_required",
        )
    if commune not in principal.communes:
        raise Forbidden(f"commune {commune} is not one of yours", code="outside_your_communes")
    return commune


def _lot_scope(
    principal: Principal, uow: UnitOfWork, period: Period, lot: str | None
) -> str | list[str] | None:
    """A contractor reads the lots its organisation holds; another lot is not there for it."""
    if principal.role is not Role.CONTRACTOR:
        return lot
    held = services.lots_held(uow, period, principal.organisation)
    if lot is not None:
        if lot not in held:
            raise NotFound(f"no lot {lot!r} held by {principal.organisation}", code="unknown_lot")
        return lot
    if not held:
        raise NotFound(f"{principal.organisation} holds no lot of the contract", code="no_lot")
    return held


# --- contracts --------------------------------------------------------------------------------


def _detail(uow: UnitOfWork, stored: services.StoredContract) -> ContractDetail:
    return {
        **services.contract_summary(stored),
        "amendments": services.list_amendments(uow, stored.code),
    }


@router.get(
    "/contracts",
    dependencies=[audience(*CONTRACT_READERS)],
    summary="The contracts and their terms",
    response_model=ContractList,
)
def list_contracts(uow: UowDep) -> Any:
    return list_envelope((services.contract_summary(c) for c in services.list_contracts(uow)), None)


@router.get(
    "/contracts/{code}",
    dependencies=[audience(*CONTRACT_READERS)],
    summary="A contract: its terms in force and its amendments",
    response_model=ContractDetail,
)
def get_contract(code: str, uow: UowDep) -> Any:
    stored = services.get_contract(uow, code)
    return JSONResponseFast(_detail(uow, stored))


@router.put(
    "/contracts/{code}",
    dependencies=[audience(Audience.SUPERVISOR, Audience.ADMIN)],
    summary="Import a contract document (replace it while no period is frozen)",
    response_model=ContractSummary,
)
def put_contract(
    code: str,
    principal: CurrentPrincipal,
    uow: WriteUowDep,
    document: Annotated[dict[str, Any], Body()],
) -> Any:
    if document.get("code") != code:
        raise InvalidInput(
            f"the document's code {document.get('code')!r} is not {code!r}",
            code="code_mismatch",
        )
    stored = services.import_contract(uow, document, principal.actor())
    uow.commit()
    return JSONResponseFast(services.contract_summary(stored))


@router.post(
    "/contracts/{code}/amendments",
    dependencies=[audience(*CONTRACT_MANAGERS)],
    summary="Amend a lot's SLA, a KPI target or the penalties from a date",
    status_code=201,
    response_model=ContractDetail,
)
def amend_contract(
    code: str, body: AmendmentIn, principal: CurrentPrincipal, uow: WriteUowDep
) -> Any:
    stored = services.amend_contract(
        uow,
        code,
        lot=body.lot,
        part=body.part,
        kpi=body.kpi,
        effective_from=body.effective_from,
        version=body.version,
        reason=body.reason,
        actor=principal.actor(),
    )
    uow.commit()
    return JSONResponseFast(_detail(uow, stored), status_code=201)


# --- KPIs, penalties --------------------------------------------------------------------------


@router.get(
    "/kpis",
    dependencies=[audience(*CONTRACT_READERS)],
    summary="KPIs per lot, measured from recorded facts",
    response_model=KpiReport,
)
def get_kpis(
    principal: CurrentPrincipal,
    uow: UowDep,
    period: Annotated[str | None, Query(description=PERIOD_HELP)] = None,
    lot: Annotated[str | None, Query(max_length=24)] = None,
    commune: Annotated[str | None, Query(min_length=5, max_length=5)] = None,
) -> Any:
    asked = _period(period)
    lots = _lot_scope(principal, uow, asked, lot)
    where = _commune_scope(principal, commune)
    report = services.kpi_report(uow, asked, lot=lots, commune=where)
    return JSONResponseFast(report)


@router.get(
    "/penalties",
    dependencies=[audience(*PENALTY_READERS)],
    summary="Penalty statements per lot, with every contributing order and KPI",
    response_model=StatementList,
)
def get_penalties(
    principal: CurrentPrincipal,
    uow: UowDep,
    period: Annotated[str | None, Query(description=PERIOD_HELP)] = None,
    lot: Annotated[str | None, Query(max_length=24)] = None,
) -> Any:
    asked = _period(period)
    lots = _lot_scope(principal, uow, asked, lot)
    statements = services.penalty_statements(uow, asked, lot=lots)
    return list_envelope(statements, None)


@router.post(
    "/penalties/freeze",
    dependencies=[audience(*CONTRACT_MANAGERS)],
    summary="Freeze a reviewed period: its statement never changes afterwards",
    status_code=201,
    response_model=PenaltyStatementOut,
)
def freeze_period(body: FreezeIn, principal: CurrentPrincipal, uow: WriteUowDep) -> Any:
    frozen = services.freeze_period(uow, parse_period(body.period), body.lot, principal.actor())
    uow.commit()
    return JSONResponseFast(frozen, status_code=201)


# --- energy -----------------------------------------------------------------------------------


@router.get(
    "/energy",
    dependencies=[audience(*CONTRACT_READERS)],
    summary="Lighting energy: baseline, current, saving against the target, euros and CO2",
    response_model=EnergyReport,
)
def get_energy(
    uow: UowDep,
    period: Annotated[
        str, Query(description="2026, 2026-03, 2026-Q2, or a range 2026-01..2026-06")
    ],
    commune: Annotated[str | None, Query(min_length=5, max_length=5)] = None,
    months: Annotated[bool, Query(description="add the month-by-month figures")] = False,
) -> Any:
    periods = parse_periods(period)
    report = services.energy_report(uow, periods, commune=commune, months=months)
    return JSONResponseFast(report)


@router.post(
    "/energy/what-if",
    dependencies=[audience(*STAFF)],
    summary="Annual kWh, euros and CO2 under another dimming program or a conversion plan",
    response_model=WhatIfReport,
)
def energy_what_if(body: WhatIfIn, uow: UowDep) -> Any:
    result = services.energy_what_if(
        uow,
        body.year,
        program_for_all=body.program,
        programs_by_commune=body.programs_by_commune,
        power_w_by_technology=body.power_w_by_technology,
        commune=body.commune,
    )
    return JSONResponseFast(result)


# --- dimming programs -------------------------------------------------------------------------


@router.get(
    "/dimming-programs",
    dependencies=[audience(*CONTRACT_READERS)],
    summary="Dimming programs and where each applies",
    response_model=ProgramList,
)
def list_programs(uow: UowDep) -> Any:
    return list_envelope(services.list_programs(uow), None)


@router.put(
    "/dimming-programs/{code}",
    dependencies=[audience(*CONTRACT_MANAGERS)],
    summary="Create or change a dimming program",
    response_model=Program,
)
def put_program(code: str, body: ProgramIn, principal: CurrentPrincipal, uow: WriteUowDep) -> Any:
    found = services.put_program(uow, code, body.model_dump(), principal.actor())
    uow.commit()
    return JSONResponseFast(found)


@router.post(
    "/dimming-programs/{code}/assignments",
    dependencies=[audience(*CONTRACT_MANAGERS)],
    summary="Apply a program to a cabinet, a group, a commune or the metropolis from a date",
    status_code=201,
    response_model=Assignment,
)
def assign_program(
    code: str, body: AssignmentIn, principal: CurrentPrincipal, uow: WriteUowDep
) -> Any:
    found = services.assign_program(
        uow,
        code,
        target_type=body.target_type,
        target=body.target,
        effective_from=body.effective_from,
        actor=principal.actor(),
    )
    uow.commit()
    return JSONResponseFast(found, status_code=201)


@router.get(
    "/lighting-groups",
    dependencies=[audience(*CONTRACT_READERS)],
    summary="Named groups of lighting cabinets",
    response_model=GroupList,
)
def list_groups(uow: UowDep) -> Any:
    return list_envelope(services.list_groups(uow), None)


@router.put(
    "/lighting-groups/{code}",
    dependencies=[audience(*CONTRACT_MANAGERS)],
    summary="Create or change a group of lighting cabinets",
    response_model=Group,
)
def put_group(code: str, body: GroupIn, principal: CurrentPrincipal, uow: WriteUowDep) -> Any:
    found = services.put_group(uow, code, body.name, body.cabinet_ids, principal.actor())
    uow.commit()
    return JSONResponseFast(found)
