"""Reading exports as text first: encoding, delimiter, line numbers, nothing interpreted.

Every value comes back as the exact text in the file, so "NA" (Namibia, or a guest in the
UCI data) stays "NA" and a zip code "02134" keeps its zero. Each row carries the physical line
of the file it starts on (a quoted field with line breaks spans several lines), which is what
error messages and data/rejected/ quote.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "tiny.csv"
>>> _ = path.write_bytes('id;note;amount\\r\\n1;"two\\nlines";3,50\\r\\n2;NA;0\\r\\n'.encode("cp1252"))
>>> raw = read_text_table(path)
>>> raw.delimiter, raw.encoding, raw.rows
(';', 'utf-8', 2)
>>> raw.frame["__line"].tolist(), raw.frame["note"].tolist()
([2, 4], ['two\\nlines', 'NA'])
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import operator
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa

from opslib.errors import MissingFileError, OpslibError

__all__ = ["RawTable", "BadRow", "read_text_table", "file_sha256", "detect_encoding",
           "sniff_delimiter", "ImportFileError", "LINE"]

LINE = "__line"  # the column holding each row's first physical line in the file
_CHUNK_ROWS = 50_000
_DELIMITERS = (",", ";", "\t", "|")

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # long HTML descriptions in product exports


class ImportFileError(OpslibError):
    """A file cannot be imported as a whole (nothing was written)."""


@dataclass(frozen=True)
class BadRow:
    """A line the CSV reader could not turn into a row of the header's shape."""

    line: int
    fields: int
    expected: int
    text: str


@dataclass
class RawTable:
    """An export read as text: one str column per header column kept, plus `__line`."""

    path: Path
    sha256: str
    encoding: str
    delimiter: str
    header: list[str]
    frame: pd.DataFrame
    bad_rows: list[BadRow] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def rows(self) -> int:
        """Data rows read (good and malformed); blank lines are not rows."""
        return len(self.frame) + len(self.bad_rows)


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes (the import ledger's identity of an export)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else cp1252, else latin-1.

    The whole file is checked, so a single accented byte on the last line is not missed.
    """
    with open(path, "rb") as handle:
        head = handle.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        for encoding in ("utf-8", "cp1252"):
            handle.seek(0)
            decoder = codecs.getincrementaldecoder(encoding)()
            try:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    decoder.decode(block)
                decoder.decode(b"", final=True)
                return encoding
            except UnicodeDecodeError:
                continue
    return "latin-1"  # every byte is a character: never fails


def sniff_delimiter(header_line: str) -> str:
    """The delimiter that splits the header into the most fields, quotes respected.

    >>> sniff_delimiter('Date;"Order #";Net Sales')
    ';'
    >>> sniff_delimiter('"a,b";c;d,e,f')
    ','
    """
    best, best_count = ",", 0
    for delimiter in _DELIMITERS:
        fields = next(csv.reader([header_line], delimiter=delimiter), [])
        if len(fields) > best_count:
            best, best_count = delimiter, len(fields)
    return best


def _clean_header(name: str) -> str:
    return name.replace("\ufeff", "").replace("\xa0", " ").strip()


def read_text_table(path: str | Path, *, encoding: str = "auto", delimiter: str = "auto",
                    keep: Callable[[str], bool] | None = None,
                    sha256: str | None = None, skip_lines: int = 0) -> RawTable:
    """Read a delimited text file as strings, with each row's first line number.

    `skip_lines` title lines above the header are passed over (line numbers stay those of
    the file). `keep(column)` chooses which header columns are kept (all by default) so a
    wide export does not hold columns nobody reads. Rows with more or fewer fields than the
    header are returned in `bad_rows` (they become rejects), never silently padded or cut.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"file '{path}' does not exist", file=str(path),
                               fix="Check the path (quote names with spaces).")
    chosen = detect_encoding(path) if encoding == "auto" else encoding
    digest = sha256 or file_sha256(path)
    try:
        return _read(path, chosen, delimiter, keep, digest, skip_lines)
    except UnicodeDecodeError as err:
        raise ImportFileError(f"file '{path.name}' is not valid {chosen} text ({err.reason} "
                              f"at byte {err.start})", file=str(path),
                              fix="Set encoding = \"auto\" (or the right one) in the "
                                  "mapping's [read] section.") from err
    except csv.Error as err:
        raise ImportFileError(f"file '{path.name}' is not readable as delimited text ({err})",
                              file=str(path),
                              fix="Check the delimiter and quoting; export the file as CSV "
                                  "again.") from err


