"""The store engine: canonical tables as Ibis tables, on DuckDB by default.

Metric code receives Ibis tables and never knows which backend runs them. `Store.open`
uses the engine that [engine] in playbook.toml names: embedded DuckDB reading
data/tables/<table>.parquet (a file or a folder of parts) by default, PostgreSQL, or Spark;
`Store.from_connection` wraps any Ibis backend that holds the canonical tables. What differs
between engines (time-zone conversion, fractional seconds, time zones of timestamps,
temporary tables) is handled here and nowhere else. `Window` turns local calendar days into
UTC instants, so a day's query filters on a range the engine can push down into the scan.

>>> w = Window.of("2024-03-31", zone="Europe/London")
>>> w.lo.isoformat(), w.hi.isoformat()
('2024-03-31T00:00:00+00:00', '2024-03-31T23:00:00+00:00')
>>> w.days
1
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.datatypes as dt_types
import pandas as pd
from ibis.common.deferred import deferrable

from opslib.config import Settings, load_settings
from opslib.config import redact_password as redact_url
from opslib.errors import DatabaseError, MissingFileError, MissingTableError, SchemaViolation
from opslib.schema import TABLES, TYPES, late_columns_missing, table_path

__all__ = ["Store", "Window", "local_date", "seconds_between", "in_window", "connect_database",
           "spark_session", "redact_url", "with_late_columns"]


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


# ---------------------------------------------------------------------------------------
# What differs per engine. This is the only place that knows: time-zone conversion,
# fractional seconds, the time zone of timestamps, and temporary tables (Store.materialize).

_UTC = dt_types.Timestamp(timezone="UTC")
_NAIVE = dt_types.Timestamp()
_SPARK = "pyspark"


@ibis.udf.scalar.builtin(name="timezone")
def _timezone(zone: str, value: _UTC) -> _NAIVE:
    """DuckDB and PostgreSQL both spell UTC→local conversion `timezone(zone, ts)`."""


@ibis.udf.scalar.builtin(name="from_utc_timestamp")
def _from_utc_timestamp(value: _UTC, zone: str) -> _NAIVE:
    """Spark's UTC→local conversion (Ibis runs every Spark session in UTC)."""


@ibis.udf.scalar.builtin(name="unix_micros")
def _unix_micros(value: _UTC) -> dt_types.int64:
    """Spark's microseconds since 1970 (its unix_timestamp drops fractions of a second)."""


def _engine_of(*values: object) -> str:
    """The backend name of the first value that reads a table ('' for literals only)."""
    for value in values:
        if isinstance(value, ibis.Expr):
            try:
                return value._find_backend().name
            except ibis.common.exceptions.IbisError:  # a literal: no backend
                continue
    return ""


@deferrable
def local_date(column: ibis.TimestampValue, zone: str) -> ibis.DateValue:
    """The calendar day, in the store's time zone, of a UTC timestamp column."""
    if _engine_of(column) == _SPARK:
        return _from_utc_timestamp(column, zone).date()
    return _timezone(zone, column).date()


@deferrable
def seconds_between(later: ibis.TimestampValue | pd.Timestamp,
                    earlier: ibis.TimestampValue | pd.Timestamp) -> ibis.FloatingValue:
    """(later − earlier) in seconds, fractions kept, as an engine expression."""
    engine = _engine_of(later, earlier)
    later, earlier = (ibis.literal(v) if isinstance(v, dt.datetime) else v
                      for v in (later, earlier))
    if engine == _SPARK:
        return (_unix_micros(later) - _unix_micros(earlier)) / 1e6
    return later.epoch_seconds() - earlier.epoch_seconds()


def _spark_backend(session) -> ibis.BaseBackend:
    """Ibis's Spark backend on `session`, with timestamps in microseconds as DuckDB and
    PostgreSQL give them (Spark's pandas conversion gives nanoseconds, or seconds for a
    column of nulls). Loaded here: pyspark is an optional extra."""
    _ = ibis.pyspark  # registers the backend's options (ibis.options.pyspark)
    from ibis.backends.pyspark import Backend

    class SparkBackend(Backend):
        def execute(self, expr, /, *, params=None, limit=None, **kwargs):
            result = super().execute(expr, params=params, limit=limit, **kwargs)
            if isinstance(result, pd.DataFrame):
                stamps = [name for name, kind in expr.schema().items() if kind.is_timestamp()]
                return result.assign(**{name: result[name].dt.as_unit("us") for name in stamps})
            if not expr.type().is_timestamp():
                return result
            if isinstance(result, pd.Series):
                return result.dt.as_unit("us")
            return result.as_unit("us") if isinstance(result, pd.Timestamp) else result

    return SparkBackend().connect(session)


