"""The values every reader produces, the shape of a reader (re-exported by the package), and
the run loop, backoff, state and counters the serial and HID readers share (DeviceReader)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Protocol, TypeVar

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
OnState = Callable[[str, str], None]
"""Called with (device name, state) when a reader connects or loses its device."""


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


def usb_id(vid: int, pid: int, serial_number: str | None = None) -> str:
    """A USB device as logs, errors and ``pos-agent devices`` name it: usb 0c2e:0b61 serial X."""
    where = f"usb {vid:04x}:{pid:04x}"
    return f"{where} serial {serial_number}" if serial_number else where


def the_one_match(paths: Iterable[str], what: str, vid: int, pid: int,
                  serial_number: str | None, hint: str) -> str:
    """The single device path found for a USB id, or LookupError naming the ids, never guessing:
    with two identical scanners attached, only the serial number tells them apart."""
    matches = sorted(paths)
    wanted = usb_id(vid, pid, serial_number)
    if not matches:
        raise LookupError(f"no {what} with {wanted} attached")
    if len(matches) > 1:
        raise LookupError(f"{len(matches)} {what}s match {wanted} ({', '.join(matches)}); "
                          f"{hint}")
    return matches[0]


Device = TypeVar("Device")


class DeviceReader(Generic[Device]):
    """The loop, backoff, state and counters every reader shares; a subclass only opens,
    reads and releases its kind of device.

    ``run`` opens the device (``_open_device``), pumps it until it fails or ``stop`` is set
    (``_pump``, which calls ``backoff.reset()`` once the device works), releases it
    (``_release``) and retries after a backoff waited on the stop event.
    """

    kind: ClassVar[str]
    unit: ClassVar[str]  # what a rejected length counts, for the log: "bytes" or "chars"
    open_errors: ClassVar[tuple[type[Exception], ...]] = (LookupError, OSError)

    def __init__(
        self,
        config: Any,
        on_scan: OnScan,
        on_reject: OnReject | None = None,
        *,
        on_state: OnState | None = None,
    ) -> None:
        self.config = config
        self.name: str = config.name
        self._on_scan = on_scan
        self._on_reject = on_reject
        self._on_state = on_state
        self._state = "stopped"
        self._port: str | None = None
        self._last_error: str | None = None
        self._connections = 0
        self._attempts = 0
        self._scans = 0
        self._rejected = 0

    def status(self) -> dict[str, object]:
        """For ``pos-agent status``: state and counters, never scan content."""
        return {
            "name": self.name,
            "kind": self.kind,
            "where": self.config.where(),
            "state": self._state,
            "port": self._port,
            "connections": self._connections,
            "attempts": self._attempts,
            "scans": self._scans,
            "rejected": self._rejected,
            "last_error": self._last_error,
        }

    def run(self, stop: threading.Event) -> None:
        backoff = Backoff(self.config.reconnect_min, self.config.reconnect_max)
        self._set_state("searching")
        try:
            while not stop.is_set():
                device = self._open()
                if device is None:
                    stop.wait(backoff.next())
                    continue
                try:
                    self._pump(device, stop, backoff)
                finally:
                    self._release(device)
                    self._port = None
                if not stop.is_set():
                    self._set_state("waiting")
                    stop.wait(backoff.next())
        finally:
            self._set_state("stopped")

    def _open_device(self) -> tuple[Device, str]:
        """The opened device and where it was found; one of ``open_errors`` if it cannot be."""
        raise NotImplementedError

    def _pump(self, device: Device, stop: threading.Event, backoff: Backoff) -> None:
        raise NotImplementedError

    def _release(self, device: Device) -> None:
        raise NotImplementedError

    def _open(self) -> Device | None:
        self._attempts += 1
        try:
            device, port = self._open_device()
        except self.open_errors as exc:
            self._failed(f"cannot open: {exc}")
            return None
        self._port = port
        self._connections += 1
        self._last_error = None
        log.info(
            "reader %s: connected to %s", self.name, port,
            extra={"device": self.name, "event": "connected"},
        )  # fmt: skip
        self._set_state("connected")
        return device

    def _scanned(self, text: str, at: float) -> None:
        self._scans += 1
        log.debug(
            "reader %s: scan of %d chars", self.name, len(text),
            extra={"device": self.name, "event": "scan", "chars": len(text)},
        )  # fmt: skip
        deliver(self.name, self._on_scan, RawScan(self.name, text, at))

    def _reject(self, reason: str, length: int, at: float) -> None:
        self._rejected += 1
        log.warning(
            "reader %s: dropped %d %s: %s", self.name, length, self.unit, reason,
            extra={"device": self.name, "event": "rejected", self.unit: length},
        )  # fmt: skip
        if self._on_reject is not None:
            deliver(self.name, self._on_reject, Rejected(self.name, reason, length, at))

    def _failed(self, message: str) -> None:
        # Log a failure once, not on every retry of the same failure.
        if message != self._last_error:
            log.warning(
                "reader %s: %s", self.name, message,
                extra={"device": self.name, "event": "device_error"},
            )  # fmt: skip
        self._last_error = message

    def _set_state(self, state: str) -> None:
        if state == self._state:
            return
        self._state = state
        if self._on_state is not None:
            deliver(self.name, self._on_state, self.name, state)
