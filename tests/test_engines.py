"""The same reports on every engine: DuckDB, PostgreSQL and Spark (`local[2]`).

Every daily, weekly and monthly figure and list of the small demo store is computed on
DuckDB and again on each other engine, opened the way `playbook run` opens it: through
[engine] in the settings. The PostgreSQL server and the Spark session are shared by the
whole test run (tests/conftest.py); without them the tests fail under CI and skip locally.
The daily pages on PostgreSQL are compared in test_daily_postgres.py, not again here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import inspect

import ibis
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from demo_data import DEMO_UNTIL
from hypothesis import given, settings
from hypothesis import strategies as st
from ibis import _

from opslib import store as store_module
from opslib.cli import main
from opslib.config import ENGINES, Settings
from opslib.errors import DatabaseError, SettingsError
from opslib.ingest.postgres import copy_to_database
from opslib.store import Store, Window, connect_database, local_date, seconds_between
from opslib.views.base import load_report
from opslib.views.daily import (
    customer_service, journal, kpis, marketing_today, orders_shipping, returns_refunds,
    stock_watch,
)
from opslib.views.daily import data as daily_data
from opslib.views.monthly import (
    customers_loyalty, inventory_planning, marketing_plan, performance_review,
    shipping_returns_policy,
)
from opslib.views.monthly import data as monthly_data
from opslib.views.weekly import cash, kpi_report, marketing_social, service_followup, site_analytics
from opslib.views.weekly import data as weekly_data

ZONE = "Europe/London"
WEEK = Window.of(DEMO_UNTIL - dt.timedelta(days=6), DEMO_UNTIL, zone=ZONE)  # Mon..Sun
MONTH = Window.of(DEMO_UNTIL.replace(day=1), DEMO_UNTIL, zone=ZONE)
PAGES = {
    "daily": ((journal, orders_shipping, returns_refunds, customer_service, stock_watch, kpis,
               marketing_today), DEMO_UNTIL),
    "weekly": ((kpi_report, cash, service_followup, site_analytics, marketing_social), WEEK),
    "monthly": ((performance_review, customers_loyalty, marketing_plan, inventory_planning,
                 shipping_returns_policy), DEMO_UNTIL),
}
# The arguments of each list by parameter name (after the store).
ARGUMENTS = {"daily": {"day": DEMO_UNTIL, "days": 28},
             "weekly": {"window": WEEK, "week": WEEK, "by": "sku"},
             "monthly": {"day": DEMO_UNTIL, "window": MONTH}}
DATA = {"daily": daily_data, "weekly": weekly_data, "monthly": monthly_data}
ENGINES = ("postgres", "spark")


def _lists(cadence: str) -> list[tuple[str, tuple]]:
    """(name, arguments) of every list and figure set a cadence's pages read."""
    out = []
    for name in DATA[cadence].__all__:
        function = getattr(DATA[cadence], name)
        if name == "as_of" or not inspect.isfunction(inspect.unwrap(function)):
            continue
        first, *params = inspect.signature(function).parameters
        if first == "store" and all(p in ARGUMENTS[cadence] for p in params):
            out.append((name, tuple(ARGUMENTS[cadence][p] for p in params)))
    return out


def _cases(kind: str) -> list:
    cases = []
    for engine in ENGINES:
        for cadence in PAGES:
            if engine == "postgres" and cadence == "daily":
                continue  # test_daily_postgres.py
            if kind == "figures":
                cases += [pytest.param(engine, cadence, page, id=f"{engine}-{cadence}-"
                                       f"{page.__name__.rsplit('.', 1)[1]}")
                          for page in PAGES[cadence][0]]
            else:
                cases += [pytest.param(engine, cadence, name, args,
                                       id=f"{engine}-{cadence}-{name}")
                          for name, args in _lists(cadence)]
    return cases


def _with_engine(settings: Settings, **engine) -> Settings:
    return Settings.from_dict({**settings.to_dict(), "engine": engine})


