"""Reading a member's data is in the audit log with who read it (through HTTP)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from loyalty.audit.models import AuditEvent
from loyalty.audit.reads import READS
from loyalty.auth.policy import ADMIN, CASHIER, MANAGER, TILL
from loyalty.coupons.models import OfferKind
from loyalty.coupons.services import Offer, issue_coupon
from tests.factories import make_member

PHONE = "+971501112233"


@pytest.fixture
def member(db, settings):  # type: ignore[no-untyped-def]
    member, card = make_member(db, settings, phone=PHONE)
    coupon = issue_coupon(db, member.id, Offer(kind=OfferKind.PERCENT_OFF, percent=10),
                          staff_id=None, actor="test")
    db.commit()
    return member, card, coupon


def _reads(db) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    db.expire_all()
    rows = db.scalars(select(AuditEvent).where(AuditEvent.action == "member.read")
                      .order_by(AuditEvent.id))
    found = [(e.actor, e.subject, e.detail["what"]) for e in rows]
    db.rollback()  # end the read: SQLite's transactions here hold the write lock
    return found


def _staff_id(chain, role: str) -> str:  # type: ignore[no-untyped-def]
    from loyalty.staff.models import StaffUser

    chain.token(role)
    user = chain.db.scalar(select(StaffUser).where(StaffUser.username.startswith(role)))
    chain.db.rollback()
    return f"staff:{user.id}"


def _urls(member, card, coupon) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        "members.get_member": f"/api/v1/members/{member.id}",
        "members.consent_history": f"/api/v1/members/{member.id}/consents",
        "members.member_notes": f"/api/v1/members/{member.id}/notes",
        "ledger.member_ledger": f"/api/v1/members/{member.id}/ledger",
        "coupons.list_coupons": f"/api/v1/coupons?member_id={member.id}",
        "coupons.get_coupon": f"/api/v1/coupons/{coupon.code}",
        "members.search_members": f"/api/v1/members?phone=%2B{PHONE[1:]}",
        "cards.identify_card": f"/api/v1/cards/{card.number}",
        "insight.member_insight": f"/api/v1/members/{member.id}/insight",
    }


# Reads a cashier may not make: walked with a store manager's token instead.
BACK_OFFICE_READS = {"insight.member_insight"}


def test_every_read_of_a_member_by_staff_is_logged_with_the_reader(client, db, chain, member):
    m, card, coupon = member
    cashier = chain.headers(CASHIER), _staff_id(chain, CASHIER)
    manager = chain.headers(MANAGER), _staff_id(chain, MANAGER)
    urls = _urls(m, card, coupon)
    assert set(urls) == set(READS)  # each rule is exercised here
    for endpoint, url in urls.items():
        headers, actor = manager if endpoint in BACK_OFFICE_READS else cashier
        before = len(_reads(db))
        resp = client.get(url, headers=headers)
        assert resp.status_code == 200, (endpoint, resp.get_json())
        assert _reads(db)[before:] == [(actor, f"member:{m.id}", READS[endpoint].what)], endpoint


def test_a_till_serving_the_member_adds_nothing_to_the_hot_path(client, db, chain, member):
    m, card, _coupon = member
    till = chain.headers(TILL)
    assert client.get(f"/api/v1/cards/{card.number}", headers=till).status_code == 200
    assert client.get(f"/api/v1/members?phone=%2B{PHONE[1:]}", headers=till).status_code == 200
    assert _reads(db) == []


def test_a_failed_look_up_reads_nothing_and_logs_nothing(client, db, chain, member):
    admin = chain.headers(ADMIN)
    assert client.get("/api/v1/members/99999", headers=admin).status_code == 404
    assert client.get("/api/v1/members/99999/ledger", headers=admin).status_code == 404
    assert _reads(db) == []


def test_every_get_of_a_member_path_is_audited(app):
    """An endpoint added under /members/<member_id> tomorrow must be added to READS."""
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and "<int:member_id>" in rule.rule:
            assert rule.endpoint in READS, rule.rule


def test_options_on_a_member_path_answers_and_reads_nothing(client, db, chain, member):
    """Flask answers OPTIONS for every route itself, with no body: nothing was read."""
    m, card, coupon = member
    admin = chain.headers(ADMIN)
    for endpoint, url in _urls(m, card, coupon).items():
        resp = client.options(url, headers=admin)
        assert resp.status_code == 200 and "GET" in resp.headers["Allow"], endpoint
    assert _reads(db) == []
