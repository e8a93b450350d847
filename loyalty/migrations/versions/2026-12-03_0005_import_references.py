"""import references: the retailer's customer id on members, the source basket id on baskets

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 13:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.add_column(sa.Column('external_ref', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_member_external_ref'), ['external_ref'])
    with op.batch_alter_table('basket', schema=None) as batch_op:
        batch_op.add_column(sa.Column('import_ref', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_basket_import_ref'), ['import_ref'])


def downgrade() -> None:
    with op.batch_alter_table('basket', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_basket_import_ref'), type_='unique')
        batch_op.drop_column('import_ref')
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_member_external_ref'), type_='unique')
        batch_op.drop_column('external_ref')
