"""Translations with Flask-Babel: English, Arabic and Persian; Arabic and Persian are RTL.

The language is the one asked for with ``?lang=``, else the best match of the browser's
``Accept-Language``, else English.  Catalogues live in ``web/translations`` (``.po`` edited by
translators, ``.mo`` compiled from them and shipped; a test checks the two agree)::

    .venv/bin/pybabel extract -F web/babel.cfg -o web/translations/messages.pot web
    .venv/bin/pybabel update -i web/translations/messages.pot -d web/translations
    .venv/bin/pybabel compile -d web/translations
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flask import Flask, request
from flask_babel import Babel, get_locale

TRANSLATIONS = Path(__file__).parent / "translations"
DEFAULT_LANGUAGE = "en"


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
    return request.accept_languages.best_match(list(LANGUAGES)) or DEFAULT_LANGUAGE


def current_language() -> Language:
    locale = get_locale()
    return LANGUAGES.get(locale.language if locale else DEFAULT_LANGUAGE,
                         LANGUAGES[DEFAULT_LANGUAGE])


def init_i18n(app: Flask) -> None:
    Babel(app, locale_selector=select_language, default_locale=DEFAULT_LANGUAGE,
          default_translation_directories=str(TRANSLATIONS))

    @app.context_processor
    def _language() -> dict[str, object]:
        return {"language": current_language(), "languages": list(LANGUAGES.values())}
