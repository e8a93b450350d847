"""Keyboard-wedge decoding as pure code: evdev key events in, scans out.

A keyboard-wedge scanner "types" its data as key presses and ends it with Enter.
:class:`KeyDecoder` turns a stream of ``evdev.InputEvent`` values into scans.  It reads no
device and no clock: time comes from the events' own timestamps.

Invariants:

- Only key-down events (value 1) type characters; auto-repeat (2) and key-up (0) are ignored,
  except that shift, ctrl and alt are tracked down *and* up.  Caps lock toggles on key-down.
- Enter (KEY_ENTER or KEY_KPENTER) ends a scan; an empty scan is no scan.
- A scan whose first key is more than ``max_age`` seconds (5 s) older than its Enter is dropped:
  the buffer held a stray half scan, not what the cashier just scanned.  A new key arriving on
  top of a stale buffer drops the stale part first, so it never poisons the next scan.
- The buffer is capped at ``max_chars``; a longer scan is dropped and skipped up to its Enter.
- Alt + keypad digits type the character with that code (Alt+029 is GS, how many scanners send
  FNC1); Ctrl + key types the control character of that key position (Ctrl+] is GS too).
- Lost events (SYN_DROPPED) drop the scan in hand and everything up to the next Enter.
- Results never carry dropped text; a :class:`KeyScan` never shows its text in a repr.
"""

from __future__ import annotations

from dataclasses import dataclass

from evdev import InputEvent, ecodes

from pos_agent.readers.framing import check_text
from pos_agent.readers.keymaps import CONTROL_KEYS, KEYPAD_DIGITS, Keymap, keymap

MAX_AGE = 5.0
MAX_CHARS = 4096

_SHIFTS = frozenset({ecodes.KEY_LEFTSHIFT, ecodes.KEY_RIGHTSHIFT})
_CTRLS = frozenset({ecodes.KEY_LEFTCTRL, ecodes.KEY_RIGHTCTRL})
_ALTS = frozenset({ecodes.KEY_LEFTALT, ecodes.KEY_RIGHTALT})
_ENTERS = frozenset({ecodes.KEY_ENTER, ecodes.KEY_KPENTER})
_DOWN, _UP = 1, 0


@dataclass(frozen=True)
class KeyScan:
    """A complete keyboard scan; ``started``/``ended`` are the event timestamps."""

    text: str
    started: float
    ended: float

    def __repr__(self) -> str:
        return f"KeyScan(chars={len(self.text)}, seconds={self.ended - self.started:.3f})"


@dataclass(frozen=True)
class KeyDrop:
    """Typed keys that were not a scan: why, and how many characters (never which)."""

    reason: str
    length: int
    at: float


