"""Staff accounts for admins and store managers, and the staff sign-in.

Admins see and appoint anyone.  A store manager sees the staff of their own store and appoints
cashiers to it, nothing more.  Sign-in is the one public call: a wrong username and a wrong
password get the same 401.
"""

from __future__ import annotations

import datetime as dt

from flask import current_app
from flask_smorest import Blueprint

from loyalty.auth.policy import MANAGER
from loyalty.auth.principal import Principal, current_principal
from loyalty.errors import Forbidden, NotASession
from loyalty.http import db_session
from loyalty.staff import schemas, services
from loyalty.staff.models import Role

URL_PREFIX = "/staff"
blp = Blueprint("staff", __name__, description="Staff accounts and sign-in")


@blp.route("", methods=["GET"])
@blp.arguments(schemas.StaffQuerySchema, location="query")
@blp.response(200, schemas.StaffSchema(many=True))
def list_staff(args: dict):  # type: ignore[no-untyped-def]
    """Staff by username; a store manager sees only their own store."""
    principal = current_principal()
    store_id = args["store_id"]
    if principal.store_id is not None:
        if store_id is not None:
            principal.check_store(store_id)
        store_id = principal.store_id
    return services.list_staff(db_session(), store_id)


@blp.route("", methods=["POST"])
@blp.arguments(schemas.StaffInSchema)
@blp.response(201, schemas.StaffSchema)
def add_staff(data: dict):  # type: ignore[no-untyped-def]
    """Create a staff account.  Store managers and cashiers must name their store."""
    principal = current_principal()
    if principal.role == MANAGER:
        data["store_id"] = _own_store_cashier(principal, data["role"], data["store_id"])
    return services.add_staff(db_session(), **data, actor=principal.actor)


@blp.route("/sessions", methods=["POST"])
@blp.arguments(schemas.SignInSchema)
@blp.response(201, schemas.StaffSessionSchema)
def sign_in(data: dict):  # type: ignore[no-untyped-def]
    """Exchange username and password for the token of a new session (shown once).

    Other sessions of the same account, and its API token, keep working.  The session expires
    after ``LOYALTY_STAFF_SESSION_HOURS``.  Rate-limited per account and per client address
    (429 with ``Retry-After``)."""
    hours = current_app.extensions["loyalty.settings"].staff_session_hours
    user, token = services.sign_in_staff(db_session(), data["username"], data["password"],
                                         lifetime=dt.timedelta(hours=hours))
    return {"token": token, "staff": user}


@blp.route("/sessions/current", methods=["DELETE"])
@blp.response(204)
def sign_out():  # type: ignore[no-untyped-def]
    """Sign out: end the session whose token signs this request, and only that one.

    A long-lived API token is not a session (``not_a_session``, 409): it is replaced with
    ``loyalty staff token`` or ended by deactivating the account."""
    principal = current_principal()
    if principal.session_id is None:
        raise NotASession("this token is an API token: replace it with `loyalty staff token`")
    services.end_staff_session(db_session(), principal.session_id, actor=principal.actor)


def _own_store_cashier(principal: Principal, role: Role, store_id: int | None) -> int:
    """A store manager appoints cashiers, to their own store only (the default)."""
    if role is not Role.CASHIER or principal.store_id is None:
        raise Forbidden("a store manager may only add cashiers to their own store")
    if store_id is not None:
        principal.check_store(store_id)
    return principal.store_id
