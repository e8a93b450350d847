"""The agent's configuration: one TOML file per till (``/etc/pos-agent/agent.toml``).

Read with :mod:`tomllib`; every mistake is reported at start-up as a :class:`ConfigError` that
names the key (``back_office.url: ...``), never later in the middle of a sale.  Unknown keys
and tables are mistakes too (:data:`SECTIONS`).  The
``[[devices]]`` array and the ``[printer]`` table are parsed by their own modules
(:func:`pos_agent.readers.config.parse_devices`, :func:`pos_agent.printer.parse_printer`); this
module only hands them over and prefixes their errors with the key.

Secrets (the till token, the local API token) may be written inline or, better, kept in a file
of their own (``token_file``) readable by the agent's user only.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pos_agent.lanes import DEFAULT_LANES, MAX_LANES
from pos_agent.toml_table import ConfigError, TomlTable

DEFAULT_TIMEOUT = 2.0
DEFAULT_LOCAL_PORT = 8765
DEFAULT_CARD_PREFIX = "9871"  # as the back office's loyalty/config.py
DEFAULT_CARD_LENGTH = 16
DEFAULT_OFFLINE_CAP = 500

# Every key each table may hold: anything else is refused by name, since a misspelt key would
# otherwise leave its default silently in force.  ``[[devices]]`` and ``[printer]`` check their
# own keys (pos_agent/readers/config.py, pos_agent/printing/config.py).
SECTIONS: dict[str, frozenset[str]] = {
    "back_office": frozenset({"url", "token", "token_file", "timeout_seconds",
                              "catalog_refresh_seconds"}),
    "till": frozenset({"name", "store", "timezone", "currency", "data_dir", "display",
                       "log_level"}),
    "cards": frozenset({"prefix", "length"}),
    "offline": frozenset({"redeem_cap_points", "member_max_age_hours", "replay_lanes"}),
    "local_api": frozenset({"port", "token", "token_file"}),
}
OTHER_TABLES = frozenset({"devices", "printer"})


@dataclass(frozen=True)
class AgentConfig:
    back_office_url: str
    till_token: str
    local_token: str
    data_dir: Path
    timeout: float = DEFAULT_TIMEOUT  # each request, and the longest a cashier waits at commit
    store_name: str = ""
    till_name: str = ""
    timezone: str = "UTC"  # IANA name: the slip shows the store's local time
    currency: str | None = None  # None: take it from the catalog's products
    card_prefix: str = DEFAULT_CARD_PREFIX
    card_length: int = DEFAULT_CARD_LENGTH
    offline_redeem_cap: int = DEFAULT_OFFLINE_CAP
    member_max_age_hours: float = 24.0
    replay_lanes: int = DEFAULT_LANES  # batches in flight at once while emptying the outbox
    catalog_refresh_seconds: float = 300.0
    local_api_port: int = DEFAULT_LOCAL_PORT
    display: bool = True
    log_level: str = "INFO"
    devices: list[Any] = field(default_factory=list)
    printer: Any = None
    path: Path | None = None

    @property
    def outbox_path(self) -> Path:
        return self.data_dir / "outbox.sqlite3"

    @property
    def cache_path(self) -> Path:
        return self.data_dir / "cache.sqlite3"

    def __repr__(self) -> str:  # tokens never reach a log line
        return (f"AgentConfig(back_office_url={self.back_office_url!r}, "
                f"data_dir={str(self.data_dir)!r}, till={self.till_name!r})")


def load_config(path: Path | str) -> AgentConfig:
    """Read and check the TOML file at ``path``."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    return parse_config(raw, base_dir=path.parent, path=path)


