"""``loyalty tasks ...``: the periodic work, by hand or from cron.

In production the one beat runs these on schedule; in the embedded default (no broker, no beat)
an hourly cron line such as ``5 * * * * cd /srv/loyalty && .venv/bin/loyalty tasks expire`` does.
"""

from __future__ import annotations

import click

from loyalty.cli import Context, pass_ctx
from loyalty.extensions import database


@click.group("tasks")
def cli() -> None:
    """Periodic work: relay the outbox, expire points, review tiers."""


@cli.command("relay")
@pass_ctx
def relay(ctx: Context) -> None:
    """Hand waiting outbox messages to Celery (or run them here without a broker)."""
    from loyalty.outbox.tasks import deliver_outbox

    with ctx.app.app_context():
        report = deliver_outbox(ctx.app)
    click.echo(f"delivered {len(report.delivered)}, failed {len(report.failed)}")
    if report.failed:
        raise click.ClickException(f"stopped at a failure: {report.last_error}")


@cli.command("expire")
@pass_ctx
def expire(ctx: Context) -> None:
    """Expire every lot past its date (safe to run twice, or twice at once)."""
    from loyalty.ledger.tasks import expire_due_points

    with ctx.app.app_context():
        expired = expire_due_points(database(ctx.app).session_factory)
    click.echo(f"expired {expired} points")


@cli.command("review-tiers")
@pass_ctx
def review_tiers(ctx: Context) -> None:
    """The monthly tier review: members move down at most one tier a month (safe to repeat)."""
    from loyalty.tiers.tasks import review_due_tiers

    with ctx.app.app_context():
        reviewed, changed = review_due_tiers(database(ctx.app).session_factory)
    click.echo(f"reviewed {reviewed} members, {changed} changed tier")


@cli.command("pending")
@pass_ctx
def pending(ctx: Context) -> None:
    """How many outbox messages wait, and the latest failure."""
    from loyalty.outbox.services import outbox_backlog

    with ctx.session() as session:
        backlog = outbox_backlog(session)
    click.echo(f"{backlog.pending} waiting" + (f", oldest #{backlog.oldest_id}"
                                               if backlog.oldest_id else ""))
    if backlog.last_error:
        click.echo(f"last error: {backlog.last_error}")
