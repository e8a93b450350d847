"""Splitting a replay into lanes: sales that can touch the same account or coupon stay together.

A replay of a long offline spell is bound by the back office's time per sale, not by the till.
One request at a time leaves one of its processes (and a database connection) busy and the
rest of the server idle, so the outbox sends up to ``lanes`` batches at once.

What "in order" must keep is every member's history: a redemption is checked against the balance
the earlier sales left, lots are spent oldest first, a tier is reached by the spend before it,
and a single-use coupon goes to the sale that used it first.  Sales of different members that
share no coupon cannot see each other's effects, so their relative order changes nothing the
back office records.  :func:`split` therefore groups the sales by everything they could share
(the member, the card, each coupon), keeps every group in one lane in the till's order, and
spreads whole groups over the lanes.

A sale whose member the till did not know (an unknown card, offline) could belong to a member
another sale names by id; nothing here can tell.  A window holding one is sent as a single
lane, in the till's order, exactly as without lanes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

Sale = TypeVar("Sale")

# Two lanes keep a two-core back office busy (one request at a time leaves a core idle while
# the other waits on the database); more help a bigger server.  Set per till: offline.replay_lanes.
DEFAULT_LANES, MAX_LANES = 2, 8


def split(sales: Sequence[Sale], lanes: int, conflicts: Callable[[Sale], set[str] | None]
          ) -> list[list[Sale]]:
    """``sales`` (in the till's order) as at most ``lanes`` non-empty lists, each in that order.

    ``conflicts(sale)``: the names of everything the sale may touch that another sale may too
    (``member:7``, ``coupon:AB12``), or None when that cannot be known: then one lane holds all.
    Two sales sharing a name, directly or through others, land in the same lane.
    """
    if lanes <= 1 or len(sales) <= 1:
        return [list(sales)] if sales else []
    names = [conflicts(sale) for sale in sales]
    if any(n is None for n in names):
        return [list(sales)]
    groups = _connected(names)  # type: ignore[arg-type]
    return _spread(sales, groups, lanes)


def _connected(names: list[set[str]]) -> list[int]:
    """For each sale, the index of the first sale of its group (union-find over shared names)."""
    parent = list(range(len(names)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_with: dict[str, int] = {}
    for i, sale_names in enumerate(names):
        for name in sale_names:
            j = first_with.setdefault(name, i)
            a, b = root(i), root(j)
            if a != b:
                parent[max(a, b)] = min(a, b)
    return [root(i) for i in range(len(names))]


def _spread(sales: Sequence[Sale], groups: list[int], lanes: int) -> list[list[Sale]]:
    """Whole groups to lanes, the biggest first, each to the lane with the fewest sales."""
    sizes: dict[int, int] = {}
    for g in groups:
        sizes[g] = sizes.get(g, 0) + 1
    load = [0] * min(lanes, len(sizes))
    lane_of: dict[int, int] = {}
    for g in sorted(sizes, key=lambda g: (-sizes[g], g)):
        lane = load.index(min(load))
        lane_of[g], load[lane] = lane, load[lane] + sizes[g]
    out: list[list[Sale]] = [[] for _ in load]
    for sale, g in zip(sales, groups, strict=True):
        out[lane_of[g]].append(sale)
    return out


def sale_conflicts(member_id: int | None, body: dict,
                   coupon_key: Callable[[str], str]) -> set[str] | None:
    """What a queued sale may share with another: its member, card and coupons.

    None when the till did not know the member (see the module's note), or the coupons are not
    a list (the back office will refuse the sale, but where it stands in the order stays).
    """
    if member_id is None:
        return None
    names = {f"member:{member_id}"}
    if isinstance(body.get("card_number"), str):
        names.add(f"card:{body['card_number']}")
    if body.get("member_id") is not None:
        names.add(f"member:{body['member_id']}")
    codes = body.get("coupon_codes") or []
    if not isinstance(codes, list):
        return None
    names.update(f"coupon:{coupon_key(str(code))}" for code in codes)
    return names