def _utc_timestamps(table: ibis.Table) -> ibis.Table:
    """Label time-zone-less timestamp columns as UTC (Spark's TIMESTAMP is UTC inside, but
    Ibis reads it as naive), so results reach pandas as UTC on every engine."""
    naive = {name: _UTC for name, kind in table.schema().items()
             if kind.is_timestamp() and kind.timezone is None}
    return table.cast(naive) if naive else table


def with_late_columns(name: str, table: ibis.Table) -> ibis.Table:
    """The table with the late columns it lacks (see schema.Column.late) added as empty:
    a table written before they existed reads like a new one on every engine."""
    late = late_columns_missing(name, table.columns)
    return table.mutate(**{c.name: ibis.null(dt_types.DataType.from_pyarrow(TYPES[c.type][1]))
                           for c in late}) if late else table


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
             threads: int | None = None, memory_limit: str | None = None) -> "Store":
        """Open the store on the engine that [engine] in the settings names.

        DuckDB (the default) reads data_dir/tables/*.parquet embedded: nothing to set up;
        `threads` and `memory_limit` bound it. PostgreSQL reads the tables (or views) of a
        database; Spark reads a Parquet folder (by default data_dir/tables) or a database.
        """
        settings = settings or load_settings()
        engine = settings.engine
        if engine.kind == "postgres":
            con = connect_database(_with_password(engine.url, engine.password_env))
            return cls.from_connection(con, settings, database=engine.tables or None)
        data_dir = Path(data_dir)
        if not engine.tables and not data_dir.is_dir():
            raise MissingFileError(f"data folder '{data_dir}' does not exist",
                                   file=str(data_dir),
                                   fix="Run `playbook demo` or import your data first.")
        if engine.kind == "spark":
            return cls._open_spark(data_dir, settings)
        con = ibis.duckdb.connect()
        if threads:
            con.raw_sql(f"SET threads = {int(threads)}")
        if memory_limit:
            con.raw_sql(f"SET memory_limit = '{memory_limit}'")
        present = {name: table_path(data_dir, name) for name in TABLES
                   if table_path(data_dir, name).exists()}
        return cls(con, present, settings)

    @classmethod
    def _open_spark(cls, data_dir: Path, settings: Settings) -> "Store":
        engine = settings.engine
        con = _spark_backend(spark_session(engine.url, engine.options, engine.password_env))
        where = engine.tables
        if where and "/" not in where and "\\" not in where:  # a database: catalog.schema
            return cls.from_connection(con, settings, database=where)
        if ":/" in where:  # a lake URI (s3a://, abfss://, gs://, dbfs:/): ask Spark
            present = {name: f"{where.rstrip('/')}/{name}.parquet" for name in TABLES}
            present = {name: uri for name, uri in present.items() if _spark_has(con, uri)}
        else:
            base = Path(where) if where else data_dir / "tables"
            if not base.is_absolute() and settings.source != "defaults":
                base = Path(settings.source).parent / base
            present = {name: base / f"{name}.parquet" for name in TABLES
                       if (base / f"{name}.parquet").exists()}
        return cls(con, present, settings)

    @classmethod
    def from_connection(cls, con: ibis.BaseBackend, settings: Settings | None = None, *,
                        database: str | None = None) -> "Store":
        """Wrap any Ibis backend whose tables (or views) use the canonical names, in its
        current database or schema, or in `database`."""
        try:
            names = set(con.list_tables(database=database))
        except Exception as err:  # the backend's own "no such schema/database"
            raise DatabaseError(f"cannot list the tables in '{database}' ({type(err).__name__}"
                                f": {str(err).strip().splitlines()[0]})",
                                fix="Check [engine] tables in playbook.toml.") from err
        present = {name: (database, name) for name in TABLES if name in names}
        if database and not present:
            raise DatabaseError(f"'{database}' holds none of the canonical tables",
                                expected=f"tables or views named {', '.join(TABLES)}",
                                found=f"{len(names)} other table(s)",
                                fix="Check [engine] tables in playbook.toml, or create the "
                                    "views (see docs/engines.md).")
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
        if self.con.name == _SPARK:  # no temporary tables: a cached view instead
            return expr.cache()
        name = f"opslib_shared_{uuid.uuid4().hex[:16]}"
        return self.con.create_table(name, expr, temp=True)

    def has(self, name: str) -> bool:
        """Whether the store has data of this kind (the table is present)."""
        return name in self._sources

    def optional(self, name: str) -> ibis.Table | None:
        """The table, or None when the store has none (for data a figure can do without)."""
        return self.table(name) if self.has(name) else None

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
        table = with_late_columns(name, self._read(name))
        missing = [c for c in TABLES[name].column_names if c not in table.columns]
        if missing:
            raise SchemaViolation(name, column=missing[0], what=f"table '{name}' is missing "
                                  f"column(s) {', '.join(missing)}",
                                  fix="Run `playbook check` and import the data again.")
        return table

    def _read(self, name: str) -> ibis.Table:
        source = self._sources[name]
        if isinstance(source, tuple):
            database, table_name = source
            return _utc_timestamps(self.con.table(table_name, database=database))
        spark = self.con.name == _SPARK
        if spark:  # one Spark session holds every store's views: unique names
            pattern, view = str(source), f"{name}_{uuid.uuid4().hex[:12]}"
        else:
            pattern = str(source / "**" / "*.parquet") if source.is_dir() else str(source)
            view = name
        try:
            return _utc_timestamps(self.con.read_parquet(pattern, table_name=view))
        except Exception as err:  # DuckDB's IOException, Spark's AnalysisException, ...
            raise SchemaViolation(name, what=f"table '{name}' at '{source}' is unreadable "
                                  f"({type(err).__name__}: {err})",
                                  fix="Restore the file or import the data again.") from err

    def window(self, start: dt.date | str, end: dt.date | str | None = None) -> Window:
        """Local days start..end in the store's time zone."""
        return Window.of(start, end, zone=self.zone)

    def default_date(self) -> dt.date:
        """Yesterday in the store's time zone: the default report date."""
        return self.settings.yesterday()


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