def parse_config(
    raw: Mapping[str, Any], *, base_dir: Path | None = None, path: Path | None = None,
) -> AgentConfig:
    """Check a parsed TOML document; relative paths are taken from ``base_dir``."""
    base = base_dir or Path.cwd()
    unknown = sorted(set(raw) - set(SECTIONS) - OTHER_TABLES)
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown table or key; expected some of "
                          f"{', '.join(sorted(set(SECTIONS) | OTHER_TABLES))}")
    bo = _table(raw, "back_office")
    till = _table(raw, "till")
    cards = _table(raw, "cards")
    offline = _table(raw, "offline")
    local = _table(raw, "local_api")
    url = bo.text("url", required=True)
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        raise ConfigError(f"back_office.url: {url!r} is not an http(s) URL")
    prefix = cards.text("prefix") or DEFAULT_CARD_PREFIX
    if not prefix.isdigit():
        raise ConfigError("cards.prefix: digits only")
    length = cards.whole("length", DEFAULT_CARD_LENGTH, low=len(prefix) + 2, high=19)
    currency = till.text("currency") or None
    if currency is not None and not (len(currency) == 3 and currency.isalpha()
                                     and currency.isupper()):
        raise ConfigError(f"till.currency: {currency!r} is not an ISO 4217 code like AED")
    return AgentConfig(
        back_office_url=url.rstrip("/"),
        till_token=_secret(bo, base),
        local_token=_secret(local, base),
        data_dir=_path(till, "data_dir", base, default="data"),
        timeout=bo.number("timeout_seconds", DEFAULT_TIMEOUT, low=0.1, high=60),
        store_name=till.text("store"),
        till_name=till.text("name"),
        timezone=_timezone(till),
        currency=currency,
        card_prefix=prefix,
        card_length=length,
        offline_redeem_cap=offline.whole("redeem_cap_points", DEFAULT_OFFLINE_CAP, low=0,
                                         high=10_000_000),
        member_max_age_hours=offline.number("member_max_age_hours", 24.0, low=0, high=24 * 30),
        replay_lanes=offline.whole("replay_lanes", DEFAULT_LANES, low=1, high=MAX_LANES),
        catalog_refresh_seconds=bo.number("catalog_refresh_seconds", 300.0, low=5,
                                          high=86_400),
        local_api_port=local.whole("port", DEFAULT_LOCAL_PORT, low=0, high=65535),
        display=till.flag("display", True),
        log_level=(till.text("log_level") or "INFO").upper(),
        devices=_devices(raw),
        printer=_printer(raw),
        path=path,
    )


def _timezone(till: TomlTable) -> str:
    name = till.text("timezone") or "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"till.timezone: {name!r} is not an IANA time zone") from None
    return name


# --- the parts other modules own -------------------------------------------------------------


def _devices(raw: Mapping[str, Any]) -> list[Any]:
    entries = raw.get("devices", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ConfigError("devices: write each device as a [[devices]] table")
    if not entries:
        return []
    from pos_agent.readers.config import parse_devices

    try:
        return list(parse_devices(entries))
    except ValueError as exc:
        raise ConfigError(f"devices: {exc}") from exc


def _printer(raw: Mapping[str, Any]) -> Any:
    table = raw.get("printer")
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError("printer: must be a [printer] table")
    from pos_agent.printer import parse_printer

    try:
        return parse_printer(table)
    except ValueError as exc:
        raise ConfigError(f"printer: {exc}") from exc


# --- tables, paths and secrets ---------------------------------------------------------------


def _table(raw: Mapping[str, Any], name: str) -> TomlTable:
    value = raw.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{name}: must be a [{name}] table")
    table = TomlTable(value, f"{name}.")
    table.refuse_unknown(SECTIONS[name])
    return table


def _path(table: TomlTable, key: str, base: Path, *, default: str) -> Path:
    text = table.text(key) or default
    path = Path(text).expanduser()
    return path if path.is_absolute() else base / path


def _secret(table: TomlTable, base: Path) -> str:
    """``token`` inline or ``token_file``; exactly one of them."""
    inline = table.text("token")
    file_key = table.name("token_file")
    file_name = table.text("token_file")
    if inline and file_name:
        raise ConfigError(f"{table.prefix.rstrip('.')}: give token or token_file, not both")
    if file_name:
        path = _path(table, "token_file", base, default="")
        try:
            inline = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{file_key}: cannot read {path}: {exc.strerror}") from exc
        if not inline:
            raise ConfigError(f"{file_key}: {path} is empty")
    if not inline:
        raise ConfigError(f"{table.name('token')}: required (or {file_key})")
    if any(c.isspace() for c in inline):
        raise ConfigError(f"{table.name('token')}: must not contain spaces")
    return inline
