"""Goals and pacing (opslib.metrics.goals, [goals] in opslib.config): golden projections
worked by hand, goals per month, and new customers per day."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opslib.config import Settings
from opslib.errors import SettingsError
from opslib.metrics import goals, social
from opslib.store import Window

D = dt.date(2025, 6, 18)  # a Wednesday
JUNE = Window.of("2025-06-01", "2025-06-30", zone="UTC")
LY = dt.timedelta(days=364)


def _pattern(first: dt.date, last: dt.date) -> pd.Series:
    """10 on weekdays, 24 on Saturdays and Sundays."""
    days = pd.date_range(first, last)
    return pd.Series([24.0 if d.day_of_week >= 5 else 10.0 for d in days], index=days)


def test_projection_follows_the_weekday_pattern():
    """Eight weeks of 10 on weekdays and 24 at weekends: run rate (28 days) 98 ÷ 7 = 14,
    weekday factor 10/14, weekend 24/14. 1–18 June: 13 weekdays and 5 weekend days =
    130 + 120 = 250. Left: 8 weekdays (19, 20, 23–27, 30) and 4 weekend days (21, 22, 28,
    29) = 80 + 96 = 176, so 426. No history a year back: shape 1."""
    out = goals.project_month(_pattern(D - dt.timedelta(days=55), D), day=D, month=JUNE)
    assert out["mtd"] == 250.0 and out["run_rate"] == 14.0 and out["shape"] == 1.0
    assert out["projected"] == pytest.approx(426.0)


def test_last_years_shape_of_the_month_scales_the_days_left():
    """Last year the rest of June ran at 28 a day against 14 in the 28 days before it:
    shape 2, so the 176 expected for the days left becomes 352: 250 + 352 = 602."""
    series = _pattern(D - dt.timedelta(days=55), D)
    run_up = pd.Series(14.0, index=pd.date_range(D - LY - dt.timedelta(days=27), D - LY))
    rest = pd.Series(28.0, index=pd.date_range(D - LY + dt.timedelta(days=1),
                                               JUNE.end - LY))
    out = goals.project_month(pd.concat([run_up, rest, series]), day=D, month=JUNE)
    assert out["shape"] == 2.0
    assert out["projected"] == pytest.approx(602.0)


def test_pace_marks_a_goal_the_projection_misses():
    """Projected 426: a goal of 400 is met, a goal of 500 is missed; a figure without a
    goal has no row."""
    series = {"net_sales": _pattern(D - dt.timedelta(days=55), D),
              "count_orders": _pattern(D - dt.timedelta(days=55), D)}
    frame = goals.pace(series, {"net_sales": 400.0, "count_orders": 500.0}, day=D,
                       month=JUNE).set_index("figure")
    assert list(frame.index) == ["net_sales", "count_orders"]
    assert not frame.loc["net_sales", "is_projected_to_miss"]
    assert frame.loc["count_orders", "is_projected_to_miss"]
    assert frame.loc["net_sales", "goal_progress_rate"] == pytest.approx(250 / 400)
    assert goals.pace(series, {}, day=D, month=JUNE).empty


def test_on_the_last_day_the_projection_is_the_month():
    """Nothing left to project on 30 June."""
    series = _pattern(dt.date(2025, 5, 1), JUNE.end)
    out = goals.project_month(series, day=JUNE.end, month=JUNE)
    assert out["projected"] == out["mtd"] == float(series["2025-06"].sum())


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0, 1000, allow_nan=False), min_size=56, max_size=56),
       st.floats(0.1, 10))
def test_projection_scales_with_the_figure(values, factor):
    """Metamorphic: multiplying every day by a factor multiplies the projection by it."""
    index = pd.date_range(D - dt.timedelta(days=55), D)
    base = goals.project_month(pd.Series(values, index=index), day=D, month=JUNE)
    scaled = goals.project_month(pd.Series(values, index=index) * factor, day=D, month=JUNE)
    assert scaled["projected"] == pytest.approx(base["projected"] * factor, rel=1e-9,
                                                abs=1e-6)
    assert base["projected"] >= base["mtd"]


def test_goals_every_month_or_per_month():
    """A number is every month's goal; a month's own value wins; unset goals are None."""
    s = Settings.from_dict({"goals": {"net_sales": 30000,
                                      "orders": {"every_month": 500, "2025-12": 800}}})
    assert s.goals.for_month("net_sales", dt.date(2025, 6, 1)) == 30000
    assert s.goals.for_month("orders", dt.date(2025, 12, 1)) == 800
    assert s.goals.for_month("orders", dt.date(2025, 11, 1)) == 500
    assert s.goals.for_month("gross_profit", dt.date(2025, 11, 1)) is None
    assert Settings().goals.for_month("net_sales", dt.date(2025, 11, 1)) is None


@pytest.mark.parametrize("raw, key", [
    ({"net_sales": {"2025-13": 1}}, "goals.net_sales.2025-13"),
    ({"net_sales": -5}, "goals.net_sales.every_month"),
    ({"orders": "lots"}, "goals.orders"),
    ({"revenue": 5}, "goals.revenue"),
])
def test_a_bad_goal_names_its_key(raw, key):
    with pytest.raises(SettingsError, match=f"'{key}'"):
        Settings.from_dict({"goals": raw})


def test_new_customers_per_day_add_up_to_the_window(small_demo_store):
    """The days' new customers sum to social.count_new_customers of the whole window."""
    orders = small_demo_store.table("orders")
    window = Window.of("2025-11-01", "2025-11-30", zone="Europe/London")
    days = goals.daily_new_customers(orders, window=window)
    assert len(days) == 30
    assert int(days.count_new_customers.sum()) == social.count_new_customers(orders,
                                                                             window=window)
