"""Many sales in one request: how a till empties its outbox after being offline.

Each item is answered exactly as its own ``POST /api/v1/checkouts`` with that
``Idempotency-Key`` would be, through the same claim / run / store / commit machinery
(:func:`loyalty.idempotency.edge.run_idempotent`) and the same fingerprint, so a sale first
tried alone and then replayed in a batch (or the other way round) is written once.

Why a commit per item rather than one transaction with a SAVEPOINT per item: each sale is
claimed, run and committed with its stored response in one transaction of its own before the
next is tried (the claim rides with the effect: ``claim_new_key``), so a batch cut short (a
timeout, a crash of the web process) leaves every finished sale finished and answerable by
replay, and nothing half-claimed; a duplicate of a sale still running waits for it, then gets
its answer; and a sale holds its member's row locks only while it runs, not until the batch's
last sale is done.  The one cost of this, a WAL flush per sale on PostgreSQL, is paid once per
batch instead (:func:`run_batch`).  Policy in words: docs/OFFLINE.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from flask import Response, current_app, request, url_for
from werkzeug.exceptions import HTTPException

from loyalty.checkout.pricing import prefetch_catalog_ids
from loyalty.db import reference_snapshot
from loyalty.errors import DomainError
from loyalty.extensions import database
from loyalty.http import db_session
from loyalty.idempotency.edge import run_idempotent
from loyalty.idempotency.services import fingerprint_value, make_durable

CommitOne = Callable[[dict], Any]  # a commit body in, what the commit view returns out


def run_batch(items: list[dict], commit_one: CommitOne) -> list[dict]:
    """Answer every ``{"idempotency_key", "body"}`` in order; one item's failure is its own."""
    path = url_for("checkout.commit")[len(request.script_root):]
    db = database(current_app)
    # One connection for all the sales' transactions; catalog ids, rules, tiers read once.
    with db.one_connection() as session, reference_snapshot(session):
        prefetch_catalog_ids(session, _skus(items))
        results = [_run_item(item, path, commit_one) for item in items]
    # Items commit without waiting for the disk (one fsync per sale would cap a replay at the
    # disk's flush rate); nothing is answered before this one flush covers them all.
    make_durable(db.session_factory)
    return results


def _run_item(item: dict, path: str, commit_one: CommitOne) -> dict:
    key, body = item["idempotency_key"], item["body"]
    # A fresh identity map per sale, as its own request would have: nothing read for an
    # earlier sale (a coupon's status, a member) may stand in for the database now (reference
    # data aside: run_batch).
    db_session().close()
    print_ = fingerprint_value("POST", path, body)

    try:
        # A new key's claim defers the sale's fsync: made durable before the batch answers.
        response = run_idempotent(key, print_, lambda: commit_one(body), claim_with_effect=True)
    except (DomainError, HTTPException) as exc:
        # The app's own problem+json handlers: the item's answer is the one a lone POST gets.
        response = current_app.make_response(current_app.handle_user_exception(exc))
    return {"idempotency_key": key, "status": response.status_code, "body": _json(response)}


def _skus(items: list[dict]) -> Iterator[str]:
    """The SKUs the items' lines name, read leniently: an item's own checks come later."""
    for item in items:
        lines = item["body"].get("lines")
        for line in lines if isinstance(lines, list) else ():
            if isinstance(line, dict) and isinstance(line.get("sku"), str):
                yield line["sku"]


def _json(response: Response) -> dict:
    return json.loads(response.get_data(as_text=True) or "{}")
