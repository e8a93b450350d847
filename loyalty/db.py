"""Database plumbing shared by every slice: the declarative base, engines and the unit of work.

Locking strategy, per the design:

* SQLite runs in WAL mode with a busy timeout, and every transaction starts with
  ``BEGIN IMMEDIATE`` so that writers queue for the single write lock up front instead of
  failing half-way with "database is locked" when they try to upgrade a read lock.
* PostgreSQL takes row locks (``SELECT ... FOR UPDATE``) in a fixed order: accounts by id,
  then lots by id, so two checkouts for the same member can never deadlock.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import DateTime, Enum, MetaData, create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.sql.expression import Executable
from sqlalchemy.types import TypeDecorator

T = TypeVar("T")

# Ids, counts and money columns are 32-bit INTEGER on both databases: what fits them.
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone of its own)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime()}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def make_engine(url: str, *, busy_timeout_ms: int = 30_000, **kwargs: Any) -> Engine:
    # An error's message never carries the values bound to its statement: those can be what a
    # person typed (a sign-in username, a member's name), and error messages end up in logs.
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": busy_timeout_ms / 1000}, **kwargs)
        _configure_sqlite(engine, busy_timeout_ms)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
    return create_engine(url, **kwargs)


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so BEGIN IMMEDIATE is ours.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit if the block finishes, roll back if it raises."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


_SNAPSHOT = "loyalty.reference_snapshot"


@contextmanager
def reference_snapshot(session: Session) -> Iterator[None]:
    """Within it, reference data read through :func:`remembered` (catalog ids, earning rules,
    tiers) is read once and reused by every transaction of ``session``.

    For a batch of sales, which would otherwise read the same rows for each sale.  That data
    changes rarely and by hand: a batch begun before a change finishes with what it read, as
    one long request would.  Outside it, :func:`remembered` reads every time.
    """
    session.info[_SNAPSHOT] = {}
    try:
        yield
    finally:
        session.info.pop(_SNAPSHOT, None)


def in_snapshot(session: Session) -> bool:
    return _SNAPSHOT in session.info


def remembered(session: Session, key: Hashable, load: Callable[[], T]) -> T:
    """``load()``, or within :func:`reference_snapshot` what it gave the first time for ``key``.

    What is remembered outlives the transaction: plain values and rows only, never ORM
    objects (they would be expired, or detached, by the next commit)."""
    snapshot = session.info.get(_SNAPSHOT)
    if snapshot is None:
        return load()
    if key not in snapshot:
        snapshot[key] = load()
    return snapshot[key]  # type: ignore[no-any-return]


def end_read_transaction(session: Session) -> None:
    """End a transaction that only read, as a rollback would, but keep the connection's
    prepared statements: psycopg forgets them all on every ROLLBACK (``DEALLOCATE ALL``), so a
    rollback per request would leave PostgreSQL parsing and planning every statement anew.
    A session holding changes is rolled back: those must never be committed here."""
    if session.new or session.dirty or session.deleted:
        session.rollback()
    else:
        session.commit()


def execute_rows(conn: Connection, statement: Executable, rows: list[dict[str, Any]]) -> Any:
    """Run ``statement`` once per row of ``rows`` (at least one).  A single row goes as a plain
    execute: psycopg runs every executemany in pipeline mode, whose set-up and sync cost more
    than they save for one row, and one row is the common case (one lot, a one-line basket)."""
    return conn.execute(statement, rows[0] if len(rows) == 1 else rows)


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def str_enum(enum_cls: type[enum.Enum], length: int) -> Enum:
    """A portable VARCHAR enum column storing the members' lower-case values, not their names."""
    return Enum(
        enum_cls,
        native_enum=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )
