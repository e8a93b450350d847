"""``pos-agent simulate``: a whole checkout, swipe to slip, with no hardware.

Two virtual serial devices are made from real pseudo-terminals (:func:`os.openpty`): a barcode
scanner and a magnetic-stripe card reader.  The agent's ordinary serial readers open the slave
ends by path, exactly as they would open ``/dev/ttyUSB0``; the simulator writes to the master
ends what the devices would send:

1. the card reader sends track 2 of the member's card (``;<number>=<YYMM><service>?``);
2. the scanner sends the barcodes of a few products from the back office's catalog;
3. the scanner sends the ``LCFN:TOTAL`` function barcode: the sale is committed through the
   outbox and the slip prints on python-escpos's Dummy printer, shown here as text.

Needs the demo's back office running (``make demo`` prints a till token and a card number).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import tempfile
import time
import tty
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from pos_agent.client import BackOfficeError, Refused
from pos_agent.config import AgentConfig

WAIT_S = 5.0  # each step; a live back office on this machine answers in milliseconds


@dataclass
class VirtualDevice:
    """A pseudo-terminal pair: the agent reads ``path``; we write to ``master``."""

    name: str
    master: int
    slave: int
    path: str

    @classmethod
    def open(cls, name: str) -> VirtualDevice:
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no CR/LF translation: bytes as a serial line sends them
        return cls(name, master, slave, os.ttyname(slave))

    def send(self, text: str, terminator: bytes = b"\r\n") -> None:
        os.write(self.master, text.encode("ascii") + terminator)

    def __enter__(self) -> VirtualDevice:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


def track2(card_number: str, expiry: dt.date | None = None) -> str:
    """ISO/IEC 7813 track 2 as a reader sends it: ``;PAN=YYMM<service code>?``."""
    expiry = expiry or dt.date.today().replace(day=1) + dt.timedelta(days=3 * 365)
    return f";{card_number}={expiry:%y%m}101?"


def simulator_config(back_office: str, token: str, data_dir: Path, scanner: VirtualDevice,
                     card_reader: VirtualDevice, *, timeout: float = 2.0,
                     currency: str | None = None) -> AgentConfig:
    """The agent's config for the two virtual devices and the Dummy printer."""
    from pos_agent.config import parse_config

    return parse_config({
        "back_office": {"url": back_office, "token": token, "timeout_seconds": timeout},
        "till": {"name": "simulated lane", "store": "Simulator", "data_dir": str(data_dir),
                 "display": False, **({"currency": currency} if currency else {})},
        "local_api": {"port": 0, "token": secrets.token_urlsafe(24)},
        "devices": [
            {"name": scanner.name, "kind": "serial", "url": scanner.path},
            {"name": card_reader.name, "kind": "serial", "url": card_reader.path},
        ],
        "printer": {"kind": "dummy"},
    }, base_dir=data_dir)


def slip_text(slip: Any, width: int = 42) -> str:
    """The slip's layout as plain text (the Dummy printer's bytes are ESC/POS, not text)."""
    from pos_agent.printing.slip import Barcode128, QrCode, Row, Rule, layout_slip

    out = []
    for block in layout_slip(slip):
        if isinstance(block, Rule):
            out.append("-" * width)
        elif isinstance(block, Row):
            if block.center or not block.end:
                out.append(block.start.center(width) if block.center else block.start)
            else:
                gap = max(1, width - len(block.start) - len(block.end))
                out.append(block.start + " " * gap + block.end)
        elif isinstance(block, QrCode):
            out.append("[QR code]".center(width))
        elif isinstance(block, Barcode128):
            out.append(f"[barcode {block.code}]".center(width))
    return "\n".join(out)


def run_simulation(back_office: str, token: str, card_number: str, *, products: int = 3,
                   out: TextIO, data_dir: Path | None = None, timeout: float = 2.0) -> int:
    """Drive one checkout; returns 0 when the slip printed, 1 otherwise."""
    from pos_agent.agent import Agent

    say = _printer(out)
    scanner, card_reader = VirtualDevice.open("scanner"), VirtualDevice.open("card reader")
    workdir = Path(data_dir or tempfile.mkdtemp(prefix="pos-agent-sim-"))
    slips: list[str] = []

    def on_slip(slip: Any, printer: Any) -> None:
        slips.append(slip_text(slip))
        say(f"printer: {len(printer.output)} bytes of ESC/POS sent to the Dummy printer")

    config = simulator_config(back_office, token, workdir, scanner, card_reader,
                              timeout=timeout)
    agent = Agent(config, slip_sink=on_slip)
    try:
        say(f"devices: scanner on {scanner.path}, card reader on {card_reader.path}")
        try:
            agent.client.ping()  # a refused token or no back office, said as such
        except BackOfficeError as exc:
            say(_why_not(exc, back_office))
            return 1
        agent.sync_once()  # the catalog and the coupon key, before the first scan
        catalog = agent.cache.products(products, with_barcode=True)
        if not catalog:
            say("the back office's catalog has no products with barcodes: nothing to scan")
            return 1
        agent.start()
        _wait(lambda: all(s == "connected" for s in agent.device_states.values()), WAIT_S)
        say("swipe: the member's card (track 2)")
        card_reader.send(track2(card_number))
        if not _wait(lambda: agent.session.view().member is not None, WAIT_S):
            say(f"no member: {agent.session.view().message}")
            return 1
        view = agent.session.view()
        say(f"screen: {view.message}")
        for n, product in enumerate(catalog, start=1):
            say(f"scan: {product['name']} ({product['barcode']})")
            scanner.send(str(product["barcode"]))
            _wait(lambda n=n: len(agent.session.view().lines) >= n, WAIT_S)
        say(f"screen: {agent.session.view().message}")
        say("scan: the TOTAL function barcode")
        scanner.send("LCFN:TOTAL")
        _wait(lambda: agent.session.view().last_sale is not None and bool(slips), WAIT_S * 2)
        sale = agent.session.view().last_sale
        if sale is None:
            say(f"no sale: {agent.session.view().message}")
            return 1
        say(f"sale: {sale.status}; points earned {sale.points_earned}, "
            f"balance {sale.balance_after}")
        for text in slips:
            say("\n" + text + "\n")
        return 0 if slips else 1
    finally:
        agent.stop()
        scanner.close()
        card_reader.close()


def _why_not(exc: BackOfficeError, back_office: str) -> str:
    """What a person should hear when the back office could not be asked."""
    if isinstance(exc, Refused) and exc.status in (401, 403):
        return (f"the back office refused the till token ({exc.status} {exc.code}): check "
                "--token (`make demo` prints the tills' tokens)")
    if isinstance(exc, Refused):
        return f"the back office refused the till: {exc}"
    return f"the back office at {back_office} did not answer: {exc}"


def _wait(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def _printer(out: TextIO) -> Callable[[str], None]:
    def say(text: str) -> None:
        out.write(text + "\n")
        out.flush()

    return say
