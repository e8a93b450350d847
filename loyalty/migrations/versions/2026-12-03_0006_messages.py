"""messages: one row per message to a member (channel, template, language, status, attempts)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 13:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import loyalty.db


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.Enum('wallet', 'email', 'sms', name='messagechannel', native_enum=False, length=10), nullable=False),
    sa.Column('template', sa.String(length=64), nullable=False),
    sa.Column('language', sa.String(length=10), nullable=False),
    sa.Column('context', sa.JSON(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('queued', 'deferred', 'sending', 'sent', 'failed', 'suppressed', 'unknown', name='messagestatus', native_enum=False, length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('not_before', loyalty.db.UTCDateTime(), nullable=True),
    sa.Column('claimed_at', loyalty.db.UTCDateTime(), nullable=True),
    sa.Column('provider_id', sa.String(length=200), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', loyalty.db.UTCDateTime(), nullable=False),
    sa.Column('sent_at', loyalty.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_message_member_id_member')),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], name=op.f('fk_message_store_id_store')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message')),
    sa.UniqueConstraint('member_id', 'idempotency_key', name=op.f('uq_message_member_id_idempotency_key'))
    )
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_message_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_status'))
        batch_op.drop_index(batch_op.f('ix_message_member_id'))
    op.drop_table('message')
