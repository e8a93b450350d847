"""The demo chain as a plan: who the members are and every basket they buy.  Pure: no database.

The plan depends on the :class:`ChainSpec` alone (a seeded ``random.Random``, no sets of
strings, no clock), so the same spec gives the same members and baskets on every machine and
under any ``PYTHONHASHSEED``.  Times are offsets from the start of the history; the seed maps
them onto the calendar, so content stays fixed and only dates move with the day of seeding.

Members shop by habit (:data:`loyalty.demo.data.HABITS`), each with a home store, favourite
categories, a handful of staple products they buy again and again, a visit rhythm and a time
of day, so segments built from buying behaviour find real differences.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from loyalty.demo.data import (
    CATALOG,
    EMAIL_DOMAINS,
    EXCLUDED_CATEGORY,
    FAMILY_NAMES,
    FIRST_NAMES,
    HABITS,
    LANGUAGE_SHARE,
    MOBILE_PREFIXES,
    STORES,
    Habit,
)
from loyalty.money import allocate, percent_of

DAY = 86_400
MIN_DAYS = 14  # the shortest history a demo chain may have
# Members who joined before the history started did so within this many days before it.
MEMBERSHIP_YEARS = 3
QUANTITIES = (1, 2, 3, 4, 6)
QUANTITY_WEIGHTS = (70, 18, 7, 3, 2)
PROMO_PERCENTS = (10, 15, 20, 25)


@dataclass(frozen=True)
class ChainSpec:
    members: int = 2000
    baskets: int = 30_000
    days: int = 184  # a little over six months
    seed: int = 2026

    def __post_init__(self) -> None:
        if self.members < 1 or self.baskets < 0 or self.days < MIN_DAYS:
            raise ValueError(f"a demo chain needs members, baskets >= 0 and at least "
                             f"{MIN_DAYS} days")


@dataclass(frozen=True)
class ProductSpec:
    sku: str
    barcode: str
    name: str
    category: str
    price_minor: int


@dataclass(frozen=True)
class MemberPlan:
    index: int
    name: str
    phone: str
    email: str | None
    birth_year: int
    birth_day_of_year: int
    gender: str
    language: str
    channel: str  # "sms" or "email"
    consent_email: bool | None  # None: no email address, nothing to consent to
    consent_sms: bool
    joined_offset: int  # seconds from the start of the history (negative: before it)
    home_store: int  # index into STORES
    habit: str
    favourite_categories: tuple[str, ...]
    staples: tuple[str, ...]  # SKUs


@dataclass(frozen=True)
class LinePlan:
    sku: str
    quantity: int
    unit_price_minor: int
    discount_minor: int = 0

    @property
    def net_minor(self) -> int:
        return self.quantity * self.unit_price_minor - self.discount_minor


@dataclass(frozen=True)
class BasketPlan:
    index: int
    member: int  # index into ChainPlan.members
    store: int  # index into STORES
    offset: int  # seconds from the start of the history (UTC)
    lines: tuple[LinePlan, ...]
    # Drawn whether or not the member has points, so the stream never depends on the database.
    redeem_roll: float
    redeem_percent: int

    @property
    def subtotal_minor(self) -> int:
        return sum(line.net_minor for line in self.lines)


@dataclass(frozen=True)
class ChainPlan:
    spec: ChainSpec
    products: tuple[ProductSpec, ...]
    members: tuple[MemberPlan, ...]
    baskets: tuple[BasketPlan, ...]


def catalog_products() -> tuple[ProductSpec, ...]:
    """The fixed catalog: SKU ``<category no><item no>`` and a GS1 barcode (UAE prefix 629)."""
    products = []
    for c, (code, (_name, items)) in enumerate(CATALOG.items(), start=1):
        for i, item in enumerate(items, start=1):
            name, price = item.rsplit("|", 1)
            sku = f"{c:02d}{i:03d}"
            products.append(ProductSpec(sku, ean13(f"629100{sku}1"), name, code, int(price)))
    return tuple(products)


def ean13(payload12: str) -> str:
    """Twelve digits plus the GS1 check digit."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(payload12))
    return payload12 + str((10 - total % 10) % 10)


