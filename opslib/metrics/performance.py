"""The month's performance: cart abandonment, winners and losers, the 13-month trend.

Definitions (docs/metrics.md, "Monthly"). Orders, net sales, AOV, conversion and returns of a
month are the daily functions (opslib.metrics.sales, web, returns) over the month's window.

* cart abandonment = started checkouts without an order ÷ started checkouts, by the day the
  checkout started. A checkout counts as completed when it has a completed_order_id (the
  data keep no completion time, so one completed days later counts as completed).
* winners and losers per SKU: net sales = gross − line discounts − refunds of the SKU booked
  in the window (order-level discounts and refunds without a SKU belong to no product; a
  table row says how much). The reason shown for a change is the biggest of: units (the
  change in units at last period's price), price (the change in average selling price on
  this period's units) and stock-outs (when the SKU had more out-of-stock days and sold
  fewer units).
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
from ibis import _

from opslib.metrics.common import full_calendar, ratio, require, series_ratio
from opslib.metrics.months import month_starts
from opslib.metrics.sales import counted_lines, daily_sales
from opslib.metrics.web import daily_traffic
from opslib.store import Window, in_window, local_date

__all__ = ["daily_checkouts", "checkout_totals", "sku_net_sales", "winners_and_losers",
           "category_changes", "monthly_trend"]


def daily_checkouts(checkouts: ibis.Table, *, window: Window) -> pd.DataFrame:
    """Checkouts started per local day (a full calendar).

    Grain: day. Columns: date_day, count_checkouts, count_checkouts_abandoned,
    cart_abandonment_rate (empty on a day without checkouts).
    """
    require(checkouts, "checkouts", ("checkout_id", "created_at", "completed_order_id"))
    rows = checkouts.filter(in_window(checkouts.created_at, window))
    frame = rows.group_by(date_day=local_date(rows.created_at, window.zone)).aggregate(
        count_checkouts=_.count(),
        count_checkouts_abandoned=_.completed_order_id.isnull().sum()) \
        .to_pandas()
    out = full_calendar(frame, window, zero=["count_checkouts", "count_checkouts_abandoned"])
    out["cart_abandonment_rate"] = series_ratio(out.count_checkouts_abandoned,
                                                out.count_checkouts)
    return out


def checkout_totals(daily: pd.DataFrame) -> dict[str, float | None]:
    """The window's checkouts, abandoned checkouts and abandonment rate from the days.

    >>> checkout_totals(pd.DataFrame({"count_checkouts": [10, 0],
    ...                               "count_checkouts_abandoned": [7, 0]}))
    {'count_checkouts': 10, 'count_checkouts_abandoned': 7, 'cart_abandonment_rate': 0.7}
    """
    started = int(daily.count_checkouts.sum())
    abandoned = int(daily.count_checkouts_abandoned.sum())
    return {"count_checkouts": started, "count_checkouts_abandoned": abandoned,
            "cart_abandonment_rate": ratio(abandoned, started)}


def sku_net_sales(orders: ibis.Table, order_lines: ibis.Table, returns: ibis.Table | None,
                  *, window: Window) -> pd.DataFrame:
    """Net sales per SKU over the window (SKU-less lines and refunds as sku empty).

    Grain: SKU. Columns: sku, quantity_sold, gross_sales, line_discounts, refunds,
    net_sales (gross − line discounts − refunds), avg_price ((gross − line discounts) ÷
    units).
    """
    require(order_lines, "order_lines", ("discount_amount",))
    lines = counted_lines(orders, order_lines, window=window)
    sold = lines.group_by("sku").aggregate(
        quantity_sold=_.quantity.sum(), gross_sales=_.line_gross.sum(),
        line_discounts=_.discount_amount.sum()).to_pandas()
    refunds = pd.DataFrame(columns=["sku", "refunds"])
    if returns is not None:
        booked = returns.filter(in_window(returns.refunded_at, window))
        refunds = booked.group_by("sku").aggregate(
            refunds=_.refund_amount.fill_null(0).sum()).to_pandas()
    frame = sold.merge(refunds, on="sku", how="outer")
    for column in ("gross_sales", "line_discounts", "refunds"):
        frame[column] = frame[column].astype("float64").fillna(0.0)
    frame["quantity_sold"] = frame.quantity_sold.fillna(0).astype("int64")
    frame["net_sales"] = frame.gross_sales - frame.line_discounts - frame.refunds
    frame["avg_price"] = series_ratio(frame.gross_sales - frame.line_discounts,
                                      frame.quantity_sold)
    return frame


def _out_days(inventory_snapshots: ibis.Table | None, window: Window) -> pd.DataFrame:
    if inventory_snapshots is None:
        return pd.DataFrame(columns=["sku", "out_of_stock_days"])
    snaps = inventory_snapshots.filter(in_window(inventory_snapshots.snapshot_date, window))
    return snaps.filter((snaps.on_hand - snaps.committed) <= 0).group_by("sku").aggregate(
        out_of_stock_days=_.count()).to_pandas()


def winners_and_losers(orders: ibis.Table, order_lines: ibis.Table,
                       returns: ibis.Table | None, products: ibis.Table,
                       inventory_snapshots: ibis.Table | None = None, *, window: Window,
                       previous: Window, count: int = 10) -> pd.DataFrame:
    """The `count` biggest gains and drops in net sales per SKU against `previous`.

    Grain: SKU. Columns: rank_label (gain / drop), sku, title, category, net_sales,
    net_sales_before, net_sales_change, quantity_sold, quantity_sold_before, avg_price,
    avg_price_before, out_of_stock_days, out_of_stock_days_before, reason (units, price,
    stock-outs). Gains biggest first, then drops biggest first.
    """
    require(products, "products", ("sku", "title", "category"))
    now = sku_net_sales(orders, order_lines, returns, window=window)
    before = sku_net_sales(orders, order_lines, returns, window=previous)
    frame = now.merge(before, on="sku", how="outer", suffixes=("", "_before"))
    frame = frame[frame.sku.notna()]
    for column in ("net_sales", "net_sales_before"):
        frame[column] = frame[column].fillna(0.0)
    for column in ("quantity_sold", "quantity_sold_before"):
        frame[column] = frame[column].fillna(0).astype("int64")
    outs = _out_days(inventory_snapshots, window).merge(
        _out_days(inventory_snapshots, previous), on="sku", how="outer",
        suffixes=("", "_before"))
    frame = frame.merge(outs, on="sku", how="left")
    for column in ("out_of_stock_days", "out_of_stock_days_before"):
        frame[column] = frame[column].fillna(0).astype("int64")
    frame["net_sales_change"] = frame.net_sales - frame.net_sales_before
    frame["reason"] = _reasons(frame)
    frame = frame.merge(products.select("sku", "title", "category").to_pandas(), on="sku",
                        how="left")
    gains = frame[frame.net_sales_change > 0].nlargest(count, "net_sales_change")
    drops = frame[frame.net_sales_change < 0].nsmallest(count, "net_sales_change")
    out = pd.concat([gains.assign(rank_label="gain"), drops.assign(rank_label="drop")])
    return out[["rank_label", "sku", "title", "category", "net_sales", "net_sales_before",
                "net_sales_change", "quantity_sold", "quantity_sold_before", "avg_price",
                "avg_price_before", "out_of_stock_days", "out_of_stock_days_before",
                "reason"]].reset_index(drop=True)


def _reasons(frame: pd.DataFrame) -> pd.Series:
    price_before = frame.avg_price_before.fillna(frame.avg_price).fillna(0.0)
    price_now = frame.avg_price.fillna(price_before).fillna(0.0)
    units_effect = (frame.quantity_sold - frame.quantity_sold_before) * price_before
    price_effect = (price_now - price_before) * frame.quantity_sold
    stock_out = (frame.out_of_stock_days > frame.out_of_stock_days_before) & \
        (frame.quantity_sold < frame.quantity_sold_before)
    reason = np.where(units_effect.abs() >= price_effect.abs(), "units", "price")
    return pd.Series(np.where(stock_out, "stock-outs", reason), index=frame.index)


def category_changes(orders: ibis.Table, order_lines: ibis.Table, returns: ibis.Table | None,
                     products: ibis.Table, *, window: Window,
                     previous: Window) -> pd.DataFrame:
    """Net sales per category against `previous`, biggest change first (by size).

    Grain: category (`(no product)` for SKU-less lines, refunds and order-level
    discounts). Columns: category, net_sales, net_sales_before, net_sales_change,
    quantity_sold, quantity_sold_before. The rows add up to the store's net sales.
    """
    require(products, "products", ("sku", "category"))
    categories = products.select("sku", "category").to_pandas()

    def by_category(span: Window) -> pd.DataFrame:
        skus = sku_net_sales(orders, order_lines, returns, window=span).merge(
            categories, on="sku", how="left")
        skus["category"] = skus.category.fillna("(no product)")
        out = skus.groupby("category")[["net_sales", "quantity_sold"]].sum()
        day = daily_sales(orders, order_lines, returns, window=span)
        unassigned = float(day.net_sales.sum()) - float(out.net_sales.sum())
        if round(unassigned, 2) != 0:
            if "(no product)" not in out.index:
                out.loc["(no product)"] = [0.0, 0]
            out.loc["(no product)", "net_sales"] += unassigned
        return out

    frame = by_category(window).merge(by_category(previous), how="outer", left_index=True,
                                      right_index=True, suffixes=("", "_before")) \
        .fillna(0).reset_index()
    frame["net_sales_change"] = frame.net_sales - frame.net_sales_before
    frame = frame.reindex(frame.net_sales_change.abs().sort_values(ascending=False).index)
    return frame[["category", "net_sales", "net_sales_before", "net_sales_change",
                  "quantity_sold", "quantity_sold_before"]].reset_index(drop=True).astype(
        {"quantity_sold": "int64", "quantity_sold_before": "int64"})


def monthly_trend(orders: ibis.Table, order_lines: ibis.Table, returns: ibis.Table | None,
                  web_traffic_daily: ibis.Table | None = None, *,
                  window: Window) -> pd.DataFrame:
    """Month by month over the window: sums of the daily sales (and sessions).

    Grain: calendar month. Columns: month_start, count_orders, net_sales, avg_order_value,
    count_sessions and conversion_rate (empty without traffic data).
    """
    daily = daily_sales(orders, order_lines, returns, window=window)
    if web_traffic_daily is not None:
        traffic = daily_traffic(web_traffic_daily, window=window)
        daily = daily.merge(traffic[["date_day", "count_sessions"]], on="date_day")
    else:
        daily = daily.assign(count_sessions=np.nan)
    daily["month_start"] = pd.to_datetime(daily.date_day).dt.to_period("M").dt.to_timestamp()
    sums = daily.groupby("month_start").agg(
        count_orders=("count_orders", "sum"), gross_sales=("gross_sales", "sum"),
        discounts=("discounts", "sum"), net_sales=("net_sales", "sum"),
        count_sessions=("count_sessions", lambda s: s.sum(min_count=1)))
    months = pd.DataFrame({"month_start": pd.to_datetime(month_starts(window))})
    out = months.merge(sums.reset_index(), on="month_start", how="left")
    out["avg_order_value"] = series_ratio(out.gross_sales - out.discounts, out.count_orders)
    out["conversion_rate"] = series_ratio(out.count_orders, out.count_sessions)
    return out[["month_start", "count_orders", "net_sales", "avg_order_value",
                "count_sessions", "conversion_rate"]]
