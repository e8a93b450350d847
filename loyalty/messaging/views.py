"""One-click unsubscribe (RFC 8058): ``POST /unsubscribe/<token>`` withdraws the consent.

No sign-in and no CSRF token: the signed token is the authority (it names one member and one
channel and cannot be forged), and mail providers POST ``List-Unsubscribe=One-Click`` from their
own servers.  ``GET`` only shows the page with a button: link scanners fetch every URL in a
mail, and a GET that unsubscribed would unsubscribe members who never clicked.  Repeating the
POST is harmless (no second record), so it needs no rate limit of its own.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Blueprint, Flask, current_app, render_template

from loyalty.config import Settings, SettingsError
from loyalty.http import db_session
from loyalty.members.services import get_member
from loyalty.messaging.services import QuietHours, unsubscribe_member
from loyalty.messaging.templates import (
    CHANNEL_NAMES,
    RTL_LANGUAGES,
    UNSUBSCRIBE_BUTTON,
    UNSUBSCRIBE_DONE,
    UNSUBSCRIBE_QUESTION,
    gettext,
    message_language,
)
from loyalty.messaging.tokens import read_unsubscribe_token

bp = Blueprint("unsubscribe", __name__, url_prefix="/unsubscribe", template_folder="templates")


def init_messaging(app: Flask, settings: Settings) -> None:
    """Check the messaging settings at start-up (not at the first send), add the page."""
    try:
        QuietHours.parse(settings.messaging_quiet_hours)
    except ValueError as exc:
        raise SettingsError("LOYALTY_MESSAGING_QUIET_HOURS: write it as 21:00-08:00") from exc
    try:
        ZoneInfo(settings.messaging_default_timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SettingsError("LOYALTY_MESSAGING_DEFAULT_TIMEZONE: not a time zone") from exc
    app.register_blueprint(bp)


def _page(token: str, done: bool) -> str:
    secret = current_app.extensions["loyalty.settings"].secret_key
    member_id, channel = read_unsubscribe_token(secret, token)
    session = db_session()
    if done:
        unsubscribe_member(session, member_id, channel)
    language = message_language(get_member(session, member_id).language)
    channel_name = gettext(language, CHANNEL_NAMES[channel.value])
    text = UNSUBSCRIBE_DONE if done else UNSUBSCRIBE_QUESTION
    return render_template(
        "messaging/unsubscribe.html", lang=language,
        direction="rtl" if language in RTL_LANGUAGES else "ltr",
        text=gettext(language, text) % {"channel": channel_name},
        button=None if done else gettext(language, UNSUBSCRIBE_BUTTON),
    )


@bp.get("/<token>")
def confirm(token: str) -> str:
    return _page(token, done=False)


@bp.post("/<token>")
def unsubscribe(token: str) -> str:
    return _page(token, done=True)
