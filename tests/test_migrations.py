"""The migrations and the models describe the same schema, on the database under test."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from loyalty.db import Base


def test_models_match_migrations(database_url):
    engine = create_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations disagree: {diff}"


def test_ledger_entries_refuse_update_and_delete(db, settings):
    import pytest
    from sqlalchemy.exc import DatabaseError

    from loyalty.db import utcnow
    from loyalty.ledger.models import PostingKind
    from loyalty.ledger.services import PostingRequest, earn_points
    from tests.factories import make_member

    member, _card = make_member(db, settings)
    earn_points(db, PostingRequest(PostingKind.EARN, member.id, 10, utcnow()), 365)
    db.commit()
    for statement in ("UPDATE entry SET amount = amount + 1", "DELETE FROM entry",
                      "UPDATE posting SET reason = 'x'", "DELETE FROM posting"):
        with pytest.raises(DatabaseError, match="append-only"):
            db.execute(text(statement))
        db.rollback()
