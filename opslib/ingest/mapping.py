"""Any CSV into any canonical table, through a mapping file (TOML).

A mapping says how to read the file ([read]: encoding, delimiter, decimal separator, date
order, time zone), what each source column is ([columns]: type, formats, which texts mean
"missing"), which rows to refuse ([[checks]]: a rule each row must pass) and how to build
each canonical table ([tables.<name>]: one SQL expression per canonical column, evaluated
by the embedded DuckDB over the typed source rows). A table with `group_by` has one row per
group, so a flat file of order lines also gives orders, customers and products.

```toml
name = "tickets"
[read]
dates = "day-first"
[columns]
"Ticket" = "text"
"Opened" = "timestamp"
[tables.tickets.columns]
ticket_id = '"Ticket"'
created_at = '"Opened"'
channel = "'email'"
```

In expressions, `source` is the file itself (for look-ups across rows), `store.<table>` is
the table already imported (empty when absent), `country_code(text)` turns a country name
into its ISO code, and `store_currency()` is the currency of playbook.toml.
docs/data-sources.md documents every key.
"""

from __future__ import annotations

import contextlib
import functools
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from opslib.errors import MissingFileError
from opslib.ingest.base import FileImporter, reject_parsed, unusual_reading
from opslib.ingest.columns import Want
from opslib.ingest.engine import LINES, Candidate, Context, release_memory, without_rejected
from opslib.ingest.parse import COUNT_LIMIT, DATE_ORDERS, clean_text, date_order_problem, \
    parse_bool, parse_date, parse_int, parse_number, parse_timestamp
from opslib.ingest.readers import LINE, ImportFileError, RawTable, RowsOnDisk, \
    TextBatches, detect_encoding, read_text_table, sniff_decimal
from opslib.ingest.rejects import Rejects
from opslib.schema import TABLES, TYPES, table_path

__all__ = ["Mapping", "MappingError", "MappingImporter", "load_mapping", "identity_mapping",
           "country_code", "COLUMN_TYPES", "SHIPPED_MAPPINGS", "mapping_path",
           "shipped_mapping_names"]

COLUMN_TYPES = ("text", "number", "int", "bool", "date", "timestamp")
MERGES = ("upsert", "replace_orders", "insert_missing")
_ARROW_TYPES = {"text": pa.string(), "number": pa.float64(), "int": pa.int64(),
                "bool": pa.bool_(), "date": pa.date32(), "timestamp": pa.timestamp("us", tz="UTC")}
_DEFAULT_MERGE = {"order_lines": "replace_orders"}
BATCH_ROWS = 50_000  # rows typed at a time
DUCKDB_MEMORY = "160MB"  # DuckDB's working memory in an import; beyond it, it spills


class MappingError(ImportFileError):
    """A mapping file is not valid (nothing was imported)."""


@dataclass(frozen=True)
class SourceColumn:
    name: str
    type: str = "text"
    formats: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    required: bool = True
    keep_apostrophe: bool = False
    headers: tuple[str, ...] = ()  # header names it may have, first found wins (default: name)


@dataclass(frozen=True)
class Check:
    name: str
    rule: str
    column: str | None
    message: str


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: dict[str, str]
    where: str | None = None
    group_by: tuple[str, ...] = ()
    merge: str = "upsert"
    primary: bool = True
    earliest: tuple[str, ...] = ()
    messages: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Mapping:
    """A parsed, checked mapping file."""

    name: str
    path: Path | None
    description: str
    encoding: str
    delimiter: str
    decimal: str
    dates: str
    timezone: str | None
    columns: dict[str, SourceColumn]
    checks: tuple[Check, ...]
    skip: tuple[str, str] | None  # (condition, reason)
    tables: dict[str, TableSpec]
    skip_lines: int = 0  # title lines above the header


def _fail(path: Path | str, what: str, fix: str) -> MappingError:
    return MappingError(f"mapping '{Path(path).name}': {what}", file=str(path), fix=fix)


# The example mappings, shipped with the package (examples/mappings/ in the repository).
SHIPPED_MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"


