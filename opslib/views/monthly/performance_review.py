"""Performance review: the month against the month before and the same month last year."""

from __future__ import annotations

import datetime as dt

from opslib import charts
from opslib import display as show
from opslib.metrics import performance
from opslib.store import Store
from opslib.views.base import section
from opslib.views.monthly import data
from opslib.views.monthly.common import (
    comparison_table, comparison_tiles, month_label, periods, recorded, table, three_months,
)

__all__ = ["HEADLINE", "headline", "trend", "winners_losers", "categories", "figures"]

# The tables this page reads: `playbook run` checks them against the data contract
# before the notebook runs (a test keeps this in step with what the page reads).
READS = ("products", "orders", "order_lines", "returns", "inventory_snapshots",
         "web_traffic_daily", "checkouts")

HEADLINE = (
    ("count_orders", "Orders", "count"),
    ("net_sales", "Net sales", "money"),
    ("avg_order_value", "Average order value", "money"),
    ("conversion_rate", "Conversion rate", "rate"),
    ("cart_abandonment_rate", "Cart abandonment", "rate"),
    ("quantity_sold", "Units sold", "count"),
    ("returns_amount", "Returns (refunded)", "money"),
)
_MONEY = {"net_sales": "money", "net_sales_before": "money", "net_sales_change": "money",
          "avg_price": "money", "avg_price_before": "money", "quantity_sold": "count",
          "quantity_sold_before": "count", "out_of_stock_days": "count",
          "out_of_stock_days_before": "count"}


@section("The month at a glance")
def headline(store: Store, day: dt.date) -> list:
    """Tiles against the month before; a table with the same month last year too."""
    values = three_months(store, day, data.sales_figures)
    return [comparison_tiles(store, values, HEADLINE),
            comparison_table(store, day, values, HEADLINE)]


@section("13-month trend")
def trend(store: Store, day: dt.date) -> list:
    """Orders, net sales and average order value per month."""
    frame = data.trend(store, day)
    return [charts.line(frame, x="month_start", y="net_sales", y_unit="money",
                        title="Net sales per month", height=180,
                        currency=store.settings.store.currency),
            charts.line(frame, x="month_start", y="count_orders", y_unit="count",
                        title="Orders per month", height=160),
            table(store, frame, units={"month_start": "month", "count_orders": "count",
                                       "net_sales": "money", "avg_order_value": "money",
                                       "count_sessions": "count", "conversion_rate": "rate"})]


@section("Winners and losers by product")
def winners_losers(store: Store, day: dt.date) -> list:
    """The biggest gains and drops in net sales per SKU against the month before."""
    t = store.table
    now, before, _ = periods(store, day)
    snapshots = store.optional("inventory_snapshots")
    returns = store.optional("returns")
    frame = performance.winners_and_losers(t("orders"), t("order_lines"), returns,
                                           t("products"), snapshots, window=now,
                                           previous=before)
    return [table(store, frame, units=_MONEY,
                  title=f"{month_label(now)} against {month_label(before)}",
                  empty="No product sold in either month."),
            show.note("Reason: the biggest driver of the change — units sold (at last "
                      "month's price), the average selling price, or stock-outs (more days "
                      "out of stock and fewer units sold).")]


@section("Categories")
def categories(store: Store, day: dt.date) -> list:
    """Net sales per category against the month before; the rows add up to net sales."""
    t = store.table
    now, before, _ = periods(store, day)
    returns = store.optional("returns")
    frame = performance.category_changes(t("orders"), t("order_lines"), returns,
                                         t("products"), window=now, previous=before)
    return [table(store, frame, units=_MONEY),
            charts.bar(frame, x="category", y="net_sales_change", horizontal=True,
                       y_unit="money", title="Change in net sales by category",
                       currency=store.settings.store.currency,
                       height=max(120, 18 * len(frame)))]


def figures(store: Store, day: dt.date) -> dict[str, float | None]:
    """count_orders, net_sales, avg_order_value, conversion_rate, cart_abandonment_rate
    (each with _prev_month and _prev_year)."""
    values = three_months(store, day, data.sales_figures)
    return recorded(values, ("count_orders", "net_sales", "avg_order_value",
                             "conversion_rate", "cart_abandonment_rate"))
