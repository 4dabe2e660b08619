"""Periods: the week before, the same week last year, totals and comparisons."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

from opslib.metrics import periods
from opslib.store import Window


def test_same_week_last_year_is_52_weeks_back_on_the_same_weekdays():
    """Mon 24 – Sun 30 Nov 2025 → Mon 25 Nov – Sun 1 Dec 2024; across a leap day too:
    Mon 2 – Sun 8 Mar 2026 → Mon 3 – Sun 9 Mar 2025."""
    week = periods.same_period_last_year(Window.of("2025-11-24", "2025-11-30", zone="UTC"))
    assert (week.start, week.end) == (dt.date(2024, 11, 25), dt.date(2024, 12, 1))
    leap = periods.same_period_last_year(Window.of("2026-03-02", "2026-03-08", zone="UTC"))
    assert (leap.start, leap.end) == (dt.date(2025, 3, 3), dt.date(2025, 3, 9))
    assert leap.start.weekday() == 0


def test_previous_period_is_right_before():
    week = periods.previous_period(Window.of("2025-11-24", "2025-11-30", zone="UTC"))
    assert (week.start, week.end) == (dt.date(2025, 11, 17), dt.date(2025, 11, 23))


def test_kpi_totals_of_a_store_without_traffic_or_ads():
    """Sessions and ad spend empty every day → their totals and ratios are None, not 0;
    orders 2 + 1 = 3, AOV (40 + 20) ÷ 3 = 20."""
    nan = float("nan")
    days = pd.DataFrame({"count_orders": [2, 1], "count_sessions": [nan, nan],
                         "net_sales": [40.0, 20.0], "quantity_sold": [2, 1],
                         "returns_amount": [0.0, 0.0], "ad_spend": [nan, nan],
                         "sales_after_discounts": [40.0, 20.0]})
    totals = periods.kpi_totals(days)
    assert totals["count_orders"] == 3 and totals["avg_order_value"] == 20.0
    assert totals["count_sessions"] is None and totals["conversion_rate"] is None
    assert totals["ad_spend"] is None and totals["blended_roas"] is None


def test_compare_periods_with_last_year():
    """Orders 12 vs 10 (+20%) vs 15 a year ago (−20%); a rate with a 0 base has no change."""
    frame = periods.compare_periods(
        [("count_orders", "Orders", "count"), ("conversion_rate", "Conversion", "rate")],
        {"count_orders": 12, "conversion_rate": 0.02},
        {"count_orders": 10, "conversion_rate": 0.0},
        {"count_orders": 15, "conversion_rate": None})
    orders, rate = frame.iloc[0], frame.iloc[1]
    assert orders.change_vs_prev == 0.2 and orders.change_vs_last_year == -0.2
    assert math.isnan(rate.change_vs_prev) and math.isnan(rate.value_last_year)