def shipped_mapping_names() -> list[str]:
    """The names `--mapping` accepts for the shipped mappings.

    >>> "superstore" in shipped_mapping_names()
    True
    """
    return sorted(p.stem for p in SHIPPED_MAPPINGS.glob("*.toml"))


def mapping_path(mapping: str | Path) -> Path:
    """A mapping file, or the shipped mapping of that name (with or without .toml).

    >>> mapping_path("superstore").name
    'superstore.toml'
    """
    path = Path(mapping)
    if path.is_file():
        return path
    shipped = SHIPPED_MAPPINGS / f"{path.name.removesuffix('.toml')}.toml"
    if path.parent == Path(".") and shipped.is_file():
        return shipped
    raise MissingFileError(f"mapping file '{path}' does not exist", file=str(path),
                           fix="Pass the path of a TOML mapping, or the name of a shipped one: "
                               f"{', '.join(shipped_mapping_names())}.")


def load_mapping(path: str | Path) -> Mapping:
    """Read and check a mapping file (or a shipped one, by name); MappingError names the
    key that is wrong.

    >>> sorted(load_mapping("superstore").tables)
    ['customers', 'order_lines', 'orders', 'products', 'shipments']
    """
    path = mapping_path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise _fail(path, f"not valid TOML ({err})", "Fix the syntax at the line shown.") \
            from err
    return mapping_from_dict(raw, path=path)


def mapping_from_dict(raw: dict, *, path: Path | None = None,
                      name: str | None = None) -> Mapping:
    """Build and check a mapping from parsed TOML."""
    where = path or Path(f"{name or 'mapping'}.toml")
    known = {"name", "description", "read", "columns", "checks", "skip", "tables"}
    unknown = set(raw) - known
    if unknown:
        raise _fail(where, f"unknown key '{sorted(unknown)[0]}'",
                    f"Use only {', '.join(sorted(known))}.")
    read = raw.get("read", {})
    read_keys = {"encoding", "delimiter", "decimal", "dates", "timezone", "skip_lines"}
    if set(read) - read_keys:
        raise _fail(where, f"unknown key 'read.{sorted(set(read) - read_keys)[0]}'",
                    f"[read] takes {', '.join(sorted(read_keys))}.")
    dates = read.get("dates", "auto")
    if dates not in DATE_ORDERS:
        raise _fail(where, f"read.dates = '{dates}' is not one of {', '.join(DATE_ORDERS)}",
                    "Say how dates like 03/04/2024 are written: day-first (3 April) or "
                    "month-first (4 March).")
    decimal = read.get("decimal", "auto")
    if decimal not in (".", ",", "auto"):
        raise _fail(where, f"read.decimal = '{decimal}' is not '.', ',' or 'auto'",
                    "Set the decimal separator of the file's numbers.")
    columns = {col: _source_column(where, col, spec) for col, spec in
               raw.get("columns", {}).items()}
    if not columns:
        raise _fail(where, "no [columns] section", "List the source columns the mapping "
                    "uses, with their types.")
    checks = tuple(_check(where, i, c) for i, c in enumerate(raw.get("checks", [])))
    skip = raw.get("skip")
    skip_pair = None
    if skip is not None:
        if not isinstance(skip, dict) or set(skip) != {"when", "reason"}:
            raise _fail(where, "[skip] needs exactly 'when' (a condition) and 'reason'",
                        "Example: when = 'starts_with(\"Type\", ''Transfer'')', reason = "
                        "'transfers between own accounts'.")
        skip_pair = (skip["when"], skip["reason"])
    tables = {t: _table(where, t, spec) for t, spec in raw.get("tables", {}).items()}
    if not tables:
        raise _fail(where, "no [tables.<name>] section", "Map the file to at least one "
                    "canonical table.")
    return Mapping(name=raw.get("name") or name or where.stem, path=path,
                   description=raw.get("description", ""), encoding=read.get("encoding", "auto"),
                   delimiter=read.get("delimiter", "auto"), decimal=decimal, dates=dates,
                   timezone=read.get("timezone"), columns=columns, checks=checks,
                   skip_lines=int(read.get("skip_lines", 0)),
                   skip=skip_pair, tables=tables)


