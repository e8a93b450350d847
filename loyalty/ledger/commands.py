"""``loyalty ledger ...``"""

from __future__ import annotations

import click

from loyalty.cli import Context, pass_ctx
from loyalty.ledger.verify import verify_ledger


@click.group("ledger")
def cli() -> None:
    """The points ledger."""


@cli.command("verify")
@pass_ctx
def verify(ctx: Context) -> None:
    """Check balances, postings and lots; exit 1 naming every discrepancy."""
    with ctx.session() as session:
        problems = verify_ledger(session)
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        raise SystemExit(1)
    click.echo("ledger ok: every posting balances, balances equal their entries, lots match")
