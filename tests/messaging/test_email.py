"""Email through a real SMTP server: what arrives, in whose language, with which headers; and
what happens on temporary and permanent refusals, repeats and a worker that dies mid-send."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from loyalty.db import unit_of_work, utcnow
from loyalty.messaging.delivery import Unsubscribe, deliver_message
from loyalty.messaging.models import Message, MessageStatus
from loyalty.messaging.services import claim_message, send_message, sweep_messages
from loyalty.messaging.tasks import sending_policy, transports_for
from loyalty.messaging.transports import SmtpSettings, SmtpTransport
from loyalty.outbox.models import OutboxMessage
from tests.messaging.conftest import OFFER, consenting_member


def _message(db, message_id: int) -> Message:
    """The row as committed; the read's transaction ends at once (on SQLite every
    transaction holds the write lock, which the worker's transactions need)."""
    db.expire_all()
    message = db.get(Message, message_id)
    db.commit()
    return message


def test_a_coupon_email_arrives_in_the_members_language_with_one_click_unsubscribe(
    db, settings, smtp
):
    handler, _port = smtp
    member = consenting_member(db, settings, channel="email", language="fa",
                               name="Sara Ahmadi", email="sara@example.net")
    message = send_message(db, member.id, "coupon_offer", OFFER, "campaign:7")
    db.commit()  # the outbox relay runs the deliver task after the commit

    [mail] = handler.received
    assert mail["To"] == "sara@example.net"
    assert mail["Subject"] == "Sara Ahmadi، یک کوپن برای شما"
    assert mail["Content-Language"] == "fa"
    assert "کد FRUIT20 را پیش از 2027-01-31" in mail.get_content()
    assert mail["Message-ID"] == f"<message-{message.id}@corner.example>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["List-Unsubscribe"].startswith("<https://loyalty.test/unsubscribe/")
    stored = _message(db, message.id)
    assert (stored.status, stored.attempts, stored.language) == (MessageStatus.SENT, 1, "fa")
    assert stored.provider_id == mail["Message-ID"]


def test_the_same_occasion_twice_sends_one_email(db, settings, smtp):
    handler, _port = smtp
    member = consenting_member(db, settings, channel="email")
    first = send_message(db, member.id, "coupon_offer", OFFER, "campaign:7")
    db.commit()
    again = send_message(db, member.id, "coupon_offer", OFFER, "campaign:7")
    db.commit()
    other = send_message(db, member.id, "coupon_offer", OFFER, "campaign:8")
    db.commit()
    assert again.id == first.id and other.id != first.id
    assert len(handler.received) == 2
    assert db.scalar(select(func.count()).select_from(Message)) == 2


def test_a_temporary_refusal_is_retried_after_the_backoff(db, settings, smtp, app):
    handler, _port = smtp
    handler.refusals = ["451 4.3.0 try again later"]
    member = consenting_member(db, settings, channel="email")
    message = send_message(db, member.id, "welcome", {}, "welcome")
    db.commit()

    waiting = _message(db, message.id)
    assert waiting.status is MessageStatus.DEFERRED and waiting.attempts == 1
    assert "451" in waiting.last_error and not handler.received
    wait = waiting.not_before - utcnow()
    assert dt.timedelta(seconds=50) < wait <= dt.timedelta(seconds=60)

    factory = app.extensions["loyalty.db"].session_factory
    policy = sending_policy(settings)
    with unit_of_work(factory) as session:  # the sweep, before the backoff is over
        assert sweep_messages(session, policy).released == []
    with unit_of_work(factory) as session:  # and after: released, relayed and sent
        assert sweep_messages(session, policy, utcnow() + wait).released == [message.id]
    assert len(handler.received) == 1
    sent = _message(db, message.id)
    assert (sent.status, sent.attempts) == (MessageStatus.SENT, 2)


def test_421_at_the_recipient_is_temporary_and_550_is_permanent(db, settings, smtp):
    handler, _port = smtp
    handler.rcpt_refusals = ["421 4.7.0 too busy", "550 5.1.1 no such mailbox"]
    member = consenting_member(db, settings, channel="email")
    busy = send_message(db, member.id, "welcome", {}, "welcome")
    db.commit()
    refused = send_message(db, member.id, "coupon_offer", OFFER, "campaign:1")
    db.commit()
    assert _message(db, busy.id).status is MessageStatus.DEFERRED
    gone = _message(db, refused.id)
    assert (gone.status, gone.attempts, gone.not_before) == (MessageStatus.FAILED, 1, None)
    assert "550" in gone.last_error
    assert not handler.received


