"""Monthly figures reconcile with the daily ones, and last year's figures exist on a
two-year store."""

from __future__ import annotations

import pytest
from demo_data import DEMO_SEED, DEMO_UNTIL

from opslib.metrics import customers, performance, policy, returns, sales, service
from opslib.metrics.months import month_of, trailing_months
from opslib.store import Store, Window
from opslib.views.monthly import (
    customers_loyalty, marketing_plan, performance_review, shipping_returns_policy,
)


def _days(store, month):
    """Daily sales and returns for every day of the month, one day at a time."""
    t = store.table
    days = [Window.of(d.date(), zone=store.zone) for d in month.dates()]
    return ([sales.daily_sales(t("orders"), t("order_lines"), t("returns"), window=d)
             for d in days], [returns.daily_returns(t("returns"), window=d) for d in days])


def test_monthly_counts_and_sums_equal_the_sum_of_the_days(small_demo_store):
    """November: orders, gross − discounts, net sales, return requests and the 13-month
    trend's last month each equal the sum of the 30 daily values."""
    store, t = small_demo_store, small_demo_store.table
    month = month_of(DEMO_UNTIL, zone=store.zone)
    day_sales, day_returns = _days(store, month)
    orders = sum(int(f.count_orders.sum()) for f in day_sales)
    after_discounts = sum(float((f.gross_sales - f.discounts).sum()) for f in day_sales)
    net = sum(float(f.net_sales.sum()) for f in day_sales)
    requested = sum(int(f.count_returns_requested.sum()) for f in day_returns)
    split = customers.new_vs_returning(t("orders"), t("order_lines"), window=month)
    assert split.count_orders.sum() == orders
    assert split.sales_amount.sum() == pytest.approx(after_discounts)
    figures = policy.return_figures(t("orders"), t("order_lines"), t("returns"), window=month)
    assert (figures["count_orders"], figures["count_returns_requested"]) == (orders, requested)
    trend = performance.monthly_trend(t("orders"), t("order_lines"), t("returns"),
                                      window=trailing_months(month, 13))
    assert trend.iloc[-1].count_orders == orders
    assert trend.iloc[-1].net_sales == pytest.approx(net)
    categories = performance.category_changes(t("orders"), t("order_lines"), t("returns"),
                                              t("products"), window=month,
                                              previous=month)
    assert categories.net_sales.sum() == pytest.approx(net)


def test_monthly_csat_equals_the_sum_of_the_days(small_demo_store):
    """November's CSAT: the monthly survey count and rate equal those of the 30 daily
    counts (the same rule, SATISFIED_MIN_SCORE, on both sides)."""
    store, t = small_demo_store, small_demo_store.table
    month = month_of(DEMO_UNTIL, zone=store.zone)
    days = service.daily_csat(t("surveys"), window=month)
    assert len(days) == 30 and days.count_csat_responses.sum() > 20
    monthly = customers.survey_scores(t("surveys"), window=month).iloc[0]
    assert monthly.count_csat == days.count_csat_responses.sum()
    assert monthly.csat_rate == pytest.approx(days.count_csat_satisfied.sum()
                                              / days.count_csat_responses.sum())


@pytest.fixture(scope="module")
def two_year_store(tmp_path_factory, demo_settings) -> Store:
    """A small demo store with two years of history to DEMO_UNTIL."""
    from opslib.demo import generate

    data_dir = tmp_path_factory.mktemp("two_years")
    generate(data_dir, size="small", until=DEMO_UNTIL, years=2, seed=DEMO_SEED,
             settings=demo_settings)
    return Store.open(data_dir, demo_settings)


@pytest.mark.slow
def test_last_year_figures_are_numbers_on_a_two_year_store(two_year_store):
    """November 2025 against November 2024: every `_prev_year` figure is a real number."""
    day = DEMO_UNTIL
    figures = {}
    for page in (performance_review, customers_loyalty, shipping_returns_policy,
                 marketing_plan):
        figures.update(page.figures(two_year_store, day))
    last_year = {name: value for name, value in figures.items() if name.endswith("_prev_year")}
    assert len(last_year) == 13
    assert {name for name, value in last_year.items() if value is None} == set()
    assert figures["count_orders_prev_year"] > 0
