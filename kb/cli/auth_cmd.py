"""`kb auth`: make password hashes for the `[auth]` table of kb.toml."""

from __future__ import annotations

from typing import Annotated

import typer

auth_app = typer.Typer(help="Sign-in for the app: hash passwords for kb.toml [auth].", no_args_is_help=True)


@auth_app.command("hash-password")
def hash_password_cmd(
    user: Annotated[str, typer.Option("--user", help="Name to print in the kb.toml line.")] = "",
    password: Annotated[
        str, typer.Option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
                          help="The password (prompted, hidden, when not given).")
    ] = "",
) -> None:
    """Print a pbkdf2_sha256 hash to put in kb.toml `[auth] curators` or KB_CURATORS."""
    from kb.auth import hash_password

    encoded = hash_password(password)
    if user:
        typer.echo(f'{user} = "{encoded}"    # kb.toml [auth] curators = {{ ... }}')
        typer.echo(f"KB_CURATORS={user}:{encoded}")
    else:
        typer.echo(encoded)
