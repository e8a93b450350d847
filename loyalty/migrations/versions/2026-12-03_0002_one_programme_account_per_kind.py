"""one programme account per kind

Two first postings of one kind racing on a fresh database could each create the programme's
account of that kind.  A unique index on ``kind`` over the programme accounts (those without a
member) makes the second insert a no-op that finds the first.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 12:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

_PROGRAMME = sa.text("member_id IS NULL")


def upgrade() -> None:
    _refuse_duplicates()
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.create_index('uq_account_programme_kind', ['kind'], unique=True,
                              postgresql_where=_PROGRAMME, sqlite_where=_PROGRAMME)


def downgrade() -> None:
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_index('uq_account_programme_kind')


def _refuse_duplicates() -> None:
    """A database that already lost the race has two accounts of a kind, both with entries the
    append-only ledger will not move: say so plainly rather than fail on the index."""
    duplicates = op.get_bind().execute(sa.text(
        "SELECT kind, COUNT(*) FROM account WHERE member_id IS NULL "
        "GROUP BY kind HAVING COUNT(*) > 1"
    )).all()
    if duplicates:
        found = ", ".join(f"{kind} ({count} accounts)" for kind, count in duplicates)
        raise RuntimeError(
            f"more than one programme account of a kind: {found}. Programme totals still sum "
            "by kind, so nothing is lost; the ledger's owner must decide which account new "
            "postings go to before this migration can make the rule hold."
        )
