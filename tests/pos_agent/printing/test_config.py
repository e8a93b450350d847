"""The [printer] table, and opening printers for real: serial through a pty, network through a
local TCP socket (stand-ins for the hardware); USB only as far as it goes without a device."""

from __future__ import annotations

import os
import pty
import socket
import threading
import tomllib

import pytest
from escpos.printer import Dummy, Network, Serial, Usb

from pos_agent.printer import PrinterConfig, open_printer, parse_printer, render_slip
from tests.pos_agent.printing.slips import make_slip

TOML = """
[printer]
kind = "usb"
vid = 0x04b8
pid = 0x0e15
paper_dots = 512
codepage = "CP864"
profile = "TM-T88V"
native_qr = true
"""


def test_parse_a_toml_printer_table() -> None:
    cfg = parse_printer(tomllib.loads(TOML)["printer"])
    assert cfg == PrinterConfig(kind="usb", vid=0x04B8, pid=0x0E15, paper_dots=512,
                                codepage="CP864", profile="TM-T88V", native_qr=True)
    assert cfg.has_arabic_codepage and cfg.arabic_codec == "cp864"
    assert cfg.columns == 42


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ({}, PrinterConfig()),
        ({"kind": "serial", "device": "/dev/ttyUSB0", "baudrate": 19200, "paper_dots": 384},
         PrinterConfig(kind="serial", device="/dev/ttyUSB0", baudrate=19200, paper_dots=384)),
        ({"kind": "network", "host": "10.0.0.9", "port": 9100, "timeout": 3},
         PrinterConfig(kind="network", host="10.0.0.9", timeout=3.0)),
        ({"kind": "usb", "vid": "04b8", "pid": "0x0E15"},
         PrinterConfig(kind="usb", vid=0x04B8, pid=0x0E15)),
        ({"codepage": "CP437"}, PrinterConfig(codepage="CP437")),
    ],
)
def test_good_tables(table: dict, expected: PrinterConfig) -> None:
    assert parse_printer(table) == expected
    assert parse_printer(table).has_arabic_codepage is False


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"kind": "bluetooth"}, "kind: must be one of"),
        ({"kind": "serial"}, "needs device"),
        ({"kind": "usb", "vid": 0x04B8}, "needs vid and pid"),
        ({"kind": "network"}, "needs host"),
        ({"kind": "network", "host": "p", "port": 70000}, r"\[printer\] port: 70000 is outside"),
        ({"paper_dots": 500}, "paper_dots: must be one of 384, 512, 576"),
        ({"paper_dots": "576"}, "paper_dots: must be a whole number"),
        ({"baudrate": True}, "baudrate: must be a whole number"),
        ({"kind": "usb", "vid": "zz", "pid": 1}, "vid: must be a hex id"),
        ({"kind": "usb", "vid": 0x10000, "pid": 1}, "vid: must be a USB id"),
        ({"codepage": "CP9999"}, "not an ESC/POS code page"),
        ({"native_qr": "yes"}, "native_qr: must be true or false"),
        ({"timeout": 0}, "timeout: 0 is outside 0.1..120"),
        ({"host": ""}, "host: must not be empty"),
        ({"papr_dots": 576}, r"\[printer\] papr_dots: unknown key"),
    ],
)
def test_bad_tables_say_what_is_wrong(table: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_printer(table)


def test_open_each_kind_without_touching_the_device() -> None:
    assert isinstance(open_printer(PrinterConfig()), Dummy)
    usb = open_printer(PrinterConfig(kind="usb", vid=0x04B8, pid=0x0E15, profile="TM-T88V"))
    assert isinstance(usb, Usb)
    assert (usb.usb_args["idVendor"], usb.usb_args["idProduct"]) == (0x04B8, 0x0E15)
    assert usb.profile.profile_data["name"] == "TM-T88V"
    # The paper width reaches this printer's profile only, not the model's shared data.
    assert usb.profile.profile_data["media"]["width"]["pixels"] == 576
    assert Dummy(profile="TM-T88V").profile.profile_data["media"]["width"]["pixels"] == 512
    serial = open_printer(PrinterConfig(kind="serial", device="/dev/nonexistent"))
    assert isinstance(serial, Serial) and serial.devfile == "/dev/nonexistent"
    network = open_printer(PrinterConfig(kind="network", host="127.0.0.1", port=9))
    assert isinstance(network, Network) and (network.host, network.port) == ("127.0.0.1", 9)


def _expected_bytes() -> bytes:
    dummy = open_printer(PrinterConfig(paper_dots=384))
    render_slip(dummy, make_slip("ar"), PrinterConfig(paper_dots=384))
    return dummy.output


def test_a_slip_reaches_a_network_printer_byte_for_byte() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    received = bytearray()

    def printer_side() -> None:
        conn, _ = server.accept()
        with conn:
            while chunk := conn.recv(65536):
                received.extend(chunk)

    thread = threading.Thread(target=printer_side)
    thread.start()
    cfg = PrinterConfig(kind="network", host="127.0.0.1", port=server.getsockname()[1],
                        paper_dots=384, timeout=2)
    printer = open_printer(cfg)
    render_slip(printer, make_slip("ar"), cfg)
    printer.close()
    thread.join(timeout=5)
    server.close()
    assert bytes(received) == _expected_bytes()


def test_a_slip_reaches_a_serial_printer_byte_for_byte() -> None:
    master, slave = pty.openpty()
    os.set_blocking(master, True)
    received = bytearray()
    expected = _expected_bytes()

    def printer_side() -> None:  # drain the pty, or the writer blocks on a full buffer
        while len(received) < len(expected):
            received.extend(os.read(master, 65536))

    thread = threading.Thread(target=printer_side, daemon=True)
    thread.start()
    cfg = PrinterConfig(kind="serial", device=os.ttyname(slave), baudrate=115200, paper_dots=384)
    printer = open_printer(cfg)
    render_slip(printer, make_slip("ar"), cfg)
    printer.close()
    thread.join(timeout=5)
    os.close(slave)
    os.close(master)
    assert bytes(received) == expected