def test_a_permanent_refusal_of_the_content_is_not_retried(db, settings, smtp, app):
    handler, _port = smtp
    handler.refusals = ["554 5.7.1 rejected as spam"]
    member = consenting_member(db, settings, channel="email")
    message = send_message(db, member.id, "welcome", {}, "welcome")
    db.commit()
    factory = app.extensions["loyalty.db"].session_factory
    with unit_of_work(factory) as session:
        tomorrow = utcnow() + dt.timedelta(days=1)
        released = sweep_messages(session, sending_policy(settings), tomorrow)
    assert released.released == []
    assert _message(db, message.id).status is MessageStatus.FAILED
    assert not handler.received


def test_out_of_attempts_a_temporary_failure_becomes_failed(db, settings, smtp, app):
    handler, _port = smtp
    handler.refusals = ["451 4.3.0 later"] * 5
    member = consenting_member(db, settings, channel="email")
    message = send_message(db, member.id, "welcome", {}, "welcome")
    db.commit()
    factory = app.extensions["loyalty.db"].session_factory
    at = utcnow()
    for _ in range(4):
        at += dt.timedelta(hours=2)
        with unit_of_work(factory) as session:
            sweep_messages(session, sending_policy(settings), at)
    gone = _message(db, message.id)
    assert (gone.status, gone.attempts) == (MessageStatus.FAILED, 5)
    assert handler.refusals == [] and not handler.received


def test_a_worker_that_dies_after_sending_never_causes_a_second_email(
    db, settings, smtp, sessions
):
    """Claim, send, then die before recording: the claim stays ``sending``; a redelivered task
    sends nothing; the sweep marks it ``unknown`` for review, never queued again."""
    handler, port = smtp
    member = consenting_member(db, settings, channel="email")
    db.commit()
    policy = sending_policy(settings)
    unsubscribe = Unsubscribe(settings.public_base_url, settings.secret_key)
    with unit_of_work(sessions) as session:  # queued without the app's relay
        message_id = send_message(session, member.id, "welcome", {}, "welcome").id

    from loyalty.messaging.delivery import outgoing_for

    with unit_of_work(sessions) as session:
        claim = claim_message(session, message_id, policy)
    SmtpTransport(SmtpSettings("127.0.0.1", port, "", "", False, settings.mail_from, 5)).send(
        outgoing_for(claim, unsubscribe))
    # ... the worker dies here.  The outbox delivers the task again (acks late):
    transports = transports_for(settings)
    assert deliver_message(sessions, message_id, transports, policy, unsubscribe) == "skipped"
    later = utcnow() + dt.timedelta(hours=1)
    with unit_of_work(sessions) as session:
        swept = sweep_messages(session, policy, later)
    assert swept.unknown == [message_id] and swept.released == []
    assert deliver_message(sessions, message_id, transports, policy, unsubscribe,
                           later) == "skipped"
    assert len(handler.received) == 1
    assert _message(db, message_id).status is MessageStatus.UNKNOWN


def test_a_queued_message_writes_its_outbox_row_in_the_same_transaction(db, settings, sessions):
    member = consenting_member(db, settings, channel="email")
    db.commit()
    session = sessions()
    send_message(session, member.id, "welcome", {}, "welcome")
    session.rollback()  # the caller's transaction fails: neither row remains
    session.close()
    assert db.scalar(select(func.count()).select_from(Message)) == 0
    assert db.scalar(select(func.count()).select_from(OutboxMessage)
                     .where(OutboxMessage.task_name == "messaging.deliver")) == 0


def test_the_sweep_command_sends_what_waited(db, settings, smtp):
    """The embedded default has no beat: ``loyalty messages sweep`` from cron does its work."""
    from dataclasses import replace

    from loyalty.app import create_app
    from tests.factories import invoke_cli

    handler, _port = smtp
    handler.refusals = ["451 4.3.0 try again later"]
    app = create_app(replace(settings, messaging_retry_base_seconds=0))  # retries due at once
    with unit_of_work(app.extensions["loyalty.db"].session_factory) as session:
        member = consenting_member(session, settings, channel="email")
        message_id = send_message(session, member.id, "welcome", {}, "welcome").id
    assert _message(db, message_id).status is MessageStatus.DEFERRED
    assert not handler.received

    result = invoke_cli(app, ["messages", "sweep"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "released 1, marked unknown 0"
    assert len(handler.received) == 1
    assert invoke_cli(app, ["messages", "status"]).output.strip() == "sent: 1"
    app.extensions["loyalty.db"].engine.dispose()
