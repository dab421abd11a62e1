"""What every command shares: consoles, the error exit, the platform, the CLI actor."""

from __future__ import annotations

import getpass
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from metropilot.bootstrap import Platform, bootstrap
from metropilot.settings import get_settings
from metropilot.shared.actors import Actor, ActorKind
from metropilot.shared.errors import DomainError

__all__ = ["cli_actor", "console", "fail", "load_platform", "out"]

console = Console(stderr=True)
out = Console()


def cli_actor() -> Actor:
    """The person at the shell, as the audit trail records them."""
    return Actor(ActorKind.CLI, getpass.getuser(), sector="public")


def fail(message: str, details: object = None) -> NoReturn:
    # User data (file names, references, names) may contain brackets: never read as markup.
    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    if isinstance(details, list):
        for item in details[:50]:
            if isinstance(item, dict):
                line = f"  {item.get('loc')}: {item.get('message')}"
                console.print(escape(line), highlight=False)
        if len(details) > 50:
            console.print(f"  … and {len(details) - 50} more", highlight=False)
    raise typer.Exit(code=2)


def load_platform(upgrade: bool | None = None) -> Platform:
    try:
        return bootstrap(get_settings(), upgrade=upgrade)
    except DomainError as exc:
        fail(exc.message)
