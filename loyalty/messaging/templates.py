"""Message templates, localised through gettext catalogues (domain ``messaging``).

The English text below is the msgid; translations live in ``loyalty/messaging/translations``
(``.po`` edited by translators, ``.mo`` compiled from them and shipped; a test checks they agree)::

    .venv/bin/pybabel extract -k N_ --no-location --omit-header \
        -o loyalty/messaging/translations/messaging.pot loyalty/messaging
    .venv/bin/pybabel update -D messaging -i loyalty/messaging/translations/messaging.pot \
        -d loyalty/messaging/translations
    .venv/bin/pybabel compile -D messaging -d loyalty/messaging/translations

Babel's ``support.Translations`` is used directly: the domain core stays free of Flask.
Placeholders are ``%(name)s`` style; every template gets ``name`` (the member's) and the keys in
its ``needs``, which :func:`check_context` verifies before a message is queued.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from babel.support import NullTranslations, Translations
from sqlalchemy import ColumnElement, case, func, or_

from loyalty.errors import InvalidInput

TRANSLATIONS = Path(__file__).parent / "translations"
DOMAIN = "messaging"
LANGUAGES = ("en", "ar", "fa")
DEFAULT_LANGUAGE = "en"
RTL_LANGUAGES = frozenset({"ar", "fa"})


def N_(text: str) -> str:  # noqa: N802 - the gettext marker pybabel looks for
    """Mark ``text`` for extraction; it is translated when a message is rendered."""
    return text


@dataclass(frozen=True)
class Template:
    subject: str
    body: str  # email
    sms: str
    needs: frozenset[str]


TEMPLATES: dict[str, Template] = {
    "coupon_offer": Template(
        subject=N_("%(name)s, a coupon for you"),
        body=N_("Hello %(name)s,\n\nA coupon is waiting for you: %(offer)s.\n"
                "Show the code %(code)s at the till before %(expires)s.\n"),
        sms=N_("%(name)s: %(offer)s with code %(code)s until %(expires)s."),
        needs=frozenset({"offer", "code", "expires"}),
    ),
    "birthday": Template(
        subject=N_("Happy birthday, %(name)s!"),
        body=N_("Happy birthday, %(name)s!\n\nA gift from us: %(offer)s.\n"
                "Show the code %(code)s at the till before %(expires)s.\n"),
        sms=N_("Happy birthday, %(name)s! A gift: %(offer)s, code %(code)s."),
        needs=frozenset({"offer", "code", "expires"}),
    ),
    "welcome": Template(
        subject=N_("Welcome, %(name)s"),
        body=N_("Welcome, %(name)s!\n\nYour card earns points on every visit.\n"),
        sms=N_("Welcome, %(name)s! Your card earns points on every visit."),
        needs=frozenset(),
    ),
}

# Short texts of the unsubscribe page and the email footer.
UNSUBSCRIBE_FOOTER = N_("To stop these emails: %(url)s")
UNSUBSCRIBE_QUESTION = N_("Stop marketing messages by %(channel)s?")
UNSUBSCRIBE_BUTTON = N_("Unsubscribe")
UNSUBSCRIBE_DONE = N_("You will receive no more marketing messages by %(channel)s.")
CHANNEL_NAMES = {"email": N_("email"), "sms": N_("text message")}


@dataclass(frozen=True)
class Rendered:
    language: str
    subject: str
    body: str
    sms: str


def message_language(requested: str | None) -> str:
    """The member's language if we have a catalogue for it ("fa-IR" reads as "fa"), else English."""
    base = (requested or "").split("-")[0].lower()
    return base if base in LANGUAGES else DEFAULT_LANGUAGE


def message_language_sql(requested: Any) -> ColumnElement[str]:
    """:func:`message_language` as a SQL expression over a language column, for messages
    queued in bulk (:func:`loyalty.messaging.services.queue_messages`)."""
    lowered = func.lower(requested)
    return case(
        *[(or_(lowered == code, lowered.like(f"{code}-%")), code) for code in LANGUAGES],
        else_=DEFAULT_LANGUAGE,
    )


@cache
def translations(language: str) -> NullTranslations:
    if language == DEFAULT_LANGUAGE:
        return NullTranslations()
    return Translations.load(str(TRANSLATIONS), [language], DOMAIN)


def gettext(language: str, text: str) -> str:
    return translations(message_language(language)).ugettext(text)


def get_template(name: str) -> Template:
    template = TEMPLATES.get(name)
    if template is None:
        raise InvalidInput(f"unknown message template {name!r}", code_hint="unknown_template")
    return template


def check_context(name: str, context: Mapping[str, object]) -> None:
    """InvalidInput unless ``context`` gives every placeholder of template ``name`` a scalar."""
    template = get_template(name)
    missing = template.needs - set(context)
    if missing:
        raise InvalidInput(f"template {name!r} needs {', '.join(sorted(missing))}",
                           code_hint="incomplete_template_context")
    for key, value in context.items():
        if not isinstance(value, str | int):
            raise InvalidInput(f"template context {key!r}: a string or a number, please")


def render(name: str, language: str, member_name: str, context: Mapping[str, object]) -> Rendered:
    template = get_template(name)
    language = message_language(language)
    values = {**context, "name": member_name}
    return Rendered(
        language=language,
        subject=gettext(language, template.subject) % values,
        body=gettext(language, template.body) % values,
        sms=gettext(language, template.sms) % values,
    )
