"""A till session on the real outbox and cache, with an in-memory stand-in for the back office.

Only the back office is faked (:class:`FakeBackOffice` has the methods of
:class:`pos_agent.client.BackOffice`); the end-to-end tests use a real one.
"""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from loyalty.cards.numbers import luhn_check_digit
from loyalty.coupons import codes, signing
from pos_agent.cache import Cache
from pos_agent.client import Offline, Refused
from pos_agent.outbox import Outbox
from pos_agent.till import TillSession, TillSettings

NOW = dt.datetime.now(dt.UTC)  # the cache stamps fetched_at with the real clock


def card(serial: str) -> str:
    payload = "9871" + serial.zfill(11)
    return payload + luhn_check_digit(payload)


LAYLA = card("1")
OMAR = card("2")
STRANGER = card("3")  # a programme number the back office does not know
MILK = {"sku": "MILK", "name": "Milk 1L", "price_minor": 650, "currency": "AED",
        "barcode": "6291041500213", "active": True, "updated_at": "2026-01-01T00:00:00+00:00"}
BREAD = {"sku": "BREAD", "name": "Bread", "price_minor": 400, "currency": "AED",
         "barcode": "6291041500220", "active": True, "updated_at": "2026-01-01T00:00:00+00:00"}


class FakeBackOffice:
    """The back office's answers for two members; ``offline = True`` makes every call fail."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self.key = key
        self.offline = False
        self.members = {
            LAYLA: {"id": 1, "name": "Layla Haddad", "balance": 800, "phone": "+971501234567"},
            OMAR: {"id": 2, "name": "Omar Saleh", "balance": 0, "phone": "+971507654321"},
        }
        self.commits: dict[str, dict] = {}
        self.quotes: list[dict] = []
        self._basket_ids = itertools.count(100)

    def _up(self, what: str) -> None:
        if self.offline:
            raise Offline(f"{what}: connection refused")

    def identify(self, card_number: str) -> dict:
        self._up("identify")
        member = self.members.get(card_number)
        if member is None:
            raise Refused(404, "unknown_card", {"code": "unknown_card", "detail": "unknown card"})
        return {"card_number": card_number,
                "member": {"id": member["id"], "name": member["name"], "language": "en"},
                "tier": {"code": "gold", "name": "Gold"}, "balance": member["balance"],
                "redeemable_points": member["balance"], "coupons": []}

    def find_member(self, phone: str, region: str | None = None) -> dict:
        self._up("find_member")
        for member in self.members.values():
            if member["phone"] == phone:
                return {"id": member["id"], "name": member["name"], "phone": phone,
                        "language": "en"}
        raise Refused(404, "unknown_member", {"code": "unknown_member", "title": "no member"})

    def _member_of(self, body: dict) -> dict:
        if body.get("card_number"):
            return self.members[body["card_number"]]
        return next(m for m in self.members.values() if m["id"] == body["member_id"])

    def quote(self, body: dict) -> dict:
        self._up("quote")
        self.quotes.append(body)
        member = self._member_of(body)
        subtotal = sum(line["quantity"] * line["unit_price_minor"] for line in body["lines"])
        discount = 100 * len(body.get("coupon_codes") or [])
        most = min(member["balance"], subtotal - discount)
        redeem = body.get("redeem_points", 0)
        if redeem > most:
            raise Refused(422, "redemption_too_large", {"detail": f"at most {most} points"})
        return {"member_id": member["id"], "currency": body["currency"],
                "subtotal_minor": subtotal, "coupon_discount_minor": discount,
                "redeem_points": redeem, "payable_minor": subtotal - discount - redeem,
                "points_earned": subtotal // 100, "balance": member["balance"],
                "max_redeemable_points": most, "point_value_minor": 1}

    def commit(self, body: dict, idempotency_key: str) -> dict:
        self._up("commit")
        if idempotency_key not in self.commits:
            priced = self.quote(body)
            member = self._member_of(body)
            member["balance"] += priced["points_earned"] - body.get("redeem_points", 0)
            self.commits[idempotency_key] = {
                "basket_id": next(self._basket_ids), "balance_after": member["balance"],
                "points_earned": priced["points_earned"],
                "points_redeemed": body.get("redeem_points", 0),
                "payable_minor": priced["payable_minor"], "currency": body["currency"]}
        return self.commits[idempotency_key]

    def commit_batch(self, items: list[tuple[str, dict]]) -> list[dict]:
        self._up("commit_batch")
        return [{"idempotency_key": key, "status": 201, "body": self.commit(body, key)}
                for key, body in items]

    def products(self, updated_since: str | None = None):  # type: ignore[no-untyped-def]
        self._up("products")
        yield from (MILK, BREAD)

    def public_key(self) -> str:
        self._up("public_key")
        return signing.public_key_pem(self.key)

    def coupon(self, member_id: int, *, offer: dict | None = None,
               valid_to: dt.datetime | None = None, key: Ed25519PrivateKey | None = None) -> str:
        """A signed coupon payload, as the back office prints it in a QR code."""
        return signing.sign_payload(
            key or self.key, code=codes.new_code(), member_id=member_id,
            offer=offer or {"kind": "percent_off", "percent": 10},
            valid_from=NOW - dt.timedelta(days=1), valid_to=valid_to or NOW + dt.timedelta(days=30),
            store_id=None)


class Clock:
    def __init__(self) -> None:
        # The cache stamps fetched_at with the real clock: start from the real time of this
        # test, not of the import (a long suite runs past the five minutes of allowed skew).
        self.now = dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def back_office() -> FakeBackOffice:
    return FakeBackOffice(Ed25519PrivateKey.generate())


@pytest.fixture
def outbox(tmp_path: Path):  # type: ignore[no-untyped-def]
    box = Outbox(tmp_path / "outbox.sqlite3")
    yield box
    box.close()


@pytest.fixture
def cache(tmp_path: Path, back_office: FakeBackOffice):  # type: ignore[no-untyped-def]
    store = Cache(tmp_path / "cache.sqlite3")
    store.put_products([MILK, BREAD])
    yield store
    store.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def slips() -> list:
    return []


@pytest.fixture
def session(back_office, outbox, cache, clock, slips) -> TillSession:  # type: ignore[no-untyped-def]
    return TillSession(client=back_office, outbox=outbox, cache=cache, print_slip=slips.append,
                       settings=TillSettings(currency="AED", commit_timeout=2.0,
                                             offline_redeem_cap=300),
                       clock=clock)
