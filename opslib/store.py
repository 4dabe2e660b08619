"""The store engine: canonical tables as Ibis tables, on DuckDB by default.

Metric code receives Ibis tables and never knows which backend runs them. `Store.open`
reads data/tables/<table>.parquet (a file or a folder of parts) with embedded DuckDB;
`Store.from_connection` wraps any Ibis backend that holds the canonical tables (PostgreSQL,
a warehouse). `Window` turns local calendar days into UTC instants, so a day's query filters
on a range the engine can push down into the Parquet scan.

>>> w = Window.of("2024-03-31", zone="Europe/London")
>>> w.lo.isoformat(), w.hi.isoformat()
('2024-03-31T00:00:00+00:00', '2024-03-31T23:00:00+00:00')
>>> w.days
1
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.datatypes as dt_types
import pandas as pd

from opslib.config import Settings, load_settings
from opslib.errors import DatabaseError, MissingFileError, MissingTableError, SchemaViolation
from opslib.schema import TABLES, table_path

__all__ = ["Store", "Window", "local_date", "in_window", "connect_database", "redact_url"]


@dataclass(frozen=True)
class Window:
    """Local calendar days `start`..`end` (inclusive) and their UTC bounds [lo, hi)."""

    start: dt.date
    end: dt.date
    zone: str

    @classmethod
    def of(cls, start: dt.date | str, end: dt.date | str | None = None, *,
           zone: str) -> "Window":
        start = dt.date.fromisoformat(str(start))
        end = dt.date.fromisoformat(str(end)) if end is not None else start
        if end < start:
            raise ValueError(f"window ends ({end}) before it starts ({start})")
        return cls(start, end, zone)

    @property
    def lo(self) -> pd.Timestamp:
        return _local_midnight_utc(self.start, self.zone)

    @property
    def hi(self) -> pd.Timestamp:
        return _local_midnight_utc(self.end + dt.timedelta(days=1), self.zone)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def shift(self, days: int) -> "Window":
        """The same-length window moved by `days` (negative = earlier)."""
        delta = dt.timedelta(days=days)
        return Window(self.start + delta, self.end + delta, self.zone)

    def dates(self) -> pd.DatetimeIndex:
        """Every day of the window (a full calendar)."""
        return pd.date_range(self.start, self.end, freq="D")


def _local_midnight_utc(day: dt.date, zone: str) -> pd.Timestamp:
    local = dt.datetime.combine(day, dt.time(0), tzinfo=ZoneInfo(zone))
    return pd.Timestamp(local).tz_convert("UTC")


def in_window(column: ibis.Value, window: Window) -> ibis.BooleanValue:
    """Filter for a timestamp column (UTC range) or a date column (local days).

    The comparison is against constants, so DuckDB prunes Parquet row groups by their
    min/max statistics instead of reading the whole history.
    """
    if column.type().is_date():
        return column.between(window.start, window.end)
    return (column >= window.lo) & (column < window.hi)


def at_end_of(column: ibis.Value, day_end: pd.Timestamp) -> ibis.BooleanValue:
    """True where an optional event had happened by `day_end` (empty = not yet)."""
    return column.notnull() & (column < day_end)


_UTC = dt_types.Timestamp(timezone="UTC")
_NAIVE = dt_types.Timestamp()


@ibis.udf.scalar.builtin(name="timezone")
def _timezone(zone: str, value: _UTC) -> _NAIVE:
    """DuckDB and PostgreSQL both spell UTC→local conversion `timezone(zone, ts)`."""


def local_date(column: ibis.TimestampValue, zone: str) -> ibis.DateValue:
    """The calendar day, in the store's time zone, of a UTC timestamp column."""
    return _timezone(zone, column).date()


