"""Seeding the demo chain: set up the chain, then replay months of baskets through the checkout.

:func:`seed_demo` is a unit-of-work owner, like a CLI command: it commits the set-up in one
transaction and the baskets in batches, so 30,000 checkouts seed in minutes and an interrupted
seed resumes where it stopped (baskets carry ``external_ref = demo-<n>`` and batches commit in
plan order, so the number already stored says exactly which come next).  The functions it calls
take a session and only flush, as every service does.

Every basket goes through :func:`loyalty.checkout.services.commit_checkout`, the very path a
till takes, so balances, lots, tiers and the ledger are what real trading would leave behind
and ``loyalty ledger verify`` holds.  The till's path refuses sales older than 30 days from
``now``; the replay hands it each sale's own time as ``now``, so each sale is validated, priced
and earned exactly as it would have been live (rows still record when they were really
written: ``received_at``).

The tokens of the demo tills and staff are shown once by the services that make them, so they
are kept, with the known demo passwords, in ``instance/demo-credentials.json`` (git-ignored,
mode 600) for ``loyalty demo serve`` to print on every start.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from loyalty.baskets.models import Basket
from loyalty.cards.models import Card, CardStatus
from loyalty.catalog.models import Category, Product
from loyalty.catalog.services import import_catalog
from loyalty.checkout.services import BasketIn, LineIn, commit_checkout
from loyalty.config import Settings
from loyalty.db import unit_of_work
from loyalty.demo.campaigns import seed_campaigns
from loyalty.demo.data import CATALOG, CONSENT_TEXT_VERSION, CURRENCY, EXCLUDED_CATEGORY, STORES
from loyalty.demo.plan import BasketPlan, ChainPlan, ChainSpec, MemberPlan, build_plan
from loyalty.errors import Conflict, InvalidInput
from loyalty.ledger.models import Account, AccountKind
from loyalty.members.models import Channel, Member
from loyalty.members.services import enrol_member, record_consent
from loyalty.money import max_points_for
from loyalty.rules.models import RuleKind
from loyalty.rules.services import add_earning_rule
from loyalty.staff.models import Role
from loyalty.staff.services import add_staff, issue_api_token
from loyalty.stores.models import Store, Till
from loyalty.stores.services import add_till, create_store
from loyalty.tiers.services import TierSpec, set_tier_ladder

STATE_FILE = "demo-credentials.json"
CHAIN_TIMEZONE = ZoneInfo("Asia/Dubai")
EXTERNAL_REF = "demo-{:06d}"
BATCH = 500
# Redemption habits: a member with at least this many points redeems on a share of visits.
REDEEM_FROM_POINTS = 500
REDEEM_SHARE = 0.12
REDEEM_STEP = 50  # cashiers redeem round amounts

# (code, name, rank, trailing 12-month spend in fils, multiplier per mille)
TIERS = (
    ("silver", "Silver", 1, 250_000, 1100),
    ("gold", "Gold", 2, 500_000, 1250),
    ("platinum", "Platinum", 3, 900_000, 1500),
)
# (name, category, multiplier per mille)
CATEGORY_MULTIPLIERS = (
    ("Double points on fruit & vegetables", "fresh-produce", 2000),
    ("Half as much again on baby care", "baby-care", 1500),
)


class Progress(Protocol):
    """Opens a progress display of ``total`` steps; the context yields ``advance(n)``."""

    def __call__(self, label: str, total: int) -> AbstractContextManager[Callable[[int], None]]:
        ...


def no_progress(label: str, total: int) -> AbstractContextManager[Callable[[int], None]]:
    return nullcontext(lambda _n: None)


@dataclass(frozen=True)
class SeedResult:
    status: str  # "seeded", "resumed" or "present"
    members: int
    baskets: int
    baskets_added: int
    seconds: float
    state_path: Path


def seed_demo(
    factory: sessionmaker[Session],
    settings: Settings,
    spec: ChainSpec | None = None,
    *,
    today: dt.date | None = None,
    progress: Progress = no_progress,
    say: Callable[[str], None] = lambda _msg: None,
    batch_size: int = BATCH,
) -> SeedResult:
    """Seed the demo chain, resume an interrupted seed, or notice it is there and do nothing.

    ``today`` anchors the history: it ends at the chain's midnight starting ``today`` (default:
    the current date in Dubai).  Given the same spec, members, products and baskets are the
    same whatever the date; only their dates move.
    """
    started = time.perf_counter()
    path = Path(settings.instance_path) / STATE_FILE
    with unit_of_work(factory) as session:
        present = _demo_store_ids(session)
        done = _demo_baskets(session)
    state = read_state(path)
    if present and state is None:
        return _without_state(factory, path, done, started)
    if not present:
        spec = spec or ChainSpec()
        today = today or dt.datetime.now(CHAIN_TIMEZONE).date()
        state = _new_state(spec, today)
    spec = ChainSpec(**state["spec"])
    if present and state.get("complete") and done >= spec.baskets and "campaigns" in state:
        return SeedResult("present", _count(factory, Member), done, 0,
                          time.perf_counter() - started, path)
    say(f"planning {spec.members} members and {spec.baskets} baskets over {spec.days} days")
    plan = build_plan(spec)
    start = history_start(state)
    if not present:
        with unit_of_work(factory) as session:
            state.update(set_up_chain(session, settings, plan, start, progress, say))
            write_state(path, state)
    added = _replay(factory, settings, plan, start, done, progress, say, batch_size)
    if "campaigns" not in state:  # after the baskets: the campaigns answer the history
        say("campaigns: one finished with its results, one running")
        state["campaigns"] = seed_campaigns(factory, settings, plan, start, history_end(state))
    state["complete"] = True
    state["seed_seconds"] = round(time.perf_counter() - started, 1)
    write_state(path, state)
    return SeedResult("resumed" if present else "seeded", len(plan.members), done + added,
                      added, time.perf_counter() - started, path)


def _without_state(
    factory: sessionmaker[Session], path: Path, done: int, started: float
) -> SeedResult:
    """The chain is in the database but its state file is gone: its tokens cannot be shown
    again (only their hashes are stored), and an unfinished replay cannot know its dates."""

    if done == 0:
        raise Conflict(f"the demo stores exist but {path} is missing; seed into a fresh database")
    return SeedResult("present", _count(factory, Member), done, 0,
                      time.perf_counter() - started, path)


def _new_state(spec: ChainSpec, today: dt.date) -> dict[str, Any]:
    return {
        "chain": "demo",
        "spec": asdict(spec),
        "history_end": today.isoformat(),
        "history_start": (today - dt.timedelta(days=spec.days)).isoformat(),
        "complete": False,
    }


def history_start(state: dict[str, Any]) -> dt.datetime:
    """Midnight in the chain's time zone on the history's first day, as an aware UTC time."""
    day = dt.date.fromisoformat(state["history_start"])
    return dt.datetime.combine(day, dt.time(0), tzinfo=CHAIN_TIMEZONE).astimezone(dt.UTC)


def history_end(state: dict[str, Any]) -> dt.datetime:
    """Midnight in the chain's time zone at the end of the history (the seed's day)."""
    day = dt.date.fromisoformat(state["history_end"])
    return dt.datetime.combine(day, dt.time(0), tzinfo=CHAIN_TIMEZONE).astimezone(dt.UTC)


def read_state(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def write_state(path: Path, state: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, ensure_ascii=False, indent=2), encoding="utf-8")
    tmp.chmod(0o600)  # demo tokens and passwords: readable by their owner only
    tmp.replace(path)


def _demo_store_ids(session: Session) -> list[int]:
    codes = [s.code for s in STORES]
    return list(session.scalars(select(Store.id).where(Store.code.in_(codes))))


def _demo_baskets(session: Session) -> int:
    return session.scalar(
        select(func.count()).select_from(Basket).where(Basket.external_ref.like("demo-%"))
    ) or 0


def _count(factory: sessionmaker[Session], model: type) -> int:
    with unit_of_work(factory) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


# --- setting the chain up (one transaction) -------------------------------------------------


def set_up_chain(
    session: Session, settings: Settings, plan: ChainPlan, start: dt.datetime,
    progress: Progress = no_progress, say: Callable[[str], None] = lambda _msg: None,
) -> dict[str, Any]:
    """Stores, tills, staff, catalog, earning rules, tiers and members.  Flushes only.

    Returns what must be shown to people later: logins, staff API tokens and till tokens.
    """
    launch = start - dt.timedelta(days=365 * 3 + 30)  # the programme predates every member
    say("stores, tills and staff")
    stores = [create_store(session, s.code, s.name, CURRENCY, s.timezone) for s in STORES]
    tills = [_demo_till(session, store) for store in stores]
    staff = _demo_staff(session, stores)
    say(f"catalog: {len(plan.products)} products in {len(CATALOG)} categories")
    categories = add_demo_catalog(session, plan)
    say("earning rules and tiers")
    add_demo_programme(session, categories, launch)
    add_demo_members(session, settings, plan.members, start, progress)
    return {"staff": staff, "tills": tills}


def _demo_till(session: Session, store: Store) -> dict[str, Any]:
    till, token = add_till(session, store, f"{store.code} lane 1", actor="demo")
    return {"store": store.code, "store_id": store.id, "till_id": till.id, "name": till.name,
            "token": token}


def _demo_staff(session: Session, stores: list[Store]) -> list[dict[str, Any]]:
    people: list[tuple[str, str, Role, Store | None]] = [
        ("admin", "Head Office Admin", Role.ADMIN, None),
        ("marketer", "Marketing Lead", Role.MARKETER, None),
    ]
    for store in stores:
        city = store.code.split("-")[0].lower()
        people += [
            (f"manager.{city}", f"{store.name} Manager", Role.STORE_MANAGER, store),
            (f"cashier.{city}", f"{store.name} Cashier", Role.CASHIER, store),
        ]
    staff = []
    for username, full_name, role, store in people:
        password = f"demo-{username}"  # known demo passwords, printed by `loyalty demo serve`
        user = add_staff(session, username, password, role,
                         store_id=store.id if store else None, full_name=full_name, actor="demo")
        staff.append({"username": username, "password": password, "role": role.value,
                      "store": store.code if store else None,
                      "api_token": issue_api_token(session, user, actor="demo")})
    return staff


def add_demo_catalog(session: Session, plan: ChainPlan) -> dict[str, Category]:
    """The fixed catalog, through the same import as ``loyalty catalog import``."""
    rows = (
        (line, {"sku": p.sku, "name": p.name, "category_code": p.category,
                "category_name": CATALOG[p.category][0], "price_minor": str(p.price_minor),
                "currency": CURRENCY, "barcode": p.barcode})
        for line, p in enumerate(plan.products, start=2)
    )
    report = import_catalog(session, rows)
    if report.errors:
        raise InvalidInput(f"demo catalog refused: {report.errors[0]}")
    return {c.code: c for c in session.scalars(select(Category))}


def add_demo_programme(
    session: Session, categories: dict[str, Category], launch: dt.datetime
) -> None:
    """One point per dirham, two category multipliers, tobacco excluded; three tiers."""
    add_earning_rule(session, "One point per dirham", RuleKind.BASE, currency=CURRENCY,
                     points_per_unit=1, valid_from=launch)
    for name, category, permille in CATEGORY_MULTIPLIERS:
        add_earning_rule(session, name, RuleKind.CATEGORY, multiplier_permille=permille,
                         category_id=categories[category].id, valid_from=launch)
    add_earning_rule(session, "Tobacco earns no points", RuleKind.EXCLUSION,
                     category_id=categories[EXCLUDED_CATEGORY].id, valid_from=launch)
    set_tier_ladder(session, [TierSpec(code, name, spend, permille)
                              for code, name, _rank, spend, permille in TIERS])


def add_demo_members(
    session: Session, settings: Settings, members: tuple[MemberPlan, ...], start: dt.datetime,
    progress: Progress = no_progress,
) -> None:
    """Enrol every member (profile, points account, first card) and record their consents,
    dated to the day they joined."""
    with progress("members", len(members)) as advance:
        for plan in members:
            joined = start + dt.timedelta(seconds=plan.joined_offset)
            member, card = enrol_member(
                session, plan.name, card_prefix=settings.card_prefix,
                card_length=settings.card_length, phone=plan.phone, email=plan.email,
                birth_date=dt.date(plan.birth_year, 1, 1) + dt.timedelta(
                    days=plan.birth_day_of_year - 1),
                gender=plan.gender, language=plan.language, preferred_channel=plan.channel,
                actor="demo",
            )
            # Backdate to the day they joined: the history starts before the seed runs.
            member.created_at = card.issued_at = joined
            if plan.consent_email is not None:
                record_consent(session, member.id, Channel.EMAIL, plan.consent_email,
                               CONSENT_TEXT_VERSION, source="enrolment", at=joined)
            record_consent(session, member.id, Channel.SMS, plan.consent_sms,
                           CONSENT_TEXT_VERSION, source="enrolment", at=joined)
            advance(1)
    session.flush()


# --- replaying the baskets (one transaction per batch) ---------------------------------------


@dataclass(frozen=True)
class _Till:
    store_id: int
    till_id: int


def _replay(
    factory: sessionmaker[Session], settings: Settings, plan: ChainPlan, start: dt.datetime,
    done: int, progress: Progress, say: Callable[[str], None], batch_size: int,
) -> int:
    todo = plan.baskets[done:]
    if not todo:
        return 0
    if done:
        say(f"resuming after basket {done}")
    with unit_of_work(factory) as session:
        cards, balances, tills = _replay_context(session, plan)
    with progress("baskets", len(todo)) as advance:
        for first in range(0, len(todo), batch_size):
            batch = todo[first:first + batch_size]
            with unit_of_work(factory) as session:
                for basket in batch:
                    _replay_one(session, settings, basket, start, cards, balances, tills)
            advance(len(batch))
    return len(todo)


def _replay_context(
    session: Session, plan: ChainPlan
) -> tuple[dict[int, tuple[int, str]], dict[int, int], list[_Till]]:
    """Plan indexes to database ids: each member's id and active card, their balance, tills."""
    by_phone = dict(session.execute(
        select(Member.phone, Member.id).where(Member.phone.in_([m.phone for m in plan.members]))
    ).all())
    card_of = dict(session.execute(
        select(Card.member_id, Card.number).where(Card.status == CardStatus.ACTIVE)
    ).all())
    cards = {m.index: (by_phone[m.phone], card_of[by_phone[m.phone]]) for m in plan.members}
    balances = dict(session.execute(
        select(Account.member_id, Account.balance).where(Account.kind == AccountKind.MEMBER)
    ).all())
    tills = []
    for spec in STORES:
        store_id = session.scalar(select(Store.id).where(Store.code == spec.code))
        till_id = session.scalar(select(Till.id).where(Till.store_id == store_id)
                                 .order_by(Till.id).limit(1))
        tills.append(_Till(store_id, till_id))
    return cards, balances, tills