def _source_column(where: Path, name: str, spec: object) -> SourceColumn:
    if isinstance(spec, str):
        spec = {"type": spec}
    if not isinstance(spec, dict):
        raise _fail(where, f"columns.\"{name}\" must be a type name or a table",
                    f"Write \"{name}\" = \"text\" or {{ type = \"date\", formats = [...] }}.")
    allowed = {"type", "formats", "missing", "required", "keep_apostrophe", "column"}
    if set(spec) - allowed:
        raise _fail(where, f"columns.\"{name}\" has unknown key "
                    f"'{sorted(set(spec) - allowed)[0]}'", f"Use {', '.join(sorted(allowed))}.")
    kind = spec.get("type", "text")
    if kind not in COLUMN_TYPES:
        raise _fail(where, f"columns.\"{name}\" type '{kind}' is not one of "
                    f"{', '.join(COLUMN_TYPES)}", "Pick the type of the source column.")
    headers = spec.get("column", name)
    headers = (headers,) if isinstance(headers, str) else tuple(headers)
    if not headers or not all(isinstance(h, str) and h.strip() for h in headers):
        raise _fail(where, f"columns.\"{name}\".column must be a header name or a list of them",
                    f"Example: column = [\"{name}\", \"Other name\"] (the first present "
                    "is read).")
    return SourceColumn(name, kind, tuple(spec.get("formats", ())),
                        tuple(spec.get("missing", ())), bool(spec.get("required", True)),
                        bool(spec.get("keep_apostrophe", False)), headers)


def _check(where: Path, index: int, spec: dict) -> Check:
    if not isinstance(spec, dict) or not {"name", "rule", "message"} <= set(spec):
        raise _fail(where, f"checks[{index}] needs name, rule and message",
                    "Example: name = \"ship_before_order\", rule = '\"Ship Date\" >= "
                    "\"Order Date\"', message = \"shipped before it was ordered\".")
    return Check(spec["name"], spec["rule"], spec.get("column"), spec["message"])


def _table(where: Path, name: str, spec: dict) -> TableSpec:
    if name not in TABLES:
        raise _fail(where, f"'{name}' is not a canonical table",
                    f"Use one of {', '.join(TABLES)}.")
    allowed = {"columns", "where", "group_by", "merge", "primary", "earliest", "messages"}
    if set(spec) - allowed:
        raise _fail(where, f"tables.{name} has unknown key '{sorted(set(spec) - allowed)[0]}'",
                    f"Use {', '.join(sorted(allowed))}.")
    columns = spec.get("columns", {})
    table = TABLES[name]
    unknown = [c for c in columns if c not in table.column_names]
    if unknown:
        raise _fail(where, f"tables.{name}.columns.{unknown[0]} is not a column of {name}",
                    f"{name} has: {', '.join(table.column_names)}.")
    missing = [c.name for c in table.columns if not c.nullable and c.name not in columns]
    if missing:
        raise _fail(where, f"tables.{name} does not map {', '.join(missing)}",
                    "Every column that may not be empty needs an expression (a source "
                    "column, a constant like 'paid', or a formula).")
    merge = spec.get("merge", _DEFAULT_MERGE.get(name, "upsert"))
    if merge not in MERGES:
        raise _fail(where, f"tables.{name}.merge = '{merge}' is not one of {', '.join(MERGES)}",
                    "upsert replaces rows with the same key; insert_missing only adds new "
                    "keys; replace_orders replaces all rows of the orders present.")
    group_by = spec.get("group_by", ())
    group_by = (group_by,) if isinstance(group_by, str) else tuple(group_by)
    return TableSpec(name, dict(columns), spec.get("where"), group_by, merge,
                     bool(spec.get("primary", True)), tuple(spec.get("earliest", ())),
                     dict(spec.get("messages", {})))