class Store:
    """The canonical tables of one shop, as Ibis tables on one backend."""

    def __init__(self, con: ibis.BaseBackend, tables: dict[str, object],
                 settings: Settings) -> None:
        self.con = con
        self._sources = tables  # table name -> path (Parquet) or backend table name
        self._cache: dict[str, ibis.Table] = {}
        self.settings = settings

    @classmethod
    def open(cls, data_dir: str | Path, settings: Settings | None = None, *,
             threads: int | None = None) -> "Store":
        """Open data_dir/tables/*.parquet with an embedded DuckDB (nothing to set up)."""
        data_dir = Path(data_dir)
        if not data_dir.is_dir():
            raise MissingFileError(f"data folder '{data_dir}' does not exist",
                                   file=str(data_dir),
                                   fix="Run `playbook demo` or import your data first.")
        con = ibis.duckdb.connect()
        if threads:
            con.raw_sql(f"SET threads = {int(threads)}")
        present = {name: table_path(data_dir, name) for name in TABLES
                   if table_path(data_dir, name).exists()}
        return cls(con, present, settings or load_settings())

    @classmethod
    def from_connection(cls, con: ibis.BaseBackend,
                        settings: Settings | None = None) -> "Store":
        """Wrap any Ibis backend whose tables use the canonical names."""
        present = {name: name for name in TABLES if name in set(con.list_tables())}
        return cls(con, present, settings or load_settings())

    @classmethod
    def connect(cls, url: str, settings: Settings | None = None) -> "Store":
        """Open a store whose canonical tables live in a database, from its URL
        (postgresql://user:password@host:port/database; needs the `postgres` extra)."""
        return cls.from_connection(connect_database(url), settings)

    @property
    def zone(self) -> str:
        return self.settings.store.timezone

    def materialize(self, expr: ibis.Table) -> ibis.Table:
        """The expression computed once, into a temporary table of this store's engine
        (gone when the store is closed): for an intermediate result several figures share.
        """
        name = f"opslib_shared_{uuid.uuid4().hex[:16]}"
        return self.con.create_table(name, expr, temp=True)

    def has(self, name: str) -> bool:
        """Whether the store has data of this kind (the table is present)."""
        return name in self._sources

    def table(self, name: str) -> ibis.Table:
        """The table as an Ibis expression; MissingTableError when absent."""
        if name not in TABLES:
            raise KeyError(f"'{name}' is not a canonical table")
        if name not in self._sources:
            raise MissingTableError(name)
        if name not in self._cache:
            self._cache[name] = self._load(name)
        return self._cache[name]

    def _load(self, name: str) -> ibis.Table:
        source = self._sources[name]
        if not isinstance(source, Path):
            return self.con.table(source)
        pattern = str(source / "**" / "*.parquet") if source.is_dir() else str(source)
        try:
            table = self.con.read_parquet(pattern, table_name=f"{name}")
        except Exception as err:  # DuckDB raises its own IOException/InvalidInputException
            raise SchemaViolation(name, what=f"table '{name}' at '{source}' is unreadable "
                                  f"({type(err).__name__}: {err})",
                                  fix="Restore the file or import the data again.") from err
        missing = [c for c in TABLES[name].column_names if c not in table.columns]
        if missing:
            raise SchemaViolation(name, column=missing[0], what=f"table '{name}' is missing "
                                  f"column(s) {', '.join(missing)}",
                                  fix="Run `playbook check` and import the data again.")
        return table

    def window(self, start: dt.date | str, end: dt.date | str | None = None) -> Window:
        """Local days start..end in the store's time zone."""
        return Window.of(start, end, zone=self.zone)

    def default_date(self) -> dt.date:
        """Yesterday in the store's time zone: the default report date."""
        return self.settings.yesterday()


def redact_url(url: str) -> str:
    """The URL without its password (for messages and the ledger).

    >>> redact_url("postgresql://shop:secret@localhost:5433/shop")
    'postgresql://shop@localhost:5433/shop'
    """
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = parts.username or ""
    host = netloc[1] if len(netloc) == 2 else parts.hostname or ""
    return urlunsplit((parts.scheme, f"{user}@{host}", parts.path, parts.query, parts.fragment))


def connect_database(url: str) -> ibis.BaseBackend:
    """An Ibis backend for a PostgreSQL URL (postgresql://user:password@host:port/db)."""
    scheme = urlsplit(url).scheme
    if scheme not in ("postgres", "postgresql"):
        raise DatabaseError(f"'{redact_url(url)}' is not a PostgreSQL URL",
                            expected="postgresql://user:password@host:port/database",
                            found=scheme or "no scheme", fix="Check the URL.")
    try:
        return ibis.connect(url.replace("postgres://", "postgresql://", 1))
    except ModuleNotFoundError as err:
        raise DatabaseError("PostgreSQL support is not installed",
                            fix='Install it: pip install "store-ops-playbook[postgres]".') \
            from err
    except Exception as err:  # the driver's own OperationalError and friends
        raise DatabaseError(f"cannot connect to '{redact_url(url)}' ({type(err).__name__}: "
                            f"{str(err).strip().splitlines()[0]})",
                            fix="Check the host, port, database name, user and password, "
                                "and that the server accepts connections.") from err
