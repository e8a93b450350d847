"""Slips for the printing tests: one sale with a member, points and two coupons issued."""

from __future__ import annotations

import datetime as dt

from loyalty.cards.numbers import luhn_check_digit
from pos_agent.printer import Slip, SlipCoupon, SlipLine, Store, mask_card

CARD = "987100004242123" + luhn_check_digit("987100004242123")  # a programme number
TEST_PAN = "4111111111111111"  # the Visa test number: a payment card
SIGNED = "LC1.eyJraWQiOiJrMSIsImNvZGUiOiI3S1EyTTlYRDRSV1YifQ.c2lnbmF0dXJlLW9mLTY0LWJ5dGVz"
QR_CODE, BAR_CODE = "7KQ2M9XD4RWV", "8ABCDEFGHJKJ"  # valid check symbols
AT = dt.datetime(2026, 11, 23, 2, 30, tzinfo=dt.UTC)  # 06:30 in Dubai

NAMES = {
    "en": ("Al Noor Market", "Sheikh Zayed Rd, Dubai", ["Milk 1L", "Dates, Khalas 500 g"]),
    "ar": ("سوق النور", "شارع الشيخ زايد، دبي", ["حليب طازج", "تمر خلاص"]),
    "fa": ("فروشگاه نور", "خیابان ولیعصر، تهران", ["شیر پاستوریزه", "خرما گچساران"]),
}


def make_slip(language: str = "en", *, currency: str = "AED", coupons: bool = True,
              **overrides: object) -> Slip:
    name, address, items = NAMES[language]
    fields: dict[str, object] = dict(
        store=Store(name, "Asia/Dubai", address),
        till="T-03",
        at=AT,
        currency=currency,
        lines=[SlipLine(items[0], 2, 1250), SlipLine(items[1], 1, 899)],
        subtotal_minor=2149,
        coupon_discount_minor=300,
        redeemed_value_minor=500,
        payable_minor=1349,
        masked_card=mask_card(CARD),
        points_earned=13,
        points_redeemed=500,
        balance=1240,
        coupons=[SlipCoupon(QR_CODE, SIGNED), SlipCoupon(BAR_CODE)] if coupons else [],
        language=language,
    )
    fields.update(overrides)
    return Slip(**fields)  # type: ignore[arg-type]