def build_plan(spec: ChainSpec) -> ChainPlan:
    rng = random.Random(spec.seed)
    products = catalog_products()
    by_category: dict[str, list[ProductSpec]] = {}
    for p in products:
        by_category.setdefault(p.category, []).append(p)
    members, rhythms = _members(rng, spec, by_category)
    baskets = _baskets(rng, spec, members, rhythms, by_category, products)
    return ChainPlan(spec, products, tuple(members), tuple(baskets))


@dataclass(frozen=True)
class _Rhythm:
    visits_per_week: float
    weekday: int  # day of the week (counted from the history's first day) they prefer
    hour: float  # preferred local hour


def _members(
    rng: random.Random, spec: ChainSpec, by_category: dict[str, list[ProductSpec]]
) -> tuple[list[MemberPlan], list[_Rhythm]]:
    phones = _unique_phones(rng, spec.members)
    emails: set[str] = set()
    members, rhythms = [], []
    habits = {h.name: h for h in HABITS}
    for i in range(spec.members):
        language = _pick(rng, LANGUAGE_SHARE)
        gender = rng.choice(("female", "male"))
        first = rng.choice(FIRST_NAMES[language][gender])
        family = rng.choice(FAMILY_NAMES[language])
        email = _email(rng, first[1], family[1], emails) if rng.random() < 0.65 else None
        habit = habits[_pick(rng, {h.name: h.share for h in HABITS})]
        favourites = _favourites(rng, habit)
        # New members join at least two weeks before the end, so they shop a little; in the
        # shortest history (MIN_DAYS) that leaves its first day.
        joined = (
            -rng.randrange(DAY, MEMBERSHIP_YEARS * 365 * DAY)
            if rng.random() < 0.75
            else rng.randrange(0, max(spec.days - MIN_DAYS, 1) * DAY)
        )
        members.append(MemberPlan(
            index=i,
            name=f"{first[0]} {family[0]}",
            phone=phones[i],
            email=email,
            birth_year=rng.randrange(1950, 2006),
            birth_day_of_year=rng.randrange(1, 366),
            gender=gender,
            language=language,
            channel="email" if email and rng.random() < 0.5 else "sms",
            consent_email=(rng.random() < 0.7) if email else None,
            consent_sms=rng.random() < 0.6,
            joined_offset=joined,
            home_store=_pick(rng, {n: s.share for n, s in enumerate(STORES)}),
            habit=habit.name,
            favourite_categories=favourites,
            staples=_staples(rng, favourites, by_category),
        ))
        rhythms.append(_Rhythm(
            visits_per_week=habit.visits_per_week * rng.lognormvariate(0, 0.35),
            weekday=rng.randrange(7),
            hour=rng.uniform(*habit.hours),
        ))
    return members, rhythms


def _pick(rng: random.Random, weights: dict) -> object:  # type: ignore[type-arg]
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _unique_phones(rng: random.Random, count: int) -> list[str]:
    numbers = rng.sample(range(len(MOBILE_PREFIXES) * 10_000_000), count)
    return [f"+971{MOBILE_PREFIXES[n // 10_000_000]}{n % 10_000_000:07d}" for n in numbers]


def _email(rng: random.Random, first: str, family: str, taken: set[str]) -> str:
    while True:
        address = f"{first}.{family}{rng.randrange(1, 100)}@{rng.choice(EMAIL_DOMAINS)}"
        if address not in taken:
            taken.add(address)
            return address


def _favourites(rng: random.Random, habit: Habit) -> tuple[str, ...]:
    pool = list(habit.categories)
    chosen = []
    for _ in range(3):
        # Earlier categories of the habit are likelier favourites.
        pick = rng.choices(pool, weights=[len(pool) - k for k in range(len(pool))])[0]
        pool.remove(pick)
        chosen.append(pick)
    others = [c for c in CATALOG if c not in chosen and c != EXCLUDED_CATEGORY]
    chosen.append(rng.choice(others))
    return tuple(chosen)


