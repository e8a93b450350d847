"""Small helpers for the till's tests: an HTTP caller for the local API, an agent config."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pos_agent.config import AgentConfig, parse_config

LOCAL_TOKEN = "local-token-for-tests-0123456789"


def call(base: str, method: str, path: str, body: Any = None, *, token: str | None = LOCAL_TOKEN,
         raw: bytes | None = None) -> tuple[int, str, Any]:
    """One request to the local API: (status, content type, decoded JSON)."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(base + path, data=data, method=method)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.headers["Content-Type"], json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], json.loads(error.read())


def agent_config(tmp_path: Path, url: str, token: str, *, devices: list[dict] | None = None,
                 timeout: float = 2.0, port: int = 0, printer: bool = True) -> AgentConfig:
    return parse_config({
        "back_office": {"url": url, "token": token, "timeout_seconds": timeout},
        "till": {"name": "lane 1", "store": "Test store", "data_dir": "data",
                 "currency": "AED", "timezone": "Asia/Dubai"},
        "local_api": {"port": port, "token": LOCAL_TOKEN},
        "offline": {"redeem_cap_points": 300},
        "devices": devices or [],
        **({"printer": {"kind": "dummy"}} if printer else {}),
    }, base_dir=tmp_path)


def wait_for(condition: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError("timed out waiting")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
