"""Translations with Flask-Babel: English, Arabic and Persian; Arabic and Persian are RTL.

The language of a page is, first to last: the one asked for with ``?lang=`` (remembered in the
``lang`` cookie for a year), the one remembered in that cookie, the signed-in member's
preferred language, the best match of the browser's ``Accept-Language``, English.  A member
signing in has the cookie set to their preferred language.

Numbers, money and dates are formatted by Babel for the page's locale (separators, symbols,
patterns), then written in the digits that locale uses by default in CLDR: Babel picks the
numbering system's symbols but leaves the digits Latin, so :func:`native_digits` swaps them.
Persian digits for ``fa``; for Arabic, CLDR's ``ar`` writes Latin digits as the Gulf does, and
``LOYALTY_ARABIC_REGION`` (e.g. ``SA``, ``EG``) picks a region whose locale writes Arabic-Indic
ones.  Persian pages give dates in the Persian (Solar Hijri)
calendar, by ``persiantools`` (pure Python, no dependencies, Persian month names and digits;
Babel formats Gregorian dates only), with the Gregorian date beside it in the ``title``.

Catalogues live in ``web/translations`` (``.po`` edited by translators, ``.mo`` compiled from
them and shipped; tests/web/test_catalogues.py checks every message is in both)::

    .venv/bin/pybabel extract -F web/babel.cfg -o web/translations/messages.pot web
    .venv/bin/pybabel update -i web/translations/messages.pot -d web/translations
    .venv/bin/pybabel compile -d web/translations
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from flask import Flask, Response, current_app, g, request
from flask_babel import Babel, get_locale
from markupsafe import Markup, escape
from persiantools.jdatetime import JalaliDate

from loyalty.money import minor_per_unit

TRANSLATIONS = Path(__file__).parent / "translations"
DEFAULT_LANGUAGE = "en"
LANGUAGE_COOKIE = "lang"
PAGE_BLUEPRINTS = ("pages", "portal")  # the pages for people (not the API)
_COOKIE_SECONDS = 365 * 24 * 3600


@dataclass(frozen=True)
class Language:
    code: str
    name: str  # in its own script: a reader finds their language without reading ours
    direction: str  # "ltr" or "rtl"


LANGUAGES = {
    lang.code: lang
    for lang in (
        Language("en", "English", "ltr"),
        Language("ar", "العربية", "rtl"),
        Language("fa", "فارسی", "rtl"),
    )
}


def select_language() -> str:
    asked = request.args.get("lang", "")
    if asked in LANGUAGES:
        return asked
    remembered = request.cookies.get(LANGUAGE_COOKIE, "")
    if remembered in LANGUAGES:
        return remembered
    member_language = g.get("member_language")  # set by the portal for a signed-in member
    if member_language in LANGUAGES:
        return member_language
    return request.accept_languages.best_match(list(LANGUAGES)) or DEFAULT_LANGUAGE


def current_language() -> Language:
    locale = get_locale()
    return LANGUAGES.get(locale.language if locale else DEFAULT_LANGUAGE,
                         LANGUAGES[DEFAULT_LANGUAGE])


def remember_language(response: Response, code: str) -> None:
    if code in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, code, max_age=_COOKIE_SECONDS, httponly=True,
                            samesite="Lax",
                            secure=current_app.config.get("SESSION_COOKIE_SECURE", False))


def _formatting_locale() -> str:
    code = current_language().code
    region = current_app.extensions["loyalty.settings"].arabic_region
    return f"ar_{region}" if code == "ar" and region else code


_DIGITS = {  # CLDR numbering systems whose digits are not Latin, as str.translate tables
    "arab": str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"),
    "arabext": str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"),
}


@cache
def _digits_of(locale: str) -> dict[int, str] | None:
    return _DIGITS.get(Locale.parse(locale).default_numbering_system)


def native_digits(text: str, locale: str) -> str:
    table = _digits_of(locale)
    return text.translate(table) if table else text


def number(value: int | Decimal) -> str:
    locale = _formatting_locale()
    return native_digits(format_decimal(value, locale=locale, numbering_system="default"),
                         locale)


def money(amount_minor: int, currency: str) -> str:
    locale = _formatting_locale()
    amount = Decimal(amount_minor) / minor_per_unit(currency)
    return native_digits(format_currency(amount, currency, locale=locale,
                                         numbering_system="default"), locale)


def date(value: dt.datetime | dt.date) -> Markup:
    """A ``<time>`` element: the date for the reader, the ISO date for machines."""
    day = value.date() if isinstance(value, dt.datetime) else value
    locale = _formatting_locale()
    gregorian = native_digits(format_date(day, "medium", locale=locale), locale)
    if current_language().code == "fa":
        shown = native_digits(JalaliDate(day).strftime("%d %B %Y", locale="fa"), locale)
        return Markup('<time datetime="{}" title="{}">{}</time>').format(
            day.isoformat(), gregorian, shown)
    return Markup('<time datetime="{}">{}</time>').format(day.isoformat(), escape(gregorian))


def init_i18n(app: Flask) -> None:
    Babel(app, locale_selector=select_language, default_locale=DEFAULT_LANGUAGE,
          default_translation_directories=str(TRANSLATIONS))
    app.add_template_filter(number, "number")
    app.add_template_filter(money, "money")
    app.add_template_filter(date, "date")

    @app.context_processor
    def _language() -> dict[str, object]:
        return {"language": current_language(), "languages": list(LANGUAGES.values())}

    @app.after_request
    def _remember_asked_language(response: Response) -> Response:
        asked = request.args.get("lang", "")
        if (request.blueprint in PAGE_BLUEPRINTS and asked in LANGUAGES
                and asked != request.cookies.get(LANGUAGE_COOKIE)):
            remember_language(response, asked)
        return response
