"""Earning rules for admins: list, add, end (docs/POINTS.md, "Earning").

A rule is never edited: end it and add its successor.  Every change is audit-logged with the
caller.
"""

from __future__ import annotations

from flask_smorest import Blueprint

from loyalty.auth.principal import current_principal
from loyalty.http import db_session
from loyalty.rules import schemas, services

URL_PREFIX = "/earning-rules"
blp = Blueprint("rules", __name__, description="Earning rules")


@blp.route("", methods=["GET"])
@blp.arguments(schemas.RuleListArgsSchema, location="query")
@blp.response(200, schemas.RuleSchema(many=True))
def list_rules(args: dict):  # type: ignore[no-untyped-def]
    """Rules in force or still to come, by id; ``all=true`` adds the ended ones."""
    return services.list_earning_rules(db_session(), include_ended=args["all"])


@blp.route("", methods=["POST"])
@blp.arguments(schemas.RuleInSchema)
@blp.response(201, schemas.RuleSchema)
def add_rule(data: dict):  # type: ignore[no-untyped-def]
    """Add a rule.  A field the kind does not take, an unknown target, or a second rule on the
    same target at the same time is refused (``invalid_input``, ``rule_overlaps``)."""
    name, kind = data.pop("name"), data.pop("kind")
    return services.add_earning_rule(db_session(), name, kind, **data,
                                     actor=current_principal().actor)


@blp.route("/<int:rule_id>/end", methods=["POST"])
@blp.arguments(schemas.RuleEndSchema)
@blp.response(200, schemas.RuleSchema)
def end_rule(data: dict, rule_id: int):  # type: ignore[no-untyped-def]
    """End a rule now (or at ``at``); it can be ended sooner than planned, never later."""
    return services.end_earning_rule(db_session(), rule_id, data["at"],
                                     actor=current_principal().actor)
