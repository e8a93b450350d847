"""The demo seed, on a small chain, through the same code as ``make demo``."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loyalty.baskets.models import Basket, BasketLine
from loyalty.cards.models import Card, CardStatus
from loyalty.catalog.models import Category, Product
from loyalty.demo.data import CATALOG, EXCLUDED_CATEGORY, STORES
from loyalty.demo.plan import ChainSpec, build_plan
from loyalty.demo.seed import STATE_FILE, history_start
from loyalty.ledger.models import Account, AccountKind, Entry
from loyalty.ledger.verify import verify_ledger
from loyalty.members.models import Channel, ConsentRecord, Member
from loyalty.rules.models import EarningRule
from loyalty.staff.models import StaffUser
from loyalty.staff.services import authenticate_staff
from loyalty.stores.models import Store, Till
from loyalty.tiers.models import Tier
from tests.demo.conftest import SMALL, TODAY, seed
from tests.factories import auth


def count(db: Session, model: type) -> int:
    return db.scalar(select(func.count()).select_from(model))


# The plan's baskets; the demo campaigns' answers (``demo-response-...``) come after them.
PLANNED = Basket.external_ref.not_like("demo-response-%")


def test_small_chain_has_everything_the_demo_promises(chain, chain_db):
    db = chain_db
    assert chain.result.status == "seeded"
    assert [count(db, m) for m in (Store, Till, StaffUser, Category, Product, Tier)] == [
        3, 3, 8, 15, 210, 3]
    assert count(db, EarningRule) == 4
    assert count(db, Member) == 30
    assert db.scalar(select(func.count()).select_from(Basket).where(PLANNED)) == 300
    # Every member has a points account, one active card and an SMS consent decision.
    assert count(db, Account) - _programme_accounts(db) == 30
    assert db.scalar(select(func.count(func.distinct(Card.member_id)))
                     .where(Card.status == CardStatus.ACTIVE)) == 30
    assert db.scalar(select(func.count()).select_from(ConsentRecord)
                     .where(ConsentRecord.channel == Channel.SMS)) == 30
    languages = set(db.scalars(select(Member.language)))
    assert languages == {"ar", "fa", "en"}
    assert all(p.startswith("+9715") and len(p) == 13 for p in db.scalars(select(Member.phone)))


def _programme_accounts(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Account)
                     .where(Account.kind != AccountKind.MEMBER))


def test_baskets_span_the_history_and_members_redeem(chain_db):
    db = chain_db
    start = history_start({"history_start": (TODAY - dt.timedelta(days=SMALL.days)).isoformat()})
    end = start + dt.timedelta(days=SMALL.days)
    first, last = db.execute(select(func.min(Basket.occurred_at),
                                     func.max(Basket.occurred_at))).one()
    assert start <= first < start + dt.timedelta(days=14)
    assert end - dt.timedelta(days=3) < last < end
    assert db.scalar(select(func.count()).select_from(Basket)
                     .where(Basket.points_redeemed > 0)) > 0
    assert db.scalar(select(func.count()).select_from(Member)
                     .where(Member.tier_id.is_not(None))) > 0
    # Baskets are spread over all three stores, and members earn.
    assert db.scalar(select(func.count(func.distinct(Basket.store_id)))) == 3
    assert db.scalar(select(func.sum(Basket.points_earned))) > 0


def test_baskets_are_the_plan_replayed_through_the_checkout(chain_db):
    db = chain_db
    plan = build_plan(SMALL)
    stored = dict(db.execute(select(Basket.external_ref, Basket.subtotal_minor)
                             .where(PLANNED)).all())
    assert stored == {f"demo-{b.index:06d}": b.subtotal_minor for b in plan.baskets}
    # The earning rules were applied: tobacco lines never earn.
    tobacco = db.scalar(
        select(func.coalesce(func.sum(BasketLine.points_earned), 0))
        .join(Category, Category.id == BasketLine.category_id)
        .where(Category.code == EXCLUDED_CATEGORY)
    )
    assert tobacco == 0
    assert db.scalar(select(func.count()).select_from(BasketLine)
                     .join(Category, Category.id == BasketLine.category_id)
                     .where(Category.code == EXCLUDED_CATEGORY)) > 0


def test_ledger_invariants_hold_after_seeding(chain_db):
    db = chain_db
    assert verify_ledger(db) == []
    sums = dict(db.execute(select(Entry.account_id, func.sum(Entry.amount))
                           .group_by(Entry.account_id)).all())
    members = db.scalars(select(Account).where(Account.kind == AccountKind.MEMBER)).all()
    assert any(a.balance > 0 for a in members)
    for account in members:
        assert account.balance == sums.get(account.id, 0)
    assert sum(sums.values()) == 0  # every point came from a programme account


def test_a_second_seed_does_nothing(chain, chain_db):
    db = chain_db
    before = (count(db, Member), count(db, Basket), count(db, Entry))
    db.rollback()  # SQLite: let go of the database before the seed writes
    again = seed(chain.app)
    assert again.status == "present"
    assert again.baskets_added == 0
    assert again.seconds < 2
    db.expire_all()
    assert (count(db, Member), count(db, Basket), count(db, Entry)) == before


class CutShort(Exception):
    pass


def test_an_interrupted_seed_resumes_where_it_stopped(app, db):
    def progress(label, total):
        from contextlib import nullcontext

        def advance(n):
            if label == "baskets":
                raise CutShort  # after the first batch has committed
        return nullcontext(advance)

    with pytest.raises(CutShort):
        seed(app, progress=progress, batch_size=100)
    assert count(db, Basket) == 100
    db.rollback()
    resumed = seed(app, batch_size=100)
    assert (resumed.status, resumed.baskets_added, resumed.baskets) == ("resumed", 200, 300)
    db.expire_all()
    plan = build_plan(SMALL)
    stored = dict(db.execute(select(Basket.external_ref, Basket.subtotal_minor)
                             .where(PLANNED)).all())
    assert stored == {f"demo-{b.index:06d}": b.subtotal_minor for b in plan.baskets}
    assert verify_ledger(db) == []


def test_credentials_file_holds_working_logins_and_tokens(chain, chain_db):
    db, client = chain_db, chain.app.test_client()
    path = Path(chain.app.extensions["loyalty.settings"].instance_path) / STATE_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    state = json.loads(path.read_text(encoding="utf-8"))
    assert state["complete"] is True
    assert {t["store"] for t in state["tills"]} == {s.code for s in STORES}
    admin = next(p for p in state["staff"] if p["username"] == "admin")
    assert authenticate_staff(db, "admin", admin["password"]).role.value == "admin"
    card = db.scalar(select(Card.number).where(Card.status == CardStatus.ACTIVE).limit(1))
    member_id = db.scalar(select(Member.id).limit(1))
    db.rollback()  # SQLite: the requests below need the write lock

    till = state["tills"][0]["token"]
    assert client.get(f"/api/v1/cards/{card}", headers=auth(till)).status_code == 200
    assert client.get(f"/api/v1/cards/{card}", headers=auth("till_wrong")).status_code == 401
    resp = client.get(f"/api/v1/members/{member_id}/ledger", headers=auth(admin["api_token"]))
    assert resp.status_code == 200


def _fingerprint(db: Session) -> tuple:
    members = db.execute(
        select(Member.phone, Member.name, Member.email, Member.language, Tier.code,
               Account.balance)
        .outerjoin(Tier, Tier.id == Member.tier_id)
        .join(Account, Account.member_id == Member.id)
        .order_by(Member.phone)
    ).all()
    baskets = db.execute(
        select(Basket.external_ref, Basket.occurred_at, Member.phone, Store.code,
               Basket.subtotal_minor, Basket.points_earned, Basket.points_redeemed,
               Basket.payable_minor)
        .join(Member, Member.id == Basket.member_id).join(Store, Store.id == Basket.store_id)
        .order_by(Basket.external_ref)
    ).all()
    return tuple(members), tuple(baskets)


def test_two_seeds_of_fresh_databases_give_the_same_chain(chain_db, app, db):
    assert seed(app).status == "seeded"
    first, second = _fingerprint(chain_db), _fingerprint(db)
    assert len([b for b in first[1] if not b[0].startswith("demo-response-")]) == 300
    assert first == second


def test_the_plan_is_the_same_under_any_hash_seed():
    assert build_plan(SMALL) == build_plan(SMALL)
    assert build_plan(SMALL) != build_plan(ChainSpec(members=30, baskets=300, days=60, seed=8))
    code = ("from loyalty.demo.plan import build_plan, ChainSpec;"
            "import hashlib;"
            "print(hashlib.sha256(repr(build_plan(ChainSpec(30, 300, 60, 7))).encode())"
            ".hexdigest())")
    digests = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={**os.environ, "PYTHONHASHSEED": hash_seed}).stdout
        for hash_seed in ("1", "2")
    }
    assert len(digests) == 1


def test_full_size_plan_meets_the_brief():
    plan = build_plan(ChainSpec())
    assert len(plan.members) == 2000
    assert len(plan.baskets) >= 30_000
    assert len(plan.products) >= 200
    assert len({p.category for p in plan.products}) == len(CATALOG) == 15
    days = (plan.baskets[-1].offset - plan.baskets[0].offset) / 86_400
    assert days > 182  # at least six months of baskets
    assert len({m.phone for m in plan.members}) == 2000
    emails = [m.email for m in plan.members if m.email]
    assert len(set(emails)) == len(emails)
    # Distinct habits: the heaviest shoppers visit far more often than the lightest.
    visits: dict[int, int] = {}
    for b in plan.baskets:
        visits[b.member] = visits.get(b.member, 0) + 1
    assert max(visits.values()) > 10 * min(visits.values())
