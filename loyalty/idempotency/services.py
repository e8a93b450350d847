"""Idempotency keys (DESIGN rule 7).

A till sends an ``Idempotency-Key`` with every mutating call.  The key is *claimed* in its own
short transaction, so a concurrent duplicate sees it at once and gets 409; the *response* is
stored in the same transaction as the effect, so "effect done" and "response remembered" can
never disagree.  If the request fails, the claim is released and the key may be retried.  If
the process dies between claim and commit, the claim goes stale and may be taken over.

A claim is owned by whoever holds its ``claimed_at``: a takeover writes a new one, so the first
owner, merely slow rather than dead, can neither complete the key (:func:`complete_key` refuses
and its effect is rolled back: the sale is recorded once) nor release the new owner's claim.

Outcomes for a key already seen:
  same body, completed      -> the original response, nothing new written
  different body            -> 422 idempotency_key_reused
  same body, still running  -> 409 request_in_flight
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from loyalty.db import is_postgres, unit_of_work, utcnow
from loyalty.errors import IdempotencyKeyReused, InvalidInput, RequestInFlight
from loyalty.idempotency.models import IdempotencyRecord

MAX_KEY_LENGTH = 200

# Every mutating call from a till claims and completes a key: plain statements, built once.
_RECORD = IdempotencyRecord.__table__
_INSERT_CLAIM = insert(_RECORD).returning(_RECORD.c.id, _RECORD.c.claimed_at)
# The claim of a batch's sale, in the sale's own transaction: a key seen before inserts nothing
# (and aborts nothing), and :func:`claim_key` then says what it is.  On PostgreSQL the same
# statement defers the transaction's fsync (set_config(..., true) is SET LOCAL): one round trip
# per sale instead of two.
_CLAIM_NEW_SQL = ("INSERT INTO idempotency_record (scope, key, fingerprint, claimed_at) "
                  "SELECT :scope, :key, :fingerprint, :claimed_at WHERE {deferred} "
                  "ON CONFLICT (scope, key) DO NOTHING RETURNING id, claimed_at")
_CLAIM_NEW = {
    dialect: text(_CLAIM_NEW_SQL.format(deferred=deferred)).bindparams(
        bindparam("claimed_at", type_=_RECORD.c.claimed_at.type))
    .columns(_RECORD.c.id, _RECORD.c.claimed_at)
    for dialect, deferred in (
        ("postgresql", "set_config('synchronous_commit', 'off', true) IS NOT NULL"),
        ("sqlite", "true"),  # WAL with synchronous=NORMAL already (see defer_fsync)
    )
}
# Only the claim's owner completes it, once: a claim taken over has a newer ``claimed_at``.
_OWNED = (_RECORD.c.id == bindparam("record_id"),
          _RECORD.c.claimed_at == bindparam("owner_claimed_at"),
          _RECORD.c.completed_at.is_(None))
_COMPLETE = (update(_RECORD).where(*_OWNED)
             .values(completed_at=bindparam("completed_at"),
                     response_status=bindparam("response_status"),
                     response_body=bindparam("response_body")))


@dataclass(frozen=True)
class Claimed:
    record_id: int
    claimed_at: dt.datetime  # the owner's mark: a takeover replaces it


@dataclass(frozen=True)
class Replay:
    status: int
    body: str


def fingerprint(method: str, path: str, body: bytes) -> str:
    """Stable across key order and whitespace in JSON bodies; a body that is not JSON is
    fingerprinted as its bytes."""
    try:
        value = json.loads(body or b"null")
    except ValueError:
        return _digest(method, path, body)
    return fingerprint_value(method, path, value)


def fingerprint_value(method: str, path: str, value: object) -> str:
    """:func:`fingerprint` of the JSON text of ``value``, without writing and reading it back
    first (a parsed JSON value comes back from that unchanged)."""
    return _digest(method, path, json.dumps(value, sort_keys=True,
                                            separators=(",", ":")).encode())


def _digest(method: str, path: str, canonical: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


def check_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInput(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters")
    return key


def claim_key(
    factory: sessionmaker[Session], scope: str, key: str, print_: str, stale_after: dt.timedelta
) -> Claimed | Replay:
    """Claim ``key`` for ``scope`` in a transaction of its own, or say why not."""
    try:
        with unit_of_work(factory) as session:
            # A claim lost in a crash is harmless (no effect was written with it).
            defer_fsync(session)
            row = session.connection().execute(_INSERT_CLAIM, {
                "scope": scope, "key": key, "fingerprint": print_}).one()
            return Claimed(row.id, row.claimed_at)
    except IntegrityError:
        pass
    with unit_of_work(factory) as session:
        record = session.scalar(
            select(IdempotencyRecord).where(IdempotencyRecord.scope == scope,
                                            IdempotencyRecord.key == key)
        )
        if record is None:  # released between our insert and this read: try once more
            raise RequestInFlight()
        if record.fingerprint != print_:
            raise IdempotencyKeyReused()
        if record.completed_at is not None:
            return Replay(record.response_status or 200, record.response_body or "")
        if record.claimed_at > utcnow() - stale_after:
            raise RequestInFlight()
        # The first attempt died or stalled mid-flight: take the claim over, unless someone else
        # just did.  Should the first attempt wake up, the new claimed_at tells it it lost.
        now = utcnow()
        taken = session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.id == record.id,
                   IdempotencyRecord.claimed_at == record.claimed_at,
                   IdempotencyRecord.completed_at.is_(None))
            .values(claimed_at=now)
        ).rowcount
        if not taken:
            raise RequestInFlight()
        return Claimed(record.id, now)


def claim_new_key(session: Session, scope: str, key: str, print_: str) -> Claimed | None:
    """Claim a key never seen before inside the caller's transaction, that of the effect;
    None for a key seen before (:func:`claim_key` then tells a replay from a conflict).

    The claim commits or vanishes with the effect: nothing to release when it fails, nothing
    left in flight by a crash, and one transaction per sale instead of two.  The price: a
    concurrent duplicate waits for this transaction to end (then replays its answer) instead
    of hearing 409 at once.  So it is for the items of a batch, the till's background replay;
    a till waiting at a lane gets :func:`claim_key`.

    The transaction then commits without waiting for the disk (:func:`defer_fsync`): the
    caller makes it durable (:func:`make_durable`) before anyone is told of it.
    """
    conn = session.connection()
    row = conn.execute(_CLAIM_NEW[conn.dialect.name], {
        "scope": scope, "key": key, "fingerprint": print_, "claimed_at": utcnow()}).first()
    return Claimed(row.id, row.claimed_at) if row else None


def defer_fsync(session: Session) -> None:
    """On PostgreSQL, let this transaction's commit return before its WAL is on disk.

    Use it only where losing the commit in a crash is harmless: a claim (no effect rides on
    it), or an effect nobody has been told of yet, followed by :func:`make_durable` before the
    answer leaves.  The data stays consistent either way (PostgreSQL loses a suffix of the
    WAL, never a part of a transaction).  SQLite runs WAL with synchronous=NORMAL already.
    """
    if is_postgres(session):
        # Straight to the driver: a fixed command, nothing for SQLAlchemy to compile or type.
        session.connection().exec_driver_sql("SET LOCAL synchronous_commit = off")


def make_durable(factory: sessionmaker[Session]) -> None:
    """A durability barrier: after it returns, every commit made before it is on disk.

    On PostgreSQL a transaction that holds a transaction id commits synchronously, flushing the
    WAL up to its commit record, and with it every earlier commit made with deferred fsync.
    """
    with unit_of_work(factory) as session:
        if is_postgres(session):
            session.execute(text("SELECT pg_current_xact_id()"))


def complete_key(session: Session, claim: Claimed, status: int, body: str) -> None:
    """Remember the response, in the same transaction as the effect.

    Raises RequestInFlight when the claim is no longer ours (taken over after going stale, by
    a retry that is writing or has written the same effect): the caller must roll back.
    """
    completed = session.connection().execute(_COMPLETE, {
        "record_id": claim.record_id, "owner_claimed_at": claim.claimed_at,
        "completed_at": utcnow(), "response_status": status, "response_body": body}).rowcount
    if completed != 1:
        raise RequestInFlight("this request's claim on its Idempotency-Key went stale and was "
                              "taken over by a retry; ask again for the retry's answer")


def release_key(factory: sessionmaker[Session], claim: Claimed) -> None:
    """The request failed: forget the claim so the till may retry with the same key (unless
    it was taken over meanwhile: the new owner's claim stays)."""
    with unit_of_work(factory) as session:
        session.connection().execute(delete(_RECORD).where(*_OWNED), {
            "record_id": claim.record_id, "owner_claimed_at": claim.claimed_at})
