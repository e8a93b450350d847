"""One-click unsubscribe: the link in the email, followed through HTTP, withdraws the consent."""

from __future__ import annotations

import re

from sqlalchemy import select

from loyalty.audit.models import AuditEvent
from loyalty.members.models import ConsentRecord
from loyalty.messaging.models import Message, MessageStatus
from loyalty.messaging.services import UNSUBSCRIBE_TEXT_VERSION, send_message
from loyalty.messaging.tokens import unsubscribe_token
from tests.messaging.conftest import OFFER, consenting_member


def _unsubscribe_path(mail) -> str:  # type: ignore[no-untyped-def]
    url = re.fullmatch(r"<https://loyalty\.test(/unsubscribe/[\w.-]+)>", mail["List-Unsubscribe"])
    assert url, mail["List-Unsubscribe"]
    return url.group(1)


def _withdrawals(db, member_id: int) -> list[ConsentRecord]:
    db.expire_all()
    rows = list(db.scalars(select(ConsentRecord).where(
        ConsentRecord.member_id == member_id, ConsentRecord.granted.is_(False))))
    db.commit()
    return rows


def test_the_one_click_post_from_the_email_withdraws_email_consent(db, settings, smtp, client):
    handler, _port = smtp
    member = consenting_member(db, settings, channel="email", language="ar")
    send_message(db, member.id, "coupon_offer", OFFER, "campaign:1")
    db.commit()
    [mail] = handler.received
    path = _unsubscribe_path(mail)
    assert f"https://loyalty.test{path}" in mail.get_content()  # the footer, for people

    page = client.get(path)  # a scanner or a person looking: nothing changes yet
    assert page.status_code == 200
    assert 'dir="rtl"' in page.text and "إيقاف الرسائل التسويقية عبر البريد الإلكتروني" in page.text
    assert _withdrawals(db, member.id) == []

    # RFC 8058: the mail provider POSTs this body, without cookies or a CSRF token.
    done = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    assert "لن تصلك رسائل تسويقية أخرى" in done.text
    [withdrawal] = _withdrawals(db, member.id)
    assert (withdrawal.channel, withdrawal.text_version, withdrawal.source) == (
        "email", UNSUBSCRIBE_TEXT_VERSION, "unsubscribe")
    assert db.scalar(select(AuditEvent.action).where(
        AuditEvent.subject == f"member:{member.id}", AuditEvent.action == "consent.withdraw"))
    db.commit()  # end the read (on SQLite it holds the write lock the request needs)

    assert client.post(path).status_code == 200  # a repeat records nothing more
    assert len(_withdrawals(db, member.id)) == 1

    later = send_message(db, member.id, "coupon_offer", OFFER, "campaign:2")
    db.commit()
    assert db.get(Message, later.id).status is MessageStatus.SUPPRESSED
    assert len(handler.received) == 1


def test_a_forged_or_damaged_link_changes_nothing(db, settings, client):
    member = consenting_member(db, settings, channel="email")
    db.commit()
    forged = unsubscribe_token("another-key", member.id, "email")
    damaged = unsubscribe_token(settings.secret_key, member.id, "email")[:-2]
    for token in (forged, "garbage", damaged):
        answer = client.post(f"/unsubscribe/{token}")
        assert answer.status_code == 404
        assert answer.json["code_hint"] == "unknown_unsubscribe_link"
    assert _withdrawals(db, member.id) == []


def test_an_sms_unsubscribe_token_withdraws_sms_only(db, settings, client):
    from loyalty.members.services import record_consent

    member = consenting_member(db, settings, channel="sms")
    record_consent(db, member.id, "email", True, "marketing-1", source="staff")
    db.commit()
    token = unsubscribe_token(settings.secret_key, member.id, "sms")
    assert client.post(f"/unsubscribe/{token}").status_code == 200
    assert [w.channel for w in _withdrawals(db, member.id)] == ["sms"]
