"""``pos-agent run`` as a real process (SIGTERM stops it cleanly), ``status`` and ``devices``."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from pos_agent.cli import DEFAULT_CONFIG, main
from pos_agent.outbox import Outbox
from pos_agent.simulate import VirtualDevice
from tests.pos_agent.till.backoffice import real_back_office  # noqa: F401 - a fixture
from tests.pos_agent.till.helpers import LOCAL_TOKEN, call, free_port, wait_for


def write_config(tmp_path: Path, *, port: int, back_office: str, device: str = "") -> Path:
    devices = f'[[devices]]\nname = "scanner"\nkind = "serial"\nurl = "{device}"\n' \
        if device else ""
    path = tmp_path / "agent.toml"
    path.write_text(f"""
[back_office]
url = "{back_office}"
token = "till-token"
timeout_seconds = 0.5

[till]
name = "lane 1"
data_dir = "data"
currency = "AED"

[local_api]
port = {port}
token = "{LOCAL_TOKEN}"

{devices}
""")
    return path


def test_run_serves_then_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    with VirtualDevice.open("scanner") as scanner:
        config = write_config(tmp_path, port=port, back_office=f"http://127.0.0.1:{free_port()}",
                              device=scanner.path)
        process = subprocess.Popen(
            [sys.executable, "-c", "from pos_agent.cli import main; main()", "run",
             "--config", str(config)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            api = f"http://127.0.0.1:{port}"

            def up() -> bool:
                try:
                    return call(api, "GET", "/status")[0] == 200
                except OSError:
                    return False

            wait_for(up, timeout=10)
            live = wait_for(lambda: call(api, "GET", "/status")[2]["devices"][0]["state"]
                            == "connected" and call(api, "GET", "/status")[2])
            assert live["queue_depth"] == 0
            result = CliRunner().invoke(main, ["status", "--config", str(config)])
            assert result.exit_code == 0, result.output
            assert "agent         running" in result.output
            assert "scanner: connected" in result.output
            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=10) == 0
            assert time.monotonic() - started < 5
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        log = [json.loads(line) for line in process.stderr.read().decode().splitlines()
               if line.startswith("{")]
        assert {"agent started", "signal", "agent stopped"} <= {entry["msg"] for entry in log}
        process.stdout.close()
        process.stderr.close()
    # Stopped: status reads the files the agent left.
    result = CliRunner().invoke(main, ["status", "--config", str(config), "--json"])
    report = json.loads(result.output)
    assert report["agent"] == "not running" and report["outbox"]["depth"] == 0
    assert "catalog" in report["outbox"]["last_error"]  # the back office was never reached


def test_status_before_the_first_run(tmp_path: Path) -> None:
    config = write_config(tmp_path, port=free_port(), back_office="http://127.0.0.1:9")
    result = CliRunner().invoke(main, ["status", "--config", str(config)])
    assert result.exit_code == 0
    assert "agent         not running" in result.output
    assert "queue         0 sale(s) waiting" in result.output


def test_devices_lists_the_configured_ones(tmp_path: Path) -> None:
    with VirtualDevice.open("scanner") as scanner:
        config = write_config(tmp_path, port=free_port(), back_office="http://127.0.0.1:9",
                              device=scanner.path)
        result = CliRunner().invoke(main, ["devices", "--config", str(config)])
    assert result.exit_code == 0
    assert f"scanner (serial, {scanner.path}) -> present" in result.output


def test_a_bad_config_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    path.write_text('[back_office]\nurl = "http://x"\n')
    result = CliRunner().invoke(main, ["status", "--config", str(path)])
    assert result.exit_code == 1 and "back_office.token: required" in result.output


def test_run_with_the_local_port_taken_says_so(tmp_path: Path) -> None:
    import socket

    with socket.create_server(("127.0.0.1", 0)) as taken:
        config = write_config(tmp_path, port=taken.getsockname()[1],
                              back_office="http://127.0.0.1:9")
        result = CliRunner().invoke(main, ["run", "--config", str(config)])
    assert result.exit_code == 1
    assert "cannot start: Address already in use" in result.output


def test_simulate_with_a_bad_token_says_the_token_was_refused(real_back_office) -> None:  # noqa: F811
    bo = real_back_office
    result = CliRunner().invoke(main, ["simulate", "--back-office", bo.url, "--token",
                                       "not-a-till-token", "--card", bo.card])
    assert result.exit_code == 1
    assert "the back office refused the till token (401" in result.output, result.output
    assert "no products" not in result.output and "not-a-till-token" not in result.output


def test_simulate_with_no_back_office_says_it_did_not_answer() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(main, ["simulate", "--back-office", url, "--token", "t" * 20,
                                       "--card", "9871000000000001", "--timeout", "0.5"])
    assert result.exit_code == 1
    assert f"the back office at {url} did not answer" in result.output, result.output


def test_status_and_devices_find_the_config_the_same_way(tmp_path: Path) -> None:
    config = write_config(tmp_path, port=free_port(), back_office="http://127.0.0.1:9")
    runner = CliRunner()
    for command in ("status", "devices"):
        # from the environment, with no option
        found = runner.invoke(main, [command], env={"POS_AGENT_CONFIG": str(config)})
        assert found.exit_code == 0, (command, found.output)
        # the option wins over the environment
        absent = tmp_path / "absent.toml"
        missing = runner.invoke(main, [command, "--config", str(absent)],
                                env={"POS_AGENT_CONFIG": str(config)})
        assert missing.exit_code == 1
        assert f"config: {absent}: no such file (give --config FILE or set POS_AGENT_CONFIG)" \
            in missing.output
        # neither: both look at the one default path (absent here, as on a build machine)
        default = runner.invoke(main, [command], env={"POS_AGENT_CONFIG": None})
        if not Path(DEFAULT_CONFIG).exists():
            assert default.exit_code == 1, (command, default.output)
            assert f"config: {DEFAULT_CONFIG}: no such file" in default.output


def _status_with(tmp_path: Path, **marks: dt.timedelta) -> str:
    """``pos-agent status`` (agent not running) after the given contact and failure ages."""
    config = write_config(tmp_path, port=free_port(), back_office="http://127.0.0.1:9")
    now = dt.datetime.now(dt.UTC)
    with Outbox(tmp_path / "data" / "outbox.sqlite3") as outbox:
        if "answer" in marks:
            outbox.mark_online(now - marks["answer"])
        if "failure" in marks:
            outbox.mark_offline("connection refused", now - marks["failure"])
    result = CliRunner().invoke(main, ["status", "--config", str(config)])
    assert result.exit_code == 0, result.output
    return next(line for line in result.output.splitlines() if line.startswith("back office"))


def test_status_says_online_only_after_a_fresh_answer(tmp_path: Path) -> None:
    line = _status_with(tmp_path, answer=dt.timedelta(seconds=10))
    assert line.startswith("back office   online (last answer")


def test_status_does_not_say_online_when_the_back_office_went_quiet_minutes_ago(
        tmp_path: Path) -> None:
    line = _status_with(tmp_path, answer=dt.timedelta(minutes=5))
    assert "online" not in line.replace("unknown", "")
    assert line.startswith("back office   unknown: no answer since") and "not running" in line


def test_status_says_offline_after_a_failure(tmp_path: Path) -> None:
    line = _status_with(tmp_path, answer=dt.timedelta(minutes=5),
                        failure=dt.timedelta(minutes=4))
    assert line.startswith("back office   OFFLINE (last answer")


def test_status_shows_the_cached_catalog(tmp_path: Path) -> None:
    from pos_agent.cache import Cache

    config = write_config(tmp_path, port=free_port(), back_office="http://127.0.0.1:9")
    with Cache(tmp_path / "data" / "cache.sqlite3") as cache:
        cache.put_products([{"sku": "A", "barcode": None}, {"sku": "B", "barcode": None}])
    result = CliRunner().invoke(main, ["status", "--config", str(config), "--json"])
    assert json.loads(result.output)["cache"] == {"products": 2, "members": 0,
                                                  "catalog_refreshed_at": None}
    text = CliRunner().invoke(main, ["status", "--config", str(config)]).output
    assert "catalog       2 products, refreshed never" in text
