"""Serial scanners and card readers (pyserial): the thin, stateful edge around the framer.

:class:`SerialReader` opens its device (any pyserial URL or path, or the USB port found by
VID:PID and serial number), feeds what it reads to a :class:`~pos_agent.readers.framing.Framer`
and hands complete, strictly decoded frames to ``on_scan``.

Invariants:

- Every read is bounded: ``timeout=READ_TIMEOUT`` and at most ``READ_CHUNK`` bytes; the stop
  event is looked at between reads, so ``run`` returns within about READ_TIMEOUT of ``stop``.
- A lost device (unplugged, read error, socket closed) drops the partial frame (reported to
  ``on_reject``), closes the port and is retried with capped exponential backoff, waited on the
  stop event: no busy loop, however the device fails.
- Nothing about a scan but its length reaches a log line.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import serial
from serial.tools import list_ports
from serial.tools.list_ports_common import ListPortInfo

from pos_agent.readers.base import (
    Backoff,
    OnReject,
    OnScan,
    RawScan,
    Rejected,
    deliver,
    the_one_match,
)
from pos_agent.readers.framing import Dropped, Framer, FramerEvent, decode_frame

if TYPE_CHECKING:
    from pos_agent.readers.config import OnState, SerialDeviceConfig

log = logging.getLogger(__name__)

READ_TIMEOUT = 0.1  # seconds a read may block: bounds how late a stop or an expiry is seen
READ_CHUNK = 4096


def find_serial_port(
    ports: Iterable[ListPortInfo], vid: int, pid: int, serial_number: str | None = None
) -> str:
    """The device path of the one port with this VID:PID (and serial number, if given).

    LookupError (naming ids, never guessing) if none or more than one port matches: with two
    identical scanners attached, only the serial number tells them apart.
    """
    paths = (p.device for p in ports if p.vid == vid and p.pid == pid
             and (serial_number is None or p.serial_number == serial_number))
    return the_one_match(paths, "serial port", vid, pid, serial_number,
                         "set serial_number to choose one")


class SerialReader:
    """Reads one serial device in the calling thread until ``stop`` is set."""

    kind = "serial"

    def __init__(
        self,
        config: SerialDeviceConfig,
        on_scan: OnScan,
        on_reject: OnReject | None = None,
        *,
        on_state: OnState | None = None,
        clock: Callable[[], float] = time.monotonic,
        ports: Callable[[], Iterable[ListPortInfo]] = list_ports.comports,
    ) -> None:
        self.config = config
        self.name = config.name
        self._on_scan = on_scan
        self._on_reject = on_reject
        self._on_state = on_state
        self._clock = clock
        self._ports = ports
        self._framer = Framer(
            config.framing, max_bytes=config.max_frame, expire_after=config.frame_timeout
        )
        self._state = "stopped"
        self._port_path: str | None = None
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
            "port": self._port_path,
            "connections": self._connections,
            "attempts": self._attempts,
            "scans": self._scans,
            "rejected": self._rejected,
            "last_error": self._last_error,
        }

    @property
    def pending(self) -> int:
        """Bytes of the partial frame in hand."""
        return self._framer.pending

    def run(self, stop: threading.Event) -> None:
        backoff = Backoff(self.config.reconnect_min, self.config.reconnect_max)
        self._set_state("searching")
        try:
            while not stop.is_set():
                port = self._open()
                if port is None:
                    stop.wait(backoff.next())
                    continue
                try:
                    self._pump(port, stop, backoff)
                finally:
                    _close_quietly(port)
                    self._port_path = None
                if not stop.is_set():
                    self._set_state("waiting")
                    stop.wait(backoff.next())
        finally:
            self._set_state("stopped")

    def _open(self) -> serial.SerialBase | None:
        self._attempts += 1
        try:
            target = self._target()
            port = serial.serial_for_url(
                target,
                baudrate=self.config.baudrate,
                bytesize=self.config.bytesize,
                parity=self.config.parity,
                stopbits=self.config.stopbits,
                timeout=READ_TIMEOUT,
                write_timeout=READ_TIMEOUT,
                exclusive=True,  # a second agent on the same port would steal half the bytes
            )
        except (LookupError, ValueError, OSError, serial.SerialException) as exc:
            self._failed(f"cannot open: {exc}")
            return None
        self._port_path = target
        self._connections += 1
        self._last_error = None
        self._framer.reset(self._clock())
        log.info(
            "reader %s: connected to %s", self.name, target,
            extra={"device": self.name, "event": "connected"},
        )  # fmt: skip
        self._set_state("connected")
        return port

    def _target(self) -> str:
        if self.config.url is not None:
            return self.config.url
        assert self.config.vid is not None and self.config.pid is not None
        return find_serial_port(
            self._ports(), self.config.vid, self.config.pid, self.config.serial_number
        )

    def _pump(self, port: serial.SerialBase, stop: threading.Event, backoff: Backoff) -> None:
        while not stop.is_set():
            try:
                # Block for at most READ_TIMEOUT for the first byte, then take what is waiting.
                data = port.read(1)
                waiting = port.in_waiting
                if data and waiting:
                    data += port.read(min(waiting, READ_CHUNK))
            except (serial.SerialException, OSError) as exc:
                self._failed(f"device lost: {exc}")
                self._handle(self._framer.reset(self._clock()))
                return
            backoff.reset()  # the device works: the next loss starts from the short delay
            self._handle(self._framer.feed(data, self._clock()))

    def _handle(self, events: list[FramerEvent]) -> None:
        for event in events:
            if isinstance(event, Dropped):
                self._reject(event.reason, event.length, event.at)
                continue
            try:
                text = decode_frame(event.payload)
            except ValueError as exc:
                self._reject(f"junk: {exc}", len(event.payload), event.at)
                continue
            self._scans += 1
            log.debug(
                "reader %s: scan of %d chars", self.name, len(text),
                extra={"device": self.name, "event": "scan", "chars": len(text)},
            )  # fmt: skip
            deliver(self.name, self._on_scan, RawScan(self.name, text, event.at))

    def _reject(self, reason: str, length: int, at: float) -> None:
        self._rejected += 1
        log.warning(
            "reader %s: dropped %d bytes: %s", self.name, length, reason,
            extra={"device": self.name, "event": "rejected", "bytes": length},
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


def _close_quietly(port: serial.SerialBase) -> None:
    try:
        port.close()
    except (OSError, serial.SerialException):
        pass  # the device is already gone; nothing left to release
