"""The performance contract at work: contracts and amendments stored, recorded facts turned into
KPIs, penalty statements and lighting energy, periods frozen, dimming programs managed.

One module per thing managed, reads apart from writes: ``contracts`` (stored, the one in force)
and ``contract_changes`` (imported, amended), ``terms`` (the contract as shown), ``facts`` (what
the figures are computed from, read through the other contexts' ``queries``), ``dimming``
(programs, groups, assignments in force) and ``dimming_changes``, ``lighting`` and ``energy``
(kWh, euros, CO2, what-ifs), ``availability`` (heartbeats), ``kpis``, ``statements`` (penalties,
frozen periods), ``transparency`` (the period report and the public figures). This package
re-exports the public names, so ``contracts.services.X`` keeps working.

Where the figures come from (never guessed; a KPI with no fact behind it is reported without a
value and named as missing):

* **work orders** — the orders dispatched to a lot's contractor, with the deadlines stored at
  dispatch and the steps the team recorded (accepted, done); refused and cancelled orders do not
  count. An order belongs to the lot its organisation holds; a contractor holding several lots
  has its orders sorted by the kind of equipment of the case (`LOT_ASSET_KINDS`);
* **lamps** — the street lights of the registry, their nominal power and technology, and the
  power of the lamp each replaced (``baseline_power_w``; the nominal power if never converted);
* **lamp failures** — the alarms of the lamp-failure and supply-loss rules on a lamp, and the
  supply-loss alarms of the cabinet feeding it, from raised to cleared;
* **dimming programs** — the program in force for a lamp on each day: its cabinet's, else its
  cabinet's group's, else its commune's, else the metropolis', else full power all night;
* **measured energy** — a lamp's ``energy_wh`` counter read in the week before the period's start
  and before its end (hourly rollups and raw readings); lamps without both readings are modelled
  from the astronomical clock, and the answer says how many are which;
* **IT availability** — the heartbeats of the platform's own processes (`beat`, every 30 s from
  the housekeeping and the ingest consumer) and, for the gateways (remote-managed lighting
  cabinets), the time without an open silence alarm.
"""

from __future__ import annotations

from metropilot.contracts.services.availability import beat
from metropilot.contracts.services.contract_changes import amend_contract, import_contract
from metropilot.contracts.services.contracts import (
    DEFAULT_TARIFF,
    MEASURES,
    StoredContract,
    get_contract,
    list_contracts,
    lots_held,
)
from metropilot.contracts.services.dimming import (
    list_assignments,
    list_groups,
    list_programs,
    programs_in_force,
)
from metropilot.contracts.services.dimming_changes import assign_program, put_group, put_program
from metropilot.contracts.services.energy import energy_report, energy_what_if
from metropilot.contracts.services.facts import LOT_ASSET_KINDS, lamp_rows
from metropilot.contracts.services.kpis import kpi_report
from metropilot.contracts.services.lighting import LightingFigures
from metropilot.contracts.services.results import MeasuredKpi, PeriodReport, Transparency
from metropilot.contracts.services.statements import freeze_period, penalty_statements
from metropilot.contracts.services.terms import contract_summary, list_amendments
from metropilot.contracts.services.transparency import period_report, transparency

__all__ = [
    "DEFAULT_TARIFF",
    "LOT_ASSET_KINDS",
    "MEASURES",
    "LightingFigures",
    "MeasuredKpi",
    "PeriodReport",
    "StoredContract",
    "Transparency",
    "amend_contract",
    "assign_program",
    "beat",
    "contract_summary",
    "energy_report",
    "energy_what_if",
    "freeze_period",
    "get_contract",
    "import_contract",
    "kpi_report",
    "lamp_rows",
    "list_amendments",
    "list_assignments",
    "list_contracts",
    "list_groups",
    "list_programs",
    "lots_held",
    "penalty_statements",
    "period_report",
    "programs_in_force",
    "put_group",
    "put_program",
    "transparency",
]
