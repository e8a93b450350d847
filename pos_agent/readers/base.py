"""The values every reader produces, and the shape of a reader (re-exported by the package)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RawScan:
    """One complete scan from one device, as decoded text.

    ``text`` keeps an AIM symbology prefix (``]E0``...) if the scanner sent one, and FNC1 as
    GS (``"\\x1d"``).  ``at`` is ``time.monotonic()`` when the frame completed.
    """

    device: str
    text: str
    at: float

    def __repr__(self) -> str:
        # The text may be a payment card: only its length may be shown.
        return f"RawScan(device={self.device!r}, chars={len(self.text)}, at={self.at:.3f})"


@dataclass(frozen=True)
class Rejected:
    """Something a device sent that is not a scan: why, and how long it was (never what)."""

    device: str
    reason: str
    length: int
    at: float


OnScan = Callable[[RawScan], None]
OnReject = Callable[[Rejected], None]


class Reader(Protocol):
    """What the agent needs of any reader: a name, a loop to run in a thread, a status.

    ``status()["state"]`` is one of: ``stopped`` (not running), ``searching`` (running, device
    not opened yet), ``connected``, ``waiting`` (device lost, retrying after a backoff).  The
    same states go to ``on_state(name, state)`` as they change.
    """

    name: str

    def run(self, stop: threading.Event) -> None: ...

    def status(self) -> dict[str, object]: ...


class Backoff:
    """Capped exponential backoff for reconnecting to a device: min, 2*min, ... up to max.

    A lost device is retried at these intervals (waited on the stop event, never spun), and the
    delay starts again from ``minimum`` once the device has worked.
    """

    def __init__(self, minimum: float, maximum: float) -> None:
        if not 0 < minimum <= maximum:
            raise ValueError("backoff needs 0 < minimum <= maximum")
        self.minimum = minimum
        self.maximum = maximum
        self._next = minimum

    def next(self) -> float:
        delay = self._next
        self._next = min(self._next * 2, self.maximum)
        return delay

    def reset(self) -> None:
        self._next = self.minimum


def deliver(name: str, callback: Callable[..., None], *args: object) -> None:
    """Call the agent back; its bug must not kill the reader, nor leak scan text into a log."""
    try:
        callback(*args)
    except Exception as exc:  # noqa: BLE001 - the reader thread must survive its consumer
        log.error(
            "reader %s: callback %s raised %s", name,
            getattr(callback, "__name__", "?"), type(exc).__name__,
            extra={"device": name, "event": "callback_error"},
        )  # fmt: skip


def the_one_match(paths: Iterable[str], what: str, vid: int, pid: int,
                  serial_number: str | None, hint: str) -> str:
    """The single device path found for a USB id, or LookupError naming the ids, never guessing:
    with two identical scanners attached, only the serial number tells them apart."""
    matches = sorted(paths)
    wanted = f"{vid:04x}:{pid:04x}" + (f" serial {serial_number}" if serial_number else "")
    if not matches:
        raise LookupError(f"no {what} with usb {wanted} attached")
    if len(matches) > 1:
        raise LookupError(f"{len(matches)} {what}s match usb {wanted} ({', '.join(matches)}); "
                          f"{hint}")
    return matches[0]
