"""The "why did I get this?" sentence in en/ar/fa from the catalogues, and served with a
campaign coupon through the coupon API (issue 9, section 7, "Explanation")."""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po

from loyalty.campaigns import explain as explain_module
from loyalty.campaigns.explain import explain
from loyalty.coupons.models import OfferKind
from loyalty.coupons.services import Offer, issue_coupon
from tests.catalogues import assert_compiled, placeholders
from tests.factories import StaffDesk, make_member, make_store

CATALOGUES = explain_module.TRANSLATIONS


def test_each_kind_says_why_in_english():
    cases = {
        "win_back": ({"recency_days": 120, "frequency": 3},
                     "Your last visit was 120 days ago: we would like to see you again."),
        "cross_sell": ({"bought_category": "Dairy", "offer_category": "Bakery"},
                       "You often buy Dairy, and we think you will like Bakery too."),
        "up_sell": ({"average_basket_minor": 9000, "min_spend_minor": 10000, "currency": "AED"},
                    "Your usual basket is about 90.00 AED: spend 100.00 AED or more in one "
                    "visit to use this offer."),
        "birthday": ({"birthday": "03-14"}, "Happy birthday! This is our gift for your birthday."),
        "targeted": ({"recency_days": 3, "segment": "Champions", "tier": "gold"},
                     "You got this offer because your last visit was 3 days ago, and you are "
                     "among our \"Champions\" shoppers, and you are a gold member."),
    }
    for kind, (values, sentence) in cases.items():
        assert explain({"kind": kind, "rule": None, "values": values}, "en") == sentence


def test_a_churn_score_or_a_gender_is_never_read_back_to_the_member():
    retention = explain({"kind": "retention", "values": {"p_alive": 0.12}}, "en")
    assert "0.12" not in retention and retention.startswith("Thank you")
    targeted = explain({"kind": "targeted", "values": {"gender": "female", "p_alive": 0.3}},
                       "en")
    assert targeted == ("You got this offer because you are in the group of members it is "
                        "for.")


@pytest.mark.parametrize("language", ["ar", "fa"])
def test_the_sentence_is_in_the_members_language(language):
    explanation = {"kind": "cross_sell", "values": {"bought_category": "Dairy",
                                                    "offer_category": "Bakery"}}
    sentence = explain(explanation, language)
    english = explain(explanation, "en")
    assert sentence != english and "Dairy" in sentence and "Bakery" in sentence
    assert re.search(r"[\u0600-\u06FF]", sentence)  # Arabic script
    assert explain(explanation, f"{language}-XX") == sentence  # a region falls back
    assert explain(explanation, "de") == english  # no catalogue: English
    segment = explain({"kind": "targeted", "values": {"segment": "Champions"}}, language)
    assert "Champions" not in segment  # segment names are translated too


def test_missing_values_say_less_and_never_fail():
    for explanation in (None, {}, {"kind": "win_back"}, {"kind": "up_sell", "values": {}},
                        {"kind": "no such kind"}, {"kind": "cross_sell", "values": []}):
        assert explain(explanation, "fa")  # type: ignore[arg-type]


@pytest.mark.parametrize("language", ["ar", "fa"])
def test_every_text_is_translated_with_itsplaceholders(language):
    with open(CATALOGUES / language / "LC_MESSAGES" / "campaigns.po", "rb") as f:
        catalog = read_po(f)
    with open(CATALOGUES / "campaigns.pot", "rb") as f:
        template = read_po(f)
    assert {m.id for m in catalog if m.id} == {m.id for m in template if m.id}
    for message in catalog:
        if message.id:
            assert message.string, message.id
            assert placeholders(message.string) == placeholders(message.id), message.id


def test_the_compiled_catalogues_match_their_sources():
    for language in ("ar", "fa"):
        assert_compiled(CATALOGUES / language / "LC_MESSAGES" / "campaigns.po")


def test_the_coupon_api_serves_the_explanation_and_the_why_in_the_members_language(
        client, db, settings):
    desk = StaffDesk(db, make_store(db))
    person, _card = make_member(db, settings, name="Rana", language="fa")
    explanation = {"kind": "win_back", "rule": None, "parameters": {"lapsed_days": 90},
                   "values": {"recency_days": 120, "frequency": 3}}
    coupon = issue_coupon(db, person.id, Offer(kind=OfferKind.PERCENT_OFF, percent=10),
                          staff_id=None, actor="test")
    coupon.explanation = explanation
    by_hand = issue_coupon(db, person.id, Offer(kind=OfferKind.PERCENT_OFF, percent=5),
                           staff_id=None, actor="test")
    db.commit()
    marketer = desk("marketer")
    one = client.get(f"/api/v1/coupons/{coupon.code}", headers=marketer)
    assert one.status_code == 200, one.json
    assert one.json["explanation"] == explanation
    assert one.json["why"] == explain(explanation, "fa") and "120" in one.json["why"]
    listed = {c["code"]: c for c in client.get(f"/api/v1/coupons?member_id={person.id}",
                                               headers=marketer).json}
    assert listed[coupon.code]["why"] == one.json["why"]
    assert listed[by_hand.code]["explanation"] is None and listed[by_hand.code]["why"] is None
