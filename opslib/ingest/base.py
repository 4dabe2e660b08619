"""What every file importer has: a name, the columns it reads, a way to build rows."""

from __future__ import annotations

import contextlib
import datetime as dt
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa

from opslib.config import Settings
from opslib.ingest.columns import Want, resolve_columns
from opslib.ingest.engine import RELEASE_FROM_BYTES, Candidate, Context, import_step, \
    map_large_blocks, run_import
from opslib.ingest.ledger import load_ledger
from opslib.ingest.parse import Parsed, range_text
from opslib.ingest.readers import RawTable, delimiter_name, file_sha256, read_header_row, \
    read_text_table
from opslib.ingest.rejects import Rejects
from opslib.ingest.report import FileResult

__all__ = ["FileImporter", "read_header"]


def read_header(path: Path, *, encoding: str = "auto", delimiter: str = "auto",
                skip_lines: int = 0) -> list[str]:
    """The header row of a delimited file (cleaned of BOM and non-breaking spaces)."""
    return read_header_row(path, encoding=encoding, delimiter=delimiter,
                           skip_lines=skip_lines)


class FileImporter:
    """Base class: subclasses set `source`, `what`, `spec` and implement `build`."""

    source: str = ""
    what: str = ""
    spec: dict[str, Want] = {}
    encoding: str = "auto"
    delimiter: str = "auto"
    skip_lines: int = 0
    dictionary: bool = False  # hold the text dictionary-encoded (see `read_text_table`)
    _scratch: Path | None = None  # a folder for rows kept on disk, during `run` only
    aside: bool = True  # in `run`, rows and tables wait on disk between stages (less memory)

    @property
    def aside_folder(self) -> Path | None:
        """Where rows and tables wait on disk between stages, or None (kept in memory)."""
        return self._scratch if self.aside else None

    def columns(self, path: Path) -> dict[str, str]:
        """Check the header (before anything is read or written); field -> header name."""
        header = read_header(path, encoding=self.encoding, delimiter=self.delimiter,
                             skip_lines=self.skip_lines)
        return resolve_columns(header, self.spec, what=self.what, file=path.name)

    def prepare(self, frame: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
        """Add whatever must be computed over the whole file once (e.g. positions)."""
        return frame

    def build(self, frame: pd.DataFrame, columns: dict[str, str], ctx: Context,
              rejects: Rejects) -> list[Candidate]:
        raise NotImplementedError

    def detect(self, raw: RawTable, columns: dict[str, str]) -> list[str]:
        """Settle, once per file, how to read what was left to "auto"; the import report's
        notes on it (here: an encoding or delimiter other than the usual UTF-8 and comma)."""
        found = unusual_reading(raw)
        return [f"read as {', '.join(found)} (detected)"] if found else []

    def run(self, path: Path, *, data_dir: Path, settings: Settings,
            today: dt.date | None = None) -> FileResult:
        """Import one file (its header was checked by `columns`)."""
        digest = file_sha256(path)
        earlier = load_ledger(data_dir).find(digest, self.source)
        if earlier is not None:  # known bytes: skip before reading a line
            return FileResult(source=self.source, file=path.name, skipped=(
                f"identical to '{earlier.file}' imported {earlier.imported_at[:19]} "
                f"({earlier.rows_read:,} rows); nothing to do"))
        columns = self.columns(path)
        ctx = Context(data_dir, settings, today or settings.today(), self.source, path.name)
        rejects = Rejects()

        def build(frame: pd.DataFrame, ctx: Context, rejects: Rejects) -> list[Candidate]:
            ctx.notes.extend(notes)
            return self.build(frame, columns, ctx, rejects)

        with tempfile.TemporaryDirectory(prefix="playbook-rows-") as folder, \
                self._arrow_pool(path):
            self._scratch = Path(folder)
            try:
                with import_step("reading it", path.name):
                    raw, notes = self.read(path, columns, digest, ctx, rejects)
                return run_import(raw, build, source=self.source, data_dir=data_dir,
                                  settings=settings, today=today, rejects=rejects)
            finally:
                self._scratch = None

    system_pool = False  # a large file's Arrow memory from the system allocator (see below)

    @contextlib.contextmanager
    def _arrow_pool(self, path: Path) -> Iterator[None]:
        """For a large file of an importer with `system_pool`, Arrow allocates from the
        system during this import (the default pool is put back after it), and glibc maps
        large blocks on their own (`map_large_blocks`).

        Arrow's own allocator keeps what typed batches and SQL results free; the system's
        hands it back between stages (a 205 MB mapped CSV peaked at 651 MB instead of
        735-756 MB, then about 590 MB with large blocks mapped), while a Shopify export did
        worse with it (860 MB against 637 MB)."""
        if not (self.system_pool and path.stat().st_size >= RELEASE_FROM_BYTES):
            yield
            return
        default = pa.default_memory_pool()
        pa.set_memory_pool(pa.system_memory_pool())
        map_large_blocks()
        try:
            yield
        finally:
            pa.set_memory_pool(default)

    def read(self, path: Path, columns: dict[str, str], digest: str, ctx: Context,
             rejects: Rejects) -> tuple[RawTable, list[str]]:
        """The file's rows as `build` takes them, and the report's notes on the reading
        (here: the kept columns as text, `prepare`d)."""
        wanted = set(columns.values())
        raw = read_text_table(path, encoding=self.encoding, delimiter=self.delimiter,
                              keep=lambda name: name in wanted, skip_lines=self.skip_lines,
                              sha256=digest, dictionary=self.dictionary)
        raw.frame = self.prepare(raw.frame, columns)
        return raw, self.detect(raw, columns)


def unusual_reading(raw: RawTable) -> list[str]:
    """The delimiter and encoding "auto" found, when not the usual comma and UTF-8."""
    found = []
    if raw.detected.get("delimiter", ",") != ",":
        found.append(f"{delimiter_name(raw.delimiter)}-separated")
    if raw.detected.get("encoding", "utf-8") != "utf-8":
        found.append(f"{raw.encoding} text")
    return found


def reject_bad(rejects: Rejects, frame: pd.DataFrame, bad: pd.Series, *, column: str,
               raw: pd.Series, rule: str, expected: str) -> None:
    """Reject the rows where `bad` is true, quoting the raw value and what was expected."""
    if not bad.any():
        return
    from opslib.ingest.readers import LINE

    values = raw[bad]
    rejects.add(frame.loc[bad, LINE], column=column, raw=values, rule=rule,
                message=values.map(lambda v: f"'{column}' = '{v}' is not {expected}"))


def reject_parsed(rejects: Rejects, frame: pd.DataFrame, parsed: Parsed, mask: pd.Series, *,
                  column: str, raw: pd.Series, rule: str, expected: str) -> None:
    """Reject the rows under `mask` whose value could not be read (`rule`), is 'inf' or
    'NaN' (`not_a_number`) or a number beyond the accepted range (`out_of_range`, naming
    the range)."""
    none = pd.Series(False, index=frame.index)
    over = (parsed.out_of_range if parsed.out_of_range is not None else none) & mask
    infinite = (parsed.not_finite if parsed.not_finite is not None else none) & mask
    if parsed.limit is not None:
        reject_bad(rejects, frame, over, column=column, raw=raw, rule="out_of_range",
                   expected=f"within the accepted range {range_text(parsed.limit)}")
    reject_bad(rejects, frame, infinite, column=column, raw=raw, rule="not_a_number",
               expected=f"a finite number ({expected})")
    reject_bad(rejects, frame, parsed.bad & mask & ~over & ~infinite, column=column, raw=raw,
               rule=rule, expected=expected)