def _replay_one(
    session: Session, settings: Settings, basket: BasketPlan, start: dt.datetime,
    cards: dict[int, tuple[int, str]], balances: dict[int, int],
    tills: list[_Till],
) -> None:
    member_id, card_number = cards[basket.member]
    at = start + dt.timedelta(seconds=basket.offset)  # the sale's time, and its "now"
    till = tills[basket.store]
    receipt = commit_checkout(session, settings, BasketIn(
        store_id=till.store_id, currency=CURRENCY,
        lines=tuple(LineIn(ln.sku, ln.quantity, ln.unit_price_minor, ln.discount_minor)
                    for ln in basket.lines),
        card_number=card_number,
        redeem_points=redemption(basket, balances.get(member_id, 0), settings.point_value_minor),
        occurred_at=at, till_id=till.till_id, external_ref=EXTERNAL_REF.format(basket.index),
    ), now=at)
    balances[member_id] = receipt.balance_after


def redemption(basket: BasketPlan, balance: int, point_value_minor: int) -> int:
    """How many points the member chooses to redeem on this visit: now and then a share of
    what they have, in round amounts, never more than the basket can absorb."""
    if balance < REDEEM_FROM_POINTS or basket.redeem_roll >= REDEEM_SHARE:
        return 0
    most = min(balance, max_points_for(basket.subtotal_minor, point_value_minor))
    return most * basket.redeem_percent // 100 // REDEEM_STEP * REDEEM_STEP


# --- what `loyalty demo serve` shows ---------------------------------------------------------


def sample_card(session: Session) -> tuple[str, str, int] | None:
    """A well-used active card of the first demo store's busiest member: number, name,
    balance."""
    store_id = session.scalar(select(Store.id).where(Store.code == STORES[0].code))
    if store_id is None:
        return None
    busiest = (
        select(Basket.member_id).where(Basket.store_id == store_id)
        .group_by(Basket.member_id).order_by(func.count().desc(), Basket.member_id).limit(1)
    ).scalar_subquery()
    row = session.execute(
        select(Card.number, Member.name, Account.balance)
        .join(Member, Member.id == Card.member_id)
        .join(Account, Account.member_id == Member.id)
        .where(Card.status == CardStatus.ACTIVE, Member.id == busiest)
    ).first()
    return (row[0], row[1], row[2]) if row else None


def sample_product(session: Session) -> tuple[str, str, int] | None:
    """The first product of the catalog: SKU, name, shelf price."""
    row = session.execute(
        select(Product.sku, Product.name, Product.price_minor).order_by(Product.sku).limit(1)
    ).first()
    return (row[0], row[1], row[2]) if row else None
