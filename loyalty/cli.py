"""``loyalty ...`` commands.  Each command builds the app, runs one unit of work, and exits
non-zero with a clear message on any domain error."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any

import click
from flask import Flask
from sqlalchemy.orm import Session

from loyalty.config import Settings, SettingsError
from loyalty.db import unit_of_work
from loyalty.errors import DomainError

# Command groups that live with their slice, each as ``loyalty/<slice>/commands.py:cli``
# (or a dotted ``<slice>.<module>`` naming a module of the slice that holds ``cli``).
SLICE_COMMANDS = (
    "ledger", "staff", "stores", "catalog", "coupons", "members", "outbox", "demo", "rules",
    "tiers", "messaging", "imports", "insight", "campaigns", "campaigns.results_commands",
    "accounts",
)


class Context:
    def __init__(self) -> None:
        self._app: Flask | None = None

    @property
    def app(self) -> Flask:
        if self._app is None:
            from loyalty.app import create_app

            try:
                self._app = create_app(Settings.from_env())
            except SettingsError as exc:
                raise click.ClickException(str(exc)) from exc
        return self._app

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction for the command: committed if the command succeeds."""
        with self.app.app_context():
            factory = self.app.extensions["loyalty.db"].session_factory
            with unit_of_work(factory) as session:
                yield session


pass_ctx = click.make_pass_decorator(Context, ensure=True)


def domain_errors_exit(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a DomainError into a one-line message and exit status 1."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except DomainError as exc:
            raise click.ClickException(f"{exc.code}: {exc.detail}") from exc

    return wrapper


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """Loyalty back office."""
    ctx.ensure_object(Context)


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply Alembic migrations."""
    from loyalty.migrations import upgrade

    settings = Settings.from_env()
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url, revision)
    click.echo(f"database at {revision}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@pass_ctx
def serve(ctx: Context, host: str, port: int) -> None:
    """Serve the back office (development server; production uses gunicorn)."""
    ctx.app.run(host=host, port=port, debug=False, use_reloader=False, threaded=True)


def _register_slice_commands() -> None:
    for name in SLICE_COMMANDS:
        path = f"loyalty.{name}" if "." in name else f"loyalty.{name}.commands"
        try:
            module = importlib.import_module(path)
        except ModuleNotFoundError as exc:
            if exc.name != path:
                raise
            continue
        main.add_command(module.cli)
        # A slice may own more than one top-level group (stores also has ``till``).
        for group in getattr(module, "extra_groups", ()):
            main.add_command(group)


_register_slice_commands()


if __name__ == "__main__":
    sys.exit(main())
