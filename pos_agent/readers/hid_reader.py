"""Keyboard-wedge scanners (evdev): the thin device edge around :class:`KeyDecoder`.

Kept thin on purpose: everything that can be decided without a device (decoding, expiry,
matching a device by its ids) is pure code in ``hid.py``, ``keymaps.py`` and
:func:`match_input_device`, and tested there.  This class only opens, grabs, waits and reads.

Invariants:

- The device is grabbed exclusively (EVIOCGRAB) so its keystrokes never reach another program
  (a scanned card number must not land in whatever window has the focus).
- Waiting is ``select`` with a timeout; the stop event is looked at between waits.
- Removal (OSError, ENODEV) drops the partial scan, releases the device and retries with capped
  exponential backoff waited on the stop event: no busy loop.
"""

from __future__ import annotations

import select
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import evdev
from evdev import ecodes

from pos_agent.readers.base import (
    Backoff,
    DeviceReader,
    OnReject,
    OnScan,
    OnState,
    the_one_match,
)
from pos_agent.readers.hid import KeyDecoder, KeyDrop, KeyScan

if TYPE_CHECKING:
    from pos_agent.readers.config import HidDeviceConfig


WAIT_TIMEOUT = 0.2


@dataclass(frozen=True)
class InputDeviceInfo:
    """What identifies an input device (read from evdev, or built by hand in tests)."""

    path: str
    name: str
    vendor: int
    product: int
    uniq: str
    has_enter: bool  # can type Enter: the keyboard node of a scanner, not its mouse or consumer


def input_device_info(device: evdev.InputDevice) -> InputDeviceInfo:
    keys = device.capabilities().get(ecodes.EV_KEY, [])
    return InputDeviceInfo(
        path=device.path,
        name=device.name,
        vendor=device.info.vendor,
        product=device.info.product,
        uniq=device.uniq or "",
        has_enter=ecodes.KEY_ENTER in keys,
    )


def match_input_device(
    devices: Iterable[InputDeviceInfo], vid: int, pid: int, serial_number: str | None = None
) -> str:
    """The event node of the one keyboard with this VID:PID (and serial number, as ``uniq``).

    LookupError if none or several match.
    """
    paths = (d.path for d in devices if d.has_enter and d.vendor == vid and d.product == pid
             and (serial_number is None or d.uniq == serial_number))
    return the_one_match(paths, "keyboard input device", vid, pid, serial_number,
                         "set serial_number or path")


def list_input_devices() -> list[InputDeviceInfo]:
    """Every input device this process may read (others are skipped, not an error)."""
    found = []
    for path in evdev.list_devices():
        try:
            # read-only: looking must not re-assert LEDs or wake firmware on other devices
            device = evdev.InputDevice(path, readonly=True)
        except OSError:
            continue  # not readable by this user: not ours to use
        try:
            found.append(input_device_info(device))
        finally:
            device.close()
    return found


class HidReader(DeviceReader[evdev.InputDevice]):
    """Reads one keyboard-wedge device in the calling thread until ``stop`` is set."""

    kind = "hid"
    unit = "chars"

    def __init__(
        self,
        config: HidDeviceConfig,
        on_scan: OnScan,
        on_reject: OnReject | None = None,
        *,
        on_state: OnState | None = None,
    ) -> None:
        super().__init__(config, on_scan, on_reject, on_state=on_state)
        self._decoder = KeyDecoder(config.layout, max_age=config.max_age)

    def _open_device(self) -> tuple[evdev.InputDevice, str]:
        path = self.config.path
        if path is None:
            assert self.config.vid is not None and self.config.pid is not None
            path = match_input_device(
                list_input_devices(), self.config.vid, self.config.pid,
                self.config.serial_number,
            )  # fmt: skip
        device = evdev.InputDevice(path)
        if self.config.grab:
            try:
                device.grab()
            except OSError:
                device.close()
                raise
        return device, path

    def _pump(self, device: evdev.InputDevice, stop: threading.Event, backoff: Backoff) -> None:
        while not stop.is_set():
            try:
                ready, _, _ = select.select([device.fd], [], [], WAIT_TIMEOUT)
                events = list(device.read()) if ready else []
            except BlockingIOError:
                continue  # woken with nothing to read
            except OSError as exc:  # ENODEV: unplugged
                self._failed(f"device lost: {exc}")
                drop = self._decoder.reset(time.time())
                if drop is not None:
                    self._handle(drop)
                return
            backoff.reset()  # the device works: the next loss starts from the short delay
            for event in events:
                result = self._decoder.feed(event)
                if result is not None:
                    self._handle(result)

    def _handle(self, result: KeyScan | KeyDrop) -> None:
        if isinstance(result, KeyDrop):
            self._reject(result.reason, result.length, time.monotonic())
        else:
            self._scanned(result.text, time.monotonic())

    def _release(self, device: evdev.InputDevice) -> None:
        for release in (device.ungrab, device.close):
            try:
                release()
            except OSError:
                pass  # already gone with the device
