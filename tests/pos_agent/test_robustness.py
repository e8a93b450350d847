"""Readers under abuse, on real pseudo-terminals: unplugging, noise, overlong lines, NULs, two
devices at once.  Every wait is bounded; a hang is a failure within seconds, not a stuck CI."""

from __future__ import annotations

import os
import random
import threading

import pytest

from pos_agent.readers.framing import check_text
from tests.pos_agent.readers.ptys import (
    Pty,
    Recorder,
    connected_pty,
    make_reader,
    pty,
    running,
    serial_config,
    wait_until,
)


def point(link, target: str) -> None:
    """Repoint a by-id style symlink atomically, as udev does when a device comes back."""
    tmp = f"{link}.new"
    os.symlink(target, tmp)
    os.replace(tmp, link)


def test_unplug_and_replug_mid_scan(tmp_path):
    link = tmp_path / "usb-Datalogic_Scanner_S123-if00"
    recorder = Recorder()
    first = Pty()
    point(link, first.path)
    reader = make_reader(serial_config("lane", str(link)), recorder)
    with running(reader):
        recorder.wait_for(lambda r: r.connections("lane") == 1)
        first.send(b"98710000")  # half a card number, then the cable is pulled
        wait_until(lambda: reader.pending == 8)
        first.unplug()
        os.remove(link)  # udev removes the link with the device
        recorder.wait_for(lambda r: ("lane", "waiting") in r.states)
        with pty() as second:  # plugged back in: a new tty, the same by-id link
            point(link, second.path)
            recorder.wait_for(lambda r: r.connections("lane") == 2)
            second.send(b"9871000000000025\r\n")
            recorder.wait_for(lambda r: r.scans)
    assert recorder.texts() == ["9871000000000025"]  # the half frame was never delivered
    assert [(j.reason, j.length) for j in recorder.rejects] == [
        ("device disconnected mid-frame", 8)
    ]


@pytest.mark.parametrize(("framing", "seed"), [("line", 1), ("line", 2), ("stx_etx", 3)])
def test_random_bytes_give_junk_or_nothing_and_the_reader_carries_on(framing, seed):
    rng = random.Random(seed)
    with connected_pty("lane", framing=framing) as (device, reader, recorder):
        sent = 0
        while sent < 32 * 1024:
            chunk = rng.randbytes(rng.randint(1, 700))
            device.send(chunk)
            sent += len(chunk)
        final = b"\r\nFINAL\r\n" if framing == "line" else b"\x03\x02FINAL\x03"
        device.send(final)
        recorder.wait_for(lambda r: r.texts()[-1:] == ["FINAL"])
        assert reader.status()["state"] == "connected"
    # the noise never cost the connection, and nothing that came out is other than text
    assert recorder.connections("lane") == 1
    for scan in recorder.scans:
        check_text(scan.text)
    assert recorder.rejects, "32 KiB of noise should have produced rejected frames"
    assert all(j.reason and j.length >= 0 for j in recorder.rejects)


def test_a_4kib_line_with_no_terminator_is_dropped_and_memory_stays_bounded():
    with connected_pty("lane", frame_timeout=0.3) as (device, reader, recorder):
        # exactly 4 KiB then silence: the partial frame expires
        device.send(b"1" * 4096)
        recorder.wait_for(lambda r: len(r.rejects) == 1)
        # 16 KiB with no terminator: dropped at 4 KiB, the rest skipped, never buffered
        device.send(b"2" * 16384)
        recorder.wait_for(lambda r: len(r.rejects) == 2)
        assert reader.pending <= 4096
        device.send(b"\r\nnext\r\n")
        # 4 KiB lines that do end: over the limit dropped, at the limit kept
        device.send((b"3" * 4097 + b"\r\n") * 3 + b"4" * 4096 + b"\r\n")
        recorder.wait_for(lambda r: len(r.scans) == 2)
    expired, overflow = recorder.rejects[:2]
    assert (expired.reason, expired.length) == ("partial frame expired", 4096)
    assert overflow.reason == "frame longer than 4096 bytes without a terminator"
    assert 4096 < overflow.length <= 2 * 4096  # what was in hand when it overflowed
    assert [j.reason for j in recorder.rejects[2:]] == [
        "frame longer than 4096 bytes without a terminator"
    ] * 3
    assert recorder.texts() == ["next", "4" * 4096]


def test_two_devices_scanning_at_once():
    recorder = Recorder()
    expected = {
        "scanner": [f"59012341{i:05d}" for i in range(100)],
        "swipe": [f";98710000{i:08d}?" for i in range(100)],
    }
    with pty() as scanner, pty() as swipe:
        readers = [
            make_reader(serial_config("scanner", scanner.path), recorder),
            make_reader(serial_config("swipe", swipe.path, framing="cr"), recorder),
        ]
        with running(*readers):
            recorder.wait_for(lambda r: r.connections("scanner") == r.connections("swipe") == 1)
            go = threading.Barrier(2)
            errors: list[BaseException] = []

            def scan_all(device: Pty, texts: list[str], terminator: bytes) -> None:
                try:
                    go.wait(timeout=5)
                    for text in texts:
                        device.send(text.encode() + terminator)
                except BaseException as exc:  # surfaced by the assertion below
                    errors.append(exc)

            writers = [
                threading.Thread(target=scan_all, args=(scanner, expected["scanner"], b"\r\n")),
                threading.Thread(target=scan_all, args=(swipe, expected["swipe"], b"\r")),
            ]
            for writer in writers:
                writer.start()
            for writer in writers:
                writer.join(timeout=5)
            assert not errors
            recorder.wait_for(lambda r: len(r.scans) == 200)
    assert recorder.texts("scanner") == expected["scanner"]  # each once, in order
    assert recorder.texts("swipe") == expected["swipe"]
    assert len(recorder.scans) == 200
    assert recorder.rejects == []


def test_a_scanner_that_sends_nul_bytes():
    with connected_pty("lane") as (device, _, recorder):
        device.send(b"\x00" * 512)  # a keep-alive of NULs: nothing at all
        device.send(b"\x009\x008\x007\x001\x000\x000\x000\x000\x00")
        device.send(b"0\x000\x000\x000\x000\x000\x001\x007\x00\r\x00\n\x00")
        device.send(b"\x00\x00\r\n")  # a frame of NULs only: nothing
        device.send(b"]E0\x005901234123457\r\n")
        recorder.wait_for(lambda r: len(r.scans) == 2)
    assert recorder.texts() == ["9871000000000017", "]E05901234123457"]
    assert recorder.rejects == []