def _read(path: Path, encoding: str, delimiter: str, keep: Callable[[str], bool] | None,
          digest: str, skip_lines: int = 0) -> RawTable:
    with open(path, encoding=encoding, newline="") as handle:
        for _ in range(skip_lines):
            handle.readline()
        start = handle.tell()
        first = handle.readline()
        if not first.strip():
            raise ImportFileError(f"file '{path.name}' is empty or starts with a blank line",
                                  file=str(path), line=1,
                                  fix="Export the file again with its header row first.")
        chosen = sniff_delimiter(first) if delimiter == "auto" else delimiter
        handle.seek(start)
        reader = csv.reader(handle, delimiter=chosen)
        header = [_clean_header(h) for h in next(reader)]
        _check_header(path, header)
        kept = [i for i, name in enumerate(header) if keep is None or keep(name)]
        names = [header[i] for i in kept]
        chunks, bad = _collect(reader, len(header), kept, names, skip_lines)
    if chunks:
        table = pa.concat_tables(chunks)
    else:
        table = pa.table({**{n: pa.array([], pa.string()) for n in names},
                          LINE: pa.array([], pa.int64())})
    frame = table.to_pandas()
    return RawTable(path, digest, "utf-8" if encoding == "utf-8-sig" else encoding, chosen,
                    header, frame, bad)


def _check_header(path: Path, header: list[str]) -> None:
    seen: set[str] = set()
    for position, name in enumerate(header, start=1):
        if name in seen:
            raise ImportFileError(
                f"file '{path.name}' line 1: column '{name}' appears twice in the header "
                f"(again at position {position})", file=str(path), line=1, column=name,
                fix="Rename or remove one of the two columns and import again.")
        seen.add(name)


def _collect(reader: Iterable[list[str]], width: int, kept: list[int],
             names: list[str], offset: int = 0) -> tuple[list[pa.Table], list[BadRow]]:
    chunks: list[pa.Table] = []
    bad: list[BadRow] = []
    rows: list[tuple] = []
    lines: list[int] = []
    pick = operator.itemgetter(*kept) if len(kept) > 1 else \
        (lambda record: (record[kept[0]],)) if kept else (lambda record: ())
    previous_end = reader.line_num  # type: ignore[attr-defined]
    for record in reader:
        start = previous_end + 1 + offset
        previous_end = reader.line_num  # type: ignore[attr-defined]
        if not record or (len(record) == 1 and not record[0].strip() and width > 1):
            continue  # a blank line is not a row
        if len(record) != width:
            bad.append(BadRow(start, len(record), width, _shorten(record)))
            continue
        rows.append(pick(record))
        lines.append(start)
        if len(rows) >= _CHUNK_ROWS:
            chunks.append(_to_arrow(rows, lines, names))
            rows, lines = [], []
    if rows or not chunks:
        chunks.append(_to_arrow(rows, lines, names))
    return chunks, bad


def _shorten(record: list[str]) -> str:
    text = ",".join(record)
    return text if len(text) <= 200 else text[:197] + "..."


def _to_arrow(rows: list[tuple], lines: list[int], names: list[str]) -> pa.Table:
    columns = list(zip(*rows)) if rows else [() for _ in names]
    arrays = {name: pa.array(values, pa.string()) for name, values in zip(names, columns)}
    arrays[LINE] = pa.array(lines, pa.int64())
    return pa.table(arrays)

