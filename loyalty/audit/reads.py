"""Reads of a member's data go to the audit log with who read them.

Cashiers of every store may serve any member, so the trail must show who looked: each answer
of the endpoints below that carries a member's data adds one ``member.read`` event per member
(subject ``member:<id>``, actor the caller, ``detail.what`` the kind of data), committed with
the request.  Failed look-ups (404, 422) carry no data and are not recorded.

Decision: a *till's* card identify and phone search are not recorded.  The member presents
their card or tells their phone number at the till to be served, the sale that follows names
the store and till, and identify is the checkout's hot path (no insert there).  The same calls
made with a person's credentials (a cashier's or a manager's token) are recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, g, request

from loyalty.audit.services import record_event
from loyalty.auth.policy import TILL
from loyalty.http import db_session


@dataclass(frozen=True)
class Read:
    what: str
    members: Callable[[Response], list[int]]  # the ids of the members in the answer
    tills_too: bool = True


def _from_path(_response: Response) -> list[int]:
    return [int(request.view_args["member_id"])]  # type: ignore[index]


def _from_query(_response: Response) -> list[int]:
    return [int(request.args["member_id"])]  # the schema has checked it, or this is no 200


def _body(response: Response) -> Any:
    return response.get_json(silent=True)


READS: dict[str, Read] = {
    "members.get_member": Read("profile", _from_path),
    "members.consent_history": Read("consents", _from_path),
    "members.member_notes": Read("notes", _from_path),
    "ledger.member_ledger": Read("ledger", _from_path),
    "insight.member_insight": Read("insight", _from_path),
    "coupons.list_coupons": Read("coupons", _from_query),
    "coupons.get_coupon": Read("coupon", lambda r: [_body(r)["member_id"]]),
    "members.search_members": Read("search", lambda r: [m["id"] for m in _body(r)],
                                   tills_too=False),
    "cards.identify_card": Read("card", lambda r: [_body(r)["member"]["id"]], tills_too=False),
}


def record_member_reads(response: Response) -> Response:
    read = READS.get(request.endpoint or "")
    principal = g.get("principal")
    # Only GET and HEAD read: Flask answers OPTIONS for the same endpoint, with no body.
    if read is None or request.method not in ("GET", "HEAD") or response.status_code != 200 \
            or principal is None:
        return response
    if principal.role == TILL and not read.tills_too:
        return response
    session = db_session()
    for member_id in read.members(response):
        record_event(session, principal.actor, "member.read", f"member:{member_id}",
                     what=read.what)
    return response


def init_read_audit(app: Flask) -> None:
    """Register after :func:`loyalty.http.init_http`: Flask runs ``after_request`` functions
    last-registered first, so the events are added before the request's commit."""
    app.after_request(record_member_reads)
