"""The catalog for tills to cache: paginated, refreshable with ``updated_since``."""

from __future__ import annotations

import datetime as dt
import io
import json

from loyalty.catalog.services import import_catalog, read_catalog_csv
from loyalty.db import utcnow

HEADER = "sku,name,category_code,category_name,price_minor,currency,barcode\n"


def _import(db, rows: str) -> None:  # type: ignore[no-untyped-def]
    report = import_catalog(db, read_catalog_csv(io.StringIO(HEADER + rows)))
    assert report.rejected == 0, report.errors
    db.commit()


def test_tills_page_through_the_catalog(client, db, desk):
    _import(db, "".join(f"SKU{i:02},Product {i},cat{i % 3},Category {i % 3},{100 + i},AED,\n"
                        for i in range(25)))
    seen, page = [], 1
    while True:
        resp = client.get("/api/v1/catalog/products", query_string={"page": page,
                                                                   "page_size": 10},
                          headers=desk("till"))
        assert resp.status_code == 200
        seen += resp.json
        meta = json.loads(resp.headers["X-Pagination"])
        if page >= meta["total_pages"]:
            break
        page += 1
    assert meta["total"] == 25 and len(seen) == 25
    assert len({p["sku"] for p in seen}) == 25
    first = next(p for p in seen if p["sku"] == "SKU07")
    assert first["price_minor"] == 107 and first["currency"] == "AED"
    assert first["category"]["code"] == "cat1" and first["category"]["name"] == "Category 1"


def test_updated_since_returns_only_changes(client, db, desk):
    _import(db, "A,Apple,fruit,Fruit,100,AED,\nB,Banana,fruit,Fruit,200,AED,\n")
    mark = utcnow()
    _import(db, "A,Apple,fruit,Fruit,100,AED,\nB,Banana,fruit,Fruit,250,AED,\n")
    resp = client.get("/api/v1/catalog/products", query_string={"updated_since": mark.isoformat()},
                      headers=desk("cashier"))
    assert resp.status_code == 200
    assert [(p["sku"], p["price_minor"]) for p in resp.json] == [("B", 250)]
    later = (utcnow() + dt.timedelta(minutes=1)).isoformat()
    assert client.get("/api/v1/catalog/products", query_string={"updated_since": later},
                      headers=desk("cashier")).json == []
    naive = client.get("/api/v1/catalog/products",
                       query_string={"updated_since": "2026-01-01T00:00:00"},
                       headers=desk("cashier"))
    assert naive.status_code == 422  # an instant needs its offset


def test_who_may_read_the_catalog(client, desk):
    for role in ("till", "cashier", "store_manager", "admin", "marketer"):
        assert client.get("/api/v1/catalog/products", headers=desk(role)).status_code == 200
    assert client.get("/api/v1/catalog/products").status_code == 401
    bad = client.get("/api/v1/catalog/products", query_string={"updated_since": "yesterday"},
                     headers=desk("till"))
    assert bad.status_code == 422 and "updated_since" in bad.json["errors"]["query"]
