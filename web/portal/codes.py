"""One-time codes leave through the messaging slice's transports (SMTP, the SMS provider, or
the log transport where neither is configured), at once and in the member's language: a
code is no campaign, so it waits for no quiet hours and no worker."""

from __future__ import annotations

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from loyalty.accounts.models import CodePurpose
from loyalty.accounts.services import Contact, IssuedCode
from loyalty.members.models import Channel
from loyalty.messaging.models import MessageChannel
from loyalty.messaging.tasks import transports_for
from loyalty.messaging.transports import Outgoing

CODE_MESSAGE_OFFSET = 1_000_000_000  # keeps a code's Message-ID apart from campaign messages'


def send_code(contact: Contact, issued: IssuedCode, purpose: CodePurpose, language: str) -> None:
    """Send the code; raises the transport's :class:`DeliveryError` if it could not."""
    settings = current_app.extensions["loyalty.settings"]
    channel = MessageChannel.EMAIL if contact.channel is Channel.EMAIL else MessageChannel.SMS
    with force_locale(language):
        subject = _subject(purpose)
        text = _("Your code is %(code)s. It works once, for 10 minutes. If you did not ask "
                 "for it, ignore this message.", code=issued.code)
    outgoing = Outgoing(message_id=CODE_MESSAGE_OFFSET + issued.id, channel=channel,
                        to=contact.address, language=language, subject=subject, body=text,
                        sms=text)
    transports_for(settings)[channel].send(outgoing)


def _subject(purpose: CodePurpose) -> str:
    if purpose is CodePurpose.VERIFY:
        return _("Confirm your email for Oasis Markets")
    if purpose is CodePurpose.RESET:
        return _("Reset your Oasis Markets password")
    return _("Your Oasis Markets sign-in code")
