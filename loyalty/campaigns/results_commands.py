"""``loyalty campaign results ID`` and ``loyalty campaign fairness ID`` (docs/CAMPAIGNS.md).

``results`` and ``fairness`` are module-level commands added to the campaign slice's own
``campaign`` group.
"""

from __future__ import annotations

import json
from typing import Any

import click
from sqlalchemy import select

from loyalty.campaigns import results_schemas as schemas
from loyalty.campaigns.commands import cli as campaign_group
from loyalty.campaigns.fairness import MIN_MEMBERS, Fairness
from loyalty.campaigns.fairness import fairness as fairness_of
from loyalty.campaigns.results import CampaignResults, Interval, campaign_results
from loyalty.cli import Context, domain_errors_exit, pass_ctx
from loyalty.money import minor_exponent
from loyalty.stores.models import Store


def _money(minor: float | None, currency: str) -> str:
    if minor is None:
        return "-"
    exponent = minor_exponent(currency)
    return f"{minor / 10 ** exponent:,.{exponent}f} {currency}"


def _interval(interval: Interval | None, fmt: Any) -> str:
    return "-" if interval is None else f"[{fmt(interval.low)} .. {fmt(interval.high)}]"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _number(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


@click.command("results")
@click.argument("campaign_id", type=int)
@click.option("--store", "store_code", help="only baskets and redemptions in this store (code)")
@click.option("--json", "as_json", is_flag=True, help="the API's JSON")
@pass_ctx
@domain_errors_exit
def results(ctx: Context, campaign_id: int, store_code: str | None, as_json: bool) -> None:
    """Treatment against holdout: spend, visits, redemptions, incremental revenue with its 95%
    interval, cost and ROI."""
    point_value = ctx.app.extensions["loyalty.settings"].point_value_minor
    with ctx.session() as session:
        store_id = None
        if store_code is not None:
            store_id = session.scalar(select(Store.id).where(Store.code == store_code))
            if store_id is None:
                raise click.ClickException(f"no store {store_code!r}")
        found = campaign_results(session, campaign_id, store_id=store_id,
                                 point_value_minor=point_value)
    if as_json:
        click.echo(json.dumps(schemas.ResultsSchema().dump(found), ensure_ascii=False))
        return
    click.echo(describe_results(found, store_code))


def describe_results(r: CampaignResults, store: str | None = None) -> str:
    def money(minor: float | None) -> str:
        return _money(minor, r.currency)

    window = ("no run yet" if r.window_start is None else
              f"{r.window_start:%Y-%m-%d %H:%M} to {r.window_end:%Y-%m-%d %H:%M} UTC"
              + ("" if r.window_complete else f" (open: figures to {r.as_of:%Y-%m-%d %H:%M})"))
    t, h = r.treatment, r.holdout
    lines = [
        f"campaign {r.campaign_id} {r.name!r} ({r.status}), {r.runs} run(s)"
        + (f", store {store}" if store else ""),
        f"attribution window: {r.attribution_days} days from each run; {window}",
        "",
        f"{'':<22}{'treatment':>18}{'holdout':>18}",
        f"{'members':<22}{t.members:>18}{h.members:>18}",
        f"{'visits per member':<22}{_number(t.visits_per_member):>18}"
        f"{_number(h.visits_per_member):>18}",
        f"{'spend per member':<22}{money(t.spend_per_member_minor):>18}"
        f"{money(h.spend_per_member_minor):>18}",
        f"{'redemption rate':<22}{_share(r.redemptions.rate):>18}{'-':>18}"
        f"   ({r.redemptions.redeemed} of {r.redemptions.issued} coupons)",
        "",
        f"uplift per member     {money(r.uplift_per_member_minor)}  95% CI "
        f"{_interval(r.uplift_interval, money)}",
        f"incremental revenue   {money(r.incremental_revenue_minor)}  95% CI "
        f"{_interval(r.incremental_revenue_interval, money)}"
        + ("" if r.p_value is None else f"  (p = {r.p_value:.3g})"),
        f"cost                  {money(r.cost.total_minor)}  (discounts "
        f"{money(r.cost.discount_minor)}, {r.cost.bonus_points} bonus points "
        f"{money(r.cost.bonus_points_minor)})",
        f"ROI                   {_number(r.roi)}  95% CI {_interval(r.roi_interval, _number)}",
    ]
    lines += [f"note: {note}" for note in r.notes]
    return "\n".join(lines)


@click.command("fairness")
@click.argument("campaign_id", type=int, required=False)
@click.option("--min-members", type=click.IntRange(1), default=MIN_MEMBERS, show_default=True,
              help="smallest group that can be flagged")
@click.option("--json", "as_json", is_flag=True, help="the API's JSON")
@pass_ctx
@domain_errors_exit
def fairness(ctx: Context, campaign_id: int | None, min_members: int, as_json: bool) -> None:
    """Reach and mean offer value by RFM segment, tier, gender and age band; groups far from
    the average flagged.  Without CAMPAIGN_ID: the whole programme, every campaign."""
    point_value = ctx.app.extensions["loyalty.settings"].point_value_minor
    with ctx.session() as session:
        found = fairness_of(session, campaign_id, point_value_minor=point_value,
                         min_members=min_members)
    if as_json:
        click.echo(json.dumps(schemas.FairnessSchema().dump(found), ensure_ascii=False))
        return
    click.echo(describe_fairness(found))


def describe_fairness(f: Fairness) -> str:
    lines = [
        f"{'every campaign' if f.campaign_id is None else f'campaign {f.campaign_id}'}: "
        f"{f.reached} of {f.eligible} eligible members offered "
        f"({_share(f.reach)}), {f.coupons} coupons, mean offer value "
        f"{_number(f.mean_offer_value_minor, 0)} minor units",
        f"flagged: groups of at least {f.min_members} members whose reach or offer value is "
        f"outside {f.ratio_low}-{f.ratio_high} x the average",
        "",
        f"{'dimension':<10} {'group':<20}{'members':>8}{'reach':>8}{'ratio':>7}"
        f"{'mean value':>12}{'ratio':>7}",
    ]
    for g in f.groups:
        mark = "  <- " + "; ".join(g.reasons) if g.flagged else ""
        lines.append(
            f"{g.dimension:<10} {g.group[:20]:<20}{g.members:>8}{_share(g.reach):>8}"
            f"{_number(g.reach_ratio):>7}{_number(g.mean_offer_value_minor, 0):>12}"
            f"{_number(g.value_ratio):>7}{mark}")
    return "\n".join(lines)


# Folded into the campaign slice's own group (``loyalty/campaigns/commands.py``), which
# ``loyalty.cli`` registers first; registering it again here is harmless.
cli = campaign_group
cli.add_command(results)
cli.add_command(fairness)
