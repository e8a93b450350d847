"""``loyalty import baskets``: a retailer's purchase history, in set-based SQL.

Each line is checked as it is read (:class:`LineChecker`), and good lines go to a staging
table (:mod:`loyalty.imports.staging`); then a handful of ``INSERT ... SELECT`` statements
write the baskets and their lines, never one ORM object per line.

Rules, written down:

* A bad line rejects its whole basket (its other lines too) and nothing else.  The basket's
  lines must agree on member, store and time; a ``currency`` column, if the file has one, must
  be the store's on every line.
* A time without a zone is the store's local time; one with a zone is taken as given.  Times
  are stored in UTC, as checkout stores them.
* A basket whose store, member or product is unknown is skipped and reported, or with
  ``create_missing`` the missing ones are created first (stores with the currency given,
  members with only their reference, products in the "imported" category at price 0).
* An empty ``member_ref`` is an anonymous sale.
* Imported baskets earn no points: their ``points_earned`` is 0 and the ledger is not touched
  (opening balances come from ``loyalty import balances``), unless asked to
  (:mod:`loyalty.imports.earning`).
* Each basket is keyed by its ``basket_id`` in the file (``basket.import_ref``, unique): a file
  imported again, or again after a killed run (one transaction: it left nothing), adds only
  what is not there yet.
* A line's amount is what was paid for it; its unit price is the amount divided by the
  quantity, rounded up, and the rounding shows as the line discount.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import bindparam, insert, select, text
from sqlalchemy.orm import Session

from loyalty.catalog.models import Category
from loyalty.db import UTCDateTime, utcnow
from loyalty.errors import InvalidInput
from loyalty.imports import values
from loyalty.imports.earning import earn_on_imported
from loyalty.imports.reading import EXTRA_FIELDS
from loyalty.imports.staging import Stager, drop_temp_tables
from loyalty.ledger.models import Account, AccountKind
from loyalty.stores.models import Store
from loyalty.stores.services import create_store

COLUMNS = ("member_ref", "basket_id", "occurred_at", "store", "sku", "quantity",
           "amount_minor")
IMPORTED_CATEGORY = ("imported", "Imported, not yet classified")
MAX_ERRORS_KEPT = 1000  # a file of nothing but bad lines must not fill the memory with reasons
PROGRESS_EVERY = 10_000


@dataclass
class BasketImportReport:
    baskets_loaded: int = 0
    lines_loaded: int = 0
    baskets_present: int = 0  # imported before: left as they are
    lines_present: int = 0
    baskets_skipped: int = 0
    lines_skipped: int = 0
    lines_read: int = 0
    created: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    errors_total: int = 0
    points_earned: int | None = None  # None: not asked to earn

    def summary(self) -> str:
        made = ", ".join(f"{n} {kind}" for kind, n in self.created.items() if n)
        return (f"baskets: {self.baskets_loaded} loaded, {self.baskets_present} already "
                f"imported, {self.baskets_skipped} skipped; lines: {self.lines_loaded} "
                f"loaded, {self.lines_present} already imported, {self.lines_skipped} skipped"
                + (f"; created {made}" if made else "")
                + (f"; {self.points_earned} points earned"
                   if self.points_earned is not None else ""))

    def error(self, message: str) -> None:
        self.errors_total += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(message)


@dataclass
class _Head:
    """What every line of one basket must agree on, from its first line."""

    place: int
    member_ref: str | None
    store: str
    raw_time: Any
    occurred_at: dt.datetime  # naive UTC
    currency: str | None
    lines: int = 0  # good lines so far: the next one's line_no is this plus one


@dataclass(frozen=True)
class StoreInfo:
    currency: str
    zone: ZoneInfo | None  # None: unknown store, times are not converted (the basket is
    # skipped unless the store is created, with the zone given)


class LineChecker:
    """Checks lines one at a time; remembers each basket's head and the rejected baskets."""

    def __init__(self, stores: dict[str, StoreInfo], new_store: StoreInfo | None,
                 has_currency: bool, report: BasketImportReport, name: str, place: str) -> None:
        self.stores, self.new_store, self.has_currency = stores, new_store, has_currency
        self.report, self.name, self.place = report, name, place
        self.heads: dict[str, _Head] = {}
        self.seen: set[str] = set()  # every basket id met, good or bad
        self.rejected: set[str] = set()
        self.rejected_lines = 0  # bad lines themselves, not yet-good lines of their baskets

    def check(self, number: int, row: dict[str, Any]) -> tuple[Any, ...] | None:
        """The staging row of a good line; None for a bad one (reported, basket rejected)."""
        basket_ref = None
        try:
            basket_ref = values.text(row, "basket_id")
            self.seen.add(basket_ref)
            if EXTRA_FIELDS in row:
                raise values.BadValue("more fields than the header has columns")
            return self._line(number, basket_ref, row)
        except values.BadValue as exc:
            self.rejected_lines += 1
            if basket_ref is not None:
                self.rejected.add(basket_ref)
            self.report.error(f"{self.name}: {self.place} {number}: {exc}"
                              + (f" (basket {basket_ref} skipped)" if basket_ref else ""))
            return None

    def _line(self, number: int, basket_ref: str, row: dict[str, Any]) -> tuple[Any, ...] | None:
        member_ref = values.text(row, "member_ref", required=False)
        store = values.text(row, "store", max_length=32)
        sku = values.text(row, "sku")
        quantity = values.whole_number(row, "quantity")
        if quantity == 0:
            raise values.BadValue("quantity 0: a line sells at least one unit")
        amount = values.whole_number(row, "amount_minor")
        currency = (values.text(row, "currency", required=False, max_length=3)
                    if self.has_currency else None)
        head = self.heads.get(basket_ref)
        raw_time = row.get("occurred_at")
        if head is None:
            occurred_at = self._utc(values.timestamp(row, "occurred_at"), store)
            head = _Head(number, member_ref, store, raw_time, occurred_at,
                         currency and currency.upper())
            self._check_currency(head, currency)
            self.heads[basket_ref] = head
        else:
            self._check_agrees(head, member_ref, store, raw_time, currency, row)
        if basket_ref in self.rejected:
            return None
        head.lines += 1
        return (head.lines, basket_ref, member_ref, store, sku, quantity, amount,
                head.occurred_at)

    def _utc(self, when: dt.datetime, store: str) -> dt.datetime:
        if when.tzinfo is None:
            info = self.stores.get(store) or self.new_store
            if info is None or info.zone is None:
                return when  # the store is unknown: the basket will be skipped anyway
            when = when.replace(tzinfo=info.zone)
        return when.astimezone(dt.UTC).replace(tzinfo=None)

    def _check_currency(self, head: _Head, currency: str | None) -> None:
        if not currency:
            return
        info = self.stores.get(head.store) or self.new_store
        if info is not None and currency.upper() != info.currency:
            raise values.BadValue(f"currency {currency.upper()} is not store {head.store}'s "
                                  f"({info.currency})")

    def _check_agrees(self, head: _Head, member_ref: str | None, store: str, raw_time: Any,
                      currency: str | None, row: dict[str, Any]) -> None:
        where = f"{self.place} {head.place}"
        if store != head.store:
            raise values.BadValue(f"store {store!r} differs from {head.store!r} on {where}")
        if member_ref != head.member_ref:
            raise values.BadValue(
                f"member_ref {member_ref!r} differs from {head.member_ref!r} on {where}")
        if currency and head.currency and currency.upper() != head.currency:
            raise values.BadValue(
                f"mixed currency: {currency.upper()} here, {head.currency} on {where}")
        self._check_currency(head, currency)
        if raw_time != head.raw_time and self._utc(
                values.timestamp(row, "occurred_at"), store) != head.occurred_at:
            raise values.BadValue(f"occurred_at differs from the basket's on {where}")


