"""The catalog: importing products and categories from a CSV file, and reading it for tills.

Import rules (``loyalty catalog import FILE.csv``):

* columns ``sku,name,category_code,category_name,price_minor,currency[,barcode]``, in any order;
  a missing or unknown column refuses the whole file before anything is written;
* each bad row is rejected with its line number and the problem; the good rows are imported;
* a SKU already in the catalog is updated only where a value differs, so importing the same
  file twice changes nothing the second time (and ``updated_at`` stays put for tills' caches);
* the first row of a SKU (or a barcode) in the file wins: later duplicates are rejected;
* a category is created from its first row; a later row naming it differently is rejected,
  because a category has one name;
* products absent from the file are left alone: a file may be a partial update.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from sqlalchemy import case, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from loyalty.catalog.models import Category, Product, UnknownSku
from loyalty.errors import InvalidInput
from loyalty.money import KNOWN_CURRENCIES
from loyalty.stores.models import Store

REQUIRED_COLUMNS = ("sku", "name", "category_code", "category_name", "price_minor", "currency")
OPTIONAL_COLUMNS = ("barcode",)
# The same ceiling as a till's line price: anything above is a typing error.
MAX_PRICE_MINOR = 100_000_000
_LIMITS = {"sku": 64, "name": 200, "category_code": 64, "category_name": 200, "barcode": 64}
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
_CHUNK = 500


@dataclass(frozen=True)
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    categories_created: int = 0
    categories_renamed: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.errors)

    def summary(self) -> str:
        return (f"created {self.created}, updated {self.updated}, unchanged {self.unchanged}, "
                f"rejected {self.rejected}; categories created {self.categories_created}, "
                f"renamed {self.categories_renamed}")


@dataclass(frozen=True)
class CatalogRow:
    """One valid row, normalised."""

    line: int
    sku: str
    name: str
    category_code: str
    category_name: str
    price_minor: int
    currency: str
    barcode: str | None


class RowRejected(ValueError):
    """A row's problem, in words a person fixing the file understands."""


