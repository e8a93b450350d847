"""Till tokens: 192 random bits, shown once, only a SHA-256 hash kept, revocable."""

from __future__ import annotations

import base64
import hashlib

from sqlalchemy import select

from loyalty.auth.tokens import new_token
from loyalty.db import Base
from loyalty.stores.models import Till
from tests.factories import auth, invoke_cli

QUOTE = "/api/v1/checkouts/quote"  # a till may call it: {} is 422 when the token is good


def _random_part(token: str) -> bytes:
    prefix, _, body = token.partition("_")
    assert prefix in {"till", "staff"}
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))


def test_a_till_token_carries_192_random_bits():
    tokens = [new_token("till") for _ in range(256)]
    raw = [_random_part(t) for t in tokens]
    assert {len(r) for r in raw} == {24}  # 192 bits; the design asks for at least 128
    assert len(set(tokens)) == len(tokens)
    # Every one of the 192 bit positions takes both values across the sample: none is fixed
    # (a constant bit shows up here with probability 2**-255).
    as_ints = [int.from_bytes(r, "big") for r in raw]
    ones = ~0
    zeros = ~0
    for value in as_ints:
        ones &= value
        zeros &= ~value
    full = (1 << 192) - 1
    assert ones & full == 0 and zeros & full == 0


def _every_value_in_the_database(db) -> str:  # type: ignore[no-untyped-def]
    db.expire_all()
    dump = []
    for table in Base.metadata.sorted_tables:
        for row in db.execute(select(table)):
            dump.extend(str(value) for value in row)
    db.commit()  # end the read (SQLite: BEGIN IMMEDIATE holds the write lock)
    return "\n".join(dump)


def test_only_the_sha256_of_a_till_token_is_stored(app, client, db, chain):
    result = invoke_cli(app, ["till", "add", "DXB", "lane 1"])
    token = result.stdout.strip()
    stored = db.scalar(select(Till.token_hash).where(Till.name == "lane 1"))
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    everything = _every_value_in_the_database(db)
    assert stored in everything  # the dump does see the till row
    assert token not in everything
    assert token.partition("_")[2] not in everything
    assert client.post(QUOTE, json={}, headers=auth(token)).status_code == 422


def test_a_revoked_till_token_gets_401_and_the_till_is_kept(app, client, db, chain):
    token = chain.token("till")
    assert client.post(QUOTE, json={}, headers=auth(token)).status_code == 422
    till = db.scalar(select(Till))
    db.commit()
    assert invoke_cli(app, ["till", "revoke", str(till.id)]).exit_code == 0
    refused = client.post(QUOTE, json={}, headers=auth(token))
    assert (refused.status_code, refused.json["code"]) == (401, "unauthorized")
    db.expire_all()
    assert db.get(Till, till.id).revoked_at is not None  # kept, for the audit trail
