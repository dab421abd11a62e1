"""``metropilot``: run the platform, manage its database and its data."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

import metropilot
from metropilot.accounts import services as accounts_services
from metropilot.assets import services as assets_services
from metropilot.assets.model import AssetDraft, AssetKind
from metropilot.assets.services import AssetFilter
from metropilot.assets.transfer import csv_rows, geojson_chunks, read_csv, read_geojson
from metropilot.bootstrap import Platform, all_tables
from metropilot.cli.accounts import keys_app, users_app
from metropilot.cli.audit import app as audit_app
from metropilot.cli.common import cli_actor, console, fail, load_platform, out
from metropilot.cli.contracts import contract_app
from metropilot.cli.ingest import ingest
from metropilot.cli.privacy import app as privacy_app
from metropilot.cli.progress import progress_bar
from metropilot.cli.reports import reports_app
from metropilot.cli.serve import (
    AlreadyServing,
    ServerLease,
    maintain_telemetry,
    run_server,
    server_lease,
)
from metropilot.cli.simulate import simulate
from metropilot.control.services import LocalTransport
from metropilot.db import migrate
from metropilot.db.engine import make_engine
from metropilot.settings import get_settings
from metropilot.shared.errors import DomainError
from metropilot.simulate import runner as simulate_runner
from metropilot.simulate import services as simulate_services
from metropilot.simulate.commands import Responder
from metropilot.territory import services as territory_services

__all__ = ["app", "run"]

app = typer.Typer(
    name="metropilot",
    help="Metropilot, the open urban hypervisor.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
assets_app = typer.Typer(help="The equipment registry.", no_args_is_help=True)
communes_app = typer.Typer(help="Communes and their boundaries.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(assets_app, name="assets")
app.add_typer(communes_app, name="communes")
telemetry_app = typer.Typer(help="Telemetry housekeeping.", no_args_is_help=True)
app.add_typer(telemetry_app, name="telemetry")

app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
app.add_typer(keys_app, name="keys")
app.add_typer(reports_app, name="reports")
app.add_typer(privacy_app, name="privacy")
app.add_typer(contract_app, name="contract")
app.command()(ingest)
app.command()(simulate)


@app.command()
def version() -> None:
    """Print the version."""
    out.print(metropilot.__version__)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    platform = load_platform(upgrade=True)
    out.print(f"schema at revision {migrate.current_revision(platform.engine)}")


@db_app.command("check")
def db_check() -> None:
    """Fail if the code's tables and the migrations disagree (run in CI)."""
    platform = load_platform(upgrade=True)
    try:
        migrate.check(platform.engine, all_tables())
    except Exception as exc:
        fail(f"models and migrations disagree: {exc}")
    out.print("models and migrations agree")


@db_app.command("current")
def db_current() -> None:
    """Show the schema revision of the configured database."""
    engine = make_engine(get_settings().database_url)
    out.print(f"current {migrate.current_revision(engine)}, head {migrate.head_revision(engine)}")


@app.command()
def generate(
    scale: Annotated[
        float, typer.Option(min=0.001, max=20, help="1 = the reference metropolis.")
    ] = 1.0,
    seed: Annotated[int, typer.Option(help="Same seed, same metropolis.")] = 1,
    replace: Annotated[bool, typer.Option(help="Erase an existing registry first.")] = False,
) -> None:
    """Generate the synthetic metropolis into the configured database."""
    platform = load_platform()
    started = time.perf_counter()
    with progress_bar(console) as progress, platform.uow_factory(write=True) as uow:
        try:
            report = simulate_services.generate_metropolis(
                uow, cli_actor(), scale=scale, seed=seed, replace=replace, progress=progress
            )
        except DomainError as exc:
            fail(exc.message, exc.details)
        uow.commit()
    elapsed = time.perf_counter() - started
    out.print(
        f"generated {report.assets:,} assets, {report.streets:,} streets, "
        f"{report.organisations} organisations in {report.communes} communes "
        f"({report.boundaries} boundaries) in {elapsed:.1f} s"
    )


