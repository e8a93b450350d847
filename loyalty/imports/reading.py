"""Reading an import file, CSV or Parquet, as numbered rows of text-or-typed values.

A file that cannot be read as a table at all (empty, binary, not UTF-8, a header without the
required columns, a header without rows) raises :class:`ImportFileError` before anything is
written.  A row that is merely bad is the caller's to report: rows come with their place in
the file (a CSV line number, the header being line 1; a Parquet row number, the first data row
being row 1).
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loyalty.errors import InvalidInput

PARQUET_MAGIC = b"PAR1"
# Staging and the rows written take a few times the file's size (Parquet: more, it is
# compressed); a run that finds less free space stops before writing anything.
ROOM_FACTOR = {"csv": 3, "parquet": 10}
PARQUET_BATCH_ROWS = 65_536
# A row longer than its header gets this key, so the caller can say so.
EXTRA_FIELDS = "\0extra"


class ImportFileError(InvalidInput):
    """The file as a whole cannot be imported; nothing was written."""

    code, title = "bad_import_file", "The import file cannot be read"


@dataclass(frozen=True)
class Table:
    """An opened import file: its columns and its rows as ``(place, {column: value})``."""

    name: str
    columns: tuple[str, ...]
    rows: Iterator[tuple[int, dict[str, Any]]]
    place: str  # "line" (CSV) or "row" (Parquet), for messages
    estimated_rows: int | None  # for a progress bar's time left


def open_table(path: Path, required: Sequence[str], *, count_rows: bool = False) -> Table:
    """Open ``path`` as CSV or Parquet (by its first bytes, not its name).

    ``count_rows``: count a CSV's lines ahead (a quick binary pass) for a progress bar.
    """
    with path.open("rb") as probe:
        head = probe.read(4096)
    if not head.strip():
        raise ImportFileError(f"{path.name} is empty; nothing imported")
    if head.startswith(PARQUET_MAGIC):
        return _open_parquet(path, required)
    if _is_utf16(head):
        raise ImportFileError(f"{path.name} is UTF-16 text; save it as CSV in UTF-8 "
                              "(\"CSV UTF-8\" in a spreadsheet); nothing imported")
    if b"\0" in head:  # text never holds NUL: a binary file, name what it seems to be
        raise ImportFileError(f"{path.name} is {_binary_kind(head)}, neither CSV nor Parquet; "
                              "save it as CSV (UTF-8) or Parquet; nothing imported")
    return _open_csv(path, required, count_rows)


def _is_utf16(head: bytes) -> bool:
    """A byte-order mark, or ASCII text with a NUL in every other byte (UTF-16 without one)."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return True
    even, odd = head[:64:2], head[1:64:2]
    if len(head) < 4:
        return False
    return (not odd.strip(b"\0") and b"\0" not in even) or (
        not even.strip(b"\0") and b"\0" not in odd)


def _binary_kind(head: bytes) -> str:
    """What a binary file looks like by its magic number (puremagic's table, which knows far
    more formats than we would list): "a Portable Network Graphics file".  Its name, not its
    extension: a ZIP archive matches .docx and .xlsx alike."""
    import puremagic  # only for a file about to be refused

    try:
        match = puremagic.magic_string(head)[0]
    except (puremagic.PureError, IndexError, ValueError):
        return "a binary file"
    return ("an " if match.name[:1] in "AEIOUaeiou" else "a ") + match.name


def check_room(path: Path, folders: Sequence[tuple[str, Path]]) -> None:
    """Refuse a file larger than the disks where the import writes can take, before anything
    is written.  ``folders``: (what is written there, folder), e.g. the staging tables and
    the database; a disk that holds several must have room for the file once (the
    estimate covers staging and the rows written together)."""
    with path.open("rb") as probe:
        kind = "parquet" if probe.read(4) == PARQUET_MAGIC else "csv"
    needed = path.stat().st_size * ROOM_FACTOR[kind]
    disks: dict[int, tuple[list[str], Path]] = {}  # device -> (purposes, first folder)
    for purpose, folder in folders:
        disks.setdefault(folder.stat().st_dev, ([], folder))[0].append(purpose)
    for purposes, folder in disks.values():
        free = shutil.disk_usage(folder).free
        if needed > free:
            raise ImportFileError(
                f"{path.name} needs about {needed:,} bytes free for {' and '.join(purposes)} "
                f"({folder}), and that disk has {free:,}; nothing imported")


