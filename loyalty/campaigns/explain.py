"""The "why did I get this?" sentence: a campaign coupon's explanation in the member's
language (docs/CAMPAIGNS.md, "Explanations").

The explanation is what issuing recorded on the coupon: the campaign's ``kind``, its ``rule`` and
the member's ``values`` that matched (the audience's labelled columns).  The sentence names only
what a member may be told about themselves: their visits, the categories they buy, their tier,
their birthday, when they joined.  A churn score or a gender is never read back to anyone, even
when a rule used it (the marketer sees the recorded values; the member a kind sentence).

English is the msgid; translations are gettext catalogues in ``loyalty/campaigns/translations``
(domain ``campaigns``), made and compiled like the messaging slice's::

    .venv/bin/pybabel extract -k N_ --no-location --omit-header \
        -o loyalty/campaigns/translations/campaigns.pot loyalty/campaigns/explain.py
    .venv/bin/pybabel update -D campaigns -i loyalty/campaigns/translations/campaigns.pot \
        -d loyalty/campaigns/translations
    .venv/bin/pybabel compile -D campaigns -d loyalty/campaigns/translations

Pure: no session, no flask.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from babel.support import NullTranslations, Translations

from loyalty.messaging.templates import DEFAULT_LANGUAGE, message_language
from loyalty.money import format_money

TRANSLATIONS = Path(__file__).parent / "translations"
DOMAIN = "campaigns"


def N_(text: str) -> str:  # noqa: N802 - the gettext marker pybabel looks for
    return text


# One sentence per kind; %(reasons)s is the targeted kind's list of reasons below.
SENTENCES = {
    "targeted": N_("You got this offer because %(reasons)s."),
    "targeted_plain": N_("You got this offer because you are in the group of members it is "
                         "for."),
    "win_back": N_("Your last visit was %(recency_days)s days ago: we would like to see you "
                   "again."),
    "retention": N_("Thank you for shopping with us: we would like to see you again soon."),
    "cross_sell": N_("You often buy %(bought_category)s, and we think you will like "
                     "%(offer_category)s too."),
    "up_sell": N_("Your usual basket is about %(average)s: spend %(min_spend)s or more in one "
                  "visit to use this offer."),
    "birthday": N_("Happy birthday! This is our gift for your birthday."),
    "anniversary": N_("You joined us a year ago: thank you for your first year with us."),
    "welcome": N_("Welcome! This is our gift for joining us."),
}

# The targeted kind's reasons, one per value a member may be told about.
REASONS = {
    "recency_days": N_("your last visit was %(recency_days)s days ago"),
    "frequency": N_("you have visited us %(frequency)s times"),
    "segment": N_("you are among our \"%(segment)s\" shoppers"),
    "tier": N_("you are a %(tier)s member"),
    "birthday_month": N_("your birthday is in month %(birthday_month)s"),
    "r": N_("of how recently you visited us"),
    "f": N_("of how often you visit us"),
    "m": N_("of how much you buy from us"),
}
SEPARATOR = N_(", and ")

# The RFM segment names (docs/INSIGHT.md), translated when a reason names one.
SEGMENT_NAMES = (
    N_("Champions"), N_("Loyal"), N_("Potential loyalist"), N_("New"), N_("Promising"),
    N_("Need attention"), N_("About to sleep"), N_("At risk"), N_("Can't lose"),
    N_("Hibernating"), N_("Lost"),
)


@cache
def _translations(language: str) -> NullTranslations:
    if language == DEFAULT_LANGUAGE:
        return NullTranslations()
    return Translations.load(str(TRANSLATIONS), [language], DOMAIN)


def explain(explanation: Mapping[str, Any] | None, language: str | None) -> str:
    """The sentence for ``explanation`` in ``language`` (en, ar, fa; anything else: English).

    ``explanation`` is ``{"kind", "rule", "values": {...}}`` as recorded on a coupon (values at
    the top level are read too).  Missing values fall back to the kind's plain sentence.
    """
    gettext = _translations(message_language(language)).ugettext
    explanation = explanation or {}
    values = dict(explanation.get("values") or {})
    values.update({k: v for k, v in explanation.items() if k not in ("kind", "rule", "values",
                                                                        "parameters")})
    kind = str(explanation.get("kind") or "targeted")
    if kind == "targeted":
        return _targeted(values, gettext)
    if kind == "up_sell":
        currency = str(values.get("currency") or "")
        values = {"average": _money(values.get("average_basket_minor"), currency),
                  "min_spend": _money(values.get("min_spend_minor"), currency)}
    sentence = SENTENCES.get(kind)
    if sentence is None:
        return gettext(SENTENCES["targeted_plain"])
    try:
        return gettext(sentence) % values
    except (KeyError, TypeError, ValueError):  # a value missing: say less, never fail
        return gettext(SENTENCES["targeted_plain"])


def _targeted(values: Mapping[str, Any], gettext: Any) -> str:
    reasons = []
    for name, text in REASONS.items():
        value = values.get(name)
        if value is None:
            continue
        if name == "segment":
            value = gettext(str(value))
        reasons.append(gettext(text) % {name: value})
    if not reasons:
        return gettext(SENTENCES["targeted_plain"])
    return gettext(SENTENCES["targeted"]) % {"reasons": gettext(SEPARATOR).join(reasons)}


def _money(amount: Any, currency: str) -> str:
    if isinstance(amount, bool) or not isinstance(amount, int):
        return "?"
    try:
        return format_money(amount, currency) if currency else str(amount)
    except (KeyError, ValueError):
        return str(amount)
