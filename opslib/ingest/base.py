"""What every file importer has: a name, the columns it reads, a way to build rows."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pandas as pd

from opslib.config import Settings
from opslib.ingest.columns import Want, resolve_columns
from opslib.ingest.engine import Candidate, Context, run_import
from opslib.ingest.ledger import load_ledger
from opslib.ingest.readers import ImportFileError, detect_encoding, file_sha256, \
    read_text_table, sniff_delimiter
from opslib.ingest.rejects import Rejects
from opslib.ingest.report import FileResult

__all__ = ["FileImporter", "read_header"]


def read_header(path: Path, *, encoding: str = "auto", delimiter: str = "auto",
                skip_lines: int = 0) -> list[str]:
    """The header row of a delimited file (cleaned of BOM and non-breaking spaces)."""
    chosen = detect_encoding(path) if encoding == "auto" else encoding
    try:
        with open(path, encoding=chosen, newline="") as handle:
            for _ in range(skip_lines):
                handle.readline()
            start = handle.tell()
            first = handle.readline()
            if not first.strip():
                raise ImportFileError(f"file '{path.name}' is empty or starts with a blank "
                                      "line", file=str(path), line=1,
                                      fix="Export the file again with its header row first.")
            handle.seek(start)
            sep = sniff_delimiter(first) if delimiter == "auto" else delimiter
            header = next(csv.reader(handle, delimiter=sep))
    except UnicodeDecodeError as err:
        raise ImportFileError(f"file '{path.name}' is not valid {chosen} text",
                              file=str(path), fix="Set the encoding in the mapping's [read] "
                              "section.") from err
    return [h.replace("\ufeff", "").replace("\xa0", " ").strip() for h in header]


class FileImporter:
    """Base class: subclasses set `source`, `what`, `spec` and implement `build`."""

    source: str = ""
    what: str = ""
    spec: dict[str, Want] = {}
    encoding: str = "auto"
    delimiter: str = "auto"
    skip_lines: int = 0

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
        wanted = set(columns.values())
        raw = read_text_table(path, encoding=self.encoding, delimiter=self.delimiter,
                              keep=lambda name: name in wanted, skip_lines=self.skip_lines,
                              sha256=digest)
        raw.frame = self.prepare(raw.frame, columns)

        def build(frame: pd.DataFrame, ctx: Context, rejects: Rejects) -> list[Candidate]:
            return self.build(frame, columns, ctx, rejects)

        return run_import(raw, build, source=self.source, data_dir=data_dir,
                          settings=settings, today=today)


def reject_bad(rejects: Rejects, frame: pd.DataFrame, bad: pd.Series, *, column: str,
               raw: pd.Series, rule: str, expected: str) -> None:
    """Reject the rows where `bad` is true, quoting the raw value and what was expected."""
    if not bad.any():
        return
    from opslib.ingest.readers import LINE

    values = raw[bad]
    rejects.add(frame.loc[bad, LINE], column=column, raw=values, rule=rule,
                message=values.map(lambda v: f"'{column}' = '{v}' is not {expected}"))
