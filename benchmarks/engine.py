"""Engine: the daily KPI set from the metric layer (Ibis on DuckDB) vs plain pandas.

The daily KPI set is what the KPI notebook compares: for day D and the 28 days before it,
sessions, conversion rate, orders, net sales, AOV, units, returns, ad spend and blended
ROAS per day (`opslib.views.daily.data.kpi_days`). The two sides:

* **ibis**: `Store.open` and `kpi_days`, as the notebook does: DuckDB reads the 29 days'
  row groups of the Parquet files and returns 29 rows.
* **pandas**: what a notebook author writes without the library: `pd.read_parquet` of each
  table (orders, order_lines, returns, web_traffic_daily, ad_spend_daily), local days with
  `tz_convert`, filter to the 29 days, group by day. Same definitions (an order cancelled
  before its day ended does not count; lines by their own day; refunds on their refund
  day). It imports pandas only.

Each side runs in a fresh Python process. Two times are reported: the process's wall time
(interpreter start and imports included) and the compute time after the imports, which is
what a notebook pays in `playbook run` and on a staff page, whose kernels have imported
pandas, Ibis and opslib before they are handed a notebook. Peak memory is the process's
own maximum RSS (getrusage), exact rather than sampled, imports included. The two frames
must be equal before any timing counts.

Spark: the same metric code on Spark `local[2]` against DuckDB, per cadence: every figure
of the daily, weekly and monthly pages (as tests/test_engines.py compares them), each engine
in a fresh process that opens the store through [engine] settings. Times are the session
start plus the store's opening, then each cadence's figures; memory is the peak of the
process tree (Spark's JVM is a child process). The figures must agree before a timing
counts.

    python -m benchmarks engine        # or: python -m benchmarks.engine side ibis ...
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import Measured, alternate, spread

SIDES = ("ibis", "pandas")
KPI_COLUMNS = ["date_day", "count_sessions", "conversion_rate", "count_orders", "net_sales",
               "avg_order_value", "quantity_sold", "returns_amount", "ad_spend",
               "blended_roas"]
LOOKBACK_DAYS = 29  # D and the 28 days before it
TIME_TARGET, MEMORY_TARGET = 5.0, 3.0


def kpis_with_ibis(data: Path, day: dt.date, zone: str):
    """The metric layer's daily KPI frame, as the KPI notebook gets it."""
    from opslib.config import Settings
    from opslib.store import Store
    from opslib.views.daily.data import kpi_days

    settings = Settings.from_dict({"store": {"timezone": zone}})
    frame, _missing = kpi_days(Store.open(data, settings), day)
    return frame[KPI_COLUMNS]


def kpis_with_pandas(data: Path, day: dt.date, zone: str):
    """The same frame the way a notebook author would write it with pandas alone."""
    import pandas as pd

    tables = data / "tables"
    first = pd.Timestamp(day) - pd.Timedelta(days=LOOKBACK_DAYS - 1)
    last = pd.Timestamp(day)

    def local_day(column: pd.Series) -> pd.Series:
        return column.dt.tz_convert(zone).dt.tz_localize(None).dt.normalize()

    orders = pd.read_parquet(tables / "orders.parquet")
    orders["date_day"] = local_day(orders.created_at)
    cancelled_same_day = local_day(orders.cancelled_at) <= orders.date_day
    orders = orders[orders.date_day.between(first, last) & ~cancelled_same_day]

    lines = pd.read_parquet(tables / "order_lines.parquet")
    lines["date_day"] = local_day(lines.created_at)
    lines = lines[lines.date_day.between(first, last) & lines.order_id.isin(orders.order_id)]
    lines["line_gross"] = lines.unit_price * lines.quantity

    returns = pd.read_parquet(tables / "returns.parquet")
    returns["date_day"] = local_day(returns.refunded_at)
    returns = returns[returns.date_day.between(first, last)]

    traffic = pd.read_parquet(tables / "web_traffic_daily.parquet")
    traffic["date_day"] = pd.to_datetime(traffic.date_day)
    ads = pd.read_parquet(tables / "ad_spend_daily.parquet")
    ads["date_day"] = pd.to_datetime(ads.date_day)

    days = pd.DataFrame({"date_day": pd.date_range(first, last, freq="D")})
    frame = days.merge(orders.groupby("date_day").agg(
        count_orders=("order_id", "size"), discounts=("discount_amount", "sum")),
        on="date_day", how="left")
    frame = frame.merge(lines.groupby("date_day").agg(
        gross_sales=("line_gross", "sum"), quantity_sold=("quantity", "sum")),
        on="date_day", how="left")
    frame = frame.merge(returns.groupby("date_day").agg(
        returns_amount=("refund_amount", "sum")), on="date_day", how="left")
    frame = frame.merge(traffic.groupby("date_day").agg(count_sessions=("sessions", "sum")),
                        on="date_day", how="left")
    frame = frame.merge(ads.groupby("date_day").agg(ad_spend=("spend", "sum")),
                        on="date_day", how="left")
    frame = frame.fillna(0)
    after_discounts = frame.gross_sales - frame.discounts
    frame["net_sales"] = after_discounts - frame.returns_amount
    frame["conversion_rate"] = frame.count_orders / frame.count_sessions
    frame["avg_order_value"] = after_discounts / frame.count_orders
    frame["blended_roas"] = after_discounts / frame.ad_spend
    return frame[KPI_COLUMNS]