def known_stores(session: Session) -> dict[str, StoreInfo]:
    return {code: StoreInfo(currency, ZoneInfo(zone)) for code, currency, zone in
            session.execute(select(Store.code, Store.currency, Store.timezone))}


def store_for_new(currency: str | None, timezone: str) -> StoreInfo | None:
    """How lines of a store to be created are read (None: stores are not created)."""
    if currency is None:
        return None
    try:
        return StoreInfo(currency.upper(), ZoneInfo(timezone))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"unknown time zone {timezone!r}") from exc


def import_baskets(
    session: Session, rows: Iterable[tuple[int, dict[str, Any]]], *, name: str, place: str,
    columns: tuple[str, ...], create_missing: bool = False, currency: str | None = None,
    timezone: str = "UTC", progress: Callable[[int], None] | None = None,
    earn_lifetime_days: int | None = None,
) -> BasketImportReport:
    """Import baskets and their lines (see the module's rules).  Flushes, never commits.

    ``progress(n)`` is called every few thousand lines with the lines read so far.  With
    ``earn_lifetime_days`` the baskets loaded earn points after all
    (:mod:`loyalty.imports.earning`), in lots of that lifetime.
    """
    report = BasketImportReport()
    stores = known_stores(session)
    new_store = store_for_new(currency, timezone) if create_missing else None
    checker = LineChecker(stores, new_store, "currency" in columns, report, name, place)
    conn = session.connection()
    stager = Stager(conn)
    try:
        for number, row in rows:
            report.lines_read += 1
            staged = checker.check(number, row)
            if staged is not None:
                stager.add(staged)
            if progress is not None and report.lines_read % PROGRESS_EVERY == 0:
                progress(report.lines_read)
    except BaseException:
        stager.abort()
        raise
    stager.close()
    if progress is not None:
        progress(report.lines_read)
    _load(session, checker, report, create_missing=create_missing, currency=currency,
          timezone=timezone)
    if earn_lifetime_days is not None:
        report.points_earned = earn_on_imported(session, earn_lifetime_days)
    drop_temp_tables(conn)
    return report


