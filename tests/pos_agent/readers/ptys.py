"""Real pseudo-terminals standing in for serial devices, and a recorder of what readers deliver.

A pty's slave end behaves like a serial port to pyserial (it is a tty); writing to the master
end is the device sending.  Closing the master is the device being unplugged: the reader's next
read fails with EIO, just as with a USB serial adapter pulled out.
"""

from __future__ import annotations

import os
import select
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from serial.tools.list_ports_common import ListPortInfo

from pos_agent.readers import RawScan, Reader, Rejected
from pos_agent.readers.config import SerialDeviceConfig
from pos_agent.readers.serial_reader import SerialReader

WAIT = 5.0  # the most any test waits for anything: a hang fails fast instead of hanging CI


class Pty:
    """One pseudo-terminal: ``path`` for the reader, ``send`` for the device side."""

    def __init__(self) -> None:
        self.master, self._slave = os.openpty()
        self.path = os.ttyname(self._slave)
        os.set_blocking(self.master, False)

    def send(self, data: bytes, timeout: float = WAIT) -> None:
        """Write every byte, waiting for the reader to make room (bounded by ``timeout``)."""
        deadline = time.monotonic() + timeout
        view = memoryview(data)
        while view:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the reader stopped draining the pty")
            select.select([], [self.master], [], left)
            try:
                written = os.write(self.master, view)
            except BlockingIOError:
                continue
            view = view[written:]

    def unplug(self) -> None:
        for fd in (self.master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass

    close = unplug


@contextmanager
def pty() -> Iterator[Pty]:
    device = Pty()
    try:
        yield device
    finally:
        device.close()


@dataclass
class Recorder:
    """Collects what readers hand back; ``wait_for`` blocks on a condition, never sleeps."""

    scans: list[RawScan] = field(default_factory=list)
    rejects: list[Rejected] = field(default_factory=list)
    states: list[tuple[str, str]] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def on_scan(self, scan: RawScan) -> None:
        with self._changed:
            self.scans.append(scan)
            self._changed.notify_all()

    def on_reject(self, rejected: Rejected) -> None:
        with self._changed:
            self.rejects.append(rejected)
            self._changed.notify_all()

    def on_state(self, device: str, state: str) -> None:
        with self._changed:
            self.states.append((device, state))
            self._changed.notify_all()

    def wait_for(self, predicate: Callable[[Recorder], bool], timeout: float = WAIT) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: predicate(self), timeout):
                raise AssertionError(
                    f"timed out: scans={self.scans} rejects={self.rejects} states={self.states}"
                )

    def texts(self, device: str | None = None) -> list[str]:
        return [s.text for s in self.scans if device is None or s.device == device]

    def connections(self, device: str) -> int:
        return self.states.count((device, "connected"))


def serial_config(name: str, url: str, **overrides: object) -> SerialDeviceConfig:
    """A config with short reconnect delays, so tests see a reconnect in well under a second."""
    values: dict[str, object] = {"reconnect_min": 0.02, "reconnect_max": 0.1, **overrides}
    return SerialDeviceConfig(name=name, url=url, **values)  # type: ignore[arg-type]


@contextmanager
def running(*readers: Reader, stop_within: float = 2.0) -> Iterator[None]:
    """Run readers in threads; on exit, stop them and check each thread ended promptly."""
    stop = threading.Event()
    threads = [threading.Thread(target=r.run, args=(stop,), daemon=True) for r in readers]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=stop_within)
        stuck = [t for t in threads if t.is_alive()]
        assert not stuck, f"{len(stuck)} reader(s) did not stop within {stop_within} s"


def make_reader(config: SerialDeviceConfig, recorder: Recorder) -> SerialReader:
    return SerialReader(config, recorder.on_scan, recorder.on_reject, on_state=recorder.on_state)


@contextmanager
def connected_pty(
    name: str = "lane", **overrides: object
) -> Iterator[tuple[Pty, SerialReader, Recorder]]:
    """A pty, a reader on it (``serial_config`` with ``overrides``) running and connected, and
    the recorder of what it delivers; on exit the reader is stopped and the pty closed."""
    recorder = Recorder()
    with pty() as device:
        reader = make_reader(serial_config(name, device.path, **overrides), recorder)
        with running(reader):
            recorder.wait_for(lambda r: r.connections(name) == 1)
            yield device, reader, recorder


def port(
    device: str, vid: int | None = None, pid: int | None = None, serial_number: str | None = None
) -> ListPortInfo:
    """A pyserial port description, as ``list_ports.comports()`` gives for a USB device."""
    info = ListPortInfo(device, skip_link_detection=True)
    info.vid, info.pid, info.serial_number = vid, pid, serial_number
    return info


def wait_until(predicate: Callable[[], bool], timeout: float = WAIT) -> None:
    """For state with no callback (a reader's partial frame): poll briefly, bounded."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for a condition")
        pause.wait(0.005)
