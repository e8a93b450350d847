"""unknown SKUs: counted per store for the catalog team

A till may sell a SKU the catalog does not know; the sale is kept and the SKU counted here
(loyalty.catalog.models.UnknownSku).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 12:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import loyalty.db

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'unknown_sku',
        sa.Column('store_id', sa.Integer(), nullable=False),
        sa.Column('sku', sa.String(length=64), nullable=False),
        sa.Column('lines_seen', sa.BigInteger(), nullable=False),
        sa.Column('units_sold', sa.BigInteger(), nullable=False),
        sa.Column('first_seen_at', loyalty.db.UTCDateTime(), nullable=False),
        sa.Column('last_seen_at', loyalty.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['store_id'], ['store.id'],
                                name=op.f('fk_unknown_sku_store_id_store')),
        sa.PrimaryKeyConstraint('store_id', 'sku', name=op.f('pk_unknown_sku')),
    )
    with op.batch_alter_table('unknown_sku', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unknown_sku_last_seen_at'), ['last_seen_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('unknown_sku', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unknown_sku_last_seen_at'))
    op.drop_table('unknown_sku')
