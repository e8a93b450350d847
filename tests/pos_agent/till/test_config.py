"""The agent's TOML: defaults, secrets from files, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from pos_agent.config import ConfigError, load_config, parse_config

EXAMPLE = Path(__file__).resolve().parents[3] / "deploy" / "pos-agent.toml.example"


def minimal(**tables: dict) -> dict:
    doc: dict = {"back_office": {"url": "http://127.0.0.1:5000", "token": "till-token"},
                 "local_api": {"token": "local-token-0123456789"}}
    for name, table in tables.items():
        doc[name] = {**doc.get(name, {}), **table}
    return doc


def test_defaults(tmp_path: Path) -> None:
    config = parse_config(minimal(), base_dir=tmp_path)
    assert (config.timeout, config.card_prefix, config.card_length) == (2.0, "9871", 16)
    assert (config.local_api_port, config.offline_redeem_cap) == (8765, 500)
    assert config.replay_lanes == 2
    assert config.data_dir == tmp_path / "data" and config.outbox_path.parent == config.data_dir
    assert config.devices == [] and config.printer is None
    assert "till-token" not in repr(config) and "local-token" not in repr(config)


def test_tokens_from_files(tmp_path: Path) -> None:
    (tmp_path / "till.token").write_text("secret-from-file\n")
    doc = minimal()
    doc["back_office"] = {"url": "https://bo.example", "token_file": "till.token"}
    assert parse_config(doc, base_dir=tmp_path).till_token == "secret-from-file"


def test_devices_and_printer_are_parsed_by_their_modules(tmp_path: Path) -> None:
    doc = {**minimal(), "devices": [{"name": "scanner", "kind": "serial", "url": "loop://"}],
           "printer": {"kind": "dummy"}}
    config = parse_config(doc, base_dir=tmp_path)
    assert [d.name for d in config.devices] == ["scanner"] and config.printer.kind == "dummy"


def test_the_example_file_is_valid(tmp_path: Path) -> None:
    text = EXAMPLE.read_text().replace("token_file = \"/etc/pos-agent/till.token\"",
                                       "token = \"example-till-token\"")
    text = text.replace("token_file = \"/etc/pos-agent/local.token\"",
                        "token = \"example-local-token-123\"")
    path = tmp_path / "agent.toml"
    path.write_text(text)
    config = load_config(path)
    assert config.timeout == 2.0 and config.devices and config.printer is not None
    assert config.replay_lanes == 2


@pytest.mark.parametrize(("change", "key"), [
    ({"back_office": {"url": None}}, "back_office.url: required"),
    ({"back_office": {"url": "ftp://x"}}, "back_office.url"),
    ({"back_office": {"token": None}}, "back_office.token: required"),
    ({"back_office": {"token_file": "missing.token"}}, "back_office: give token or token_file"),
    ({"back_office": {"timeout_seconds": 0}}, "back_office.timeout_seconds"),
    ({"back_office": {"timeout_seconds": "2"}}, "back_office.timeout_seconds: must be a number"),
    ({"local_api": {"port": 70000}}, "local_api.port"),
    ({"local_api": {"token": None}}, "local_api.token: required"),
    ({"cards": {"prefix": "98x"}}, "cards.prefix"),
    ({"cards": {"length": 3}}, "cards.length"),
    ({"offline": {"redeem_cap_points": -1}}, "offline.redeem_cap_points"),
    ({"offline": {"replay_lanes": 0}}, "offline.replay_lanes"),
    ({"offline": {"replay_lanes": 9}}, "offline.replay_lanes"),
    ({"till": {"currency": "aed"}}, "till.currency"),
    ({"till": {"timezone": "Mars/Olympus"}}, "till.timezone"),
    ({"till": {"display": "yes"}}, "till.display"),
    ({"devices": [{"name": "x", "kind": "floppy"}]}, "devices: devices[0]"),
    ({"printer": {"kind": "telex"}}, "printer:"),
])
def test_bad_config_names_the_key(tmp_path: Path, change: dict, key: str) -> None:
    doc = minimal()
    for name, value in change.items():
        if isinstance(value, dict):
            table = {**doc.get(name, {}), **value}
            doc[name] = {k: v for k, v in table.items() if v is not None}
        else:
            doc[name] = value
    with pytest.raises(ConfigError) as error:
        parse_config(doc, base_dir=tmp_path)
    assert key in str(error.value)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[back_office\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)
    doc = minimal()
    doc["back_office"] = {"url": "http://x", "token_file": "empty.token"}
    (tmp_path / "empty.token").write_text("\n")
    with pytest.raises(ConfigError, match="back_office.token_file: .* is empty"):
        parse_config(doc, base_dir=tmp_path)


@pytest.mark.parametrize(("toml", "message"), [
    ('[back_office]\ntimeout = 5', "back_office.timeout: unknown key"),
    ('[till]\nnmae = "lane 1"', "till.nmae: unknown key"),
    ('[cards]\nprefixes = "9871"', "cards.prefixes: unknown key"),
    ('[offline]\nredeem_cap = 100', "offline.redeem_cap: unknown key"),
    ('[local_api]\nhost = "0.0.0.0"', "local_api.host: unknown key"),
    ('[printer]\nkind = "dummy"\npapr_dots = 384', "printer: [printer] papr_dots: unknown key"),
    ('[[devices]]\nname = "s"\nkind = "serial"\nurl = "loop://"\nbaud = 9600',
     "devices: devices[0] (s): unknown key 'baud'"),
    ('[printers]\nkind = "dummy"', "printers: unknown table or key"),
    ('timeout_seconds = 2', "timeout_seconds: unknown table or key"),
])
def test_an_unknown_key_in_any_table_is_refused_by_name(tmp_path: Path, toml: str,
                                                        message: str) -> None:
    path = tmp_path / "agent.toml"
    base = ('[back_office]\nurl = "http://127.0.0.1:5000"\ntoken = "till-token"\n'
            '[local_api]\ntoken = "local-token-0123456789"\n')
    # the line goes into its table if the base already has one (TOML allows a table once)
    section = toml.split("\n", 1)[0]
    if section in base:
        path.write_text(base.replace(section + "\n", toml + "\n"))
    else:
        path.write_text((toml + "\n" + base) if not toml.startswith("[") else base + toml + "\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert message in str(error.value)


def test_every_documented_key_is_known(tmp_path: Path) -> None:
    doc = minimal(back_office={"timeout_seconds": 1.0, "catalog_refresh_seconds": 60},
                  till={"name": "l", "store": "s", "timezone": "Asia/Dubai", "currency": "AED",
                        "data_dir": "d", "display": False, "log_level": "debug"},
                  cards={"prefix": "9871", "length": 16},
                  offline={"redeem_cap_points": 1, "member_max_age_hours": 1,
                           "replay_lanes": 1},
                  local_api={"port": 0})
    assert parse_config(doc, base_dir=tmp_path).log_level == "DEBUG"
