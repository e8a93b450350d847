"""GET /api/v1/members/<id>/insight: the member 360 view's habits, for the back office."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from loyalty.audit.models import AuditEvent
from loyalty.catalog.models import Category
from tests.factories import StaffDesk, invoke_cli, make_store
from tests.insight.helpers import add_baskets, add_members


def test_member_insight_through_the_api(app, client, db):
    store = make_store(db, "AED")
    dairy, fruit = Category(code="dairy", name="Dairy"), Category(code="fruit", name="Fruit")
    db.add_all([dairy, fruit])
    db.flush()
    ann, newcomer = add_members(db, 2)
    add_baskets(db, store.id, [
        (ann, dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC), [("M", dairy.id, 650),
                                                            ("A", fruit.id, 200)]),
        (ann, dt.datetime(2026, 3, 4, 10, tzinfo=dt.UTC), [("M", dairy.id, 650)]),
    ])
    desk = StaffDesk(db, store)
    marketer, manager, cashier = desk("marketer"), desk("store_manager"), desk("cashier")
    db.commit()
    assert invoke_cli(app, ["insight", "rebuild", "--as-of", "2026-03-10"]).exit_code == 0

    resp = client.get(f"/api/v1/members/{ann}/insight", headers=marketer)
    assert resp.status_code == 200, resp.json
    body = resp.json
    assert body["member_id"] == ann
    assert (body["recency_days"], body["frequency"], body["monetary_minor"]) == (6, 2, 1500)
    assert body["as_of"] == "2026-03-10"
    assert body["segment"] is not None and body["p_alive"] is None
    assert [(c["category_code"], c["spend_minor"]) for c in body["categories"]] == [
        ("dairy", 1300), ("fruit", 200)]

    empty = client.get(f"/api/v1/members/{newcomer}/insight", headers=manager)
    assert empty.status_code == 200
    assert empty.json["frequency"] is None and empty.json["categories"] == []
    assert "segment" in empty.json

    # a read of a member's data is audited, with who read it
    reads = db.scalars(select(AuditEvent).where(AuditEvent.action == "member.read")
                       .order_by(AuditEvent.id)).all()
    assert [(e.subject, e.detail["what"]) for e in reads] == [
        (f"member:{ann}", "insight"), (f"member:{newcomer}", "insight")]
    db.rollback()  # SQLite: end the read, it holds the write lock

    missing = client.get("/api/v1/members/999999/insight", headers=manager)
    assert missing.status_code == 404
    assert missing.headers["Content-Type"].startswith("application/problem+json")

    assert client.get(f"/api/v1/members/{ann}/insight", headers=cashier).status_code == 403
    assert client.get(f"/api/v1/members/{ann}/insight").status_code == 401
