"""``metropilot privacy …``: erase citizens' personal data a while after their reports closed.

Run ``metropilot privacy purge`` daily (cron, a systemd timer); it erases the reporter's name,
e-mail, phone, device id and account, the followers' e-mails and the e-mails not sent yet, of
every report closed for longer than ``METROPILOT_PRIVACY_RETENTION_MONTHS`` (12 by default). The
public record stays. ``--dry-run`` counts what would go and changes nothing.
"""

from __future__ import annotations

import contextlib
from typing import Annotated

import typer
from rich.table import Column, Table

from metropilot.cli.common import cli_actor, console, fail, load_platform, out
from metropilot.cli.progress import progress_bar
from metropilot.reports import privacy
from metropilot.shared.clock import utcnow
from metropilot.shared.errors import DomainError

__all__ = ["app"]

app = typer.Typer(
    help="Citizens' personal data: erased a while after their reports closed.",
    no_args_is_help=True,
)


@app.callback()
def _group() -> None:
    """Citizens' personal data: erased a while after their reports closed."""


@app.command()
def purge(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be erased; change nothing.")
    ] = False,
    older_than_months: Annotated[
        float | None,
        typer.Option(
            "--older-than-months",
            min=0,
            help="Erase reports closed more than this many months ago "
            "(default: the privacy_retention_months setting, 12).",
        ),
    ] = None,
) -> None:
    """Erase the personal data of reports closed for longer than the retention period."""
    platform = load_platform()
    months = (
        older_than_months
        if older_than_months is not None
        else platform.settings.privacy_retention_months
    )
    try:
        retention = privacy.retention_from_months(months)
        with contextlib.ExitStack() as stack:
            # A bar on a terminal; cron and pipes get the counts only.
            progress = stack.enter_context(progress_bar(console)) if console.is_terminal else None
            uow = stack.enter_context(platform.uow_factory(write=not dry_run))
            report = privacy.purge_personal_data(
                uow,
                now=utcnow(),
                retention=retention,
                actor=cli_actor(),
                dry_run=dry_run,
                progress=progress,
            )
            if not dry_run:
                uow.commit()
    except DomainError as exc:
        fail(exc.message, exc.details)
    finally:
        platform.close()
    verb = "would be" if dry_run else "were"
    table = Table(
        "personal data of",
        Column("count", justify="right"),
        title=f"Reports closed before {report.closed_before:%Y-%m-%d %H:%M} UTC "
        f"({months:g} months)" + (" — dry run, nothing changed" if dry_run else ""),
    )
    table.add_row(
        "reports (reporter's name, e-mail, phone, device, account)", f"{report.reports:,}"
    )
    table.add_row("followers' e-mails", f"{report.followers:,}")
    table.add_row("e-mails not sent yet (deleted)", f"{report.unsent_emails:,}")
    table.add_row("e-mails sent (recipient blanked)", f"{report.sent_emails:,}")
    out.print(table)
    out.print(f"{report.reports:,} reports {verb} erased; their public record is kept")