@pytest.fixture(scope="module")
def engines(request, small_demo_dir, demo_settings) -> dict:
    """DuckDB, and each other engine opened lazily (a missing one skips only its tests)."""
    opened: dict[str, Store] = {"duckdb": Store.open(small_demo_dir, demo_settings)}

    def get(engine: str) -> Store:
        if engine not in opened:
            if engine == "postgres":
                url = request.getfixturevalue("postgres_url")
                copy_to_database(small_demo_dir, url)
                settings = _with_engine(demo_settings, kind="postgres", url=url)
            else:
                request.getfixturevalue("spark_session")
                settings = _with_engine(demo_settings, kind="spark", url="local[2]")
            opened[engine] = Store.open(small_demo_dir, settings)
        return opened[engine]

    opened["get"] = get
    return opened


def assert_same(left, right, where: str = "") -> None:
    """Equal values: frames and series cell by cell, numbers to 1e-9, recursively."""
    if isinstance(left, ibis.Table):
        left, right = left.to_pandas(), right.to_pandas()
        left = left.sort_values(list(left.columns)).reset_index(drop=True)
        right = right.sort_values(list(right.columns)).reset_index(drop=True)
    if isinstance(left, pd.DataFrame):
        pd.testing.assert_frame_equal(left.reset_index(drop=True), right.reset_index(drop=True),
                                      check_dtype=False, rtol=1e-9, obj=where or "frame")
    elif isinstance(left, pd.Series):
        pd.testing.assert_series_equal(left, right, check_dtype=False, rtol=1e-9)
    elif isinstance(left, pd.Index):
        pd.testing.assert_index_equal(left, right, exact=False)
    elif isinstance(left, np.ndarray):
        np.testing.assert_allclose(left, right, rtol=1e-9, equal_nan=True)
    elif isinstance(left, dict):
        assert left.keys() == right.keys(), where
        for key in left:
            assert_same(left[key], right[key], f"{where}[{key!r}]")
    elif isinstance(left, (list, tuple)):
        assert len(left) == len(right), where
        for i, (a, b) in enumerate(zip(left, right)):
            assert_same(a, b, f"{where}[{i}]")
    elif dataclasses.is_dataclass(left):
        assert_same(dataclasses.asdict(left), dataclasses.asdict(right), where)
    elif isinstance(left, float) or isinstance(right, float):
        assert left == pytest.approx(right, rel=1e-9, nan_ok=True), where
    else:
        assert left == right, where


@pytest.mark.slow
@pytest.mark.parametrize(("engine", "cadence", "page"), _cases("figures"))
def test_figures_are_the_same_on_every_engine(engines, engine, cadence, page):
    other, at = engines["get"](engine), PAGES[cadence][1]
    assert page.figures(other, at) == pytest.approx(page.figures(engines["duckdb"], at),
                                                    nan_ok=True)


@pytest.mark.slow
@pytest.mark.parametrize(("engine", "cadence", "name", "args"), _cases("lists"))
def test_lists_are_the_same_on_every_engine(engines, engine, cadence, name, args):
    other = engines["get"](engine)
    loader = getattr(DATA[cadence], name)
    assert_same(loader(engines["duckdb"], *args), loader(other, *args), name)


# ---------------------------------------------------------------------------------------
# What differs per engine, each as the Spark trial found it


@pytest.fixture(scope="module")
def spark_store(engines) -> Store:
    return engines["get"]("spark")


@pytest.mark.slow
@settings(max_examples=8, deadline=None)
@given(zone=st.sampled_from(["Europe/London", "America/St_Johns", "Asia/Kolkata",
                             "Pacific/Chatham", "Australia/Lord_Howe", "America/Los_Angeles"]))
def test_local_days_on_spark_follow_the_time_zone_database(spark_store, zone):
    """Every order's local day in any zone (daylight saving changes included), as pandas
    computes it: Spark has no `timezone()`, the old code failed with UNRESOLVED_ROUTINE."""
    orders = spark_store.table("orders")
    got = orders.select("order_id", day=local_date(orders.created_at, zone)).to_pandas()
    frame = orders.select("order_id", "created_at").to_pandas().merge(got, on="order_id")
    expected = frame.created_at.dt.tz_convert(zone).dt.date
    assert (pd.to_datetime(frame.day).dt.date == expected).all()


