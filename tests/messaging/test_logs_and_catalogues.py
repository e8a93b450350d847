"""What the logs hold (no contact data, no body) and the catalogues' state."""

from __future__ import annotations

import logging
from pathlib import Path

from loyalty.messaging import templates
from loyalty.messaging.models import MessageChannel
from loyalty.messaging.services import send_message
from loyalty.messaging.transports import LogTransport, Outgoing
from tests.catalogues import assert_compiled, placeholders
from tests.messaging.conftest import OFFER, consenting_member

CATALOGUES = Path(templates.__file__).parent / "translations"


def _our_lines(caplog) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(r.getMessage() for r in caplog.records
                     if r.name.startswith(("loyalty", "celery")))


def test_sending_logs_ids_but_no_address_name_or_body(db, settings, smtp, sms_provider, caplog):
    caplog.set_level(logging.DEBUG, logger="loyalty")
    by_email = consenting_member(db, settings, channel="email", name="Rana Karimi",
                                 email="rana@example.net")
    by_sms = consenting_member(db, settings, channel="sms", name="Rana Karimi",
                               phone="+971507654321")
    first = send_message(db, by_email.id, "coupon_offer", OFFER, "campaign:5")
    second = send_message(db, by_sms.id, "coupon_offer", OFFER, "campaign:5")
    db.commit()
    assert smtp[0].received and sms_provider.requests  # both went out

    lines = _our_lines(caplog)
    assert f"message {first.id} (email, attempt 1): sent" in lines
    assert f"message {second.id} (sms, attempt 1): sent" in lines
    for secret in ("rana@example.net", "+971507654321", "Rana", "FRUIT20", "fresh fruit"):
        assert secret not in lines


def test_the_log_transport_says_a_message_went_out_and_nothing_else(caplog):
    caplog.set_level(logging.INFO, logger="loyalty")
    outgoing = Outgoing(41, MessageChannel.SMS, "+971501112223", "en", "Hi Mona", "Hi Mona, body",
                        "Hi Mona, sms")
    assert LogTransport().send(outgoing) == "log-41"
    [line] = [r.getMessage() for r in caplog.records]
    assert line == "message 41 (sms, en) sent by the log transport"


def test_every_template_text_is_translated_in_every_language():
    for language in ("ar", "fa"):
        for name, template in templates.TEMPLATES.items():
            for text in (template.subject, template.body, template.sms):
                translated = templates.gettext(language, text)
                assert translated != text, (language, name, text)
                assert placeholders(translated) == placeholders(text)


def test_the_compiled_catalogues_match_their_sources():
    for language in ("ar", "fa"):
        assert_compiled(CATALOGUES / language / "LC_MESSAGES" / "messaging.po")

