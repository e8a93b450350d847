"""Files that are not an import at all, for each of ``loyalty import members|baskets|balances``:
a picture, a spreadsheet, UTF-16 text, nothing, a header alone, missing columns, more than the
disk can take.  Each gets one clear line, exit status 1, and the database is left as it was."""

from __future__ import annotations

import io
import shutil
import zipfile
from collections import namedtuple

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import text

from tests.factories import invoke_cli
from tests.imports.conftest import counts

HEADERS = {
    "members": "reference,name\n",
    "balances": "reference,points,expiry\n",
    "baskets": "member_ref,basket_id,occurred_at,store,sku,quantity,amount_minor\n",
}
ROWS = {
    "members": "C9,Sara Karimi\n",
    "balances": "C1,100,\n",
    "baskets": "C1,B9,2025-03-01T10:00:00,DXB1,MILK,1,650\n",
}
KINDS = sorted(HEADERS)


def _workbook() -> bytes:
    """What a spreadsheet saves as .xlsx: a ZIP of XML parts."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        book.writestr("xl/workbook.xml", '<?xml version="1.0"?><workbook/>')
    return out.getvalue()


def _cases(kind: str) -> dict[str, tuple[bytes, str]]:
    header, row = HEADERS[kind], ROWS[kind]
    return {
        "empty.csv": (b"", "empty.csv is empty"),
        "photo.csv": (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10",
                      "photo.csv is a Portable Network Graphics file, neither CSV nor Parquet; "
                      "save it as CSV (UTF-8) or Parquet"),
        "book.csv": (_workbook(), "book.csv is a MS Office Open XML Format Document, "
                                  "neither CSV nor Parquet"),
        "archive.csv": (b"\x1f\x8b\x08\0\0\0\0\0\0\x03" + b"\x4b" * 20,
                        "archive.csv is a GZIP Archive file, neither CSV nor Parquet"),
        "program.csv": (b"\x7fELF\x02\x01\x01" + b"\0" * 57, "program.csv is an ELF executable"),
        "noise.csv": (bytes(range(256)) * 4, "noise.csv is a binary file, neither CSV nor "
                                             "Parquet"),
        "utf16.csv": ((header + row).encode("utf-16"), "utf16.csv is UTF-16 text; save it as "
                                                       "CSV in UTF-8"),
        "utf16be.csv": ((header + row).encode("utf-16-be"), "utf16be.csv is UTF-16 text"),
        "header.csv": (header.encode(), "header.csv has a header but no rows"),
        "header-blank.csv": ((header + "\n \n").encode(), "header-blank.csv has a header but "
                                                          "no rows"),
        "columns.csv": (b"colour,size\nred,9\n", "columns.csv lacks the column(s) "),
    }


@pytest.mark.parametrize("kind", KINDS)
def test_a_file_that_is_no_import_is_refused_and_changes_nothing(app, db, shop, tmp_path,
                                                                 kind):
    before = counts(db)
    for name, (content, message) in _cases(kind).items():
        path = tmp_path / name
        path.write_bytes(content)
        result = invoke_cli(app, ["import", kind, str(path)])
        assert result.exit_code == 1, (name, result.output)
        assert "bad_import_file: " + message in result.output, (name, result.output)
        assert "nothing imported" in result.output and "Traceback" not in result.output
        assert counts(db) == before, name


@pytest.mark.parametrize("kind", KINDS)
def test_missing_columns_are_named(app, db, shop, tmp_path, kind):
    before = counts(db)
    required = HEADERS[kind].strip().split(",")
    if kind == "balances":
        required.remove("expiry")  # optional
    path = tmp_path / "first.csv"
    path.write_text(f"{required[0]},colour\nC1,red\n", encoding="utf-8")
    result = invoke_cli(app, ["import", kind, str(path)])
    assert result.exit_code == 1
    assert (f"first.csv lacks the column(s) {', '.join(required[1:])} "
            f"(it has: {required[0]}, colour); nothing imported") in result.output
    assert counts(db) == before


@pytest.mark.parametrize("kind", KINDS)
def test_a_parquet_file_without_rows_is_refused(app, db, shop, tmp_path, kind):
    before = counts(db)
    columns = HEADERS[kind].strip().split(",")
    path = tmp_path / "none.parquet"
    pq.write_table(pa.table({c: pa.array([], pa.string()) for c in columns}), path)
    result = invoke_cli(app, ["import", kind, str(path)])
    assert result.exit_code == 1
    assert "none.parquet has columns but no rows; nothing imported" in result.output
    assert counts(db) == before


@pytest.mark.parametrize("kind", KINDS)
def test_a_file_larger_than_the_disk_allows_is_refused(app, db, shop, tmp_path, monkeypatch,
                                                       is_postgres, kind):
    path = tmp_path / f"{kind}.csv"
    path.write_text(HEADERS[kind] + ROWS[kind], encoding="utf-8")
    # The disk is the one thing here outside the project: say it has 1,000 bytes free.
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda _folder: usage(10**9, 10**9, 1000))
    before = counts(db)
    result = invoke_cli(app, ["import", kind, str(path)])
    if is_postgres:  # the server's disk is not this process's to see: the file is loaded
        assert result.exit_code == 0, result.output
        return
    needed = path.stat().st_size * 3
    assert needed <= 1000  # the file fits: nothing is refused yet
    assert result.exit_code == 0, result.output
    after = counts(db)
    assert after != before
    bigger = tmp_path / f"big-{kind}.csv"
    bigger.write_text(HEADERS[kind] + ROWS[kind].replace("C", "D") * 100, encoding="utf-8")
    result = invoke_cli(app, ["import", kind, str(bigger)])
    assert result.exit_code == 1, result.output
    needed = bigger.stat().st_size * 3
    assert (f"big-{kind}.csv needs about {needed:,} bytes free for the staging tables") in (
        result.output)
    assert "that disk has 1,000; nothing imported" in result.output
    assert counts(db) == after


TABLE_WRITTEN = {"members": "member", "balances": "posting", "baskets": "basket"}


@pytest.fixture
def full_disk_on(app, is_postgres):  # type: ignore[no-untyped-def]
    """The PostgreSQL server answers a write to a table as it does when its disk is full
    (SQLSTATE 53100), by a trigger: the error comes from the server, nothing is faked here."""
    if not is_postgres:
        pytest.skip("SQLite's disk is this process's: the check before loading covers it")
    engine = app.extensions["loyalty.db"].engine
    tables: list[str] = []

    def fill(table: str) -> None:
        with engine.begin() as conn:
            conn.execute(text(
                "CREATE OR REPLACE FUNCTION lt_disk_full() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' "
                "USING ERRCODE = 'disk_full'; END $$"))
            conn.execute(text(f"CREATE TRIGGER lt_disk_full BEFORE INSERT ON {table} "
                              "FOR EACH STATEMENT EXECUTE FUNCTION lt_disk_full()"))
        tables.append(table)

    yield fill
    with engine.begin() as conn:
        for table in tables:
            conn.execute(text(f"DROP TRIGGER IF EXISTS lt_disk_full ON {table}"))
        conn.execute(text("DROP FUNCTION IF EXISTS lt_disk_full()"))


@pytest.mark.parametrize("kind", KINDS)
def test_a_database_disk_that_fills_during_the_import_changes_nothing(app, db, shop, tmp_path,
                                                                      full_disk_on, kind):
    full_disk_on(TABLE_WRITTEN[kind])
    path = tmp_path / f"{kind}.csv"
    path.write_text(HEADERS[kind] + ROWS[kind], encoding="utf-8")
    before = counts(db)
    result = invoke_cli(app, ["import", kind, str(path)])
    assert result.exit_code == 1, result.output
    assert (f"bad_import_file: the database ran out of disk space while importing {kind}.csv; "
            "nothing imported") in result.output
    assert "Traceback" not in result.output and "No space" not in result.output
    assert counts(db) == before