_CONTRACT_TO_SOURCE = {"text": "text", "int": "int", "money": "number", "float": "number",
                       "bool": "bool", "timestamp": "timestamp", "date": "date"}


def identity_mapping(table: str) -> Mapping:
    """The mapping of a CSV whose header is exactly the canonical columns of `table`
    (the files `playbook template` writes).

    >>> identity_mapping("promotions").tables["promotions"].columns["promo_code"]
    '"promo_code"'
    """
    spec = TABLES[table]
    columns = {c.name: SourceColumn(c.name, _CONTRACT_TO_SOURCE[c.type],
                                    required=not c.late)  # a file written before it lacks it
               for c in spec.columns}
    return Mapping(name=table, path=None, description=f"a {table} file in the playbook's own "
                   "columns", encoding="auto", delimiter="auto", decimal="auto",
                   dates="year-first", timezone=None, columns=columns, checks=(), skip=None,
                   tables={table: TableSpec(table, {c: f'"{c}"' for c in spec.column_names})})


@functools.cache
def _country_names() -> dict[str, str]:
    from babel import Locale

    names = {name.lower(): code for code, name in Locale("en").territories.items()
             if len(code) == 2 and code.isalpha()}
    names.update({code.lower(): code for code in list(names.values())})
    names.update({"usa": "US", "united states of america": "US", "u.s.a.": "US", "uk": "GB",
                  "great britain": "GB", "england": "GB", "scotland": "GB", "wales": "GB",
                  "northern ireland": "GB", "eire": "IE", "republic of ireland": "IE",
                  "rsa": "ZA", "czech republic": "CZ", "korea": "KR", "south korea": "KR",
                  "russia": "RU", "holland": "NL", "the netherlands": "NL",
                  "hong kong": "HK", "macau": "MO", "vietnam": "VN", "turkey": "TR"})
    return names


def country_code(name: str | None) -> str | None:
    """ISO 3166-1 alpha-2 code of a country name or code; None if unknown.

    >>> country_code("EIRE"), country_code("United Kingdom"), country_code("de")
    ('IE', 'GB', 'DE')
    >>> country_code("Channel Islands") is None
    True
    """
    if name is None:
        return None
    return _country_names().get(str(name).strip().lower())


