"""``loyalty catalog ...``"""

from __future__ import annotations

import csv
from pathlib import Path

import click

from loyalty.catalog.services import import_catalog, read_catalog_csv
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
