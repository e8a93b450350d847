"""The keyboard-wedge device edge, as far as a machine without /dev/input can test it.

Decoding is tested in test_hid.py with evdev events.  Here: a device that is missing, or is no
input device at all, is retried with capped backoff, explained in the status, leaks no file
descriptor, and the reader stops promptly.
"""

from __future__ import annotations

import os
import threading

import pytest

from pos_agent.readers.config import HidDeviceConfig
from pos_agent.readers.hid_reader import HidReader
from tests.pos_agent.readers.ptys import Recorder, pty


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize("what", ["missing", "not an input device"])
def test_an_unusable_device_is_retried_without_busy_looping_or_leaking(tmp_path, what):
    recorder = Recorder()
    with pty() as tty:
        path = str(tmp_path / "event-kbd") if what == "missing" else tty.path
        config = HidDeviceConfig(name="hand", path=path, reconnect_min=0.01, reconnect_max=0.05)
        reader = HidReader(config, recorder.on_scan, recorder.on_reject, on_state=recorder.on_state)
        before = open_fds()
        stop = threading.Event()
        thread = threading.Thread(target=reader.run, args=(stop,))
        thread.start()
        stop.wait(0.3)
        stop.set()
        thread.join(1.0)
        assert not thread.is_alive()
        status = reader.status()
        assert 3 <= status["attempts"] <= 10  # 0.01, 0.02, 0.04, 0.05 ... never a spin
        expected = "No such file" if what == "missing" else "Inappropriate ioctl"
        assert expected in str(status["last_error"])
        assert open_fds() == before
        assert recorder.scans == [] and recorder.states == [
            ("hand", "searching"),
            ("hand", "stopped"),
        ]
