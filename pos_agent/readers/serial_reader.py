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

import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import serial
from serial.tools import list_ports
from serial.tools.list_ports_common import ListPortInfo

from pos_agent.readers.base import (
    Backoff,
    DeviceReader,
    OnReject,
    OnScan,
    OnState,
    the_one_match,
)
from pos_agent.readers.framing import Dropped, Framer, FramerEvent, decode_frame

if TYPE_CHECKING:
    from pos_agent.readers.config import SerialDeviceConfig


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


class SerialReader(DeviceReader[serial.SerialBase]):
    """Reads one serial device in the calling thread until ``stop`` is set."""

    kind = "serial"
    unit = "bytes"
    open_errors = (LookupError, ValueError, OSError, serial.SerialException)

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
        super().__init__(config, on_scan, on_reject, on_state=on_state)
        self._clock = clock
        self._ports = ports
        self._framer = Framer(
            config.framing, max_bytes=config.max_frame, expire_after=config.frame_timeout
        )

    @property
    def pending(self) -> int:
        """Bytes of the partial frame in hand."""
        return self._framer.pending

    def _open_device(self) -> tuple[serial.SerialBase, str]:
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
        self._framer.reset(self._clock())
        return port, target

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
            self._scanned(text, event.at)

    def _release(self, port: serial.SerialBase) -> None:
        try:
            port.close()
        except (OSError, serial.SerialException):
            pass  # the device is already gone; nothing left to release
