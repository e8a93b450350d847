"""Bearer tokens: 192 random bits, shown once, stored only as a SHA-256 hash.

A hash (not argon2) is right here: the token is long and random, so it cannot be guessed from
its hash, and the lookup on every request must be a single indexed equality.
"""

from __future__ import annotations

import hashlib
import secrets

TOKEN_BYTES = 24  # 192 bits, above the 128 the design asks for


def new_token(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(TOKEN_BYTES)}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
