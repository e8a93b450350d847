"""``loyalty demo seed`` and ``loyalty demo serve`` as a person runs them."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, func, select

from loyalty.baskets.models import Basket
from loyalty.cli import main
from loyalty.demo.plan import DAY, MIN_DAYS, ChainSpec, build_plan


def _env(database_url: str, instance: Path) -> dict[str, str]:
    return {
        "LOYALTY_DATABASE_URL": database_url,
        "LOYALTY_INSTANCE_PATH": str(instance),
        "LOYALTY_SECRET_KEY": "test-secret",
        "LOYALTY_TESTING": "true",
        "LOYALTY_LOG_LEVEL": "WARNING",
    }


def test_seed_command_seeds_once_then_does_nothing(database_url, tmp_path):
    env = _env(database_url, tmp_path / "instance")
    args = ["demo", "seed", "--members", "8", "--baskets", "40", "--days", "30"]
    first = CliRunner().invoke(main, args, env=env)
    assert first.exit_code == 0, first.output
    assert "seeded 8 members and 40 baskets" in first.output
    state = json.loads((tmp_path / "instance" / "demo-credentials.json").read_text())
    assert state["spec"] == {"members": 8, "baskets": 40, "days": 30, "seed": 2026}

    second = CliRunner().invoke(main, args, env=env)
    assert second.exit_code == 0, second.output
    assert "nothing to do" in second.output


def test_seed_command_seeds_the_shortest_history_it_allows(database_url, tmp_path):
    """``--days 14``, the least the command's own message allows, seeds a chain (it crashed)."""
    env = _env(database_url, tmp_path / "instance")
    args = ["demo", "seed", "--members", "12", "--baskets", "40", "--days", "14"]
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 0, result.output
    assert "seeded 12 members and 40 baskets" in result.output
    state = json.loads((tmp_path / "instance" / "demo-credentials.json").read_text())
    assert state["spec"]["days"] == 14
    start, end = (dt.date.fromisoformat(state[k]) for k in ("history_start", "history_end"))
    assert end - start == dt.timedelta(days=14)
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            first, last, count = conn.execute(
                select(func.min(Basket.occurred_at), func.max(Basket.occurred_at),
                       func.count())).one()
    finally:
        engine.dispose()
    assert count == 40
    # Dates come back naive from SQLite's text: compare the calendar days, chain time zone.
    assert start - dt.timedelta(days=1) <= first.date() and last.date() <= end


@pytest.mark.parametrize("seed", range(6))
def test_plans_of_the_shortest_history_keep_every_member_inside_it(seed):
    plan = build_plan(ChainSpec(members=40, baskets=200, days=MIN_DAYS, seed=seed))
    assert all(m.joined_offset < DAY for m in plan.members)
    assert all(0 <= b.offset < MIN_DAYS * DAY for b in plan.baskets)


