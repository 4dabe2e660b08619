"""Sales: orders, gross / net / total sales, discounts, returns, AOV, units.

Definitions (docs/metrics.md has the full glossary):

* An order counts on the local day it was placed, unless it was cancelled before that day
  ended (test orders, duplicates, fraud caught the same day). A later cancellation does not
  rewrite the day it was placed: money given back shows up as returns on the refund date.
  This keeps every past day final, so a re-run gives the same report, and a week is the sum
  of its days.
* gross sales = Σ unit price × quantity over the lines of counted orders.
* discounts = Σ orders.discount_amount (line and order level).
* returns = Σ refund_amount of refunds booked (refunded_at) on the day, whatever the order's
  date (Shopify books returns the same way).
* net sales = gross − discounts − returns; total sales = net + shipping + tax.
* AOV = (gross − discounts) ÷ orders (Shopify's definition since 2023): returns, shipping
  and tax are left out.

Every function takes a `Window`; a weekly or monthly figure is the same call over a longer
window, and `totals` turns a daily frame into the window's figures.
"""

from __future__ import annotations

import ibis
import pandas as pd
from ibis import _

from opslib.metrics.common import full_calendar, ratio, require, series_ratio
from opslib.store import Window, in_window, local_date

__all__ = ["counted_orders", "counted_lines", "daily_sales", "totals", "sales_by_sku",
           "DAILY_SALES_COLUMNS"]

DAILY_SALES_COLUMNS = (
    "date_day", "count_orders", "gross_sales", "discounts", "returns_amount", "net_sales",
    "shipping_amount", "tax_amount", "total_sales", "quantity_sold", "avg_order_value",
)
_ORDER_COLUMNS = ("order_id", "created_at", "cancelled_at", "discount_amount",
                  "shipping_amount", "tax_amount")
_LINE_COLUMNS = ("order_id", "sku", "quantity", "unit_price", "created_at")
_RETURN_COLUMNS = ("refunded_at", "refund_amount")


def counted_orders(orders: ibis.Table, *, window: Window) -> ibis.Table:
    """Orders placed in the window and not cancelled before their day ended, with date_day.

    The filter is on created_at against constants, so only the window's row groups are read.
    """
    require(orders, "orders", _ORDER_COLUMNS)
    placed = orders.filter(in_window(orders.created_at, window))
    day = local_date(placed.created_at, window.zone)
    same_day_cancel = placed.cancelled_at.notnull() & (
        local_date(placed.cancelled_at, window.zone) <= day)
    return placed.filter(~same_day_cancel.fill_null(False)).mutate(date_day=day)


def counted_lines(orders: ibis.Table, order_lines: ibis.Table, *,
                  window: Window) -> ibis.Table:
    """The lines of the counted orders (read by the lines' own created_at), with date_day."""
    require(order_lines, "order_lines", _LINE_COLUMNS)
    kept = counted_orders(orders, window=window).select("order_id")
    lines = order_lines.filter(in_window(order_lines.created_at, window))
    lines = lines.semi_join(kept, "order_id")
    return lines.mutate(date_day=local_date(lines.created_at, window.zone),
                        line_gross=lines.unit_price * lines.quantity)


