"""member insight: per-member aggregates, RFM, per-category spend, BG/NBD fits, affinities

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 13:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import loyalty.db

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'member_insight',
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('as_of', sa.Date(), nullable=False),
        sa.Column('first_purchase_at', loyalty.db.UTCDateTime(), nullable=False),
        sa.Column('last_purchase_at', loyalty.db.UTCDateTime(), nullable=False),
        sa.Column('recency_days', sa.Integer(), nullable=False),
        sa.Column('frequency', sa.Integer(), nullable=False),
        sa.Column('monetary_minor', sa.BigInteger(), nullable=False),
        sa.Column('average_basket_minor', sa.BigInteger(), nullable=False),
        sa.Column('r', sa.Integer(), nullable=True),
        sa.Column('f', sa.Integer(), nullable=True),
        sa.Column('m', sa.Integer(), nullable=True),
        sa.Column('segment', sa.String(length=32), nullable=True),
        sa.Column('p_alive', sa.Float(), nullable=True),
        sa.Column('expected_purchases_90d', sa.Float(), nullable=True),
        sa.Column('expected_value_minor', sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(['member_id'], ['member.id'],
                                name=op.f('fk_member_insight_member_id_member')),
        sa.PrimaryKeyConstraint('member_id', name=op.f('pk_member_insight')),
    )
    with op.batch_alter_table('member_insight', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_insight_segment'), ['segment'], unique=False)
    op.create_table(
        'member_category_insight',
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('category_id', sa.Integer(), nullable=False),
        sa.Column('spend_minor', sa.BigInteger(), nullable=False),
        sa.Column('last_purchase_at', loyalty.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['category_id'], ['category.id'],
                                name=op.f('fk_member_category_insight_category_id_category')),
        sa.ForeignKeyConstraint(['member_id'], ['member.id'],
                                name=op.f('fk_member_category_insight_member_id_member')),
        sa.PrimaryKeyConstraint('member_id', 'category_id',
                                name=op.f('pk_member_category_insight')),
    )
    with op.batch_alter_table('member_category_insight', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_category_insight_category_id'),
                              ['category_id'], unique=False)
    op.create_table(
        'btyd_fit',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('fitted_at', loyalty.db.UTCDateTime(), nullable=False),
        sa.Column('calibration_end', sa.Date(), nullable=False),
        sa.Column('time_unit_days', sa.Integer(), nullable=False),
        sa.Column('customers', sa.Integer(), nullable=False),
        sa.Column('r', sa.Float(), nullable=False),
        sa.Column('alpha', sa.Float(), nullable=False),
        sa.Column('a', sa.Float(), nullable=False),
        sa.Column('b', sa.Float(), nullable=False),
        sa.Column('log_likelihood', sa.Float(), nullable=False),
        sa.Column('p', sa.Float(), nullable=True),
        sa.Column('q', sa.Float(), nullable=True),
        sa.Column('v', sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_btyd_fit')),
    )
    op.create_table(
        'affinity',
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('antecedent_id', sa.Integer(), nullable=False),
        sa.Column('consequent_id', sa.Integer(), nullable=False),
        sa.Column('baskets', sa.Integer(), nullable=False),
        sa.Column('support', sa.Float(), nullable=False),
        sa.Column('confidence', sa.Float(), nullable=False),
        sa.Column('lift', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('kind', 'antecedent_id', 'consequent_id',
                                name=op.f('pk_affinity')),
    )


def downgrade() -> None:
    op.drop_table('affinity')
    op.drop_table('btyd_fit')
    with op.batch_alter_table('member_category_insight', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_category_insight_category_id'))
    op.drop_table('member_category_insight')
    with op.batch_alter_table('member_insight', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_insight_segment'))
    op.drop_table('member_insight')
