"""``pos-agent devices``: attached devices and what each configured device resolves to."""

from __future__ import annotations

import os

import pytest

from pos_agent.readers import describe_devices, parse_devices
from pos_agent.readers.hid_reader import InputDeviceInfo, match_input_device
from tests.pos_agent.readers.ptys import port, pty

SCANNER = InputDeviceInfo(
    "/dev/input/event5", "Honeywell Scanner", 0x0C2E, 0x0B61, "SN1", has_enter=True
)
SCANNER_MOUSE = InputDeviceInfo(
    "/dev/input/event6", "Honeywell Scanner Mouse", 0x0C2E, 0x0B61, "SN1", has_enter=False
)
KEYBOARD = InputDeviceInfo("/dev/input/event2", "AT keyboard", 0x0001, 0x0001, "", True)


def test_lists_what_is_attached_and_what_each_device_resolves_to(tmp_path):
    with pty() as device:
        link = tmp_path / "usb-Datalogic-if00"
        os.symlink(device.path, link)
        configs = parse_devices(
            [
                {"kind": "serial", "name": "lane", "vid": "0c2e", "pid": "0b61"},
                {"kind": "serial", "name": "swipe", "url": str(link)},
                {"kind": "serial", "name": "gone", "port": str(tmp_path / "nothing")},
                {"kind": "serial", "name": "sim", "url": "socket://127.0.0.1:7000"},
                {"kind": "hid", "name": "hand", "vid": "0c2e", "pid": "0b61"},
                {"kind": "hid", "name": "other", "vid": "1234", "pid": "0001"},
            ]
        )
        lines = describe_devices(
            configs,
            serial_ports=[port("/dev/ttyACM0", 0x0C2E, 0x0B61, "AAA111"), port("/dev/ttyS0")],
            input_devices=[SCANNER, SCANNER_MOUSE, KEYBOARD],
        )
    assert lines == [
        "serial ports attached:",
        "  /dev/ttyACM0  usb 0c2e:0b61  serial AAA111",
        "  /dev/ttyS0  no usb id",
        "input devices attached (keyboards):",
        "  /dev/input/event2  usb 0001:0001  'AT keyboard'",
        "  /dev/input/event5  usb 0c2e:0b61  serial SN1  'Honeywell Scanner'",
        "configured devices:",
        "  lane (serial, usb 0c2e:0b61) -> /dev/ttyACM0",
        f"  swipe (serial, {link}) -> {device.path} (present)",
        f"  gone (serial, {tmp_path / 'nothing'}) -> NOT FOUND: no such device",
        "  sim (serial, socket://127.0.0.1:7000) -> pyserial URL, opened when the agent runs",
        "  hand (hid, usb 0c2e:0b61) -> /dev/input/event5",
        "  other (hid, usb 1234:0001) -> NOT FOUND: no keyboard input device with usb 1234:0001"
        " attached",
    ]


def test_reads_the_system_when_not_handed_lists():
    lines = describe_devices([])
    assert lines[0] == "serial ports attached:"
    assert "input devices attached (keyboards):" in lines
    assert lines[-2:] == ["configured devices:", "  (none)"]


def test_a_scanner_is_matched_by_its_keyboard_node_and_serial_number():
    twin = InputDeviceInfo("/dev/input/event9", "Honeywell Scanner", 0x0C2E, 0x0B61, "SN2", True)
    devices = [SCANNER, SCANNER_MOUSE, twin]
    assert match_input_device(devices, 0x0C2E, 0x0B61, "SN2") == "/dev/input/event9"
    with pytest.raises(LookupError, match="2 keyboard input devices match usb 0c2e:0b61"):
        match_input_device(devices, 0x0C2E, 0x0B61)
