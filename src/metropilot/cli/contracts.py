"""``metropilot contract …``: import the performance contract, read its KPIs, penalties and
energy, freeze a reviewed period."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from metropilot.cli.common import cli_actor, console, fail, load_platform, out
from metropilot.contracts import services
from metropilot.contracts.model import parse_period, parse_periods
from metropilot.shared.errors import DomainError

__all__ = ["contract_app"]

contract_app = typer.Typer(
    help="The performance contract: KPIs, penalties, lighting energy.", no_args_is_help=True
)

PERIOD_HELP = "2026 (a year), 2026-03 (a month) or 2026-Q2 (a quarter)."


def _problems(exc: DomainError) -> str:
    lines = [exc.message]
    lines += [f"  {p.get('loc', '')}: {p.get('message', '')}" for p in exc.details or []]
    return "\n".join(lines)


@contract_app.command("import")
def import_contract(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Import a contract from its JSON document (all or nothing)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        fail(f"{path}:{exc.lineno}:{exc.colno}: not JSON: {exc.msg}")
    except UnicodeDecodeError as exc:
        fail(f"{path}: not UTF-8 text ({exc.reason})")
    platform = load_platform()
    try:
        with platform.uow_factory(write=True) as uow:
            stored = services.import_contract(uow, document, cli_actor())
            uow.commit()
    except DomainError as exc:
        fail(f"{path}: {_problems(exc)}")
    console.print(f"contract {stored.code}: {len(stored.contract.lots)} lots imported")


@contract_app.command("show")
def show() -> None:
    """The contracts and their lots."""
    platform = load_platform()
    with platform.uow_factory() as uow:
        found = [services.contract_summary(c) for c in services.list_contracts(uow)]
    if not found:
        console.print("no contract: import one with `metropilot contract import FILE`")
        return
    for summary in found:
        title = f"{summary['code']} {summary['start']} → {summary['end']}"
        table = Table("lot", "contractor", "KPIs", title=title)
        for lot in summary["lots"]:
            kpis = ", ".join(f"{k['code']} {k['target']:g}{k['unit']}" for k in lot["kpis"])
            table.add_row(lot["lot"], lot["contractor"], kpis)
        out.print(table)


def _value(kpi: services.MeasuredKpi) -> str:
    if kpi["value"] is None:
        return "no facts"
    return f"{kpi['value']:.2f}{kpi['unit']}"


@contract_app.command("kpis")
def kpis(
    period: Annotated[str, typer.Option(help=PERIOD_HELP)],
    lot: Annotated[str | None, typer.Option(help="One lot.")] = None,
    commune: Annotated[str | None, typer.Option(help="One commune (INSEE code).")] = None,
) -> None:
    """The KPIs of the period, measured from the recorded facts."""
    platform = load_platform()
    try:
        with platform.uow_factory() as uow:
            report = services.kpi_report(uow, parse_period(period), lot=lot, commune=commune)
    except DomainError as exc:
        fail(_problems(exc))
    table = Table("lot", "KPI", "measured", "target", "met", title=f"KPIs {report['period']}")
    for entry in report["lots"]:
        for kpi in entry["kpis"]:
            met = {True: "yes", False: "[red]no[/]", None: "–"}[kpi["met"]]
            table.add_row(entry["lot"], kpi["name"], _value(kpi), f"{kpi['target']:g}", met)
    out.print(table)


@contract_app.command("penalties")
def penalties(
    period: Annotated[str, typer.Option(help=PERIOD_HELP)],
    lot: Annotated[str | None, typer.Option(help="One lot.")] = None,
) -> None:
    """The penalty statements of the period (the stored one where frozen)."""
    platform = load_platform()
    try:
        with platform.uow_factory() as uow:
            statements = services.penalty_statements(uow, parse_period(period), lot=lot)
    except DomainError as exc:
        fail(_problems(exc))
    table = Table("lot", "items", "gross €", "cap €", "due €", "bonus €", "net €", "frozen")
    for s in statements:
        table.add_row(
            s["lot"],
            str(len(s["items"])),
            s["gross"],
            s["cap"] or "–",
            s["total"],
            s["bonus_total"],
            s["net"],
            f"{(s['frozen_at'] or '')[:10]} by {s['frozen_by']}" if s["frozen"] else "no",
        )
    out.print(table)


@contract_app.command("freeze")
def freeze(
    period: Annotated[str, typer.Option(help=PERIOD_HELP)],
    lot: Annotated[str, typer.Option(help="The lot whose statement was reviewed.")],
) -> None:
    """Freeze a reviewed, ended period: its statement never changes afterwards."""
    platform = load_platform()
    try:
        with platform.uow_factory(write=True) as uow:
            frozen = services.freeze_period(uow, parse_period(period), lot, cli_actor())
            uow.commit()
    except DomainError as exc:
        fail(_problems(exc))
    due, net = frozen["total"], frozen["net"]
    console.print(f"{lot} {frozen['period']} frozen: {due} € due, net {net} €")


@contract_app.command("energy")
def energy(
    period: Annotated[str, typer.Option(help=PERIOD_HELP + " Or a range 2026-01..2026-06.")],
    commune: Annotated[str | None, typer.Option(help="One commune (INSEE code).")] = None,
) -> None:
    """Lighting energy: baseline, current, saving against the target, euros and CO₂."""
    platform = load_platform()
    try:
        with (
            console.status("computing nights and dimming programs …"),
            platform.uow_factory() as uow,
        ):
            report = services.energy_report(uow, parse_periods(period), commune=commune)
    except DomainError as exc:
        fail(_problems(exc))
    table = Table("figure", "value", title=f"Lighting energy {report['period']}")
    saving = report["saving_pct"]
    rows = [
        ("lamps", f"{report['lamps']:,} ({report['measured_lamps']:,} metered)"),
        ("baseline", f"{report['baseline_kwh']:,.0f} kWh"),
        ("current", f"{report['current_kwh']:,.0f} kWh ({report['source']})"),
        ("saving", "–" if saving is None else f"{saving:.1f}%"),
        ("target", "–" if report["target_pct"] is None else f"{report['target_pct']:.1f}%"),
        ("cost", f"{report['eur']:,.0f} € (baseline {report['baseline_eur']:,.0f} €)"),
        ("CO₂", f"{report['co2_kg']:,.0f} kg (baseline {report['baseline_co2_kg']:,.0f} kg)"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    out.print(table)