def read_catalog_csv(stream: IO[str]) -> Iterator[tuple[int, dict[str, str | None]]]:
    """Yield ``(line number, row)`` from a catalog CSV; refuse a file with bad columns.

    Raises InvalidInput if the header lacks a required column or names an unknown one.
    """
    reader = csv.DictReader(stream)
    header = [h.strip() for h in (reader.fieldnames or [])]
    if not header:
        raise InvalidInput("the file is empty: expected a header line")
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    unknown = [c for c in header if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if missing or unknown:
        parts = [f"missing columns: {', '.join(missing)}"] if missing else []
        parts += [f"unknown columns: {', '.join(unknown)}"] if unknown else []
        raise InvalidInput("line 1: " + "; ".join(parts))
    reader.fieldnames = header
    for row in reader:
        yield reader.line_num, row  # type: ignore[misc]


def parse_row(line: int, raw: Mapping[str, str | None]) -> CatalogRow:
    """Validate and normalise one raw row; RowRejected says what is wrong."""
    if None in raw:
        raise RowRejected("more fields than the header has columns")
    values = {k: (v or "").strip() for k, v in raw.items()}
    empty = [c for c in REQUIRED_COLUMNS if not values.get(c)]
    if empty:
        raise RowRejected(f"missing {', '.join(empty)}")
    for column, limit in _LIMITS.items():
        if len(values.get(column, "")) > limit:
            raise RowRejected(f"{column} is longer than {limit} characters")
    for column in ("sku", "category_code"):
        if not _CODE.match(values[column]):
            raise RowRejected(f"{column} {values[column]!r} may hold only letters, digits "
                              "and . _ / -")
    barcode = values.get("barcode") or None
    if barcode and not barcode.isalnum():
        raise RowRejected(f"barcode {barcode!r} may hold only letters and digits")
    currency = values["currency"].upper()
    if currency not in KNOWN_CURRENCIES:
        raise RowRejected(f"unknown currency {values['currency']!r}")
    return CatalogRow(line, values["sku"], values["name"], values["category_code"],
                      values["category_name"], _price(values["price_minor"]), currency, barcode)


def _price(text: str) -> int:
    if not re.fullmatch(r"[+-]?\d+", text):
        raise RowRejected(f"bad price_minor {text!r}: a whole number of minor units "
                          "(1250 for 12.50), without a decimal point")
    price = int(text)
    if price < 0:
        raise RowRejected(f"negative price_minor {price}")
    if price > MAX_PRICE_MINOR:
        raise RowRejected(f"price_minor {price} is above the ceiling of {MAX_PRICE_MINOR}")
    return price


def import_catalog(
    session: Session, rows: Iterable[tuple[int, Mapping[str, str | None]]]
) -> ImportReport:
    """Create or update products (and their categories) from ``(line, row)`` pairs.

    Effects: products created or updated where a value differs; categories created on first
    use.  Invariants: bad rows write nothing and are reported; a second import of the same rows
    changes nothing.  Flushes, never commits.
    """
    report = ImportReport()
    good = _without_taken_barcodes(session, _valid_rows(rows, report), report)
    categories = _categories(session, good, report)
    products = _existing(session, Product.sku, [r.sku for r in good])
    for row in good:
        _apply(session, row, categories, products, report)
    session.flush()
    report.errors.sort(key=lambda e: e.line)
    return report


def _without_taken_barcodes(
    session: Session, rows: list[CatalogRow], report: ImportReport
) -> list[CatalogRow]:
    """Reject rows giving a product a barcode another product holds already."""
    owners = {p.barcode: p.sku for p in _existing(
        session, Product.barcode, [r.barcode for r in rows if r.barcode]).values()}
    kept = []
    for row in rows:
        owner = owners.get(row.barcode) if row.barcode else None
        if owner is not None and owner != row.sku:
            report.errors.append(RowError(
                row.line, f"barcode {row.barcode!r} belongs to product {owner!r} already"))
        else:
            kept.append(row)
    return kept


def _valid_rows(
    rows: Iterable[tuple[int, Mapping[str, str | None]]], report: ImportReport
) -> list[CatalogRow]:
    good: list[CatalogRow] = []
    first_line: dict[tuple[str, str], int] = {}
    category_names: dict[str, tuple[str, int]] = {}
    for line, raw in rows:
        try:
            row = parse_row(line, raw)
            for key, value in (("SKU", row.sku), ("barcode", row.barcode)):
                if value is not None and (key, value) in first_line:
                    raise RowRejected(f"duplicate {key} {value!r} (first on line "
                                      f"{first_line[key, value]})")
            name, where = category_names.setdefault(row.category_code,
                                                    (row.category_name, line))
            if name != row.category_name:
                raise RowRejected(f"category {row.category_code!r} is named {name!r} on line "
                                  f"{where}, {row.category_name!r} here")
        except RowRejected as exc:
            report.errors.append(RowError(line, str(exc)))
            continue
        first_line.setdefault(("SKU", row.sku), line)
        if row.barcode:
            first_line.setdefault(("barcode", row.barcode), line)
        good.append(row)
    return good


def _existing(session: Session, column, keys: Sequence[str]) -> dict[str, Product]:  # type: ignore[no-untyped-def]
    found: dict[str, Product] = {}
    unique = sorted(set(keys))
    for start in range(0, len(unique), _CHUNK):
        chunk = unique[start:start + _CHUNK]
        for product in session.scalars(select(Product).where(column.in_(chunk))):
            found[getattr(product, column.key)] = product
    return found


def _categories(
    session: Session, rows: Sequence[CatalogRow], report: ImportReport
) -> dict[str, Category]:
    """Existing categories by code, creating those first seen in this file.

    A category whose name differs from the file's is renamed: the file is the source of truth.
    (Rows naming one category differently were rejected already.)
    """
    wanted = {r.category_code: r.category_name for r in rows}
    found = {c.code: c for c in session.scalars(
        select(Category).where(Category.code.in_(list(wanted))))} if wanted else {}
    for code, name in wanted.items():
        category = found.get(code)
        if category is None:
            found[code] = category = Category(code=code, name=name)
            session.add(category)
            report.categories_created += 1
        elif category.name != name:
            category.name = name
            report.categories_renamed += 1
    session.flush()
    return found


def _apply(
    session: Session, row: CatalogRow, categories: Mapping[str, Category],
    products: dict[str, Product], report: ImportReport,
) -> None:
    values = {
        "name": row.name, "category_id": categories[row.category_code].id,
        "price_minor": row.price_minor, "currency": row.currency, "barcode": row.barcode,
    }
    product = products.get(row.sku)
    if product is None:
        products[row.sku] = Product(sku=row.sku, **values)
        session.add(products[row.sku])
        report.created += 1
        return
    changed = {k: v for k, v in values.items() if getattr(product, k) != v}
    if not changed:
        report.unchanged += 1
        return
    for name, value in changed.items():
        setattr(product, name, value)
    report.updated += 1


def list_products(
    session: Session, *, offset: int, limit: int, updated_since: dt.datetime | None = None,
) -> tuple[list[Product], int]:
    """Products for a till's cache, oldest change first (so a till can resume from the last
    ``updated_at`` it saw), with their categories; and the total matching."""
    where = [Product.updated_at >= updated_since] if updated_since else []
    total = session.scalar(select(func.count()).select_from(Product).where(*where)) or 0
    products = session.scalars(
        select(Product).where(*where).order_by(Product.updated_at, Product.id)
        .offset(offset).limit(limit)
    ).all()
    return list(products), total


# --- SKUs the tills sell and the catalog does not know ---------------------------------------


def _upsert_unknown(insert):  # type: ignore[no-untyped-def]
    """One statement per dialect, built once: add to a SKU's counts, or start them."""
    t, new = UnknownSku.__table__, insert.excluded
    return insert.on_conflict_do_update(index_elements=[t.c.store_id, t.c.sku], set_={
        "lines_seen": t.c.lines_seen + new.lines_seen,
        "units_sold": t.c.units_sold + new.units_sold,
        # Sales replayed late may arrive out of order: keep the earliest and the latest.
        "first_seen_at": case((new.first_seen_at < t.c.first_seen_at, new.first_seen_at),
                              else_=t.c.first_seen_at),
        "last_seen_at": case((new.last_seen_at > t.c.last_seen_at, new.last_seen_at),
                             else_=t.c.last_seen_at),
    })


_UPSERT_UNKNOWN = {
    "postgresql": _upsert_unknown(postgresql.insert(UnknownSku.__table__)),
    "sqlite": _upsert_unknown(sqlite.insert(UnknownSku.__table__)),
}


def record_unknown_skus(
    session: Session, store_id: int, units_by_sku: Mapping[str, tuple[int, int]],
    at: dt.datetime,
) -> None:
    """Count SKUs the catalog does not know, sold in ``store_id`` at ``at``: ``units_by_sku``
    maps each to (lines, units).  One upsert; rows are taken in SKU order, so two sales
    counting the same SKUs never wait on each other in a cycle.  Flushes (executes)."""
    if not units_by_sku:
        return
    conn = session.connection()
    rows = [{"store_id": store_id, "sku": sku, "lines_seen": lines, "units_sold": units,
             "first_seen_at": at, "last_seen_at": at}
            for sku, (lines, units) in sorted(units_by_sku.items())]
    conn.execute(_UPSERT_UNKNOWN[conn.dialect.name], rows[0] if len(rows) == 1 else rows)


def list_unknown_skus(session: Session, limit: int = 1000) -> list[Any]:
    """SKUs sold but still not in the catalog, most recently seen first, as rows of
    (store_code, sku, lines_seen, units_sold, first_seen_at, last_seen_at).  A SKU imported
    since drops off the list."""
    in_catalog = select(Product.id).where(Product.sku == UnknownSku.sku).exists()
    return list(session.execute(
        select(Store.code.label("store_code"), UnknownSku.sku, UnknownSku.lines_seen,
               UnknownSku.units_sold, UnknownSku.first_seen_at, UnknownSku.last_seen_at)
        .join(Store, Store.id == UnknownSku.store_id)
        .where(~in_catalog)
        .order_by(UnknownSku.last_seen_at.desc(), Store.code, UnknownSku.sku)
        .limit(limit)
    ))
