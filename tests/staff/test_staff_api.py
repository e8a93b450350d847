"""Staff through the API: sign-in, listing and appointing, with the store manager's limits."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from loyalty.auth.policy import ADMIN, CASHIER, MANAGER, MARKETER
from loyalty.staff.models import Role, StaffUser
from loyalty.staff.services import add_staff, deactivate_staff
from tests.auth.chain import PASSWORD
from tests.factories import auth

STAFF = "/api/v1/staff"
SESSIONS = "/api/v1/staff/sessions"


@pytest.fixture
def amal(db, chain) -> StaffUser:
    user = add_staff(db, "amal", PASSWORD, Role.CASHIER, chain.store.id, "Amal Nasser")
    db.commit()
    return user


def _sign_in(client, username: str, password: str):  # type: ignore[no-untyped-def]
    return client.post(SESSIONS, json={"username": username, "password": password})


def test_sign_in_returns_a_token_that_works(client, amal):
    resp = _sign_in(client, "amal", PASSWORD)
    assert resp.status_code == 201, resp.json
    assert resp.json["staff"]["username"] == "amal" and resp.json["staff"]["role"] == "cashier"
    assert "password" not in str(resp.json) and "hash" not in str(resp.json)
    token = resp.json["token"]
    # A cashier may read a member's ledger (404 for a member who does not exist) ...
    assert client.get("/api/v1/members/999/ledger", headers=auth(token)).status_code == 404
    # ... but not list staff.
    assert client.get(STAFF, headers=auth(token)).status_code == 403


def test_a_wrong_sign_in_gives_no_hint_which_part_was_wrong(client, db, amal):
    add_staff(db, "gone", PASSWORD, Role.CASHIER, amal.store_id)
    deactivate_staff(db, "gone")
    db.commit()
    answers = [_sign_in(client, "amal", "wrong password!"),
               _sign_in(client, "nobody", PASSWORD),
               _sign_in(client, "gone", PASSWORD)]
    assert {r.status_code for r in answers} == {401}
    bodies = [r.get_data(as_text=True) for r in answers]
    assert bodies[0] == bodies[1] == bodies[2]
    assert "token" not in bodies[0]


@pytest.mark.parametrize("body", [
    {"username": "amal"},
    {"username": "amal", "password": PASSWORD, "remember": True},
    {"username": "amal", "password": "x" * 5000},
])
def test_a_malformed_sign_in_is_422(client, amal, body):
    assert client.post(SESSIONS, json=body).status_code == 422


def test_passwords_are_stored_as_argon2id_hashes(db, amal):
    db.expire_all()
    stored = db.get(StaffUser, amal.id).password_hash
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert PasswordHasher().verify(stored, PASSWORD)


def test_admin_adds_staff_of_any_role(client, db, chain):
    body = {"username": "hq.marketer", "password": PASSWORD, "role": "marketer",
            "full_name": "Noor"}
    resp = client.post(STAFF, json=body, headers=chain.headers(ADMIN))
    assert resp.status_code == 201, resp.json
    assert resp.json["role"] == "marketer" and resp.json["store_id"] is None
    assert "password" not in resp.json
    assert _sign_in(client, "hq.marketer", PASSWORD).status_code == 201


@pytest.mark.parametrize(("change", "status", "code"), [
    ({"role": "cashier", "store_id": None}, 422, "invalid_input"),  # a cashier needs a store
    ({"role": "owner"}, 422, "invalid_input"),
    ({"password": "short"}, 422, "invalid_input"),
    ({"username": "amal"}, 409, "conflict"),
    ({"salary": 1}, 422, "invalid_input"),
])
def test_a_bad_staff_account_is_refused(client, db, chain, amal, change, status, code):
    body = {"username": "newbie", "password": PASSWORD, "role": "cashier",
            "store_id": chain.store.id, **change}
    resp = client.post(STAFF, json=body, headers=chain.headers(ADMIN))
    assert (resp.status_code, resp.json["code"]) == (status, code), resp.json
    db.expire_all()
    assert db.scalar(select(StaffUser).where(StaffUser.username == "newbie")) is None


def test_a_store_manager_adds_cashiers_to_their_own_store_only(client, db, chain):
    manager = chain.headers(MANAGER)
    own = client.post(STAFF, json={"username": "c1", "password": PASSWORD, "role": "cashier"},
                      headers=manager)
    assert own.status_code == 201, own.json
    assert own.json["store_id"] == chain.store.id  # defaults to the manager's store
    refused = [
        {"username": "c2", "password": PASSWORD, "role": "cashier", "store_id": chain.other.id},
        {"username": "m2", "password": PASSWORD, "role": "store_manager"},
        {"username": "a2", "password": PASSWORD, "role": "admin"},
    ]
    for body in refused:
        resp = client.post(STAFF, json=body, headers=manager)
        assert (resp.status_code, resp.json["code"]) == (403, "forbidden"), body
    db.expire_all()
    assert db.scalars(select(StaffUser.username).where(
        StaffUser.username.in_(["c2", "m2", "a2"]))).all() == []


@pytest.mark.parametrize("role", [CASHIER, MARKETER])
def test_cashiers_and_marketers_cannot_add_staff(client, db, chain, role):
    body = {"username": "x1", "password": PASSWORD, "role": "cashier", "store_id": chain.store.id}
    assert client.post(STAFF, json=body, headers=chain.headers(role)).status_code == 403
    assert db.scalar(select(StaffUser).where(StaffUser.username == "x1")) is None


def test_listing_staff_is_scoped_to_the_managers_store(client, db, chain, amal):
    add_staff(db, "basel", PASSWORD, Role.CASHIER, chain.other.id)
    db.commit()
    admin, manager = chain.headers(ADMIN), chain.headers(MANAGER)
    everyone = {u["username"] for u in client.get(STAFF, headers=admin).json}
    assert {"amal", "basel"} <= everyone
    other = client.get(STAFF, query_string={"store_id": chain.other.id}, headers=admin).json
    assert [u["username"] for u in other] == ["basel"]
    own = {u["username"] for u in client.get(STAFF, headers=manager).json}
    assert "amal" in own and "basel" not in own
    assert all(u["store_id"] == chain.store.id for u in client.get(STAFF, headers=manager).json)
    refused = client.get(STAFF, query_string={"store_id": chain.other.id}, headers=manager)
    assert (refused.status_code, refused.json["code"]) == (403, "forbidden")
