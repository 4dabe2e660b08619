"""PostgreSQL: a shop whose data already lives in a database.

`Store.connect(url)` (opslib.store.connect_database) opens an Ibis PostgreSQL backend, so
the same metric code runs on it; `copy_from_database` copies the canonical tables found there
into the data folder, through the same checks, upserts and ledger as file imports (each table
in its own all-or-nothing step, parents before the tables that refer to them);
`copy_to_database` writes a data folder's tables into a database.

Needs the `postgres` extra: pip install "store-ops-playbook[postgres]".
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pyarrow as pa

from opslib.config import Settings
from opslib.errors import DatabaseError, SchemaViolation
from opslib.ingest.engine import LINES, Candidate, Context, run_import
from opslib.ingest.readers import LINE, RawTable
from opslib.ingest.rejects import Rejects
from opslib.ingest.report import FileResult
from opslib.schema import TABLES, read_for_validation, table_path
from opslib.store import connect_database, redact_url, with_late_columns
from opslib.tables import to_arrow

__all__ = ["connect_database", "copy_from_database", "copy_to_database", "redact_url",
           "DatabaseError"]

SOURCE = "postgres"


def copy_to_database(data_dir: str | Path, url: str, *,
                     tables: tuple[str, ...] | None = None) -> dict[str, int]:
    """Write the data folder's canonical tables into the database (replacing them).

    Returns the rows written per table. Tables are dropped and created again, because
    `create_table(..., overwrite=True)` is not reliable on PostgreSQL with some Ibis and
    sqlglot versions.
    """
    con = connect_database(url)
    written: dict[str, int] = {}
    try:
        for name in tables or tuple(TABLES):
            path = table_path(Path(data_dir), name)
            if not path.exists():
                continue
            arrow = to_arrow(name, read_for_validation(path))
            con.raw_sql(f'DROP TABLE IF EXISTS "{name}"')
            con.create_table(name, arrow)
            written[name] = arrow.num_rows
    finally:
        con.disconnect()
    return written


def _content_hash(table: pa.Table) -> str:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()


def copy_from_database(url: str, *, data_dir: Path, settings: Settings) -> list[FileResult]:
    """Import every canonical table present in the database into data_dir.

    Each table goes through the contract checks (bad rows are rejected with their row
    number, counted from 1 in key order), is upserted on its key, recorded in the ledger
    (an unchanged table is skipped) and written all or nothing.
    """
    con = connect_database(url)
    shown = redact_url(url)
    results: list[FileResult] = []
    try:
        present = set(con.list_tables())
        found = [name for name in TABLES if name in present]
        if not found:
            raise DatabaseError(f"database '{shown}' has none of the canonical tables",
                                expected=", ".join(list(TABLES)[:5]) + ", ...",
                                found=", ".join(sorted(present)[:10]) or "no tables",
                                fix="Create views with the canonical names and columns "
                                    "(docs/data-contract.md) over your own tables.")
        for name in found:
            results.append(_copy_table(con, name, shown, data_dir, settings))
    finally:
        con.disconnect()
    return results


def _copy_table(con, name: str, shown: str, data_dir: Path, settings: Settings) -> FileResult:
    table = with_late_columns(name, con.table(name))
    missing = [c for c in TABLES[name].column_names if c not in table.columns]
    if missing:
        raise SchemaViolation(name, column=missing[0], what=(
            f"database '{shown}' table '{name}' lacks column(s) {', '.join(missing)} (columns "
            f"found: {', '.join(table.columns)})"), fix="Add the columns (or a view that "
            "provides them) and import again. Nothing was imported.")
    arrow = table.select(*TABLES[name].column_names).order_by(list(TABLES[name].key)) \
        .to_pyarrow()
    try:
        frame = to_arrow(name, arrow).to_pandas()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as err:
        raise SchemaViolation(name, what=f"database '{shown}' table '{name}' has a column of "
                              f"the wrong type ({err})", fix="Cast the column to the type "
                              "docs/data-contract.md gives (timestamps with time zone, dates, "
                              "numbers). Nothing was imported.") from err
    frame[LINE] = range(1, len(frame) + 1)
    raw = RawTable(path=Path(f"{name}"), sha256=_content_hash(arrow), encoding="",
                   delimiter="", header=list(frame.columns), frame=frame[[LINE]])
    origin = {c: f"{name}.{c}" for c in TABLES[name].column_names}
    merge = "replace_orders" if name == "order_lines" else "upsert"

    def build(kept: pd.DataFrame, ctx: Context, rejects: Rejects) -> list[Candidate]:
        rows = frame[frame[LINE].isin(kept[LINE])]
        rows = rows.assign(**{LINES: rows[LINE].map(lambda n: [n])}).drop(columns=[LINE])
        return [Candidate(name, rows.reset_index(drop=True), merge=merge, origin=origin)]

    result = run_import(raw, build, source=SOURCE, data_dir=data_dir, settings=settings,
                        keep_raw=False)
    result.file = f"{shown} table {name}"
    return result
