"""The serial reader against real pseudo-terminals and a real local socket."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

import pytest

from pos_agent.readers import SerialDeviceConfig, open_readers, parse_devices, start_readers
from pos_agent.readers.serial_reader import SerialReader, find_serial_port
from tests.pos_agent.readers.ptys import (
    Recorder,
    connected_pty,
    make_reader,
    port,
    pty,
    running,
    serial_config,
)


def test_a_scan_from_a_pty_arrives_as_a_raw_scan():
    with connected_pty("lane") as (device, reader, recorder):
        device.send(b"9871000000000017\r\n")
        recorder.wait_for(lambda r: r.scans)
    assert recorder.texts() == ["9871000000000017"]
    assert recorder.scans[0].device == "lane"
    assert recorder.rejects == []
    assert reader.status()["scans"] == 1


def test_stx_etx_framing_through_a_pty():
    with connected_pty("stx", framing="stx_etx") as (device, _, recorder):
        device.send(b"\x02]E05901234123457\x03\r\n\x02]C1\x1d0101234567890128\x03")
        recorder.wait_for(lambda r: len(r.scans) == 2)
    assert recorder.texts() == ["]E05901234123457", "]C1\x1d0101234567890128"]


def test_a_partial_frame_expires_after_about_a_second_of_silence():
    with connected_pty("lane", frame_timeout=0.2) as (device, _, recorder):
        device.send(b"12345")
        recorder.wait_for(lambda r: r.rejects)  # no further byte needed: the read times out
        device.send(b"678\r")
        recorder.wait_for(lambda r: r.scans)
    assert [(j.reason, j.length) for j in recorder.rejects] == [("partial frame expired", 5)]
    assert recorder.texts() == ["678"]


def test_invalid_bytes_are_junk_and_the_reader_goes_on():
    with connected_pty("lane") as (device, _, recorder):
        device.send(b"\xff\xfe\x80\r\nok\r\n")
        recorder.wait_for(lambda r: r.scans)
    assert recorder.texts() == ["ok"]
    assert [(j.reason, j.length) for j in recorder.rejects] == [
        ("junk: invalid UTF-8 at byte 0", 3)
    ]


def test_a_socket_url_is_read_and_reconnected_when_the_far_end_goes():
    recorder = Recorder()
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(5)
        port = server.getsockname()[1]
        reader = make_reader(serial_config("net", f"socket://127.0.0.1:{port}"), recorder)
        with running(reader):
            first, _ = server.accept()
            with first:
                # pyserial flushes what arrives while it opens: a scanner talks after that
                recorder.wait_for(lambda r: r.connections("net") == 1)
                first.sendall(b"first\r\nhal")
                recorder.wait_for(lambda r: r.scans)
            # the far end closed mid-frame: the reader reconnects; the half frame is gone
            second, _ = server.accept()
            with second:
                recorder.wait_for(lambda r: r.connections("net") == 2)
                second.sendall(b"f\r\nsecond\r\n")
                recorder.wait_for(lambda r: len(r.scans) == 3)
        assert recorder.texts() == ["first", "f", "second"]  # never "half"
        assert ("device disconnected mid-frame", 3) in [
            (j.reason, j.length) for j in recorder.rejects
        ]
        assert recorder.connections("net") == 2


def test_a_loop_url_opens_and_stops_promptly():
    recorder = Recorder()
    reader = make_reader(serial_config("loop", "loop://"), recorder)
    with running(reader):
        recorder.wait_for(lambda r: r.connections("loop") == 1)
        assert reader.status()["state"] == "connected"
    assert recorder.states[-1] == ("loop", "stopped")


def test_a_missing_device_is_retried_with_capped_backoff_not_a_busy_loop(tmp_path):
    recorder = Recorder()
    path = str(tmp_path / "ttyUSB-scanner")
    config = serial_config("late", path, reconnect_min=0.01, reconnect_max=0.05)
    reader = make_reader(config, recorder)
    with running(reader):
        time.sleep(0.3)
        attempts = reader.status()["attempts"]
        # 0.01 + 0.02 + 0.04 + 0.05 + 0.05 ...: about 7 tries in 0.3 s, never thousands
        assert 3 <= attempts <= 10
        assert "No such file or directory" in str(reader.status()["last_error"])
        with pty() as device:
            os.symlink(device.path, path)  # the device is plugged in: udev adds its link
            recorder.wait_for(lambda r: r.connections("late") == 1)
            device.send(b"now\r")
            recorder.wait_for(lambda r: r.scans)
            assert reader.status()["last_error"] is None
    assert recorder.texts() == ["now"]


def test_a_failing_consumer_does_not_kill_the_reader(caplog):
    recorder = Recorder()

    def on_scan(scan):
        recorder.on_scan(scan)
        if len(recorder.scans) == 1:
            raise RuntimeError(f"till bug with {scan.text}")

    with pty() as device:
        reader = SerialReader(
            serial_config("lane", device.path), on_scan, on_state=recorder.on_state
        )
        with caplog.at_level(logging.DEBUG), running(reader):
            recorder.wait_for(lambda r: r.connections("lane") == 1)
            device.send(b"4111111111111111\r\n4000056655665556\r\n")
            recorder.wait_for(lambda r: len(r.scans) == 2)
    assert "callback on_scan raised RuntimeError" in caplog.text
    assert "4111111111111111" not in caplog.text  # not even through the consumer's message


def test_logs_name_the_device_and_lengths_never_the_text(caplog):
    secret = "4111111111111111"
    with (
        caplog.at_level(logging.DEBUG, logger="pos_agent"),
        connected_pty("lane", max_frame=16) as (device, reader, recorder),
    ):
        device.send(f"{secret}\r\n{secret}{secret}\r\n{secret}\x01\r\n".encode())
        recorder.wait_for(lambda r: r.scans and len(r.rejects) == 2)
        device.unplug()
        recorder.wait_for(lambda r: ("lane", "waiting") in r.states)
    assert secret not in caplog.text
    assert "reader lane: scan of 16 chars" in caplog.text
    assert "reader lane: dropped 32 bytes: frame longer than 16 bytes" in caplog.text
    for value in [*recorder.scans, *recorder.rejects, reader.status()]:
        assert secret not in repr(value)


PORTS = [
    port("/dev/ttyS0"),
    port("/dev/ttyACM0", 0x0C2E, 0x0B61, "AAA111"),
    port("/dev/ttyACM1", 0x0C2E, 0x0B61, "BBB222"),
    port("/dev/ttyUSB0", 0x0801, 0x0002, "MAG1"),
]


@pytest.mark.parametrize(
    ("vid", "pid", "serial_number", "expected"),
    [
        (0x0801, 0x0002, None, "/dev/ttyUSB0"),
        (0x0C2E, 0x0B61, "BBB222", "/dev/ttyACM1"),
        (0x0C2E, 0x0B61, "AAA111", "/dev/ttyACM0"),
    ],
)
def test_a_port_is_found_by_vid_pid_and_serial_number(vid, pid, serial_number, expected):
    assert find_serial_port(PORTS, vid, pid, serial_number) == expected


@pytest.mark.parametrize(
    ("vid", "pid", "serial_number", "message"),
    [
        (
            0x0C2E,
            0x0B61,
            None,
            r"2 serial ports match usb 0c2e:0b61 \(/dev/ttyACM0, /dev/ttyACM1\); set serial_number",
        ),
        (0x0C2E, 0x0B61, "CCC", r"no serial port with usb 0c2e:0b61 serial CCC attached"),
        (0x1234, 0x5678, None, r"no serial port with usb 1234:5678 attached"),
    ],
)
def test_ambiguous_or_absent_ids_are_refused_not_guessed(vid, pid, serial_number, message):
    with pytest.raises(LookupError, match=message):
        find_serial_port(PORTS, vid, pid, serial_number)


def test_the_reader_opens_the_port_its_usb_ids_resolve_to():
    recorder = Recorder()
    with pty() as device:
        ports = [port("/dev/ttyS0"), port(device.path, 0x0C2E, 0x0B61, "AAA111")]
        config = SerialDeviceConfig(
            name="lane", vid=0x0C2E, pid=0x0B61, serial_number="AAA111",
            reconnect_min=0.02, reconnect_max=0.1,
        )  # fmt: skip
        reader = SerialReader(
            config, recorder.on_scan, on_state=recorder.on_state, ports=lambda: ports
        )
        with running(reader):
            recorder.wait_for(lambda r: r.connections("lane") == 1)
            assert reader.status()["port"] == device.path
            device.send(b"by-id\r")
            recorder.wait_for(lambda r: r.scans)
    assert recorder.texts() == ["by-id"]


def test_the_public_api_from_toml_entries_to_scans():
    """What the agent does: parse [[devices]], open_readers, start_readers, stop."""
    recorder = Recorder()
    with pty() as scanner, pty() as swipe:
        configs = parse_devices(
            [
                {"kind": "serial", "name": "scanner", "url": scanner.path},
                {"kind": "serial", "name": "swipe", "port": swipe.path, "framing": "cr"},
            ]
        )
        readers = open_readers(configs, recorder.on_scan, recorder.on_reject, recorder.on_state)
        stop = threading.Event()
        threads = start_readers(readers, stop)
        try:
            recorder.wait_for(lambda r: r.connections("scanner") == r.connections("swipe") == 1)
            scanner.send(b"]E05901234123457\r\n")
            swipe.send(b"%B6009871000000000017^MEMBER/A^2912?\r")
            recorder.wait_for(lambda r: len(r.scans) == 2)
        finally:
            stop.set()
            for thread in threads:
                thread.join(2)
        assert not any(t.is_alive() for t in threads)
    assert sorted((s.device, s.text) for s in recorder.scans) == [
        ("scanner", "]E05901234123457"),
        ("swipe", "%B6009871000000000017^MEMBER/A^2912?"),
    ]
    assert [r.status()["state"] for r in readers] == ["stopped", "stopped"]
