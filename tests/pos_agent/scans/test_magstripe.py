"""Track parsing: ISO/IEC 7813 (tracks 1 and 2), ISO/IEC 4909 (track 3), ISO/IEC 7811 (LRC)."""

import pytest

from pos_agent.symbologies.magstripe import Swipe, Track, lrc, parse_swipe

MEMBER = "9871000000000015"  # programme prefix 9871, Luhn check digit 5

# Track 1 and 2 laid out per ISO/IEC 7813 with the Visa test number.
VISA_T1 = "%B4111111111111111^DOE/JOHN^2512101000000000?"
VISA_T2 = ";4111111111111111=25121010000000000000?"
# Track 3 laid out per ISO/IEC 4909:2006 clause 8: format code 01, PAN, FS, FS (country code,
# deprecated), currency 978, exponent 2, amounts, cycle, retry count, PINPARM, interchange,
# account types, expiry 2812, sequence, security number, two empty SANs, relay marker, CCD.
VISA_T3 = ";014111111111111111==978200001000000100000130300000000000000281210000000000==0000000?"


@pytest.mark.parametrize(
    ("swipe", "tracks"),
    [
        # Wikipedia, "ISO/IEC 7813", the standard's track 1 examples (name field with spaces,
        # empty expiry and service code fields written as '^').
        ("%B4815881002867896^YATES/EUGENE JOHN         ^37829821000123456789?",
         [(1, "4815881002867896", "B")]),
        ("%B4815881002861896^YATES/EUGENE L            ^^^356858      00998000000?",
         [(1, "4815881002861896", "B")]),
        (VISA_T1, [(1, "4111111111111111", "B")]),
        (VISA_T2, [(2, "4111111111111111", "")]),
        (VISA_T1 + VISA_T2, [(1, "4111111111111111", "B"), (2, "4111111111111111", "")]),
        (VISA_T1 + VISA_T2 + VISA_T3,
         [(1, "4111111111111111", "B"), (2, "4111111111111111", ""),
          (3, "4111111111111111", "01")]),
        ("+" + VISA_T3[1:], [(3, "4111111111111111", "01")]),  # readers that send '+'
        (VISA_T1 + "\r\n" + VISA_T2 + "\r\n", [(1, "4111111111111111", "B"),
                                              (2, "4111111111111111", "")]),
        # A loyalty card: track 2 with or without a field separator, track 1 without a
        # format code.
        (f";{MEMBER}?", [(2, MEMBER, "")]),
        (f";{MEMBER}=?", [(2, MEMBER, "")]),
        (f";{MEMBER}=2812?", [(2, MEMBER, "")]),
        (f"%{MEMBER}^MEMBER/CARD^?", [(1, MEMBER, "")]),
        # A lone ';' track too long for track 2 (40 characters) is track 3.
        (VISA_T3, [(3, "4111111111111111", "01")]),
    ],
)
def test_tracks_yield_their_account_number(swipe: str, tracks: list[tuple]) -> None:
    parsed = parse_swipe(swipe)
    assert parsed is not None
    assert [(t.track, t.number, t.format_code) for t in parsed.tracks] == tracks
    assert parsed.errors == 0


@pytest.mark.parametrize(
    ("swipe", "numbers", "errors"),
    [
        ("%E?", [], 1),
        (";E?", [], 1),
        ("+E?", [], 1),
        ("%E?;E?+E?", [], 3),
        (f"%E?;{MEMBER}?", [MEMBER], 1),  # track 1 blank or damaged, track 2 read
        (f"%E?;E?;01{MEMBER}=?", [MEMBER], 2),  # the second ';' track is track 3
    ],
)
def test_error_sentinels_are_counted_and_good_tracks_kept(
    swipe: str, numbers: list[str], errors: int
) -> None:
    parsed = parse_swipe(swipe)
    assert parsed is not None
    assert [t.number for t in parsed.tracks] == numbers
    assert parsed.errors == errors


def test_lrc_is_the_xor_of_the_track_characters() -> None:
    # ISO/IEC 7811-2: 6-bit values (ASCII - 0x20) on track 1, 4-bit (ASCII - 0x30) on 2 and 3.
    assert lrc("%E?") == chr(((ord("%") - 32) ^ (ord("E") - 32) ^ (ord("?") - 32)) + 32)
    assert lrc(";1?") == chr(((ord(";") - 48) ^ 1 ^ (ord("?") - 48)) + 48)
    assert lrc(VISA_T1) == ";"  # which is also track 2's start sentinel: see below


@pytest.mark.parametrize(
    "swipe",
    [
        VISA_T1 + lrc(VISA_T1) + VISA_T2 + lrc(VISA_T2),  # every track with its LRC
        VISA_T1 + VISA_T2,  # no LRCs, and track 1's LRC (';') starts track 2
        VISA_T1 + lrc(VISA_T1) + VISA_T2,
    ],
)
def test_an_lrc_after_the_end_sentinel_is_consumed_only_when_it_matches(swipe: str) -> None:
    parsed = parse_swipe(swipe)
    assert parsed is not None
    assert [t.track for t in parsed.tracks] == [1, 2]


@pytest.mark.parametrize(
    "swipe",
    [
        f";{MEMBER}?X",  # a character after '?' that is neither the LRC nor a track
        f";{MEMBER}",  # no end sentinel
        f";{MEMBER}A?",  # a letter on a numeric track
        f";{MEMBER[:4]}~{MEMBER[4:]}?",
        ";?",  # empty track
        "%B^NAME^?",  # no account number
        f";{'1' * 22}?",  # account number longer than 19 digits, even after a format code
        f";01{MEMBER}={'0' * 100}?",  # track 3 over its 107 characters
        "%E?;E?+E?;E?",  # four tracks: no reader has them
        "hello",
        ";" * 400,  # over the length of three tracks
    ],
)
def test_malformed_track_data_is_refused(swipe: str) -> None:
    assert parse_swipe(swipe) is None


def test_a_track_never_shows_its_number_in_repr() -> None:
    parsed = parse_swipe(VISA_T1 + VISA_T2)
    assert parsed is not None
    assert "4111" not in repr(parsed) and "1111" not in str(parsed.tracks[0])
    assert repr(Track(2, "4111111111111111")) == "Track(track=2, format_code='')"
    assert parse_swipe("") == Swipe((), 0)
