"""Import: `playbook import shopify-orders` of a 1,000,000-line Shopify orders export.

The file is written once from the large demo store (its most recent whole orders until
the line count is reached) in Shopify's own shape (`opslib.ingest.export`), and kept in
the work folder. Two sides, alternating, each into a fresh empty data folder:

* **import**: the real command, which checks every value against the data contract, keeps
  rejects, updates the ledger and writes the tables atomically;
* **bare read**: the floor any importer pays, `pandas.read_csv` of the file as text and
  `to_parquet` of it unchanged (no checks, no canonical tables).

With `--superstore SAMPLE` the same two sides are also measured for a flat CSV through a
mapping: the Superstore sample repeated with distinct order ids to about 200 MB, through
examples/mappings/superstore.toml.

The import must account for every row (rows read = loaded + rejected + duplicates) and
both sides must have read the same number of rows before the timings count. Peak memory
is that of the whole process tree.
"""

from __future__ import annotations

import csv
import re
import shutil
import sys
import tempfile
from pathlib import Path

import pandas as pd

from benchmarks.common import Measured, alternate, measure, playbook, spread

BARE_READ = """
import sys, pandas as pd
frame = pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False)
frame.to_parquet(sys.argv[2])
print(len(frame))
"""


def shopify_file(work: Path, store: Path, lines: int, zone: str) -> Path:
    """A Shopify orders CSV of exactly `lines` line rows (whole orders), made once."""
    from opslib.ingest.export import export_shopify_orders

    path = work / f"shopify-orders-{lines}.csv"
    if path.exists():
        return path
    print(f"writing a {lines:,}-line Shopify orders export ...", flush=True)
    tables = {name: pd.read_parquet(store / "tables" / f"{name}.parquet")
              for name in ("orders", "order_lines", "returns", "shipments", "products",
                           "customers")}
    order_lines = tables["order_lines"].sort_values(["created_at", "order_id", "line_number"])
    per_order = order_lines.groupby("order_id", sort=False).size()
    recent = per_order.iloc[::-1].cumsum()
    chosen = recent[recent <= lines].index
    if recent[recent <= lines].iloc[-1] != lines:
        # Fill up to the exact count with the first lines of the next order.
        extra = recent.index[len(chosen)]
        missing = lines - int(recent[recent <= lines].iloc[-1])
        head = order_lines[order_lines.order_id == extra].head(missing)
    else:
        head = order_lines.iloc[:0]
    keep = set(chosen) | set(head.order_id)
    tables["order_lines"] = pd.concat([order_lines[order_lines.order_id.isin(chosen)], head])
    for name in ("orders", "returns", "shipments"):
        tables[name] = tables[name][tables[name].order_id.isin(keep)]
    partial = path.with_suffix(".partial")
    export_shopify_orders(tables, partial, zone=zone)
    partial.rename(path)
    return path


SUPERSTORE_COPIES = 92  # about 200 MB and 920,000 lines
SUPERSTORE_MAPPING = Path(__file__).resolve().parents[1] / "examples" / "mappings" / \
    "superstore.toml"


def superstore_file(work: Path, sample: Path, copies: int = SUPERSTORE_COPIES) -> Path:
    """The Superstore sample repeated `copies` times, each copy with its own order ids and
    row ids, made once."""
    path = work / f"superstore-x{copies}.csv"
    if path.exists():
        return path
    with open(sample, encoding="utf-8", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    order, row_id = header.index("Order ID"), header.index("Row ID")
    partial = path.with_suffix(".partial")
    with open(partial, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        count = 0
        for copy in range(copies):
            for row in rows:
                count += 1
                prefix, _, number = row[order].rpartition("-")
                writer.writerow([str(count) if i == row_id else
                                 f"{prefix}-{copy:02d}{number}" if i == order else value
                                 for i, value in enumerate(row)])
    partial.rename(path)
    return path


def _import(file: Path, work: Path, args: tuple[str, ...]) -> tuple[Measured, int]:
    data = Path(tempfile.mkdtemp(prefix="bench-import-", dir=work))
    try:
        measured = measure(playbook("import", *args, str(file), "--data", str(data)))
        read = re.search(r"rows read ([\d,]+) = loaded ([\d,]+) \+ rejected ([\d,]+)",
                         measured.stdout)
        if not read or "✓" not in measured.stdout:
            raise SystemExit(f"the import did not account for every row:\n{measured.stdout}")
        measured.stdout = read.group(0)  # what the report quotes
        return measured, int(read.group(1).replace(",", ""))
    finally:
        shutil.rmtree(data, ignore_errors=True)


def _bare(file: Path, work: Path) -> tuple[Measured, int]:
    out = Path(tempfile.mkdtemp(prefix="bench-bare-", dir=work))
    try:
        measured = measure([sys.executable, "-c", BARE_READ, str(file),
                            str(out / "lines.parquet")])
        return measured, int(measured.stdout.strip())
    finally:
        shutil.rmtree(out, ignore_errors=True)


def compare(file: Path, *, work: Path, reps: int, mapping: Path | None = None):
    """Both sides on `file`: a Shopify orders export, or a CSV through `mapping`."""
    args = ("csv", "--mapping", str(mapping)) if mapping else ("shopify-orders",)
    sides = {"import": lambda rep: _import(file, work, args),
             "bare read": lambda rep: _bare(file, work)}
    return alternate(sides, reps, label="import")


def report(sides, *, file: Path, lines: int, reps: int) -> str:
    """The Markdown section: time, rows per second, and peak memory also as a multiple of
    the file's size (the target: an import peaks at no more than 3× the file)."""
    size = file.stat().st_size / 2**20
    rows = ["| side | wall time, s | rows per second | peak memory of the process tree "
            "(PSS / Σ RSS), MB | peak PSS ÷ file size |", "|---|---|---|---|---|"]
    for side in ("import", "bare read"):
        seconds = sides.seconds(side)
        rows.append(f"| {side} | {spread(seconds)} | {lines / sides.median(side):,.0f} | "
                    f"{sides.peak_pss(side):,.0f} / {sides.peak_rss(side):,.0f} | "
                    f"{sides.peak_pss(side) / size:.1f}× |")
    accounted = sides.runs["import"][-1].stdout
    return "\n".join([
        f"File: {lines:,} line rows, {size:,.0f} MB; {reps} "
        f"repetitions, alternating; every import: {accounted}.", "", *rows, "",
        f"* import ÷ bare read: {sides.median('import') / sides.median('bare read'):.1f}× "
        f"the time, {sides.peak_pss('import') / sides.peak_pss('bare read'):.1f}× the memory"])
