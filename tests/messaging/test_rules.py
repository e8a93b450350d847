"""Rules for sending: consent on the channel, quiet hours in the store's time zone, wallet."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from loyalty.db import unit_of_work
from loyalty.members.services import record_consent
from loyalty.messaging.delivery import Unsubscribe, deliver_message
from loyalty.messaging.models import Message, MessageStatus
from loyalty.messaging.services import (
    QuietHours,
    SendingPolicy,
    consent_granted,
    consenting_members,
    send_message,
    sweep_messages,
)
from loyalty.messaging.tasks import transports_for
from loyalty.outbox.models import OutboxMessage
from tests.factories import make_member, make_store
from tests.messaging.conftest import OFFER, consenting_member

UTC = dt.UTC


def _message(db, message_id: int) -> Message:
    db.expire_all()
    message = db.get(Message, message_id)
    db.commit()
    return message


def test_no_consent_on_the_channel_suppresses_the_message(db, settings, smtp):
    handler, _port = smtp
    member, _card = make_member(db, settings, email="nobody@example.net",
                                preferred_channel="email")
    record_consent(db, member.id, "sms", True, "marketing-1", source="staff")  # not email
    message = send_message(db, member.id, "coupon_offer", OFFER, "campaign:3")
    db.commit()
    stored = _message(db, message.id)
    assert (stored.status, stored.last_error) == (MessageStatus.SUPPRESSED, "no consent on email")
    assert not handler.received
    assert db.scalar(select(func.count()).select_from(OutboxMessage)
                     .where(OutboxMessage.task_name == "messaging.deliver")) == 0


def test_consent_withdrawn_after_queueing_stops_the_send(db, settings, smtp, sessions):
    handler, _port = smtp
    member = consenting_member(db, settings, channel="email")
    db.commit()
    with unit_of_work(sessions) as session:  # queued, not yet delivered
        message_id = send_message(session, member.id, "welcome", {}, "welcome").id
        record_consent(session, member.id, "email", False, "marketing-1", source="portal")
    status = deliver_message(sessions, message_id, transports_for(settings),
                             _policy(""), Unsubscribe("https://x.test", "k"))
    assert status == "skipped"
    assert _message(db, message_id).status is MessageStatus.SUPPRESSED
    assert not handler.received


def test_the_newest_decision_is_the_current_consent(db, settings):
    granted_again, _ = make_member(db, settings, name="A")
    withdrawn, _ = make_member(db, settings, name="B")
    never, _ = make_member(db, settings, name="C")
    t0 = dt.datetime(2026, 1, 1, tzinfo=UTC)
    for member, decisions in ((granted_again, (True, False, True)), (withdrawn, (True, False))):
        for i, granted in enumerate(decisions):
            record_consent(db, member.id, "email", granted, "v1", source="staff",
                           at=t0 + dt.timedelta(days=i))
    record_consent(db, withdrawn.id, "sms", True, "v1", source="staff")
    db.flush()
    assert [consent_granted(db, m.id, "email") for m in (granted_again, withdrawn, never)] == [
        True, False, False]
    assert set(db.scalars(consenting_members("email"))) == {granted_again.id}
    assert set(db.scalars(consenting_members("sms"))) == {withdrawn.id}


def test_the_wallet_needs_no_consent_and_knows_no_quiet_hours(db, settings, sessions):
    member, _card = make_member(db, settings)
    db.commit()
    with unit_of_work(sessions) as session:
        message_id = send_message(session, member.id, "coupon_offer", OFFER, "campaign:1",
                                  channel="wallet").id
    night = dt.datetime(2026, 12, 3, 23, 0, tzinfo=UTC)
    status = deliver_message(sessions, message_id, transports_for(settings),
                             _policy("21:00-08:00"), Unsubscribe("https://x.test", "k"), night)
    assert status == "sent"
    assert _message(db, message_id).provider_id == f"wallet-{message_id}"


def test_a_message_due_in_quiet_hours_waits_for_their_end_in_the_stores_time_zone(
    db, settings, sessions, sms_provider
):
    store = make_store(db)  # Asia/Dubai, UTC+4
    member = consenting_member(db, settings, channel="sms")
    db.commit()
    with unit_of_work(sessions) as session:
        message_id = send_message(session, member.id, "welcome", {}, "welcome",
                                  store_id=store.id).id
    policy = _policy("21:00-08:00")
    send = (transports_for(settings), policy, Unsubscribe("https://x.test", "k"))
    late_evening = dt.datetime(2026, 12, 3, 18, 30, tzinfo=UTC)  # 22:30 in Dubai
    assert deliver_message(sessions, message_id, *send, late_evening) == "skipped"
    deferred = _message(db, message_id)
    morning = dt.datetime(2026, 12, 4, 4, 0, tzinfo=UTC)  # 08:00 in Dubai
    assert (deferred.status, deferred.not_before, deferred.attempts) == (
        MessageStatus.DEFERRED, morning, 0)

    with unit_of_work(sessions) as session:  # still night: nothing released
        assert sweep_messages(session, policy, morning - dt.timedelta(minutes=1)).released == []
    with unit_of_work(sessions) as session:
        assert sweep_messages(session, policy, morning).released == [message_id]
    assert deliver_message(sessions, message_id, *send, morning) == "sent"
    assert len(sms_provider.requests) == 1


@pytest.mark.parametrize(("window", "local", "end"), [
    ("21:00-08:00", "2026-12-03T20:59", None),
    ("21:00-08:00", "2026-12-03T21:00", "2026-12-04T08:00"),
    ("21:00-08:00", "2026-12-04T07:59", "2026-12-04T08:00"),
    ("21:00-08:00", "2026-12-04T08:00", None),
    ("13:00-15:00", "2026-12-04T14:00", "2026-12-04T15:00"),
    ("13:00-15:00", "2026-12-04T16:00", None),
    # Europe/London springs forward at 01:00 on 29 March 2026: 08:00 that day is UTC+1.
    ("21:00-08:00", "2026-03-28T23:00", "2026-03-29T08:00"),
])
def test_quiet_hours_end_at_the_local_wall_clock_time(window, local, end):
    from zoneinfo import ZoneInfo

    london = ZoneInfo("Europe/London")
    now = dt.datetime.fromisoformat(local).replace(tzinfo=london)
    expected = end and dt.datetime.fromisoformat(end).replace(tzinfo=london).astimezone(UTC)
    assert QuietHours.parse(window).ends_after(now, "Europe/London") == expected


def test_quiet_hours_settings_are_checked_at_start_up(settings):
    from dataclasses import replace

    from loyalty.app import create_app
    from loyalty.config import SettingsError

    assert QuietHours.parse("") is None and QuietHours.parse("08:00-08:00") is None
    with pytest.raises(SettingsError, match="QUIET_HOURS"):
        create_app(replace(settings, messaging_quiet_hours="9pm to 8am"))
    with pytest.raises(SettingsError, match="TIMEZONE"):
        create_app(replace(settings, messaging_default_timezone="Mars/Olympus"))


def test_a_template_missing_its_values_is_refused_before_anything_is_queued(db, settings):
    from loyalty.errors import InvalidInput

    member = consenting_member(db, settings, channel="email")
    with pytest.raises(InvalidInput, match="needs code, expires"):
        send_message(db, member.id, "coupon_offer", {"offer": "10%"}, "campaign:1")
    with pytest.raises(InvalidInput, match="unknown message template"):
        send_message(db, member.id, "no_such_template", {}, "campaign:1")
    assert db.scalar(select(func.count()).select_from(Message)) == 0


def _policy(window: str) -> SendingPolicy:
    return SendingPolicy(quiet_hours=QuietHours.parse(window))


def test_two_workers_delivering_one_message_at_once_send_it_once(db, settings, sessions):
    """A duplicated task (the outbox is at least once) races the original: one claim wins."""
    import threading
    import time

    from loyalty.messaging.models import MessageChannel

    member = consenting_member(db, settings, channel="sms")
    db.commit()
    with unit_of_work(sessions) as session:
        message_id = send_message(session, member.id, "welcome", {}, "welcome").id
    handed_over: list[int] = []

    class SlowProvider:
        def send(self, outgoing) -> str:  # type: ignore[no-untyped-def]
            time.sleep(0.3)  # long enough for the other worker to try its claim meanwhile
            handed_over.append(outgoing.message_id)
            return "slow-1"

    transports = dict.fromkeys(MessageChannel, SlowProvider())
    start, results = threading.Barrier(2), []

    def worker() -> None:
        start.wait()
        results.append(deliver_message(sessions, message_id, transports, _policy(""),
                                       Unsubscribe("https://x.test", "k")))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == ["sent", "skipped"]
    assert handed_over == [message_id]
