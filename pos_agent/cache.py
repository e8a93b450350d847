"""The till's local caches: members (by card and by phone), the catalog, the public key.

A second SQLite file, next to the outbox but not inside it, because the two differ in worth:

- the outbox holds sales that exist nowhere else; the cache holds copies of what the back office
  knows, so it can be deleted and rebuilt at any time without risk to a queued sale;
- the cache is written in bulk (a catalog refresh of thousands of products) and does not need
  an fsync per write (``synchronous=NORMAL``), while every outbox add does;
- SQLite has one writer per file: a catalog refresh never holds up the ``add`` of a sale.

What may be stored: loyalty card numbers (they are not payment cards) and the back office's
answers about them.  A number that :func:`loyalty.cards.numbers.looks_like_payment_card` flags
is refused with ``ValueError`` before anything is written, and the message never holds it.

Every cached member answer carries ``fetched_at`` (UTC): the offline redemption rule
(:func:`pos_agent.offline.offline_redeemable`) gives nothing for an answer over 24 h old.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

from loyalty.cards.numbers import looks_like_payment_card
from pos_agent.localdb import LocalFile, from_iso, iso, utcnow
from pos_agent.symbologies.gtin import gtin14

_SCHEMA = """
CREATE TABLE IF NOT EXISTS member_by_card (
    card_number TEXT PRIMARY KEY,
    member_id INTEGER,
    answer TEXT NOT NULL,
    fetched_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS member_by_card_member ON member_by_card (member_id, fetched_at);
CREATE TABLE IF NOT EXISTS member_by_phone (
    phone TEXT PRIMARY KEY,
    member_id INTEGER NOT NULL,
    answer TEXT NOT NULL,
    fetched_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS product (
    sku TEXT PRIMARY KEY,
    barcode TEXT,
    active INTEGER NOT NULL,
    updated_at TEXT,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS product_barcode ON product (barcode);
CREATE TABLE IF NOT EXISTS setting (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


class CatalogSource(Protocol):
    def products(self, updated_since: str | None = None) -> Iterator[dict]: ...


class Cache(LocalFile):
    """Local copies of back-office answers.  Thread-safe; one file per till."""

    def __init__(self, path: Path | str) -> None:
        super().__init__(path, _SCHEMA, synchronous="NORMAL")

    # -- members ------------------------------------------------------------------------------

    def put_member(self, card_number: str, answer: dict, *, now: dt.datetime | None = None) -> None:
        """Remember the answer to ``identify(card_number)``, stamped ``fetched_at`` = now."""
        _refuse_payment_card(card_number)
        member_id = (answer.get("member") or {}).get("id")
        with self._tx() as db:
            db.execute("INSERT INTO member_by_card (card_number, member_id, answer, fetched_at) "
                       "VALUES (?, ?, ?, ?) ON CONFLICT (card_number) DO UPDATE SET "
                       "member_id = excluded.member_id, answer = excluded.answer, "
                       "fetched_at = excluded.fetched_at",
                       (card_number, member_id, json.dumps(answer), iso(now or utcnow())))

    def get_member(self, card_number: str) -> tuple[dict, dt.datetime] | None:
        """The cached answer for this card and when it was fetched, or None."""
        if looks_like_payment_card(card_number):
            return None
        row = self._one("SELECT answer, fetched_at FROM member_by_card WHERE card_number = ?",
                        (card_number,))
        return _answer(row)

    def member_by_id(self, member_id: int) -> tuple[dict, dt.datetime] | None:
        """The freshest cached card answer for this member (e.g. after a phone lookup)."""
        row = self._one("SELECT answer, fetched_at FROM member_by_card WHERE member_id = ? "
                        "ORDER BY fetched_at DESC LIMIT 1", (member_id,))
        return _answer(row)

    def put_member_by_phone(self, phone: str, member: dict, *,
                            now: dt.datetime | None = None) -> None:
        """Remember the answer to ``find_member(phone)`` under the phone as typed (normalised
        for spaces and dashes) and under the member's own E.164 phone."""
        keys = {_phone_key(phone), _phone_key(str(member.get("phone") or ""))} - {""}
        with self._tx() as db:
            db.executemany("INSERT INTO member_by_phone (phone, member_id, answer, fetched_at) "
                           "VALUES (?, ?, ?, ?) ON CONFLICT (phone) DO UPDATE SET "
                           "member_id = excluded.member_id, answer = excluded.answer, "
                           "fetched_at = excluded.fetched_at",
                           [(k, int(member["id"]), json.dumps(member), iso(now or utcnow()))
                            for k in keys])

    def member_by_phone(self, phone: str) -> tuple[dict, dt.datetime] | None:
        row = self._one("SELECT answer, fetched_at FROM member_by_phone WHERE phone = ?",
                        (_phone_key(phone),))
        return _answer(row)

    # -- catalog ------------------------------------------------------------------------------

    def put_products(self, products: Iterable[dict]) -> int:
        """Insert or replace products by SKU (one transaction); returns how many."""
        rows = [(p["sku"], barcode_key(p.get("barcode")), 1 if p.get("active", True) else 0,
                 p.get("updated_at"), json.dumps(p)) for p in products]
        with self._tx() as db:
            db.executemany("INSERT INTO product (sku, barcode, active, updated_at, data) "
                           "VALUES (?, ?, ?, ?, ?) ON CONFLICT (sku) DO UPDATE SET "
                           "barcode = excluded.barcode, active = excluded.active, "
                           "updated_at = excluded.updated_at, data = excluded.data", rows)
        return len(rows)

    def product_by_sku(self, sku: str) -> dict | None:
        """The product with this SKU, if cached and still on sale."""
        row = self._one("SELECT data FROM product WHERE sku = ? AND active = 1", (sku,))
        return json.loads(row[0]) if row else None

    def product_by_barcode(self, barcode: str) -> dict | None:
        """The product with this barcode; EAN-8/13, UPC-A and GTIN-14 of one item all match."""
        key = barcode_key(barcode)
        if key is None:
            return None
        row = self._one("SELECT data FROM product WHERE barcode = ? AND active = 1", (key,))
        return json.loads(row[0]) if row else None

    def product(self, code: str) -> dict | None:
        """By SKU, else by barcode."""
        return self.product_by_sku(code) or self.product_by_barcode(code)

    def products(self, limit: int, *, with_barcode: bool = False) -> list[dict]:
        """Up to ``limit`` products on sale, in the order the catalog sent them."""
        rows = self._read("SELECT data FROM product WHERE active = 1 AND (barcode IS NOT NULL "
                          "OR NOT ?) ORDER BY rowid LIMIT ?", (with_barcode, limit))
        return [json.loads(row[0]) for row in rows]

    def summary(self) -> dict[str, Any]:
        """For ``pos-agent status``: products and members cached, when the catalog was read."""
        members = self._one("SELECT count(*) FROM member_by_card", ())
        return {"products": self.product_count(), "members": int(members[0]) if members else 0,
                "catalog_refreshed_at": self._setting("catalog_refreshed_at")}

    def product_count(self) -> int:
        row = self._one("SELECT count(*) FROM product", ())
        return int(row[0]) if row else 0

    def catalog_updated_since(self) -> str | None:
        """The newest ``updated_at`` seen: where the next refresh starts."""
        return self._setting("catalog_updated_since")

    def refresh_catalog(self, client: CatalogSource) -> int:
        """Fetch products changed since the last refresh; returns how many were stored.

        Resumes from the newest ``updated_at`` seen (inclusive: the boundary products come
        again, harmlessly).  Pages are stored as they arrive, and the mark moves with each page,
        so a refresh cut short by the network keeps what it fetched.  Raises whatever the
        client raises (:class:`~pos_agent.client.Offline`) after storing what came before.
        """
        since = self.catalog_updated_since()
        stored, page = 0, []
        for product in client.products(since):
            page.append(product)
            if len(page) >= 200:
                stored += self._store_page(page)
                page = []
        if page:
            stored += self._store_page(page)
        self._put_setting("catalog_refreshed_at", iso(utcnow()))
        return stored

    def _store_page(self, page: list[dict]) -> int:
        count = self.put_products(page)
        marks = [_aware_iso(p["updated_at"]) for p in page if p.get("updated_at")]
        if marks:
            newest = max(marks, key=from_iso)
            current = self.catalog_updated_since()
            if current is None or from_iso(newest) > from_iso(current):
                self._put_setting("catalog_updated_since", newest)
        return count

    # -- public key ---------------------------------------------------------------------------

    def put_public_key(self, pem: str) -> None:
        if "BEGIN PUBLIC KEY" not in pem:
            raise ValueError("not a PEM public key")
        self._put_setting("public_key_pem", pem)

    def public_key(self) -> str | None:
        """The programme's coupon-signing public key (PEM), once fetched."""
        return self._setting("public_key_pem")

    def refresh_public_key(self, client: Any) -> str:
        pem = str(client.public_key())
        self.put_public_key(pem)
        return pem

    # -- settings -----------------------------------------------------------------------------

    def _setting(self, name: str) -> str | None:
        row = self._one("SELECT value FROM setting WHERE name = ?", (name,))
        return row[0] if row else None

    def _put_setting(self, name: str, value: str) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO setting (name, value) VALUES (?, ?) ON CONFLICT (name) "
                       "DO UPDATE SET value = excluded.value", (name, value))


def barcode_key(barcode: str | None) -> str | None:
    """One key for one item: a GTIN (EAN-8, UPC-A, EAN-13, GTIN-14) in its GTIN-14 form, as
    the scanner keys it (:func:`~pos_agent.symbologies.gtin.gtin14`); a shop's own code as is."""
    if not barcode:
        return None
    text = barcode.strip()
    return gtin14(text) or text


def _answer(row: tuple[Any, ...] | None) -> tuple[dict, dt.datetime] | None:
    """A cached member answer row (answer, fetched_at) as the getters return it."""
    return (json.loads(row[0]), from_iso(row[1])) if row else None


def _phone_key(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit() or ch == "+")


def _refuse_payment_card(number: str) -> None:
    if looks_like_payment_card(number):
        raise ValueError("a payment card number is never stored")


def _aware_iso(text: str) -> str:
    """The back office sends UTC; a time without an offset is taken as UTC."""
    return from_iso(text).isoformat()
