"""The ``[[devices]]`` of the agent's TOML file, as typed device configs.

Example::

    [[devices]]
    kind = "serial"                 # a serial scanner or card reader (pyserial)
    name = "lane-scanner"
    vid = "0c2e"                    # found by USB VID:PID (and serial number, if several)
    pid = "0b61"
    serial_number = "21152B4A1E"
    baudrate = 9600
    framing = "line"                # line | cr | lf | crlf | stx_etx

    [[devices]]
    kind = "serial"
    name = "card-reader"
    url = "/dev/serial/by-id/usb-MagTek_USB_Swipe_Reader-if00"   # or port = ..., or any
                                                                   # pyserial URL: socket://...

    [[devices]]
    kind = "hid"                    # a keyboard-wedge scanner (evdev)
    name = "handheld"
    path = "/dev/input/by-id/usb-Honeywell_Scanner-event-kbd"    # or vid/pid
    layout = "us"                   # us | ar (the layout the scanner is programmed for)

:func:`parse_devices` refuses anything it does not understand (unknown keys included: a typo
must not silently fall back to a default) with a ValueError that names the entry and the key.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from pos_agent.readers.base import OnReject, OnScan, OnState, Reader, usb_id
from pos_agent.readers.framing import EXPIRE_AFTER, FRAMINGS, MAX_FRAME_BYTES, Framing
from pos_agent.readers.hid import MAX_AGE
from pos_agent.readers.keymaps import LAYOUTS

_NAME = re.compile(r"^\w[\w .:-]{0,63}$")
_PARITIES = ("N", "E", "O", "M", "S")


@dataclass(frozen=True)
class SerialDeviceConfig:
    """A serial device: by ``url`` (a path or any pyserial URL) or by USB ``vid``/``pid``."""

    kind: ClassVar[str] = "serial"
    name: str
    url: str | None = None
    vid: int | None = None
    pid: int | None = None
    serial_number: str | None = None
    baudrate: int = 9600
    bytesize: int = 8
    parity: str = "N"
    stopbits: float = 1
    framing: Framing = "line"
    frame_timeout: float = EXPIRE_AFTER
    max_frame: int = MAX_FRAME_BYTES
    reconnect_min: float = 0.2
    reconnect_max: float = 5.0

    def where(self) -> str:
        """Where the device is looked for, for logs and ``pos-agent devices``."""
        if self.url is not None:
            return self.url
        return usb_id(self.vid or 0, self.pid or 0, self.serial_number)


@dataclass(frozen=True)
class HidDeviceConfig:
    """A keyboard-wedge device: by input event ``path`` or by USB ``vid``/``pid``."""

    kind: ClassVar[str] = "hid"
    name: str
    path: str | None = None
    vid: int | None = None
    pid: int | None = None
    serial_number: str | None = None
    layout: str = "us"
    max_age: float = MAX_AGE
    grab: bool = True
    reconnect_min: float = 0.2
    reconnect_max: float = 5.0

    def where(self) -> str:
        if self.path is not None:
            return self.path
        return usb_id(self.vid or 0, self.pid or 0, self.serial_number)


DeviceConfig = SerialDeviceConfig | HidDeviceConfig


def parse_devices(entries: list[dict[str, Any]]) -> list[DeviceConfig]:
    """Parse the ``[[devices]]`` array; ValueError naming the entry and the problem."""
    if not isinstance(entries, list):
        raise ValueError("devices must be an array of tables ([[devices]])")
    configs: list[DeviceConfig] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        config = _parse_entry(index, entry)
        if config.name in seen:
            raise ValueError(f"devices[{index}]: duplicate device name {config.name!r}")
        seen.add(config.name)
        configs.append(config)
    return configs


def _parse_entry(index: int, entry: object) -> DeviceConfig:
    where = f"devices[{index}]"
    if not isinstance(entry, Mapping):
        raise ValueError(f"{where}: must be a table")
    name = entry.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"{where}: name must be 1-64 letters, digits, spaces or _ . : - (got {name!r})"
        )
    where = f"{where} ({name})"
    kind = entry.get("kind")
    if kind == "serial":
        return _parse_serial(where, entry)
    if kind == "hid":
        return _parse_hid(where, entry)
    raise ValueError(f"{where}: kind must be 'serial' or 'hid' (got {kind!r})")


_SERIAL_KEYS = frozenset(
    {"kind", "name", "url", "port", "vid", "pid", "serial_number", "baudrate", "bytesize",
     "parity", "stopbits", "framing", "frame_timeout", "max_frame", "reconnect_min",
     "reconnect_max"}
)  # fmt: skip
_HID_KEYS = frozenset(
    {"kind", "name", "path", "vid", "pid", "serial_number", "layout", "max_age", "grab",
     "reconnect_min", "reconnect_max"}
)  # fmt: skip


def _parse_serial(where: str, entry: Mapping[str, Any]) -> SerialDeviceConfig:
    _no_unknown_keys(where, entry, _SERIAL_KEYS)
    if "url" in entry and "port" in entry:
        raise ValueError(f"{where}: give url or port, not both")
    url = _opt_str(where, entry, "url" if "url" in entry else "port")
    vid, pid, serial_number = _usb(where, entry, located=url is not None, by="url or port")
    framing = entry.get("framing", "line")
    if framing not in FRAMINGS:
        raise ValueError(f"{where}: framing must be one of {', '.join(FRAMINGS)} (got {framing!r})")
    parity = entry.get("parity", "N")
    if parity not in _PARITIES:
        raise ValueError(f"{where}: parity must be one of {', '.join(_PARITIES)}")
    stopbits = entry.get("stopbits", 1)
    if stopbits not in (1, 1.5, 2) or isinstance(stopbits, bool):
        raise ValueError(f"{where}: stopbits must be 1, 1.5 or 2")
    reconnect_min, reconnect_max = _reconnect(where, entry)
    return SerialDeviceConfig(
        name=entry["name"],
        url=url,
        vid=vid,
        pid=pid,
        serial_number=serial_number,
        baudrate=_int(where, entry, "baudrate", 9600, 50, 4_000_000),
        bytesize=_int(where, entry, "bytesize", 8, 5, 8),
        parity=parity,
        stopbits=stopbits,
        framing=framing,
        frame_timeout=_number(where, entry, "frame_timeout", EXPIRE_AFTER, 0.05, 10.0),
        max_frame=_int(where, entry, "max_frame", MAX_FRAME_BYTES, 16, 65_536),
        reconnect_min=reconnect_min,
        reconnect_max=reconnect_max,
    )


def _parse_hid(where: str, entry: Mapping[str, Any]) -> HidDeviceConfig:
    _no_unknown_keys(where, entry, _HID_KEYS)
    path = _opt_str(where, entry, "path")
    vid, pid, serial_number = _usb(where, entry, located=path is not None, by="path")
    layout = entry.get("layout", "us")
    if layout not in LAYOUTS:
        raise ValueError(f"{where}: layout must be one of {', '.join(sorted(LAYOUTS))}")
    grab = entry.get("grab", True)
    if not isinstance(grab, bool):
        raise ValueError(f"{where}: grab must be true or false")
    reconnect_min, reconnect_max = _reconnect(where, entry)
    return HidDeviceConfig(
        name=entry["name"],
        path=path,
        vid=vid,
        pid=pid,
        serial_number=serial_number,
        layout=layout,
        max_age=_number(where, entry, "max_age", MAX_AGE, 0.5, 60.0),
        grab=grab,
        reconnect_min=reconnect_min,
        reconnect_max=reconnect_max,
    )


def _no_unknown_keys(where: str, entry: Mapping[str, Any], known: frozenset[str]) -> None:
    unknown = sorted(set(entry) - known)
    if unknown:
        raise ValueError(
            f"{where}: unknown key {unknown[0]!r}; expected some of {', '.join(sorted(known))}"
        )


def _opt_str(where: str, entry: Mapping[str, Any], key: str) -> str | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: {key} must be a non-empty string")
    return value


def _usb(
    where: str, entry: Mapping[str, Any], *, located: bool, by: str
) -> tuple[int | None, int | None, str | None]:
    """vid/pid/serial_number: either these or ``by`` locate the device, exactly one of them."""
    has_usb = any(k in entry for k in ("vid", "pid", "serial_number"))
    if located and has_usb:
        raise ValueError(f"{where}: give {by}, or vid/pid, not both")
    if not located and not has_usb:
        raise ValueError(f"{where}: give {by}, or vid and pid, to find the device")
    if not has_usb:
        return None, None, None
    if "vid" not in entry or "pid" not in entry:
        raise ValueError(f"{where}: vid and pid go together")
    serial_number = _opt_str(where, entry, "serial_number")
    return _usb_number(where, entry, "vid"), _usb_number(where, entry, "pid"), serial_number


def _usb_number(where: str, entry: Mapping[str, Any], key: str) -> int:
    """A USB id as an integer, or as hex text ("0c2e" or "0x0c2e", as lsusb prints it)."""
    value = entry[key]
    if isinstance(value, str):
        text = value.lower().removeprefix("0x")
        if not re.fullmatch(r"[0-9a-f]{1,4}", text):
            raise ValueError(f"{where}: {key} must be 4 hex digits like '0c2e' (got {value!r})")
        return int(text, 16)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 0xFFFF:
        return value
    raise ValueError(f"{where}: {key} must be 4 hex digits like '0c2e' or an integer 0-65535")


def _int(where: str, entry: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = entry.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"{where}: {key} must be an integer from {low} to {high}")
    return value


def _number(
    where: str, entry: Mapping[str, Any], key: str, default: float, low: float, high: float
) -> float:
    value = entry.get(key, default)
    if not isinstance(value, int | float) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"{where}: {key} must be a number of seconds from {low:g} to {high:g}")
    return float(value)


def _reconnect(where: str, entry: Mapping[str, Any]) -> tuple[float, float]:
    low = _number(where, entry, "reconnect_min", 0.2, 0.01, 60.0)
    high = _number(where, entry, "reconnect_max", 5.0, 0.01, 300.0)
    if high < low:
        raise ValueError(f"{where}: reconnect_max must not be below reconnect_min")
    return low, high


def open_readers(
    configs: list[DeviceConfig],
    on_scan: OnScan,
    on_reject: OnReject | None = None,
    on_state: OnState | None = None,
) -> list[Reader]:
    """One reader per device config.  Opening the device happens in ``run``, not here."""
    from pos_agent.readers.hid_reader import HidReader
    from pos_agent.readers.serial_reader import SerialReader

    readers: list[Reader] = []
    for config in configs:
        if isinstance(config, SerialDeviceConfig):
            readers.append(SerialReader(config, on_scan, on_reject, on_state=on_state))
        else:
            readers.append(HidReader(config, on_scan, on_reject, on_state=on_state))
    return readers


def start_readers(readers: list[Reader], stop: threading.Event) -> list[threading.Thread]:
    """Run each reader in its own daemon thread until ``stop`` is set; returns the threads."""
    threads = [
        threading.Thread(target=r.run, args=(stop,), name=f"reader-{r.name}", daemon=True)
        for r in readers
    ]
    for thread in threads:
        thread.start()
    return threads
