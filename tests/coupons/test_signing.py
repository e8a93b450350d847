"""Signed QR payloads: a till verifies them offline with the public key alone."""

from __future__ import annotations

import base64
import datetime as dt
import json
import stat

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from loyalty.coupons import signing
from loyalty.coupons.signing import BadPayload, verify_payload
from tests.factories import side_by_side

FROM = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
TO = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
OFFER = {"kind": "percent_off", "percent": 10, "category_id": 3}


def _sign(key, **over):  # type: ignore[no-untyped-def]
    terms = dict(code="7KQ2M9XD4RWC", member_id=12, offer=OFFER, valid_from=FROM,
                 valid_to=TO, store_id=None) | over
    return signing.sign_payload(key, **terms)


def test_round_trip_with_the_public_key_alone():
    key = Ed25519PrivateKey.generate()
    text = _sign(key, store_id=4)
    claims = verify_payload(signing.public_key_pem(key), text)
    assert claims.code == "7KQ2M9XD4RWC"
    assert claims.member_id == 12
    assert claims.offer == OFFER
    assert (claims.valid_from, claims.valid_to, claims.store_id) == (FROM, TO, 4)
    assert claims.key_id == signing.key_id(key)


def test_payload_is_compact_text_for_a_qr_code():
    text = _sign(Ed25519PrivateKey.generate())
    prefix, body, sig = text.split(".")
    assert prefix == "LC1"
    assert len(base64.urlsafe_b64decode(sig + "==")) == 64
    assert json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))["member"] == 12
    assert text.isascii() and len(text) < 400


@pytest.mark.parametrize("form", ["pem", "raw", "b64", "b64url", "object"])
def test_public_key_in_every_served_form(form):
    key = Ed25519PrivateKey.generate()
    raw = signing.public_key_raw(key)
    material = {
        "pem": signing.public_key_pem(key), "raw": raw,
        "b64": base64.b64encode(raw).decode(), "b64url": base64.urlsafe_b64encode(raw).decode(),
        "object": key.public_key(),
    }[form]
    assert verify_payload(material, _sign(key)).member_id == 12


def test_altered_claims_do_not_verify():
    key = Ed25519PrivateKey.generate()
    prefix, body, sig = _sign(key).split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["offer"]["percent"] = 90
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(BadPayload, match="signature"):
        verify_payload(key.public_key(), f"{prefix}.{forged}.{sig}")


def test_another_key_does_not_verify():
    with pytest.raises(BadPayload):
        verify_payload(Ed25519PrivateKey.generate().public_key(),
                       _sign(Ed25519PrivateKey.generate()))


@pytest.mark.parametrize("text", ["", "LC1", "LC1.a.b", "XX1.YQ.YQ", "LC1.a b.c", "LC1..",
                                  "LC1.YQ.YQ.YQ", "x" * 5000])
def test_junk_is_refused_cleanly(text):
    with pytest.raises(BadPayload):
        verify_payload(Ed25519PrivateKey.generate().public_key(), text)


def test_claims_are_read_without_a_key_and_without_trust():
    key = Ed25519PrivateKey.generate()
    prefix, body, _sig = _sign(key, store_id=4).split(".")
    claims = signing.read_claims(f"{prefix}.{body}.AAAA")  # any signature: nothing is checked
    assert (claims.code, claims.member_id, claims.store_id) == ("7KQ2M9XD4RWC", 12, 4)
    assert claims == verify_payload(key.public_key(), _sign(key, store_id=4))


@pytest.mark.parametrize("text", ["", "LC1.a.b", "XX1.YQ.YQ", "LC1.a b.c", "LC1.e30.YQ",
                                  "LC1." + "W" * 1500 + ".YQ", "x" * 5000,
                                  "LC1." + base64.urlsafe_b64encode(b"[" * 1500).decode() + ".YQ"])
def test_unreadable_claims_are_refused_cleanly(text):
    with pytest.raises(BadPayload):
        signing.read_claims(text)


def test_validity_checked_when_a_time_is_given():
    key = Ed25519PrivateKey.generate()
    text = _sign(key)
    assert verify_payload(key.public_key(), text, at=FROM).code
    for at in (FROM - dt.timedelta(seconds=1), TO):
        with pytest.raises(BadPayload, match="validity"):
            verify_payload(key.public_key(), text, at=at)


def test_key_file_generated_once_with_mode_0600(tmp_path):
    path = tmp_path / "keys" / "coupon_signing_key.pem"
    first = signing.load_private_key(path, create=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = signing.load_private_key(path, create=True)
    assert signing.key_id(first) == signing.key_id(again)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp files left


def test_concurrent_first_use_agrees_on_one_key(tmp_path):
    path = tmp_path / "coupon_signing_key.pem"
    ids = side_by_side(
        lambda: signing.key_id(signing.load_private_key(path, create=True)), times=8)
    assert len(ids) == 8 and len(set(ids)) == 1


def test_a_named_key_file_is_never_made_up(tmp_path):
    with pytest.raises(signing.KeyFileMissing):
        signing.load_private_key(tmp_path / "absent.pem")
    assert not (tmp_path / "absent.pem").exists()


def test_keygen_never_overwrites(tmp_path):
    path = tmp_path / "k.pem"
    signing.write_new_key(path)
    before = path.read_bytes()
    with pytest.raises(FileExistsError):
        signing.write_new_key(path)
    assert path.read_bytes() == before
