"""The import engine shared by every source: contract checks, upserts, reconciliation.

An importer reads a file as text and builds *candidates*: rows of canonical tables, each
carrying the input lines it came from (`__lines`: the line itself, or a group whose lines
`Candidate.members` lists, or a Python list of lines). The engine then

1. checks every candidate row against the data contract (empty required values, values not
   allowed, amounts below zero, unknown references, clashing keys) and rejects the input
   lines behind a failing row, rebuilding until nothing more fails (so a rejected line is
   gone from every table, not only from one);
2. compares the rows with the tables already in the store: unchanged rows are duplicates
   skipped, new or changed rows are upserted on the table's key (order lines are replaced
   order by order);
3. checks that every line read is loaded, rejected or a duplicate, exactly once;
4. writes the changed tables, the rejected rows, the ledger entry and the copy of the export
   in data/raw/ together, all or nothing.
"""

from __future__ import annotations

import contextvars
import ctypes
import ctypes.util
import datetime as dt
import gc
import itertools
import logging
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from opslib.config import Settings
from opslib.errors import OpslibError
from opslib.ingest.commit import Transaction
from opslib.ingest.ledger import LEDGER_FILE, LedgerEntry, load_ledger
from opslib.ingest.parse import AMOUNT_LIMIT, COUNT_LIMIT, range_text
from opslib.ingest.readers import LINE, ImportFileError, RawTable, RowsOnDisk
from opslib.ingest.rejects import REJECTED_DIR, Rejects, rejected_file_bytes
from opslib.ingest.report import FileResult
from opslib.schema import PANDAS_TYPES, TABLES, read_for_validation, table_path, \
    validate_table
from opslib.tables import to_arrow

__all__ = ["Candidate", "Context", "LINES", "run_import", "normalize", "RAW_DIR", "lines_by",
           "single_lines", "import_step"]

LINES = "__lines"  # on a candidate row: the input lines it was built from
RAW_DIR = "raw"
log = logging.getLogger("opslib.ingest")

_QUANTITY_COLUMNS = {"quantity", "on_hand"}
SLICE_ROWS = 100_000  # rows converted at once when a large table is written or read back


