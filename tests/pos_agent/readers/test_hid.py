"""The keyboard-wedge decoder: pure, fed with evdev.InputEvent values as a scanner sends them."""

from __future__ import annotations

import pytest
from evdev import InputEvent, ecodes

from pos_agent.readers.hid import KeyDecoder, KeyDrop, KeyScan
from pos_agent.readers.keymaps import ARABIC_101, LAYOUTS, US, keymap

E = ecodes
_US_REVERSE = {}
for _code, _key in US.items():
    if _code not in {E.ecodes[f"KEY_KP{d}"] for d in range(10)}:
        _US_REVERSE.setdefault(_key.plain, (_code, False))
        _US_REVERSE.setdefault(_key.shifted, (_code, True))


class Keyboard:
    """Makes the events a real keyboard-wedge scanner sends, with a clock we move by hand."""

    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def ev(self, etype: int, code: int, value: int) -> InputEvent:
        self.t += 0.002
        sec = int(self.t)
        return InputEvent(sec, int(round((self.t - sec) * 1_000_000)), etype, code, value)

    def press(self, code: int, *, shift: bool = False) -> list[InputEvent]:
        """Key down and up with the MSC_SCAN and SYN_REPORT a real device interleaves."""
        events = []
        if shift:
            events += [self.ev(E.EV_KEY, E.KEY_LEFTSHIFT, 1), self.ev(E.EV_SYN, E.SYN_REPORT, 0)]
        events += [
            self.ev(E.EV_MSC, E.MSC_SCAN, 0x70004),
            self.ev(E.EV_KEY, code, 1),
            self.ev(E.EV_SYN, E.SYN_REPORT, 0),
            self.ev(E.EV_KEY, code, 0),
            self.ev(E.EV_SYN, E.SYN_REPORT, 0),
        ]
        if shift:
            events += [self.ev(E.EV_KEY, E.KEY_LEFTSHIFT, 0), self.ev(E.EV_SYN, E.SYN_REPORT, 0)]
        return events

    def keypad(self, digits: str) -> list[InputEvent]:
        """``digits`` typed on the numeric keypad."""
        return [e for d in digits for e in self.press(E.ecodes[f"KEY_KP{d}"])]

    def alt_code(self, digits: str, alt: int = E.KEY_LEFTALT) -> list[InputEvent]:
        """Alt held while ``digits`` are typed on the keypad: the character with that code."""
        return [self.ev(E.EV_KEY, alt, 1), *self.keypad(digits), self.ev(E.EV_KEY, alt, 0)]

    def type_us(self, text: str, enter: int | None = E.KEY_ENTER) -> list[InputEvent]:
        """What a scanner programmed for a US keyboard sends for ``text``."""
        events = []
        for char in text:
            code, shift = _US_REVERSE[char]
            events += self.press(code, shift=shift)
        if enter is not None:
            events += self.press(enter)
        return events


def decode(decoder: KeyDecoder, events: list[InputEvent]) -> list[KeyScan | KeyDrop]:
    return [r for r in map(decoder.feed, events) if r is not None]


def texts(results: list) -> list[str]:
    return [r.text for r in results if isinstance(r, KeyScan)]


PRINTABLE_ASCII = "".join(chr(c) for c in range(0x20, 0x7F))


@pytest.mark.parametrize(
    "text",
    [
        "9871000000000017",  # a member card number
        "5901234123457",  # EAN-13 (GS1 General Specifications example)
        "LCFN:TOTAL",  # a function barcode
        "LC1.eyJjIjoiQUJDRC0xMjM0In0.c2ln-_",  # a signed coupon payload (base64url)
        "%B4111111111111111^DOE/JOHN^2512101?",  # a stripe track 1 through a wedge reader
        PRINTABLE_ASCII,  # every character a US keyboard types
    ],
)
def test_us_scans_come_back_exactly(text):
    decoder = KeyDecoder("us")
    assert texts(decode(decoder, Keyboard().type_us(text))) == [text]
    assert decoder.pending == 0


def test_only_key_down_types_repeats_and_ups_do_not():
    kb = Keyboard()
    events = [
        kb.ev(E.EV_KEY, E.KEY_1, 1),
        kb.ev(E.EV_KEY, E.KEY_1, 2),  # auto-repeat
        kb.ev(E.EV_KEY, E.KEY_1, 2),
        kb.ev(E.EV_KEY, E.KEY_1, 0),
        kb.ev(E.EV_KEY, E.KEY_2, 0),  # a lone key-up types nothing
        kb.ev(E.EV_KEY, E.KEY_ENTER, 2),  # a repeated Enter ends nothing
        kb.ev(E.EV_KEY, E.KEY_3, 1),
        kb.ev(E.EV_KEY, E.KEY_ENTER, 1),
        kb.ev(E.EV_KEY, E.KEY_ENTER, 0),
    ]
    assert texts(decode(KeyDecoder(), events)) == ["13"]


