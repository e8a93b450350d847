"""``loyalty insight ...``: rebuild member insight, fit the churn model, export (INSIGHT.md)."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty.catalog.models import Category, Product
from loyalty.cli import Context, pass_ctx
from loyalty.db import utcnow
from loyalty.insight.affinity import DEFAULT_MIN_SUPPORT, top_affinities
from loyalty.insight.export import HEADER, insight_rows
from loyalty.insight.services import rebuild_insight


def _date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


@click.group("insight")
def cli() -> None:
    """Member insight: aggregates, RFM segments, churn and value."""


@cli.command("rebuild")
@click.option("--as-of", callback=_date, help="date (YYYY-MM-DD); today (UTC) by default")
@click.option("--min-support", type=click.FloatRange(0, 1), default=DEFAULT_MIN_SUPPORT,
              show_default=True, help="share of baskets a pair needs to become an affinity")
@pass_ctx
def rebuild(ctx: Context, as_of: dt.date | None, min_support: float) -> None:
    """Recompute every member's insight and the affinities from all baskets (also nightly
    under beat)."""
    as_of = as_of or utcnow().date()
    with ctx.session() as session:
        members = rebuild_insight(session, as_of, min_support)
    click.echo(f"insight as of {as_of}: {members} members with purchases")


@cli.command("pairs")
@click.option("--category", help="category code")
@click.option("--sku", help="product SKU")
@click.option("--limit", type=click.IntRange(1, 1000), default=10, show_default=True)
@pass_ctx
def pairs(ctx: Context, category: str | None, sku: str | None, limit: int) -> None:
    """What sells with a category or a product: the strongest affinities of the last rebuild."""
    if (category is None) == (sku is None):
        raise click.UsageError("give one of --category or --sku")
    with ctx.session() as session:
        kind, item_id = _item(session, category, sku)
        rules = top_affinities(session, kind, item_id, limit)
        names = _names(session, kind, [rule.consequent_id for rule in rules])
        for rule in rules:
            click.echo(f"{names[rule.consequent_id]:<24} lift {rule.lift:8.3f}  confidence "
                       f"{rule.confidence:6.3f}  support {rule.support:8.5f}  {rule.baskets}")
    if not rules:
        click.echo("no affinities above the minimum support (run `loyalty insight rebuild`)")


def _item(session: Session, category: str | None, sku: str | None) -> tuple[str, int]:
    if category is not None:
        found = session.scalar(select(Category.id).where(Category.code == category))
        kind = "category"
    else:
        found = session.scalar(select(Product.id).where(Product.sku == sku))
        kind = "product"
    if found is None:
        raise click.ClickException(f"no {kind} {category or sku!r}")
    return kind, found


def _names(session: Session, kind: str, ids: list[int]) -> dict[int, str]:
    model, label = (Category, Category.code) if kind == "category" else (Product, Product.sku)
    return dict(session.execute(select(model.id, label).where(model.id.in_(ids))).all())


@cli.command("model")
@click.option("--calibration-end", required=True, callback=_date,
              help="last day of the calibration period (YYYY-MM-DD)")
@click.option("--time-unit", type=click.Choice(["week", "day"]), default="week",
              show_default=True)
@click.option("--json", "as_json", is_flag=True, help="one JSON object")
@pass_ctx
def model(ctx: Context, calibration_end: dt.date, time_unit: str, as_json: bool) -> None:
    """Fit BG/NBD + Gamma-Gamma on the basket history; the next rebuild uses the fit."""
    from loyalty.insight.churn import fit_btyd

    with ctx.session() as session:
        try:
            fit = fit_btyd(session, calibration_end, time_unit)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
        result = {"r": fit.r, "alpha": fit.alpha, "a": fit.a, "b": fit.b, "p": fit.p,
                  "q": fit.q, "v": fit.v, "log_likelihood": fit.log_likelihood,
                  "customers": fit.customers}
    if as_json:
        click.echo(json.dumps(result))
        return
    for name, value in result.items():
        click.echo(f"{name:>15}  {'-' if value is None else format(value, '.6g')}")


@cli.command("export")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--as-of", callback=_date, help="rebuild as of this date first (YYYY-MM-DD)")
@pass_ctx
def export(ctx: Context, file: Path, as_of: dt.date | None) -> None:
    """One CSV row per member: recency, frequency, monetary, RFM, segment, churn and value."""
    with ctx.session() as session:
        if as_of is not None:
            rebuild_insight(session, as_of)
        written = 0
        with file.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(HEADER)
            for row in insight_rows(session):
                writer.writerow(row)
                written += 1
    click.echo(f"{written} members written to {file}")
