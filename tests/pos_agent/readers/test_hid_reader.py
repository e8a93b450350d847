"""The keyboard-wedge device edge, as far as a machine without /dev/input can test it.

Decoding is tested in test_hid.py with evdev events.  Here: a device that is missing, or is no
input device at all, is retried with capped backoff, explained in the status, leaks no file
descriptor, and the reader stops promptly.
"""

from __future__ import annotations

import logging
import os
import time

import pytest

from pos_agent.readers.config import HidDeviceConfig
from pos_agent.readers.hid import KeyDrop, KeyScan
from pos_agent.readers.hid_reader import HidReader
from tests.pos_agent.readers.ptys import Recorder, pty, running


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
        with running(reader, stop_within=1.0):
            time.sleep(0.3)
        status = reader.status()
        assert 3 <= status["attempts"] <= 10  # 0.01, 0.02, 0.04, 0.05 ... never a spin
        expected = "No such file" if what == "missing" else "Inappropriate ioctl"
        assert expected in str(status["last_error"])
        assert open_fds() == before
        assert recorder.scans == [] and recorder.states == [
            ("hand", "searching"),
            ("hand", "stopped"),
        ]


def test_decoded_keys_reach_the_consumer_and_the_counters_without_a_device(caplog):
    # What _pump hands on for each decoder result: scans to on_scan, drops to on_reject.
    recorder = Recorder()
    config = HidDeviceConfig(name="hand", path="/nonexistent")
    reader = HidReader(config, recorder.on_scan, recorder.on_reject, on_state=recorder.on_state)
    with caplog.at_level(logging.DEBUG, logger="pos_agent"):
        reader._handle(KeyScan("4111111111111111", 1.0, 1.1))
        reader._handle(KeyDrop("keys older than 5 s without Enter", 7, 2.0))
    assert recorder.texts() == ["4111111111111111"]
    assert [(r.device, r.reason, r.length) for r in recorder.rejects] == [
        ("hand", "keys older than 5 s without Enter", 7)
    ]
    status = reader.status()
    assert (status["scans"], status["rejected"], status["connections"]) == (1, 1, 0)
    assert "reader hand: dropped 7 chars: keys older than 5 s without Enter" in caplog.text
    assert "4111111111111111" not in caplog.text