def _import_side(engine: str) -> None:
    """What a warm kernel has imported before the notebook computes anything."""
    import pandas  # noqa: F401  (both sides)

    if engine == "ibis":
        import ibis.backends.duckdb  # noqa: F401

        import opslib.views.daily.data  # noqa: F401


def _side_parser(engines) -> argparse.ArgumentParser:
    """The options every side process takes: the engine, the store, the day and the output."""
    parser = argparse.ArgumentParser()
    parser.add_argument("engine", choices=engines)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--date", type=dt.date.fromisoformat, required=True)
    parser.add_argument("--zone", required=True)
    parser.add_argument("--out", type=Path, required=True)
    return parser


def side_main(argv: list[str]) -> None:
    """One side in this process: compute, save the frame, print times and peak memory."""
    args = _side_parser(SIDES).parse_args(argv)
    compute = kpis_with_ibis if args.engine == "ibis" else kpis_with_pandas
    _import_side(args.engine)
    started = time.perf_counter()
    frame = compute(args.data, args.date, args.zone)
    seconds = time.perf_counter() - started
    frame.to_pickle(args.out)
    print(json.dumps({"compute_seconds": seconds,
                      "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def _run_side(engine: str, data: Path, day: dt.date, zone: str, work: Path, rep: int):
    out = work / f"{engine}-{rep}.pkl"
    command = [sys.executable, "-m", "benchmarks.engine", "side", engine, "--data", str(data),
               "--date", str(day), "--zone", zone, "--out", str(out)]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"engine side {engine} failed:\n{done.stderr[-3000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    measured = Measured(seconds, figures["max_rss_mb"], figures["max_rss_mb"], 1,
                        compute_seconds=figures["compute_seconds"])
    import pandas as pd

    return measured, pd.read_pickle(out)


def _same(left, right) -> bool:
    import pandas as pd

    pd.testing.assert_frame_equal(left.reset_index(drop=True), right.reset_index(drop=True),
                                  check_dtype=False, rtol=1e-9)
    return True


def compare(data: Path, *, day: dt.date, zone: str, reps: int):
    """Sides keyed 'ibis' and 'pandas', results checked equal every repetition."""
    with tempfile.TemporaryDirectory(prefix="bench-engine-") as work:
        sides = {engine: (lambda rep, engine=engine: _run_side(engine, data, day, zone,
                                                                Path(work), rep))
                 for engine in SIDES}
        return alternate(sides, reps, same=_same, label="engine")


def report(sides, *, orders: int, lines: int, day: dt.date, reps: int) -> str:
    """Markdown table and verdicts."""
    rows = ["| side | wall time, s | compute after imports, s | peak memory (max RSS), MB |",
            "|---|---|---|---|"]
    for engine in SIDES:
        compute = [m.compute_seconds for m in sides.runs[engine]]
        rows.append(f"| {engine} | {spread(sides.seconds(engine))} | {spread(compute)} | "
                    f"{sides.peak_rss(engine):,.0f} |")
    wall_ratio = sides.median("pandas") / sides.median("ibis")
    memory_ratio = sides.peak_rss("pandas") / sides.peak_rss("ibis")
    compute_ratio = (statistics.median(m.compute_seconds for m in sides.runs["pandas"])
                     / statistics.median(m.compute_seconds for m in sides.runs["ibis"]))
    return "\n".join([
        f"Store of {orders:,} orders and {lines:,} order lines; day {day}; {reps} "
        "repetitions, alternating; the two 29-row frames equal every time.", "", *rows, "",
        f"* compute time: pandas ÷ ibis = {compute_ratio:.1f}× (target ≥ {TIME_TARGET:.0f}×: "
        f"{'met' if compute_ratio >= TIME_TARGET else 'MISSED'}); whole process, interpreter "
        f"start and imports included: {wall_ratio:.1f}×",
        f"* memory: pandas ÷ ibis = {memory_ratio:.1f}× (target ≥ {MEMORY_TARGET:.0f}×: "
        f"{'met' if memory_ratio >= MEMORY_TARGET else 'MISSED'})"])


# ---------------------------------------------------------------------------------------
# Spark local against DuckDB, per cadence

ENGINES = ("duckdb", "spark")
CADENCES = ("daily", "weekly", "monthly")
SPARK_MASTER = "local[2]"
# Two shuffle partitions per core, as docs/engines.md advises for a local master.
SPARK_OPTIONS = {"spark.sql.shuffle.partitions": 4}


def cadence_figures(store, day: dt.date, cadence: str) -> dict[str, dict]:
    """Every figure of a cadence's pages as of `day` (weekly: the week ending on it)."""
    from opslib.store import Window
    from opslib.views.daily import (
        customer_service, journal, kpis, marketing_today, orders_shipping, returns_refunds,
        stock_watch,
    )
    from opslib.views.monthly import (
        customers_loyalty, inventory_planning, marketing_plan, performance_review,
        shipping_returns_policy,
    )
    from opslib.views.weekly import (
        cash, kpi_report, marketing_social, service_followup, site_analytics,
    )

    pages = {"daily": (journal, orders_shipping, returns_refunds, customer_service,
                       stock_watch, kpis, marketing_today),
             "weekly": (kpi_report, cash, service_followup, site_analytics, marketing_social),
             "monthly": (performance_review, customers_loyalty, marketing_plan,
                         inventory_planning, shipping_returns_policy)}[cadence]
    at = Window.of(day - dt.timedelta(days=6), day, zone=store.zone) \
        if cadence == "weekly" else day
    return {page.__name__: page.figures(store, at) for page in pages}


def cadences_main(argv: list[str]) -> None:
    """One engine in this process: open the store, time each cadence, save the figures."""
    parser = _side_parser(ENGINES)
    parser.add_argument("--cadences", default=",".join(CADENCES))
    args = parser.parse_args(argv)
    import pickle

    from opslib.config import Settings
    from opslib.store import Store

    engine = {"kind": "spark", "url": SPARK_MASTER, "options": SPARK_OPTIONS} \
        if args.engine == "spark" else {}
    settings = Settings.from_dict({"store": {"timezone": args.zone}, "engine": engine})
    started = time.perf_counter()
    store = Store.open(args.data, settings)
    seconds = {"start": time.perf_counter() - started}
    figures = {}
    for cadence in args.cadences.split(","):
        started = time.perf_counter()
        figures[cadence] = cadence_figures(store, args.date, cadence)
        seconds[cadence] = time.perf_counter() - started
    args.out.write_bytes(pickle.dumps(figures))
    print(json.dumps(seconds))


def _run_cadences(engine: str, data: Path, day: dt.date, zone: str, cadences, work: Path,
                  rep: int):
    import pickle

    from benchmarks.common import measure

    out = work / f"cadences-{engine}-{rep}.pkl"
    measured = measure([sys.executable, "-m", "benchmarks.engine", "cadences", engine,
                        "--data", str(data), "--date", str(day), "--zone", zone,
                        "--cadences", ",".join(cadences), "--out", str(out)])
    measured.compute_seconds = json.loads(measured.stdout.strip().splitlines()[-1])
    return measured, pickle.loads(out.read_bytes())


def _same_figures(left: dict, right: dict) -> bool:
    """{cadence: {page: {figure: value}}} equal to 1e-9, NaN equal to NaN."""
    import pytest

    flat = [({f"{c}.{p}.{n}": v for c in a for p in a[c] for n, v in a[c][p].items()})
            for a in (left, right)]
    return flat[0] == pytest.approx(flat[1], rel=1e-9, nan_ok=True)


def compare_engines(data: Path, *, day: dt.date, zone: str, reps: int,
                    cadences=CADENCES):
    """Sides keyed 'duckdb' and 'spark'; every figure checked equal every repetition."""
    with tempfile.TemporaryDirectory(prefix="bench-spark-") as work:
        sides = {engine: (lambda rep, engine=engine: _run_cadences(
            engine, data, day, zone, cadences, Path(work), rep)) for engine in ENGINES}
        return alternate(sides, reps, same=_same_figures, label="spark")


def report_engines(found: dict[str, tuple[int, object]], *, day: dt.date, reps: int,
                   cadences=CADENCES) -> str:
    """Markdown: per store and engine, start and time per cadence, process-tree peak."""
    rows = ["| store (orders) | engine | start, s | " + " | ".join(
        f"{c}, s" for c in cadences) + " | whole process, s | peak memory PSS (Σ RSS), MB |",
            "|---|---|---|" + "---|" * len(cadences) + "---|---|"]
    for size, (orders, sides) in found.items():
        for engine in ENGINES:
            runs = sides.runs[engine]
            cells = [spread([m.compute_seconds[part] for m in runs])
                     for part in ("start", *cadences)]
            rows.append(f"| {size} ({orders:,}) | {engine} | " + " | ".join(cells) +
                        f" | {spread(sides.seconds(engine))} | {sides.peak_pss(engine):,.0f}"
                        f" ({sides.peak_rss(engine):,.0f}) |")
    return "\n".join([
        f"Every figure of the {', '.join(cadences)} pages, report date {day}; Spark "
        f"{SPARK_MASTER} against DuckDB, {reps} repetition(s), alternating; the figures "
        "equal every time.", "", *rows])


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "side":
        side_main(sys.argv[2:])
    elif len(sys.argv) > 1 and sys.argv[1] == "cadences":
        cadences_main(sys.argv[2:])
    else:
        raise SystemExit("run it through `python -m benchmarks engine`")
