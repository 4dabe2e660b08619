"""Tiny hand-built stores for metric tests (helpers; the fixture is in conftest.py).

`tiny_store({"orders": [{...}], ...})` writes each table with `write_table` into a fresh
folder and opens it; columns a test does not care about get neutral defaults (empty where
the contract allows it, the first allowed value, 0, or False; an order is paid).
`at("2025-06-01 23:30")` turns a local wall-clock time in the test store's zone
(Europe/London) into UTC.
"""

from __future__ import annotations

import pandas as pd

from opslib.config import Settings
from opslib.schema import TABLES
from opslib.store import Store
from opslib.tables import write_table

ZONE = "Europe/London"

_DEFAULTS = {"text": "x", "int": 1, "money": 0.0, "float": 0.0, "bool": False}
# Where the first allowed value is not neutral: an order is paid unless a test says not.
_NEUTRAL = {("orders", "financial_status"): "paid"}


def at(local: str | None, zone: str = ZONE) -> pd.Timestamp | None:
    """A local wall-clock time ('2025-06-01 23:30') in `zone`, as a UTC timestamp."""
    if local is None:
        return None
    return pd.Timestamp(local).tz_localize(zone).tz_convert("UTC")


def _frame(name: str, rows: list[dict]) -> pd.DataFrame:
    table = TABLES[name]
    unknown = {key for row in rows for key in row} - set(table.column_names)
    if unknown:
        raise KeyError(f"{name} has no column(s) {sorted(unknown)}")
    records = []
    for row in rows:
        record = {}
        for column in table.columns:
            if column.name in row:
                value = row[column.name]
            elif column.nullable:
                value = None
            elif (name, column.name) in _NEUTRAL:
                value = _NEUTRAL[name, column.name]
            elif column.allowed:
                value = column.allowed[0]
            elif column.type in ("timestamp", "date"):
                raise KeyError(f"{name}.{column.name} needs a value in the test")
            else:
                value = _DEFAULTS[column.type]
            if column.type == "date" and value is not None:
                value = pd.Timestamp(value).date()
            record[column.name] = value
        records.append(record)
    frame = pd.DataFrame(records, columns=table.column_names)
    for column in table.columns:
        if column.type == "timestamp":
            frame[column.name] = pd.to_datetime(frame[column.name], utc=True)
    return frame


def build_store(data_dir, tables: dict[str, list[dict]], **settings) -> Store:
    """Write the tables into data_dir and open it with Europe/London settings (+ overrides)."""
    for name, rows in tables.items():
        write_table(data_dir, name, _frame(name, rows))
    data_dir.mkdir(parents=True, exist_ok=True)
    raw: dict = {"store": {"name": "Tiny Shop", "timezone": ZONE, "currency": "GBP"}}
    for section, values in settings.items():
        raw.setdefault(section, {}).update(values)
    return Store.open(data_dir, Settings.from_dict(raw))
