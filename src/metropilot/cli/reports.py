"""``metropilot reports …``: the citizen-report catalogue and the e-mails waiting to be sent."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from metropilot.cli.common import cli_actor, console, fail, load_platform, out
from metropilot.reports import mail, services
from metropilot.reports.catalogue import default_categories
from metropilot.shared.errors import DomainError

__all__ = ["reports_app"]

reports_app = typer.Typer(help="Citizen reports: catalogue and e-mails.", no_args_is_help=True)


@reports_app.command("install-catalogue")
def install_catalogue() -> None:
    """Add the default report categories that are missing (existing ones are left as they are)."""
    platform = load_platform()
    try:
        with platform.uow_factory(write=True) as uow:
            added = services.install_categories(uow, default_categories(), cli_actor())
            uow.commit()
    except DomainError as exc:
        fail(exc.message)
    console.print(f"{added} categories added")


@reports_app.command("categories")
def list_categories(
    all_: Annotated[bool, typer.Option("--all", help="Retired categories too.")] = False,
) -> None:
    """The report categories, by group."""
    platform = load_platform()
    with platform.uow_factory() as uow:
        found = services.list_categories(uow, include_inactive=all_)
    table = Table("group", "code", "name", "asset kind", "radius m", "priority", "public")
    for category in found:
        spec = category.spec
        table.add_row(
            spec.group,
            spec.code,
            spec.name,
            spec.asset_kind or "",
            f"{spec.duplicate_radius_m:g}",
            spec.default_priority.value,
            "yes" if spec.public else "no",
        )
    out.print(table)


@reports_app.command("send-mail")
def send_mail() -> None:
    """Send the e-mails that are due now (``serve`` and ``demo`` do it every 30 s)."""
    platform = load_platform()
    if not platform.settings.smtp_host:
        fail("no mail server: set METROPILOT_SMTP_HOST (and _PORT, _USERNAME, _PASSWORD)")
    sent, failed = mail.deliver_due(platform.uow_factory, platform.settings)
    console.print(f"{sent} sent, {failed} failed (retried later)")
    if failed:
        raise typer.Exit(code=1)
