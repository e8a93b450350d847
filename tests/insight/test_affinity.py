"""Affinities: support, confidence and lift of category and product pairs, in the database."""

from __future__ import annotations

import datetime as dt
import itertools
import random

import pytest
from sqlalchemy import update

from loyalty.baskets.models import BasketLine
from loyalty.catalog.models import Category, Product
from loyalty.insight.affinity import rebuild_affinities, top_affinities
from tests.factories import invoke_cli, make_store
from tests.insight.helpers import add_baskets, add_members

AS_OF = dt.date(2026, 5, 31)
CATEGORIES = ["bread", "butter", "beer", "nappies", "fruit", "tea"]


@pytest.fixture
def market(db):  # type: ignore[no-untyped-def]
    """300 baskets of random categories, with one planted habit: nappies with beer."""
    store = make_store(db, "AED")
    cats = {code: Category(code=code, name=code.title()) for code in CATEGORIES}
    db.add_all(cats.values())
    db.flush()
    products = {code: Product(sku=code.upper(), name=code, category_id=cats[code].id,
                              price_minor=100, currency="AED") for code in CATEGORIES}
    db.add_all(products.values())
    db.flush()
    (member,) = add_members(db, 1)
    rng = random.Random(9)
    sales, contents = [], []
    for n in range(300):
        chosen = {code for code in ("bread", "butter", "fruit", "tea") if rng.random() < 0.3}
        if n % 5 == 0:
            chosen |= {"nappies", "beer"}
        elif n % 17 == 0:
            chosen |= {rng.choice(["nappies", "beer"])}
        if not chosen:
            chosen = {"tea"}
        when = dt.datetime(2026, 5, 1, tzinfo=dt.UTC) + dt.timedelta(hours=n)
        # a product bought twice in one basket counts once
        lines = [(code.upper(), cats[code].id, 100) for code in sorted(chosen)]
        sales.append((member, when, lines + lines[:1]))
        contents.append(chosen)
    add_baskets(db, store.id, sales)
    # a basket after the as-of date does not count
    add_baskets(db, store.id, [(member, dt.datetime(2026, 6, 2, tzinfo=dt.UTC),
                                [("NAPPIES", cats["nappies"].id, 100)])])
    # the lines' product ids, as checkout would have set them
    for code, product in products.items():
        db.execute(update(BasketLine).where(BasketLine.sku == code.upper())
                   .values(product_id=product.id))
    db.commit()
    return cats, products, contents


def _expected(contents, a: str, b: str) -> tuple[int, float, float, float]:  # type: ignore[no-untyped-def]
    n = len(contents)
    both = sum(1 for c in contents if a in c and b in c)
    with_a = sum(1 for c in contents if a in c)
    with_b = sum(1 for c in contents if b in c)
    return both, both / n, both / with_a, (both / with_a) / (with_b / n)


def test_planted_pair_tops_the_rules_with_exact_measures(db, market):
    cats, products, contents = market
    made = rebuild_affinities(db, AS_OF, min_support=0.01)
    assert made["category"] == made["product"] > 0
    top = top_affinities(db, "category", cats["nappies"].id, limit=3)
    assert top[0].consequent_id == cats["beer"].id
    both, support, confidence, lift = _expected(contents, "nappies", "beer")
    assert top[0].baskets == both
    assert top[0].support == pytest.approx(support)
    assert top[0].confidence == pytest.approx(confidence)
    assert top[0].lift == pytest.approx(lift)
    assert lift > 3
    # the product rules say the same (one product per category here)
    (by_product,) = top_affinities(db, "product", products["nappies"].id, limit=1)
    assert by_product.consequent_id == products["beer"].id
    assert by_product.lift == pytest.approx(lift)
    # the reverse rule has the same support and lift, its own confidence
    (back,) = top_affinities(db, "category", cats["beer"].id, limit=1)
    assert back.consequent_id == cats["nappies"].id
    assert back.confidence == pytest.approx(_expected(contents, "beer", "nappies")[2])


def test_minimum_support_leaves_rare_pairs_out(db, market):
    cats, _, contents = market
    counts = {pair: sum(1 for c in contents if set(pair) <= c)
              for pair in itertools.permutations(CATEGORIES, 2)}
    threshold = 0.2
    rebuild_affinities(db, AS_OF, min_support=threshold)
    kept = {(a, b) for a in CATEGORIES for b in CATEGORIES if a != b
            for rule in top_affinities(db, "category", cats[a].id, limit=10)
            if rule.consequent_id == cats[b].id}
    assert kept == {pair for pair, count in counts.items() if count >= threshold * 300}
    assert kept and len(kept) < len(counts)


def test_pairs_command(app, db, market):
    assert invoke_cli(app, ["insight", "rebuild", "--as-of", "2026-05-31",
                            "--min-support", "0.01"]).exit_code == 0
    result = invoke_cli(app, ["insight", "pairs", "--category", "nappies", "--limit", "2"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].startswith("beer")
    assert invoke_cli(app, ["insight", "pairs", "--sku", "NAPPIES"]).output.startswith("BEER")
    unknown = invoke_cli(app, ["insight", "pairs", "--category", "caviar"])
    assert unknown.exit_code == 1 and "no category" in unknown.output
    assert invoke_cli(app, ["insight", "pairs"]).exit_code == 2
