"""``loyalty import baskets``: baskets that look like checkout's, bad lines that reject their
basket only, unknowns reported or created, and a second run that changes nothing."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select

from loyalty.baskets.models import Basket, BasketLine
from loyalty.catalog.models import Category, Product
from loyalty.imports import baskets as basket_import
from loyalty.members.models import Member
from loyalty.stores.models import Store
from tests.factories import invoke_cli
from tests.imports.conftest import counts

HEADER = "member_ref,basket_id,occurred_at,store,sku,quantity,amount_minor\n"
# B1: two lines at 10:00 Dubai time (06:00 UTC); B2: anonymous, a zoned time, 3 for 1000.
GOOD = (
    "C1,B1,2025-03-01T10:00:00,DXB1,MILK,2,1300\n"
    "C1,B1,2025-03-01T10:00:00,DXB1,BREAD,1,400\n"
    ",B2,2025-03-02T08:30:00+00:00,AUH1,MILK,3,1000\n"
)


def _write(tmp_path, body: str, name: str = "baskets.csv"):  # type: ignore[no-untyped-def]
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


def _baskets(db) -> dict[str, tuple]:  # type: ignore[no-untyped-def]
    db.expire_all()
    rows = {}
    for basket in db.scalars(select(Basket)):
        rows[basket.import_ref] = (
            basket.store_id, basket.member_id, basket.currency, basket.subtotal_minor,
            basket.payable_minor, basket.points_earned, basket.occurred_at,
            [(line.line_no, line.sku, line.product_id, line.category_id, line.quantity,
              line.unit_price_minor, line.discount_minor, line.net_minor)
             for line in basket.lines])
    db.rollback()
    return rows


def test_import_writes_baskets_as_checkout_does_and_a_rerun_changes_nothing(
        app, db, shop, tmp_path):
    path = _write(tmp_path, HEADER + GOOD)
    first = invoke_cli(app, ["import", "baskets", str(path)])
    assert first.exit_code == 0, first.output
    assert ("baskets: 2 loaded, 0 already imported, 0 skipped; "
            "lines: 3 loaded, 0 already imported, 0 skipped") in first.output
    baskets = _baskets(db)
    assert baskets == {
        "B1": (shop.dxb, shop.member, "AED", 1700, 1700, 0,
               dt.datetime(2025, 3, 1, 6, 0, tzinfo=dt.UTC),
               [(1, "MILK", shop.milk, shop.dairy, 2, 650, 0, 1300),
                (2, "BREAD", shop.bread, shop.dairy, 1, 400, 0, 400)]),
        # 1000 for 3: unit price 334 rounded up, the 2 over shown as the line discount.
        "B2": (shop.auh, None, "AED", 1000, 1000, 0,
               dt.datetime(2025, 3, 2, 8, 30, tzinfo=dt.UTC),
               [(1, "MILK", shop.milk, shop.dairy, 3, 334, 2, 1000)]),
    }
    before = counts(db)
    assert before["postings"] == 0  # history earns no points

    again = invoke_cli(app, ["import", "baskets", str(path)])
    assert again.exit_code == 0, again.output
    assert ("baskets: 0 loaded, 2 already imported, 0 skipped; "
            "lines: 0 loaded, 3 already imported, 0 skipped") in again.output
    assert counts(db) == before
    assert _baskets(db) == baskets


BAD = (
    "C1,B3,yesterday,DXB1,MILK,1,650\n"                 # line 5: date does not parse
    "C1,B4,2025-03-03T09:00:00,DXB1,MILK,1,650\n"       # line 6: good, but B4's next is bad
    "C1,B4,2025-03-03T09:00:00,DXB1,BREAD,-1,400\n"     # line 7: negative quantity
    "C1,B5,2025-03-03T09:00:00,DXB1,,1,650\n"           # line 8: missing sku
    "C1,B6,2025-03-03T09:00:00,DXB1,MILK,1,650,extra\n"  # line 9: too many fields
    "C1,B7,2025-03-03T09:00:00,DXB1,MILK,1.5,650\n"     # line 10: not a whole number
    "C1,B8,2025-03-03T09:00:00,DXB1,MILK,1,650\n"       # line 11: good
    "C1,B8,2025-03-03T09:00:00,AUH1,MILK,1,650\n"       # line 12: another store, same basket
)


def test_a_bad_line_rejects_its_basket_and_nothing_else(app, db, shop, tmp_path):
    path = _write(tmp_path, HEADER + GOOD + BAD)
    result = invoke_cli(app, ["import", "baskets", str(path)])
    assert result.exit_code == 1, result.output
    expected = {
        5: "occurred_at 'yesterday' is not a date and time (ISO 8601) (basket B3 skipped)",
        7: "negative quantity -1 (basket B4 skipped)",
        8: "missing sku (basket B5 skipped)",
        9: "more fields than the header has columns (basket B6 skipped)",
        10: "quantity '1.5' is not a whole number (basket B7 skipped)",
        12: "store 'AUH1' differs from 'DXB1' on line 11 (basket B8 skipped)",
    }
    for line, reason in expected.items():
        assert f"baskets.csv: line {line}: {reason}" in result.output, (line, result.output)
    assert ("baskets: 2 loaded, 0 already imported, 6 skipped; "
            "lines: 3 loaded, 0 already imported, 8 skipped") in result.output
    assert sorted(_baskets(db)) == ["B1", "B2"]


def test_mixed_currency_is_a_bad_line(app, db, shop, tmp_path):
    body = ("member_ref,basket_id,occurred_at,store,sku,quantity,amount_minor,currency\n"
            "C1,B1,2025-03-01T10:00:00,DXB1,MILK,1,650,AED\n"
            "C1,B1,2025-03-01T10:00:00,DXB1,BREAD,1,400,EUR\n"
            "C1,B2,2025-03-01T11:00:00,DXB1,MILK,1,650,aed\n")
    result = invoke_cli(app, ["import", "baskets", str(_write(tmp_path, body))])
    assert result.exit_code == 1, result.output
    assert ("baskets.csv: line 3: mixed currency: EUR here, AED on line 2 (basket B1 skipped)"
            in result.output)
    assert sorted(_baskets(db)) == ["B2"]


UNKNOWN = (
    "C9,B1,2025-03-01T10:00:00,DXB1,MILK,1,650\n"    # unknown member
    "C1,B2,2025-03-01T10:00:00,NEW1,MILK,1,650\n"    # unknown store
    "C1,B3,2025-03-01T10:00:00,DXB1,TEA,1,900\n"     # unknown product
    "C1,B4,2025-03-01T10:00:00,DXB1,MILK,1,650\n"    # all known
)


def test_unknowns_are_reported_or_created(app, db, shop, tmp_path):
    path = _write(tmp_path, HEADER + UNKNOWN)
    reported = invoke_cli(app, ["import", "baskets", str(path)])
    assert reported.exit_code == 1, reported.output
    for kind, value in (("member", "C9"), ("store", "NEW1"), ("product", "TEA")):
        assert (f"baskets.csv: unknown {kind} '{value}': 1 basket(s) skipped "
                "(--create-missing creates it)") in reported.output, reported.output
    assert sorted(_baskets(db)) == ["B4"]

    before = counts(db)
    no_currency = invoke_cli(app, ["import", "baskets", str(path), "--create-missing"])
    assert no_currency.exit_code == 1
    assert "--currency is needed to create the store(s) NEW1; nothing imported" in (
        no_currency.output)
    assert counts(db) == before

    created = invoke_cli(app, ["import", "baskets", str(path), "--create-missing",
                               "--currency", "AED", "--timezone", "Asia/Dubai"])
    assert created.exit_code == 0, created.output
    assert "baskets: 3 loaded, 1 already imported, 0 skipped" in created.output
    assert "created 1 stores, 1 members, 1 products" in created.output
    db.expire_all()
    store = db.scalar(select(Store).where(Store.code == "NEW1"))
    assert (store.currency, store.timezone) == ("AED", "Asia/Dubai")
    member = db.scalar(select(Member).where(Member.external_ref == "C9"))
    tea = db.scalar(select(Product).where(Product.sku == "TEA"))
    assert db.get(Category, tea.category_id).code == "imported"
    assert db.scalar(select(Basket.member_id).where(Basket.import_ref == "B1")) == member.id
    assert db.scalar(select(BasketLine.product_id).join(Basket).where(
        Basket.import_ref == "B3")) == tea.id
    db.rollback()
    # The member made here has a points account, so the ledger still adds up.
    verify = invoke_cli(app, ["ledger", "verify"])
    assert verify.exit_code == 0, verify.output


def _table(columns: dict[str, list]) -> pa.Table:  # type: ignore[type-arg]
    return pa.table(columns)


def test_parquet_typed_or_text_loads_the_same_baskets(app, db, shop, tmp_path):
    path = tmp_path / "baskets.parquet"
    pq.write_table(_table({
        "member_ref": ["C1", "C1", None],
        "basket_id": ["B1", "B1", "B2"],
        # Naive: in the store's zone (Asia/Dubai), as the CSV's B2 at 08:30 UTC is.
        "occurred_at": [dt.datetime(2025, 3, 1, 10), dt.datetime(2025, 3, 1, 10),
                        dt.datetime(2025, 3, 2, 12, 30)],
        "store": ["DXB1", "DXB1", "AUH1"],
        "sku": ["MILK", "BREAD", "MILK"],
        "quantity": pa.array([2, 1, 3], pa.int32()),
        "amount_minor": pa.array([1300, 400, 1000], pa.int64()),
    }), path)
    result = invoke_cli(app, ["import", "baskets", str(path)])
    assert "occurred_at" not in result.output, result.output
    assert result.exit_code == 0, result.output
    csv_path = _write(tmp_path, HEADER + GOOD)
    again = invoke_cli(app, ["import", "baskets", str(csv_path)])
    assert "0 loaded, 2 already imported" in again.output, again.output
    baskets = _baskets(db)
    assert baskets["B1"][6] == dt.datetime(2025, 3, 1, 6, 0, tzinfo=dt.UTC)
    assert baskets["B2"][7] == [(1, "MILK", shop.milk, shop.dairy, 3, 334, 2, 1000)]


def test_parquet_bad_row_is_reported_by_row_number(app, db, shop, tmp_path):
    path = tmp_path / "baskets.parquet"
    pq.write_table(_table({
        "member_ref": ["C1", "C1"], "basket_id": ["B1", "B2"],
        "occurred_at": ["2025-03-01T10:00:00", "2025-13-01T10:00:00"],
        "store": ["DXB1", "DXB1"], "sku": ["MILK", "MILK"],
        "quantity": ["1", "1"], "amount_minor": ["650", "650"],
    }), path)
    result = invoke_cli(app, ["import", "baskets", str(path)])
    assert result.exit_code == 1
    assert ("baskets.parquet: row 2: occurred_at '2025-13-01T10:00:00' is not a date and "
            "time (ISO 8601) (basket B2 skipped)") in result.output
    assert sorted(_baskets(db)) == ["B1"]


def test_files_that_cannot_be_read_change_nothing(app, db, shop, tmp_path):
    before = counts(db)
    cases = {
        "empty.csv": (b"", "empty.csv is empty; nothing imported"),
        "blank.csv": (b"\n\n  \n", "blank.csv is empty; nothing imported"),
        "photo.csv": (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
                      "photo.csv is a Portable Network Graphics file, neither CSV nor Parquet"),
        # Good lines first: the fault is met after staging has begun, and still nothing stays.
        "latin1.csv": ((HEADER + "".join(f"C1,X{i},2025-03-01,DXB1,MILK,1,650\n"
                                         for i in range(3000))).encode()
                       + "C1,B1,2025-03-01,DXB1,CAF\xc9,1,1\n".encode("latin-1"),
                       "latin1.csv is not readable UTF-8 CSV after line "),
        "short.csv": (b"member_ref,basket_id,store,sku\nC1,B1,DXB1,MILK\n",
                      "short.csv lacks the column(s) occurred_at, quantity, amount_minor"),
        "fake.parquet": (b"PAR1 not really", "fake.parquet is not a readable Parquet file"),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        result = invoke_cli(app, ["import", "baskets", str(path)])
        assert result.exit_code == 1, (name, result.output)
        assert message in result.output, (name, result.output)
        assert "Traceback" not in result.output
    short = tmp_path / "short.parquet"
    pq.write_table(_table({"basket_id": ["B1"], "sku": ["MILK"]}), short)
    result = invoke_cli(app, ["import", "baskets", str(short)])
    assert result.exit_code == 1
    assert "short.parquet lacks the column(s) member_ref, occurred_at, store" in result.output
    assert counts(db) == before


def test_progress_lines_when_not_on_a_terminal(app, db, shop, tmp_path, monkeypatch):
    monkeypatch.setattr(basket_import, "PROGRESS_EVERY", 1)
    # By name: loyalty.cli imports the commands module (importing it first would be circular).
    monkeypatch.setattr("loyalty.imports.commands.PLAIN_PROGRESS_EVERY", 2)
    result = invoke_cli(app, ["import", "baskets", str(_write(tmp_path, HEADER + GOOD))])
    assert result.exit_code == 0, result.output
    assert "read 2 lines (" in result.output and " lines/s)" in result.output
    assert "\r" not in result.output  # no bar redrawn on a pipe


def test_with_earn_the_baskets_loaded_earn_under_the_rules_of_their_day(app, db, shop,
                                                                         tmp_path):
    from loyalty.ledger.models import Account, Posting, PostingKind
    from loyalty.rules.models import RuleKind
    from loyalty.rules.services import add_earning_rule
    from tests.factories import LONG_AGO

    add_earning_rule(db, "base", RuleKind.BASE, valid_from=LONG_AGO)  # 1 point per AED
    db.commit()
    path = _write(tmp_path, HEADER + GOOD)
    result = invoke_cli(app, ["import", "baskets", str(path), "--earn"])
    assert result.exit_code == 0, result.output
    assert "; 17 points earned" in result.output
    db.expire_all()
    b1 = db.scalar(select(Basket).where(Basket.import_ref == "B1"))
    assert (b1.points_earned, [line.points_earned for line in b1.lines]) == (17, [13, 4])
    posting = db.scalar(select(Posting).where(Posting.basket_id == b1.id))
    assert (posting.kind, posting.occurred_at) == (PostingKind.EARN, b1.occurred_at)
    assert db.scalar(select(Account.balance).where(Account.member_id == shop.member)) == 17
    db.rollback()
    again = invoke_cli(app, ["import", "baskets", str(path), "--earn"])
    assert "0 loaded, 2 already imported" in again.output and "; 0 points earned" in again.output
    db.expire_all()
    assert db.scalar(select(Account.balance).where(Account.member_id == shop.member)) == 17
    db.rollback()
    verify = invoke_cli(app, ["ledger", "verify"])
    assert verify.exit_code == 0, verify.output
