"""``pos-agent ...`` commands: run the agent, show its status and devices, simulate a checkout."""

from __future__ import annotations

import json
import sqlite3
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from pos_agent.config import AgentConfig, ConfigError, load_config

DEFAULT_CONFIG = "/etc/pos-agent/agent.toml"
CONFIG_ENV = "POS_AGENT_CONFIG"


def config_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--config``: how every command finds the agent's TOML, so they all agree.

    ``--config FILE``, else ``$POS_AGENT_CONFIG``, else ``/etc/pos-agent/agent.toml``; the
    command receives the checked :class:`AgentConfig` as ``config``.
    """
    return click.option(
        "--config", "config", envvar=CONFIG_ENV, default=DEFAULT_CONFIG, show_default=True,
        type=click.Path(dir_okay=False), callback=_load_config, show_envvar=True,
        help="The agent's TOML file.")(command)


def _load_config(_ctx: click.Context, _param: click.Parameter, path: str) -> AgentConfig:
    try:
        return load_config(path)
    except ConfigError as exc:
        hint = "" if Path(path).exists() else f" (give --config FILE or set {CONFIG_ENV})"
        raise click.ClickException(f"config: {exc}{hint}") from None


@click.group()
def main() -> None:
    """The till agent: devices, till session, offline outbox, slips."""


@main.command()
@config_option
def run(config: AgentConfig) -> None:
    """Run the agent until SIGTERM or SIGINT."""
    from pos_agent.agent import Agent, setup_logging

    config.data_dir.mkdir(parents=True, exist_ok=True)
    screen = config.display and sys.stdout.isatty()
    if screen:  # the screen is the cashier's: the log goes to a file beside the outbox
        log_file = (config.data_dir / "agent.log").open("a", encoding="utf-8")
        setup_logging(config.log_level, log_file)
    else:
        setup_logging(config.log_level)
    try:
        agent = Agent(config, display=sys.stdout if screen else None)
    except OSError as exc:  # the local API's port is taken, the data dir is not writable...
        raise click.ClickException(f"cannot start: {exc.strerror or exc}") from None
    agent.run()


@main.command()
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status(config: AgentConfig, as_json: bool) -> None:
    """Online or offline, queue depth, dead letters, devices, last sync."""
    report = gather_status(config)
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
        return
    click.echo(format_status(report))


def gather_status(config: AgentConfig) -> dict[str, Any]:
    """From the outbox and cache files, and from the running agent's local API if it is up."""
    report: dict[str, Any] = {"agent": "not running", "config": str(config.path or "")}
    if config.outbox_path.exists():
        from pos_agent.outbox import Outbox

        with Outbox(config.outbox_path) as outbox:
            report["outbox"] = outbox.status()
            report["dead_letter_list"] = [
                {"key": d.key, "status": d.status, "code": d.code, "reason": d.reason,
                 "added_at": d.added_at.isoformat()} for d in outbox.dead_letters()]
    else:
        report["outbox"] = None
    report["cache"] = _cache_status(config.cache_path)
    live = _live_status(config)
    if live is not None:
        report["agent"] = "running"
        report["live"] = live
    return report


def _cache_status(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    from pos_agent.cache import Cache

    try:
        with Cache(path) as cache:
            return cache.summary()
    except (sqlite3.Error, OSError):  # unreadable or damaged: the rest of the status still shows
        return None


def _live_status(config: AgentConfig) -> dict[str, Any] | None:
    if not config.local_api_port:
        return None
    request = urllib.request.Request(  # noqa: S310 - a fixed http://127.0.0.1 URL
        f"http://127.0.0.1:{config.local_api_port}/status",
        headers={"Authorization": f"Bearer {config.local_token}"})
    try:
        with urllib.request.urlopen(request, timeout=1.0) as answer:  # noqa: S310
            return json.loads(answer.read())
    except (OSError, urllib.error.URLError, ValueError):
        return None


def back_office_line(outbox: dict[str, Any], live: dict[str, Any]) -> str:
    """The back office's state by the rule in pos_agent/outbox/sync.py, with the times it
    rests on; a running agent whose last till call failed is offline whatever the files say."""
    state, contact = outbox.get("back_office"), outbox.get("last_contact")
    if (live and live.get("online") is False) or state == "offline":
        return "OFFLINE" + (f" (last answer {contact})" if contact else " (never reached)")
    if state == "online":
        return f"online (last answer {contact})"
    if contact:
        return f"unknown: no answer since {contact}" + ("" if live else " (agent not running)")
    return "unknown (never reached)"


def format_status(report: dict[str, Any]) -> str:
    live = report.get("live") or {}
    outbox = report.get("outbox") or {}
    out = [f"agent         {report['agent']}",
           f"back office   {back_office_line(outbox, live)}",
           f"queue         {outbox.get('depth', 0)} sale(s) waiting"
           + (f", oldest {outbox['oldest_pending_at']}" if outbox.get("oldest_pending_at")
              else ""),
           f"dead letters  {outbox.get('dead_letters', 0)}",
           f"last sync     {outbox.get('last_sync') or 'never'}"]
    if outbox.get("last_error"):
        out.append(f"last error    {outbox['last_error']} at {outbox.get('last_error_at')}")
    cache = report.get("cache")
    if cache:
        out.append(f"catalog       {cache['products']} products, refreshed "
                   f"{cache['catalog_refreshed_at'] or 'never'}")
    for letter in report.get("dead_letter_list", []):
        out.append(f"  dead letter {letter['key']}: {letter['status']} {letter['code']}: "
                   f"{letter['reason']}")
    devices = live.get("devices")
    if devices is not None:
        out.append("devices")
        out += [f"  {d['name']}: {d.get('state', 'unknown')}" for d in devices] or ["  none"]
    else:
        out.append("devices       (agent not running: see `pos-agent devices`)")
    return "\n".join(out)


@main.command()
@config_option
def devices(config: AgentConfig) -> None:
    """What is attached, and which devices the config would use."""
    from pos_agent.readers import describe_devices

    for line in describe_devices(config.devices):
        click.echo(line)


@main.command()
@click.option("--back-office", required=True, help="The back office, e.g. http://127.0.0.1:5000")
@click.option("--token", required=True, help="A till token (`make demo` prints them).")
@click.option("--card", "card_number", required=True,
              help="A member's loyalty card number (`make demo` prints one).")
@click.option("--products", default=3, show_default=True, type=click.IntRange(1, 20))
@click.option("--timeout", default=2.0, show_default=True, type=click.FloatRange(0.1, 30))
def simulate(back_office: str, token: str, card_number: str, products: int,
             timeout: float) -> None:
    """Swipe a card and scan products on virtual serial devices (pseudo-terminals)."""
    from pos_agent.simulate import run_simulation

    try:
        code = run_simulation(back_office, token, card_number, products=products,
                              out=sys.stdout, timeout=timeout)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    sys.exit(code)