def test_seed_command_refuses_a_nonsense_size(database_url, tmp_path):
    result = CliRunner().invoke(main, ["demo", "seed", "--days", "3"],
                                env=_env(database_url, tmp_path / "instance"))
    assert result.exit_code == 2
    assert "14 days" in result.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_prints_what_to_open_and_serves_the_chain(chain):
    settings = chain.app.extensions["loyalty.settings"]
    state = json.loads((Path(settings.instance_path) / "demo-credentials.json").read_text())
    port = _free_port()
    env = {**os.environ, **_env(settings.database_url, Path(settings.instance_path))}
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "loyalty"), "demo", "serve", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    admin = next(p for p in state["staff"] if p["username"] == "admin")
    try:
        sign_in_page = _get_when_up(f"{base}/?lang=fa", server)  # figures need a sign-in
        assert 'dir="rtl"' in sign_in_page and "DXB-01" not in sign_in_page
        page = _sign_in_and_open(base, admin["username"], admin["password"], "/?lang=fa")
        assert 'dir="rtl"' in page
        assert "DXB-01" in page
        # The API token the demo printed for the same account still works after the sign-in.
        request = urllib.request.Request(f"{base}/api/v1/stores",
                                         headers={"Authorization": f"Bearer {admin['api_token']}"})
        with urllib.request.urlopen(request, timeout=5) as resp:  # noqa: S310 - our own server
            assert resp.status == 200
        # The marketer reads the finished demo campaign's results from the served chain.
        marketer = next(p for p in state["staff"] if p["username"] == "marketer")
        finished = state["campaigns"][0]
        request = urllib.request.Request(f"{base}/api/v1/campaigns/{finished}/results",
                                         headers={"Authorization":
                                                  f"Bearer {marketer['api_token']}"})
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 - our own server
            results = json.loads(resp.read())
        assert results["holdout"]["members"] > 0 and results["redemptions"]["redeemed"] > 0
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=20)
    assert f"http://127.0.0.1:{port}/" in output
    assert f"http://127.0.0.1:{port}/api/v1/openapi.json" in output
    assert admin["password"] in output and admin["api_token"] in output
    assert all(t["token"] in output for t in state["tills"])
    assert "curl -s -X POST" in output and "Idempotency-Key" in output
    assert f"loyalty campaign results {state['campaigns'][0]}" in output
    simulate = next(line for line in output.splitlines() if "pos-agent simulate" in line)
    assert f"--back-office http://127.0.0.1:{port}" in simulate
    assert f"--token {state['tills'][0]['token']}" in simulate and "--card 9871" in simulate


def _sign_in_and_open(base: str, username: str, password: str, path: str) -> str:
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    with browser.open(f"{base}/sign-in", timeout=10) as resp:  # the form, with its CSRF token
        token = re.search(r'name="csrf_token" value="([^"]+)"', resp.read().decode()).group(1)
    form = urllib.parse.urlencode({"username": username, "password": password,
                                   "csrf_token": token}).encode()
    with browser.open(f"{base}/sign-in", data=form, timeout=10) as resp:  # follows the redirect
        assert resp.status == 200
    with browser.open(f"{base}{path}", timeout=10) as resp:
        return resp.read().decode()


def _get_when_up(url: str, server: subprocess.Popen, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"serve exited early:\n{server.stdout.read()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - our own server
                return resp.read().decode()
        except OSError:
            time.sleep(0.2)
    raise AssertionError("serve did not answer in time")


def test_ctrl_c_stops_serve_at_once_though_a_browser_holds_connections(chain):
    """Ctrl-C in a terminal sends SIGINT to the whole foreground group: master and workers."""
    settings = chain.app.extensions["loyalty.settings"]
    port = _free_port()
    env = {**os.environ, **_env(settings.database_url, Path(settings.instance_path))}
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "loyalty"), "demo", "serve", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,  # its own group, as a terminal's foreground job
    )
    browser: list[socket.socket] = []
    try:
        _get_when_up(f"http://127.0.0.1:{port}/api/v1/openapi.json", server)
        browser = _browser_connections(port)
        os.killpg(server.pid, signal.SIGINT)
        started = time.monotonic()
        output, _ = server.communicate(timeout=40)
        took = time.monotonic() - started
    finally:
        for conn in browser:
            conn.close()
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.communicate()
    assert server.returncode == 0, output
    assert took < 4, f"Ctrl-C took {took:.1f} s"
    assert "SIGKILL" not in output and "out of memory" not in output, output


def _browser_connections(port: int) -> list[socket.socket]:
    """What a browser leaves open: a keep-alive connection after a page, and connections made
    ahead of need that have sent nothing yet."""
    kept = socket.create_connection(("127.0.0.1", port))
    kept.sendall(f"GET /api/v1/openapi.json HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    kept.recv(1)
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(4)]
    time.sleep(0.5)  # accepted by the workers' threads
    return [kept, *idle]
