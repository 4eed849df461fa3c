"""`kb auth` (password hashes for kb.toml) and `kb users` (accounts in the users file)."""

from __future__ import annotations

import getpass
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


users_app = typer.Typer(help="Accounts for the app: add users with a role (member, curator, reviewer, admin).",
                        no_args_is_help=True)


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="The user name to sign in with.")],
    role: Annotated[str, typer.Option("--role", help="member, curator, reviewer or admin.")] = "member",
    password: Annotated[
        str, typer.Option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
                          help="The password (prompted, hidden, when not given).")
    ] = "",
) -> None:
    """Add (or reset) an account: the password hash is written to the users file (mode 0600)."""
    from kb.audit import record_event
    from kb.auth import ROLES, hash_password, users_file_path, write_user
    from kb.catalog import Catalog
    from kb.cli.common import err, fail_cleanly, settings_for

    if role not in ROLES:
        err(f"unknown role {role!r}; choose from {', '.join(ROLES)}")
        raise typer.Exit(2)
    with fail_cleanly():
        settings = settings_for()
        path = users_file_path(settings)
        write_user(path, name, role, hash_password(password))
        catalog = Catalog(settings.catalog_path)
        try:
            record_event(catalog, "users.add", getpass.getuser(), "cli", detail=f"{name} as {role} in {path}")
        finally:
            catalog.close()
    typer.echo(f"{name} can now sign in as {role} (written to {path}).")


@users_app.command("list")
def users_list(json_out: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False) -> None:
    """List the configured accounts and their roles (never the hashes)."""
    from kb.auth import ROLE_TABLES, load_auth_config
    from kb.cli.common import fail_cleanly, print_json, settings_for

    with fail_cleanly():
        config = load_auth_config(settings_for())
    rows = [{"user": u, "role": r} for t, r in ROLE_TABLES.items() for u in sorted(getattr(config, t))]
    if json_out:
        print_json({"users": rows})
        return
    if not rows:
        typer.echo("No accounts yet. Add the first with: kb users add NAME --role admin")
    for row in rows:
        typer.echo(f"{row['user']:<24} {row['role']}")
