"""Stores and tills through the API: admins everywhere, store managers in their own store."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from loyalty.audit.models import AuditEvent
from loyalty.auth.policy import ADMIN, MANAGER
from loyalty.stores.models import Store, Till
from tests.factories import auth

STORES = "/api/v1/stores"


def test_admin_opens_a_store_and_lists_it(client, db, chain):
    body = {"code": "SHJ", "name": "Sharjah City Centre", "currency": "AED",
            "timezone": "Asia/Dubai"}
    resp = client.post(STORES, json=body, headers=chain.headers(ADMIN))
    assert resp.status_code == 201, resp.json
    assert resp.json["code"] == "SHJ" and resp.json["currency"] == "AED"
    stored = db.scalar(select(Store).where(Store.code == "SHJ"))
    assert stored is not None and stored.timezone == "Asia/Dubai"
    db.commit()  # end the read: on SQLite a transaction holds the write lock (BEGIN IMMEDIATE)
    listed = client.get(STORES, headers=chain.headers(ADMIN)).json
    assert [s["code"] for s in listed] == ["AUH", "DXB", "SHJ"]
    assert db.scalar(select(AuditEvent.actor).where(AuditEvent.action == "store.add",
                                                    AuditEvent.subject == f"store:{stored.id}"))


@pytest.mark.parametrize(("change", "status", "code"), [
    ({"currency": "aed"}, 422, "invalid_input"),
    ({"currency": "XXQ"}, 422, "invalid_input"),
    ({"timezone": "Mars/Olympus"}, 422, "invalid_input"),
    ({"code": "has space"}, 422, "invalid_input"),
    ({"code": "DXB"}, 409, "conflict"),
    ({"colour": "red"}, 422, "invalid_input"),
])
def test_a_bad_store_is_refused_and_nothing_is_written(client, db, chain, change, status, code):
    body = {"code": "NEW", "name": "New", "currency": "AED", "timezone": "Asia/Dubai", **change}
    resp = client.post(STORES, json=body, headers=chain.headers(ADMIN))
    assert (resp.status_code, resp.json["code"]) == (status, code), resp.json
    assert resp.mimetype == "application/problem+json"
    db.expire_all()
    assert db.scalar(select(Store.id).where(Store.code == "NEW")) is None
    assert len(db.scalars(select(Store)).all()) == 2


@pytest.mark.parametrize("role", [ADMIN, MANAGER])
def test_till_lifecycle_add_list_revoke(client, db, chain, role):
    headers = chain.headers(role)
    tills = f"{STORES}/{chain.store.id}/tills"
    added = client.post(tills, json={"name": "lane 7"}, headers=headers)
    assert added.status_code == 201, added.json
    token, till_id = added.json["token"], added.json["till"]["id"]
    assert token.startswith("till_") and added.json["till"]["active"] is True
    quote = "/api/v1/checkouts/quote"
    assert client.post(quote, json={}, headers=auth(token)).status_code == 422  # authenticated

    listed = client.get(tills, headers=headers).json
    assert [t["name"] for t in listed] == ["lane 7"]
    assert "token" not in listed[0] and token not in str(listed)

    revoked = client.post(f"{tills}/{till_id}/revoke", headers=headers)
    assert revoked.status_code == 200 and revoked.json["active"] is False
    assert client.post(quote, json={}, headers=auth(token)).status_code == 401
    again = client.post(f"{tills}/{till_id}/revoke", headers=headers)
    assert again.json["revoked_at"] == revoked.json["revoked_at"]  # revoking twice: a no-op


def test_a_till_name_is_required(client, db, chain):
    resp = client.post(f"{STORES}/{chain.store.id}/tills", json={"name": ""},
                       headers=chain.headers(ADMIN))
    assert resp.status_code == 422
    assert db.scalars(select(Till)).all() == []


def test_unknown_store_or_till_is_404(client, chain):
    admin = chain.headers(ADMIN)
    assert client.get(f"{STORES}/999/tills", headers=admin).status_code == 404
    assert client.post(f"{STORES}/999/tills", json={"name": "x"}, headers=admin).status_code == 404
    resp = client.post(f"{STORES}/{chain.store.id}/tills/999/revoke", headers=admin)
    assert (resp.status_code, resp.json["code"]) == (404, "not_found")


def test_a_store_manager_cannot_touch_another_stores_tills(client, db, chain):
    manager = chain.headers(MANAGER)  # manager of chain.store
    chain.token("till", chain.other)  # the other store has a till
    other_till = db.scalar(select(Till).where(Till.store_id == chain.other.id))
    db.commit()  # end the read (SQLite: BEGIN IMMEDIATE holds the write lock)
    other = f"{STORES}/{chain.other.id}/tills"
    for resp in (client.get(other, headers=manager),
                 client.post(other, json={"name": "sneaky"}, headers=manager),
                 client.post(f"{other}/{other_till.id}/revoke", headers=manager)):
        assert (resp.status_code, resp.json["code"]) == (403, "forbidden"), resp.json
    # Through their own store's path, the other store's till does not exist.
    own_path = f"{STORES}/{chain.store.id}/tills/{other_till.id}/revoke"
    assert client.post(own_path, headers=manager).status_code == 404
    db.expire_all()
    assert db.get(Till, other_till.id).revoked_at is None
    assert db.scalars(select(Till).where(Till.name == "sneaky")).all() == []
