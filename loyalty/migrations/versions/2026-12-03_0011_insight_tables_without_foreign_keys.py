"""insight tables without foreign keys

member_insight and member_category_insight are derived from the baskets (whose own keys hold)
and rebuilt nightly; PostgreSQL checked their 6 million references row by row, 90 s of the
rebuild on the 10M-line benchmark (docs/INSIGHT.md, tests/bench/campaigns.py).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 16:13:10.936393
"""

from __future__ import annotations

from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('member_category_insight', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_member_category_insight_member_id_member'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_member_category_insight_category_id_category'), type_='foreignkey')

    with op.batch_alter_table('member_insight', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_member_insight_member_id_member'), type_='foreignkey')


def downgrade() -> None:
    with op.batch_alter_table('member_insight', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_member_insight_member_id_member'), 'member', ['member_id'], ['id'])

    with op.batch_alter_table('member_category_insight', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_member_category_insight_category_id_category'), 'category', ['category_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_member_category_insight_member_id_member'), 'member', ['member_id'], ['id'])
