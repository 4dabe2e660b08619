"""Empty CSV templates for what an owner keeps by hand, importable without a mapping.

The header is the canonical table's columns, so `playbook import csv FILE` recognises the
file by its header and needs no mapping.

>>> import tempfile, pathlib
>>> path = write_template("promotions", pathlib.Path(tempfile.mkdtemp()) / "p.csv")
>>> path.read_text(encoding="utf-8").strip()
'promo_code,name,starts_at,ends_at,kind,value'
>>> table_for_header(["promo_code", "name", "starts_at", "ends_at", "kind", "value"])
'promotions'
"""

from __future__ import annotations

import csv
from pathlib import Path

from opslib.errors import BadParameter
from opslib.schema import TABLES

__all__ = ["TEMPLATE_TABLES", "write_template", "table_for_header"]

TEMPLATE_TABLES = ("content_calendar", "purchase_orders", "competitor_prices", "promotions")


def write_template(table: str, path: Path) -> Path:
    """Write `path`: a CSV with only the header of `table` (UTF-8, comma separated)."""
    if table not in TEMPLATE_TABLES:
        raise BadParameter(f"no template for '{table}'",
                           expected=f"one of {', '.join(TEMPLATE_TABLES)}", found=table,
                           fix="Other tables come from exports: see docs/data-sources.md.")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerow(TABLES[table].column_names)
    return path


def table_for_header(header: list[str]) -> str | None:
    """The canonical table whose columns are exactly this header (any order), if any; a
    header written before a late column existed (see schema.Column.late) still matches.

    >>> table_for_header(["order_id", "line_number", "sku", "quantity", "unit_price",
    ...                   "discount_amount", "created_at"])
    'order_lines'
    """
    wanted = {h.strip() for h in header}
    for name, table in TABLES.items():
        late = {c.name for c in table.columns if c.late}
        if set(table.column_names) - late <= wanted <= set(table.column_names):
            return name
    return None