@pytest.mark.slow
def test_durations_on_spark_keep_fractions_of_a_second(spark_store):
    """Spark's unix_timestamp drops the fraction; durations must not (old code did)."""
    shipments = spark_store.table("shipments").filter(_.delivered_at.notnull())
    got = shipments.select("shipment_id", "shipped_at", "delivered_at",
                           seconds=seconds_between(_.delivered_at, _.shipped_at)).to_pandas()
    exact = (got.delivered_at - got.shipped_at).dt.total_seconds()
    assert (got.delivered_at.dt.microsecond != 0).any()
    np.testing.assert_allclose(got.seconds, exact, rtol=0, atol=1e-6)


@pytest.mark.slow
def test_spark_results_are_utc_in_microseconds(spark_store, small_demo_store):
    """Frames, columns and scalars reach pandas as DuckDB gives them (Spark's are naive)."""
    for store in (spark_store, small_demo_store):
        orders = store.table("orders")
        frame = orders.select("created_at", "cancelled_at").limit(5).to_pandas()
        assert {str(kind) for kind in frame.dtypes} == {"datetime64[us, UTC]"}
        newest = orders.created_at.max().to_pandas()
        assert newest.tz is not None and newest.unit == "us"
        assert str(orders.created_at.to_pandas().dtype) == "datetime64[us, UTC]"


@pytest.mark.slow
def test_materialize_on_spark_gives_a_shared_result(spark_store):
    """No temporary tables on Spark (the old code raised NotImplementedError)."""
    orders = spark_store.table("orders")
    shared = spark_store.materialize(orders.group_by("channel").aggregate(n=_.count()))
    assert shared.n.sum().to_pandas() == orders.count().to_pandas()


# ---------------------------------------------------------------------------------------
# The settings: [engine] reaches `playbook run`, the notebooks and `playbook check`


def test_engine_kind_errors_name_the_setting_and_the_choices():
    with pytest.raises(SettingsError) as err:
        Settings.from_dict({"engine": {"kind": "sparkk"}})
    assert "'engine.kind': expected one of duckdb, postgres, spark, found 'sparkk'" \
        in str(err.value)


@settings(max_examples=30, deadline=None)
@given(kind=st.text(min_size=1, max_size=12).filter(lambda k: k not in ENGINES))
def test_every_unknown_engine_is_refused(kind):
    with pytest.raises(SettingsError, match="engine.kind"):
        Settings.from_dict({"engine": {"kind": kind}})


@pytest.mark.parametrize(("engine", "key"), [
    ({"kind": "postgres", "url": "mysql://shop@db/shop"}, "engine.url"),
    ({"kind": "postgres", "url": ""}, "engine.url"),
    ({"kind": "spark", "url": "local[two]"}, "engine.url"),
    ({"kind": "duckdb", "url": "local[2]"}, "engine.url"),
    ({"kind": "duckdb", "tables": "shop"}, "engine.tables"),
    ({"kind": "postgres", "url": "postgresql://shop@db/shop", "options": {"a": 1}},
     "engine.options"),
    ({"kind": "spark", "options": {"spark.jars": ["a.jar"]}}, "engine.options.spark.jars"),
    ({"kind": "spark", "password_env": "NOT A NAME"}, "engine.password_env"),
    ({"kind": "spark", "workers": 4}, "engine.workers"),
])
def test_bad_engine_settings_name_the_key(engine, key):
    with pytest.raises(SettingsError, match=f"'{key}'"):
        Settings.from_dict({"engine": engine})


def test_a_password_in_the_url_is_refused_and_never_repeated():
    with pytest.raises(SettingsError) as err:
        Settings.from_dict({"engine": {"kind": "postgres",
                                       "url": "postgresql://shop:hunter2@db/shop"}})
    assert "hunter2" not in str(err.value) and "PLAYBOOK_DB_PASSWORD" in str(err.value)


