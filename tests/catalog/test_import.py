"""``loyalty catalog import``: clear errors per bad row, good rows kept, a rerun changes nothing."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from loyalty.catalog.models import Category, Product
from loyalty.catalog.services import import_catalog, read_catalog_csv
from loyalty.cli import Context, main
from loyalty.errors import InvalidInput

HEADER = "sku,name,category_code,category_name,price_minor,currency,barcode\n"
GOOD = (
    "MILK1L,Milk 1 L,dairy,Dairy,650,AED,6291041500213\n"
    "LABAN,Laban 500 ml,dairy,Dairy,350,aed,\n"
    "BREAD,Arabic bread,bakery,Bakery,400,AED,6281007030119\n"
)
BAD = (
    ",No SKU,dairy,Dairy,100,AED,\n"                      # line 5: missing sku
    "CHEESE,Cheese,dairy,Dairy,12.50,AED,\n"              # line 6: decimal price
    "DATES,Dates,fruit,Fruit,1200,XYZ,\n"                 # line 7: unknown currency
    "SUGAR,Sugar,grocery,Grocery,-5,AED,\n"               # line 8: negative price
    "MILK1L,Milk again,dairy,Dairy,700,AED,\n"            # line 9: duplicate SKU
    "TEA,Tea,grocery,Grocery,abc,AED,\n"                  # line 10: not a number
    "RICE,Rice,dairy,Milk products,900,AED,\n"           # line 11: category renamed
    "OIL,Oil,grocery,Grocery,800,AED,6291041500213\n"     # line 12: barcode of MILK1L
    "SALT,Salt,grocery,Grocery,100,AED,,extra\n"          # line 13: too many fields
    "GOLD,Gold bar,grocery,Grocery,999999999999,AED,\n"   # line 14: absurd price
    "CAKE,Cake,bakery,Bakery,,AED,\n"                     # line 15: missing price
)
EXPECTED_ERRORS = {
    5: "missing sku",
    6: "bad price_minor '12.50'",
    7: "unknown currency 'XYZ'",
    8: "negative price_minor -5",
    9: "duplicate SKU 'MILK1L' (first on line 2)",
    10: "bad price_minor 'abc'",
    11: "category 'dairy' is named 'Dairy' on line 2, 'Milk products' here",
    12: "duplicate barcode '6291041500213' (first on line 2)",
    13: "more fields than the header has columns",
    14: "price_minor 999999999999 is above the ceiling",
    15: "missing price_minor",
}


def _run(app, *args: str):  # type: ignore[no-untyped-def]
    ctx = Context()
    ctx._app = app  # the test app and its database, not one built from the environment
    return CliRunner().invoke(main, list(args), obj=ctx)


def _products(db) -> dict[str, SimpleNamespace]:  # type: ignore[no-untyped-def]
    """The catalog as plain values; the read ends at once (on SQLite it holds the lock)."""
    db.expire_all()
    products = {
        p.sku: SimpleNamespace(name=p.name, price_minor=p.price_minor, currency=p.currency,
                               barcode=p.barcode, updated_at=p.updated_at,
                               category=p.category.code)
        for p in db.scalars(select(Product))
    }
    db.rollback()
    return products


def test_import_reports_each_bad_row_keeps_the_good_ones_and_reruns_idle(app, db, tmp_path):
    path = tmp_path / "catalog.csv"
    path.write_text(HEADER + GOOD + BAD, encoding="utf-8")
    first = _run(app, "catalog", "import", str(path))
    assert first.exit_code == 1, first.output
    for line, message in EXPECTED_ERRORS.items():
        assert f"catalog.csv: line {line}: {message}" in first.output, (line, first.output)
    assert "created 3, updated 0, unchanged 0, rejected 11" in first.output
    products = _products(db)
    assert sorted(products) == ["BREAD", "LABAN", "MILK1L"]
    assert products["LABAN"].currency == "AED" and products["LABAN"].barcode is None
    assert products["MILK1L"].price_minor == 650 and products["MILK1L"].name == "Milk 1 L"
    stamps = {sku: p.updated_at for sku, p in products.items()}

    second = _run(app, "catalog", "import", str(path))
    assert "created 0, updated 0, unchanged 3, rejected 11" in second.output
    after = _products(db)
    assert {sku: p.updated_at for sku, p in after.items()} == stamps
    assert db.scalar(select(func.count()).select_from(Category)) == 2  # dairy, bakery
    assert after["LABAN"].category == "dairy"


def test_a_changed_row_updates_only_that_product(app, db, tmp_path):
    path = tmp_path / "catalog.csv"
    path.write_text(HEADER + GOOD, encoding="utf-8")
    assert _run(app, "catalog", "import", str(path)).exit_code == 0
    before = _products(db)
    path.write_text(HEADER + GOOD.replace("Laban 500 ml,dairy,Dairy,350",
                                          "Laban 500 ml,dairy,Dairy,375"), encoding="utf-8")
    result = _run(app, "catalog", "import", str(path))
    assert result.exit_code == 0 and "created 0, updated 1, unchanged 2" in result.output
    after = _products(db)
    assert after["LABAN"].price_minor == 375
    assert after["LABAN"].updated_at > before["LABAN"].updated_at
    assert after["BREAD"].updated_at == before["BREAD"].updated_at


def test_a_bad_header_refuses_the_whole_file(app, db, tmp_path):
    path = tmp_path / "catalog.csv"
    path.write_text("sku,name,category,price,currency\nA,B,c,1,AED\n", encoding="utf-8")
    result = _run(app, "catalog", "import", str(path))
    assert result.exit_code == 1
    assert "line 1: missing columns: category_code, category_name, price_minor" in result.output
    assert "unknown columns: category, price" in result.output
    assert _products(db) == {}


def test_spreadsheet_quirks_byte_order_mark_and_column_order(app, db, tmp_path):
    path = tmp_path / "catalog.csv"
    path.write_text("\ufeffcurrency,price_minor,sku,name,category_code,category_name\n"
                    'AED,100,"QAT-1","Qatayef, 6 pieces",sweets,Sweets\n', encoding="utf-8")
    result = _run(app, "catalog", "import", str(path))
    assert result.exit_code == 0, result.output
    assert _products(db)["QAT-1"].name == "Qatayef, 6 pieces"


def test_not_utf8_is_refused_clearly(app, db, tmp_path):
    path = tmp_path / "catalog.csv"
    path.write_bytes(HEADER.encode() + "MILK,Lait entier,dairy,Crémerie,650,EUR,\n"
                     .encode("latin-1"))
    result = _run(app, "catalog", "import", str(path))
    assert result.exit_code == 1 and "is not UTF-8 text" in result.output
    assert _products(db) == {}


def test_the_service_is_usable_without_click(db):
    rows = read_catalog_csv(io.StringIO(HEADER + GOOD))
    report = import_catalog(db, rows)
    assert (report.created, report.updated, report.unchanged, report.rejected) == (3, 0, 0, 0)
    with pytest.raises(InvalidInput):
        list(read_catalog_csv(io.StringIO("")))
