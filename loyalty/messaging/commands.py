"""``loyalty messages ...``: the messaging sweep by hand or from cron, and a count by status.

In production beat runs ``messaging.sweep`` every minute.  The embedded default has no beat: a
cron line such as ``* * * * * cd /srv/loyalty && .venv/bin/loyalty messages sweep`` releases
messages deferred by quiet hours or a retry's backoff (they are sent at once, in that process).
"""

from __future__ import annotations

import click

from loyalty.cli import Context, pass_ctx


@click.group("messages")
def cli() -> None:
    """Messages to members: release the due ones, count them by status."""


@cli.command("sweep")
@pass_ctx
def sweep(ctx: Context) -> None:
    """Queue deferred messages whose time has come; mark dead claims unknown."""
    from loyalty.messaging.services import sweep_messages
    from loyalty.messaging.tasks import sending_policy

    with ctx.session() as session:
        result = sweep_messages(session, sending_policy(ctx.app.extensions["loyalty.settings"]))
    click.echo(f"released {len(result.released)}, marked unknown {len(result.unknown)}")


@cli.command("status")
@pass_ctx
def status(ctx: Context) -> None:
    """How many messages are in each status (``unknown`` ones want a person's review)."""
    from loyalty.messaging.services import message_counts

    with ctx.session() as session:
        counts = message_counts(session)
    for name, count in sorted(counts.items()):
        click.echo(f"{name}: {count}")
    if not counts:
        click.echo("no messages")
