"""``loyalty rules ...``: the earning rules of docs/POINTS.md, added, listed and ended.

Rules are never edited: end one and add its successor, so late offline sales still earn
under the rules of their own time.
"""

from __future__ import annotations

import datetime as dt

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty.catalog.models import Category
from loyalty.cli import Context, domain_errors_exit, pass_ctx
from loyalty.errors import InvalidInput
from loyalty.rules import services
from loyalty.rules.models import EarningRule, RuleKind
from loyalty.stores.services import get_store


@click.group("rules")
def cli() -> None:
    """Earning rules: how many points a sale earns."""


class Moment(click.ParamType):
    """An ISO 8601 moment with its offset (``2027-01-01T00:00+04:00``); never a naive time,
    which would be read in some machine's zone."""

    name = "moment"

    def convert(self, value: object, param: click.Parameter | None,
                ctx: click.Context | None) -> dt.datetime:
        if isinstance(value, dt.datetime):
            return value
        try:
            moment = dt.datetime.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 date and time", param, ctx)
        if moment.tzinfo is None:
            self.fail(f"{value!r} needs a timezone offset, e.g. +04:00 or Z", param, ctx)
        return moment


@cli.command("add")
@click.argument("kind", type=click.Choice([k.value for k in RuleKind]))
@click.argument("name")
@click.option("--currency", help="ISO 4217 code; omit for every currency")
@click.option("--points-per-unit", "rate", help="base: points per major unit (1, 0.5, 3/2)")
@click.option("--min-spend-minor", type=int, help="base: baskets below this earn nothing")
@click.option("--multiplier-permille", type=int,
              help="store/category/product: 1000 is x1, 2000 double points")
@click.option("--store", "store_code", help="store: the store's code")
@click.option("--category", "category_code", help="category/exclusion: the category's code")
@click.option("--sku", help="product/exclusion: the product's SKU")
@click.option("--from", "valid_from", type=Moment(), help="start (default: now)")
@click.option("--to", "valid_to", type=Moment(), help="end, exclusive (default: open)")
@pass_ctx
@domain_errors_exit
def add_rule(ctx: Context, kind: str, name: str, currency: str | None, rate: str | None,
             min_spend_minor: int | None, multiplier_permille: int | None,
             store_code: str | None, category_code: str | None, sku: str | None,
             valid_from: dt.datetime | None, valid_to: dt.datetime | None) -> None:
    """Add an earning rule of KIND (base, store, category, product, exclusion)."""
    with ctx.session() as session:
        rule = services.add_earning_rule(
            session, name, kind, currency=currency,
            points_per_unit=services.parse_rate(rate) if rate is not None else None,
            min_spend_minor=min_spend_minor, multiplier_permille=multiplier_permille,
            store_id=get_store(session, store_code).id if store_code else None,
            category_id=_category_id(session, category_code), sku=sku,
            valid_from=valid_from, valid_to=valid_to)
        click.echo(f"earning rule {rule.id} added: {describe(session, rule)}")


@cli.command("list")
@click.option("--all", "include_ended", is_flag=True, help="ended rules too")
@pass_ctx
def list_rules(ctx: Context, include_ended: bool) -> None:
    """Rules in force or still to come (with --all, every rule ever), by id."""
    with ctx.session() as session:
        for rule in services.list_earning_rules(session, include_ended=include_ended):
            click.echo(f"{rule.id:>5}  {describe(session, rule)}")


@cli.command("end")
@click.argument("rule_id", type=int)
@click.option("--at", type=Moment(), help="when it ends (default: now)")
@pass_ctx
@domain_errors_exit
def end_rule(ctx: Context, rule_id: int, at: dt.datetime | None) -> None:
    """End earning rule RULE_ID: sales from then on no longer earn under it."""
    with ctx.session() as session:
        rule = services.end_earning_rule(session, rule_id, at)
        click.echo(f"earning rule {rule.id} ends at {rule.valid_to.isoformat()}")


def describe(session: Session, rule: EarningRule) -> str:
    """One line: kind, what it does, to what, when, and its name."""
    if rule.kind is RuleKind.BASE:
        effect = f"{services.rate_text(rule)} pt/unit"
        if rule.min_spend_minor:
            effect += f", min spend {rule.min_spend_minor}"
    elif rule.kind is RuleKind.EXCLUSION:
        effect = "no points"
    else:
        effect = f"x{rule.multiplier_permille / 1000:g}"
    target = (f"store {get_store(session, rule.store_id).code}" if rule.store_id
              else f"category {session.get(Category, rule.category_id).code}"
              if rule.category_id else f"sku {rule.sku}" if rule.sku else "every line")
    until = rule.valid_to.isoformat(timespec="seconds") if rule.valid_to else "open"
    return (f"{rule.kind.value:<9} {effect:<22} {target:<24} {rule.currency or 'any'}  "
            f"{rule.valid_from.isoformat(timespec='seconds')} .. {until}  {rule.name}")


def _category_id(session: Session, code: str | None) -> int | None:
    if code is None:
        return None
    found = session.scalar(select(Category.id).where(Category.code == code))
    if found is None:
        raise InvalidInput(f"no category {code!r} (import the catalog first)")
    return found
