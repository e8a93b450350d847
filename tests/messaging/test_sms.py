"""SMS through the HTTP provider adapter, against a local stand-in of the provider."""

from __future__ import annotations

import datetime as dt
import socket

from loyalty.db import unit_of_work, utcnow
from loyalty.messaging.delivery import Unsubscribe, deliver_message
from loyalty.messaging.models import Message, MessageStatus
from loyalty.messaging.services import send_message, sweep_messages
from loyalty.messaging.tasks import sending_policy, transports_for
from tests.messaging.conftest import HANG_UP, OFFER, consenting_member


def _message(db, message_id: int) -> Message:
    db.expire_all()
    message = db.get(Message, message_id)
    db.commit()
    return message


def _sweep_later(app, settings) -> None:
    with unit_of_work(app.extensions["loyalty.db"].session_factory) as session:
        sweep_messages(session, sending_policy(settings), utcnow() + dt.timedelta(hours=2))


def test_an_sms_goes_to_the_provider_in_the_members_language(db, settings, sms_provider):
    member = consenting_member(db, settings, channel="sms", language="ar", name="Omar",
                               phone="+971501234567")
    message = send_message(db, member.id, "birthday", OFFER, "birthday:2027")
    db.commit()

    [(headers, body)] = sms_provider.requests
    assert headers["Authorization"] == "Bearer provider-key"
    assert headers["Idempotency-Key"] == body["reference"] == f"message-{message.id}"
    assert body["to"] == "+971501234567"
    assert body["text"] == "عيد ميلاد سعيد يا Omar! هدية: 20% off fresh fruit، الرمز FRUIT20."
    sent = _message(db, message.id)
    assert (sent.status, sent.provider_id, sent.language) == (MessageStatus.SENT, "sms-1", "ar")


def test_a_500_is_retried_and_the_next_200_sends(db, settings, sms_provider, app):
    sms_provider.answers = [(500, {"error": "busy"})]
    member = consenting_member(db, settings, channel="sms")
    message = send_message(db, member.id, "welcome", {}, "welcome")
    db.commit()
    waiting = _message(db, message.id)
    assert (waiting.status, waiting.last_error) == (MessageStatus.DEFERRED,
                                                    "SMS provider answered 500")
    _sweep_later(app, settings)
    sent = _message(db, message.id)
    assert (sent.status, sent.attempts, sent.provider_id) == (MessageStatus.SENT, 2, "sms-2")
    assert len(sms_provider.requests) == 2


def test_a_429_is_temporary_and_a_400_permanent(db, settings, sms_provider, app):
    sms_provider.answers = [(429, {}), (400, {"error": "bad number"})]
    member = consenting_member(db, settings, channel="sms")
    message = send_message(db, member.id, "welcome", {}, "welcome")
    db.commit()
    assert _message(db, message.id).status is MessageStatus.DEFERRED
    _sweep_later(app, settings)  # second attempt: 400
    _sweep_later(app, settings)  # nothing left to retry
    failed = _message(db, message.id)
    assert (failed.status, failed.attempts) == (MessageStatus.FAILED, 2)
    assert "400" in failed.last_error
    assert len(sms_provider.requests) == 2


def test_a_provider_that_is_down_is_temporary(db, settings, sessions):
    with socket.socket() as probe:  # a port with nobody listening
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/sms"
    member = consenting_member(db, settings, channel="sms")
    db.commit()
    with unit_of_work(sessions) as session:
        message_id = send_message(session, member.id, "welcome", {}, "welcome").id
    settings = settings.__class__(**{**settings.__dict__, "sms_url": dead})
    status = deliver_message(sessions, message_id, transports_for(settings),
                             sending_policy(settings), Unsubscribe("https://x.test", "k"))
    assert status == "deferred"
    assert "unreachable" in _message(db, message_id).last_error


def test_a_provider_that_hangs_up_after_the_request_is_not_asked_again(
    db, settings, sms_provider, app
):
    """It may have taken the message: at most once, so ``unknown`` for review, no resend."""
    sms_provider.answers = [(HANG_UP, {})]
    member = consenting_member(db, settings, channel="sms")
    message = send_message(db, member.id, "welcome", {}, "welcome")
    db.commit()
    _sweep_later(app, settings)
    lost = _message(db, message.id)
    assert (lost.status, lost.attempts) == (MessageStatus.UNKNOWN, 1)
    assert "connection lost" in lost.last_error
    assert len(sms_provider.requests) == 1
