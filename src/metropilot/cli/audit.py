"""``metropilot audit …``: verify the audit trail, and print its head for publishing elsewhere.

``verify`` exits 0 when the trail is intact, 1 when it was tampered with (naming the entry and
what is wrong), 2 when it could not run; a cron job or monitoring probe can act on that alone.
"""

from __future__ import annotations

import json
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from metropilot.audit import services
from metropilot.audit.model import parse_anchor
from metropilot.bootstrap import Platform, bootstrap
from metropilot.cli.progress import progress_bar
from metropilot.settings import get_settings
from metropilot.shared.errors import DomainError

__all__ = ["app"]

app = typer.Typer(
    help="The audit trail: check nobody rewrote it, publish its head.", no_args_is_help=True
)

console = Console(stderr=True)
out = Console()

EXIT_TAMPERED = 1
EXIT_ERROR = 2


def _fail(message: str) -> NoReturn:
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code=EXIT_ERROR)


def _platform() -> Platform:
    try:
        return bootstrap(get_settings())
    except DomainError as exc:
        _fail(exc.message)


@app.command()
def verify(
    published: Annotated[
        list[str] | None,
        typer.Option(
            "--published",
            help="A head printed earlier by 'metropilot audit head' (<id>:<hash>), which the "
            "trail must still contain. Repeat for several.",
        ),
    ] = None,
) -> None:
    """Recompute the whole hash chain; exit 1 and name the entry if anything was tampered with."""
    try:
        anchors = dict(parse_anchor(value) for value in published or ())
    except DomainError as exc:
        _fail(exc.message)
    platform = _platform()
    try:
        with platform.uow_factory() as uow:
            if console.is_terminal:
                with progress_bar(console) as progress:
                    report = services.verify(uow, anchors=anchors, progress=progress)
            else:  # cron, monitoring, pipes: only the verdict
                report = services.verify(uow, anchors=anchors)
    finally:
        platform.close()
    if not report.ok:
        problem = report.problems[0]
        where = f"entry {problem.entry_id}" if problem.entry_id is not None else "the trail"
        console.print(
            f"[bold red]TAMPERED[/] at {where} ({problem.kind.value}): {problem.message}",
            highlight=False,
        )
        console.print(
            f"{report.entries_checked:,} entries read; the first problem is shown, "
            "everything after it is unverified.",
            highlight=False,
        )
        raise typer.Exit(code=EXIT_TAMPERED)
    if report.last_id is None:
        out.print("audit trail intact: it is empty", highlight=False)
        return
    out.print(
        f"audit trail intact: {report.entries_checked:,} entries checked, "
        f"newest {report.last_id} {report.last_hash}"
        + (f", {len(anchors)} published head(s) matched" if anchors else ""),
        highlight=False,
    )


@app.command()
def head(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object, for scripts.")] = False,
) -> None:
    """Print the newest entry's id and hash: publish them outside the database (see docs)."""
    platform = _platform()
    try:
        with platform.uow_factory() as uow:
            current = services.head(uow)
    finally:
        platform.close()
    if as_json:
        document = (
            {"last_id": None, "last_hash": None, "updated_at": None}
            if current is None
            else {
                "last_id": current.last_id,
                "last_hash": current.last_hash,
                "updated_at": current.updated_at.isoformat() if current.updated_at else None,
            }
        )
        out.print_json(json.dumps(document))
        return
    if current is None:
        out.print("the audit trail is empty: nothing to publish yet", highlight=False)
        return
    out.print(f"last id    {current.last_id}", highlight=False)
    out.print(f"last hash  {current.last_hash}", highlight=False)
    if current.updated_at is not None:
        out.print(f"written    {current.updated_at.isoformat()}", highlight=False)
    out.print(f"publish    {current.last_id}:{current.last_hash}", highlight=False, soft_wrap=True)
    console.print(
        "check later with: metropilot audit verify --published "
        f"{current.last_id}:{current.last_hash}",
        highlight=False,
        soft_wrap=True,
    )
