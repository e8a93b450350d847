from loyalty.cards.numbers import looks_like_payment_card, luhn_valid
from tests.factories import make_member, make_store


def test_openapi_served(client):
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200
    assert resp.json["info"]["title"] == "Loyalty back office"


def test_enrolled_member_gets_programme_card(db, settings):
    make_store(db)
    member, card = make_member(db, settings, phone="+971501234567")
    db.commit()
    assert member.phone == "+971501234567"
    assert card.number.startswith(settings.card_prefix) and luhn_valid(card.number)
    assert not looks_like_payment_card(card.number)
    assert looks_like_payment_card("4111 1111 1111 1111")
