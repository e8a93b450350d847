"""Serial framing and decoding as pure code: bytes and a clock in, complete frames out.

A serial scanner or card reader sends each scan as one *frame*: the payload followed by a
terminator (CR, LF or CRLF), or wrapped in STX ... ETX.  :class:`Framer` cuts a byte stream
into frames.  It owns no device and no clock: the caller passes ``now`` (``time.monotonic()``)
with every call, so tests drive time by hand.

Invariants:

- Between calls the buffer never holds more than ``max_bytes`` bytes.  A longer frame is
  dropped with a reason, and the rest of it, up to the next terminator, is discarded too: the
  tail of an overlong line is never delivered as if it were a scan.
- A partial frame expires when no byte has arrived for ``expire_after`` seconds (about a
  second by default: a scanner sends a whole frame in one burst, so a pause that long means the
  rest was lost).  An expired partial is dropped, never glued to the next frame.
- NUL bytes are ignored wherever they appear (some scanners pad with them).
- No event ever carries the payload of a dropped frame; only its length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, get_args

Framing = Literal["line", "cr", "lf", "crlf", "stx_etx"]
FRAMINGS: tuple[str, ...] = get_args(Framing)

STX = 0x02
ETX = 0x03
MAX_FRAME_BYTES = 4096
EXPIRE_AFTER = 1.0

# Control characters a scan may legitimately carry: GS (FNC1 in GS1 data), RS and EOT (ISO/IEC
# 15434 envelopes), FS.  Any other C0 control or DEL in a frame means line noise.
_ALLOWED_CONTROLS = frozenset("\x1d\x1e\x04\x1c")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Frame:
    """A complete frame: the bytes between terminators (NULs already removed)."""

    payload: bytes
    at: float

    def __repr__(self) -> str:
        return f"Frame(bytes={len(self.payload)}, at={self.at:.3f})"


@dataclass(frozen=True)
class Dropped:
    """Bytes that were not a frame, and why.  Carries the length only, never the bytes."""

    reason: str
    length: int
    at: float


FramerEvent = Frame | Dropped


class Framer:
    """Incremental framer for one byte stream.  Not thread-safe: one per reader.

    ``framing``:

    - ``"line"`` (default): CR, LF or CRLF each end a frame; empty lines are skipped.
    - ``"cr"``: CR ends a frame, LF is ignored (so a CRLF scanner works too).
    - ``"lf"``: LF ends a frame, CR is ignored.
    - ``"crlf"``: only the pair CR LF ends a frame.
    - ``"stx_etx"``: a frame is the bytes between STX and ETX; bytes outside are dropped
      (CR, LF and NUL outside a frame are ignored silently: many scanners add them).
    """

    def __init__(
        self,
        framing: Framing = "line",
        *,
        max_bytes: int = MAX_FRAME_BYTES,
        expire_after: float = EXPIRE_AFTER,
    ) -> None:
        if framing not in FRAMINGS:
            raise ValueError(f"unknown framing {framing!r}; expected one of {', '.join(FRAMINGS)}")
        if max_bytes < 1:
            raise ValueError("max_bytes must be at least 1")
        if expire_after <= 0:
            raise ValueError("expire_after must be positive")
        self.framing: Framing = framing
        self.max_bytes = max_bytes
        self.expire_after = expire_after
        self._buf = bytearray()
        self._in_frame = False  # stx_etx: inside STX ... ETX
        self._skipping = False  # discarding the rest of an overlong frame
        self._last_byte_at: float | None = None

    @property
    def pending(self) -> int:
        """Bytes of the current partial frame (always <= max_bytes)."""
        return len(self._buf)

    def feed(self, data: bytes, now: float) -> list[FramerEvent]:
        """Take the next bytes of the stream; return the frames (and drops) they complete.

        Call with ``data=b""`` when a read timed out, so a stale partial frame can expire.
        """
        events = self.expire(now)
        data = bytes(data).replace(b"\x00", b"")
        if not data:
            return events
        self._last_byte_at = now
        if self.framing == "stx_etx":
            self._feed_stx_etx(data, now, events)
        else:
            self._feed_lines(data, now, events)
        return events

    def expire(self, now: float) -> list[FramerEvent]:
        """Drop the partial frame if no byte came for ``expire_after`` seconds."""
        if self._last_byte_at is None or now - self._last_byte_at < self.expire_after:
            return []
        return self.reset(now, "partial frame expired")

    def reset(self, now: float, reason: str = "device disconnected mid-frame") -> list[FramerEvent]:
        """Forget any partial frame (the device went away); report it if there was one."""
        events = self._drop_partial(reason, now)
        self._clear()
        self._last_byte_at = None
        return events

    def _drop_partial(self, reason: str, now: float) -> list[FramerEvent]:
        # An overlong frame being skipped was reported when it overflowed: not again.
        if self._skipping or not (self._buf or self._in_frame):
            return []
        return [Dropped(reason, len(self._buf), now)]

    def _clear(self) -> None:
        self._buf.clear()
        self._in_frame = False
        self._skipping = False

    # -- CR / LF / CRLF ------------------------------------------------------------------------

    def _feed_lines(self, data: bytes, now: float, events: list[FramerEvent]) -> None:
        if self.framing == "line":
            data = data.replace(b"\r", b"\n")
            sep = b"\n"
        elif self.framing == "cr":
            data, sep = data.replace(b"\n", b""), b"\r"
        elif self.framing == "lf":
            data, sep = data.replace(b"\r", b""), b"\n"
        else:
            sep = b"\r\n"
        if not data:
            return
        self._buf += data
        while True:
            end = self._buf.find(sep)
            if end < 0:
                break
            payload = bytes(self._buf[:end])
            del self._buf[: end + len(sep)]
            self._complete(payload, now, events)
        self._bound(now, events, keep=len(sep) - 1)

    # -- STX ... ETX ---------------------------------------------------------------------------

    def _feed_stx_etx(self, data: bytes, now: float, events: list[FramerEvent]) -> None:
        noise = 0
        pos = 0
        while pos < len(data):
            if not self._in_frame:
                start = data.find(STX, pos)
                outside = data[pos:] if start < 0 else data[pos:start]
                noise += len(outside.replace(b"\r", b"").replace(b"\n", b""))
                if start < 0:
                    break
                self._in_frame, self._skipping = True, False
                pos = start + 1
                continue
            etx = data.find(ETX, pos)
            stx = data.find(STX, pos)
            if stx >= 0 and (etx < 0 or stx < etx):
                # A new STX before the ETX: the frame before it lost its end.
                lost = len(self._buf) + stx - pos
                if not self._skipping:
                    events.append(Dropped("frame restarted (STX before ETX)", lost, now))
                self._buf.clear()
                self._skipping = False
                pos = stx + 1
                continue
            if etx < 0:
                self._buf += data[pos:]
                self._bound(now, events, keep=0)
                break
            payload = bytes(self._buf) + data[pos:etx]
            self._buf.clear()
            self._in_frame = False
            self._complete(payload, now, events)
            pos = etx + 1
        if noise:
            events.append(Dropped("bytes outside STX/ETX", noise, now))

    # -- shared --------------------------------------------------------------------------------

    def _complete(self, payload: bytes, now: float, events: list[FramerEvent]) -> None:
        """A terminator arrived: emit the frame unless it is empty or the tail of a long one."""
        if self._skipping:
            self._skipping = False
            return
        if len(payload) > self.max_bytes:
            events.append(Dropped(self._too_long(), len(payload), now))
        elif payload:
            events.append(Frame(payload, now))

    def _bound(self, now: float, events: list[FramerEvent], *, keep: int) -> None:
        """Cap the buffer: an unterminated frame over ``max_bytes`` is dropped and skipped.

        ``keep`` bytes stay buffered while skipping, so a CR LF split across reads is seen.
        """
        if self._skipping:
            del self._buf[: len(self._buf) - keep]
            return
        if len(self._buf) > self.max_bytes:
            events.append(Dropped(self._too_long(), len(self._buf), now))
            self._skipping = True
            del self._buf[: len(self._buf) - keep]

    def _too_long(self) -> str:
        return f"frame longer than {self.max_bytes} bytes without a terminator"


def decode_frame(payload: bytes) -> str:
    """Decode a frame's payload strictly as UTF-8 text (ASCII is a subset).

    Raises :class:`ValueError` with a reason (never the bytes) if the payload is not valid
    UTF-8, or if :func:`check_text` refuses it: that is line noise, not a scan.
    """
    try:
        text = payload.decode("utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise ValueError(f"invalid UTF-8 at byte {exc.start}") from None
    check_text(text)
    return text


def check_text(text: str) -> None:
    """Refuse control characters other than GS, RS, EOT and FS (ValueError naming the code)."""
    for match in _CONTROL.finditer(text):
        if match.group() not in _ALLOWED_CONTROLS:
            raise ValueError(f"control character 0x{ord(match.group()):02x} in scan")
