"""The receipt printer of a lane: the ``[printer]`` table of the agent's TOML, and opening it.

::

    [printer]
    kind = "network"          # "serial" | "usb" | "network" | "dummy"
    host = "192.168.1.60"     # network: host and port (9100, the raw-printing port)
    port = 9100
    # device = "/dev/ttyUSB0" # serial: device path and baud rate
    # baudrate = 19200
    # vid = 0x04b8            # usb: vendor and product id (TOML hex ints, or "04b8" strings)
    # pid = 0x0e15
    paper_dots = 576          # printable width: 384 (58 mm), 512 or 576 (80 mm)
    codepage = "CP864"        # optional: the printer's code page for Arabic, if it has one
    profile = "TM-T20II"      # optional: python-escpos printer profile
    native_qr = false         # true: the printer draws QR codes itself (GS ( k)
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal

from escpos import printer as escpos_printers
from escpos.escpos import Escpos

from pos_agent.toml_table import TomlTable

Kind = Literal["serial", "usb", "network", "dummy"]
KINDS: tuple[Kind, ...] = ("serial", "usb", "network", "dummy")
PAPER_DOTS = (384, 512, 576)
# Code pages that hold Arabic letters, with the Python codec that encodes them.  Only CP864 holds
# the presentation forms, so only it can print shaped text; the others fall back to raster.
ARABIC_CODEPAGES = {"CP864": "cp864", "CP720": "cp720", "CP1256": "cp1256"}
_KEYS = frozenset({"kind", "device", "baudrate", "vid", "pid", "host", "port", "timeout",
                   "paper_dots", "codepage", "profile", "native_qr"})


@dataclass(frozen=True)
class PrinterConfig:
    """A lane's printer.  Invariant: the fields its ``kind`` needs are set and in range."""

    kind: Kind = "dummy"
    device: str | None = None
    baudrate: int = 9600
    vid: int | None = None
    pid: int | None = None
    host: str | None = None
    port: int = 9100
    timeout: float = 5.0
    paper_dots: int = 576
    codepage: str | None = None
    profile: str | None = None
    native_qr: bool = False

    @property
    def columns(self) -> int:
        """Characters per line in the printer's font A (12 dots wide)."""
        return self.paper_dots // 12

    @property
    def has_arabic_codepage(self) -> bool:
        return self.codepage in ARABIC_CODEPAGES

    @property
    def arabic_codec(self) -> str | None:
        return ARABIC_CODEPAGES.get(self.codepage or "")


def parse_printer(table: dict[str, Any]) -> PrinterConfig:
    """The ``[printer]`` table as a :class:`PrinterConfig`; ValueError naming the bad entry."""
    if not isinstance(table, dict):
        raise ValueError("[printer] must be a table")
    values = TomlTable(table, "[printer] ")
    values.refuse_unknown(_KEYS)
    kind = table.get("kind", "dummy")
    if kind not in KINDS:
        raise ValueError(f"[printer] kind: must be one of {', '.join(KINDS)}, not {kind!r}")
    cfg = PrinterConfig(
        kind=kind,
        device=values.text("device", empty=False) or None,
        baudrate=values.whole("baudrate", 9600, low=300, high=921_600),
        vid=_usb_id(table, "vid"),
        pid=_usb_id(table, "pid"),
        host=values.text("host", empty=False) or None,
        port=values.whole("port", 9100, low=1, high=65_535),
        timeout=values.number("timeout", 5.0, low=0.1, high=120),
        paper_dots=values.whole("paper_dots", 576, low=0, high=10_000),
        codepage=values.text("codepage", empty=False) or None,
        profile=values.text("profile", empty=False) or None,
        native_qr=values.flag("native_qr", False),
    )
    _check(cfg)
    return cfg


def _check(cfg: PrinterConfig) -> None:
    if cfg.paper_dots not in PAPER_DOTS:
        raise ValueError(
            f"[printer] paper_dots: must be one of {', '.join(map(str, PAPER_DOTS))} "
            "(384 for 58 mm paper, 512 or 576 for 80 mm)"
        )
    if cfg.kind == "serial" and not cfg.device:
        raise ValueError('[printer] kind = "serial" needs device (e.g. "/dev/ttyUSB0")')
    if cfg.kind == "usb" and (cfg.vid is None or cfg.pid is None):
        raise ValueError('[printer] kind = "usb" needs vid and pid (e.g. vid = 0x04b8)')
    if cfg.kind == "network" and not cfg.host:
        raise ValueError('[printer] kind = "network" needs host')
    if cfg.codepage is not None:
        from escpos.codepages import CodePages

        if cfg.codepage not in CodePages.data:
            raise ValueError(f"[printer] codepage: {cfg.codepage!r} is not an ESC/POS code page")


def open_printer(cfg: PrinterConfig) -> Escpos:
    """A python-escpos printer for ``cfg``; the connection opens on first use, not here."""
    printer = _construct(cfg)
    know_paper_width(printer, cfg.paper_dots)
    return printer


def _construct(cfg: PrinterConfig) -> Escpos:
    profile = {"profile": cfg.profile} if cfg.profile else {}
    if cfg.kind == "serial":
        return escpos_printers.Serial(
            devfile=cfg.device, baudrate=cfg.baudrate, timeout=cfg.timeout, **profile
        )
    if cfg.kind == "usb":
        return escpos_printers.Usb(cfg.vid, cfg.pid, timeout=int(cfg.timeout * 1000), **profile)
    if cfg.kind == "network":
        return escpos_printers.Network(cfg.host, port=cfg.port, timeout=cfg.timeout, **profile)
    return escpos_printers.Dummy(**profile)


def know_paper_width(printer: Escpos, paper_dots: int) -> None:
    """Tell the printer's profile the paper width, so ``image()`` refuses anything wider.

    A profile's data is shared by every printer of that model, so this printer gets its own copy.
    """
    data = copy.deepcopy(printer.profile.profile_data)
    data.setdefault("media", {}).setdefault("width", {})["pixels"] = paper_dots
    printer.profile.profile_data = data


# --- typed reads of one TOML entry -------------------------------------------------------------


def _usb_id(table: dict[str, Any], key: str) -> int | None:
    """A USB vendor/product id: a TOML integer (0x04b8) or a hex string ("04b8", "0x04b8")."""
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = int(value.removeprefix("0x").removeprefix("0X"), 16)
        except ValueError:
            raise ValueError(f"[printer] {key}: must be a hex id like 0x04b8") from None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0xFFFF:
        raise ValueError(f"[printer] {key}: must be a USB id in 0x0000..0xffff")
    return value
