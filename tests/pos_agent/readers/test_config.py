"""``[[devices]]`` entries: typed configs out, a clear ValueError for every bad entry."""

from __future__ import annotations

import tomllib

import pytest

from pos_agent.readers import (
    HidDeviceConfig,
    SerialDeviceConfig,
    open_readers,
    parse_devices,
)
from pos_agent.readers.hid_reader import HidReader
from pos_agent.readers.serial_reader import SerialReader

EXAMPLE = """
[[devices]]
kind = "serial"
name = "lane-scanner"
vid = "0c2e"
pid = "0x0B61"
serial_number = "21152B4A1E"
framing = "stx_etx"

[[devices]]
kind = "serial"
name = "card-reader"
port = "/dev/serial/by-id/usb-MagTek-if00"
baudrate = 19200
parity = "E"
frame_timeout = 0.5

[[devices]]
kind = "serial"
name = "simulated"
url = "socket://127.0.0.1:7000"

[[devices]]
kind = "hid"
name = "handheld"
path = "/dev/input/by-id/usb-Honeywell-event-kbd"
layout = "ar"

[[devices]]
kind = "hid"
name = "presentation"
vid = 3118
pid = 2913
grab = false
"""


def test_the_example_parses_into_typed_configs():
    configs = parse_devices(tomllib.loads(EXAMPLE)["devices"])
    assert configs == [
        SerialDeviceConfig(
            name="lane-scanner",
            vid=0x0C2E,
            pid=0x0B61,
            serial_number="21152B4A1E",
            framing="stx_etx",
        ),
        SerialDeviceConfig(
            name="card-reader",
            url="/dev/serial/by-id/usb-MagTek-if00",
            baudrate=19200,
            parity="E",
            frame_timeout=0.5,
        ),
        SerialDeviceConfig(name="simulated", url="socket://127.0.0.1:7000"),
        HidDeviceConfig(
            name="handheld", path="/dev/input/by-id/usb-Honeywell-event-kbd", layout="ar"
        ),
        HidDeviceConfig(name="presentation", vid=3118, pid=2913, grab=False),
    ]
    assert configs[0].where() == "usb 0c2e:0b61 serial 21152B4A1E"
    assert configs[1].where() == "/dev/serial/by-id/usb-MagTek-if00"


def test_defaults_are_the_safe_ones():
    serial, hid = parse_devices(
        [
            {"kind": "serial", "name": "s", "url": "loop://"},
            {"kind": "hid", "name": "h", "path": "/x"},
        ]
    )
    assert (serial.baudrate, serial.framing, serial.frame_timeout, serial.max_frame) == (
        9600, "line", 1.0, 4096,
    )  # fmt: skip
    assert (hid.layout, hid.max_age, hid.grab) == ("us", 5.0, True)


def test_open_readers_makes_one_reader_per_device_without_opening_anything():
    configs = parse_devices(tomllib.loads(EXAMPLE)["devices"])
    readers = open_readers(configs, on_scan=lambda scan: None)
    assert [type(r) for r in readers] == [SerialReader] * 3 + [HidReader] * 2
    assert [r.name for r in readers] == [c.name for c in configs]
    assert all(r.status()["state"] == "stopped" for r in readers)


def serial(**entry):
    return {"kind": "serial", "name": "s", **entry}


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ({"kind": "serial"}, r"devices must be an array"),
        (["scanner"], r"devices\[0\]: must be a table"),
        ([{"kind": "serial", "url": "loop://"}], r"devices\[0\]: name must be"),
        ([{"kind": "serial", "name": "a\nb", "url": "loop://"}], r"name must be"),
        ([{"kind": "usb", "name": "s"}], r"devices\[0\] \(s\): kind must be 'serial' or 'hid'"),
        ([serial()], r"give url or port, or vid and pid, to find the device"),
        ([serial(url="loop://", port="/dev/ttyS0")], r"give url or port, not both"),
        ([serial(url="loop://", vid="0c2e", pid="0b61")], r"give url or port, or vid/pid, not"),
        ([serial(vid="0c2e")], r"vid and pid go together"),
        ([serial(vid="xyz", pid="0b61")], r"vid must be 4 hex digits like '0c2e' \(got 'xyz'\)"),
        ([serial(vid=70000, pid=1)], r"vid must be 4 hex digits"),
        ([serial(vid=True, pid=1)], r"vid must be 4 hex digits"),
        ([serial(url="")], r"url must be a non-empty string"),
        ([serial(url="loop://", baud=9600)], r"unknown key 'baud'; expected some of"),
        ([serial(url="loop://", baudrate="9600")], r"baudrate must be an integer from 50"),
        ([serial(url="loop://", baudrate=0)], r"baudrate must be an integer"),
        ([serial(url="loop://", framing="etx")], r"framing must be one of line, cr, lf, crlf"),
        ([serial(url="loop://", parity="X")], r"parity must be one of N, E, O, M, S"),
        ([serial(url="loop://", stopbits=3)], r"stopbits must be 1, 1.5 or 2"),
        ([serial(url="loop://", frame_timeout=0)], r"frame_timeout must be a number of seconds"),
        ([serial(url="loop://", max_frame=10**9)], r"max_frame must be an integer from 16"),
        (
            [serial(url="loop://", reconnect_min=2, reconnect_max=1)],
            r"reconnect_max must not be below reconnect_min",
        ),
        (
            [serial(url="loop://"), serial(url="loop://")],
            r"devices\[1\]: duplicate device name 's'",
        ),
        ([{"kind": "hid", "name": "h"}], r"give path, or vid and pid"),
        ([{"kind": "hid", "name": "h", "path": "/x", "layout": "fr"}], r"layout must be one of ar"),
        (
            [{"kind": "hid", "name": "h", "path": "/x", "grab": "yes"}],
            r"grab must be true or false",
        ),
        ([{"kind": "hid", "name": "h", "path": "/x", "max_age": 600}], r"max_age must be a number"),
        ([{"kind": "hid", "name": "h", "path": "/x", "framing": "cr"}], r"unknown key 'framing'"),
    ],
)
def test_bad_entries_are_refused_clearly(entries, message):
    with pytest.raises(ValueError, match=message):
        parse_devices(entries)
