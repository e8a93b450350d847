"""Self-service on the portal: reporting a lost card, downloading one's data."""

from __future__ import annotations

import json

from sqlalchemy import select

from loyalty.audit.models import AuditEvent
from loyalty.cards.models import Card, CardStatus
from loyalty.db import utcnow
from loyalty.ledger.models import PostingKind
from loyalty.ledger.services import PostingRequest, earn_points, member_balance
from loyalty.members.models import Member
from tests.web.forms import post_form
from tests.web.members import join_and_verify


def test_a_lost_card_is_blocked_and_replaced_and_the_points_stay(client, db, mailbox):
    join_and_verify(client, mailbox, "mariam@example.net")
    member_id = db.scalar(select(Member.id))
    earn_points(db, PostingRequest(PostingKind.EARN, member_id, 75, utcnow()), 365)
    old = db.scalar(select(Card.number))
    db.commit()
    resp = post_form(client, "/my/card", {}, "/my/card/lost")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/my/card?replaced=1")
    db.expire_all()
    cards = {c.number: c.status for c in db.scalars(select(Card))}
    assert cards.pop(old) is CardStatus.REPLACED
    (new, status), = cards.items()
    assert status is CardStatus.ACTIVE
    db.rollback()  # end the read: SQLite lets one writer in at a time
    page = client.get("/my/card?replaced=1&lang=en").get_data(as_text=True)
    assert new in page and old not in page and "Your old card is blocked" in page
    assert member_balance(db, member_id) == 75


def test_the_data_download_holds_the_members_own_data_and_is_audited(client, app, db, mailbox):
    join_and_verify(client, mailbox, "mariam@example.net", name="Mariam Saleh")
    other = app.test_client()
    join_and_verify(other, mailbox, "omar@example.net", name="Omar Farouk")
    resp = post_form(client, "/my/profile", {}, "/my/data")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    assert "attachment" in resp.headers["Content-Disposition"]
    data = json.loads(resp.data)
    assert data["member"]["name"] == "Mariam Saleh"
    assert data["member"]["email"] == "mariam@example.net"
    assert len(data["cards"]) == 1 and data["points"]["balance"] == 0
    assert "Omar" not in resp.get_data(as_text=True)
    db.expire_all()
    assert db.scalar(select(AuditEvent.action).where(AuditEvent.action == "member.export"))


def test_no_download_and_no_lost_card_without_a_signed_in_member(app):
    stranger = app.test_client()
    assert post_form(stranger, "/my/sign-in", {}, "/my/data").status_code == 302
    assert post_form(stranger, "/my/sign-in", {}, "/my/card/lost").status_code == 302
