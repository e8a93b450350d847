"""``loyalty insight ...``: rebuild member insight, fit the churn model, export (INSIGHT.md)."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import click

from loyalty.cli import Context, pass_ctx
from loyalty.db import utcnow
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
@pass_ctx
def rebuild(ctx: Context, as_of: dt.date | None) -> None:
    """Recompute every member's insight from all baskets (also nightly under beat)."""
    as_of = as_of or utcnow().date()
    with ctx.session() as session:
        members = rebuild_insight(session, as_of)
    click.echo(f"insight as of {as_of}: {members} members with purchases")


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
