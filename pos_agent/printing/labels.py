"""The words printed on a slip, in English, Arabic and Persian.

A small catalogue (key -> text per language) until the lead moves it into gettext: the keys are
stable, the texts are what a translator will see as msgids/msgstrs.  Persian texts use the
Persian letters (ی ک گ پ چ ژ), not their Arabic look-alikes, and avoid the zero-width
non-joiner, which a thermal printer's raster has no use for.
"""

from __future__ import annotations

from typing import Literal

Language = Literal["en", "ar", "fa"]
LANGUAGES: tuple[Language, ...] = ("en", "ar", "fa")
RTL_LANGUAGES = frozenset({"ar", "fa"})

CATALOGUE: dict[str, dict[str, str]] = {
    "till": {"en": "Till", "ar": "الصندوق", "fa": "صندوق"},
    "date": {"en": "Date", "ar": "التاريخ", "fa": "تاریخ"},
    "line": {"en": "{qty} x {name}", "ar": "{qty} × {name}", "fa": "{qty} × {name}"},
    "subtotal": {"en": "Subtotal", "ar": "المجموع الفرعي", "fa": "جمع جزء"},
    "coupon_discount": {"en": "Coupon discount", "ar": "خصم القسائم", "fa": "تخفیف کوپن"},
    "points_value": {"en": "Paid with points", "ar": "مدفوع بالنقاط", "fa": "پرداخت با امتیاز"},
    "total": {"en": "Total", "ar": "الإجمالي", "fa": "مبلغ قابل پرداخت"},
    "card": {"en": "Card", "ar": "البطاقة", "fa": "کارت"},
    "points_earned": {"en": "Points earned", "ar": "النقاط المكتسبة", "fa": "امتیاز دریافتی"},
    "points_redeemed": {"en": "Points redeemed", "ar": "النقاط المستبدلة", "fa": "امتیاز مصرفی"},
    "balance": {"en": "Points balance", "ar": "رصيد النقاط", "fa": "مانده امتیاز"},
    "offline": {
        "en": "Offline sale: points confirmed on sync",
        "ar": "بيع دون اتصال: تؤكد النقاط لاحقا",
        "fa": "فروش بدون اتصال: امتیاز بعدا تایید می شود",
    },
    "coupons_issued": {"en": "Your new coupons", "ar": "قسائمك الجديدة", "fa": "کوپن های جدید شما"},
    "coupon": {"en": "Coupon", "ar": "قسيمة", "fa": "کوپن"},
    "thank_you": {
        "en": "Thank you for shopping with us",
        "ar": "شكرا لتسوقكم معنا",
        "fa": "از خرید شما سپاسگزاریم",
    },
}


def label(key: str, language: str, **values: object) -> str:
    """The text for ``key`` in ``language`` with ``values`` filled in; KeyError if unknown."""
    if language not in LANGUAGES:
        raise ValueError(f"no slip texts for language {language!r}; have {', '.join(LANGUAGES)}")
    text = CATALOGUE[key][language]
    return text.format(**values) if values else text


def is_rtl(language: str) -> bool:
    return language in RTL_LANGUAGES
