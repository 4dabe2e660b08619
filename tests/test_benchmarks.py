"""The benchmark harness measures what it claims, and its quick mode runs end to end."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.common import Measured, alternate, measure
from benchmarks.forecast import (HORIZON, LIBRARY, Scored, library_forecasts, origins,
                                 pooled, references, room_share, superstore_panels, wape_bias, weeks_from,
                                 weeks_to)

ROOT = Path(__file__).resolve().parents[1]


def test_the_process_tree_peak_includes_children():
    """A parent that holds 50 MB starts a child that holds 300 MB: the tree's peak holds
    both, while the parent alone never goes near it."""
    child = "b = bytearray(300 * 2**20); import time; time.sleep(1.5)"
    parent = (f"import subprocess, sys; a = bytearray(50 * 2**20); "
              f"subprocess.run([sys.executable, '-c', {child!r}], check=True)")
    measured = measure([sys.executable, "-c", parent])
    assert measured.peak_processes >= 2
    assert measured.peak_pss_mb > 350
    assert measured.peak_rss_mb >= measured.peak_pss_mb * 0.99
    assert measured.seconds >= 1.5


def test_a_failing_command_is_an_error_not_a_timing():
    with pytest.raises(RuntimeError, match="failed"):
        measure([sys.executable, "-c", "raise SystemExit(3)"])


def test_sides_that_disagree_void_the_timings():
    def side(result):
        return lambda rep: (Measured(0.1, 1.0, 1.0, 1), result)

    with pytest.raises(SystemExit, match="different results"):
        alternate({"a": side(1), "b": side(2)}, 2, label="test")
    agreed = alternate({"a": side(1), "b": side(1)}, 3, label="test")
    assert agreed.seconds("a") == [0.1, 0.1, 0.1]


def test_the_order_of_the_sides_rotates_every_repetition():
    calls = []

    def side(name):
        return lambda rep: (calls.append(name), (Measured(0.0, 0.0, 0.0, 1), None))[1]

    alternate({"a": side("a"), "b": side("b"), "c": side("c")}, 3, label="test")
    assert calls == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]


@pytest.mark.slow
def test_quick_engine_and_import_benchmarks_run_and_report(tmp_path):
    """`python -m benchmarks engine import --quick`: the comparisons (Spark too) run, check
    their sides agree, and write the results with a verdict per target."""
    done = subprocess.run([sys.executable, "-m", "benchmarks", "engine", "import", "--quick",
                           "--reps", "1", "--work", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    results = (tmp_path / "results.md").read_text(encoding="utf-8")
    assert "the two 29-row frames equal every time" in results
    assert "compute time: pandas ÷ ibis" in results and "memory: pandas ÷ ibis" in results
    assert "Spark local[2] against DuckDB" in results and "the figures equal every time" \
        in results
    assert "rows read 20,000 = loaded 20,000 + rejected 0" in results
    assert "Machine: " in results


# ---- the forecast benchmark's pure parts (the library environment is not needed) ---------

def test_forecast_scores_on_hand_worked_numbers():
    """Actual 10, 0, 5 (the middle week out of stock) against 8, 1, 7: scored |error|
    2 + 2 = 4 over 15 units, forecast − actual = −2 + 2 = 0. Baseline 0.6, hindsight 0.4:
    a model at 0.5 captures half the room, one at 0.7 loses half of it."""
    wape, bias = wape_bias(np.array([10.0, 0.0, 5.0]), np.array([8.0, 1.0, 7.0]),
                           np.array([True, False, True]))
    assert (wape, bias) == pytest.approx((4 / 15, 0.0))
    assert wape_bias(np.array([4.0, 6.0]), np.array([6.0, 9.0]), np.ones(2))[1] == \
        pytest.approx(0.5)
    assert room_share(0.5, 0.6, 0.4) == pytest.approx(0.5)
    assert room_share(0.7, 0.6, 0.4) == pytest.approx(-0.5)


def test_forecast_pooled_over_dates_on_hand_worked_numbers():
    """Date A: 2 scored weeks, 10 units, |errors| 2 and 2 (WAPE 0.4, bias −0.4); date B:
    2 weeks, 30 units, errors 0 and 0. Pooled: WAPE 4 ÷ 40 = 0.1, bias −4 ÷ 40 = −0.1,
    RMSE √((4 + 4 + 0 + 0) ÷ 4) = √2, seconds 1 + 2."""
    day = dt.date(2026, 1, 31)
    a = Scored("p", day, 1, 2, 10.0, wape={"baseline": 0.4}, bias={"baseline": -0.4},
               squared={"baseline": 8.0}, seconds={"baseline": 1.0})
    b = Scored("p", day, 1, 2, 30.0, wape={"baseline": 0.0}, bias={"baseline": 0.0},
               squared={"baseline": 0.0}, seconds={"baseline": 2.0})
    assert pooled([a, b])["baseline"] == pytest.approx((0.1, -0.1, 2 ** 0.5, 3.0))


def test_forecast_references_and_origins():
    """One series selling d units on day d (0..449), origin 393 (56 days before the end):
    the weeks after it, the 28-day baseline, seasonal naive 364 days back, and the
    hindsight level (the mean of the 8 weeks)."""
    units = np.arange(450, dtype=float)[None, :]
    origin = 393
    actual = weeks_from(units, origin + 1, HORIZON)
    assert actual[0].tolist() == [7 * (394 + 7 * w) + 21 for w in range(HORIZON)]
    found = references(units, origin, actual)
    assert found["baseline"][0].tolist() == [7 * sum(range(366, 394)) / 28] * HORIZON
    assert found["seasonal naive"][0].tolist() == [7 * (30 + 7 * w) + 21
                                                   for w in range(HORIZON)]
    assert found["hindsight"][0].tolist() == [7 * (394 + 24.5) + 21] * HORIZON
    # Less than a year of history before the origin: seasonal naive is the baseline.
    short = references(units, 350, weeks_from(units, 351, HORIZON))
    assert short["seasonal naive"].tolist() == short["baseline"].tolist()
    # weeks_to: the full weeks ending on the origin, older partial days left out.
    assert weeks_to(units[:, :10], 9).tolist() == [[sum(range(3, 10))]]
    # The product's origins (evenly spaced, the last 8 weeks before the report date), less
    # those with under 28 days of history before them.
    report = dt.date(2026, 2, 4)
    every = origins(pd.date_range("2020-01-01", periods=9), report)
    days = pd.date_range("2025-05-01", report)
    shift = (days[0] - pd.Timestamp("2020-01-01")).days
    kept = origins(days, report)
    assert len(every) == 13 and len(set(np.diff(every))) == 1 and every[0] < every[1]
    assert days[kept[-1]].date() == report - dt.timedelta(weeks=8)
    assert kept == [i - shift for i in every if i - shift >= 27] and len(kept) < 13


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 20), min_size=8, max_size=8).filter(any),
       st.floats(0.1, 10))
def test_the_hindsight_level_is_unbiased_and_scores_do_not_depend_on_the_unit(weeks, scale):
    """Whatever a series sold, its hindsight level (the mean of the 8 weeks) has zero bias
    over them; counting in other units (× scale) changes no WAPE or bias."""
    actual = np.array([weeks], dtype=float)
    everything = np.ones_like(actual, dtype=bool)
    level = references(np.zeros((1, 40)), 35, actual)["hindsight"]
    assert wape_bias(actual, level, everything)[1] == pytest.approx(0.0, abs=1e-12)
    guess = actual[:, ::-1] + 1
    assert wape_bias(actual * scale, guess * scale, everything) == pytest.approx(
        wape_bias(actual, guess, everything))


def test_superstore_weekly_demand_per_product_and_sub_category(tmp_path):
    """Hand-made lines over 14 days (two 7-day weeks): P1 sells 2 + 1 in week 1 and 3 in
    week 2, P2 4 in week 2; a P2 line shipped before it was ordered is left out and
    counted."""
    sample = tmp_path / "superstore.csv"
    sample.write_text(
        "Row ID,Order Date,Ship Date,Product ID,Category,Sub-Category,Product Name,Quantity\n"
        '1,1/1/2021,1/3/2021,P1,Furniture,Chairs,"Chair, black",2\n'
        '2,1/3/2021,1/4/2021,P1,Furniture,Chairs,"Chair, black",1\n'
        "3,1/3/2021,1/2/2021,P2,Office Supplies,Paper,Paper,5\n"
        "4,1/9/2021,1/10/2021,P2,Office Supplies,Paper,Paper,4\n"
        '5,1/14/2021,1/15/2021,P1,Furniture,Chairs,"Chair, black",3\n', encoding="utf-8")
    panels, dropped = superstore_panels(sample)
    assert dropped == 1
    products, subcategories = panels["product"], panels["sub-category"]
    assert products.series == ("P1", "P2") and subcategories.series == ("Chairs", "Paper")
    assert str(products.days[0].date()) == "2021-01-01" and len(products.days) == 14
    assert weeks_to(products.units, 13).tolist() == [[3.0, 3.0], [0.0, 4.0]]
    assert weeks_to(subcategories.units, 13).tolist() == [[3.0, 3.0], [0.0, 4.0]]
    assert products.in_stock.all()


def test_a_file_without_the_superstore_columns_is_refused_by_name(tmp_path):
    sample = tmp_path / "orders.csv"
    sample.write_text("Order Date,Ship Date,Product ID,Category,Qty\n1/1/2021,1/2/2021,P1,C,2\n",
                      encoding="utf-8")
    with pytest.raises(SystemExit, match=r"orders\.csv, line 1: .*missing Sub-Category, "
                                         r"Quantity"):
        superstore_panels(sample)


def test_library_forecasts_land_on_their_origin_series_and_week(tmp_path):
    """The worker's rows '<origin>:<series>', step 1..8 go back to [origin, series, week]."""
    job = tmp_path / "job-0.parquet"
    rows = [{"unique_id": f"{k}:{i}", "step": h + 1,
             **{m: 100 * k + 10 * i + h + j / 10 for j, m in enumerate(LIBRARY)}}
            for k in range(2) for i in range(3) for h in range(HORIZON)]
    pd.DataFrame(rows).sample(frac=1, random_state=1).to_parquet(
        job.with_suffix(".forecasts.parquet"))
    job.with_suffix(".seconds.json").write_text('{"TSB": 0.5}', encoding="utf-8")
    cubes, seconds = library_forecasts(job, n_series=3, n_origins=2)
    assert seconds == {"TSB": 0.5}
    assert cubes["TSB"][1, 2, 7] == pytest.approx(100 + 20 + 7 + LIBRARY.index("TSB") / 10)
    assert not np.isnan(cubes["AutoETS"]).any() and cubes["AutoETS"].shape == (2, 3, HORIZON)
