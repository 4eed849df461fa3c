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


@auth_app.command("hash-key")
def hash_key_cmd(
    name: Annotated[str, typer.Option("--name", help="Key name (letters, digits, '-', '_'), e.g. intranet.")],
    role: Annotated[str, typer.Option("--role", help="public, member, curator, reviewer or admin.")] = "member",
) -> None:
    """Make a new API key for `kb serve`: prints the key once, and the kb.toml lines with its hash."""
    from kb.api.auth import ROLES, hash_api_key, new_api_key

    if role not in ROLES:
        typer.secho(f"error: role {role!r} is not one of: {', '.join(ROLES)}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    try:
        key = new_api_key(name)
    except ValueError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    typer.echo(f"API key (give it to the caller; it is not stored): {key}")
    typer.echo(f'\n[api.keys.{name}]\nrole = "{role}"\nhash = "{hash_api_key(key)}"')
