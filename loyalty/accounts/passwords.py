"""The password rule for member accounts: 8 to 128 characters, not a common password.

The list of common passwords is the 30,000 most frequent in leaked-password corpora, as
bundled by the ``zxcvbn`` package (its ``passwords`` frequency list): no network, no file of
our own to keep current.  Compared case-insensitively and with spaces around trimmed, so
"Password1 " is refused as "password1" would be.
"""

from __future__ import annotations

from functools import cache

from zxcvbn.frequency_lists import FREQUENCY_LISTS

from loyalty.errors import InvalidInput

MIN_LENGTH = 8
MAX_LENGTH = 128  # room for passphrases; argon2 hashes any length in the same time


@cache
def _common() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"])


def is_common(password: str) -> bool:
    return password.strip().casefold() in _common()


def check_password(password: str) -> None:
    """Raise :class:`InvalidInput` (``weak_password``) for a password the rule refuses."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise InvalidInput(f"a password has {MIN_LENGTH} to {MAX_LENGTH} characters",
                           code_hint="password_length")
    if "\x00" in password:
        raise InvalidInput("a password cannot hold a NUL character", code_hint="password_length")
    if is_common(password):
        raise InvalidInput("this password is on the list of common passwords",
                           code_hint="common_password")