def _check_columns(name: str, columns: Sequence[str], required: Sequence[str]) -> None:
    missing = [column for column in required if column not in columns]
    if missing:
        raise ImportFileError(
            f"{name} lacks the column(s) {', '.join(missing)} "
            f"(it has: {', '.join(columns) or 'none'}); nothing imported")


def _open_csv(path: Path, required: Sequence[str], count_rows: bool) -> Table:
    # utf-8-sig: spreadsheets save CSV with a byte-order mark that would spoil the first column.
    stream = path.open(newline="", encoding="utf-8-sig")
    try:
        reader = csv.reader(stream)
        header = next(reader, None)
    except (UnicodeDecodeError, csv.Error) as exc:
        stream.close()
        raise ImportFileError(f"{path.name} is not readable UTF-8 CSV ({exc}); "
                              "nothing imported") from exc
    if not header:
        stream.close()
        raise ImportFileError(f"{path.name} has no header line; nothing imported")
    columns = tuple(column.strip() for column in header)
    try:
        _check_columns(path.name, columns, required)
    except ImportFileError:
        stream.close()
        raise
    estimate = _count_lines(path) - 1 if count_rows else None
    rows = _csv_rows(path.name, stream, reader, columns)
    first = next(rows, None)  # the generator closes the file when it ends
    if first is None:
        raise ImportFileError(f"{path.name} has a header but no rows; nothing imported")
    return Table(path.name, columns, itertools.chain([first], rows), "line", estimate)


def _csv_rows(name: str, stream: io.TextIOBase, reader: Any,
              columns: tuple[str, ...]) -> Iterator[tuple[int, dict[str, Any]]]:
    width = len(columns)
    try:
        for fields in reader:
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue  # a blank line
            row = dict(zip(columns, fields, strict=False))
            if len(fields) > width:
                row[EXTRA_FIELDS] = fields[width:]
            yield reader.line_num, row
    except (UnicodeDecodeError, csv.Error) as exc:
        # The text is decoded ahead in blocks: the fault is somewhere past this line.
        raise ImportFileError(f"{name} is not readable UTF-8 CSV after line {reader.line_num} "
                              f"({exc}); nothing imported") from exc
    finally:
        stream.close()


def _count_lines(path: Path) -> int:
    lines = 0
    with path.open("rb") as raw:
        while chunk := raw.read(1 << 20):
            lines += chunk.count(b"\n")
    return lines


def _open_parquet(path: Path, required: Sequence[str]) -> Table:
    import pyarrow.parquet as pq  # only for Parquet files: it takes a while to import

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # noqa: BLE001  (pyarrow raises several kinds for a bad file)
        raise ImportFileError(f"{path.name} is not a readable Parquet file ({exc}); "
                              "nothing imported") from exc
    columns = tuple(parquet.schema_arrow.names)
    _check_columns(path.name, columns, required)
    if not parquet.metadata.num_rows:
        raise ImportFileError(f"{path.name} has columns but no rows; nothing imported")
    return Table(path.name, columns, _parquet_rows(parquet, columns), "row",
                 parquet.metadata.num_rows)


def _parquet_rows(parquet: Any, columns: tuple[str, ...]) -> Iterator[tuple[int, dict[str, Any]]]:
    number = 0
    for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=list(columns)):
        values = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
        for row in zip(*values, strict=True):
            number += 1
            yield number, dict(zip(columns, row, strict=True))
