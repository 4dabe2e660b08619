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
import contextlib
import csv
import hashlib
import io
import itertools
import operator
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd
import pyarrow as pa

from opslib.errors import MissingFileError, OpslibError

__all__ = ["RawTable", "BadRow", "read_text_table", "read_header_row", "file_sha256",
           "detect_encoding", "sniff_delimiter", "sniff_decimal", "joined_header_hint",
           "delimiter_name", "ImportFileError", "LINE", "TextBatches", "RowsOnDisk"]

LINE = "__line"  # the column holding each row's first physical line in the file
_CHUNK_ROWS = 50_000
_DELIMITERS = (",", ";", "\t", "|")
_SNIFF_LINES = 50  # lines below the header that must agree with the sniffed delimiter
_TEXT = pa.large_string()

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
    frame: pd.DataFrame | pa.Table | RowsOnDisk  # or typed, in Arrow or on disk
    bad_rows: list[BadRow] = field(default_factory=list)
    detected: dict[str, str] = field(default_factory=dict)  # "auto" settings -> value found
    lines: np.ndarray | None = None  # every data row's line, when `frame` holds fewer rows

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def rows(self) -> int:
        """Data rows read (good and malformed); blank lines are not rows."""
        return len(self.line_numbers()) + len(self.bad_rows)

    def line_numbers(self) -> np.ndarray:
        """The first line of every well-formed data row read."""
        if self.lines is not None:
            return self.lines
        return np.asarray(self.frame[LINE], dtype="int64")


@dataclass(frozen=True)
class RowsOnDisk:
    """Rows kept in a Parquet file instead of in memory (a large file's typed rows), and
    the lines left out of them since (rejected): whoever reads them leaves those out."""

    path: Path
    without: np.ndarray = field(default_factory=lambda: np.empty(0, "int64"))


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


def sniff_delimiter(sample: str) -> str:
    """The delimiter that splits the header (the sample's first line) into the most fields
    while the lines below it have as many fields; quotes respected, ',' on a tie.

    >>> sniff_delimiter('Date;"Order #";Net Sales')
    ';'
    >>> sniff_delimiter('"a,b";c;d,e,f')
    ','
    >>> sniff_delimiter('Sales, USD;Profit, USD\\n1,50;2\\n3;4,25\\n5;6\\n')
    ';'
    """
    def score(delimiter: str) -> tuple[bool, int]:
        records = _records(sample, delimiter)
        if not records:
            return False, 0
        width = len(records[0])
        body = records[1:-1] if len(records) > 2 else records[1:]  # the last may be cut
        agree = sum(len(r) == width for r in body) >= 0.9 * len(body)
        return width > 1 and agree, width

    return max(_DELIMITERS, key=score)


def _records(sample: str, delimiter: str) -> list[list[str]]:
    """The non-blank records of a sample, as the delimiter splits them."""
    records: list[list[str]] = []
    try:
        for record in csv.reader(io.StringIO(sample), delimiter=delimiter):
            if any(f.strip() for f in record):
                records.append(record)
    except csv.Error:  # a record this delimiter cannot read: judge by those before it
        pass
    return records


def delimiter_name(delimiter: str) -> str:
    """How messages and mappings write a delimiter.

    >>> delimiter_name("\\t"), delimiter_name(";")
    ('"tab"', '";"')
    """
    return '"tab"' if delimiter == "\t" else f'"{delimiter}"'


def joined_header_hint(header: list[str], wanted: str) -> str | None:
    """The delimiter that would split a header cell into several names, one of them
    `wanted`: the header was read with the wrong delimiter and this one seems right.

    >>> joined_header_hint(["Row ID;Ship Date;Sales"], "Ship Date")
    ';'
    >>> joined_header_hint(["Row ID", "Sales"], "Ship Date") is None
    True
    """
    for cell in header:
        for delimiter in _DELIMITERS:
            parts = [p.strip().lower() for p in next(csv.reader([cell], delimiter=delimiter))]
            if len(parts) > 1 and wanted.strip().lower() in parts:
                return delimiter
    return None


def _number(mark: str) -> re.Pattern:
    """A number written with decimal `mark`: digits, or groups of three split by the other
    mark (the first group not starting with 0), then maybe the mark and decimals."""
    group = re.escape("." if mark == "," else ",")
    return re.compile(rf"^(\d+|[1-9]\d{{0,2}}({group}\d{{3}})+)({re.escape(mark)}\d+)?$")


_NUMBER = {mark: _number(mark) for mark in (",", ".")}


@dataclass(frozen=True)
class DecimalSniff:
    """The decimal mark a file's numbers show, and the value that shows it (or the problem)."""

    decimal: str | None  # None: the file does not decide
    example: tuple[str, str, int] | None  # (value, column, line)
    conflict: tuple[str, str, int] | None = None  # a value showing the other mark


