"""``metropilot users …`` and ``metropilot keys …``: accounts and machine keys from the shell."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from metropilot.accounts import services
from metropilot.accounts.model import Role, User, parse_scope
from metropilot.cli.common import cli_actor, console, fail, load_platform, out
from metropilot.shared.errors import DomainError

__all__ = ["keys_app", "users_app"]

users_app = typer.Typer(help="People's accounts.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys for devices, gateways and integrators.", no_args_is_help=True)


def _read_password(from_stdin: bool, prompt: str = "Password") -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            fail("--password-stdin: no password on standard input")
        return password
    first = typer.prompt(prompt, hide_input=True)
    again = typer.prompt("Again", hide_input=True)
    if first != again:
        fail("the two passwords differ")
    return str(first)


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Option(help="Login name.")],
    role: Annotated[Role, typer.Option(help="What the account may do.")],
    org: Annotated[str | None, typer.Option(help="Organisation code (all but citizens).")] = None,
    commune: Annotated[
        list[str] | None, typer.Option(help="INSEE code a commune agent sees (repeat).")
    ] = None,
    team: Annotated[str | None, typer.Option(help="Team code, for a field agent.")] = None,
    display_name: Annotated[str, typer.Option(help="Name shown on screens.")] = "",
    email: Annotated[str | None, typer.Option()] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create an account."""
    password = _read_password(password_stdin)
    plat = load_platform()
    with plat.uow_factory(write=True) as uow:
        try:
            user = User(
                username=username,
                role=role,
                organisation=org,
                communes=tuple(commune or ()),
                team=team,
                display_name=display_name,
                email=email,
            )
            services.create_user(uow, user, password, cli_actor())
        except DomainError as exc:
            fail(exc.message, exc.details)
        uow.commit()
    out.print(f"created {user.role.value} {user.username}")


@users_app.command("list")
def users_list(role: Annotated[Role | None, typer.Option()] = None) -> None:
    """List accounts."""
    plat = load_platform()
    table = Table("username", "role", "organisation", "communes", "team", "state", "2FA")
    with plat.uow_factory() as uow:
        for user in services.list_users(uow, role=role):
            table.add_row(
                escape(user.username),
                user.role.value,
                escape(user.organisation or ""),
                " ".join(user.communes),
                escape(user.team or ""),
                "disabled" if user.disabled else "active",
                "yes" if user.totp_enabled else "",
            )
    out.print(table)


def _set_disabled(username: str, disabled: bool) -> None:
    plat = load_platform()
    with plat.uow_factory(write=True) as uow:
        try:
            services.set_user_disabled(uow, username, disabled, cli_actor())
        except DomainError as exc:
            fail(exc.message)
        uow.commit()
    out.print(f"{username}: {'disabled, sessions ended' if disabled else 'enabled'}")


@users_app.command("disable")
def users_disable(username: str) -> None:
    """Disable an account; its open sessions end at once."""
    _set_disabled(username, True)


@users_app.command("enable")
def users_enable(username: str) -> None:
    """Enable a disabled account."""
    _set_disabled(username, False)


@users_app.command("set-password")
def users_set_password(
    username: str,
    password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
) -> None:
    """Set a new password (ends the account's sessions and lifts a lockout)."""
    password = _read_password(password_stdin, "New password")
    plat = load_platform()
    with plat.uow_factory(write=True) as uow:
        try:
            services.set_password(uow, username, password, cli_actor())
        except DomainError as exc:
            fail(exc.message)
        uow.commit()
    out.print(f"{username}: password changed")


@users_app.command("totp")
def users_totp(username: str) -> None:
    """Give an operator, supervisor or admin a second factor; prints the secret once."""
    plat = load_platform()
    with plat.uow_factory(write=True) as uow:
        try:
            secret = services.enable_totp(uow, username, cli_actor())
        except DomainError as exc:
            fail(exc.message)
        uow.commit()
    from metropilot.accounts.totp import provisioning_uri

    out.print(f"secret: {secret}")
    out.print(f"authenticator link: {provisioning_uri(secret, username)}")
    console.print("Shown once: enter it in the authenticator app now.")


@users_app.command("totp-disable")
def users_totp_disable(username: str) -> None:
    """Remove an account's second factor (e.g. a lost phone); set a new one with 'users totp'."""
    plat = load_platform()
    with plat.uow_factory(write=True) as uow:
        try:
            services.disable_totp(uow, username, cli_actor())
        except DomainError as exc:
            fail(exc.message)
        uow.commit()
    out.print(f"{username}: second factor removed")


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="What the key is for, e.g. 'lighting gateway 3'.")],
    scope: Annotated[
        list[str],
        typer.Option(
            help="Permission, optionally narrowed: 'telemetry:write kind=streetlight "
            "commune=21231'. Repeat for several."
        ),
    ],
    org: Annotated[str | None, typer.Option(help="Organisation the key acts for.")] = None,
) -> None:
    """Create an API key and print it once."""
    plat = load_platform()
    with plat.uow_factory(write=True) as uow:
        try:
            scopes = [parse_scope(text) for text in scope]
            key, plaintext = services.create_key(uow, name, scopes, cli_actor(), organisation=org)
        except DomainError as exc:
            fail(exc.message)
        uow.commit()
    console.print(f"key {key.id} '{escape(key.name)}' created; it is shown once, store it now:")
    out.print(plaintext, highlight=False)


@keys_app.command("list")
def keys_list() -> None:
    """List API keys (never their values)."""
    plat = load_platform()
    table = Table("id", "name", "prefix", "scopes", "organisation", "last used", "state")
    with plat.uow_factory() as uow:
        for key in services.list_keys(uow):
            table.add_row(
                str(key.id),
                escape(key.name),
                key.prefix,
                escape("; ".join(s.as_text() for s in key.scopes)),
                escape(key.organisation or ""),
                f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never",
                "revoked" if key.revoked_at else "active",
            )
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: int) -> None:
    """Revoke a key: refused from the next request on."""
    plat = load_platform()
    with plat.uow_factory(write=True) as uow:
        try:
            services.revoke_key(uow, key_id, cli_actor())
        except DomainError as exc:
            fail(exc.message)
        uow.commit()
    out.print(f"key {key_id} revoked")