def _read_asset_file(path: Path, fmt: str) -> list[AssetDraft]:
    if fmt == "auto":
        fmt = "csv" if path.suffix.lower() == ".csv" else "geojson"
    try:
        data = path.read_bytes()
    except OSError as exc:
        fail(f"{path}: {exc.strerror}")
    if fmt == "csv":
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            fail(f"{path}: not UTF-8 text (byte {exc.start})")
        return list(read_csv(text, source=str(path)))
    return list(read_geojson(data, source=str(path)))


@assets_app.command("import")
def assets_import(
    path: Annotated[Path, typer.Argument(help="A .geojson/.json or .csv file.")],
    fmt: Annotated[str, typer.Option("--format", help="auto, geojson or csv")] = "auto",
) -> None:
    """Import assets, all or nothing; existing external references are updated."""
    platform = load_platform()
    with progress_bar(console) as progress, platform.uow_factory(write=True) as uow:
        try:
            progress("reading", 0, 1)
            drafts = _read_asset_file(path, fmt)
            progress("reading", 1, 1)
            report = assets_services.import_assets(
                uow,
                drafts,
                cli_actor(),
                source=str(path),
                progress=progress,
            )
        except DomainError as exc:
            fail(exc.message, exc.details)
        uow.commit()
    out.print(
        f"{path}: {report.created} created, {report.updated} updated, {report.unchanged} unchanged"
    )


@assets_app.command("export")
def assets_export(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File; stdout if absent.")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="geojson or csv")] = "geojson",
    kind: Annotated[list[AssetKind] | None, typer.Option(help="Only these kinds.")] = None,
    commune: Annotated[list[str] | None, typer.Option(help="Only these INSEE codes.")] = None,
) -> None:
    """Export assets to GeoJSON or CSV."""
    if fmt not in ("geojson", "csv"):
        fail(f"--format must be geojson or csv, got {fmt!r}")
    platform = load_platform()
    flt = AssetFilter(kinds=kind or (), communes=commune or ())
    target = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        with platform.uow_factory() as uow:
            assets = assets_services.iter_assets(uow, flt)
            chunks = (
                csv_rows(assets, kind or tuple(AssetKind))
                if fmt == "csv"
                else geojson_chunks(assets)
            )
            for chunk in chunks:
                target.write(chunk)
    finally:
        if output:
            target.close()
    if output:
        console.print(f"wrote {output}")


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_bytes())
    except OSError as exc:
        fail(f"{path}: {exc.strerror}")
    except json.JSONDecodeError as exc:
        fail(f"{path} line {exc.lineno}, column {exc.colno}: not valid JSON: {exc.msg}")


@communes_app.command("import")
def communes_import(
    path: Annotated[Path, typer.Argument(help="GeoJSON FeatureCollection of commune polygons.")],
) -> None:
    """Import real commune boundaries (properties: insee, name, population)."""
    platform = load_platform()
    collection = _read_json(path)
    with platform.uow_factory(write=True) as uow:
        try:
            created, updated = territory_services.import_commune_boundaries(
                uow, collection, cli_actor(), source=str(path)
            )
            # Same transaction: the boundaries and the assets' communes change together.
            moved = assets_services.relocate_all(uow, cli_actor())
        except DomainError as exc:
            fail(exc.message, exc.details)
        uow.commit()
    out.print(
        f"{path}: {created} communes created, {updated} updated; {moved} assets changed commune"
    )


@telemetry_app.command("maintain")
def telemetry_maintain() -> None:
    """Roll up recent hours and apply retention now (serve and demo do it every 5 minutes)."""
    out.print(maintain_telemetry(load_platform()))


@communes_app.command("import-districts")
def districts_import(
    path: Annotated[Path, typer.Argument(help="GeoJSON FeatureCollection of district polygons.")],
) -> None:
    """Import districts (properties: code, name, commune = INSEE code)."""
    platform = load_platform()
    collection = _read_json(path)
    with platform.uow_factory(write=True) as uow:
        try:
            count = territory_services.import_districts(
                uow, collection, cli_actor(), source=str(path)
            )
        except DomainError as exc:
            fail(exc.message, exc.details)
        uow.commit()
    out.print(f"{path}: {count} districts imported")


