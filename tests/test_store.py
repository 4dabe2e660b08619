"""The store engine: Parquet through Ibis on DuckDB, windows in the store's time zone."""

from __future__ import annotations

import json

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from opslib.config import Settings
from opslib.errors import MissingFileError, MissingTableError, SchemaViolation
from opslib.store import Store, Window, in_window, local_date
from opslib.tables import write_table

LONDON = Settings.from_dict({"store": {"timezone": "Europe/London"}})
NEW_YORK = Settings.from_dict({"store": {"timezone": "America/New_York"}})


def _web(days: list[str]) -> pd.DataFrame:
    n = len(days)
    return pd.DataFrame({
        "date_day": pd.to_datetime(days).date, "source": ["google"] * n, "medium": ["cpc"] * n,
        "sessions": [10] * n, "users": [9] * n, "pageviews": [30] * n, "bounces": [4] * n,
        "add_to_cart_sessions": [3] * n, "checkout_sessions": [2] * n, "orders": [1] * n})


def test_absent_table_means_no_data(tmp_path):
    """A store without a tickets table says so with MissingTableError (a 'no data' case)."""
    write_table(tmp_path, "web_traffic_daily", _web(["2024-01-01"]))
    store = Store.open(tmp_path, LONDON)
    assert store.has("web_traffic_daily") and not store.has("tickets")
    with pytest.raises(MissingTableError, match="no 'tickets' data"):
        store.table("tickets")


def test_missing_data_folder_is_a_clear_error(tmp_path):
    """Opening a folder that does not exist names it and says how to fix it."""
    with pytest.raises(MissingFileError, match="playbook demo"):
        Store.open(tmp_path / "nowhere", LONDON)


def test_corrupt_table_is_an_error_not_no_data(tmp_path):
    """A present but unreadable table raises SchemaViolation naming the table."""
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "orders.parquet").write_bytes(b"garbage")
    store = Store.open(tmp_path, LONDON)
    with pytest.raises(SchemaViolation, match="'orders'.*unreadable"):
        store.table("orders")


def test_reads_a_folder_of_parts(tmp_path):
    """write_table splits by month; the store reads the parts back as one table."""
    write_table(tmp_path, "web_traffic_daily", _web(["2024-01-31", "2024-02-01", "2024-03-05"]))
    parts = sorted(p.name for p in (tmp_path / "tables" / "web_traffic_daily.parquet").iterdir())
    assert parts == ["part-2024-01.parquet", "part-2024-02.parquet", "part-2024-03.parquet"]
    store = Store.open(tmp_path, LONDON)
    assert store.table("web_traffic_daily").sessions.sum().execute() == 30


def test_window_edges_in_local_time():
    """23:30 local time on 1 July in New York is 03:30 UTC on 2 July, and belongs to 1 July."""
    window = Window.of("2024-07-01", zone="America/New_York")
    stamp = pd.Timestamp("2024-07-02T03:30Z")
    assert window.lo == pd.Timestamp("2024-07-01T04:00Z")
    assert window.hi == pd.Timestamp("2024-07-02T04:00Z")
    assert window.lo <= stamp < window.hi


def test_daylight_saving_days_have_23_and_25_hours():
    """London's spring-forward day is 23 hours long, its fall-back day 25."""
    spring = Window.of("2024-03-31", zone="Europe/London")
    autumn = Window.of("2024-10-27", zone="Europe/London")
    assert (spring.hi - spring.lo) == pd.Timedelta(hours=23)
    assert (autumn.hi - autumn.lo) == pd.Timedelta(hours=25)


def test_engine_filter_and_local_date_agree_at_the_edge(tmp_path):
    """Orders at 23:30 and 00:30 local time land on their local days in the engine too."""
    con = ibis.duckdb.connect()
    stamps = pd.to_datetime(["2024-07-02T03:30Z", "2024-07-02T04:30Z"]).as_unit("us")
    table = con.create_table("t", pd.DataFrame({"created_at": stamps}))
    window = Window.of("2024-07-01", zone="America/New_York")
    assert table.filter(in_window(table.created_at, window)).count().execute() == 1
    days = table.select(day=local_date(table.created_at, "America/New_York")).day.execute()
    assert [str(d)[:10] for d in days] == ["2024-07-01", "2024-07-02"]


def test_date_columns_filter_on_local_days(tmp_path):
    """A window over date_day includes both ends and nothing else."""
    write_table(tmp_path, "web_traffic_daily",
                _web(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]))
    store = Store.open(tmp_path, LONDON)
    table = store.table("web_traffic_daily")
    window = store.window("2024-01-02", "2024-01-03")
    assert table.filter(in_window(table.date_day, window)).count().execute() == 2


def test_store_from_any_ibis_connection():
    """A Store can wrap an existing backend whose tables use the canonical names."""
    con = ibis.duckdb.connect()
    con.create_table("web_traffic_daily", _web(["2024-01-01", "2024-01-02"]))
    store = Store.from_connection(con, LONDON)
    assert store.has("web_traffic_daily") and not store.has("orders")
    assert store.table("web_traffic_daily").count().execute() == 2


def test_one_day_read_skips_other_months_and_row_groups(tmp_path):
    """On a year of orders in monthly parts, reading one day reads a sliver of the files.

    The table holds an order every 10 minutes for 2023 (52,560 rows) in 12 parts of
    1,000-row groups. DuckDB's profile shows the bytes it read: with the filter pushed into
    the scan it skips the row groups whose min/max exclude the day, so it reads under 10% of
    the files (footers of every part, plus one or two row groups). Without pushdown it would
    read them whole.
    """
    folder = tmp_path / "orders.parquet"
    folder.mkdir()
    stamps = pd.date_range("2023-01-01", "2023-12-31 23:50", freq="10min", tz="UTC")
    for month in range(1, 13):
        chunk = stamps[stamps.month == month]
        part = pa.table({"created_at": pa.array(chunk, pa.timestamp("us", tz="UTC")),
                         "amount": np.random.default_rng(month).random(len(chunk))})
        pq.write_table(part, folder / f"part-{month:02d}.parquet", row_group_size=1_000)
    con = ibis.duckdb.connect()
    orders = con.read_parquet(str(folder / "*.parquet"), table_name="orders")
    day = Window.of("2023-06-15", zone="Europe/London")
    query = orders.filter(in_window(orders.created_at, day)).count()
    day_amount = orders.filter(in_window(orders.created_at, day)).amount.sum()
    raw = con.con
    raw.execute("PRAGMA enable_profiling='json'")
    raw.execute("SET profiling_mode='detailed'")
    raw.execute(f"SET profiling_output='{tmp_path / 'profile.json'}'")
    assert raw.execute(ibis.to_sql(query)).fetchall() == [(144,)]
    raw.execute(ibis.to_sql(day_amount)).fetchall()
    profile = json.loads((tmp_path / "profile.json").read_text())
    on_disk = sum(p.stat().st_size for p in folder.iterdir())
    assert 0 < profile["total_bytes_read"] < 0.10 * on_disk
    raw.execute(ibis.to_sql(orders.amount.sum())).fetchall()
    whole = json.loads((tmp_path / "profile.json").read_text())
    assert whole["total_bytes_read"] > 10 * profile["total_bytes_read"]