@dataclass
class Candidate:
    """Rows for one canonical table, built from some input lines.

    merge: "upsert" replaces rows with the same key; "replace_orders" replaces every row of
    the orders present (order lines: a line removed from an order disappears);
    "insert_missing" only adds rows whose key is new (placeholder products and customers
    never overwrite richer rows), lowering the `earliest` columns of existing rows.
    primary: whether these rows decide if an input line was loaded or a duplicate.

    `frame[LINES]` holds, per row, its input line (`members` None), or a group id whose
    lines `members` (group ids sorted, their lines) lists, or a list of lines, which
    is turned into the flat form when the candidate is made (a Python list per row
    costs several times the memory).

    A large file's rows may wait on disk instead (`put_aside`: `frame` is None and
    `spilled` names the Parquet file): the engine then reads one table at a time.
    """

    table: str
    frame: pd.DataFrame
    merge: str = "upsert"
    primary: bool = True
    origin: dict[str, str] = field(default_factory=dict)  # canonical column -> source column
    earliest: tuple[str, ...] = ()
    messages: dict[str, str] = field(default_factory=dict)  # column -> message when empty
    members: tuple[np.ndarray, np.ndarray] | None = None  # (group ids sorted, lines)
    spilled: Path | None = None  # where the rows wait on disk (`frame` is None meanwhile)

    def __post_init__(self) -> None:
        if self.frame is None:
            return
        lines = self.frame[LINES]
        if lines.dtype == object:  # a list of lines per row: kept flat instead
            counts = lines.map(len).to_numpy(dtype="int64")
            groups = np.arange(len(lines), dtype="int64")
            flat = np.fromiter(itertools.chain.from_iterable(lines), "int64", counts.sum())
            self.members = np.repeat(groups, counts), flat
            self.frame = self.frame.assign(**{LINES: groups})

    def load(self) -> pd.DataFrame:
        """The rows, read back from disk when they wait there."""
        if self.frame is not None:
            return self.frame
        return pq.read_table(self.spilled).to_pandas(  # Arrow buffers freed as converted
            self_destruct=True, split_blocks=True)

    def column(self, name: str) -> pd.Series:
        """One column of the rows (only that column is read from disk)."""
        if self.frame is not None:
            return self.frame[name]
        return pd.read_parquet(self.spilled, columns=[name])[name]

    def put_aside(self, path: Path, frame: pd.DataFrame | None = None) -> None:
        """Keep the rows (or `frame`, the rows left) in a Parquet file at `path` instead of
        in memory."""
        frame = self.frame if frame is None else frame
        schema = pa.Schema.from_pandas(frame, preserve_index=False)
        with pq.ParquetWriter(path, schema) as writer:  # in slices: no second whole copy
            for start in range(0, len(frame), SLICE_ROWS):
                writer.write_table(pa.Table.from_pandas(
                    frame.iloc[start:start + SLICE_ROWS], schema=schema, preserve_index=False))
        self.frame, self.spilled = None, Path(path)

    def lines_of(self, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """The input lines of `rows` (rows of this candidate): for each line, the position
        of its row in `rows`, and the line."""
        groups = rows[LINES].to_numpy(dtype="int64")
        if self.members is None:
            return np.arange(len(groups)), groups
        keys, lines = self.members
        starts = np.searchsorted(keys, groups, "left")
        counts = np.searchsorted(keys, groups, "right") - starts
        ends = np.cumsum(counts)
        at = np.repeat(starts - ends + counts, counts) + np.arange(ends[-1] if len(ends) else 0)
        return np.repeat(np.arange(len(groups)), counts), lines[at]


@dataclass
class Context:
    """What an importer may look at: settings, today's date, the tables already stored."""

    data_dir: Path
    settings: Settings
    today: dt.date
    source: str
    file: str
    notes: list[str] = field(default_factory=list)
    skipped: dict[str, list[int]] = field(default_factory=dict)  # reason -> input lines
    _cache: dict[str, pd.DataFrame | None] = field(default_factory=dict)

    def skip(self, lines: pd.Series, reason: str) -> None:
        """Count input lines that hold no record of their own (not errors) as skipped."""
        if len(lines):
            self.skipped.setdefault(reason, []).extend(int(n) for n in lines)

    def existing(self, name: str) -> pd.DataFrame | None:
        """The stored table (contract types), or None when the store has none."""
        if name not in self._cache:
            path = table_path(self.data_dir, name)
            self._cache[name] = normalize(name, read_for_validation(path)) \
                if path.exists() else None
        return self._cache[name]

    def where(self, line: int | None = None, column: str | None = None) -> str:
        """'file 'x.csv' line 7 column 'Total'' for messages."""
        text = f"{self.source} file '{self.file}'"
        if line is not None:
            text += f" line {line}"
        if column is not None:
            text += f" column '{column}'"
        return text


Build = Callable[[pd.DataFrame, Context, Rejects], list[Candidate]]


def normalize(name: str, frame: pd.DataFrame | pa.Table) -> pd.DataFrame:
    """A frame in the contract's column order and pandas types (money rounded to cents).
    Rows given in Arrow are converted once, a column at a time (no second whole copy)."""
    money = {c.name: pd.to_numeric(_series(frame[c.name])).astype("float64").round(2)
             for c in TABLES[name].columns if c.type == "money"}
    if isinstance(frame, pa.Table):
        for column, values in money.items():
            frame = frame.set_column(frame.schema.get_field_index(column), column,
                                     pa.array(values, from_pandas=True))
        arrow = to_arrow(name, frame)
    else:
        arrow = to_arrow(name, frame.assign(**money))  # columns replaced, frame not copied
    return arrow.to_pandas(types_mapper=PANDAS_TYPES.get, self_destruct=True,
                           split_blocks=True)  # Arrow buffers freed as they are converted


def _series(values: pd.Series | pa.ChunkedArray) -> pd.Series:
    return values.to_pandas() if isinstance(values, pa.ChunkedArray) else values


def lines_by(keys: pd.Series, lines: pd.Series) -> pd.Series:
    """The input lines of each key, as lists, indexed by key (first-seen order).

    >>> lines_by(pd.Series(["b", "a", "b"]), pd.Series([2, 3, 4])).to_dict()
    {'b': [2, 4], 'a': [3]}
    """
    codes, uniques = pd.factorize(keys, sort=False)
    if not len(uniques):
        return pd.Series([], dtype=object)
    order = np.argsort(codes, kind="stable")
    values = lines.to_numpy()[order]
    bounds = np.cumsum(np.bincount(codes[codes >= 0], minlength=len(uniques)))[:-1]
    groups = [part.tolist() for part in np.split(values[codes[order] >= 0], bounds)]
    return pd.Series(groups, index=pd.Index(uniques), dtype=object)


def single_lines(lines: pd.Series) -> list[list[int]]:
    """[[line], [line], ...] for tables with one input line per row."""
    return [[n] for n in lines.tolist()]


def _key_tuple(frame: pd.DataFrame, key: tuple[str, ...]) -> pd.Series:
    if len(key) == 1:
        return frame[key[0]].astype("object")
    return pd.Series(list(zip(*(frame[k].astype("object") for k in key))), index=frame.index,
                     dtype="object")


def _shown(value: object) -> str:
    return "" if value is None or (not isinstance(value, (list, tuple)) and pd.isna(value)) \
        else str(value)


def _contract_rejects(candidates: list[Candidate], ctx: Context, rejects: Rejects) -> int:
    """Reject the lines behind candidate rows that break the contract; return how many.

    Rows built from one line each are checked first; rows built from several (an order
    from its lines) only once those pass, so a bad line is rejected for its own fault and
    the order is rebuilt without it, instead of taking its good lines along.
    """
    single = [np.bincount(c.lines_of(c.column(LINES).to_frame())[0], minlength=1).max() <= 1
              for c in candidates]
    found = _check_rows([c for c, one in zip(candidates, single) if one], candidates, ctx,
                        rejects)
    if found:
        return found
    return _check_rows([c for c, one in zip(candidates, single) if not one], candidates, ctx,
                       rejects)


def _check_rows(checked: list[Candidate], candidates: list[Candidate], ctx: Context,
                rejects: Rejects) -> int:
    """Check the `checked` candidates (references look at all of them); how many lines
    were rejected."""
    before = rejects.count
    by_table = {c.table: c for c in candidates}
    for cand in checked:
        table = TABLES[cand.table]
        frame = cand.load()
        rows = len(frame)
        for column in table.columns:
            values = frame[column.name]
            source = cand.origin.get(column.name)
            label = f"'{source}'" if source else f"{cand.table}.{column.name}"
            if not column.nullable:
                empty = values.isna()
                if empty.any():
                    message = cand.messages.get(
                        column.name, f"{label} is empty; {cand.table}.{column.name} needs a "
                        f"value. Fill it in the source (or map another column to it).")
                    _reject_rows(cand, rejects, frame[empty], source or column.name, None,
                                 "missing_value", message)
                    frame = frame[~empty]
                    values = frame[column.name]
            if column.allowed:
                bad = values.notna() & ~values.isin(column.allowed)
                if bad.any():
                    allowed = ", ".join(column.allowed)
                    _reject_rows(cand, rejects, frame[bad], source or column.name,
                                 values[bad], "not_allowed", values[bad].map(
                                     lambda v: f"{label} = '{v}' is not one of {allowed} "
                                     f"({cand.table}.{column.name}); map it to one of them."))
                    frame = frame[~bad]
                    values = frame[column.name]
            if column.type in ("money", "float", "int"):
                frame = _reject_beyond_range(cand, frame, column, label, source, rejects)
                values = frame[column.name]
            if column.min is not None:
                numeric = pd.to_numeric(values, errors="coerce")
                bad = numeric.notna() & (numeric < column.min)
                if bad.any():
                    rule, hint = below_minimum_rule(column.name, column.type, column.min)
                    _reject_rows(cand, rejects, frame[bad], source or column.name,
                                 values[bad], rule,
                                 values[bad].map(lambda v: f"{label} = {v} {hint}"))
                    frame = frame[~bad]
        frame = _reject_clashing_keys(cand, frame, rejects)
        for fk in table.foreign_keys:
            if fk.column not in frame or (cand.table == fk.table):
                continue
            known = _known_keys(fk.table, fk.ref, by_table, ctx)
            if known is None:
                continue
            values = frame[fk.column]
            orphan = values.notna() & ~_is_in(values, known)
            if orphan.any():
                source = cand.origin.get(fk.column, fk.column)
                _reject_rows(cand, rejects, frame[orphan], source, values[orphan],
                             "unknown_reference", values[orphan].map(
                                 lambda v: f"'{source}' = '{v}' is not a known {fk.table}."
                                 f"{fk.ref}; import the {fk.table} first or fix the value."))
                frame = frame[~orphan]
        if cand.frame is not None:
            cand.frame = frame
        else:  # rows waiting on disk go back there: one table in memory at a time
            if len(frame) != rows:
                cand.put_aside(cand.spilled, frame)
            del frame
            release_memory()
    return rejects.count - before


def _reject_beyond_range(cand: Candidate, frame: pd.DataFrame, column, label: str,
                         source: str | None, rejects: Rejects) -> pd.DataFrame:
    """Reject rows whose number is infinite (`not_a_number`) or beyond the accepted range
    (`out_of_range`); returns the rows kept."""
    limit = COUNT_LIMIT if column.type == "int" else AMOUNT_LIMIT
    numbers = pd.to_numeric(frame[column.name], errors="coerce").astype("float64")
    infinite = pd.Series(np.isinf(numbers.to_numpy()), index=frame.index)
    over = ~infinite & (numbers.abs() > limit)
    where = f"({cand.table}.{column.name})"
    for bad, rule, text in ((infinite, "not_a_number", "is not a finite number"),
                            (over, "out_of_range", f"is outside the accepted range "
                                                   f"{range_text(limit)}")):
        if bad.any():
            raw = frame.loc[bad, column.name]
            _reject_rows(cand, rejects, frame[bad], source or column.name, raw, rule, raw.map(
                lambda v: f"{label} = {v} {text} {where}; fix the value in the source."))
    kept = ~infinite & ~over
    return frame if kept.all() else frame[kept]  # no copy of a large table for nothing


def below_minimum_rule(name: str, kind: str, minimum: float) -> tuple[str, str]:
    if name in _QUANTITY_COLUMNS or name == "quantity":
        return "negative_quantity", (f"is below {minimum:g}; a negative or zero quantity is not "
                                     "a sale: export returns separately (or map them to the "
                                     "returns table)")
    if kind == "money":
        return "negative_amount", "is below zero; amounts must be positive (refunds belong in " \
                                  "the returns table)"
    return "below_minimum", f"is below the minimum {minimum:g}"


def _reject_rows(cand: Candidate, rejects: Rejects, rows: pd.DataFrame, column: str,
                 raw: pd.Series | None, rule: str, message: str | pd.Series) -> None:
    """Reject the input lines of `rows`, each with its row's raw value and message."""
    at, lines = cand.lines_of(rows)
    raw_values = None if raw is None else raw.iloc[at]
    messages = message.iloc[at] if isinstance(message, pd.Series) else message
    rejects.add(lines, column=column, raw=raw_values, rule=rule, message=messages)


def _reject_clashing_keys(cand: Candidate, frame: pd.DataFrame,
                          rejects: Rejects) -> pd.DataFrame:
    key = TABLES[cand.table].key
    if frame.empty or not frame.duplicated(subset=list(key), keep=False).any():
        return frame  # (no key as Python tuples: a million of them is 150 MB)
    keys = _key_tuple(frame, key)
    columns = [c for c in TABLES[cand.table].column_names]
    same = frame[columns].astype("object").where(frame[columns].notna(), None)
    identical = same.duplicated(keep="first")
    later = keys.duplicated(keep="first") & ~identical
    if later.any():
        at, lines = cand.lines_of(frame)
        first = pd.Series(lines, index=at)
        first = first[~first.index.duplicated()].reindex(range(len(frame)))
        first_lines = {}
        for k, line in zip(keys, first):
            first_lines.setdefault(k, None if pd.isna(line) else int(line))
        messages = pd.Series([f"{cand.table} key {k} appears again with different values "
                              f"(first on line {first_lines[k]}); keep one of the two rows."
                              for k in keys[later]], index=frame[later].index)
        _reject_rows(cand, rejects, frame[later], ", ".join(key), keys[later].map(str),
                     "duplicate_key", messages)
    # exact repeats stay: the engine counts their lines as duplicates skipped
    return frame[~later]


def _known_keys(table: str, ref: str, by_table: dict[str, Candidate],
                ctx: Context) -> pd.Series | None:
    parts = []
    if table in by_table:
        parts.append(by_table[table].column(ref))
    existing = ctx.existing(table)
    if existing is not None:
        parts.append(existing[ref])
    if not parts:
        return None  # neither present: the contract does not check this reference
    return pd.concat(parts, ignore_index=True).dropna().unique()


def _is_in(values: pd.Series, known: object) -> pd.Series:
    """`values.isin(known)` in Arrow: pandas turns a large `known` of text into a Python list."""
    left, right = pa.array(values, from_pandas=True), pa.array(known, from_pandas=True)
    if pa.types.is_null(left.type) or not len(right):
        return pd.Series(False, index=values.index)
    if pa.types.is_string(left.type) or pa.types.is_large_string(left.type):
        left = left.cast(pa.large_string())
    try:
        right = right.cast(left.type) if right.type != left.type else right
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # e.g. numbers against text
        return values.isin(known)
    found = pc.is_in(left, value_set=right, skip_nulls=True)
    return pd.Series(found.to_numpy(zero_copy_only=False), index=values.index)


@dataclass
class _Outcome:
    changed: dict[str, int]  # table -> rows added or changed (the tables staged)
    loaded: np.ndarray  # input lines, sorted, unique
    duplicate: np.ndarray


def _merge(candidates: list[Candidate], ctx: Context, txn: Transaction) -> _Outcome:
    """Merge each candidate with its stored table and stage the new version at once, one
    table at a time: `candidates` is emptied as it goes, so a table's rows are freed as soon
    as they are written to the staging folder."""
    changed_counts: dict[str, int] = {}
    loaded: list[np.ndarray] = []
    duplicate: list[np.ndarray] = []
    while candidates:
        cand = candidates.pop(0)
        spec = TABLES[cand.table]
        columns = spec.column_names
        # rows waiting on disk are read in Arrow and converted once
        frame = cand.frame if cand.frame is not None else pq.read_table(cand.spilled)
        cand.frame = None
        lines = np.asarray(frame[LINES], dtype="int64")
        new = normalize(cand.table, frame.select(columns) if isinstance(frame, pa.Table)
                        else frame[columns])
        new[LINES] = lines
        del frame, lines
        release_memory()  # reading and converting held the rows twice for a while
        exact_repeat = pd.Series(_row_hashes(new[columns]), index=new.index).duplicated()
        duplicate.append(cand.lines_of(new.loc[exact_repeat, [LINES]])[1])
        if exact_repeat.any():  # (no copy of a large table for nothing)
            new = new[~exact_repeat]
        old = ctx.existing(cand.table)
        key = spec.key
        if old is None or old.empty:
            unchanged = pd.Series(False, index=new.index)
            merged, count = new[columns], len(new)
        else:
            unchanged = _same_rows(new[columns], old[columns])
            merged, count = _merged_table(cand, new, old, columns, key, unchanged)
        if cand.primary:
            loaded.append(cand.lines_of(new.loc[~unchanged, [LINES]])[1])
            duplicate.append(cand.lines_of(new.loc[unchanged, [LINES]])[1])
        del new, old
        ctx._cache.pop(cand.table, None)  # the stored table is not needed any more
        if count:
            merged = merged.reset_index(drop=True)
            violations = validate_table(cand.table, merged)  # a safety net: a bug, not data
            if violations:
                raise violations[0].to_error()
            merged = to_arrow(cand.table, merged)  # the pandas copy is freed before writing
            release_memory()
            txn.stage_table(cand.table, merged)
            changed_counts[cand.table] = count
        del merged
        release_memory()
    loaded_lines, duplicate_lines = _line_set(*loaded), _line_set(*duplicate)
    return _Outcome(changed_counts, loaded_lines,
                    duplicate_lines[~np.isin(duplicate_lines, loaded_lines)])


def _line_set(*parts: np.ndarray) -> np.ndarray:
    """The distinct lines of `parts`, sorted (np.unique is far slower on a million)."""
    lines = np.sort(np.concatenate([np.empty(0, "int64"), *parts]).astype("int64"))
    return lines[np.concatenate([[True], lines[1:] != lines[:-1]])] if len(lines) else lines


def _spill(candidates: list[Candidate], folder: Path) -> None:
    """Put every candidate's rows on disk (Parquet), so `_merge` holds one table at once."""
    for number, cand in enumerate(candidates):
        if cand.frame is not None:
            cand.put_aside(folder / f"{number}-{cand.table}.parquet")


def _row_hashes(frame: pd.DataFrame) -> np.ndarray:
    """One 64-bit hash per row over every column (frames normalised the same way)."""
    return pd.util.hash_pandas_object(frame, index=False).to_numpy()


def _same_rows(new: pd.DataFrame, old: pd.DataFrame) -> pd.Series:
    """True for rows of `new` that exist, identical, in `old`."""
    return pd.Series(np.isin(_row_hashes(new), _row_hashes(old)), index=new.index)


def _merged_table(cand: Candidate, new: pd.DataFrame, old: pd.DataFrame,
                  columns: list[str], key: tuple[str, ...],
                  unchanged: pd.Series) -> tuple[pd.DataFrame, int]:
    """The table after the merge and how many of its rows were added or changed."""
    new_keys = set(_key_tuple(new, key))
    old_keys = _key_tuple(old, key)
    if cand.merge == "insert_missing":
        fresh = new[~_key_tuple(new, key).isin(set(old_keys))]
        kept = old.copy()
        lowered_rows = pd.Series(False, index=kept.index)
        for column in cand.earliest:
            offered = new.set_index(list(key))[column]
            current = kept.set_index(list(key))[column]
            offered = offered[~offered.index.duplicated()].reindex(current.index)
            lower = offered.notna() & (current.isna() | (offered < current))
            kept[column] = current.where(~lower, offered).to_numpy()
            lowered_rows |= lower.to_numpy()
        merged = pd.concat([kept[columns], fresh[columns]], ignore_index=True)
        return merged, len(fresh) + int(lowered_rows.sum())
    removed = 0
    if cand.merge == "replace_orders":
        replaced = old["order_id"].isin(set(new["order_id"]))
        removed = int((replaced & ~old_keys.isin(new_keys)).sum())  # lines gone from orders
        kept = old[~replaced]
    else:
        kept = old[~old_keys.isin(new_keys)]
    merged = pd.concat([kept[columns], new[columns]], ignore_index=True)
    return merged, int((~unchanged).sum()) + removed


@contextmanager
def import_step(step: str, file: str) -> Iterator[None]:
    """Turn an unexpected exception in one step of an import into an `ImportFileError`
    naming the file and the step (errors raised on purpose pass unchanged)."""
    try:
        yield
    except OpslibError:
        raise
    except Exception as err:
        cause = "Check that the data folder is writable and the disk has room, then import " \
            "again." if isinstance(err, OSError) else "This is a fault in the playbook, not " \
            "in your data; please report it with this message."
        raise ImportFileError(
            f"importing '{file}' failed while {step}: {type(err).__name__}: {err}",
            file=file, fix=f"Nothing was written: the tables are as they were. {cause}"
        ) from err


def settle(raw: RawTable, build: Build, ctx: Context, rejects: Rejects) -> list[Candidate]:
    """Build candidates, reject lines behind rows that break the contract, rebuild until a
    build rejects nothing more: a rejected line then feeds no row of any table.

    Every round but the last rejects at least one more line, so this ends; it takes one
    round per level of dependency (a bad value, then the rows built from several lines),
    usually two or three. Rejected rows are dropped from `raw.frame` as it goes (their
    lines stay in `raw.lines`), and a round's tables are freed before the next is built.
    """
    if raw.lines is None:
        raw.lines = raw.line_numbers()
    while True:
        ctx.notes.clear()
        ctx.skipped.clear()
        raw.frame = without_rejected(raw.frame, rejects)
        before = rejects.count
        candidates = build(raw.frame, ctx, rejects)
        release_memory()  # what building needed only for a while
        if not _contract_rejects(candidates, ctx, rejects) and rejects.count == before:
            return candidates
        del candidates


def without_rejected(rows: pd.DataFrame | pa.Table | RowsOnDisk, rejects: Rejects
                     ) -> pd.DataFrame | pa.Table | RowsOnDisk:
    """The rows whose line is not rejected (the rows themselves when none is: no copy)."""
    if isinstance(rows, RowsOnDisk):
        return RowsOnDisk(rows.path, np.sort(np.fromiter(rejects.lines, "int64",
                                                         rejects.count)))
    lines = np.asarray(rows[LINE], dtype="int64")
    rejected = np.isin(lines, np.fromiter(rejects.lines, "int64", rejects.count))
    if not rejected.any():
        return rows
    if isinstance(rows, pa.Table):
        return rows.filter(pa.array(~rejected))
    return rows[~rejected]


# Handing memory back costs a full garbage collection (up to a second in a process holding
# many objects, at every stage): it pays only for files large enough for their peak to matter.
RELEASE_FROM_BYTES = 8 * 2**20
_releasing = contextvars.ContextVar("releasing", default=True)


def release_memory() -> None:
    """Hand the memory a stage of an import freed back to the system: the allocators would
    keep it, and the next stage's peak would come on top of it (large files only)."""
    if not _releasing.get():
        return
    gc.collect()
    pa.default_memory_pool().release_unused()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


_LIBC = _libc()

# glibc gives a block of this size or more its own mapping, handed back when it is freed,
# but raises the size (up to 32 MB) each time such a block is freed; larger blocks then come
# from the heap, where a few small blocks still in use keep the freed pages resident.
MAP_FROM_BYTES = 128 * 2**10
_M_MMAP_THRESHOLD = -3  # mallopt's parameter number


def map_large_blocks() -> None:
    """Have glibc map every block from 128 KiB up on its own from now on, so what a stage
    frees goes back to the system (a 205 MB mapped CSV peaked at about 590 MB instead of
    650-695 MB, taking about a quarter longer). It lasts for the rest of the process: glibc
    has no way back to its sliding threshold, whose starting value this is."""
    if _LIBC is not None and hasattr(_LIBC, "mallopt"):
        _LIBC.mallopt(_M_MMAP_THRESHOLD, MAP_FROM_BYTES)


def _note_free_lines(candidates: list[Candidate], ctx: Context) -> None:
    for cand in candidates:
        if cand.table == "order_lines":
            free = int((cand.column("unit_price") == 0).sum())
            if free:
                ctx.notes.append(f"{free:,} order line(s) with price 0 loaded as free items")


def _reconcile(raw: RawTable, ctx: Context, rejects: Rejects, outcome: _Outcome
               ) -> FileResult:
    """The file's result: every line read is loaded, rejected, skipped or a duplicate,
    exactly once (line sets as sorted arrays: a million lines as a Python set is 60 MB)."""
    def array(values) -> np.ndarray:
        return _line_set(np.fromiter(values, "int64"))

    def minus(lines: np.ndarray, *others: np.ndarray) -> np.ndarray:
        return lines[~np.isin(lines, _line_set(*others))]

    all_lines = _line_set(raw.line_numbers(), array(b.line for b in raw.bad_rows))
    rejected = array(rejects.lines)
    skipped = {reason: minus(array(lines), rejected) for reason, lines in ctx.skipped.items()}
    skipped_lines = _line_set(*skipped.values())
    loaded = minus(outcome.loaded, rejected, skipped_lines)
    duplicate = minus(outcome.duplicate, rejected, loaded, skipped_lines)
    unaccounted = minus(all_lines, rejected, loaded, duplicate, skipped_lines).tolist()
    return FileResult(source=ctx.source, file=raw.name, rows_read=raw.rows,
                      rows_loaded=len(loaded),
                      rows_rejected=int(np.isin(rejected, all_lines).sum()),
                      rows_duplicate=len(duplicate), rows_skipped=len(skipped_lines),
                      skipped_by_reason={r: len(n) for r, n in skipped.items() if len(n)},
                      tables=dict(outcome.changed), rejected_by_rule=rejects.by_rule(),
                      notes=list(ctx.notes), unaccounted=unaccounted)


def _commit(txn: Transaction, raw: RawTable, result: FileResult, rejects: Rejects, ledger,
            *, source: str, keep_raw: bool) -> None:
    """Stage the rejected rows, the copy of the export and the ledger entry beside the
    tables already staged, and commit them all together."""
    data_dir = Path(txn.data_dir)
    imported_at = pd.Timestamp.now(tz="UTC").floor("s")
    stamp = imported_at.strftime("%Y%m%dT%H%M%S")
    with import_step("writing the tables", raw.name):
        if rejects.count:
            relative = f"{REJECTED_DIR}/{source}/{stamp}-{raw.path.stem}.parquet"
            txn.stage_bytes(relative, rejected_file_bytes(
                rejects.frame(), source=source, source_file=raw.name,
                imported_at=imported_at))
            result.rejected_path = f"data folder: {relative}"
        raw_path, already = raw_copy_path(source, raw, data_dir)
        if keep_raw and not already:
            txn.stage_copy(raw_path, raw.path)
        entry = LedgerEntry(sha256=raw.sha256, source=source, file=raw.name,
                            raw_path=raw_path, imported_at=imported_at.isoformat(),
                            rows_read=result.rows_read, rows_loaded=result.rows_loaded,
                            rows_rejected=result.rows_rejected,
                            rows_duplicate=result.rows_duplicate,
                            rows_skipped=result.rows_skipped, tables=dict(result.tables))
        txn.stage_bytes(LEDGER_FILE, ledger.add(entry).to_bytes())
        txn.commit()


def raw_copy_path(source: str, raw: RawTable, data_dir: Path) -> tuple[str, bool]:
    """Where the export is kept in data/raw/<source>/, and whether it is already there."""
    folder = Path(data_dir) / RAW_DIR / source
    resolved = raw.path.resolve()
    if resolved.parent == folder.resolve():
        return f"{RAW_DIR}/{source}/{raw.path.name}", True
    name = raw.path.name
    target = folder / name
    if target.exists():
        from opslib.ingest.readers import file_sha256

        if file_sha256(target) == raw.sha256:
            return f"{RAW_DIR}/{source}/{name}", True
        name = f"{raw.path.stem}-{raw.sha256[:8]}{raw.path.suffix}"
    return f"{RAW_DIR}/{source}/{name}", False


def run_import(raw: RawTable, build: Build, *, source: str, data_dir: Path,
               settings: Settings, today: dt.date | None = None,
               rejects: Rejects | None = None, keep_raw: bool = True) -> FileResult:
    """Import one file read as text: settle, merge, reconcile, write all or nothing."""
    data_dir = Path(data_dir)
    ledger = load_ledger(data_dir)
    earlier = ledger.find(raw.sha256, source)
    if earlier is not None:
        return FileResult(source=source, file=raw.name, skipped=(
            f"identical to '{earlier.file}' imported {earlier.imported_at[:19]} "
            f"({earlier.rows_read:,} rows); nothing to do"))
    ctx = Context(data_dir, settings, today or settings.today(), source, raw.name)
    rejects = rejects or Rejects()
    for bad in raw.bad_rows:
        rejects.add([bad.line], column=None, raw=[bad.text], rule="bad_row",
                    message=f"line has {bad.fields} fields, the header has {bad.expected}; "
                            "check quoting (a stray quote or delimiter) in the source")
    try:
        large = raw.path.stat().st_size >= RELEASE_FROM_BYTES
    except OSError:
        large = True
    _releasing.set(large)  # for this import (and the next, which sets its own)
    with import_step("checking its rows", raw.name):
        release_memory()
        candidates = settle(raw, build, ctx, rejects)
        _note_free_lines(candidates, ctx)
    raw.frame = None  # the rows are in the candidates now
    txn = Transaction(data_dir)
    try:
        with import_step("merging its rows with the stored tables", raw.name), \
                tempfile.TemporaryDirectory(prefix="playbook-import-") as scratch:
            if large:  # a small file's tables are merged from memory
                _spill(candidates, Path(scratch))
                release_memory()
            outcome = _merge(candidates, ctx, txn)
        result = _reconcile(raw, ctx, rejects, outcome)
        if not result.adds_up:
            log.error("\n".join(result.lines()))
            return result
        _commit(txn, raw, result, rejects, ledger, source=source, keep_raw=keep_raw)
    finally:
        txn.discard()
    log.info("\n".join(result.lines()))
    return result

