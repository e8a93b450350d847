"""member accounts: member_login, one_time_code; a plastic card's printed claim code (hash)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 15:51:36.922599
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import loyalty.db


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('member_login',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('verified_at', loyalty.db.UTCDateTime(), nullable=True),
    sa.Column('created_at', loyalty.db.UTCDateTime(), nullable=False),
    sa.Column('last_sign_in_at', loyalty.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_member_login_member_id_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member_login')),
    sa.UniqueConstraint('member_id', name=op.f('uq_member_login_member_id'))
    )
    op.create_table('one_time_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.Enum('verify', 'sign_in', 'reset', name='codepurpose', native_enum=False, length=10), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', loyalty.db.UTCDateTime(), nullable=False),
    sa.Column('failed_attempts', sa.Integer(), nullable=False),
    sa.Column('used_at', loyalty.db.UTCDateTime(), nullable=True),
    sa.Column('created_at', loyalty.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_one_time_code_member_id_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_one_time_code'))
    )
    with op.batch_alter_table('one_time_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_one_time_code_member_id'), ['member_id'], unique=False)

    with op.batch_alter_table('card', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claim_code_hash', sa.String(length=64), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('card', schema=None) as batch_op:
        batch_op.drop_column('claim_code_hash')

    with op.batch_alter_table('one_time_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_one_time_code_member_id'))

    op.drop_table('one_time_code')
    op.drop_table('member_login')
