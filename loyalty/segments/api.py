"""Segments for marketers: preview a rule's audience, save and reuse named rules
(docs/SEGMENTS.md)."""

from __future__ import annotations

from flask_smorest import Blueprint

from loyalty.auth.principal import current_principal
from loyalty.http import db_session
from loyalty.segments import schemas, services

URL_PREFIX = "/segments"
blp = Blueprint("segments", __name__, description="Segments: JSON rules over member insight")


@blp.route("/preview", methods=["POST"])
@blp.arguments(schemas.PreviewInSchema)
@blp.response(200, schemas.PreviewSchema)
def preview_rule(data: dict):  # type: ignore[no-untyped-def]
    """How many members a rule selects now, and a sample of them.  A bad rule answers 422
    ``invalid_segment_rule`` with the JSON path of the offending part."""
    return services.preview_segment(db_session(), data["rule"], data["sample"])


@blp.route("", methods=["GET"])
@blp.response(200, schemas.SegmentSchema(many=True))
def list_segments():  # type: ignore[no-untyped-def]
    """Every saved segment, by name."""
    return services.list_segments(db_session())


@blp.route("", methods=["POST"])
@blp.arguments(schemas.SegmentInSchema)
@blp.response(201, schemas.SegmentSchema)
def create_segment(data: dict):  # type: ignore[no-untyped-def]
    """Save a named rule (checked as a preview would be; names are unique).  Audit-logged."""
    return services.create_segment(db_session(), data["name"], data["rule"],
                                   actor=current_principal().actor)


@blp.route("/<int:segment_id>", methods=["GET"])
@blp.response(200, schemas.SegmentSchema)
def get_segment(segment_id: int):  # type: ignore[no-untyped-def]
    """One saved segment."""
    return services.get_segment(db_session(), segment_id)


@blp.route("/<int:segment_id>/preview", methods=["GET"])
@blp.arguments(schemas.SampleArgsSchema, location="query")
@blp.response(200, schemas.PreviewSchema)
def preview_segment(args: dict, segment_id: int):  # type: ignore[no-untyped-def]
    """A saved segment's audience now: its count and a sample."""
    session = db_session()
    return services.preview_saved_segment(session, segment_id, args["sample"])