def test_shift_is_tracked_down_and_up_and_its_repeats_do_not_release_it():
    kb = Keyboard()
    events = [
        kb.ev(E.EV_KEY, E.KEY_RIGHTSHIFT, 1),
        kb.ev(E.EV_KEY, E.KEY_A, 1),
        kb.ev(E.EV_KEY, E.KEY_RIGHTSHIFT, 2),  # held: still shifted
        kb.ev(E.EV_KEY, E.KEY_B, 1),
        kb.ev(E.EV_KEY, E.KEY_RIGHTSHIFT, 0),
        kb.ev(E.EV_KEY, E.KEY_C, 1),
        kb.ev(E.EV_KEY, E.KEY_KPENTER, 1),  # the keypad Enter ends a scan too
    ]
    assert texts(decode(KeyDecoder(), events)) == ["ABc"]


def test_caps_lock_flips_letters_only_and_shift_flips_back():
    kb = Keyboard()
    events = kb.press(E.KEY_CAPSLOCK) + kb.type_us("ab1", enter=None)
    events += kb.press(E.KEY_A, shift=True) + kb.press(E.KEY_1, shift=True)
    events += kb.press(E.KEY_CAPSLOCK) + kb.type_us("c")
    assert texts(decode(KeyDecoder(), events)) == ["AB1a!c"]


def test_arabic_101_types_arabic_letters_for_latin_keys_and_the_same_digits():
    # A scanner programmed for the Arabic (101) keyboard presses the keys that are a, b, c and
    # the digit row on a US key bed: Arabic letters come out, digits stay digits.
    kb = Keyboard()
    events = kb.type_us("abc1234567890")
    assert texts(decode(KeyDecoder("ar"), events)) == ["\u0634\u0644\u0627\u0624" + "1234567890"]
    assert texts(decode(KeyDecoder("us"), events)) == ["abc1234567890"]


@pytest.mark.parametrize("number", ["6291041500213", "9871000000000017", "036000291452"])
def test_numeric_barcodes_decode_identically_in_every_layout(number):
    top_row = Keyboard().type_us(number)
    keypad = Keyboard()
    keypad_events = keypad.keypad(number) + keypad.press(E.KEY_KPENTER)
    for layout in LAYOUTS:
        assert texts(decode(KeyDecoder(layout), top_row)) == [number]
        assert texts(decode(KeyDecoder(layout), keypad_events)) == [number]


@pytest.mark.parametrize(
    ("key", "shift", "expected"),
    [
        (E.KEY_Q, False, "\u0636"),  # ض
        (E.KEY_H, False, "\u0627"),  # ا
        (E.KEY_H, True, "\u0623"),  # أ
        (E.KEY_GRAVE, False, "\u0630"),  # ذ
        (E.KEY_B, False, "\u0644\u0627"),  # لا: one key, two letters
        (E.KEY_SLASH, True, "\u061f"),  # ؟
        (E.KEY_K, True, "\u060c"),  # ،
        (E.KEY_9, True, ")"),  # mirrored parentheses
        (E.KEY_0, True, "("),
        (E.KEY_MINUS, False, "-"),
    ],
)
def test_arabic_101_keys(key, shift, expected):
    kb = Keyboard()
    events = kb.press(key, shift=shift) + kb.press(E.KEY_ENTER)
    assert texts(decode(KeyDecoder("ar"), events)) == [expected]


def test_caps_lock_does_not_change_arabic_letters():
    kb = Keyboard()
    events = kb.press(E.KEY_CAPSLOCK) + kb.type_us("a1")
    assert texts(decode(KeyDecoder("ar"), events)) == ["\u06341"]


def test_both_layouts_cover_the_same_keys():
    assert set(US) == set(ARABIC_101)
    assert len(US) == 47 + 17 + 1  # 47 typing keys, 17 keypad keys, space


def test_a_scan_older_than_five_seconds_is_dropped():
    kb = Keyboard()
    events = kb.type_us("123", enter=None)
    kb.t += 5.5
    results = decode(KeyDecoder(), events + kb.press(E.KEY_ENTER))
    assert [(r.reason, r.length) for r in results] == [("scan took longer than 5 s", 3)]


def test_a_slow_scan_within_five_seconds_is_kept():
    kb = Keyboard()
    events = kb.type_us("12", enter=None)
    kb.t += 4.5
    assert texts(decode(KeyDecoder(), events + kb.type_us("3"))) == ["123"]


def test_stale_keys_are_dropped_before_the_next_scan_not_glued_to_it():
    kb = Keyboard()
    events = kb.type_us("12", enter=None)  # a half scan, its Enter never came
    kb.t += 60
    results = decode(KeyDecoder(), events + kb.type_us("9871000000000017"))
    assert isinstance(results[0], KeyDrop) and results[0].length == 2
    assert texts(results) == ["9871000000000017"]


def test_alt_keypad_codes_and_ctrl_keys_type_gs_for_fnc1():
    kb = Keyboard()
    alt_029 = kb.alt_code("029")
    ctrl_bracket = [kb.ev(E.EV_KEY, E.KEY_LEFTCTRL, 1)]
    ctrl_bracket += kb.press(E.KEY_RIGHTBRACE) + [kb.ev(E.EV_KEY, E.KEY_LEFTCTRL, 0)]
    events = kb.type_us("]C1", enter=None) + alt_029 + kb.type_us("0101234567890128", enter=None)
    events += ctrl_bracket + kb.type_us("10ABC")
    assert texts(decode(KeyDecoder(), events)) == ["]C1\x1d0101234567890128\x1d10ABC"]


