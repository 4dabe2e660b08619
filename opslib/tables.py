"""Writing canonical tables: contract types, time-sorted, partitioned by month, atomic.

A table with a time column is written as a folder of monthly Parquet parts, each sorted by
time with modest row groups, so a one-day query reads one part's matching row groups only.
Every write goes to a temporary name first and is renamed into place, so a reader never sees
a half-written table.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from opslib.schema import TABLES, table_path

__all__ = ["to_arrow", "write_table", "append_part", "ROW_GROUP_SIZE"]

ROW_GROUP_SIZE = 50_000


def to_arrow(name: str, frame: pd.DataFrame | pa.Table) -> pa.Table:
    """Cast a frame to the contract's Arrow schema, columns in contract order."""
    schema = TABLES[name].arrow_schema()
    if isinstance(frame, pd.DataFrame):
        frame = pa.Table.from_pandas(frame[schema.names], preserve_index=False)
    return frame.select(schema.names).cast(schema)


def _month_parts(name: str, table: pa.Table) -> Iterator[tuple[str, pa.Table]]:
    """(part name, rows) per month, each sorted by time: one month's rows are copied at
    a time (sorting the whole table would hold it twice)."""
    column = TABLES[name].time_column
    if column is None or table.num_rows == 0:
        yield "part-all", table
        return
    values = table[column]
    if pa.types.is_timestamp(values.type):
        values = pc.cast(values, pa.timestamp("us"))  # UTC wall time: stable month keys
    months = pc.strftime(values, format="%Y-%m")
    order = pc.sort_indices(pa.table({"month": months, "time": table[column]}),
                            sort_keys=[("month", "ascending"), ("time", "ascending")])
    counts = pc.value_counts(months.take(order))  # months in sorted order, undated last
    start = 0
    for month, count in zip(counts.field(0).to_pylist(), counts.field(1).to_pylist()):
        label = "undated" if month is None else month
        yield f"part-{label}", table.take(order.slice(start, count))
        start += count


def write_table(data_dir: str | Path, name: str, frame: pd.DataFrame | pa.Table) -> Path:
    """Replace data/tables/<name>.parquet with `frame`, atomically; return its path."""
    target = table_path(Path(data_dir), name)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex[:8]}")
    staging.mkdir()
    try:
        for part, data in _month_parts(name, to_arrow(name, frame)):
            pq.write_table(data, staging / f"{part}.parquet", row_group_size=ROW_GROUP_SIZE)
        _swap_into_place(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def append_part(data_dir: str | Path, name: str, frame: pd.DataFrame | pa.Table,
                part: str) -> Path:
    """Add (or replace) one named part of a folder table, atomically (temp file + rename)."""
    target = table_path(Path(data_dir), name)
    target.mkdir(parents=True, exist_ok=True)
    final = target / f"{part}.parquet"
    temp = target / f".{part}.parquet.tmp-{uuid.uuid4().hex[:8]}"
    try:
        pq.write_table(to_arrow(name, frame), temp, row_group_size=ROW_GROUP_SIZE)
        os.replace(temp, final)
    finally:
        temp.unlink(missing_ok=True)
    return final


def _swap_into_place(staging: Path, target: Path) -> None:
    """Rename `staging` to `target`, keeping the old table until the new one is in place."""
    if not target.exists():
        os.replace(staging, target)
        return
    retired = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
    os.replace(target, retired)
    try:
        os.replace(staging, target)
    except OSError:
        os.replace(retired, target)
        raise
    if retired.is_dir():
        shutil.rmtree(retired, ignore_errors=True)
    else:
        retired.unlink(missing_ok=True)
