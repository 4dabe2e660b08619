"""Rejected rows: one row per rejected input row, kept in data/rejected/ as Parquet.

Every rejected row says where it came from (source file and line), which column and raw
value failed, the rule it broke and a message saying how to fix it. A row that breaks
several rules is listed once, with the first rule found.

>>> import pandas as pd
>>> r = Rejects()
>>> r.add(pd.Series([7, 9]), column="Created at", raw=pd.Series(["31/02/2024", "x"]),
...       rule="not_a_date", message="not a date")
>>> r.add(pd.Series([9]), column="Total", raw=pd.Series(["-1"]), rule="negative_amount",
...       message="below zero")
>>> sorted(r.lines), r.count
([7, 9], 2)
>>> r.frame()["rule"].tolist()
['not_a_date', 'not_a_date']
"""

from __future__ import annotations

import io
from collections.abc import Iterable

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["Rejects", "REJECT_COLUMNS", "REJECTED_DIR", "rejected_file_bytes", "read_rejected"]

REJECTED_DIR = "rejected"
REJECT_COLUMNS = ("line", "column", "raw_value", "rule", "message")
_FILE_SCHEMA = pa.schema([
    ("imported_at", pa.timestamp("us", tz="UTC")),
    ("source", pa.string()),
    ("source_file", pa.string()),
    ("line", pa.int64()),
    ("column", pa.string()),
    ("raw_value", pa.string()),
    ("rule", pa.string()),
    ("message", pa.string()),
])


class Rejects:
    """Collects rejected input rows; the first rule a line breaks is the one kept."""

    def __init__(self) -> None:
        self._parts: list[pd.DataFrame] = []
        self._lines: set[int] = set()

    def add(self, lines: pd.Series | Iterable[int], *, column: str | None,
            raw: pd.Series | Iterable[object] | None, rule: str,
            message: str | pd.Series | Iterable[str]) -> None:
        """Reject `lines` (one value each in `raw` and, optionally, `message`)."""
        lines = pd.Series(list(lines) if not isinstance(lines, pd.Series) else lines.tolist(),
                          dtype="int64")
        if lines.empty:
            return
        raw_values = [None] * len(lines) if raw is None else \
            [None if _missing(v) else str(v) for v in (raw.tolist() if isinstance(raw, pd.Series)
                                                        else list(raw))]
        messages = [message] * len(lines) if isinstance(message, str) else list(message)
        part = pd.DataFrame({"line": lines.to_numpy(), "column": column, "raw_value": raw_values,
                             "rule": rule, "message": messages})
        part = part[~part["line"].isin(self._lines)].drop_duplicates("line")
        self._lines.update(part["line"].tolist())
        self._parts.append(part)

    @property
    def lines(self) -> set[int]:
        return set(self._lines)

    @property
    def count(self) -> int:
        return len(self._lines)

    def frame(self) -> pd.DataFrame:
        """Every rejected row, in line order."""
        if not self._parts:
            return pd.DataFrame({c: pd.Series(dtype="int64" if c == "line" else "object")
                                 for c in REJECT_COLUMNS})
        return pd.concat(self._parts, ignore_index=True).sort_values("line",
                                                                     ignore_index=True)

    def by_rule(self) -> dict[str, int]:
        """How many rows each rule rejected."""
        counts = self.frame()["rule"].value_counts()
        return {str(k): int(v) for k, v in counts.items()}


def _missing(value: object) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def rejected_file_bytes(rejects: pd.DataFrame, *, source: str, source_file: str,
                        imported_at: pd.Timestamp) -> bytes:
    """The Parquet file of one import's rejected rows."""
    frame = rejects.assign(imported_at=imported_at, source=source, source_file=source_file)
    table = pa.Table.from_pandas(frame[list(_FILE_SCHEMA.names)], preserve_index=False)
    buffer = io.BytesIO()
    pq.write_table(table.cast(_FILE_SCHEMA), buffer)
    return buffer.getvalue()


def read_rejected(data_dir) -> pd.DataFrame:
    """Every rejected row kept in data/rejected/ (empty frame if none)."""
    from pathlib import Path

    files = sorted((Path(data_dir) / REJECTED_DIR).rglob("*.parquet"))
    if not files:
        return pd.DataFrame(columns=list(_FILE_SCHEMA.names))
    return pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True)

