"""The till session: one sale at a time, from the member's card to the printed slip.

Steps::

    idle --identify--> member --line--> basket --quote--> quoted --commit--> (slip) --> idle
           (card, QR, phone)   (scan or local API)  (online or estimate) (outbox, then replay)

Lines may also come before the member (the store's POS software often pushes the basket
first); a line, a coupon or another member after a quote drops the quote.  Void a line or
cancel the sale at any step before commit.

Invariants:

- Every sale is committed through the outbox first (durable on return); the back office is
  then tried for at most ``commit_timeout`` seconds.  A cashier never waits longer, and a sale
  that did not get through stands as "queued offline": the outbox delivers it later.
- An illegal step (commit with an empty basket, cancel when idle, ...) raises a
  :class:`TillError` and changes nothing.
- A payment card leaves no trace: the screen says "payment card: not a loyalty card" and
  nothing of the scan is kept, logged or sent.
- Thread-safe: one lock per session serialises device threads and the local API, and no call
  to the back office is made while it is held.

The session does no I/O of its own: the back office client, outbox, cache, printer and clock
are handed in, so tests drive it with a fake back office and the real outbox.

Modules: :mod:`~pos_agent.till.values` (what the session holds and hands out),
:mod:`~pos_agent.till.collaborators` (what it is handed), :mod:`~pos_agent.till.estimate`
(the offline price), :mod:`~pos_agent.till.coupons`, :mod:`~pos_agent.till.delivery` (a
committed sale on its way, and its slip) and :mod:`~pos_agent.till.session` (the state
machine).
"""

from pos_agent.till.collaborators import (
    BackOfficeClient,
    CacheLike,
    Clock,
    OutboxLike,
    PrintSlip,
    utc_now,
)
from pos_agent.till.session import PAYMENT_CARD_MESSAGE, TillSession
from pos_agent.till.values import (
    AppliedCoupon,
    BackOfficeRefused,
    IllegalStep,
    InvalidInput,
    Line,
    Member,
    NotFound,
    Quote,
    Sale,
    Step,
    TillError,
    TillSettings,
    View,
)

__all__ = [
    "PAYMENT_CARD_MESSAGE", "AppliedCoupon", "BackOfficeClient", "BackOfficeRefused",
    "CacheLike", "Clock", "IllegalStep", "InvalidInput", "Line", "Member", "NotFound",
    "OutboxLike", "PrintSlip", "Quote", "Sale", "Step", "TillError", "TillSession",
    "TillSettings", "View", "utc_now",
]
