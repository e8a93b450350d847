"""Keyboard layouts for keyboard-wedge scanners: Linux key code -> characters, per layout.

evdev hands us key codes *below* the operating system's layout, so the desktop's layout does not
matter.  What matters is the keyboard country the scanner is programmed for: the scanner presses
the keys that, under that layout, type its data.  ``layout`` in a device's config names that
layout, and decoding with the same map gives back what the scanner meant.

- ``us``: US English (101/104 keys), the factory default of nearly every scanner.
- ``ar``: Arabic (101), the standard Windows Arabic layout on a US key bed.  Letter keys type
  Arabic letters (the key that is A on a US keyboard types ش): a scanner left on its US setting
  but decoded as ``ar`` gives Arabic letters for Latin ones, exactly as the cashier's screen
  would show.  A scanner programmed for Arabic 101 presses the keys Arabic 101 has for each
  character (``]`` is Shift+D) and types Latin letters, which it lacks, as Alt + keypad codes;
  decoded as ``ar`` its data comes back exactly.  The digit row and the keypad type ASCII
  digits 0-9 in both layouts, so numeric barcodes (EAN, UPC, card numbers) decode identically
  whatever the setting.  The lam-alef keys type two letters (ل + ا), not a ligature.

Caps lock swaps the plain and shifted character of Latin letter keys only; Arabic letters have
no case, and caps lock does not change them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from evdev import ecodes


@dataclass(frozen=True)
class Key:
    """What one key types: without shift, with shift, and whether caps lock acts on it."""

    plain: str
    shifted: str
    caps: bool = False


Keymap = Mapping[int, Key]


def _code(name: str) -> int:
    return int(ecodes.ecodes[name])


def _build(rows: list[tuple[str, str, str]]) -> dict[int, Key]:
    """Rows of (key name, plain, shifted); Latin letter keys get caps lock, no other key does."""
    keymap: dict[int, Key] = {}
    for name, plain, shifted in rows:
        caps = len(plain) == 1 and plain.isascii() and plain.isalpha()
        keymap[_code(name)] = Key(plain, shifted, caps)
    return keymap


# Keys that type the same thing in every layout: the keypad (scanners assume num lock on) and
# the space bar.
_COMMON: list[tuple[str, str, str]] = [
    *[(f"KEY_KP{d}", str(d), str(d)) for d in range(10)],
    ("KEY_KPDOT", ".", "."),
    ("KEY_KPCOMMA", ",", ","),
    ("KEY_KPMINUS", "-", "-"),
    ("KEY_KPPLUS", "+", "+"),
    ("KEY_KPASTERISK", "*", "*"),
    ("KEY_KPSLASH", "/", "/"),
    ("KEY_KPEQUAL", "=", "="),
    ("KEY_SPACE", " ", " "),
]

_DIGIT_ROW_SHIFTED_US = "!@#$%^&*()"

_US_ROWS: list[tuple[str, str, str]] = [
    ("KEY_GRAVE", "`", "~"),
    *[(f"KEY_{d}", d, s) for d, s in zip("1234567890", _DIGIT_ROW_SHIFTED_US, strict=True)],
    ("KEY_MINUS", "-", "_"),
    ("KEY_EQUAL", "=", "+"),
    *[(f"KEY_{c.upper()}", c, c.upper()) for c in "abcdefghijklmnopqrstuvwxyz"],
    ("KEY_LEFTBRACE", "[", "{"),
    ("KEY_RIGHTBRACE", "]", "}"),
    ("KEY_BACKSLASH", "\\", "|"),
    ("KEY_SEMICOLON", ";", ":"),
    ("KEY_APOSTROPHE", "'", '"'),
    ("KEY_COMMA", ",", "<"),
    ("KEY_DOT", ".", ">"),
    ("KEY_SLASH", "/", "?"),
    *_COMMON,
]

# Arabic (101), Windows "kbda1".  Shift on the digit row mirrors the parentheses: 9 -> ")",
# 0 -> "(", because they are drawn right to left.
_AR_ROWS: list[tuple[str, str, str]] = [
    ("KEY_GRAVE", "\u0630", "\u0651"),  # ذ, shadda
    *[(f"KEY_{d}", d, s) for d, s in zip("1234567890", "!@#$%^&*)(", strict=True)],
    ("KEY_MINUS", "-", "_"),
    ("KEY_EQUAL", "=", "+"),
    ("KEY_Q", "\u0636", "\u064e"),  # ض, fatha
    ("KEY_W", "\u0635", "\u064b"),  # ص, fathatan
    ("KEY_E", "\u062b", "\u064f"),  # ث, damma
    ("KEY_R", "\u0642", "\u064c"),  # ق, dammatan
    ("KEY_T", "\u0641", "\u0644\u0625"),  # ف, lam + alef with hamza below
    ("KEY_Y", "\u063a", "\u0625"),  # غ, alef with hamza below
    ("KEY_U", "\u0639", "\u2018"),  # ع, left single quotation mark
    ("KEY_I", "\u0647", "\u00f7"),  # ه, division sign
    ("KEY_O", "\u062e", "\u00d7"),  # خ, multiplication sign
    ("KEY_P", "\u062d", "\u061b"),  # ح, Arabic semicolon
    ("KEY_LEFTBRACE", "\u062c", "<"),  # ج
    ("KEY_RIGHTBRACE", "\u062f", ">"),  # د
    ("KEY_BACKSLASH", "\\", "|"),
    ("KEY_A", "\u0634", "\u0650"),  # ش, kasra
    ("KEY_S", "\u0633", "\u064d"),  # س, kasratan
    ("KEY_D", "\u064a", "]"),  # ي
    ("KEY_F", "\u0628", "["),  # ب
    ("KEY_G", "\u0644", "\u0644\u0623"),  # ل, lam + alef with hamza above
    ("KEY_H", "\u0627", "\u0623"),  # ا, alef with hamza above
    ("KEY_J", "\u062a", "\u0640"),  # ت, tatweel
    ("KEY_K", "\u0646", "\u060c"),  # ن, Arabic comma
    ("KEY_L", "\u0645", "/"),  # م
    ("KEY_SEMICOLON", "\u0643", ":"),  # ك
    ("KEY_APOSTROPHE", "\u0637", '"'),  # ط
    ("KEY_Z", "\u0626", "~"),  # ئ
    ("KEY_X", "\u0621", "\u0652"),  # ء, sukun
    ("KEY_C", "\u0624", "}"),  # ؤ
    ("KEY_V", "\u0631", "{"),  # ر
    ("KEY_B", "\u0644\u0627", "\u0644\u0622"),  # lam + alef, lam + alef with madda
    ("KEY_N", "\u0649", "\u0622"),  # ى, alef with madda
    ("KEY_M", "\u0629", "\u2019"),  # ة, right single quotation mark
    ("KEY_COMMA", "\u0648", ","),  # و
    ("KEY_DOT", "\u0632", "."),  # ز
    ("KEY_SLASH", "\u0638", "\u061f"),  # ظ, Arabic question mark
    *_COMMON,
]

US: Keymap = MappingProxyType(_build(_US_ROWS))
ARABIC_101: Keymap = MappingProxyType(_build(_AR_ROWS))

LAYOUTS: Mapping[str, Keymap] = MappingProxyType({"us": US, "ar": ARABIC_101})


def keymap(layout: str) -> Keymap:
    """The keymap for a layout name; ValueError naming the known layouts otherwise."""
    try:
        return LAYOUTS[layout]
    except KeyError:
        known = ", ".join(sorted(LAYOUTS))
        raise ValueError(f"unknown keyboard layout {layout!r}; expected one of {known}") from None


# Ctrl + key, by key position (layout-independent, as the scanner's "control character" mode
# sends it): Ctrl+A..Z -> 0x01..0x1A, Ctrl+[ \ ] -> ESC FS GS, Ctrl+^ (shift 6) -> RS,
# Ctrl+_ (shift minus) -> US.  GS is FNC1 in GS1 data.
CONTROL_KEYS: Mapping[int, str] = MappingProxyType(
    {
        **{_code(f"KEY_{c}"): chr(i + 1) for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZ")},
        _code("KEY_LEFTBRACE"): "\x1b",
        _code("KEY_BACKSLASH"): "\x1c",
        _code("KEY_RIGHTBRACE"): "\x1d",
        _code("KEY_6"): "\x1e",
        _code("KEY_MINUS"): "\x1f",
    }
)

KEYPAD_DIGITS: Mapping[int, int] = MappingProxyType({_code(f"KEY_KP{d}"): d for d in range(10)})
