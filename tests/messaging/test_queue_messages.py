"""Messages queued in bulk (``queue_messages``, a campaign's coupons) follow the same rules as
one ``send_message``: a matrix of members through both, compared field by field."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy import literal, select

from loyalty.baskets.models import Basket
from loyalty.db import utcnow
from loyalty.errors import InvalidInput
from loyalty.members.models import Member
from loyalty.members.services import record_consent
from loyalty.messaging.models import Message
from loyalty.messaging.services import queue_messages, send_message
from loyalty.outbox.models import OutboxMessage
from tests.factories import make_store

FIELDS = ("channel", "status", "language", "last_error", "store_id", "template", "context")


def _members(db) -> list[int]:  # type: ignore[no-untyped-def]
    """Every combination of channel, consent (granted, withdrawn, none), address, language and
    a last basket (which names the store)."""
    store = make_store(db)
    ids = []
    combos = itertools.product(("email", "sms"), ("granted", "withdrawn", "none"),
                               (True, False), ("fa-IR", "en", "de"), (True, False))
    for n, (channel, consent, address, language, shopped) in enumerate(combos):
        member = Member(name=f"M{n}", language=language, preferred_channel=channel,
                        email=f"m{n}@example.net" if address else None,
                        phone=f"+9715{n:08d}" if address else None)
        db.add(member)
        db.flush()
        if consent != "none":
            record_consent(db, member.id, channel, True, "marketing-1", source="staff")
        if consent == "withdrawn":
            record_consent(db, member.id, channel, False, "marketing-1", source="portal",
                           at=utcnow() + dt.timedelta(seconds=1))
        if shopped:
            db.add(Basket(store_id=store.id, member_id=member.id, currency="AED",
                          subtotal_minor=100, payable_minor=100, occurred_at=utcnow()))
        ids.append(member.id)
    db.flush()
    return ids


def _fields(message: Message) -> tuple:
    return tuple(str(v) if k in ("channel", "status") else v
                 for k, v in ((f, getattr(message, f)) for f in FIELDS))


@pytest.fixture
def db(sessions):  # type: ignore[no-untyped-def]
    """A plain session: nothing here is meant to be delivered."""
    with sessions() as session:
        yield session
        session.rollback()


@pytest.mark.parametrize("channel", [None, "wallet", "email"])
def test_bulk_queueing_decides_as_send_message_does_member_by_member(db, channel):
    members = _members(db)
    context = {"offer": "-10%", "code": "ABCD", "expires": "2027-01-31"}
    one_by_one = {m: _fields(send_message(db, m, "coupon_offer", context, "campaign:1",
                                          channel=channel)) for m in members}
    recipients = select(Member.id.label("member_id"), literal("-10%").label("offer"),
                        literal("ABCD").label("code"), literal("2027-01-31").label("expires")
                        ).where(Member.id.in_(members))
    queued = queue_messages(db, "coupon_offer", recipients, "campaign:2", channel=channel)
    bulk = {m.member_id: _fields(m) for m in db.scalars(
        select(Message).where(Message.idempotency_key == "coupon_offer:campaign:2"))}
    assert bulk == one_by_one
    statuses = {f[1] for f in bulk.values()}
    assert statuses == ({"queued"} if channel == "wallet" else {"queued", "suppressed"})
    # The queued ones, and only they, go to the worker in one outbox row.
    batch = db.scalars(select(OutboxMessage).where(
        OutboxMessage.task_name == "messaging.deliver_batch")).one()
    ids = db.scalars(select(Message.id).where(
        Message.idempotency_key == "coupon_offer:campaign:2", Message.status == "queued"))
    assert sorted(batch.payload["message_ids"]) == sorted(ids) == queued


def test_bulk_queueing_twice_queues_nothing_more(db):
    members = _members(db)[:6]
    recipients = select(Member.id.label("member_id"), literal("x").label("offer"),
                        literal("C").label("code"), literal("d").label("expires")
                        ).where(Member.id.in_(members))
    first = queue_messages(db, "coupon_offer", recipients, "campaign:5", channel="wallet")
    again = queue_messages(db, "coupon_offer", recipients, "campaign:5", channel="wallet")
    assert len(first) == 6 and again == []
    assert len(db.scalars(select(Message)).all()) == 6


def test_bulk_queueing_refuses_a_recipients_select_without_the_templates_values(db):
    recipients = select(Member.id.label("member_id"), literal("x").label("offer"))
    with pytest.raises(InvalidInput, match="code, expires"):
        queue_messages(db, "coupon_offer", recipients, "campaign:5")
    with pytest.raises(InvalidInput):
        queue_messages(db, "coupon_offer", recipients, " ", channel="pigeon")
