"""``sozialraum users …``: accounts from the command line (add, list, disable, set-password,
token, tokens, revoke-token)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cli.context import current_settings
from cli.ingest import store_engine

console = Console()
users_app = typer.Typer(
    help="Accounts: roles, districts, passwords, API tokens.", no_args_is_help=True
)

PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return typer.prompt("Passwort", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def users_add(
    username: str,
    role: Annotated[str, typer.Option(help="viewer, coordinator or admin.")] = "viewer",
    district: Annotated[
        list[str] | None,
        typer.Option("--district", "-d", help="District code a coordinator works in (repeat)."),
    ] = None,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Add a user (the password is asked for, or read with --password-stdin)."""
    from accounts.users import add_user

    password = _password(password_stdin)
    with store_engine(current_settings().store) as engine, engine.begin() as conn:
        user = add_user(
            conn, username, password, role, display_name=name, districts=list(district or [])
        )
    console.print(
        f"added {user.username} ({user.role}; districts: {', '.join(user.districts) or '–'})"
    )


@users_app.command("list")
def users_list() -> None:
    """List the users with role, districts and whether they are active."""
    from accounts.users import list_users

    with store_engine(current_settings().store) as engine, engine.connect() as conn:
        users = list_users(conn)
    table = Table(title="Benutzer")
    for column in ("user", "name", "role", "districts", "active"):
        table.add_column(column)
    for user in users:
        table.add_row(
            user.username,
            user.display_name,
            user.role,
            ", ".join(user.districts) or "–",
            "yes" if user.active else "no",
        )
    console.print(table)


@users_app.command("disable")
def users_disable(username: str) -> None:
    """Disable a user: sessions and API tokens end at once; their history stays."""
    from accounts.users import disable_user

    with store_engine(current_settings().store) as engine, engine.begin() as conn:
        disable_user(conn, username)
    console.print(f"disabled {username}")


@users_app.command("set-password")
def users_set_password(username: str, password_stdin: PasswordStdin = False) -> None:
    """Set a new password (open sessions end, API tokens are revoked)."""
    from accounts.users import set_password

    password = _password(password_stdin)
    with store_engine(current_settings().store) as engine, engine.begin() as conn:
        set_password(conn, username, password)
    console.print(f"password of {username} changed")


@users_app.command("token")
def users_token(
    username: str,
    name: Annotated[str, typer.Option(help="What the token is for.")] = "api",
    days: Annotated[int, typer.Option(help="Days the token is valid (1–366).")] = 90,
) -> None:
    """Create an API bearer token (printed once; only its digest is stored)."""
    from accounts.tokens import create_token

    with store_engine(current_settings().store) as engine, engine.begin() as conn:
        secret = create_token(conn, username, name, days)
    print(secret)


def _when(moment) -> str:
    return moment.strftime("%d.%m.%Y %H:%M") if moment else "–"


@users_app.command("tokens")
def users_tokens(username: str) -> None:
    """List a user's API tokens: name, state, created, expires, last used (never secrets)."""
    from accounts.tokens import list_tokens

    with store_engine(current_settings().store) as engine, engine.connect() as conn:
        tokens = list_tokens(conn, username)
    table = Table(title=f"Tokens von {username}")
    for column in ("id", "name", "state", "created", "expires", "last used"):
        table.add_column(column)
    for t in tokens:
        table.add_row(
            str(t["id"]),
            t["name"],
            t["state"],
            *(_when(t[k]) for k in ("created_at", "expires_at", "last_used_at")),
        )
    console.print(table)


@users_app.command("revoke-token")
def users_revoke_token(username: str, token_id: int) -> None:
    """Revoke one API token of a user (by the id `tokens` lists); the others stay valid."""
    from accounts.tokens import revoke_token

    with store_engine(current_settings().store) as engine, engine.begin() as conn:
        revoke_token(conn, username, token_id)
    console.print(f"token {token_id} of {username} revoked")
