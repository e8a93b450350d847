"""``loyalty import members|baskets|balances FILE``

Each command reads the whole file in one transaction: it either finishes, or (killed, or a
file that cannot be read at all) leaves the database as it was.  Rejected rows are reported
on stderr with the file, their line (CSV) or row (Parquet) number and the reason, a summary
goes to stdout, and the exit status is 1 if any row was rejected.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from loyalty.cli import Context, domain_errors_exit, pass_ctx
from loyalty.imports.baskets import COLUMNS as BASKET_COLUMNS
from loyalty.imports.baskets import import_baskets
from loyalty.imports.reading import ImportFileError, check_room, open_table
from loyalty.imports.services import (
    BALANCE_COLUMNS,
    MEMBER_COLUMNS,
    RowReport,
    import_balances,
    import_members,
)

FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
PLAIN_PROGRESS_EVERY = 100_000  # lines between progress lines when not on a terminal


@click.group("import")
def cli() -> None:
    """Bring a retailer's history in: members, baskets, opening balances."""


def _check_room(file: Path, database_url: str) -> None:
    """Before loading: room for the file on the disks an embedded (SQLite) database writes to,
    its temporary tables (the staging, in the temporary directory: TMPDIR, as SQLite reads it
    too) and its file.  A PostgreSQL server stages and stores on its own disk, which this
    process cannot see; if it runs out, the one transaction fails and changes nothing."""
    if not database_url.startswith("sqlite"):
        return
    database = make_url(database_url).database
    if not database or database == ":memory:":
        return
    check_room(file, [("the staging tables", Path(tempfile.gettempdir())),
                      ("the database", Path(database).resolve().parent)])


@contextmanager
def _out_of_room(file: Path) -> Iterator[None]:
    """The database's disk filled during the import (the check before cannot see a
    PostgreSQL server's disk, nor what else writes meanwhile): the transaction is rolled
    back, and the person is told so in one line rather than a traceback."""
    try:
        yield
    except Exception as exc:
        # Through SQLAlchemy (wrapped) or from the driver itself (the staging's COPY and
        # executemany): PostgreSQL's SQLSTATE 53100 disk_full, SQLite's SQLITE_FULL.
        error = exc.orig if isinstance(exc, DBAPIError) else exc
        if (getattr(error, "sqlstate", None) != "53100"
                and getattr(error, "sqlite_errorname", None) != "SQLITE_FULL"):
            raise
        raise ImportFileError(f"the database ran out of disk space while importing "
                              f"{file.name}; nothing imported") from exc


def _finish(report: RowReport) -> None:
    for error in report.errors:
        click.echo(error, err=True)
    click.echo(report.summary())
    if report.rejected:
        raise SystemExit(1)


@cli.command("members")
@click.argument("file", type=FILE)
@pass_ctx
@domain_errors_exit
def members(ctx: Context, file: Path) -> None:
    """Create or update members from a CSV or Parquet FILE, by their reference.

    Columns: reference, name; optional phone (E.164), email, birth_date, gender, language,
    preferred_channel, and per channel (email, sms) consent_<channel> (yes/no) with
    consent_<channel>_date, and consent_text_version.  Idempotent by reference.
    """
    table = open_table(file, MEMBER_COLUMNS)
    settings = ctx.app.extensions["loyalty.settings"]
    _check_room(file, settings.resolved_database_url)
    with _out_of_room(file), ctx.session() as session:
        report = import_members(session, table.rows, name=table.name, place=table.place,
                                card_prefix=settings.card_prefix,
                                card_length=settings.card_length)
    _finish(report)


@cli.command("balances")
@click.argument("file", type=FILE)
@pass_ctx
@domain_errors_exit
def balances(ctx: Context, file: Path) -> None:
    """Post opening balances from a CSV or Parquet FILE: reference, points[, expiry].

    Each is a ledger posting with the reason "opening balance" whose points expire on
    ``expiry`` (YYYY-MM-DD; empty: after the programme's points lifetime).  A member who has
    an opening balance already is left as they are.
    """
    table = open_table(file, BALANCE_COLUMNS)
    settings = ctx.app.extensions["loyalty.settings"]
    _check_room(file, settings.resolved_database_url)
    with _out_of_room(file), ctx.session() as session:
        report = import_balances(session, table.rows, name=table.name, place=table.place,
                                 lifetime_days=settings.points_lifetime_days)
    _finish(report)


@cli.command("baskets")
@click.argument("file", type=FILE)
@click.option("--create-missing", is_flag=True,
              help="Create unknown members, stores and products instead of skipping their "
                   "baskets.")
@click.option("--currency", metavar="CODE",
              help="ISO 4217 currency of the stores --create-missing creates.")
@click.option("--timezone", default="UTC", show_default=True, metavar="ZONE",
              help="IANA time zone of the stores --create-missing creates.")
@click.option("--earn", is_flag=True,
              help="The baskets loaded earn points under the rules in force when they "
                   "happened (default: history earns nothing).")
@pass_ctx
@domain_errors_exit
def baskets(ctx: Context, file: Path, create_missing: bool, currency: str | None,
            timezone: str, earn: bool) -> None:
    """Import purchase history from a CSV or Parquet FILE.

    Columns: member_ref, basket_id, occurred_at, store, sku, quantity, amount_minor
    (optional: currency).  A time without a zone is in the store's time zone.  A bad line
    rejects its whole basket; baskets imported before are left as they are, so importing the
    same file again (or again after a killed run) changes nothing.  Imported baskets earn no
    points unless --earn is given.
    """
    interactive = sys.stderr.isatty()
    table = open_table(file, BASKET_COLUMNS, count_rows=interactive)
    settings = ctx.app.extensions["loyalty.settings"]
    _check_room(file, settings.resolved_database_url)
    started = time.monotonic()
    with (_out_of_room(file), _progress(table.estimated_rows, interactive) as progress,
          ctx.session() as session):
        report = import_baskets(session, table.rows, name=table.name, place=table.place,
                                columns=table.columns, create_missing=create_missing,
                                currency=currency, timezone=timezone, progress=progress,
                                earn_lifetime_days=settings.points_lifetime_days if earn
                                else None)
    for error in report.errors:
        click.echo(error, err=True)
    if report.errors_total > len(report.errors):
        click.echo(f"... and {report.errors_total - len(report.errors)} more", err=True)
    click.echo(f"{report.summary()} ({report.lines_read} lines in "
               f"{time.monotonic() - started:.1f} s)")
    if report.baskets_skipped or report.lines_skipped:
        raise SystemExit(1)


@contextmanager
def _progress(total: int | None, interactive: bool) -> Iterator[Callable[[int], None]]:
    """A progress bar with lines per second and time left on a terminal; else a plain line
    every so often (a log or a pipe wants no carriage returns)."""
    started = time.monotonic()
    done = 0

    def rate() -> float:
        return done / max(time.monotonic() - started, 1e-6)

    if not interactive:
        def plain(lines: int) -> None:
            nonlocal done
            if lines // PLAIN_PROGRESS_EVERY > done // PLAIN_PROGRESS_EVERY:
                done = lines
                click.echo(f"read {lines} lines ({rate():,.0f} lines/s)", err=True)
            done = lines

        yield plain
        return
    with click.progressbar(length=max(total or 0, 1), label="reading", file=sys.stderr,
                           show_eta=True, show_pos=True,
                           item_show_func=lambda item: item) as bar:
        def update(lines: int) -> None:
            nonlocal done
            step, done = lines - done, lines
            bar.update(step, f"{rate():,.0f} lines/s")

        yield update