class KeyDecoder:
    """Decodes one keyboard-wedge device's events.  Not thread-safe: one per reader."""

    def __init__(
        self, layout: str = "us", *, max_age: float = MAX_AGE, max_chars: int = MAX_CHARS
    ) -> None:
        self.layout = layout
        self._keymap: Keymap = keymap(layout)
        self.max_age = max_age
        self.max_chars = max_chars
        self._buf: list[str] = []
        self._length = 0  # characters in _buf (a key may type two)
        self._started = 0.0
        self._skipping = False
        self._held: set[int] = set()  # modifier keys down
        self._caps = False
        self._alt_code = ""  # keypad digits typed while alt is down

    @property
    def pending(self) -> int:
        """Characters typed since the last Enter (always <= max_chars)."""
        return self._length

    def feed(self, event: InputEvent) -> KeyScan | KeyDrop | None:
        """Take one event; return a scan (on Enter), a drop, or None."""
        if event.type == ecodes.EV_SYN and event.code == ecodes.SYN_DROPPED:
            return self._lost(event.timestamp())
        if event.type != ecodes.EV_KEY:
            return None
        code, value, at = event.code, event.value, event.timestamp()
        if code in _SHIFTS or code in _CTRLS or code in _ALTS:
            return self._modifier(code, value, at)
        if value != _DOWN:
            return None
        if code == ecodes.KEY_CAPSLOCK:
            self._caps = not self._caps
            return None
        if code in _ENTERS:
            return self._end(at)
        if self._held & _ALTS and code in KEYPAD_DIGITS:
            self._alt_code = (self._alt_code + str(KEYPAD_DIGITS[code]))[-4:]
            return None
        chars = self._chars(code)
        return self._type(chars, at) if chars else None

    def reset(self, at: float, reason: str = "device removed mid-scan") -> KeyDrop | None:
        """Forget everything (the device went away): partial scan, held keys, caps lock."""
        drop = KeyDrop(reason, self._length, at) if self._length and not self._skipping else None
        self._clear()
        self._held.clear()
        self._caps = False
        self._alt_code = ""
        return drop

    def _lost(self, at: float) -> KeyDrop | None:
        """The kernel's buffer overflowed and events were lost (SYN_DROPPED).

        Whatever is in hand is missing keys, and so may the rest of it be, up to its Enter:
        drop the partial scan and skip to the next Enter (losing one more scan at worst, never
        delivering a damaged one).  Held modifiers may have been released unseen: forget them.
        """
        drop = None
        if not self._skipping:
            drop = KeyDrop("key events lost by the kernel (SYN_DROPPED)", self._length, at)
        self._clear()
        self._skipping = True
        self._held.clear()
        self._alt_code = ""
        return drop

    def _modifier(self, code: int, value: int, at: float) -> KeyScan | KeyDrop | None:
        if value == _DOWN:
            self._held.add(code)
        elif value == _UP:
            self._held.discard(code)
            if code in _ALTS and not self._held & _ALTS and self._alt_code:
                chars, self._alt_code = _alt_char(self._alt_code), ""
                return self._type(chars, at) if chars else None
        return None

    def _chars(self, code: int) -> str | None:
        if self._held & _CTRLS:
            return CONTROL_KEYS.get(code)
        key = self._keymap.get(code)
        if key is None:
            return None  # a key that types nothing (function keys, arrows): ignored
        shifted = bool(self._held & _SHIFTS)
        if key.caps and self._caps:
            shifted = not shifted
        return key.shifted if shifted else key.plain

    def _type(self, chars: str, at: float) -> KeyDrop | None:
        drop = None
        if self._length and at - self._started > self.max_age:
            drop = self._drop_stale(at)
        if self._skipping:
            return drop
        if not self._length:
            self._started = at
        self._buf.append(chars)
        self._length += len(chars)
        if self._length > self.max_chars:
            drop = KeyDrop(f"scan longer than {self.max_chars} characters", self._length, at)
            self._clear()
            self._skipping = True
        return drop

    def _drop_stale(self, at: float) -> KeyDrop | None:
        drop = None
        if not self._skipping:
            drop = KeyDrop(f"keys older than {self.max_age:g} s without Enter", self._length, at)
        self._clear()
        return drop

    def _end(self, at: float) -> KeyScan | KeyDrop | None:
        if self._skipping:
            self._clear()
            return None
        if not self._length:
            return None
        length, started = self._length, self._started
        text = "".join(self._buf)
        self._clear()
        if at - started > self.max_age:
            return KeyDrop(f"scan took longer than {self.max_age:g} s", length, at)
        try:
            check_text(text)
        except ValueError as exc:
            return KeyDrop(str(exc), length, at)
        return KeyScan(text, started, at)

    def _clear(self) -> None:
        self._buf.clear()
        self._length = 0
        self._skipping = False


def _alt_char(digits: str) -> str | None:
    """The character Alt + keypad digits type (Windows convention, which scanners follow).

    Below 128 the code is ASCII.  Above, a leading zero means Windows-1252 (Alt+0233 = é),
    none means the old PC code page 437 (Alt+130 = é).
    """
    code = int(digits)
    if not 0 < code < 256:
        return None
    if code < 128:
        return chr(code)
    return bytes([code]).decode("cp1252" if digits.startswith("0") else "cp437", errors="ignore")
