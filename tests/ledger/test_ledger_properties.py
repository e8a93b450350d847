"""A stateful property test of the ledger through the real API (hypothesis).

Steps: earn, redeem, return, expire, replay a request, advance the clock.  After every step the
same invariants hold: ``loyalty ledger verify`` finds nothing, the balance is what the steps
add up to, it is negative only when flagged for review, and no basket loses more points to
returns than it earned.
"""

from __future__ import annotations

import datetime as dt
import itertools

from hypothesis import HealthCheck
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from loyalty.db import utcnow
from loyalty.ledger.models import Account, ReviewFlag
from loyalty.ledger.services import expire_points
from loyalty.ledger.verify import verify_ledger
from tests.checkout.conftest import give_points

_keys = itertools.count()

line_st = st.fixed_dictionaries({
    "sku": st.sampled_from(["MILK", "BREAD", "CIGS", "OTHER"]),
    "quantity": st.integers(1, 4),
    "unit_price_minor": st.integers(0, 5_000),
})


def test_ledger_invariants_hold_under_any_sequence(app, db, shop):
    give_points(db, shop.member_id, 200)
    db.commit()

    class Ledger(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.client = app.test_client()
            self.expected = self._balance()
            self.baskets: dict[int, dict] = {}  # id -> {"lines", "earned", "reversed"}
            self.last: tuple[str, dict, str, dict] | None = None
            self.clock = utcnow()

        def _balance(self) -> int:
            db.expire_all()
            value = db.scalar(select(Account.balance).where(Account.member_id == shop.member_id))
            db.rollback()
            return value

        def _post(self, path: str, body: dict, key: str | None = None):  # type: ignore[no-untyped-def]
            key = key or f"k{next(_keys)}"
            resp = self.client.post(path, json=body,
                                    headers={**shop.till, "Idempotency-Key": key})
            self.last = (path, body, key, resp.json)
            return resp

        @rule(lines=st.lists(line_st, min_size=1, max_size=4), share=st.floats(0, 1))
        def checkout(self, lines: list[dict], share: float) -> None:
            total = sum(x["quantity"] * x["unit_price_minor"] for x in lines)
            redeem = int(min(max(self.expected, 0), total) * share)
            body = {"currency": "AED", "card_number": shop.card, "lines": lines,
                    "redeem_points": redeem}
            resp = self._post("/api/v1/checkouts", body)
            assert resp.status_code == 201, resp.json
            r = resp.json
            self.expected += r["points_earned"] + r["bonus_points"] - r["points_redeemed"]
            self.baskets[r["basket_id"]] = {"lines": [[x["quantity"], 0] for x in lines],
                                            "earned": r["points_earned"], "reversed": 0}

        @precondition(lambda self: self.baskets)
        @rule(data=st.data())
        def return_items(self, data: st.DataObject) -> None:
            basket_id = data.draw(st.sampled_from(sorted(self.baskets)))
            info = self.baskets[basket_id]
            open_lines = [(n, sold - done) for n, (sold, done) in
                          enumerate(info["lines"], start=1) if sold > done]
            if not open_lines:
                return
            line_no, left = data.draw(st.sampled_from(open_lines))
            qty = data.draw(st.integers(1, left))
            resp = self._post("/api/v1/returns",
                              {"basket_id": basket_id,
                               "lines": [{"line_no": line_no, "quantity": qty}]})
            assert resp.status_code == 201, resp.json
            r = resp.json
            info["lines"][line_no - 1][1] += qty
            info["reversed"] += r["points_reversed"]
            self.expected += r["points_refunded"] - r["points_reversed"]

        @precondition(lambda self: self.last is not None)
        @rule()
        def replay_last_request(self) -> None:
            path, body, key, first = self.last  # type: ignore[misc]
            again = self.client.post(path, json=body,
                                     headers={**shop.till, "Idempotency-Key": key})
            assert again.status_code == 201
            assert again.json == first

        @rule(days=st.integers(1, 400))
        def advance_clock(self, days: int) -> None:
            self.clock += dt.timedelta(days=days)

        @rule()
        def expire(self) -> None:
            expired = expire_points(db, now=self.clock)
            db.commit()
            self.expected -= expired

        @invariant()
        def ledger_verifies(self) -> None:
            problems = verify_ledger(db)
            db.rollback()
            assert problems == []

        @invariant()
        def balance_is_what_the_steps_add_up_to(self) -> None:
            balance = self._balance()
            assert balance == self.expected
            if balance < 0:
                flags = db.scalar(select(func.count()).select_from(ReviewFlag)
                                  .where(ReviewFlag.member_id == shop.member_id,
                                         ReviewFlag.reason == "negative_balance"))
                db.rollback()
                assert flags > 0

        @invariant()
        def returns_never_take_more_than_earned(self) -> None:
            for info in self.baskets.values():
                assert info["reversed"] <= info["earned"]

    run_state_machine_as_test(
        Ledger,
        settings=hsettings(max_examples=15, stateful_step_count=12, deadline=None,
                           suppress_health_check=list(HealthCheck)),
    )