class MappingImporter(FileImporter):
    """Imports a CSV through a `Mapping`."""

    what = "CSV file"
    system_pool = True  # measured: a large mapped file peaks lower (FileImporter._arrow_pool)

    def __init__(self, mapping: Mapping, *, source: str | None = None,
                 batch_rows: int = BATCH_ROWS) -> None:
        self.mapping = mapping
        self.source = source or f"csv-{mapping.name}"
        self.what = f"file for mapping '{mapping.name}'"
        self.encoding = mapping.encoding
        self.skip_lines = mapping.skip_lines
        self.delimiter = {"tab": "\t", "\\t": "\t"}.get(mapping.delimiter, mapping.delimiter)
        self.spec = {name: Want(col.headers or (name,), col.required)
                     for name, col in mapping.columns.items()}
        self.decimal = mapping.decimal
        self.orders: dict[str, str] = {}  # date column -> order, settled per file by `detect`
        self.batch_rows = batch_rows

    # -- reading: what the mapping leaves to "auto", decided once from the whole file -----
    def detect(self, raw: RawTable, columns: dict[str, str]) -> list[str]:
        found = unusual_reading(raw) + [f"column '{name}' from '{header}'" for name, header
                                        in columns.items() if header != name]
        # Each distinct value once, at its first row: the evidence is the same, and it is
        # far less to hold than the whole column.
        texts = {name: self._missing_as_empty(raw.frame[columns[name]], col).drop_duplicates()
                 for name, col in self.mapping.columns.items()
                 if name in columns and columns[name] in raw.frame}
        self.decimal = self.mapping.decimal
        numbers = {name: text for name, text in texts.items()
                   if self.mapping.columns[name].type in ("number", "int")}
        if self.mapping.decimal == "auto":
            self.decimal = self._sniff_decimal(raw, numbers)
            if self.decimal != ".":
                found.append("decimal comma")
        self.orders = {}
        for name, col in self.mapping.columns.items():
            if col.type in ("date", "timestamp") and name in texts and not col.formats:
                self.orders[name] = self._date_order(raw, name, texts[name])
                if self.mapping.dates == "auto":
                    found.append(f"'{name}' dates {self.orders[name]}")
        return [f"read as {', '.join(found)} (detected)"] if found else []

    @staticmethod
    def _missing_as_empty(raw: pd.Series, col: SourceColumn) -> pd.Series:
        return raw.where(~raw.str.strip().isin(col.missing), "") if col.missing else raw

    @staticmethod
    def _sniff_decimal(raw: RawTable, numbers: dict[str, pd.Series]) -> str:
        sniff = sniff_decimal(numbers, raw.frame[LINE])
        if sniff.decimal is not None:
            return sniff.decimal
        fix = "Set decimal = \".\" or \",\" under [read] in the mapping. Nothing was imported."
        if sniff.conflict is not None:
            (comma, column, line), (dot, other, other_line) = sniff.example, sniff.conflict
            raise ImportFileError(
                f"file '{raw.name}' writes numbers both ways: '{comma}' (line {line} column "
                f"'{column}') has a decimal comma, '{dot}' (line {other_line} column "
                f"'{other}') a decimal point", file=raw.name, line=line, column=column,
                fix=fix)
        value, column, line = sniff.example
        raise ImportFileError(
            f"file '{raw.name}' line {line} column '{column}': '{value}' could be a "
            "thousand-something or a number with three decimals, and no other number in the "
            "file shows the decimal mark", file=raw.name, line=line, column=column, fix=fix)

    def read(self, path: Path, columns: dict[str, str], digest: str, ctx: Context,
             rejects: Rejects) -> tuple[RawTable, list[str]]:
        """Decide what the mapping leaves to "auto" from a first pass over the columns it
        depends on, then read the file batch by batch, leaving out the rows `[skip]` names
        and typing the rest. The typed rows go to a Parquet file in the scratch folder, not
        to memory: DuckDB reads them from there (`build` checks again, as rows go)."""
        encoding = detect_encoding(path) if self.encoding == "auto" else self.encoding
        needed = {columns[name] for name, col in self.mapping.columns.items()
                  if name in columns and col.type in ("number", "int", "date", "timestamp")}
        probe = read_text_table(path, encoding=encoding, delimiter=self.delimiter,
                                keep=lambda header: header in needed,
                                skip_lines=self.skip_lines, sha256=digest)
        if self.encoding == "auto":
            probe.detected["encoding"] = probe.encoding
        notes = self.detect(probe, columns)
        probe.frame = None  # the columns read for detection are not needed any more
        wanted = set(columns.values())
        lines = []
        rows = RowsOnDisk(self._scratch / "rows.parquet")
        con = self._connect(ctx)
        try:
            with TextBatches(path, encoding=encoding, delimiter=probe.delimiter,
                             keep=lambda header: header in wanted, skip_lines=self.skip_lines,
                             rows=self.batch_rows) as batches, \
                    contextlib.ExitStack() as stack:
                writer = None
                for batch in batches:
                    frame = batch.to_pandas()
                    lines.append(frame[LINE].to_numpy(dtype="int64"))
                    frame = self._skip(con, frame, columns, rejects)
                    typed = self._typed(frame, columns, ctx, rejects)
                    if writer is None:
                        writer = stack.enter_context(pq.ParquetWriter(rows.path, typed.schema))
                    writer.write_table(typed)
                    del frame, typed
            self._source(con, rows)
            self._apply_checks(con, ctx, rejects)
        finally:
            con.close()
        raw = RawTable(path, digest, probe.encoding, probe.delimiter, batches.header,
                       without_rejected(rows, rejects), batches.bad_rows, probe.detected,
                       np.concatenate(lines))
        return raw, notes

    def build(self, frame: RowsOnDisk, columns: dict[str, str], ctx: Context,
              rejects: Rejects) -> list[Candidate]:
        con = self._connect(ctx)
        try:
            self._source(con, frame)
            before = rejects.count
            self._apply_checks(con, ctx, rejects)
            if rejects.count != before:
                self._source(con, without_rejected(frame, rejects))
            groups: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
            results = [self._table(con, spec, groups) for spec in self.mapping.tables.values()]
        finally:
            con.close()  # its working memory is handed back before the tables are typed
        candidates = []
        for result in results:
            release_memory()  # DuckDB's memory, then each table's conversion
            candidates.append(self._candidate(*result))
        return candidates

    @staticmethod
    def _source(con: duckdb.DuckDBPyConnection, rows: RowsOnDisk) -> None:
        """The view `source`: the typed rows on disk but those left out since."""
        con.register("__left_out", pa.table({"line": rows.without}))
        path = str(rows.path).replace("'", "''")
        con.execute(f"CREATE OR REPLACE VIEW source AS SELECT * FROM read_parquet('{path}') "
                    "WHERE __line NOT IN (SELECT line FROM __left_out)")

    # -- typing the source columns -------------------------------------------------------
    def _typed(self, frame: pd.DataFrame, columns: dict[str, str], ctx: Context,
               rejects: Rejects) -> pa.Table:
        """The rows typed by the mapping's columns; rows with a value that cannot be read
        are rejected and left out."""
        zone = self.mapping.timezone or ctx.settings.store.timezone
        out: dict[str, pd.Series] = {LINE: frame[LINE]}
        fields = [(LINE, pa.int64())]
        bad = pd.Series(False, index=frame.index)
        for name, col in self.mapping.columns.items():
            fields.append((name, _ARROW_TYPES[col.type]))
            if name not in columns:
                out[name] = pd.Series([None] * len(frame), index=frame.index, dtype="object")
                continue
            raw = self._missing_as_empty(frame[columns[name]], col)
            if col.type == "text":
                out[name] = clean_text(raw, strip_apostrophe=not col.keep_apostrophe) \
                    .astype("object")
                continue
            parsed, expected, rule = self._parse(raw, col, zone)
            reject_parsed(rejects, frame, parsed, ~bad, column=name, raw=raw, rule=rule,
                          expected=expected)
            bad |= parsed.bad
            out[name] = parsed.values
        typed = pd.DataFrame(out, index=frame.index)[~bad]  # rows with a value unread
        return pa.Table.from_pandas(typed, schema=pa.schema(fields), preserve_index=False)

    def _parse(self, raw: pd.Series, col: SourceColumn, zone: str):
        decimal = self.decimal
        if col.type == "number":
            hint = "" if decimal == "," else " (if the file writes 12,50 for twelve and a " \
                "half, set decimal = \",\" under [read])"
            return parse_number(raw, decimal=decimal), f"a number{hint}", "not_a_number"
        if col.type == "int":
            return parse_int(raw, decimal=decimal), "a whole number", "not_a_whole_number"
        if col.type == "bool":
            return parse_bool(raw), "yes/no or true/false", "not_a_boolean"
        order = self.orders.get(col.name, self.mapping.dates)
        if col.type == "date":
            return parse_date(raw, order=order, formats=col.formats), "a date", "not_a_date"
        return (parse_timestamp(raw, order=order, zone=zone, formats=col.formats),
                "a date and time", "not_a_date")

    def _date_order(self, raw: RawTable, name: str, text: pd.Series) -> str:
        """The column's day/month order: the setting, or found from the values ("auto");
        ImportFileError naming the first value that contradicts it or cannot decide it."""
        order, problem = date_order_problem(text, self.mapping.dates)
        if problem is None:
            return order
        line = int(raw.frame.loc[problem.position, LINE])
        setting = self.mapping.dates
        raise ImportFileError(
            f"{self.source} file '{raw.name}' line {line} column '{name}': '{problem.value}' "
            f"contradicts dates = \"{setting}\" in mapping '{self.mapping.name}': "
            f"{problem.reason}", file=raw.name, line=line, column=name,
            fix="Set dates = \"day-first\" or \"month-first\" under [read] to match how "
                "the file writes dates (or give the column explicit formats). Nothing was "
                "imported.")

    # -- SQL -------------------------------------------------------------------------
    def _connect(self, ctx: Context) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        # What does not fit goes to the scratch folder (an import holds little at once).
        scratch = str(self._scratch / "duckdb").replace("'", "''")
        con.execute(f"SET temp_directory = '{scratch}'")
        con.execute(f"SET memory_limit = '{DUCKDB_MEMORY}'")
        # and hands what it frees back to the system at once, not after 128 MB
        con.execute("SET allocator_flush_threshold = '16MB'")
        con.create_function("country_code", country_code, [duckdb.sqltype("VARCHAR")],
                            duckdb.sqltype("VARCHAR"), null_handling="special")
        currency = ctx.settings.store.currency.replace("'", "")
        con.execute(f"CREATE MACRO store_currency() AS '{currency}'")
        con.execute("CREATE SCHEMA store")
        for name, table in TABLES.items():
            path = table_path(ctx.data_dir, name)
            if path.exists():
                pattern = str(path / "**" / "*.parquet") if path.is_dir() else str(path)
                con.execute(f"CREATE VIEW store.{name} AS SELECT * FROM "
                            f"read_parquet('{pattern.replace(chr(39), chr(39) * 2)}')")
            else:
                empty = pa.schema([(c.name, TYPES[c.type][1]) for c in table.columns]) \
                    .empty_table()
                con.register(f"__empty_{name}", empty)
                con.execute(f"CREATE VIEW store.{name} AS SELECT * FROM __empty_{name}")
        return con

    def _sql_error(self, err: Exception, where: str) -> MappingError:
        return _fail(self.mapping.path or f"{self.mapping.name}.toml",
                     f"{where}: {str(err).splitlines()[0]}",
                     "Fix the SQL expression (quote column names with double quotes and "
                     "text with single quotes).")

    def _skip(self, con, frame: pd.DataFrame, columns: dict[str, str],
              rejects: Rejects) -> pd.DataFrame:
        """Rows the mapping leaves out on purpose ([skip] sees the columns' raw text)."""
        if not self.mapping.skip:
            return frame
        condition, reason = self.mapping.skip
        text = pd.DataFrame({LINE: frame[LINE]})
        for name in self.mapping.columns:
            text[name] = clean_text(frame[columns[name]]) if name in columns else None
        con.register("__text", pa.Table.from_pandas(text.astype(
            {n: "object" for n in self.mapping.columns}), preserve_index=False))
        try:
            skipped = con.execute(f"SELECT __line FROM __text WHERE coalesce(({condition}), "
                                  "FALSE)").fetchall()
        except duckdb.Error as err:
            raise self._sql_error(err, "skip.when") from err
        lines = [r[0] for r in skipped]
        rejects.add(lines, column=None, raw=None, rule="skipped_by_mapping",
                    message=f"left out on purpose by the mapping: {reason}")
        return frame[~frame[LINE].isin(lines)]

    def _apply_checks(self, con, ctx: Context, rejects: Rejects) -> None:
        for check in self.mapping.checks:
            column = f', CAST("{check.column}" AS VARCHAR)' if check.column else ", NULL"
            try:
                failing = con.execute(f"SELECT __line{column} FROM source WHERE NOT "
                                      f"coalesce(({check.rule}), TRUE)").fetchall()
            except duckdb.Error as err:
                raise self._sql_error(err, f"check '{check.name}'") from err
            rejects.add([r[0] for r in failing], column=check.column,
                        raw=[r[1] for r in failing], rule=check.name, message=check.message)

    def _table(self, con, spec: TableSpec,
               groups: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]):
        """One table's rows as the SQL gives them (in Arrow, or in a Parquet file when rows
        wait on disk) and its group members; `groups` holds the group members already
        found (two tables grouped alike share them)."""
        table = TABLES[spec.name]
        selects = []
        for column in table.columns:
            expression = spec.columns.get(column.name, "NULL")
            selects.append(f"({expression}) AS \"{column.name}\"")
        # A grouped row names its group by the group's first line; `members` lists the
        # lines of each group.
        lines = "min(__line)" if spec.group_by else "__line"
        where = f" WHERE ({spec.where})" if spec.where else ""
        query = f"SELECT {', '.join(selects)}, {lines} AS __lines FROM source{where}"
        keys = ", ".join(spec.group_by)
        if spec.group_by:
            query += f" GROUP BY {keys}"
        try:
            result = con.execute(query)
            if self.aside_folder is None:
                rows = _arrow(result)
            else:  # written as it comes: DuckDB's memory and the table's are not held at once
                rows = self.aside_folder / f"sql-{spec.name}.parquet"
                reader = result.to_arrow_reader()
                with pq.ParquetWriter(rows, reader.schema) as writer:
                    for batch in reader:
                        writer.write_batch(batch)
                del reader
            members = None
            if spec.group_by and (keys, where) not in groups:
                flat = _arrow(con.execute(
                    f"SELECT min(__line) OVER (PARTITION BY {keys}) AS g, __line FROM source"
                    f"{where} ORDER BY g, __line"))
                groups[keys, where] = (flat["g"].to_numpy(), flat[LINE].to_numpy())
            if spec.group_by:
                members = groups[keys, where]
        except duckdb.Error as err:
            raise self._sql_error(err, f"tables.{spec.name}") from err
        return spec, rows, members

    def _candidate(self, spec: TableSpec, rows, members) -> Candidate:
        """A table's candidate: the SQL's rows in the contract's types."""
        table = rows if isinstance(rows, pa.Table) else pq.read_table(rows)
        frame = _coerce(spec.name, table.to_pandas(self_destruct=True, split_blocks=True))
        del table, rows  # Arrow buffers freed as converted
        origin = {c: e.strip().strip('"') for c, e in spec.columns.items()
                  if e.strip().startswith('"') and e.strip().endswith('"')
                  and e.strip().count('"') == 2}
        candidate = Candidate(spec.name, frame, merge=spec.merge, primary=spec.primary,
                              origin=origin, earliest=spec.earliest, messages=spec.messages,
                              members=members)
        if self.aside_folder is not None:  # the engine reads the tables one at a time
            candidate.put_aside(self.aside_folder / f"table-{spec.name}.parquet")
        return candidate


