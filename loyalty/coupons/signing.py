"""Signed coupon payloads (Ed25519), so a till can check a coupon's QR code offline.

The QR code of a coupon holds compact text::

    LC1.<base64url(JSON claims)>.<base64url(Ed25519 signature)>

``LC1`` names the format (loyalty coupon, version 1) so a scanner can tell a coupon from a
card or a product at a glance.  The signature covers the ASCII bytes ``LC1.<claims>``, exactly
as they appear, so a verifier never re-serialises JSON.  base64url is written without padding.

The claims (short keys, because a QR code grows with every byte)::

    {"kid": "...",            # key id: which programme key signed it (for key rotation)
     "code": "7KQ2M9XD4RWC",  # the coupon code, canonical form
     "member": 12,            # the member it was issued to
     "offer": {...},          # offer summary: kind and its terms (see services.offer_summary)
     "from": 1767225600,      # valid from, Unix seconds (inclusive)
     "to": 1769904000,        # valid until, Unix seconds (exclusive)
     "store": null}           # the one store it is valid in, or null for every store

This module depends only on the standard library and ``cryptography``, so a till can use
:func:`verify_payload` and :func:`load_public_key` without the back office.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from loyalty.private_files import create_private_file

FORMAT = "LC1"
ALGORITHM = "Ed25519"
MAX_PAYLOAD_CHARS = 2048  # far above a real payload; refuses junk before decoding it
_B64URL = re.compile(r"^[A-Za-z0-9_-]+$")


class BadPayload(ValueError):
    """The text is not a genuine coupon payload: malformed, or its signature does not verify."""


class KeyFileMissing(FileNotFoundError):
    """The configured signing key file does not exist (and may not be made up)."""


@dataclass(frozen=True)
class CouponClaims:
    """What a verified payload says."""

    key_id: str
    code: str
    member_id: int
    offer: dict[str, Any]
    valid_from: dt.datetime
    valid_to: dt.datetime
    store_id: int | None

    def is_valid_at(self, at: dt.datetime) -> bool:
        return self.valid_from <= at < self.valid_to


# --- keys -----------------------------------------------------------------------------------


def load_private_key(path: Path, *, create: bool = False) -> Ed25519PrivateKey:
    """The programme's signing key from a PEM (PKCS#8) file.

    With ``create`` (the embedded default only), a missing file is generated with mode 0600.
    Two processes starting at once agree on one key: the file appears atomically, by a hard
    link that fails if another process linked first.
    """
    if not path.exists():
        if not create:
            raise KeyFileMissing(f"coupon signing key {path} does not exist")
        _create_key_file(path)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return key


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    create_private_file(path, pem)


def write_new_key(path: Path) -> None:
    """Create a new key file for production (``loyalty coupon keygen``); never overwrites."""
    if path.exists():
        raise FileExistsError(f"{path} exists; a new key would invalidate every printed coupon")
    _create_key_file(path)


def public_key_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def public_key_raw(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """A short name for a key: base64url of the first 6 bytes of SHA-256 of the raw key."""
    return _b64encode(hashlib.sha256(public_key_raw(key)).digest()[:6])


def load_public_key(material: Ed25519PublicKey | bytes | str) -> Ed25519PublicKey:
    """A public key from PEM text, 32 raw bytes, or their standard or URL-safe base64."""
    if isinstance(material, Ed25519PublicKey):
        return material
    if isinstance(material, str):
        text = material.strip()
        if text.startswith("-----BEGIN"):
            material = text.encode("ascii")
        else:
            try:
                material = base64.b64decode(
                    text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4),
                    validate=True,
                )
            except (binascii.Error, ValueError) as exc:
                raise ValueError("not a public key: neither PEM nor base64") from exc
    if material.startswith(b"-----BEGIN"):
        key = serialization.load_pem_public_key(material)
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        return key
    if len(material) != 32:
        raise ValueError("a raw Ed25519 public key is 32 bytes")
    return Ed25519PublicKey.from_public_bytes(material)


# --- payloads -------------------------------------------------------------------------------


def sign_payload(
    private_key: Ed25519PrivateKey,
    *,
    code: str,
    member_id: int,
    offer: dict[str, Any],
    valid_from: dt.datetime,
    valid_to: dt.datetime,
    store_id: int | None,
) -> str:
    """The signed text for a coupon's QR code."""
    claims = {
        "kid": key_id(private_key),
        "code": code,
        "member": member_id,
        "offer": offer,
        # Round inwards, so the signed window never exceeds the real one.
        "from": math.ceil(valid_from.timestamp()),
        "to": math.floor(valid_to.timestamp()),
        "store": store_id,
    }
    body = json.dumps(claims, separators=(",", ":"), ensure_ascii=True)
    signed = f"{FORMAT}.{_b64encode(body.encode('ascii'))}"
    return f"{signed}.{_b64encode(private_key.sign(signed.encode('ascii')))}"


def verify_payload(
    public_key: Ed25519PublicKey | bytes | str, text: str, *, at: dt.datetime | None = None
) -> CouponClaims:
    """Check a payload's signature with the programme's public key and return its claims.

    Pure: no clock, no network.  With ``at``, a coupon outside its validity window is refused
    too.  Raises :class:`BadPayload` for anything that is not a genuine, well-formed payload.
    """
    key = load_public_key(public_key)
    body, signature = _split(text)
    try:
        key.verify(_b64decode(signature), f"{FORMAT}.{body}".encode("ascii"))
    except InvalidSignature as exc:
        raise BadPayload("the signature does not verify: forged, altered or another key") from exc
    claims = _claims(_b64decode(body))
    if at is not None and not claims.is_valid_at(at):
        raise BadPayload("the coupon is outside its validity window")
    return claims


def read_claims(text: str) -> CouponClaims:
    """What a payload claims, WITHOUT checking its signature: anyone can write these claims.

    For showing and routing a scan (a till tells the cashier which coupon was read before it
    verifies it); never for deciding that a coupon is genuine, which is :func:`verify_payload`.
    Raises :class:`BadPayload` when the text is not a well-formed payload.
    """
    body, _signature = _split(text)
    return _claims(_b64decode(body))


def _split(text: str) -> tuple[str, str]:
    """The claims and signature parts of a payload, as base64url text."""
    text = text.strip()
    if len(text) > MAX_PAYLOAD_CHARS:
        raise BadPayload("too long to be a coupon payload")
    parts = text.split(".")
    if len(parts) != 3 or parts[0] != FORMAT:
        raise BadPayload(f"not a {FORMAT} coupon payload")
    return parts[1], parts[2]


def _claims(body: bytes) -> CouponClaims:
    # The signature proves we wrote it; these checks guard against our own format drifting.
    try:
        raw = json.loads(body)
        store = raw["store"]
        claims = CouponClaims(
            key_id=str(raw["kid"]),
            code=str(raw["code"]),
            member_id=int(raw["member"]),
            offer=dict(raw["offer"]),
            valid_from=dt.datetime.fromtimestamp(int(raw["from"]), dt.UTC),
            valid_to=dt.datetime.fromtimestamp(int(raw["to"]), dt.UTC),
            store_id=None if store is None else int(store),
        )
    except (KeyError, TypeError, ValueError, RecursionError) as exc:  # JSON nested too deep
        raise BadPayload(f"the claims are incomplete: {exc}") from exc
    return claims


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    if not _B64URL.match(text):
        raise BadPayload("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise BadPayload("not base64url") from exc
