"""HTTP API for the ledger: a member's entries (paginated) and staff adjustments."""

from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint

from loyalty.auth.principal import current_principal
from loyalty.http import db_session
from loyalty.ledger import schemas, services
from loyalty.ledger.services import member_account

URL_PREFIX = ""
blp = Blueprint("ledger", __name__, description="Points ledger")


@blp.route("/members/<int:member_id>/ledger", methods=["GET"])
@blp.response(200, schemas.LedgerLineSchema(many=True))
@blp.paginate()
def member_ledger(member_id: int, pagination_parameters):  # type: ignore[no-untyped-def]
    """The member's ledger entries, newest first (``page``, ``page_size``)."""
    lines, total = services.member_ledger(
        db_session(), member_id, pagination_parameters.first_item,
        pagination_parameters.page_size,
    )
    pagination_parameters.item_count = total
    return lines


@blp.route("/members/<int:member_id>/adjustments", methods=["POST"])
@blp.arguments(schemas.AdjustmentInSchema)
@blp.response(201, schemas.AdjustmentSchema)
def adjust_points(data: dict, member_id: int):  # type: ignore[no-untyped-def]
    """A manual adjustment by staff, with a reason; audit-logged."""
    principal = current_principal()
    session = db_session()
    posting = services.adjust_points(
        session, member_id, data["points"], data["reason"], staff_id=principal.id,
        actor=principal.actor,
        lifetime_days=current_app.extensions["loyalty.settings"].points_lifetime_days,
    )
    return {"posting_id": posting.id, "balance_after": member_account(session, member_id).balance}
