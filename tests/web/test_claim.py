"""Claiming a plastic card: printed in a batch by `loyalty accounts plastic-cards`, used at
the till before anyone claims it, then made the holder's with its number AND printed code."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from loyalty.accounts.plastic import stock_plastic_cards
from loyalty.cards.models import Card
from loyalty.db import utcnow
from loyalty.ledger.models import PostingKind
from loyalty.ledger.services import PostingRequest, earn_points
from loyalty.members.models import Member
from tests.factories import invoke_cli
from tests.web.forms import post_form
from tests.web.members import PASSWORD, last_code


@pytest.fixture
def plastic(db, settings):  # type: ignore[no-untyped-def]
    """One printed card, with 120 points earned at the till before it was claimed."""
    (number, code), = stock_plastic_cards(db, 1, prefix=settings.card_prefix,
                                         length=settings.card_length)
    member_id = db.scalar(select(Card.member_id).where(Card.number == number))
    earn_points(db, PostingRequest(PostingKind.EARN, member_id, 120, utcnow()), 365)
    db.commit()
    return number, code


def _claim(client, number: str, code: str, contact: str = "hala@example.net"):  # type: ignore[no-untyped-def]
    return post_form(client, "/my/claim", {"number": number, "code": code, "name": "Hala Nasser",
                                           "contact": contact, "password": PASSWORD})


def test_the_holder_claims_the_card_and_keeps_its_points(client, db, mailbox, plastic):
    number, code = plastic
    resp = _claim(client, f" {number} ", code.lower().replace("-", ""))  # as people type it
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/my/verify")
    verified = post_form(client, "/my/verify", {"code": last_code(mailbox, "hala@example.net")})
    assert verified.status_code == 302
    page = client.get("/my/?lang=en").get_data(as_text=True)
    assert "Hello, Hala Nasser" in page and number in page
    assert '<span class="value" data-testid="balance">120</span>' in page
    # Claimed once: the same number and code do nothing for anyone else.
    other = client.application.test_client()
    again = _claim(other, number, code, contact="someone@example.net")
    assert again.status_code == 401
    db.expire_all()
    assert db.scalar(select(Card.claim_code_hash).where(Card.number == number)) is None


@pytest.mark.parametrize("which", ["number", "code"])
def test_a_wrong_number_or_code_is_refused_alike(client, db, plastic, mailbox, which):
    number, code = plastic
    wrong_number = number[:-2] + ("00" if number[-2:] != "00" else "11")
    resp = _claim(client, wrong_number if which == "number" else number,
                  "ZZZZ-ZZZZ" if which == "code" else code)
    assert resp.status_code == 401
    assert "do not match a card waiting to be claimed" in resp.get_data(as_text=True)
    assert mailbox.received == []
    assert db.scalar(select(Member.email).where(Member.email.is_not(None))) is None


def test_a_card_enrolled_at_the_desk_cannot_be_claimed(client, db, settings, mailbox):
    from tests.factories import make_member

    _member, card = make_member(db, settings)
    db.commit()
    assert _claim(client, card.number, "ABCD-EFGH").status_code == 401


def test_the_cli_prints_numbers_and_codes_once(app, db):
    result = invoke_cli(app, ["accounts", "plastic-cards", "--count", "3"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert len(rows) == 3 and all(len(r["claim_code"]) == 9 for r in rows)
    stored = set(db.scalars(select(Card.claim_code_hash)))
    assert not {r["claim_code"] for r in rows} & stored  # only hashes are kept