def _load(session: Session, checker: LineChecker, report: BasketImportReport, *,
          create_missing: bool, currency: str | None, timezone: str) -> None:
    conn = session.connection()
    if checker.rejected:
        conn.execute(text("INSERT INTO import_basket_bad (basket_ref) VALUES (:ref)"),
                     [{"ref": ref} for ref in checker.rejected])
        conn.execute(text("DELETE FROM import_basket_stage WHERE basket_ref IN "
                          "(SELECT basket_ref FROM import_basket_bad)"))
    _missing_stores(session, report, create_missing, currency, timezone, checker.name)
    _missing_members(session, report, create_missing, checker.name)
    _missing_products(session, report, create_missing, checker.name)
    present = conn.execute(text(
        "SELECT COUNT(DISTINCT l.basket_ref), COUNT(*) FROM import_basket_stage l "
        "WHERE EXISTS (SELECT 1 FROM basket b WHERE b.import_ref = l.basket_ref)")).one()
    conn.execute(text(
        "DELETE FROM import_basket_stage WHERE EXISTS "
        "(SELECT 1 FROM basket b WHERE b.import_ref = import_basket_stage.basket_ref)"))
    report.baskets_present, report.lines_present = int(present[0]), int(present[1])
    report.baskets_loaded = _insert_baskets(session)
    report.lines_loaded = _insert_lines(session)
    report.baskets_skipped = len(checker.seen) - report.baskets_loaded - report.baskets_present
    report.lines_skipped = report.lines_read - report.lines_loaded - report.lines_present


# Per kind of reference: the unknown values with the baskets each costs, and the statement
# that drops those baskets from the staging table.
_UNKNOWN = {
    "store": (
        "SELECT l.store_code, COUNT(DISTINCT l.basket_ref) FROM import_basket_stage l "
        "WHERE NOT EXISTS (SELECT 1 FROM store s WHERE s.code = l.store_code) "
        "GROUP BY l.store_code ORDER BY l.store_code",
        "DELETE FROM import_basket_stage WHERE NOT EXISTS "
        "(SELECT 1 FROM store s WHERE s.code = import_basket_stage.store_code)",
    ),
    "member": (
        "SELECT l.member_ref, COUNT(DISTINCT l.basket_ref) FROM import_basket_stage l "
        "WHERE l.member_ref IS NOT NULL AND NOT EXISTS "
        "(SELECT 1 FROM member m WHERE m.external_ref = l.member_ref) "
        "GROUP BY l.member_ref ORDER BY l.member_ref",
        "DELETE FROM import_basket_stage WHERE member_ref IS NOT NULL AND NOT EXISTS "
        "(SELECT 1 FROM member m WHERE m.external_ref = import_basket_stage.member_ref)",
    ),
    "product": (
        "SELECT l.sku, COUNT(DISTINCT l.basket_ref) FROM import_basket_stage l "
        "WHERE NOT EXISTS (SELECT 1 FROM product p WHERE p.sku = l.sku) "
        "GROUP BY l.sku ORDER BY l.sku",
        # A basket with one unknown product goes whole: all its lines, not only that one.
        "DELETE FROM import_basket_stage WHERE basket_ref IN (SELECT l.basket_ref "
        "FROM import_basket_stage l WHERE NOT EXISTS "
        "(SELECT 1 FROM product p WHERE p.sku = l.sku))",
    ),
}


def _skip_unknown(session: Session, report: BasketImportReport, name: str, kind: str) -> None:
    """Report each unknown value with the baskets it costs, then drop those baskets (a
    basket's lines share their store and member, so dropping the lines drops the basket)."""
    report_sql, delete_sql = _UNKNOWN[kind]
    conn = session.connection()
    rows = conn.execute(text(report_sql)).all()
    for value, baskets in rows:
        report.error(f"{name}: unknown {kind} {value!r}: {baskets} basket(s) skipped "
                     "(--create-missing creates it)")
    if rows:
        conn.execute(text(delete_sql))


