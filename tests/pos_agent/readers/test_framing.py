"""The serial framer and decoder: pure, driven by byte strings and a hand-held clock."""

from __future__ import annotations

import pytest

from pos_agent.readers.framing import Dropped, Frame, Framer, decode_frame


def frames(events: list) -> list[bytes]:
    return [e.payload for e in events if isinstance(e, Frame)]


def drops(events: list) -> list[str]:
    return [e.reason for e in events if isinstance(e, Dropped)]


def feed_all(framer: Framer, chunks: list[bytes], now: float = 0.0) -> list:
    events: list = []
    for chunk in chunks:
        events += framer.feed(chunk, now)
    return events


@pytest.mark.parametrize(
    ("framing", "stream", "expected"),
    [
        ("line", b"123\r", [b"123"]),
        ("line", b"123\n", [b"123"]),
        ("line", b"123\r\n456\r\n", [b"123", b"456"]),
        ("line", b"\r\n\r\n123\n\n", [b"123"]),  # empty lines are no scans
        ("cr", b"123\r\n456\r", [b"123", b"456"]),  # CRLF scanner on CR framing
        ("lf", b"123\r\n456\n", [b"123", b"456"]),
        ("crlf", b"123\r\n456\r\n", [b"123", b"456"]),
        ("crlf", b"12\r3\r\n", [b"12\r3"]),  # a lone CR is data (decode refuses it later)
        ("stx_etx", b"\x02123\x03\x02456\x03", [b"123", b"456"]),
        ("stx_etx", b"\x02123\x03\r\n", [b"123"]),  # CR LF after ETX is ignored
        ("stx_etx", b"\x02a\rb\x03", [b"a\rb"]),  # inside STX/ETX, CR is data
        ("line", b"\x00\x001\x002\x003\x00\r\n\x00", [b"123"]),  # NULs ignored
        ("line", b"\x00\x00\r\n", []),  # a frame of NULs only is nothing
        ("stx_etx", b"\x00\x02\x0012\x003\x03\x00", [b"123"]),
        ("line", b"]C1\x1d0101234567890128\x1d10ABC\r", [b"]C1\x1d0101234567890128\x1d10ABC"]),
    ],
)
def test_frames_are_cut_at_terminators(framing, stream, expected):
    assert frames(Framer(framing).feed(stream, 0.0)) == expected


@pytest.mark.parametrize("framing", ["line", "cr", "lf", "crlf", "stx_etx"])
def test_a_frame_split_byte_by_byte_is_the_same_frame(framing):
    wrapped = {
        "line": b"9871000000000017\r\n",
        "cr": b"9871000000000017\r",
        "lf": b"9871000000000017\n",
        "crlf": b"9871000000000017\r\n",
        "stx_etx": b"\x029871000000000017\x03",
    }[framing]
    framer = Framer(framing)
    events = feed_all(framer, [bytes([b]) for b in wrapped])
    assert frames(events) == [b"9871000000000017"]
    assert drops(events) == []
    assert framer.pending == 0


def test_partial_frame_expires_after_a_second_of_silence():
    framer = Framer("line")
    assert framer.feed(b"12345", now=10.0) == []
    assert framer.feed(b"", now=10.9) == []  # still within the second
    events = framer.feed(b"", now=11.0)
    assert events == [Dropped("partial frame expired", 5, 11.0)]
    # the half frame is never glued to the next one
    assert frames(framer.feed(b"678\r", now=11.1)) == [b"678"]


def test_expiry_counts_from_the_last_byte_not_the_first():
    framer = Framer("line")
    # a long QR code at 9600 baud arrives over more than a second, byte after byte
    for i in range(15):
        assert framer.feed(b"x", now=i * 0.1) == []
    assert frames(framer.feed(b"\r", now=1.5)) == [b"x" * 15]


def test_expired_partial_is_reported_when_new_bytes_arrive_late():
    framer = Framer("line")
    framer.feed(b"123", now=0.0)
    events = framer.feed(b"456\r", now=5.0)
    assert drops(events) == ["partial frame expired"]
    assert frames(events) == [b"456"]


def test_stx_partial_expires_too():
    framer = Framer("stx_etx")
    framer.feed(b"\x02123", now=0.0)
    events = framer.feed(b"456\x03", now=2.0)
    # the half frame expired; what follows had no STX of its own: noise, not a frame
    assert events == [
        Dropped("partial frame expired", 3, 2.0),
        Dropped("bytes outside STX/ETX", 4, 2.0),
    ]