@communes_app.command("list")
def communes_list() -> None:
    """List the communes."""
    platform = load_platform()
    table = Table("INSEE", "name", "population", "area km²")
    with platform.uow_factory() as uow:
        for c in territory_services.list_communes(uow):
            table.add_row(c.insee, escape(c.name), f"{c.population:,}", f"{c.area_km2 or 0:.1f}")
    out.print(table)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
) -> None:
    """Serve the platform on an existing database."""
    platform = load_platform()
    run_server(platform, host, port, lease=_lease(platform))


def _lease(platform: Platform) -> ServerLease:
    """This database's server lease, or the error that another server holds it."""
    try:
        return server_lease(platform)
    except AlreadyServing as exc:
        fail(exc.message)


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    scale: Annotated[float, typer.Option(min=0.001, max=20, help="Size of the metropolis.")] = 1.0,
    seed: Annotated[int, typer.Option()] = 1,
) -> None:
    """A living synthetic metropolis in the browser, with nothing else installed."""
    settings = get_settings()
    # The data dir holds the database (password hashes, second-factor secrets): owner only.
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    platform = load_platform(upgrade=True)
    # Before anything else: a second demo on the same data directory is refused at once.
    lease = _lease(platform)
    with platform.uow_factory() as uow:
        empty = simulate_services.registry_is_empty(uow)
        has_accounts = bool(accounts_services.list_users(uow))
    if empty:
        console.print(f"first run: generating the synthetic metropolis (scale {scale:g}) …")
        started = time.perf_counter()
        with progress_bar(console) as progress, platform.uow_factory(write=True) as uow:
            report = simulate_services.generate_metropolis(
                uow, cli_actor(), scale=scale, seed=seed, progress=progress
            )
            # The demo routes faults to the contractors' teams, so work orders flow by themselves.
            simulate_services.install_reference_routing(uow, cli_actor())
            uow.commit()
        console.print(
            f"{report.assets:,} assets in {report.communes} communes, "
            f"{time.perf_counter() - started:.1f} s"
        )
    if not has_accounts:
        with platform.uow_factory(write=True) as uow:
            accounts = simulate_services.create_demo_accounts(uow, cli_actor())
            uow.commit()
        _write_demo_accounts(settings.data_dir, accounts)
    else:
        console.print(f"demo accounts: see {settings.data_dir / 'demo-accounts.txt'}")
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host  # noqa: S104
    out.print(f"\n[bold]Metropilot is running:[/] http://{shown}:{port}/  (API docs: /docs)\n")
    # The city comes alive: equipment reports through the same pipeline as real devices.
    simulator = simulate_runner.start_in_background(
        platform,
        seed=seed,
        report=lambda line: console.print(f"simulator: {line}", highlight=False),
    )
    # The simulated equipment answers commands too, through this process's transport.
    transport = platform.command_transport
    if isinstance(transport, LocalTransport):
        responder = Responder(
            lambda items: platform.ingest_pipeline.ingest(items, source="simulator"), seed=seed
        )
        transport.listen(responder.on_command)
    run_server(platform, host, port, lease=lease, on_stop=simulator.stop)


def _write_demo_accounts(data_dir: Path, accounts: list[tuple[str, str, str]]) -> None:
    path = data_dir / "demo-accounts.txt"
    lines = ["# Metropilot demo accounts: one per role, random passwords (demo mode only)."]
    lines += [f"{role:<14} {username:<22} {password}" for username, role, password in accounts]
    # Created readable by its owner only, never briefly open to others.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    table = Table("role", "username", "password", title="Demo accounts")
    for username, role, password in accounts:
        table.add_row(role, username, password)
    out.print(table)
    console.print(f"(also written to {path}, readable by you only)")


def run() -> None:
    app()
