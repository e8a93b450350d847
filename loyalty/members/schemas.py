"""Member schemas: enrolment, profile, search, consent and notes."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, pre_dump, validate

from loyalty import schema_fields as db_fields
from loyalty.cards.schemas import CardSchema, TierRefSchema
from loyalty.members.models import Channel
from loyalty.members.services import GENDERS, LANGUAGE_TAG, MAX_NOTE_CHARS, MemberProfile

_CHANNELS = [c.value for c in Channel]


class ProfileInSchema(Schema):
    """Profile fields staff may set; on update every field is optional and None clears one."""

    name = db_fields.String(required=True, validate=validate.Length(1, 200))
    phone = db_fields.String(load_default=None, allow_none=True, validate=validate.Length(3, 32),
                             metadata={"description": "E.164, e.g. +971501234567"})
    email = db_fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=254))
    birth_date = fields.Date(load_default=None, allow_none=True)
    gender = db_fields.String(load_default=None, allow_none=True, validate=validate.OneOf(GENDERS))
    language = db_fields.String(load_default="en", validate=validate.Regexp(LANGUAGE_TAG))
    preferred_channel = db_fields.String(load_default="sms", validate=validate.OneOf(_CHANNELS))


class EnrolInSchema(ProfileInSchema):
    """Enrolment: the profile, and the retailer's own customer id if it has one."""

    external_ref = db_fields.String(load_default=None, allow_none=True,
                                    validate=validate.Length(1, 64),
                                    metadata={"description": "the retailer's customer id, unique"})


class ProfileUpdateSchema(ProfileInSchema):
    """PATCH: use with ``partial=True``: only the fields sent change, none is required."""


class MemberSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    birth_date = fields.Date(allow_none=True)
    gender = fields.String(allow_none=True)
    language = fields.String()
    preferred_channel = fields.String()
    external_ref = fields.String(allow_none=True)
    created_at = fields.DateTime()


class MemberSummarySchema(Schema):
    """What a phone lookup at the till shows: enough to recognise the member."""

    id = fields.Integer()
    name = fields.String()
    phone = fields.String(allow_none=True)
    language = fields.String()


class ConsentSchema(Schema):
    id = fields.Integer()
    channel = fields.String()
    granted = fields.Boolean()
    text_version = fields.String()
    recorded_at = fields.DateTime()
    source = fields.String()


class MemberProfileSchema(MemberSchema):
    tier = fields.Nested(TierRefSchema, allow_none=True)
    balance = fields.Integer()
    cards = fields.List(fields.Nested(CardSchema))
    consents = fields.Dict(keys=fields.String(),
                           values=fields.Nested(ConsentSchema, allow_none=True),
                           metadata={"description": "current consent per channel (null: none)"})

    @pre_dump
    def flatten(self, profile: MemberProfile, **_: Any) -> dict[str, Any]:
        member = {name: getattr(profile.member, name) for name in MemberSchema().fields}
        return {
            **member,
            "tier": profile.tier,
            "balance": profile.balance,
            "cards": profile.cards,
            "consents": {channel.value: record for channel, record in profile.consents.items()},
        }


class EnrolmentSchema(Schema):
    member = fields.Nested(MemberSchema)
    card = fields.Nested(CardSchema)


class MemberSearchArgs(Schema):
    phone = db_fields.String(validate=validate.Length(3, 32))
    region = db_fields.String(validate=validate.Regexp(r"^[A-Za-z]{2}$"),
                              metadata={"description": "ISO 3166 country for a national number"})
    email = db_fields.String(validate=validate.Length(3, 254))


class ConsentInSchema(Schema):
    channel = db_fields.String(required=True, validate=validate.OneOf(_CHANNELS))
    granted = db_fields.Boolean(required=True)
    text_version = db_fields.String(required=True, validate=validate.Length(1, 32))


class NoteInSchema(Schema):
    body = db_fields.String(required=True, validate=validate.Length(1, MAX_NOTE_CHARS))


class NoteSchema(Schema):
    id = fields.Integer()
    body = fields.String()
    created_at = fields.DateTime()
    staff_id = fields.Integer(allow_none=True)
    author = fields.String(allow_none=True)
