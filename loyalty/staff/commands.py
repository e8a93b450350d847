"""``loyalty staff ...``: accounts, roles and API tokens.

Passwords are prompted (hidden, typed twice) or read from stdin with ``--password-stdin``;
never taken as an argument, where they would land in shell history and ``ps``.
"""

from __future__ import annotations

import sys

import click

from loyalty.cli import Context, domain_errors_exit, pass_ctx
from loyalty.staff import services
from loyalty.staff.models import Role
from loyalty.stores.services import get_store, list_stores


@click.group("staff")
def cli() -> None:
    """Staff accounts."""


@cli.command("add")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--store", "store_code", default=None,
              help="store code; required for store_manager and cashier")
@click.option("--full-name", default="")
@click.option("--password-stdin", is_flag=True, help="read the password from stdin")
@pass_ctx
@domain_errors_exit
def add_staff(
    ctx: Context, username: str, role: str, store_code: str | None, full_name: str,
    password_stdin: bool,
) -> None:
    """Create a staff account (password hashed with argon2id)."""
    password = _read_password(password_stdin)
    with ctx.session() as session:
        store_id = get_store(session, store_code).id if store_code else None
        user = services.add_staff(session, username, password, role, store_id, full_name)
        click.echo(f"staff {user.username} added (id {user.id}, {user.role.value})")


@cli.command("token")
@click.argument("username")
@pass_ctx
@domain_errors_exit
def token(ctx: Context, username: str) -> None:
    """Print a new API token for USERNAME (shown once; it replaces any older token)."""
    with ctx.session() as session:
        new = services.issue_api_token(session, services.get_staff(session, username))
    click.echo(f"API token for {username}; shown once, store it now:", err=True)
    click.echo(new)


@cli.command("list")
@pass_ctx
def list_staff(ctx: Context) -> None:
    """Every staff account."""
    with ctx.session() as session:
        codes = {s.id: s.code for s in list_stores(session)}
        for user in services.list_staff(session):
            store = codes.get(user.store_id, "-")
            state = "active" if user.active else "inactive"
            click.echo(f"{user.id:>5}  {user.username:<20} {user.role.value:<14} "
                       f"{store:<12} {state}")


@cli.command("deactivate")
@click.argument("username")
@pass_ctx
@domain_errors_exit
def deactivate(ctx: Context, username: str) -> None:
    """Switch an account off: no sign-in, and its API token stops working."""
    with ctx.session() as session:
        services.deactivate_staff(session, username)
    click.echo(f"staff {username} deactivated")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)
