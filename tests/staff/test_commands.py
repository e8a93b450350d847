"""``loyalty staff ...`` against the test database."""

from __future__ import annotations

from argon2 import PasswordHasher
from sqlalchemy import select

from loyalty.staff.models import Role, StaffUser
from tests.auth.chain import PASSWORD
from tests.factories import auth, invoke_cli

LEDGER = "/api/v1/members/999/ledger"  # a cashier may call it: 404, as no such member exists


def _add(app, *args: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return invoke_cli(app, ["staff", "add", *args, "--password-stdin"], input=password + "\n")


def test_staff_add_hashes_the_password_with_argon2id(app, db, chain):
    result = _add(app, "amal", "--role", "cashier", "--store", "DXB", "--full-name", "Amal")
    assert result.exit_code == 0, result.output
    user = db.scalar(select(StaffUser).where(StaffUser.username == "amal"))
    assert (user.role, user.store_id, user.full_name) == (Role.CASHIER, chain.store.id, "Amal")
    assert user.password_hash.startswith("$argon2id$")
    assert PasswordHasher().verify(user.password_hash, PASSWORD)


def test_staff_add_prompts_for_the_password_twice(app, db, chain):
    typed = f"{PASSWORD}\n{PASSWORD}\n"
    result = invoke_cli(app, ["staff", "add", "noor", "--role", "marketer"], input=typed)
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output  # hidden input is not echoed
    user = db.scalar(select(StaffUser).where(StaffUser.username == "noor"))
    assert user.store_id is None and PasswordHasher().verify(user.password_hash, PASSWORD)


def test_staff_add_refuses_what_it_cannot_keep(app, db, chain):
    assert "must belong to a store" in _add(app, "c1", "--role", "cashier").output
    assert "no store 'NOPE'" in _add(app, "c2", "--role", "cashier", "--store", "NOPE").output
    assert "at least 10" in _add(app, "c3", "--role", "admin", password="short").output
    assert _add(app, "c4", "--role", "owner").exit_code == 2  # click refuses the choice
    assert _add(app, "c5", "--role", "admin").exit_code == 0
    duplicate = _add(app, "c5", "--role", "admin")
    assert duplicate.exit_code == 1 and "exists already" in duplicate.output
    names = db.scalars(select(StaffUser.username)).all()
    assert names == ["c5"]


def test_staff_token_prints_a_working_token_once(app, client, chain):
    _add(app, "amal", "--role", "cashier", "--store", "DXB")
    first = invoke_cli(app, ["staff", "token", "amal"])
    assert first.exit_code == 0, first.output
    token = first.stdout.strip()
    assert token.startswith("staff_") and "shown once" in first.stderr
    assert client.get(LEDGER, headers=auth(token)).status_code == 404
    second = invoke_cli(app, ["staff", "token", "amal"]).stdout.strip()
    assert client.get(LEDGER, headers=auth(token)).status_code == 401  # replaced
    assert client.get(LEDGER, headers=auth(second)).status_code == 404
    assert token not in invoke_cli(app, ["staff", "list"]).output


def test_deactivated_staff_get_401_and_no_new_token(app, client, chain):
    _add(app, "amal", "--role", "cashier", "--store", "DXB")
    token = invoke_cli(app, ["staff", "token", "amal"]).stdout.strip()
    assert client.get(LEDGER, headers=auth(token)).status_code == 404
    result = invoke_cli(app, ["staff", "deactivate", "amal"])
    assert result.exit_code == 0, result.output
    assert client.get(LEDGER, headers=auth(token)).status_code == 401
    refused = invoke_cli(app, ["staff", "token", "amal"])
    assert refused.exit_code == 1 and "deactivated" in refused.output
    signin = client.post("/api/v1/staff/sessions", json={"username": "amal", "password": PASSWORD})
    assert signin.status_code == 401
    assert "inactive" in invoke_cli(app, ["staff", "list"]).output


def test_staff_list_shows_role_and_store(app, chain):
    _add(app, "amal", "--role", "cashier", "--store", "AUH")
    listed = invoke_cli(app, ["staff", "list"])
    assert listed.exit_code == 0
    line = next(ln for ln in listed.output.splitlines() if "amal" in ln)
    assert "cashier" in line and "AUH" in line and "active" in line


def test_unknown_user_is_named(app, chain):
    for command in ("token", "deactivate"):
        result = invoke_cli(app, ["staff", command, "ghost"])
        assert result.exit_code == 1 and "no staff user 'ghost'" in result.output