@pytest.mark.parametrize(("digits", "char"), [("0233", "é"), ("130", "é"), ("65", "A")])
def test_alt_codes_follow_the_windows_code_pages(digits, char):
    kb = Keyboard()
    events = kb.alt_code(digits, E.KEY_RIGHTALT) + kb.press(E.KEY_ENTER)
    assert texts(decode(KeyDecoder(), events)) == [char]


def test_a_control_character_other_than_gs_makes_the_scan_junk():
    kb = Keyboard()
    events = kb.type_us("12", enter=None) + [kb.ev(E.EV_KEY, E.KEY_LEFTCTRL, 1)]
    events += kb.press(E.KEY_A) + [kb.ev(E.EV_KEY, E.KEY_LEFTCTRL, 0)] + kb.type_us("3")
    results = decode(KeyDecoder(), events)
    assert [(r.reason, r.length) for r in results] == [("control character 0x01 in scan", 4)]


def test_non_key_events_and_empty_enters_are_nothing():
    kb = Keyboard()
    events = [kb.ev(E.EV_SYN, E.SYN_REPORT, 0), kb.ev(E.EV_MSC, E.MSC_SCAN, 4)]
    events += kb.press(E.KEY_ENTER) + kb.press(E.KEY_F5) + kb.press(E.KEY_ENTER)
    assert decode(KeyDecoder(), events) == []


def test_an_overlong_scan_is_dropped_once_and_skipped_to_its_enter():
    kb = Keyboard()
    events = kb.type_us("x" * 20) + kb.type_us("ok")
    results = decode(KeyDecoder(max_chars=8), events)
    assert [r.reason for r in results if isinstance(r, KeyDrop)] == [
        "scan longer than 8 characters"
    ]
    assert texts(results) == ["ok"]


def test_reset_drops_the_half_scan_and_forgets_held_keys():
    kb = Keyboard()
    decoder = KeyDecoder()
    decode(decoder, [kb.ev(E.EV_KEY, E.KEY_LEFTSHIFT, 1), *kb.press(E.KEY_A)])
    drop = decoder.reset(kb.t)
    assert drop is not None and (drop.reason, drop.length) == ("device removed mid-scan", 1)
    assert decoder.reset(kb.t) is None
    # the shift was down when the device went; it must not stay down for the next one
    assert texts(decode(decoder, kb.type_us("b"))) == ["b"]


def test_results_never_show_scan_text():
    kb = Keyboard()
    results = decode(KeyDecoder(), kb.type_us("4111111111111111"))
    assert "4111" not in repr(results[0]) and "4111" not in str(results[0])


def test_unknown_layout_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="unknown keyboard layout 'fr'; expected one of ar, us"):
        keymap("fr")
    with pytest.raises(ValueError):
        KeyDecoder("fr")


@pytest.mark.parametrize(
    ("code", "shift", "char"),
    [  # key codes as numbered in linux/input-event-codes.h, characters of the US layout
        (2, False, "1"),
        (11, False, "0"),
        (3, True, "@"),
        (12, True, "_"),
        (16, False, "q"),
        (30, True, "A"),
        (39, True, ":"),
        (40, True, '"'),
        (41, False, "`"),
        (43, True, "|"),
        (53, True, "?"),
        (57, False, " "),
        (82, False, "0"),  # KEY_KP0
        (83, False, "."),  # KEY_KPDOT
    ],
)
def test_us_keymap_against_the_kernel_key_numbers(code, shift, char):
    kb = Keyboard()
    events = kb.press(code, shift=shift) + kb.press(28)  # 28: KEY_ENTER
    assert texts(decode(KeyDecoder("us"), events)) == [char]


def test_lost_events_drop_the_scan_in_hand_and_its_tail():
    kb = Keyboard()
    events = kb.type_us("98710", enter=None) + [kb.ev(E.EV_SYN, E.SYN_DROPPED, 0)]
    events += kb.type_us("17")  # the tail of the damaged scan: not a scan of its own
    events += kb.type_us("5901234123457")
    results = decode(KeyDecoder(), events)
    assert [(r.reason, r.length) for r in results if isinstance(r, KeyDrop)] == [
        ("key events lost by the kernel (SYN_DROPPED)", 5)
    ]
    assert texts(results) == ["5901234123457"]


def test_a_scanner_programmed_for_arabic_101_sends_aim_ids_through_it():
    # Programmed for the Arabic keyboard, a scanner types "]" as Shift+D (where Arabic 101 has
    # it) and a Latin letter, which Arabic 101 lacks, as an Alt + keypad code.
    kb = Keyboard()
    events = kb.press(E.KEY_D, shift=True)
    events += kb.alt_code("069")
    events += kb.type_us("05901234123457")
    assert texts(decode(KeyDecoder("ar"), events)) == ["]E05901234123457"]
    assert texts(decode(KeyDecoder("us"), events)) == ["DE05901234123457"]
