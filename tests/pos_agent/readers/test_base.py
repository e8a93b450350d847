"""RawScan never shows its text; the reconnect backoff doubles up to its cap."""

from __future__ import annotations

import dataclasses

import pytest

from pos_agent.readers import RawScan, Rejected
from pos_agent.readers.base import Backoff, deliver

PAN = "4111111111111111"


def test_a_raw_scan_shows_its_device_and_length_never_its_text():
    scan = RawScan("lane", PAN, 12.5)
    for shown in (repr(scan), str(scan), f"{scan}", repr([scan]), repr({"scan": scan})):
        assert PAN not in shown and "4111" not in shown
    assert repr(scan) == "RawScan(device='lane', chars=16, at=12.500)"
    assert scan.text == PAN  # the consumer still gets it


def test_a_rejection_has_no_place_for_the_bytes():
    assert [f.name for f in dataclasses.fields(Rejected)] == ["device", "reason", "length", "at"]


def test_backoff_doubles_to_its_cap_and_starts_again_after_a_reset():
    backoff = Backoff(0.2, 5.0)
    assert [backoff.next() for _ in range(7)] == [0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0]
    backoff.reset()
    assert backoff.next() == 0.2
    with pytest.raises(ValueError):
        Backoff(0, 1)
    with pytest.raises(ValueError):
        Backoff(2, 1)


def test_deliver_survives_a_failing_callback_without_logging_its_message(caplog):
    def on_scan(scan):
        raise ValueError(f"bad {scan.text}")

    deliver("lane", on_scan, RawScan("lane", PAN, 0.0))
    assert "reader lane: callback on_scan raised ValueError" in caplog.text
    assert PAN not in caplog.text
