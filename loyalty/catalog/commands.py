"""``loyalty catalog ...``"""

from __future__ import annotations

import csv
from pathlib import Path

import click

from loyalty.catalog.services import import_catalog, list_unknown_skus, read_catalog_csv
from loyalty.cli import Context, domain_errors_exit, pass_ctx


@click.group("catalog")
def cli() -> None:
    """Products and categories."""


@cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_ctx
@domain_errors_exit
def import_file(ctx: Context, file: Path) -> None:
    """Import products and categories from a CSV FILE.

    Columns: sku,name,category_code,category_name,price_minor,currency[,barcode].
    Good rows are imported even when others are rejected; each rejected row is reported with
    its line number, and the exit status is then 1.  Importing the same file again changes
    nothing.
    """
    # utf-8-sig: spreadsheets save CSV with a byte-order mark that would spoil the first column.
    try:
        with file.open(newline="", encoding="utf-8-sig") as stream, ctx.session() as session:
            report = import_catalog(session, read_catalog_csv(stream))
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"{file.name} is not UTF-8 text ({exc.reason} at byte "
                                   f"{exc.start}); nothing imported") from exc
    except csv.Error as exc:
        raise click.ClickException(f"{file.name} is not readable CSV ({exc}); "
                                   "nothing imported") from exc
    for error in report.errors:
        click.echo(f"{file.name}: {error}", err=True)
    click.echo(report.summary())
    if report.rejected:
        raise SystemExit(1)


@cli.command("unknown-skus")
@click.option("--limit", default=1000, show_default=True, type=click.IntRange(1, 100_000),
              help="Show at most this many, most recently seen first.")
@pass_ctx
def unknown_skus(ctx: Context, limit: int) -> None:
    """SKUs the tills sold that the catalog does not know, per store.

    Such sales are kept (the till's word is the sale's truth) and counted here: how many sale
    lines named the SKU, the units sold, and when it was first and last sold.  A SKU drops off
    the list once the catalog has it (``loyalty catalog import``).
    """
    with ctx.session() as session:
        rows = list_unknown_skus(session, limit)
    if not rows:
        click.echo("no unknown SKUs: every SKU sold is in the catalog")
        return
    click.echo(f"{'store':<12} {'sku':<24} {'lines':>7} {'units':>8}  first sold (UTC)  "
               "last sold (UTC)")
    for row in rows:
        click.echo(f"{row.store_code:<12} {row.sku:<24} {row.lines_seen:>7} {row.units_sold:>8}"
                   f"  {row.first_seen_at:%Y-%m-%d %H:%M}  {row.last_seen_at:%Y-%m-%d %H:%M}")