def _arrow(result: duckdb.DuckDBPyConnection) -> pa.Table:
    table = result.arrow()
    return table.read_all() if isinstance(table, pa.RecordBatchReader) else table


def _coerce(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Cast SQL results to the contract's types, leaving values that do not fit empty
    (the contract check then rejects them, naming the column)."""
    out = frame.copy(deep=False)  # columns are replaced, never changed in place
    for column in TABLES[name].columns:
        values = out[column.name]
        if column.type == "text":
            if not pd.api.types.is_string_dtype(values) or values.dtype == object:
                out[column.name] = values.astype("object").where(values.notna(), None).map(
                    lambda v: v if v is None else str(v))
        elif column.type in ("money", "float"):
            out[column.name] = pd.to_numeric(values, errors="coerce").astype("float64")
        elif column.type == "int":
            number = pd.to_numeric(values, errors="coerce").astype("float64").round()
            fits = number.isna() | (number.abs() <= COUNT_LIMIT)
            # numbers too big for a whole-number column stay as they are, so the contract
            # check rejects them as out of range (instead of a failed cast)
            out[column.name] = number.astype("Int64") if fits.all() else number
        elif column.type == "bool":
            out[column.name] = values.astype("boolean")
        elif column.type == "timestamp":
            out[column.name] = pd.to_datetime(values, utc=True, errors="coerce") \
                .astype("datetime64[us, UTC]")
        elif column.type == "date":
            stamps = pd.to_datetime(values, errors="coerce")
            if getattr(stamps.dt, "tz", None) is not None:
                stamps = stamps.dt.tz_localize(None)
            out[column.name] = [None if pd.isna(v) else v.date() for v in stamps]
    out[LINES] = out[LINES].astype("int64")
    return out
