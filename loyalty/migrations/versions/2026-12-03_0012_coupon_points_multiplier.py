"""coupon points multiplier

A ``points_multiplier`` coupon (docs/COUPONS.md) keeps its factor in ``coupon.multiplier``; its
kind's name (17 characters) needs the kind column wider than its 16.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 17:24:28.271179
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('coupon', schema=None) as batch_op:
        batch_op.add_column(sa.Column('multiplier', sa.Integer(), nullable=True))
        batch_op.alter_column('kind', existing_type=sa.String(length=16),
                              type_=sa.String(length=24), existing_nullable=False)


def downgrade() -> None:
    # Deletes nothing: with points_multiplier coupons still stored, PostgreSQL refuses the
    # narrower column, and an operator decides what becomes of them.
    with op.batch_alter_table('coupon', schema=None) as batch_op:
        batch_op.alter_column('kind', existing_type=sa.String(length=24),
                              type_=sa.String(length=16), existing_nullable=False)
        batch_op.drop_column('multiplier')
