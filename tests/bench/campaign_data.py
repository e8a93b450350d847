"""The campaigns benchmark's shop, generated in PostgreSQL itself (set-based, seeded).

1,000,000 members with profiles (birth date, gender, language, email consent for most) and
about 10,000,000 basket lines over two years, with a grocery's skew: most members visit once,
a few percent are regulars with dozens of baskets; 20 categories, 2,000 products whose
popularity falls off (a few sell a lot); lines per basket from 1 to 9.

Every row is made by ``INSERT ... SELECT`` over ``generate_series`` in one transaction with
the foreign-key triggers off (``session_replication_role = replica``: the ids are generated
consistent, checking 30 million references one by one would take minutes), then VACUUM ANALYZE,
as a nightly maintenance would have left a real shop's tables.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import create_engine, text

MEMBERS = 1_000_000
CATEGORIES = 20
PRODUCTS = 2_000
STORES = 10
HISTORY_DAYS = 730
SEED = 0.42

# Visits per member: 2% regulars with 20-59 baskets, the rest 1 + an exponential tail of mean
# ~0.23 (so ~80% of those come once): about 2,000,000 baskets in all.
_VISITS = ("CASE WHEN random() < 0.02 THEN 20 + floor(random() * 40)::int "
           "ELSE 1 + floor(-ln(1 - random()) * 0.6)::int END")

STATEMENTS = [
    "SET LOCAL session_replication_role = replica",
    "SET LOCAL synchronous_commit = off",
    "SET LOCAL work_mem = '256MB'",
    f"SELECT setseed({SEED})",
    f"""INSERT INTO category (id, code, name)
        SELECT g, 'CAT' || lpad(g::text, 2, '0'), 'Category ' || g
        FROM generate_series(1, {CATEGORIES}) g""",
    f"""INSERT INTO product (id, sku, name, category_id, price_minor, currency, active,
                             updated_at)
        SELECT g, 'SKU' || lpad(g::text, 5, '0'), 'Product ' || g, 1 + (g * 7) % {CATEGORIES},
               100 + floor(random() * 4900)::int, 'AED', true, now()
        FROM generate_series(1, {PRODUCTS}) g""",
    f"""INSERT INTO store (id, code, name, currency, timezone, created_at)
        SELECT g, 'S' || g, 'Store ' || g, 'AED', 'Asia/Dubai', now()
        FROM generate_series(1, {STORES}) g""",
    f"""INSERT INTO member (id, name, external_ref, birth_date, gender, language,
                            preferred_channel, created_at)
        SELECT g, 'Member ' || g, 'M' || lpad(g::text, 7, '0'),
               CASE WHEN random() < 0.9
                    THEN date '1950-01-01' + floor(random() * 20000)::int END,
               (ARRAY['female', 'male', 'female', 'male', NULL])[1 + floor(random() * 5)::int],
               (ARRAY['en', 'en', 'en', 'ar', 'ar', 'fa'])[1 + floor(random() * 6)::int],
               CASE WHEN random() < 0.5 THEN 'email' ELSE 'sms' END,
               :as_of - make_interval(days => {HISTORY_DAYS} + floor(random() * 365)::int)
        FROM generate_series(1, {MEMBERS}) g""",
    """INSERT INTO consent_record (member_id, channel, granted, text_version, recorded_at,
                                   source)
       SELECT id, 'email', random() < 0.85, 'v1', created_at, 'import'
       FROM member WHERE random() < 0.8""",
    f"""CREATE TEMPORARY TABLE visit ON COMMIT DROP AS
        SELECT row_number() OVER () AS id, m.id AS member_id,
               1 + floor(random() * {STORES})::int AS store_id,
               :as_of - make_interval(secs => floor(random() * {HISTORY_DAYS} * 86400)::int)
                   AS occurred_at,
               1 + floor(random() * 9)::int AS lines
        FROM (SELECT id, {_VISITS} AS visits FROM member) m,
             generate_series(1, m.visits)""",
    f"""INSERT INTO basket_line (id, basket_id, line_no, sku, product_id, category_id, quantity,
                                unit_price_minor, discount_minor, coupon_discount_minor,
                                net_minor, points_earned, points_redeemed, returned_quantity)
       SELECT row_number() OVER (ORDER BY l.basket_id, l.line_no), l.basket_id, l.line_no,
              p.sku, p.id, p.category_id, l.quantity, p.price_minor, 0, 0,
              l.quantity * p.price_minor, 0, 0, 0
       FROM (SELECT v.id AS basket_id, g AS line_no,
                    1 + floor(random() * random() * {PRODUCTS})::int AS product_id,
                    1 + floor(random() * random() * 3)::int AS quantity
             FROM visit v, generate_series(1, v.lines) g) l
       JOIN product p ON p.id = l.product_id""",
    """INSERT INTO basket (id, store_id, member_id, currency, subtotal_minor,
                           coupon_discount_minor, points_redeemed, redeemed_value_minor,
                           payable_minor, points_earned, bonus_points, occurred_at, received_at)
       SELECT v.id, v.store_id, v.member_id, 'AED', t.total, 0, 0, 0, t.total, 0, 0,
              v.occurred_at, v.occurred_at
       FROM visit v
       JOIN (SELECT basket_id, sum(net_minor) AS total FROM basket_line GROUP BY basket_id) t
         ON t.basket_id = v.id""",
]

# The ids were given explicitly: move each table's sequence past them.
_SEQUENCES = ("category", "product", "store", "member", "basket", "basket_line")


def generate(url: str, as_of: dt.date) -> dict[str, int]:
    """Fill the (migrated, empty) database at ``url``; returns the rows per table."""
    engine = create_engine(url, isolation_level="READ COMMITTED")
    start = dt.datetime.combine(as_of, dt.time(23, 59))  # the columns hold naive UTC
    with engine.begin() as conn:
        for statement in STATEMENTS:
            conn.execute(text(statement), {"as_of": start} if ":as_of" in statement else {})
        for table in _SEQUENCES:
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"(SELECT max(id) FROM {table}))"))
    counts = {}
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (FREEZE, ANALYZE) member, consent_record, basket, basket_line"))
        for table in ("member", "consent_record", "basket", "basket_line"):
            counts[table] = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    engine.dispose()
    return counts
