"""``loyalty tiers ...``: the tier ladder (docs/POINTS.md, "Tiers")."""

from __future__ import annotations

import click

from loyalty.cli import Context, domain_errors_exit, pass_ctx
from loyalty.tiers import services


@click.group("tiers")
def cli() -> None:
    """Tiers: spend thresholds and points multipliers."""


@cli.command("set")
@click.option("--tier", "tiers", multiple=True, required=True, nargs=4,
              type=(str, str, int, int),
              metavar="CODE NAME MIN_SPEND_MINOR MULTIPLIER_PERMILLE",
              help="one rung, lowest first; repeat for each tier")
@pass_ctx
@domain_errors_exit
def set_ladder(ctx: Context, tiers: tuple[tuple[str, str, int, int], ...]) -> None:
    """Make the ladder exactly these tiers, lowest first.

    MIN_SPEND_MINOR is trailing 12-month net spend in minor units of the programme's currency;
    MULTIPLIER_PERMILLE 1000 is x1, 1500 is x1.5.  A tier left out is removed (refused while a
    member holds it).
    """
    ladder = [services.TierSpec(code, name, spend, permille)
              for code, name, spend, permille in tiers]
    with ctx.session() as session:
        services.set_tier_ladder(session, ladder)
        click.echo(f"tier ladder set: {' < '.join(spec.code for spec in ladder)}")


@cli.command("list")
@pass_ctx
def list_ladder(ctx: Context) -> None:
    """The ladder, lowest first."""
    with ctx.session() as session:
        for tier in services.list_tiers(session):
            click.echo(f"{tier.rank:>3}  {tier.code:<16} {tier.min_spend_minor:>12}  "
                       f"x{tier.multiplier_permille / 1000:<6g} {tier.name}")
