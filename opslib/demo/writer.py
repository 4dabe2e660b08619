"""Writing the demo store: month by month into a staging folder, then swapped into place.

Tables generated month by month (orders, lines, shipments...) are buffered only until their
UTC month is complete and then written as that month's Parquet part (`part-YYYY-MM`, rows
sorted by the table's time column), the same layout `opslib.tables.write_table` produces.
So memory holds at most about two months of rows, whatever the store's size. Whole-history
tables are written with `write_table`. Nothing appears in `data_dir/tables` until every
table is complete: the staging folder then replaces it in two renames, under the data
folder's lock (`opslib.datalock`); a demo killed between them is put right by `recover`.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from opslib.datalock import data_lock
from opslib.ingest.commit import DEMO_RETIRED, recover
from opslib.schema import TABLES
from opslib.tables import append_part, write_table

__all__ = ["StagedStore"]


class StagedStore:
    """A staging folder for a whole store; use as a context manager (removed on error)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.root = self.data_dir / f".demo-staging-{uuid.uuid4().hex[:8]}"
        self.counts: dict[str, int] = {}
        self._pending: dict[str, list[pd.DataFrame]] = {}

    def __enter__(self) -> "StagedStore":
        self.root.mkdir(parents=True)
        return self

    def __exit__(self, kind, error, trace) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def add(self, name: str, frame: pd.DataFrame) -> None:
        """Buffer rows of a month-by-month table until their month is flushed."""
        self._pending.setdefault(name, []).append(frame)
        self.counts[name] = self.counts.get(name, 0) + len(frame)

    def flush(self, *, before: np.datetime64 | None = None) -> None:
        """Write every buffered row whose month is before `before` (all rows if None)."""
        for name, frames in self._pending.items():
            if not frames:
                continue
            frame = pd.concat(frames, ignore_index=True)
            column = TABLES[name].time_column
            month = _months(frame[column])
            done = np.ones(len(frame), bool) if before is None else month < before
            for key in np.unique(month[done]):
                part = frame[month == key].sort_values(column, kind="stable")
                append_part(self.root, name, part, f"part-{key}")
            self._pending[name] = [frame[~done]] if (~done).any() else []

    def write(self, name: str, frame: pd.DataFrame) -> None:
        """Write a whole-history table at once."""
        write_table(self.root, name, frame)
        self.counts[name] = len(frame)

    def commit(self) -> dict[str, int]:
        """Flush everything and put the staged tables in place of data_dir/tables.

        The swap holds the data folder's lock (waiting for an import to finish) and first
        undoes an interrupted import, whose journal would otherwise later act on these tables.
        """
        self.flush()
        staged = self.root / "tables"
        target = self.data_dir / "tables"
        with data_lock(self.data_dir, "demo store swap (playbook demo)"):
            recover(self.data_dir)
            retired = self.data_dir / f"{DEMO_RETIRED}{uuid.uuid4().hex[:8]}"
            if target.exists():
                os.replace(target, retired)
            os.replace(staged, target)
            shutil.rmtree(retired, ignore_errors=True)
        return {name: self.counts[name] for name in TABLES}


def _months(values: pd.Series) -> np.ndarray:
    """The month (`datetime64[M]`, UTC for timestamps) of each value of a time column."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    return values.to_numpy("datetime64[us]").astype("datetime64[M]")