def daily_sales(orders: ibis.Table, order_lines: ibis.Table, returns: ibis.Table | None, *,
                window: Window) -> pd.DataFrame:
    """One row per local day of the window (a full calendar): DAILY_SALES_COLUMNS.

    Grain: day. Counts and money are 0 on a day without orders; avg_order_value is empty
    (NaN) when there are no orders. `returns=None` (a store without returns data) books no
    returns, so net sales = gross − discounts.
    """
    placed = counted_orders(orders, window=window)
    by_order = placed.group_by("date_day").aggregate(
        count_orders=_.count(), discounts=_.discount_amount.sum(),
        shipping_amount=_.shipping_amount.sum(), tax_amount=_.tax_amount.sum()).to_pandas()
    lines = counted_lines(orders, order_lines, window=window)
    by_line = lines.group_by("date_day").aggregate(
        gross_sales=_.line_gross.sum(), quantity_sold=_.quantity.sum()).to_pandas()
    frame = full_calendar(by_order, window, zero=["count_orders", "discounts",
                                                  "shipping_amount", "tax_amount"])
    frame = frame.merge(full_calendar(by_line, window, zero=["gross_sales", "quantity_sold"]),
                        on="date_day")
    frame = frame.merge(_refunds_by_day(returns, window), on="date_day")
    for column in ("gross_sales", "discounts", "returns_amount", "shipping_amount",
                   "tax_amount"):
        frame[column] = frame[column].astype("float64")
    frame["net_sales"] = frame.gross_sales - frame.discounts - frame.returns_amount
    frame["total_sales"] = frame.net_sales + frame.shipping_amount + frame.tax_amount
    frame["avg_order_value"] = series_ratio(frame.gross_sales - frame.discounts,
                                            frame.count_orders)
    return frame[list(DAILY_SALES_COLUMNS)]


def _refunds_by_day(returns: ibis.Table | None, window: Window) -> pd.DataFrame:
    if returns is None:
        return full_calendar(pd.DataFrame(columns=["date_day"]), window,
                             zero=["returns_amount"]).astype({"returns_amount": "float64"})
    require(returns, "returns", _RETURN_COLUMNS)
    refunded = returns.filter(in_window(returns.refunded_at, window))
    by_day = refunded.group_by(date_day=local_date(refunded.refunded_at, window.zone)) \
        .aggregate(returns_amount=refunded.refund_amount.fill_null(0).sum()).to_pandas()
    return full_calendar(by_day, window, zero=["returns_amount"]) \
        .astype({"returns_amount": "float64"})


def totals(daily: pd.DataFrame) -> dict[str, float | None]:
    """The window's figures from a daily_sales frame: sums, and AOV from the sums.

    >>> day = pd.DataFrame({"count_orders": [2, 0], "gross_sales": [50.0, 0.0],
    ...     "discounts": [5.0, 0.0], "returns_amount": [0.0, 10.0], "net_sales": [45.0, -10.0],
    ...     "shipping_amount": [4.0, 0.0], "tax_amount": [0.0, 0.0],
    ...     "total_sales": [49.0, -10.0], "quantity_sold": [3, 0]})
    >>> t = totals(day)
    >>> t["count_orders"], t["net_sales"], t["avg_order_value"]
    (2, 35.0, 22.5)
    """
    sums = ("gross_sales", "discounts", "returns_amount", "net_sales", "shipping_amount",
            "tax_amount", "total_sales")
    out: dict[str, float | None] = {"count_orders": int(daily.count_orders.sum()),
                                    "quantity_sold": int(daily.quantity_sold.sum())}
    out.update({column: float(daily[column].sum()) for column in sums})
    out["avg_order_value"] = ratio(out["gross_sales"] - out["discounts"], out["count_orders"])
    return out


def sales_by_sku(orders: ibis.Table, order_lines: ibis.Table, *,
                 window: Window) -> pd.DataFrame:
    """Units and gross sales per SKU over the window, best sellers first.

    Grain: SKU (custom items without a SKU are one row with an empty sku). Columns: sku,
    quantity_sold, gross_sales, count_orders (orders containing the SKU).
    """
    lines = counted_lines(orders, order_lines, window=window)
    frame = lines.group_by("sku").aggregate(
        quantity_sold=_.quantity.sum(), gross_sales=_.line_gross.sum(),
        count_orders=_.order_id.nunique()).to_pandas()
    frame = frame.astype({"quantity_sold": "int64", "gross_sales": "float64",
                          "count_orders": "int64"})
    return frame.sort_values(["quantity_sold", "gross_sales", "sku"],
                             ascending=[False, False, True]).reset_index(drop=True)