def test_stx_before_etx_restarts_the_frame():
    events = Framer("stx_etx").feed(b"\x02lost\x02kept\x03", 0.0)
    assert frames(events) == [b"kept"]
    assert events[0] == Dropped("frame restarted (STX before ETX)", 4, 0.0)


def test_bytes_outside_stx_etx_are_dropped_with_their_count():
    events = Framer("stx_etx").feed(b"noise\x02123\x03", 0.0)
    assert frames(events) == [b"123"]
    assert Dropped("bytes outside STX/ETX", 5, 0.0) in events


@pytest.mark.parametrize("framing", ["line", "crlf", "stx_etx"])
def test_a_4kib_line_without_terminator_is_dropped_and_its_tail_skipped(framing):
    framer = Framer(framing, max_bytes=4096)
    start = b"\x02" if framing == "stx_etx" else b""
    end = b"\x03" if framing == "stx_etx" else b"\r\n"
    events = framer.feed(start + b"A" * 4000, 0.0)
    assert events == []
    events = framer.feed(b"A" * 4000, 0.1)
    assert drops(events) == ["frame longer than 4096 bytes without a terminator"]
    assert framer.pending <= 1  # the buffer does not keep growing
    for _ in range(10):  # the rest of the line keeps coming: still bounded, not re-reported
        assert framer.feed(b"A" * 4000, 0.2) == []
        assert framer.pending <= 1
    events = framer.feed(b"AAA" + end + start + b"NEXT" + end, 0.3)
    assert frames(events) == [b"NEXT"]  # the tail of the long line is not a scan
    assert drops(events) == []


def test_a_terminated_frame_longer_than_the_limit_is_dropped():
    events = Framer("line", max_bytes=16).feed(b"x" * 17 + b"\r" + b"y" * 16 + b"\r", 0.0)
    assert drops(events) == ["frame longer than 16 bytes without a terminator"]
    assert frames(events) == [b"y" * 16]


def test_crlf_split_across_reads_while_skipping_is_still_seen():
    framer = Framer("crlf", max_bytes=8)
    framer.feed(b"x" * 20 + b"\r", 0.0)
    assert frames(framer.feed(b"\nok\r\n", 0.0)) == [b"ok"]


def test_reset_reports_a_half_frame_once_and_forgets_it():
    framer = Framer("line")
    framer.feed(b"half", 0.0)
    assert framer.reset(1.0) == [Dropped("device disconnected mid-frame", 4, 1.0)]
    assert framer.reset(1.0) == []
    assert frames(framer.feed(b"whole\r", 1.0)) == [b"whole"]


def test_dropped_events_never_carry_the_bytes():
    secret = b"4111111111111111"
    framer = Framer("line", max_bytes=8)
    events = framer.feed(secret, 0.0) + framer.feed(b"", 9.0) + framer.reset(9.0)
    assert events
    for event in events:
        assert secret.decode() not in repr(event)
    assert "4111" not in repr(Frame(secret, 0.0))


@pytest.mark.parametrize(
    ("payload", "text"),
    [
        (b"9871000000000017", "9871000000000017"),
        (b"]Q1LC1.eyJ.sig", "]Q1LC1.eyJ.sig"),
        (b"]C1\x1d01095011010209171719050810ABCD1234", "]C1\x1d01095011010209171719050810ABCD1234"),
        ("كوبون".encode(), "كوبون"),  # a QR code may carry UTF-8 text
        (b"%B4111111111111111^DOE/JOHN^2512?", "%B4111111111111111^DOE/JOHN^2512?"),
    ],
)
def test_decode_accepts_clean_text(payload, text):
    assert decode_frame(payload) == text


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\xff\xfe123", "invalid UTF-8 at byte 0"),
        (b"12\xc3", "invalid UTF-8 at byte 2"),  # truncated multi-byte sequence
        (b"\xed\xa0\x80", "invalid UTF-8 at byte 0"),  # a UTF-16 surrogate is not UTF-8
        (b"12\r3", "control character 0x0d in scan"),
        (b"\x1b[2J", "control character 0x1b in scan"),
        (b"12\x7f", "control character 0x7f in scan"),
    ],
)
def test_decode_refuses_junk_with_a_reason_that_does_not_echo_it(payload, reason):
    with pytest.raises(ValueError, match="^" + reason.replace("[", r"\[") + "$"):
        decode_frame(payload)


def test_unknown_framing_is_refused():
    with pytest.raises(ValueError, match="unknown framing 'etx'"):
        Framer("etx")  # type: ignore[arg-type]