def _with_password(url: str, variable: str) -> str:
    """The PostgreSQL URL with the password from environment variable `variable` (if set)."""
    password = os.environ.get(variable)
    if not password:
        return url  # trust, a client certificate, ~/.pgpass or PGPASSWORD
    parts = urlsplit(url)
    user, host = parts.netloc.rsplit("@", 1) if "@" in parts.netloc else ("", parts.netloc)
    netloc = f"{user}:{quote(password, safe='')}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def spark_session(url: str = "", options: dict | None = None,
                  password_env: str = "PLAYBOOK_DB_PASSWORD"):
    """The process's Spark session: a master (`local[N]`, `spark://host:7077`, `yarn`) or a
    Spark Connect address (`sc://host:15002`, token from $password_env); needs the `spark`
    extra. An existing session is reused."""
    try:
        from pyspark.sql import SparkSession
    except ModuleNotFoundError as err:
        raise DatabaseError("Spark support is not installed", fix='Install it: pip install '
                            '"store-ops-playbook[spark]" (and Java 17).') from err
    builder = SparkSession.builder.appName("store-ops-playbook")
    token = os.environ.get(password_env) if url.startswith("sc://") else None
    if url.startswith("sc://"):
        address = f"{url.rstrip('/')}{';' if ';' in url else '/;'}token={token}" \
            if token else url
        builder = builder.remote(address)
    else:
        builder = builder.master(url or "local[*]")
    options = {"spark.ui.showConsoleProgress": False, **(options or {})}
    for key, value in options.items():
        builder = builder.config(key, str(value).lower() if isinstance(value, bool) else
                                 str(value))
    try:
        session = builder.getOrCreate()
    except Exception as err:  # no Java, a master that does not answer, a refused token
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        first = first.replace(token, "***") if token else first  # never show the token
        raise DatabaseError(f"cannot start Spark at [engine] url = '{url or 'local[*]'}' "
                            f"({type(err).__name__}: {first})",
                            fix="Check [engine] url in playbook.toml, that the cluster "
                                "answers, and that Java 17 is installed.") from err
    if not url.startswith("sc://"):
        session.sparkContext.setLogLevel("ERROR")
    return session


def _spark_has(con: ibis.BaseBackend, uri: str) -> bool:
    """Whether Spark finds Parquet data at `uri` (reads the footer, not the rows)."""
    try:
        con._session.read.parquet(uri).schema  # noqa: B018 - forces the file listing
    except Exception as err:  # AnalysisException [PATH_NOT_FOUND] and friends
        if "PATH_NOT_FOUND" in str(err) or "does not exist" in str(err):
            return False
        raise DatabaseError(f"cannot read '{uri}' ({type(err).__name__})",
                            fix="Check [engine] tables in playbook.toml and the cluster's "
                                "access to it.") from err
    return True
