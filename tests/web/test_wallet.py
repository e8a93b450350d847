"""The coupon wallet: a member's usable coupons with their QR codes and barcodes, which scan;
another member's coupon images are a 404, as for no coupon at all."""

from __future__ import annotations

import io

import zxingcpp
from PIL import Image
from sqlalchemy import select

from loyalty.campaigns.explain import explain
from loyalty.coupons.models import OfferKind
from loyalty.coupons.services import Offer, issue_coupon
from loyalty.coupons.signing import read_claims
from loyalty.members.models import Member
from tests.web.members import join_and_verify


def test_the_wallet_shows_each_coupon_with_images_that_scan(client, app, db, mailbox):
    join_and_verify(client, mailbox, "mariam@example.net")
    member_id = db.scalar(select(Member.id))
    coupon = issue_coupon(db, member_id, Offer(OfferKind.PERCENT_OFF, percent=15),
                          staff_id=None, actor="test")
    code = coupon.code
    db.commit()
    page = client.get("/my/coupons?lang=en").get_data(as_text=True)
    assert "15% off" in page and "Why did I get this?" in page and "staff gave it" in page
    qr = client.get(f"/my/coupons/{code}/qr.png")
    assert qr.status_code == 200 and "no-store" in qr.headers["Cache-Control"]
    payload = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.data)))[0].text
    assert read_claims(payload).code == code  # the signed payload the till verifies offline
    bars = client.get(f"/my/coupons/{code}/barcode.png")
    assert [d.text for d in zxingcpp.read_barcodes(Image.open(io.BytesIO(bars.data)))] == [code]
    persian = client.get("/my/coupons?lang=fa").get_data(as_text=True)
    assert "۱۵% تخفیف" in persian

    other = app.test_client()
    join_and_verify(other, mailbox, "omar@example.net")
    assert other.get(f"/my/coupons/{code}/qr.png").status_code == 404
    assert other.get("/my/coupons/NOT-A-CODE/qr.png").status_code == 404
    assert code not in other.get("/my/coupons").get_data(as_text=True)
    assert app.test_client().get(f"/my/coupons/{code}/barcode.png").status_code == 404


def test_an_empty_wallet_says_so(client, mailbox):
    join_and_verify(client, mailbox, "mariam@example.net")
    assert "No coupons at the moment" in client.get("/my/coupons?lang=en").get_data(as_text=True)


def test_a_campaign_coupon_says_why_in_the_page_language(client, db, mailbox):
    """The wallet's "why did I get this?" is the campaign engine's own sentence, made from
    what was recorded when the coupon was issued (loyalty/campaigns/explain.py)."""
    join_and_verify(client, mailbox, "mariam@example.net")
    member_id = db.scalar(select(Member.id))
    coupon = issue_coupon(db, member_id, Offer(OfferKind.POINTS_MULTIPLIER, multiplier=3),
                          staff_id=None, actor="test")
    coupon.explanation = {"kind": "birthday", "rule": None, "values": {"birthday": "03-14"}}
    db.commit()
    english = client.get("/my/coupons?lang=en").get_data(as_text=True)
    assert "3 times the points" in english
    assert explain(coupon.explanation, "en") in english
    assert "Happy birthday" in english
    persian = client.get("/my/coupons?lang=fa").get_data(as_text=True)
    assert explain(coupon.explanation, "fa") in persian and "۳ برابر امتیاز" in persian
