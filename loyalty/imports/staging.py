"""The staging table of a basket import, filled the fastest way each database has.

PostgreSQL: ``COPY ... FROM STDIN`` through psycopg's ``cursor.copy``, streamed while the file
is read.  SQLite: ``executemany`` in chunks.  Either way the table is temporary, lives on the
import's own connection inside its one transaction, and is dropped at the end.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

STAGE = "import_basket_stage"
BAD = "import_basket_bad"
COLUMNS = ("line_no", "basket_ref", "member_ref", "store_code", "sku", "quantity",
           "amount_minor", "occurred_at")
SQLITE_CHUNK = 10_000

_DDL = {
    "postgresql": (
        f"CREATE TEMP TABLE {STAGE} (line_no integer NOT NULL, basket_ref varchar(64) NOT NULL,"
        " member_ref varchar(64), store_code varchar(32) NOT NULL, sku varchar(64) NOT NULL,"
        " quantity bigint NOT NULL, amount_minor bigint NOT NULL,"
        " occurred_at timestamp NOT NULL) ON COMMIT DROP",
        f"CREATE TEMP TABLE {BAD} (basket_ref varchar(64) PRIMARY KEY) ON COMMIT DROP",
    ),
    "sqlite": (
        f"CREATE TEMP TABLE {STAGE} (line_no INTEGER NOT NULL, basket_ref TEXT NOT NULL,"
        " member_ref TEXT, store_code TEXT NOT NULL, sku TEXT NOT NULL,"
        " quantity INTEGER NOT NULL, amount_minor INTEGER NOT NULL,"
        " occurred_at TEXT NOT NULL)",
        f"CREATE TEMP TABLE {BAD} (basket_ref TEXT PRIMARY KEY)",
    ),
}


def sqlite_datetime(value: dt.datetime) -> str:
    """A naive UTC datetime as SQLAlchemy stores it in SQLite, so imported baskets sort and
    compare with the ones checkout writes."""
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


class Stager:
    """Rows in, one at a time; :meth:`close` before the set-based statements run."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name
        self._driver = conn.connection.driver_connection
        self._buffer: list[tuple[Any, ...]] = []
        self._copy_cm: Any = None
        self._copy: Any = None
        drop_temp_tables(conn)
        for ddl in _DDL[self.dialect]:
            conn.execute(text(ddl))
        if self.dialect == "postgresql":
            self._cursor = self._driver.cursor()
            self._copy_cm = self._cursor.copy(
                f"COPY {STAGE} ({', '.join(COLUMNS)}) FROM STDIN")
            self._copy = self._copy_cm.__enter__()

    def add(self, row: tuple[Any, ...]) -> None:
        """One line: the values of :data:`COLUMNS`, ``occurred_at`` a naive UTC datetime."""
        if self._copy is not None:
            self._copy.write_row(row)
            return
        self._buffer.append((*row[:-1], sqlite_datetime(row[-1])))
        if len(self._buffer) >= SQLITE_CHUNK:
            self._flush()

    def _flush(self) -> None:
        if self._buffer:
            self._driver.executemany(
                "INSERT INTO import_basket_stage VALUES (?, ?, ?, ?, ?, ?, ?, ?)", self._buffer)
            self._buffer = []

    def close(self) -> None:
        if self._copy_cm is not None:
            self._copy_cm.__exit__(None, None, None)
            self._copy_cm = self._copy = None
            self._cursor.close()
        self._flush()
        self.conn.execute(text(f"CREATE INDEX {STAGE}_basket ON {STAGE} (basket_ref)"))
        if self.dialect == "postgresql":
            self.conn.execute(text(f"ANALYZE {STAGE}"))

    def abort(self) -> None:
        """Stop a COPY half-way (the transaction is rolled back after)."""
        if self._copy_cm is not None:
            # psycopg ends the COPY with an error and re-raises it: the abort asked for.
            with contextlib.suppress(Exception):
                self._copy_cm.__exit__(RuntimeError, RuntimeError("import aborted"), None)
            self._copy_cm = self._copy = None


def drop_temp_tables(conn: Connection) -> None:
    """Drop the temporary tables: SQLite keeps them for the connection's life (and the pool
    keeps the connection); PostgreSQL's would go at commit, but not before a second import in
    the same transaction."""
    schema = "temp" if conn.dialect.name == "sqlite" else "pg_temp"
    for table in (STAGE, BAD):
        conn.execute(text(f"DROP TABLE IF EXISTS {schema}.{table}"))
