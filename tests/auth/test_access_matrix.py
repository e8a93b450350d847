"""The whole role x endpoint matrix, driven by ``app.url_map`` (issue 2, section 4).

Every rule under ``/api/v1`` that is not PUBLIC is called by every role, with no token and with
bad tokens.  Nothing is listed by hand: an endpoint added tomorrow is walked tomorrow.

* No token, a bad token, a revoked till's or a deactivated user's token: 401, everywhere.
* A role not in ``policy.ALLOWED[endpoint]``: 403 ``forbidden``.
* A role in it: anything but 401 or the policy's 403 (a 404 or 422 for the dummy path values
  and the empty ``{}`` body is fine; a business 403 such as ``card_blocked`` is fine too).
  Every store-bound caller and every path parameter belong to one store, so a store-scope
  refusal would be a bug as well.  Nothing may answer 500.

Path parameters point at real rows of that store, and at *spare* rows where an endpoint might
act on them (a second till, a second cashier), so a revoke or deactivate call made during the
walk cannot take away the credentials of the callers that come after it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from werkzeug.routing import Rule
from werkzeug.routing.converters import AnyConverter, IntegerConverter

from loyalty.app import API_PREFIX
from loyalty.auth import policy
from loyalty.auth.policy import ADMIN, CASHIER, MANAGER, MARKETER, TILL
from loyalty.staff.models import Role
from loyalty.staff.services import add_staff, deactivate_staff, issue_api_token
from loyalty.stores.services import add_till, revoke_till
from tests.auth.chain import PASSWORD, Chain
from tests.factories import make_member

ROLES = (ADMIN, MANAGER, CASHIER, MARKETER, TILL)
WITH_BODY = {"POST", "PUT", "PATCH"}
# The one mutating call anyone may make without a token.
PUBLIC_WRITES = {"staff.sign_in"}


@dataclass
class World:
    chain: Chain
    spare_till_id: int
    spare_staff_id: int
    spare_username: str
    member_id: int
    card_number: str
    dead_tokens: dict[str, str]  # what each one is -> token


@pytest.fixture
def world(db, settings, chain) -> World:  # type: ignore[no-untyped-def]
    for role in ROLES:
        chain.token(role)
    spare_till, _ = add_till(db, chain.store, "spare lane")
    spare = add_staff(db, "spare.cashier", PASSWORD, Role.CASHIER, chain.store.id)
    revoked, revoked_token = add_till(db, chain.store, "revoked lane")
    revoke_till(db, revoked.id)
    leaver = add_staff(db, "leaver", PASSWORD, Role.STORE_MANAGER, chain.store.id)
    leaver_token = issue_api_token(db, leaver)
    deactivate_staff(db, "leaver")
    member, card = make_member(db, settings)
    db.commit()
    valid = chain.token(TILL)
    return World(
        chain, spare_till.id, spare.id, spare.username, member.id, card.number,
        dead_tokens={
            "no token": "",
            "garbage bearer": "Bearer not-a-token",
            "empty bearer": "Bearer ",
            "basic auth": "Basic YWRtaW46YWRtaW4=",
            "bearer with a changed character": "Bearer " + valid[:-1] + (
                "A" if valid[-1] != "A" else "B"),
            "token without scheme": valid,
            "revoked till": f"Bearer {revoked_token}",
            "deactivated staff": f"Bearer {leaver_token}",
        },
    )


def api_calls(app) -> Iterator[tuple[Rule, str]]:  # type: ignore[no-untyped-def]
    """Every (rule, method) under /api/v1 that needs credentials."""
    rules = sorted(app.url_map.iter_rules(), key=lambda r: r.rule)
    for rule in rules:
        if rule.rule.startswith(API_PREFIX) and rule.endpoint not in policy.PUBLIC:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method


def _path_value(name: str, converter: object, w: World) -> object:
    if isinstance(converter, AnyConverter):
        return sorted(converter.items)[0]
    as_int = isinstance(converter, IntegerConverter)
    n = name.lower()
    if "till" in n:
        return w.spare_till_id
    if "store" in n:
        return w.chain.store.id if as_int else w.chain.store.code
    if "member" in n:
        return w.member_id
    if "staff" in n or "user" in n:
        return w.spare_staff_id if as_int else w.spare_username
    if "card" in n or n == "number":
        return 1 if as_int else w.card_number
    return 1 if as_int else "UNKNOWN1"


def url_for_rule(rule: Rule, w: World) -> str:
    values = {name: _path_value(name, rule._converters[name], w) for name in rule.arguments}
    built = rule.build(values, append_unknown=False)
    assert built is not None, rule.rule
    return built[1]


def call(client, rule: Rule, method: str, w: World, authorization: str):  # type: ignore[no-untyped-def]
    headers = {"Authorization": authorization} if authorization else {}
    body = {"json": {}} if method in WITH_BODY else {}
    return client.open(url_for_rule(rule, w), method=method, headers=headers, **body)


def _is_policy_refusal(resp) -> bool:  # type: ignore[no-untyped-def]
    return resp.status_code == 403 and resp.get_json(silent=True, force=True).get(
        "code") == "forbidden"


def test_every_role_gets_exactly_what_the_policy_allows(app, client, world):
    wrong: list[str] = []
    walked: set[str] = set()
    for rule, method in api_calls(app):
        walked.add(rule.endpoint)
        allowed = policy.allowed_roles(rule.endpoint)
        for role in ROLES:
            resp = call(client, rule, method, world, f"Bearer {world.chain.token(role)}")
            where = f"{method} {rule.rule} ({rule.endpoint}) as {role}: {resp.status_code}"
            if resp.status_code >= 500:
                wrong.append(f"{where} (server error)")
            elif role not in allowed and not _is_policy_refusal(resp):
                wrong.append(f"{where}, expected 403 forbidden")
            elif role in allowed and (resp.status_code == 401 or _is_policy_refusal(resp)):
                wrong.append(f"{where} {resp.get_json(silent=True)}, but the policy allows it")
    assert not wrong, "\n".join(wrong)
    # The walk really covered the API, this slice's endpoints included.
    assert {"stores.create_store", "stores.revoke_till", "staff.add_staff",
            "checkout.commit"} <= walked
    assert len(walked) >= 10


def test_no_or_bad_credentials_get_401_everywhere(app, client, world):
    wrong: list[str] = []
    for rule, method in api_calls(app):
        for what, authorization in world.dead_tokens.items():
            resp = call(client, rule, method, world, authorization)
            body = resp.get_json(silent=True, force=True) or {}
            if resp.status_code != 401 or body.get("code") != "unauthorized":
                wrong.append(f"{method} {rule.rule} with {what}: {resp.status_code} {body}")
            elif resp.mimetype != "application/problem+json":
                wrong.append(f"{method} {rule.rule} with {what}: {resp.mimetype}")
    assert not wrong, "\n".join(wrong)


def test_every_api_endpoint_is_in_the_policy(app):
    endpoints = {r.endpoint for r in app.url_map.iter_rules() if r.rule.startswith(API_PREFIX)}
    forgotten = sorted(endpoints - set(policy.ALLOWED) - policy.PUBLIC)
    assert not forgotten, f"add these to loyalty/auth/policy.py ALLOWED: {forgotten}"
    assert not set(policy.ALLOWED) & policy.PUBLIC, "an endpoint cannot be both"


def test_the_policy_names_only_real_roles():
    known = set(ROLES)
    assert {r.value for r in Role} | {TILL} == known
    typos = {e: sorted(roles - known) for e, roles in policy.ALLOWED.items() if roles - known}
    assert not typos


def test_public_is_small_and_read_only_but_for_sign_in(app):
    assert len(policy.PUBLIC) <= 6, sorted(policy.PUBLIC)
    for rule in app.url_map.iter_rules():
        if rule.endpoint in policy.PUBLIC and rule.endpoint not in PUBLIC_WRITES:
            assert rule.methods - {"HEAD", "OPTIONS"} == {"GET"}, rule.endpoint


def test_public_endpoints_answer_without_a_token(client):
    assert client.get(f"{API_PREFIX}/openapi.json").status_code == 200
    refused = client.post(f"{API_PREFIX}/staff/sessions",
                          json={"username": "nobody", "password": "nothing at all"})
    assert (refused.status_code, refused.json["code"]) == (401, "unauthorized")
