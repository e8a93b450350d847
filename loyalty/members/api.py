"""Members API for staff: enrol, look up, profile, marketing consent, notes, extra cards.

The ledger of a member (``/members/<id>/ledger``, adjustments) lives in ``loyalty/ledger/api.py``.
"""

from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint

from loyalty.auth.principal import current_principal
from loyalty.cards.schemas import CardSchema
from loyalty.http import db_session
from loyalty.members import schemas, services

URL_PREFIX = "/members"
blp = Blueprint("members", __name__, description="Members: profile, consent and notes")


def _card_format() -> dict[str, object]:
    settings = current_app.extensions["loyalty.settings"]
    return {"card_prefix": settings.card_prefix, "card_length": settings.card_length}


@blp.route("", methods=["POST"])
@blp.arguments(schemas.EnrolInSchema)
@blp.response(201, schemas.EnrolmentSchema)
def enrol_member(data: dict):  # type: ignore[no-untyped-def]
    """Enrol a member: profile, points account and a first card."""
    member, card = services.enrol_member(
        db_session(), data.pop("name"), **data, **_card_format(),
        actor=current_principal().actor,
    )
    return {"member": member, "card": card}


@blp.route("", methods=["GET"])
@blp.arguments(schemas.MemberSearchArgs, location="query")
@blp.response(200, schemas.MemberSummarySchema(many=True))
def search_members(args: dict):  # type: ignore[no-untyped-def]
    """Find a member by phone (E.164, or national with ``region``) or email."""
    return services.find_members(db_session(), **args)


@blp.route("/<int:member_id>", methods=["GET"])
@blp.response(200, schemas.MemberProfileSchema)
def get_member(member_id: int):  # type: ignore[no-untyped-def]
    """The member's profile with tier, balance, cards and current consent per channel."""
    return services.member_profile(db_session(), member_id)


@blp.route("/<int:member_id>", methods=["PATCH"])
@blp.arguments(schemas.ProfileUpdateSchema(partial=True))
@blp.response(200, schemas.MemberSchema)
def update_member(data: dict, member_id: int):  # type: ignore[no-untyped-def]
    """Change profile fields; only those sent change, and null clears an optional one."""
    return services.update_member(db_session(), member_id, data,
                                  actor=current_principal().actor)


@blp.route("/<int:member_id>/consents", methods=["GET"])
@blp.response(200, schemas.ConsentSchema(many=True))
def consent_history(member_id: int):  # type: ignore[no-untyped-def]
    """Every consent decision of the member, newest first."""
    return services.consent_history(db_session(), member_id)


@blp.route("/<int:member_id>/consents", methods=["POST"])
@blp.arguments(schemas.ConsentInSchema)
@blp.response(201, schemas.ConsentSchema)
def record_consent(data: dict, member_id: int):  # type: ignore[no-untyped-def]
    """Record a marketing consent decision (granted or withdrawn) for one channel."""
    return services.record_consent(db_session(), member_id, **data,
                                   source=current_principal().actor)


@blp.route("/<int:member_id>/notes", methods=["GET"])
@blp.response(200, schemas.NoteSchema(many=True))
@blp.paginate()
def member_notes(member_id: int, pagination_parameters):  # type: ignore[no-untyped-def]
    """The staff notes timeline, newest first (``page``, ``page_size``)."""
    notes, total = services.member_notes(db_session(), member_id,
                                         pagination_parameters.first_item,
                                         pagination_parameters.page_size)
    pagination_parameters.item_count = total
    return notes


@blp.route("/<int:member_id>/notes", methods=["POST"])
@blp.arguments(schemas.NoteInSchema)
@blp.response(201, schemas.NoteSchema)
def add_note(data: dict, member_id: int):  # type: ignore[no-untyped-def]
    """Add a note to the member's timeline."""
    principal = current_principal()
    staff_id = principal.id if principal.kind == "staff" else None
    return services.add_note(db_session(), member_id, data["body"], staff_id=staff_id)


@blp.route("/<int:member_id>/cards", methods=["POST"])
@blp.response(201, CardSchema)
def issue_card(member_id: int):  # type: ignore[no-untyped-def]
    """Issue the member one more card (the first comes with enrolment)."""
    return services.issue_extra_card(db_session(), member_id, **_card_format(),
                                     actor=current_principal().actor)
