"""Checkout API for tills: quote (no side effects), commit and return (idempotent)."""

from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint
from marshmallow import ValidationError
from webargs.flaskparser import abort

from loyalty.auth.principal import Principal, current_principal
from loyalty.checkout import batch, schemas, services
from loyalty.db import utcnow
from loyalty.errors import InvalidInput, OfflineSaleNeedsTill
from loyalty.http import db_session
from loyalty.idempotency.edge import idempotent

URL_PREFIX = ""
blp = Blueprint("checkout", __name__, description="Quote, commit and return baskets")


def _store_for(principal: Principal, requested: int | None) -> int:
    """A till or store-bound staff member acts in its own store; others must name one."""
    if principal.store_id is not None:
        if requested is not None:
            principal.check_store(requested)
        return principal.store_id
    if requested is None:
        raise InvalidInput("store_id is required")
    return requested


def _settings():  # type: ignore[no-untyped-def]
    return current_app.extensions["loyalty.settings"]


def _basket(data: dict) -> services.BasketIn:
    principal = current_principal()
    if data.get("offline") and principal.till_id is None:
        # It waives coupon and balance checks: a person at a screen is never offline.
        raise OfflineSaleNeedsTill("only a till's token may send an offline sale")
    store_id = _store_for(principal, data.pop("store_id"))
    return schemas.basket_in(data, store_id, principal.till_id)


@blp.route("/checkouts/quote", methods=["POST"])
@blp.arguments(schemas.BasketInSchema)
@blp.response(200, schemas.QuoteSchema)
def quote(data: dict):  # type: ignore[no-untyped-def]
    """Price a basket: points it would earn, most points redeemable and their value."""
    return services.quote_checkout(db_session(), _settings(), _basket(data), utcnow())


@blp.route("/checkouts", methods=["POST"])
@idempotent
@blp.arguments(schemas.BasketInSchema)
@blp.response(201, schemas.ReceiptSchema)
def commit(data: dict):  # type: ignore[no-untyped-def]
    """Commit a sale.  Requires an ``Idempotency-Key`` header.

    With ``"offline": true`` and its ``occurred_at``, a sale the till made offline: an invalid
    coupon or points beyond the balance no longer refuse it (docs/OFFLINE.md)."""
    return _commit(data)


def _commit(data: dict) -> services.Receipt:
    return services.commit_checkout(db_session(), _settings(), _basket(data), utcnow())


# Schemas hold no per-call state: one instance each serves every item of every batch.
_BASKET_IN, _RECEIPT = schemas.BasketInSchema(), schemas.ReceiptSchema()


def _commit_body(body: dict):  # type: ignore[no-untyped-def]
    """One batch item: the body of a ``POST /checkouts``, loaded and answered as that view."""
    try:
        data = _BASKET_IN.load(body)
    except ValidationError as exc:
        abort(422, exc=exc, messages={"json": exc.messages})
    return _RECEIPT.dump(_commit(data)), 201


@blp.route("/checkouts/batch", methods=["POST"])
@blp.arguments(schemas.BatchInSchema)
@blp.response(200, schemas.BatchOutSchema)
def commit_batch(data: dict):  # type: ignore[no-untyped-def]
    """Commit up to 100 sales in order, each as its own ``POST /checkouts`` with its key.

    Each item gets the status and body that request would get (201 receipt, a replayed
    receipt, or a problem); the batch itself is 200 unless its envelope is wrong."""
    return {"results": batch.run_batch(data["checkouts"], _commit_body)}


@blp.route("/returns", methods=["POST"])
@idempotent
@blp.arguments(schemas.ReturnInSchema)
@blp.response(201, schemas.ReturnResultSchema)
def create_return(data: dict):  # type: ignore[no-untyped-def]
    """Return lines of a basket.  Requires an ``Idempotency-Key`` header."""
    principal = current_principal()
    return services.return_items(
        db_session(), _settings(), data["basket_id"], tuple(data["lines"]),
        utcnow(), store_id=principal.store_id, till_id=principal.till_id,
    )
