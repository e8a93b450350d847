"""``loyalty accounts ...``: members' portal accounts (docs/PAGES.md)."""

from __future__ import annotations

import csv
import sys

import click

from loyalty.accounts.plastic import stock_plastic_cards
from loyalty.cli import Context, domain_errors_exit, pass_ctx


@click.group("accounts")
def cli() -> None:
    """Members' portal accounts and plastic cards to claim on it."""


@cli.command("plastic-cards")
@click.option("--count", type=click.IntRange(1, 10_000), required=True)
@pass_ctx
@domain_errors_exit
def plastic_cards(ctx: Context, count: int) -> None:
    """Enrol COUNT plastic cards for printing; writes CSV (number, claim_code) to standard
    output.  The codes are shown this once: only their hashes are kept."""
    settings = ctx.app.extensions["loyalty.settings"]
    with ctx.session() as session:
        printed = stock_plastic_cards(session, count, prefix=settings.card_prefix,
                                      length=settings.card_length)
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["number", "claim_code"])
    out.writerows(printed)
