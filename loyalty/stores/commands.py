"""``loyalty store ...`` and ``loyalty till ...``.

A till's bearer token is printed once, alone on stdout (so a script can capture it), with the
reminder on stderr; only its hash is kept.
"""

from __future__ import annotations

import click

from loyalty.cli import Context, domain_errors_exit, pass_ctx
from loyalty.stores import services


@click.group("store")
def cli() -> None:
    """Stores (branches)."""


@cli.command("add")
@click.argument("code")
@click.argument("name")
@click.option("--currency", required=True, help="ISO 4217 code, e.g. AED")
@click.option("--timezone", required=True, help="IANA zone, e.g. Asia/Dubai")
@pass_ctx
@domain_errors_exit
def add_store(ctx: Context, code: str, name: str, currency: str, timezone: str) -> None:
    """Open a store."""
    with ctx.session() as session:
        store = services.create_store(session, code, name, currency, timezone)
        click.echo(f"store {store.code} added (id {store.id}, {store.currency}, {store.timezone})")


@cli.command("list")
@pass_ctx
def list_stores(ctx: Context) -> None:
    """Every store."""
    with ctx.session() as session:
        for store in services.list_stores(session):
            click.echo(f"{store.id:>5}  {store.code:<12} {store.currency}  "
                       f"{store.timezone:<24} {store.name}")


@click.group("till")
def till() -> None:
    """Tills (checkout lanes) and their device tokens."""


@till.command("add")
@click.argument("store_code")
@click.argument("name")
@pass_ctx
@domain_errors_exit
def add_till(ctx: Context, store_code: str, name: str) -> None:
    """Register a till and print its token (shown this once only)."""
    with ctx.session() as session:
        till_row, token = services.add_till(session, services.get_store(session, store_code), name)
        till_id = till_row.id
    click.echo(f"till {till_id} added to store {store_code}; its token is shown once, "
               "store it now:", err=True)
    click.echo(token)


@till.command("revoke")
@click.argument("till_id", type=int)
@pass_ctx
@domain_errors_exit
def revoke_till(ctx: Context, till_id: int) -> None:
    """Revoke a till's token: its next request is refused."""
    with ctx.session() as session:
        services.revoke_till(session, till_id)
    click.echo(f"till {till_id} revoked")


@till.command("list")
@click.option("--store", "store_code", default=None, help="only this store's tills")
@pass_ctx
@domain_errors_exit
def list_tills(ctx: Context, store_code: str | None) -> None:
    """Tills with their store and state (never their tokens)."""
    with ctx.session() as session:
        store_id = services.get_store(session, store_code).id if store_code else None
        codes = {s.id: s.code for s in services.list_stores(session)}
        for row in services.list_tills(session, store_id):
            state = "revoked" if row.revoked_at else "active"
            click.echo(f"{row.id:>5}  {codes[row.store_id]:<12} {state:<8} {row.name}")


# Registered by loyalty/cli.py beside ``cli``: ``loyalty till ...`` lives with the stores slice.
extra_groups = (till,)