def sniff_decimal(columns: dict[str, pd.Series], lines: pd.Series) -> DecimalSniff:
    """Decide the decimal mark from every number of the file at once.

    `lines` is indexed like the columns (which may hold only some of the rows). A value
    that reads only one way shows the mark: '12,50', '0,125', '1.234,56',
    '1000,000' a decimal comma; '12.50', '0.125', '1,234.56' a decimal point. '1,234' alone
    reads both ways (a thousand and more, or one and a bit). Currency signs, spaces, signs
    and accounting parentheses are ignored.

    >>> lines = pd.Series([2, 3])
    >>> sniff_decimal({"Sales": pd.Series(["261,96", "1.000"])}, lines).decimal
    ','
    >>> sniff_decimal({"Qty": pd.Series(["1,000", "2"])}, lines).decimal is None
    True
    """
    found: dict[str, tuple[str, str, int]] = {}
    ambiguous = None
    for name, values in columns.items():
        text = values.astype("str").str.replace(r"[\s\xa0$€£¥'()+\-]", "", regex=True)
        comma, dot = (text.str.match(_NUMBER[mark]).to_numpy(dtype=bool, na_value=False)
                      for mark in (",", "."))
        separated = text.str.contains(r"[.,]", regex=True).to_numpy(dtype=bool, na_value=False)
        either = comma & dot & separated
        for mark, hits in ((",", comma & ~dot), (".", dot & ~comma), (None, either)):
            if hits.any():
                at = hits.argmax()
                example = (str(values.iloc[at]), name, int(lines.loc[values.index[at]]))
                if mark is None:
                    ambiguous = ambiguous or example
                else:
                    found.setdefault(mark, example)
    if len(found) == 2:
        return DecimalSniff(None, found[","], conflict=found["."])
    if found:
        mark, example = next(iter(found.items()))
        return DecimalSniff(mark, example)
    return DecimalSniff("." if ambiguous is None else None, ambiguous)


def _clean_header(name: str) -> str:
    return name.replace("\ufeff", "").replace("\xa0", " ").strip()