def _staples(
    rng: random.Random, favourites: tuple[str, ...], by_category: dict[str, list[ProductSpec]]
) -> tuple[str, ...]:
    staples: list[str] = []
    for category in favourites[:3]:
        staples += [p.sku for p in rng.sample(by_category[category], rng.randint(1, 3))]
    return tuple(staples)


def _baskets(
    rng: random.Random, spec: ChainSpec, members: list[MemberPlan], rhythms: list[_Rhythm],
    by_category: dict[str, list[ProductSpec]], products: tuple[ProductSpec, ...],
) -> list[BasketPlan]:
    windows = [_window(spec, m) for m in members]
    # Expected visits: rhythm x days active, split exactly into whole baskets (largest remainder).
    weights = [round(r.visits_per_week * (end - start) / 7 * 1000)
               for r, (start, end) in zip(rhythms, windows, strict=True)]
    counts = allocate(spec.baskets, weights)
    everyday = [p for p in products if p.category != EXCLUDED_CATEGORY]
    drafts = []
    by_sku = {p.sku: p for p in products}
    habits = {h.name: h for h in HABITS}
    for member, rhythm, (start, end), count in zip(members, rhythms, windows, counts,
                                                   strict=True):
        habit = habits[member.habit]
        for k in range(count):
            day = _visit_day(rng, start, end, k, count, rhythm.weekday)
            offset = day * DAY + _time_of_day(rng, rhythm.hour, habit)
            store = member.home_store if rng.random() < 0.85 else rng.randrange(len(STORES))
            lines = _lines(rng, member, habit, by_category, by_sku, everyday)
            drafts.append((offset, member.index, k, store, lines, rng.random(),
                           rng.choice((25, 50, 100))))
    drafts.sort(key=lambda d: (d[0], d[1], d[2]))
    return [
        BasketPlan(index=n, member=m, store=s, offset=o, lines=lines, redeem_roll=roll,
                   redeem_percent=pct)
        for n, (o, m, _k, s, lines, roll, pct) in enumerate(drafts)
    ]


def _window(spec: ChainSpec, member: MemberPlan) -> tuple[int, int]:
    """The whole days of the history in which the member shops: from joining to the end."""
    return max(0, -(-member.joined_offset // DAY)), spec.days


def _visit_day(rng: random.Random, start: int, end: int, k: int, count: int, weekday: int) -> int:
    # Spread visits evenly with jitter (a rhythm, not a burst); half keep to their weekday.
    day = start + int((k + rng.random()) * (end - start) / count)
    if rng.random() < 0.5:
        shift = (weekday - day) % 7
        day += shift if shift <= 3 else shift - 7
    return min(max(day, start), end - 1)


def _time_of_day(rng: random.Random, hour: float, habit: Habit) -> int:
    """Seconds after local midnight, within the habit's hours and the stores' (07:00-23:59)."""
    local = min(max(rng.gauss(hour, 1.2), habit.hours[0], 7.0), 23.9)
    return int(local * 3600)


def _lines(
    rng: random.Random, member: MemberPlan, habit: Habit,
    by_category: dict[str, list[ProductSpec]], by_sku: dict[str, ProductSpec],
    everyday: list[ProductSpec],
) -> tuple[LinePlan, ...]:
    quantities: dict[str, int] = {}
    for _ in range(rng.randint(*habit.lines)):
        roll = rng.random()
        if roll < 0.45:
            product = by_sku[rng.choice(member.staples)]
        elif roll < 0.85:
            product = rng.choice(by_category[rng.choice(member.favourite_categories)])
        else:
            product = rng.choice(everyday)
        qty = rng.choices(QUANTITIES, weights=QUANTITY_WEIGHTS)[0]
        quantities[product.sku] = quantities.get(product.sku, 0) + qty
    lines = []
    for sku, qty in quantities.items():
        price = by_sku[sku].price_minor
        promo = rng.choice(PROMO_PERCENTS) if rng.random() < 0.07 else 0
        lines.append(LinePlan(sku, qty, price, percent_of(qty * price, promo)))
    return tuple(lines)
