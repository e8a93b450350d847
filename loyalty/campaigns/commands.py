"""``loyalty campaign ...``: define, dry-run, launch and cancel campaigns from a terminal
(docs/CAMPAIGNS.md, "Command line").  The same services as the API; errors print as
``code: detail`` and exit 1, changing nothing."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import click

from loyalty.campaigns import services
from loyalty.campaigns.models import CampaignKind, CampaignStatus
from loyalty.cli import Context, domain_errors_exit, pass_ctx
from loyalty.errors import InvalidInput

CLI_ACTOR = "cli"
_DATES = ("starts_at", "ends_at")


@click.group("campaign")
def cli() -> None:
    """Campaigns: targeted coupons with a holdout group, a budget and a dry run."""


def _json(_ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    if value is None:
        return None
    try:
        return json.loads(value)
    except ValueError:
        raise click.BadParameter(f"{param.name}: not JSON") from None


def _instant(value: Any, name: str) -> dt.datetime:
    """An ISO 8601 date or instant; without an offset it is UTC."""
    if isinstance(value, dt.datetime):
        moment = value
    else:
        try:
            moment = dt.datetime.fromisoformat(str(value))
        except ValueError:
            raise InvalidInput(f"{name}: not a date (YYYY-MM-DD or an ISO 8601 instant)",
                               field=name) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@cli.command("create")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="a JSON object with the campaign's fields (the API's body)")
@click.option("--name")
@click.option("--kind", type=click.Choice([k.value for k in CampaignKind]))
@click.option("--offer", callback=_json,
              help='JSON, e.g. \'{"kind": "percent_off", "percent": 10}\'')
@click.option("--audience", callback=_json, help="a segment rule (JSON)")
@click.option("--segment", "segment_id", type=int, help="a saved segment's id (its rule is copied)")
@click.option("--parameters", callback=_json, help="the kind's settings (JSON)")
@click.option("--currency")
@click.option("--budget", "budget_minor", type=int, help="cap, in minor units")
@click.option("--holdout", "holdout_percent", type=int)
@click.option("--starts", "starts_at", help="date or instant (UTC if no offset)")
@click.option("--ends", "ends_at", help="date or instant (UTC if no offset)")
@click.option("--recurrence", type=click.Choice(["daily", "weekly"]))
@click.option("--valid-days", "coupon_valid_days", type=int)
@click.option("--limit", "member_limit", nargs=2, type=int, default=None,
              help="COUNT DAYS: at most COUNT campaign coupons a member in DAYS days")
@pass_ctx
@domain_errors_exit
def create(ctx: Context, path: Path | None, member_limit: tuple[int, int] | None,
           **options: Any) -> None:
    """A draft campaign, from a JSON file and/or options (options win)."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise click.ClickException(f"{path}: not a JSON file") from None
        if not isinstance(data, dict):
            raise click.ClickException(f"{path}: expected a JSON object")
    data.update({k: v for k, v in options.items() if v is not None})
    if member_limit:
        data["member_limit_count"], data["member_limit_days"] = member_limit
    for key in _DATES:
        if data.get(key) is not None:
            data[key] = _instant(data[key], key)
    with ctx.session() as session:
        campaign = services.create_campaign(session, data, actor=CLI_ACTOR)
        click.echo(f"campaign {campaign.id} {campaign.name!r}: draft")


@cli.command("list")
@click.option("--status", type=click.Choice([s.value for s in CampaignStatus]))
@pass_ctx
def list_(ctx: Context, status: str | None) -> None:
    """Campaigns, newest first: status, reach, spend against budget."""
    with ctx.session() as session:
        rows = services.list_campaigns(session, CampaignStatus(status) if status else None)
        for row in rows:
            c = row.campaign
            budget = "no cap" if c.budget_minor is None else f"{c.budget_minor}"
            click.echo(f"{c.id:>5}  {c.status.value:<9}  {c.kind.value:<11}  {c.name:<30}  "
                       f"reached {row.reached:>7}  held out {row.held_out:>6}  "
                       f"spent {row.spent_minor}/{budget} {c.currency}")
    if not rows:
        click.echo("no campaigns")


@cli.command("show")
@click.argument("campaign_id", type=int)
@pass_ctx
@domain_errors_exit
def show(ctx: Context, campaign_id: int) -> None:
    """One campaign's definition and state, as JSON."""
    from loyalty.campaigns.schemas import CampaignSchema

    with ctx.session() as session:
        summary = services.campaign_summary(session, campaign_id)
        click.echo(json.dumps(CampaignSchema().dump(summary), indent=2, ensure_ascii=False))


@cli.command("dry-run")
@click.argument("campaign_id", type=int)
@click.option("--sample", type=click.IntRange(0, services.MAX_SAMPLE), default=10,
              show_default=True)
@click.option("--json", "as_json", is_flag=True, help="print the dry run as one JSON object")
@pass_ctx
@domain_errors_exit
def dry_run(ctx: Context, campaign_id: int, sample: int, as_json: bool) -> None:
    """Who would get what now, and the worst-case cost against the budget.  Changes nothing."""
    from loyalty.campaigns.schemas import DryRunSchema

    with ctx.session() as session:
        result = services.dry_run(session, campaign_id, sample=sample,
                                  point_value_minor=ctx.app.extensions[
                                      "loyalty.settings"].point_value_minor)
        if as_json:
            click.echo(json.dumps(DryRunSchema().dump(result), ensure_ascii=False))
            return
        budget = "no cap" if result.budget_minor is None else str(result.budget_minor)
        click.echo(f"audience {result.audience}: {result.treated} treated, "
                   f"{result.held_out} held out")
        click.echo(f"worst case {result.worst_case_minor} {result.currency} "
                   f"({result.cost_per_coupon_minor} a coupon), budget {budget}: "
                   f"{'enough' if result.budget_suffices else 'NOT enough'}")
        for member in result.sample:
            group = "holdout" if member["held_out"] else "treated"
            click.echo(f"  {member['member_id']:>8}  {group:<8} {member['why']}")


@cli.command("launch")
@click.argument("campaign_id", type=int)
@pass_ctx
@domain_errors_exit
def launch(ctx: Context, campaign_id: int) -> None:
    """Launch a draft (its first run starts now if its start has come)."""
    with ctx.session() as session:
        campaign = services.launch_campaign(
            session, campaign_id, actor=CLI_ACTOR,
            point_value_minor=ctx.app.extensions["loyalty.settings"].point_value_minor)
        click.echo(f"campaign {campaign.id}: {campaign.status.value}, "
                   f"{campaign.cost_per_coupon_minor} {campaign.currency} a coupon at worst")


@cli.command("cancel")
@click.argument("campaign_id", type=int)
@pass_ctx
@domain_errors_exit
def cancel(ctx: Context, campaign_id: int) -> None:
    """Stop a campaign: no further runs or coupons; issued coupons stay valid."""
    with ctx.session() as session:
        campaign = services.cancel_campaign(session, campaign_id, actor=CLI_ACTOR)
        click.echo(f"campaign {campaign.id}: cancelled")


@cli.command("tick")
@pass_ctx
def tick(ctx: Context) -> None:
    """Advance campaigns now, as the beat's ``campaigns.tick`` does every minute: start the
    scheduled ones whose start has come, end the past ones, start due runs."""
    from loyalty.campaigns.schedule import tick_app

    started = tick_app(ctx.app)
    click.echo(f"{started} run(s) started")
