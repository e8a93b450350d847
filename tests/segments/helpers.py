"""A small population with every attribute a rule can test, and the same facts in Python for a
brute-force count to compare the compiled SQL against."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import insert
from sqlalchemy.orm import Session

from loyalty.cards.models import Card, CardStatus
from loyalty.catalog.models import Category
from loyalty.insight.models import MemberInsight
from loyalty.members.models import Channel, ConsentRecord, Member
from loyalty.tiers.models import Tier
from tests.factories import make_store
from tests.insight.helpers import add_baskets

NOW = dt.datetime(2026, 6, 15, 12, tzinfo=dt.UTC)


@dataclass
class Facts:
    id: int
    name: str
    insight: dict | None
    birth_date: dt.date | None
    gender: str | None
    language: str
    tier: str | None
    cards: list[str]
    consents: dict[str, bool]  # channel -> newest decision
    bought: dict[int, dt.datetime] = field(default_factory=dict)  # category -> last purchase

    def age(self) -> int | None:
        if self.birth_date is None:
            return None
        today = NOW.date()
        b = self.birth_date
        return today.year - b.year - ((today.month, today.day) < (b.month, b.day))


def _insight(recency: int, frequency: int, monetary: int, r: int, f: int, m: int,
             segment: str, p_alive: float | None) -> dict:
    return {"recency_days": recency, "frequency": frequency, "monetary_minor": monetary,
            "r": r, "f": f, "m": m, "segment": segment, "p_alive": p_alive}


# name, insight, birth date, gender, language, tier, cards, consent decisions (oldest first)
PEOPLE = [
    ("Ann", _insight(3, 12, 90000, 5, 5, 5, "Champions", 0.95), dt.date(1990, 6, 15), "female",
     "en", "gold", ["active"], [("email", True)]),
    ("Bob", _insight(200, 1, 1500, 1, 1, 1, "Lost", 0.1), dt.date(1990, 6, 16), "male", "ar",
     None, ["blocked", "active"], [("email", True), ("email", False), ("sms", True)]),
    ("Cyd", _insight(40, 4, 20000, 3, 3, 4, "Need attention", None), None, None, "fa",
     "silver", ["replaced"], [("sms", False), ("sms", True)]),
    ("Dee", None, dt.date(2008, 2, 29), "female", "en", "gold", [], []),
    ("Eve", _insight(10, 6, 40000, 4, 4, 4, "Loyal", 0.7), dt.date(1960, 12, 1), "female",
     "ar", None, ["active"], [("email", False)]),
    ("Fay", _insight(95, 2, 3000, 2, 2, 2, "At risk", 0.4), dt.date(2000, 1, 31), "other",
     "en", "silver", ["blocked"], [("email", True), ("sms", True)]),
]


def build_population(db: Session) -> tuple[list[Facts], dict[str, int]]:
    """The people above in the database; returns their facts and the category ids."""
    tiers = {"silver": Tier(code="silver", name="Silver", rank=1, min_spend_minor=0),
             "gold": Tier(code="gold", name="Gold", rank=2, min_spend_minor=100000)}
    categories = {"dairy": Category(code="dairy", name="Dairy"),
                  "fruit": Category(code="fruit", name="Fruit")}
    db.add_all([*tiers.values(), *categories.values()])
    db.flush()
    facts = []
    for n, (name, insight, born, gender, language, tier, cards, decisions) in enumerate(PEOPLE):
        member = Member(name=name, birth_date=born, gender=gender, language=language,
                        tier_id=tiers[tier].id if tier else None)
        db.add(member)
        db.flush()
        for i, status in enumerate(cards):
            db.add(Card(number=f"SEG{n}{i}{member.id}", member_id=member.id,
                        status=CardStatus(status)))
        for channel, granted in decisions:
            db.add(ConsentRecord(member_id=member.id, channel=Channel(channel), granted=granted,
                                 text_version="v1"))
        db.flush()
        if insight:
            db.execute(insert(MemberInsight), [{
                "member_id": member.id, "as_of": NOW.date(), "first_purchase_at": NOW,
                "last_purchase_at": NOW, "average_basket_minor": 0, **insight}])
        facts.append(Facts(member.id, name, insight, born, gender, language, tier, cards,
                           dict(decisions)))
    _buy(db, facts, {c: k.id for c, k in categories.items()})
    db.flush()
    return facts, {c: k.id for c, k in categories.items()}


def _buy(db: Session, facts: list[Facts], cats: dict[str, int]) -> None:
    store = make_store(db)
    ann, bob, cyd, *_ = facts
    sales = [(ann, 5, "dairy"), (bob, 100, "dairy"), (cyd, 29, "fruit"), (cyd, 31, "dairy")]
    for person, days_ago, category in sales:
        when = NOW - dt.timedelta(days=days_ago)
        add_baskets(db, store.id, [(person.id, when, [("SKU", cats[category], 500)])])
        last = person.bought.get(cats[category])
        person.bought[cats[category]] = max(when, last) if last else when
