"""Quality: on synthetic baskets with planted effects, the engine finds what was planted.

1. A cross-sell pair hidden among noisy shoppers ranks among the top affinity rules
   (``loyalty insight pairs``).
2. A campaign uplift of +X spend per treated member, over noisy spend, is recovered inside the
   results' 95% interval, which excludes 0; and with no effect at all (an A/A test) the interval
   covers 0.

Seeded randomness: the same baskets on every run, on SQLite and PostgreSQL.  Sizes are modest
so each case runs in seconds.
"""

from __future__ import annotations

import datetime as dt
import random

from loyalty.catalog.models import Category
from tests.auth.chain import make_chain
from tests.campaigns.results_helpers import bulk_baskets, make_campaign, plan
from tests.factories import invoke_cli, make_store
from tests.insight.helpers import add_baskets, add_members

PLANNED = dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)
WINDOW = 14
GROUP = 300  # members per group
PLANTED = 5_000  # +50.00 AED per treated member


# --- 1. the cross-sell pair --------------------------------------------------------------------

CATEGORIES = ("bread", "milk", "eggs", "fruit", "vegetables", "rice", "tea", "coffee",
              "pasta", "pasta-sauce", "cheese", "snacks", "soap", "juice", "water")


def test_a_planted_cross_sell_pair_ranks_among_the_top_rules(app, db):
    """Shoppers pick categories by popularity; one in six baskets with pasta also gets
    pasta sauce on purpose (a habit), where chance alone would give about one in ten."""
    store = make_store(db, "AED")
    cats = {code: Category(code=code, name=code) for code in CATEGORIES}
    db.add_all(cats.values())
    db.flush()
    members = add_members(db, 60)
    rng = random.Random(20261203)
    popularity = [rng.uniform(0.05, 0.35) for _ in CATEGORIES]
    sales = []
    for n in range(1_500):
        chosen = {c for c, p in zip(CATEGORIES, popularity, strict=True) if rng.random() < p}
        if "pasta" in chosen and rng.random() < 0.6:
            chosen.add("pasta-sauce")
        chosen = chosen or {"water"}
        when = dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=37 * n)
        sales.append((rng.choice(members), when,
                      [(code.upper(), cats[code].id, rng.randrange(200, 3_000))
                       for code in sorted(chosen)]))
    add_baskets(db, store.id, sales)
    db.commit()
    assert invoke_cli(app, ["insight", "rebuild", "--as-of", "2026-03-31"]).exit_code == 0
    result = invoke_cli(app, ["insight", "pairs", "--category", "pasta", "--limit", "3"])
    assert result.exit_code == 0, result.output
    top = [line.split()[0] for line in result.output.splitlines()]
    assert top[0] == "pasta-sauce", result.output


# --- 2. the campaign uplift --------------------------------------------------------------------


def _campaign_with_effect(db, store_id: int, effect: int,  # type: ignore[no-untyped-def]
                          seed: int):
    """Two groups of GROUP members, drawn alike: each shops a Poisson(2)-ish number of times in
    the window, baskets of 50-150 AED.  Treated members who respond (half of them) spend
    ``2 * effect`` more in one extra basket, so the group's uplift is ``effect`` per member."""
    rng = random.Random(seed)
    members = add_members(db, 2 * GROUP)
    treatment, holdout = members[:GROUP], members[GROUP:]
    campaign = make_campaign(db, starts_at=PLANNED, attribution_days=WINDOW,
                             holdout_percent=50)
    plan(db, campaign, PLANNED, treatment, holdout)
    sales = []
    for member in members:
        for _ in range(sum(rng.random() < 0.15 for _ in range(14))):
            at = PLANNED + dt.timedelta(days=rng.uniform(0, WINDOW))
            sales.append((member, at, rng.randrange(5_000, 15_000)))
    responders = [m for m in treatment if rng.random() < 0.5]
    if effect:
        for member in responders:
            at = PLANNED + dt.timedelta(days=rng.uniform(0, WINDOW))
            sales.append((member, at, round(effect * GROUP / len(responders))))
    # shopping outside the window does not count, however much
    sales += [(m, PLANNED - dt.timedelta(hours=1), 90_000) for m in treatment[:50]]
    sales += [(m, PLANNED + dt.timedelta(days=WINDOW, hours=1), 90_000) for m in holdout[:50]]
    bulk_baskets(db, store_id, sales)
    db.commit()
    return campaign, len(responders)


def test_a_planted_uplift_is_recovered_inside_its_interval(client, db):
    chain = make_chain(db)
    campaign, responders = _campaign_with_effect(db, chain.store.id, PLANTED, seed=11)
    body = client.get(f"/api/v1/campaigns/{campaign.id}/results",
                      headers=chain.headers("marketer")).json
    planted = round(PLANTED * GROUP / responders) * responders / GROUP  # after rounding
    low, high = body["uplift_interval"]["low"], body["uplift_interval"]["high"]
    assert low < planted < high, body["uplift_interval"]
    assert low > 0, "the planted uplift should be told apart from no effect"
    revenue = body["incremental_revenue_interval"]
    assert revenue["low"] < planted * GROUP < revenue["high"]
    assert body["p_value"] < 0.05
    # the noise is real: the interval is not a point
    assert high - low > 1_000


def test_with_no_effect_the_interval_covers_zero(client, db):
    chain = make_chain(db)
    campaign, _ = _campaign_with_effect(db, chain.store.id, 0, seed=12)
    body = client.get(f"/api/v1/campaigns/{campaign.id}/results",
                      headers=chain.headers("marketer")).json
    low, high = body["uplift_interval"]["low"], body["uplift_interval"]["high"]
    assert low < 0 < high, body["uplift_interval"]
    assert body["p_value"] > 0.05
    assert body["treatment"]["members"] == body["holdout"]["members"] == GROUP


def test_the_interval_covers_the_planted_uplift_about_95_times_in_100(db):
    """Eight more draws.  A 95% interval misses now and then (seed 23 does, narrowly), so the
    test asks what a calibrated interval gives: at least 6 of 8 covered (fewer happens with
    probability 0.006).  A bias (a wrong window, members lost from a group) or intervals too
    narrow would miss far more often."""
    from loyalty.campaigns.results import campaign_results

    store = make_store(db, "AED")
    covered = []
    for seed in range(21, 29):
        campaign, responders = _campaign_with_effect(db, store.id, PLANTED, seed=seed)
        planted = round(PLANTED * GROUP / responders) * responders / GROUP
        found = campaign_results(db, campaign.id, as_of=PLANNED + dt.timedelta(days=30))
        assert found.uplift_interval is not None
        covered.append(found.uplift_interval.low < planted < found.uplift_interval.high)
    assert sum(covered) >= 6, covered
