"""``loyalty demo seed`` and ``loyalty demo serve``: what ``make demo`` runs."""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from loyalty.cli import Context, domain_errors_exit, pass_ctx
from loyalty.demo.plan import ChainSpec
from loyalty.demo.seed import STATE_FILE, read_state, sample_card, sample_product, seed_demo


@click.group("demo")
def cli() -> None:
    """The demo chain: seed it, serve it."""


@contextmanager
def _progress_bar(label: str, total: int) -> Iterator[Callable[[int], None]]:
    with click.progressbar(length=total, label=f"  {label:<8}", show_pos=True,
                           show_eta=True, width=32) as bar:
        yield bar.update


@cli.command("seed")
@click.option("--members", default=ChainSpec.members, show_default=True)
@click.option("--baskets", default=ChainSpec.baskets, show_default=True)
@click.option("--days", default=ChainSpec.days, show_default=True, help="Days of history.")
@click.option("--seed", "seed_", default=ChainSpec.seed, show_default=True,
              help="Seed of the generator: the same seed gives the same chain.")
@pass_ctx
@domain_errors_exit
def seed(ctx: Context, members: int, baskets: int, days: int, seed_: int) -> None:
    """Seed a realistic demo chain; does nothing if it is there already, resumes if cut short."""
    try:
        spec = ChainSpec(members=members, baskets=baskets, days=days, seed=seed_)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    app = ctx.app
    with app.app_context():
        result = seed_demo(
            app.extensions["loyalty.db"].session_factory, app.extensions["loyalty.settings"],
            spec, progress=_progress_bar, say=lambda msg: click.echo(f"demo: {msg}"),
        )
    if result.status == "present":
        click.echo(f"demo: the chain is here already ({result.members} members, "
                   f"{result.baskets} baskets); nothing to do")
        return
    click.echo(f"demo: {result.status} {result.members} members and {result.baskets_added} "
               f"baskets in {result.seconds:.1f} s; logins and tokens in {result.state_path}")


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--flask-server", is_flag=True, help="Use Flask's server even if gunicorn is here.")
@pass_ctx
def serve(ctx: Context, host: str, port: int, flask_server: bool) -> None:
    """Print what to open, the demo logins and till tokens, and serve the back office."""
    app = ctx.app
    settings = app.extensions["loyalty.settings"]
    state = read_state(Path(settings.instance_path) / STATE_FILE)
    base = f"http://{host}:{port}"
    with ctx.session() as session:
        card = sample_card(session)
        product = sample_product(session)
    click.echo(_welcome(base, state, card, product))
    sys.stdout.flush()
    if not flask_server and importlib.util.find_spec("gunicorn") is not None:
        # Threads in one worker per core: SQLite (the embedded default) serialises writers.
        argv = [sys.executable, "-m", "gunicorn", "-c", "python:loyalty.demo.gunicorn_conf",
                "--bind", f"{host}:{port}", "--workers", "2", "--threads", "4",
                "--access-logfile", "-", "loyalty.wsgi:app"]
        os.execv(sys.executable, argv)  # noqa: S606 - our own interpreter, fixed arguments
    app.run(host=host, port=port, debug=False, use_reloader=False, threaded=True)


def _welcome(
    base: str, state: dict[str, Any] | None, card: tuple[str, str, int] | None,
    product: tuple[str, str, int] | None,
) -> str:
    out = [
        "",
        f"  Open              {base}/",
        f"  API (OpenAPI)     {base}/api/v1/openapi.json",
        "",
    ]
    if state is None:
        out += ["  No demo credentials: run `loyalty demo seed` first.", ""]
        return "\n".join(out)
    out.append("  Staff logins      username / password / API bearer token")
    for person in state.get("staff", []):
        where = f" ({person['store']})" if person["store"] else ""
        out.append(f"    {person['username']:<16} {person['password']:<22} {person['api_token']}"
                   f"   {person['role']}{where}")
    out += ["", "  Till tokens"]
    for till in state.get("tills", []):
        out.append(f"    {till['name']:<16} {till['token']}")
    tills = state.get("tills") or []
    if tills and card and product:
        out += ["", *_curl_examples(base, tills[0]["token"], card, product)]
    campaigns = state.get("campaigns") or []
    if campaigns:
        out += ["", "  Campaign results (treatment against holdout, with the 95% interval):",
                *(f"    .venv/bin/loyalty campaign results {cid}    "
                  f"GET {base}/api/v1/campaigns/{cid}/results" for cid in campaigns)]
    out.append("")
    return "\n".join(out)


def _curl_examples(
    base: str, token: str, card: tuple[str, str, int], product: tuple[str, str, int]
) -> list[str]:
    number, name, balance = card
    sku, product_name, price = product
    body = json.dumps({
        "currency": "AED", "card_number": number, "redeem_points": min(balance, 100),
        "lines": [{"sku": sku, "quantity": 2, "unit_price_minor": price}],
    })
    auth = shlex.quote(f"Authorization: Bearer {token}")
    return [
        f"  Try it: identify {name}'s card ({balance} points), then buy 2 x {product_name}",
        f"    curl -s {base}/api/v1/cards/{number} -H {auth}",
        f"    curl -s -X POST {base}/api/v1/checkouts -H {auth} \\",
        "         -H \"Idempotency-Key: demo-$(date +%s)\" -H 'Content-Type: application/json' \\",
        f"         -d {shlex.quote(body)}",
        "",
        "  Or run a whole till, swipe to slip, on virtual devices, in a second terminal:",
        f"    .venv/bin/pos-agent simulate --back-office {base} --token {shlex.quote(token)}"
        f" --card {number}",
    ]
