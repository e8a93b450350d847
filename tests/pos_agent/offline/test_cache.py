"""The local caches: members by card and phone, the catalog with its refresh, the public key."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from pos_agent.cache import Cache, barcode_key
from tests.pos_agent.offline.conftest import PRODUCTS, BackOfficeServer

TEST_PAN = "4111111111111111"
CARD = "9871000000000007"
T0 = dt.datetime(2026, 11, 1, 9, 30, tzinfo=dt.UTC)


@pytest.fixture
def cache(tmp_path: Path) -> Cache:
    with Cache(tmp_path / "cache.sqlite3") as c:
        yield c


def identity(member_id: int = 7, balance: int = 1200) -> dict:
    return {"card_number": CARD, "member": {"id": member_id, "name": "Layla"},
            "balance": balance, "redeemable_points": balance}


def test_a_member_answer_is_kept_with_its_fetch_time(cache: Cache) -> None:
    assert cache.get_member(CARD) is None
    cache.put_member(CARD, identity(balance=1200), now=T0)
    cache.put_member(CARD, identity(balance=900), now=T0 + dt.timedelta(hours=1))
    answer, fetched_at = cache.get_member(CARD)  # type: ignore[misc]
    assert answer["balance"] == 900 and fetched_at == T0 + dt.timedelta(hours=1)
    assert cache.member_by_id(7) == (answer, fetched_at)
    assert cache.member_by_id(8) is None


def test_a_payment_card_is_never_stored(tmp_path: Path, cache: Cache) -> None:
    with pytest.raises(ValueError, match="payment card") as err:
        cache.put_member(TEST_PAN, {**identity(), "card_number": TEST_PAN})
    assert TEST_PAN not in str(err.value)
    assert cache.get_member(TEST_PAN) is None
    cache.close()
    for path in tmp_path.iterdir():
        assert TEST_PAN.encode() not in path.read_bytes()


def test_members_by_phone_as_typed_and_as_stored(cache: Cache) -> None:
    member = {"id": 3, "name": "Reza", "phone": "+971501234567"}
    cache.put_member_by_phone("050 123-4567", member, now=T0)
    assert cache.member_by_phone("0501234567") == (member, T0)
    assert cache.member_by_phone("+971 50 123 4567") == (member, T0)
    assert cache.member_by_phone("+971509999999") is None


@pytest.mark.parametrize(("stored", "scanned"), [
    ("4006381333931", "4006381333931"),    # EAN-13 as is
    ("4006381333931", "04006381333931"),   # the same item as GTIN-14
    ("036000291452", "0036000291452"),     # UPC-A read as EAN-13
    ("96385074", "00000096385074"),        # EAN-8 as GTIN-14
    ("ABC-123", "ABC-123"),                # a shop's own code
])
def test_a_product_is_found_by_any_form_of_its_barcode(cache: Cache, stored: str,
                                                       scanned: str) -> None:
    cache.put_products([{"sku": "X", "barcode": stored, "active": True, "price_minor": 1}])
    assert cache.product_by_barcode(scanned)["sku"] == "X"  # type: ignore[index]
    assert cache.product(scanned)["sku"] == "X"  # type: ignore[index]


def test_barcode_key() -> None:
    assert barcode_key(None) is None and barcode_key("") is None
    assert barcode_key("96385074") == "00000096385074"
    assert barcode_key(" 4006381333931 ") == "04006381333931"
    assert barcode_key("123456789012345") == "123456789012345"  # too long for a GTIN: as is
    assert barcode_key("4006381333932") == "4006381333932"  # wrong check digit: not a GTIN


def test_a_product_withdrawn_from_sale_is_not_sold(cache: Cache) -> None:
    cache.put_products([{"sku": "OLD", "barcode": "96385074", "active": False}])
    assert cache.product_by_sku("OLD") is None and cache.product_by_barcode("96385074") is None
    assert cache.product_count() == 1


def test_public_key(cache: Cache) -> None:
    assert cache.public_key() is None
    with pytest.raises(ValueError):
        cache.put_public_key("not a key")
    pem = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n"
    cache.put_public_key(pem)
    assert cache.public_key() == pem


def test_the_catalog_refreshes_from_the_back_office_by_change_time(
        cache: Cache, back_office: BackOfficeServer) -> None:
    client = back_office.client()
    assert cache.refresh_catalog(client) == len(PRODUCTS)
    assert cache.product_by_sku("MILK")["price_minor"] == 650  # type: ignore[index]
    assert cache.product_by_barcode("04006381333931")["sku"] == "MILK"  # type: ignore[index]
    mark = cache.catalog_updated_since()
    assert mark is not None and dt.datetime.fromisoformat(mark).tzinfo is not None
    at_mark = {p["sku"] for p in client.products(None)
               if dt.datetime.fromisoformat(p["updated_at"]) == dt.datetime.fromisoformat(mark)}
    # nothing changed: only the products at the boundary come again
    assert cache.refresh_catalog(client) == len(at_mark) < len(PRODUCTS)
    from loyalty.catalog.models import Product

    with back_office.session() as s:
        tea = s.scalars(select(Product).where(Product.sku == "TEA")).one()
        tea.price_minor = 1500
        s.commit()
    assert cache.refresh_catalog(client) == len(at_mark | {"TEA"})
    assert cache.product_by_sku("TEA")["price_minor"] == 1500  # type: ignore[index]
    assert cache.catalog_updated_since() > mark  # type: ignore[operator]


def test_the_public_key_refreshes_from_the_back_office(cache: Cache,
                                                       back_office: BackOfficeServer) -> None:
    pem = cache.refresh_public_key(back_office.client())
    assert cache.public_key() == pem and "BEGIN PUBLIC KEY" in pem


def test_the_cache_survives_reopening(tmp_path: Path) -> None:
    with Cache(tmp_path / "c.sqlite3") as c:
        c.put_member(CARD, identity(), now=T0)
    with Cache(tmp_path / "c.sqlite3") as c:
        assert c.get_member(CARD) == (identity(), T0)


def test_products_on_sale_in_catalog_order(cache: Cache) -> None:
    cache.put_products([
        {"sku": "ZED", "name": "Zed", "barcode": "4006381333931", "active": True},
        {"sku": "NOBAR", "name": "No barcode", "barcode": None},
        {"sku": "GONE", "name": "Gone", "barcode": "96385074", "active": False},
        {"sku": "ALPHA", "name": "Alpha", "barcode": "036000291452"},
    ])
    cache.put_products([{"sku": "ZED", "name": "Zed again", "barcode": "4006381333931"}])
    assert [p["sku"] for p in cache.products(10)] == ["ZED", "NOBAR", "ALPHA"]
    assert [p["name"] for p in cache.products(10, with_barcode=True)] == ["Zed again", "Alpha"]
    assert [p["sku"] for p in cache.products(1, with_barcode=True)] == ["ZED"]


def test_the_summary_for_status(cache: Cache) -> None:
    assert cache.summary() == {"products": 0, "members": 0, "catalog_refreshed_at": None}
    cache.put_products([{"sku": "A", "barcode": None}, {"sku": "B", "barcode": None}])
    cache.put_member(CARD, identity(), now=T0)
    cache.refresh_catalog(type("Empty", (), {"products": lambda self, since: iter(())})())
    summary = cache.summary()
    assert (summary["products"], summary["members"]) == (2, 1)
    assert summary["catalog_refreshed_at"] is not None