def read_text_table(path: str | Path, *, encoding: str = "auto", delimiter: str = "auto",
                    keep: Callable[[str], bool] | None = None,
                    sha256: str | None = None, skip_lines: int = 0,
                    dictionary: bool = False) -> RawTable:
    """Read a delimited text file as strings, with each row's first line number.

    `skip_lines` title lines above the header are passed over (line numbers stay those of
    the file). `keep(column)` chooses which header columns are kept (all by default) so a
    wide export does not hold columns nobody reads. Rows with more or fewer fields than the
    header are returned in `bad_rows` (they become rejects), never silently padded or cut.
    The encoding and delimiter found for "auto" are in `detected`. With `dictionary`, each
    column holds its distinct values once (an Arrow dictionary; `.astype("str")` decodes
    it): far smaller for exports that repeat values on many rows.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"file '{path}' does not exist", file=str(path),
                               fix="Check the path (quote names with spaces).")
    chosen = detect_encoding(path) if encoding == "auto" else encoding
    digest = sha256 or file_sha256(path)
    with _decoding_errors(path, chosen):
        raw = _read(path, chosen, delimiter, keep, digest, skip_lines, dictionary)
    if encoding == "auto":
        raw.detected["encoding"] = raw.encoding
    if delimiter == "auto":
        raw.detected["delimiter"] = raw.delimiter
    return raw


def read_header_row(path: Path, *, encoding: str = "auto", delimiter: str = "auto",
                    skip_lines: int = 0) -> list[str]:
    """Only the header row (cleaned of BOM and non-breaking spaces), read as `read_text_table`
    would read it."""
    chosen = detect_encoding(path) if encoding == "auto" else encoding
    with _decoding_errors(path, chosen), open(path, encoding=chosen, newline="") as handle:
        sep = _start(handle, path, delimiter, skip_lines)
        return [_clean_header(h) for h in next(csv.reader(handle, delimiter=sep))]


@contextlib.contextmanager
def _decoding_errors(path: Path, encoding: str) -> Iterator[None]:
    """Text that is not in the encoding, or not delimited text: ImportFileError."""
    try:
        yield
    except UnicodeDecodeError as err:
        raise ImportFileError(f"file '{path.name}' is not valid {encoding} text ({err.reason} "
                              f"at byte {err.start})", file=str(path),
                              fix="Set encoding = \"auto\" (or the right one) in the "
                                  "mapping's [read] section.") from err
    except csv.Error as err:
        raise ImportFileError(f"file '{path.name}' is not readable as delimited text ({err})",
                              file=str(path),
                              fix="Check the delimiter and quoting; export the file as CSV "
                                  "again.") from err


def _start(handle: TextIO, path: Path, delimiter: str, skip_lines: int) -> str:
    """Pass the title lines, sniff the delimiter ("auto") and go back to the header."""
    for _ in range(skip_lines):
        handle.readline()
    start = handle.tell()
    sample = [handle.readline()]
    if not sample[0].strip():
        raise ImportFileError(f"file '{path.name}' is empty or starts with a blank line",
                              file=str(path), line=1 + skip_lines,
                              fix="Export the file again with its header row first.")
    if delimiter == "auto":
        sample += itertools.islice(iter(handle.readline, ""), _SNIFF_LINES)
    handle.seek(start)
    return sniff_delimiter("".join(sample)) if delimiter == "auto" else delimiter


def _read(path: Path, encoding: str, delimiter: str, keep: Callable[[str], bool] | None,
          digest: str, skip_lines: int = 0, dictionary: bool = False) -> RawTable:
    batches = TextBatches(path, encoding=encoding, delimiter=delimiter, keep=keep,
                          skip_lines=skip_lines, dictionary=dictionary)
    with batches:
        table = pa.concat_tables(list(batches))
    # Dictionary columns stay as Arrow holds them (pandas' category type would copy them).
    frame = table.to_pandas(types_mapper=lambda kind: pd.ArrowDtype(kind)
                            if pa.types.is_dictionary(kind) else None)
    return RawTable(path, digest, "utf-8" if encoding == "utf-8-sig" else encoding,
                    batches.delimiter, batches.header, frame, batches.bad_rows)


class TextBatches:
    """A delimited file read as text in batches of rows (Arrow tables of `large_string`
    columns plus `__line`), so a large file need not be held whole.

    Open it with `with`: `header`, `delimiter` and `names` (the kept columns) are known
    from then on; iterate for the batches; `bad_rows` is complete once they are all read.
    """

    def __init__(self, path: Path, *, encoding: str, delimiter: str,
                 keep: Callable[[str], bool] | None = None, skip_lines: int = 0,
                 rows: int = _CHUNK_ROWS, dictionary: bool = False) -> None:
        self.path, self.encoding, self.skip_lines, self.rows = path, encoding, skip_lines, rows
        self.dictionary = dictionary
        self.delimiter, self.keep = delimiter, keep
        self.header: list[str] = []
        self.names: list[str] = []
        self.bad_rows: list[BadRow] = []
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> TextBatches:
        self._stack.enter_context(_decoding_errors(self.path, self.encoding))
        handle = self._stack.enter_context(open(self.path, encoding=self.encoding,
                                                newline=""))
        self.delimiter = _start(handle, self.path, self.delimiter, self.skip_lines)
        self._reader = csv.reader(handle, delimiter=self.delimiter)
        self.header = [_clean_header(h) for h in next(self._reader)]
        _check_header(self.path, self.header)
        self._kept = [i for i, name in enumerate(self.header)
                      if self.keep is None or self.keep(name)]
        self.names = [self.header[i] for i in self._kept]
        return self

    def __exit__(self, *exc) -> bool | None:
        return self._stack.__exit__(*exc)

    def __iter__(self) -> Iterator[pa.Table]:
        with _decoding_errors(self.path, self.encoding):
            yield from _collect(self._reader, len(self.header), self._kept, self.names,
                                self.bad_rows, self.skip_lines, self.rows, self.dictionary)


def _check_header(path: Path, header: list[str]) -> None:
    seen: set[str] = set()
    for position, name in enumerate(header, start=1):
        if name in seen:
            raise ImportFileError(
                f"file '{path.name}' line 1: column '{name}' appears twice in the header "
                f"(again at position {position})", file=str(path), line=1, column=name,
                fix="Rename or remove one of the two columns and import again.")
        seen.add(name)


def _collect(reader: Iterable[list[str]], width: int, kept: list[int], names: list[str],
             bad: list[BadRow], offset: int = 0, size: int = _CHUNK_ROWS,
             dictionary: bool = False) -> Iterator[pa.Table]:
    """Batches of `size` rows (at least one batch, maybe empty); malformed rows go to `bad`."""
    rows: list[tuple] = []
    lines: list[int] = []
    pick = operator.itemgetter(*kept) if len(kept) > 1 else \
        (lambda record: (record[kept[0]],)) if kept else (lambda record: ())
    previous_end = reader.line_num  # type: ignore[attr-defined]
    empty = True
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
        if len(rows) >= size:
            yield _to_arrow(rows, lines, names, dictionary)
            empty = False
            rows, lines = [], []
    if rows or empty:
        yield _to_arrow(rows, lines, names, dictionary)


def _shorten(record: list[str]) -> str:
    text = ",".join(record)
    return text if len(text) <= 200 else text[:197] + "..."


def _to_arrow(rows: list[tuple], lines: list[int], names: list[str],
              dictionary: bool = False) -> pa.Table:
    """One chunk of rows as Arrow; large_string is what pandas' text columns hold, so the
    frame takes the chunks as they are instead of copying them."""
    columns = list(zip(*rows)) if rows else [() for _ in names]
    arrays = {name: pa.array(values, _TEXT) for name, values in zip(names, columns)}
    if dictionary:
        arrays = {name: array.dictionary_encode() for name, array in arrays.items()}
    arrays[LINE] = pa.array(lines, pa.int64())
    return pa.table(arrays)

