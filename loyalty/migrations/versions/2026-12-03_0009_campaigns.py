"""campaigns: campaign, run, targets; coupon occasion and explanation

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 15:47:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import loyalty.db


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('campaign',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.Enum('targeted', 'win_back', 'retention', 'cross_sell', 'up_sell', 'birthday', 'anniversary', 'welcome', name='campaignkind', native_enum=False, length=16), nullable=False),
    sa.Column('status', sa.Enum('draft', 'scheduled', 'running', 'ended', 'cancelled', name='campaignstatus', native_enum=False, length=10), nullable=False),
    sa.Column('segment_id', sa.Integer(), nullable=True),
    sa.Column('audience', sa.JSON(), nullable=True),
    sa.Column('parameters', sa.JSON(), nullable=False),
    sa.Column('offer', sa.JSON(), nullable=False),
    sa.Column('coupon_valid_days', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('budget_minor', sa.Integer(), nullable=True),
    sa.Column('cost_per_coupon_minor', sa.Integer(), nullable=False),
    sa.Column('committed_minor', sa.Integer(), nullable=False),
    sa.Column('member_limit_count', sa.Integer(), nullable=True),
    sa.Column('member_limit_days', sa.Integer(), nullable=True),
    sa.Column('holdout_percent', sa.Integer(), nullable=False),
    sa.Column('attribution_days', sa.Integer(), nullable=False),
    sa.Column('starts_at', loyalty.db.UTCDateTime(), nullable=False),
    sa.Column('ends_at', loyalty.db.UTCDateTime(), nullable=False),
    sa.Column('recurrence', sa.String(length=10), nullable=True),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', loyalty.db.UTCDateTime(), nullable=False),
    sa.Column('launched_by', sa.String(length=100), nullable=True),
    sa.Column('launched_at', loyalty.db.UTCDateTime(), nullable=True),
    sa.Column('frozen_at', loyalty.db.UTCDateTime(), nullable=True),
    sa.Column('cancelled_by', sa.String(length=100), nullable=True),
    sa.Column('cancelled_at', loyalty.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['segment_id'], ['segment.id'], name=op.f('fk_campaign_segment_id_segment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign')),
    sa.UniqueConstraint('name', name=op.f('uq_campaign_name'))
    )
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_status'), ['status'], unique=False)

    op.create_table('campaign_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('occasion', sa.String(length=40), nullable=False),
    sa.Column('status', sa.Enum('planned', 'done', name='runstatus', native_enum=False, length=10), nullable=False),
    sa.Column('planned_at', loyalty.db.UTCDateTime(), nullable=False),
    sa.Column('finished_at', loyalty.db.UTCDateTime(), nullable=True),
    sa.Column('chunks', sa.Integer(), nullable=False),
    sa.Column('targets', sa.Integer(), nullable=False),
    sa.Column('holdout', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_campaign_run_campaign_id_campaign')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_run')),
    sa.UniqueConstraint('campaign_id', 'occasion', name=op.f('uq_campaign_run_campaign_id_occasion'))
    )
    with op.batch_alter_table('campaign_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_run_campaign_id'), ['campaign_id'], unique=False)

    op.create_table('campaign_target',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('holdout', sa.Boolean(), nullable=False),
    sa.Column('chunk', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.Enum('pending', 'issued', 'holdout', 'over_budget', 'over_limit', name='targetoutcome', native_enum=False, length=12), nullable=False),
    sa.Column('explanation', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_campaign_target_member_id_member')),
    sa.ForeignKeyConstraint(['run_id'], ['campaign_run.id'], name=op.f('fk_campaign_target_run_id_campaign_run')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_target')),
    sa.UniqueConstraint('run_id', 'member_id', name=op.f('uq_campaign_target_run_id_member_id'))
    )
    with op.batch_alter_table('campaign_target', schema=None) as batch_op:
        batch_op.create_index('ix_campaign_target_member', ['member_id'], unique=False)
        batch_op.create_index('ix_campaign_target_run_chunk', ['run_id', 'chunk'], unique=False)

    with op.batch_alter_table('coupon', schema=None) as batch_op:
        batch_op.add_column(sa.Column('occasion', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('explanation', sa.JSON(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_coupon_campaign_id_member_id_occasion'), ['campaign_id', 'member_id', 'occasion'])
        batch_op.create_foreign_key(batch_op.f('fk_coupon_campaign_id_campaign'), 'campaign', ['campaign_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('coupon', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_coupon_campaign_id_campaign'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_coupon_campaign_id_member_id_occasion'), type_='unique')
        batch_op.drop_column('explanation')
        batch_op.drop_column('occasion')

    with op.batch_alter_table('campaign_target', schema=None) as batch_op:
        batch_op.drop_index('ix_campaign_target_run_chunk')
        batch_op.drop_index('ix_campaign_target_member')

    op.drop_table('campaign_target')
    with op.batch_alter_table('campaign_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_run_campaign_id'))

    op.drop_table('campaign_run')
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_status'))

    op.drop_table('campaign')
