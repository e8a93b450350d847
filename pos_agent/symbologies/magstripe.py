"""Magnetic stripe swipes: tracks 1 and 2 (ISO/IEC 7813) and track 3 (ISO/IEC 4909).

What a reader sends for one swipe is each track it read, in order, concatenated::

    %B4111111111111111^DOE/JOHN^2512101000000000?;4111111111111111=25121010000000000000?

* Track 1 (IATA, 6-bit alphanumeric): ``%``, a format code letter (``B`` for financial cards),
  the primary account number (up to 19 digits), ``^``, the name, ``^``, expiry YYMM, service
  code and discretionary data, ``?``.  At most 79 characters.
* Track 2 (ABA, 4-bit numeric): ``;``, the account number, ``=``, expiry, service code and
  discretionary data, ``?``.  At most 40 characters.
* Track 3 (ISO/IEC 4909, numeric like track 2): ``;``, a two-digit format code, the account
  number, ``=``, ... ``?``.  At most 107 characters.  Some readers start it with ``+``.
* Each track may be followed by its LRC character (ISO/IEC 7811-2/-6: the XOR of the
  character values from start to end sentinel).  A character after ``?`` that equals the LRC
  is consumed; one that does not is not an LRC, and must then start the next track.
* A track the reader could not decode comes as an error sentinel: ``%E?``, ``;E?``, ``+E?``.

A :class:`Track` hides its account number from ``repr``: a swipe is usually a payment card.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_SWIPE_CHARS = 3 * 108  # three tracks at their longest, with LRCs
MAX_TRACKS = 3  # also bounds the LRC backtracking below to 2**3 paths
_MAX_TRACK = {1: 79, 2: 40, 3: 107}  # characters, sentinels and LRC included (ISO/IEC 7811)
START_SENTINELS = "%;+"
ERROR_TRACKS = ("%E?", ";E?", "+E?")

# Field layouts.  Track 1's format code is optional because loyalty cards are often encoded
# without one; the account number is whatever digits come before the first separator.
_TRACK1 = re.compile(r"%(?P<fc>[A-Z]?)(?P<number>\d{1,19})(?:\^(?P<rest>[ -~]*))?\?")
_TRACK2 = re.compile(r";(?P<number>\d{1,19})(?:=(?P<rest>[0-9=:<>]*))?\?")
_TRACK3 = re.compile(r"[;+](?P<fc>\d\d)(?P<number>\d{0,19})(?:=(?P<rest>[0-9=:<>]*))?\?")


@dataclass(frozen=True)
class Track:
    """One decoded track: its number (1, 2, 3) and primary account number field."""

    track: int
    number: str = field(repr=False)  # may be a PAN: never in a repr or a log line
    format_code: str = ""


@dataclass(frozen=True)
class Swipe:
    """What one swipe gave: the tracks read, and how many came as error sentinels."""

    tracks: tuple[Track, ...]
    errors: int


def looks_like_swipe(text: str) -> bool:
    """The text starts with a track start sentinel, so only a stripe reader sent it."""
    return text[:1] in START_SENTINELS if text else False


def parse_swipe(text: str) -> Swipe | None:
    """Split a swipe into tracks; None when it is not well-formed track data.

    Whitespace between tracks (a reader's CR/LF) is skipped.  Pure; never raises.
    """
    if len(text) > MAX_SWIPE_CHARS:
        return None
    return _parse_from(text, 0, seen=0, semicolon_tracks=0)


def _parse_from(text: str, pos: int, *, seen: int, semicolon_tracks: int) -> Swipe | None:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    if pos == len(text):
        return Swipe((), 0)
    end = text.find("?", pos)
    if end < 0 or text[pos] not in START_SENTINELS or seen == MAX_TRACKS:
        return None
    raw = text[pos : end + 1]
    error = raw in ERROR_TRACKS
    track = None if error else _decode_track(raw, semicolon_tracks)
    if track is None and not error:
        return None  # a malformed track spoils the swipe, whatever follows it
    next_semicolons = semicolon_tracks + (raw[0] == ";")
    # Try with the following character as this track's LRC first, then without it: the LRC
    # may itself be ';' or '%', which would otherwise be misread as the next track's start.
    for after in _after_track(text, raw, end + 1):
        rest = _parse_from(text, after, seen=seen + 1, semicolon_tracks=next_semicolons)
        if rest is not None:
            if track is None:
                return Swipe(rest.tracks, rest.errors + 1)
            return Swipe((track, *rest.tracks), rest.errors)
    return None


def _after_track(text: str, raw: str, pos: int) -> list[int]:
    if pos < len(text) and text[pos] == lrc(raw):
        return [pos + 1, pos]
    return [pos]


def _decode_track(raw: str, semicolon_tracks_before: int) -> Track | None:
    if raw[0] == "%":
        return _match(raw, 1, _TRACK1)
    if raw[0] == "+" or semicolon_tracks_before >= 1:
        return _match(raw, 3, _TRACK3)
    # A first ';' track is track 2, unless only track 3's layout or length fits it.
    return _match(raw, 2, _TRACK2) or _match(raw, 3, _TRACK3)


def _match(raw: str, track: int, layout: re.Pattern[str]) -> Track | None:
    match = layout.fullmatch(raw)
    if match is None or len(raw) > _MAX_TRACK[track]:
        return None
    return Track(track, match["number"], match.groupdict().get("fc") or "")


def lrc(raw: str) -> str:
    """The LRC character of a track from start to end sentinel (ISO/IEC 7811-2 and -6).

    Track 1 characters are 6-bit values offset by 0x20 in ASCII; tracks 2 and 3 are 4-bit
    values offset by 0x30.  The LRC is the XOR of the values, written in the same offset.
    """
    offset, mask = (0x20, 0x3F) if raw[:1] == "%" else (0x30, 0x0F)
    value = 0
    for ch in raw:
        value ^= (ord(ch) - offset) & mask
    return chr(value + offset)