def _missing_stores(session: Session, report: BasketImportReport, create: bool,
                    currency: str | None, timezone: str, name: str) -> None:
    if not create:
        _skip_unknown(session, report, name, "store")
        return
    codes = [code for code, _n in session.execute(text(_UNKNOWN["store"][0]))]
    if codes and currency is None:
        raise InvalidInput(f"--currency is needed to create the store(s) {', '.join(codes)}; "
                           "nothing imported")
    for code in codes:
        create_store(session, code, code, currency or "", timezone, actor="import")
    report.created["stores"] = len(codes)


def _missing_members(session: Session, report: BasketImportReport, create: bool,
                     name: str) -> None:
    if not create:
        _skip_unknown(session, report, name, "member")
        return
    conn = session.connection()
    now = bindparam("now", utcnow(), type_=UTCDateTime())
    member_ids = conn.execute(text(
        "INSERT INTO member (name, external_ref, language, preferred_channel, created_at) "
        "SELECT l.member_ref, l.member_ref, 'en', 'sms', :now FROM (SELECT DISTINCT member_ref "
        "FROM import_basket_stage WHERE member_ref IS NOT NULL) l WHERE NOT EXISTS "
        "(SELECT 1 FROM member m WHERE m.external_ref = l.member_ref) RETURNING id"
    ).bindparams(now)).scalars().all()
    # Every member has a points account, as at enrolment.
    if member_ids:
        conn.execute(insert(Account.__table__),
                     [{"kind": AccountKind.MEMBER, "member_id": member_id, "balance": 0}
                      for member_id in member_ids])
    created = len(member_ids)
    report.created["members"] = created


def _missing_products(session: Session, report: BasketImportReport, create: bool,
                      name: str) -> None:
    if not create:
        _skip_unknown(session, report, name, "product")
        return
    conn = session.connection()
    if not conn.execute(text(_UNKNOWN["product"][0])).first():
        return
    category_id = _imported_category(session)
    now = bindparam("now", utcnow(), type_=UTCDateTime())
    report.created["products"] = conn.execute(text(
        "INSERT INTO product (sku, name, category_id, price_minor, currency, active, "
        "updated_at) SELECT l.sku, l.sku, :category_id, 0, MIN(s.currency), :active, :now "
        "FROM import_basket_stage l JOIN store s ON s.code = l.store_code "
        "WHERE NOT EXISTS (SELECT 1 FROM product p WHERE p.sku = l.sku) GROUP BY l.sku"
    ).bindparams(now, category_id=category_id, active=True)).rowcount


def _imported_category(session: Session) -> int:
    code, label = IMPORTED_CATEGORY
    category_id = session.scalar(select(Category.id).where(Category.code == code))
    if category_id is None:
        category = Category(code=code, name=label)
        session.add(category)
        session.flush()
        category_id = category.id
    return category_id


def _insert_baskets(session: Session) -> int:
    """One basket per staged basket id, as checkout writes one: paid in full, no points."""
    now = bindparam("now", utcnow(), type_=UTCDateTime())
    return session.connection().execute(text("""INSERT INTO basket (store_id, member_id,
            currency, subtotal_minor, coupon_discount_minor, points_redeemed,
            redeemed_value_minor, payable_minor, points_earned, bonus_points, occurred_at,
            received_at, import_ref)
        SELECT s.id, m.id, s.currency, SUM(l.amount_minor), 0, 0, 0, SUM(l.amount_minor), 0, 0,
            MIN(l.occurred_at), :now, l.basket_ref
        FROM import_basket_stage l JOIN store s ON s.code = l.store_code
        LEFT JOIN member m ON m.external_ref = l.member_ref
        GROUP BY l.basket_ref, s.id, s.currency, m.id""").bindparams(now)).rowcount


def _insert_lines(session: Session) -> int:
    """The staged lines of the baskets just written (numbered in file order within each as
    they were read)."""
    return session.connection().execute(text("""INSERT INTO basket_line (basket_id, line_no,
            sku, product_id, category_id, quantity, unit_price_minor, discount_minor,
            coupon_discount_minor, net_minor, points_earned, points_redeemed,
            returned_quantity)
        SELECT b.id, l.line_no, l.sku,
            p.id, p.category_id, l.quantity, (l.amount_minor + l.quantity - 1) / l.quantity,
            (l.amount_minor + l.quantity - 1) / l.quantity * l.quantity - l.amount_minor, 0,
            l.amount_minor, 0, 0, 0
        FROM import_basket_stage l JOIN basket b ON b.import_ref = l.basket_ref
        JOIN product p ON p.sku = l.sku""")).rowcount