def test_the_password_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("SHOP_DB_PASSWORD", "p@ss:word/1")
    url = store_module._with_password("postgresql://shop@db:5432/shop", "SHOP_DB_PASSWORD")
    assert url == "postgresql://shop:p%40ss%3Aword%2F1@db:5432/shop"
    monkeypatch.delenv("SHOP_DB_PASSWORD")
    assert store_module._with_password("postgresql://shop@db/shop", "SHOP_DB_PASSWORD") == \
        "postgresql://shop@db/shop"


def _settings_file(folder, engine: dict) -> str:
    lines = ["[store]", 'timezone = "Europe/London"', "", "[engine]"]
    lines += [f"{key} = {value!r}".replace("'", '"') for key, value in engine.items()]
    path = folder / "playbook.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


@pytest.mark.slow
def test_notebooks_and_runs_open_the_configured_engine(spark_store, small_demo_dir, tmp_path):
    """load_report is what every report notebook (and so `playbook run`) calls."""
    settings_file = _settings_file(tmp_path, {"kind": "spark", "url": "local[2]"})
    report = load_report(data_dir=small_demo_dir, report_date=DEMO_UNTIL,
                         settings_file=settings_file)
    assert report.store.con.name == "pyspark"
    assert kpis.figures(report.store, DEMO_UNTIL) == pytest.approx(
        kpis.figures(spark_store, DEMO_UNTIL), nan_ok=True)


@pytest.mark.slow
def test_check_reads_the_tables_through_spark(spark_store, small_demo_dir, tmp_path):
    settings_file = _settings_file(tmp_path, {"kind": "spark", "url": "local[2]"})
    result = CliRunner().invoke(main, ["check", "--data", str(small_demo_dir),
                                       "--settings", settings_file])
    assert result.exit_code == 0, result.output
    parquet, engine = result.output.split("Tables as spark (local[2]) sees them")
    orders = spark_store.table("orders").count().to_pandas()
    assert f"ok    orders: {orders:,} rows" in parquet and f"ok    orders: {orders:,} rows" \
        in engine


@pytest.mark.slow
def test_postgres_tables_as_views_over_a_shops_own_schema(engines, postgres_url, tmp_path,
                                                          demo_settings):
    """[engine] tables names a schema of views; `playbook check` needs no data folder."""
    engines["get"]("postgres")  # the canonical tables, copied into the public schema
    con = connect_database(postgres_url)
    con.raw_sql("CREATE SCHEMA reporting")
    try:
        for name in ("orders", "order_lines", "returns", "web_traffic_daily", "ad_spend_daily",
                     "products", "purchase_orders"):
            con.raw_sql(f"CREATE VIEW reporting.{name} AS SELECT * FROM public.{name}")
        settings = _with_engine(demo_settings, kind="postgres", url=postgres_url,
                                tables="reporting")
        views = Store.open(tmp_path / "no-data-here", settings)
        assert views.has("orders") and not views.has("tickets")
        assert kpis.figures(views, DEMO_UNTIL) == pytest.approx(
            kpis.figures(engines["duckdb"], DEMO_UNTIL), nan_ok=True)
        settings_file = _settings_file(tmp_path, {"kind": "postgres", "url": postgres_url,
                                                  "tables": "reporting"})
        result = CliRunner().invoke(main, ["check", "--data", str(tmp_path / "none"),
                                           "--settings", settings_file])
        assert result.exit_code == 0, result.output
        assert "Tables as postgres" in result.output and "--    tickets: absent" in result.output
    finally:  # the other PostgreSQL tests replace the tables these views depend on
        con.raw_sql("DROP SCHEMA reporting CASCADE")


def test_a_missing_schema_names_the_setting(postgres_url, demo_settings, tmp_path):
    settings = _with_engine(demo_settings, kind="postgres", url=postgres_url,
                            tables="no_such_schema")
    with pytest.raises(DatabaseError, match=r"\[engine\] tables"):
        Store.open(tmp_path, settings)
