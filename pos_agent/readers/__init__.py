"""Device readers of the till: serial scanners and card readers, keyboard-wedge (HID) scanners.

A reader owns one device.  It runs in its own thread (``reader.run(stop)``), turns the device's
bytes or key events into complete scans and hands each one to ``on_scan`` as a :class:`RawScan`.
What a scan *means* (member card, coupon, product, payment card) is decided elsewhere
(``pos_agent.scans``); a reader only frames and decodes.

Invariants every reader keeps:

- The text of a scan never reaches a log line, an exception message or a repr: it may be a
  payment card.  Readers log the device name, lengths and reasons only.
- Anything a device sends that is not a clean, complete scan (a half frame, invalid bytes, an
  overlong line, a stale keyboard scan) is reported to ``on_reject`` as a :class:`Rejected`
  carrying a reason and a length, never the bytes.
- No unbounded reads, no unbounded buffers, no busy loops: reads time out, buffers are capped,
  a lost device is retried with capped exponential backoff.
"""

from __future__ import annotations

from pos_agent.readers.base import OnReject, OnScan, RawScan, Reader, Rejected
from pos_agent.readers.config import (
    DeviceConfig,
    HidDeviceConfig,
    SerialDeviceConfig,
    open_readers,
    parse_devices,
    start_readers,
)
from pos_agent.readers.discovery import describe_devices

__all__ = [
    "DeviceConfig",
    "HidDeviceConfig",
    "OnReject",
    "OnScan",
    "RawScan",
    "Reader",
    "Rejected",
    "SerialDeviceConfig",
    "describe_devices",
    "open_readers",
    "parse_devices",
    "start_readers",
]
