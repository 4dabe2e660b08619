"""Site analytics: traffic by source, the shop funnel, bounce, product pages that do not sell.

Rules (docs/metrics.md, "Weekly"):

* Sessions, add-to-cart sessions, checkout sessions and bounces are the daily sums of
  opslib.metrics.web.daily_traffic; a week is the sum of its days.
* The funnel's last step is the analytics tool's `orders` (orders attributed to sessions),
  so every step counts the same visits and a step's rate never compares two tools. The
  KPI conversion rate divides the shop's counted orders (all channels) by sessions instead,
  so the two can differ (marketplace and point-of-sale orders have no session).
* Each step's rate is ÷ the step before; `rate_of_sessions` is ÷ sessions.
* bounce rate = bounces ÷ sessions (Google Analytics 4 defines it as 1 − engaged sessions ÷
  sessions, which the canonical table does not carry).
* A product page has many views and few orders in the window when its views are at least
  the HIGH_VIEWS_QUANTILE (75th percentile) of the viewed SKUs' views and at least
  MIN_VIEWS, and its view-to-order rate (orders containing the SKU ÷ page views) is below
  LOW_CONVERSION_FACTOR (half) of the rate over all viewed SKUs. A product out of stock
  on more than half the window's days (opslib.metrics.stock: available ≤ 0 and nothing
  sold) is left out: its page could not sell, so the page is not what to fix.
"""

from __future__ import annotations

import ibis
import pandas as pd
from ibis import _

from opslib.metrics.common import ratio, require, series_ratio
from opslib.metrics.sales import sales_by_sku
from opslib.metrics.stock import sku_velocity
from opslib.metrics.web import daily_traffic
from opslib.store import Window, in_window

__all__ = ["HIGH_VIEWS_QUANTILE", "MIN_VIEWS", "LOW_CONVERSION_FACTOR", "FUNNEL_STEPS",
           "traffic_by_source", "site_totals", "funnel_steps", "product_page_results",
           "many_views_few_orders"]

HIGH_VIEWS_QUANTILE = 0.75
MIN_VIEWS = 50
LOW_CONVERSION_FACTOR = 0.5
FUNNEL_STEPS = (("Sessions", "count_sessions"), ("Added to cart", "add_to_cart_sessions"),
                ("Reached checkout", "checkout_sessions"), ("Ordered", "orders"))

_TRAFFIC_COLUMNS = ("date_day", "source", "medium", "sessions", "users", "bounces",
                    "add_to_cart_sessions", "checkout_sessions", "orders")


def traffic_by_source(web_traffic_daily: ibis.Table, *, window: Window) -> pd.DataFrame:
    """Sessions and their results per source and medium over the window, biggest first.

    Grain: source × medium. Columns: source, medium, count_sessions, session_share (of all
    sessions), bounce_rate, add_to_cart_rate, checkout_rate, orders (the analytics tool's),
    order_rate (orders ÷ sessions).
    """
    require(web_traffic_daily, "web_traffic_daily", _TRAFFIC_COLUMNS)
    rows = web_traffic_daily.filter(in_window(web_traffic_daily.date_day, window))
    frame = rows.group_by(["source", "medium"]).aggregate(
        count_sessions=_.sessions.sum(), bounces=_.bounces.sum(),
        add_to_cart_sessions=_.add_to_cart_sessions.sum(),
        checkout_sessions=_.checkout_sessions.sum(), orders=_.orders.sum()).to_pandas()
    frame = frame.astype({"count_sessions": "int64", "orders": "int64"})
    total = frame.count_sessions.sum()
    frame["session_share"] = series_ratio(frame.count_sessions,
                                          pd.Series(total, index=frame.index))
    frame["bounce_rate"] = series_ratio(frame.bounces, frame.count_sessions)
    frame["add_to_cart_rate"] = series_ratio(frame.add_to_cart_sessions, frame.count_sessions)
    frame["checkout_rate"] = series_ratio(frame.checkout_sessions, frame.count_sessions)
    frame["order_rate"] = series_ratio(frame.orders, frame.count_sessions)
    frame = frame.sort_values(["count_sessions", "source", "medium"],
                              ascending=[False, True, True])
    return frame[["source", "medium", "count_sessions", "session_share", "bounce_rate",
                  "add_to_cart_rate", "checkout_rate", "orders", "order_rate"]] \
        .reset_index(drop=True)


def site_totals(web_traffic_daily: ibis.Table, *, window: Window) -> dict[str, float | None]:
    """The window's site figures: sums of the daily traffic, the funnel's orders, bounce rate.

    Keys: count_sessions, bounces, add_to_cart_sessions, checkout_sessions, orders,
    bounce_rate.
    """
    require(web_traffic_daily, "web_traffic_daily", _TRAFFIC_COLUMNS)
    daily = daily_traffic(web_traffic_daily, window=window)
    out: dict[str, float | None] = {
        column: int(daily[column].sum())
        for column in ("count_sessions", "bounces", "add_to_cart_sessions", "checkout_sessions")}
    rows = web_traffic_daily.filter(in_window(web_traffic_daily.date_day, window))
    out["orders"] = int(rows.orders.sum().fill_null(0).to_pyarrow().as_py())
    out["bounce_rate"] = ratio(out["bounces"], out["count_sessions"])
    return out


def funnel_steps(totals: dict[str, float | None]) -> pd.DataFrame:
    """The funnel sessions → cart → checkout → order from `site_totals`, a rate per step.

    Grain: step. Columns: step, count_sessions (sessions reaching the step), step_rate
    (÷ the step before; empty for the first), rate_of_sessions.

    >>> funnel_steps({"count_sessions": 1000, "add_to_cart_sessions": 80,
    ...               "checkout_sessions": 40, "orders": 20}).step_rate.tolist()
    [nan, 0.08, 0.5, 0.5]
    """
    rows = []
    previous = None
    for label, key in FUNNEL_STEPS:
        value = totals[key]
        rows.append({"step": label, "count_sessions": value,
                     "step_rate": ratio(value, previous) if previous is not None else None,
                     "rate_of_sessions": ratio(value, totals["count_sessions"])})
        previous = value
    return pd.DataFrame(rows).astype({"count_sessions": "int64", "step_rate": "float64",
                                      "rate_of_sessions": "float64"})


def product_page_results(product_views_daily: ibis.Table, orders: ibis.Table,
                         order_lines: ibis.Table, products: ibis.Table | None = None, *,
                         window: Window,
                         inventory_snapshots: ibis.Table | None = None) -> pd.DataFrame:
    """Page views, add-to-carts and orders per SKU viewed in the window, most viewed first.

    Orders are the SKU's counted orders (opslib.metrics.sales.sales_by_sku). Grain: SKU
    with page views. Columns: sku, title, views, add_to_carts, count_orders, quantity_sold,
    add_to_cart_rate (÷ views), view_to_order_rate (count_orders ÷ views),
    days_out_of_stock (0 without inventory_snapshots) and is_mostly_out_of_stock (out of
    stock on more than half the window's days).
    """
    require(product_views_daily, "product_views_daily",
            ("date_day", "sku", "views", "add_to_carts"))
    rows = product_views_daily.filter(in_window(product_views_daily.date_day, window))
    views = rows.group_by("sku").aggregate(views=_.views.sum(),
                                           add_to_carts=_.add_to_carts.sum()).to_pandas()
    views = views[views.views > 0]
    sold = sales_by_sku(orders, order_lines, window=window)
    frame = views.merge(sold[["sku", "count_orders", "quantity_sold"]], on="sku", how="left")
    frame = frame.fillna({"count_orders": 0, "quantity_sold": 0})
    frame = frame.astype({"views": "int64", "add_to_carts": "int64", "count_orders": "int64",
                          "quantity_sold": "int64"})
    titles = pd.DataFrame({"sku": pd.Series(dtype="object"), "title": pd.Series(dtype="object")})
    if products is not None and len(frame):
        require(products, "products", ("sku", "title"))
        titles = products.filter(products.sku.isin(frame.sku.tolist())) \
            .select("sku", "title").to_pandas()
    frame = frame.merge(titles, on="sku", how="left")
    frame["add_to_cart_rate"] = series_ratio(frame.add_to_carts, frame.views)
    frame["view_to_order_rate"] = series_ratio(frame.count_orders, frame.views)
    frame["days_out_of_stock"] = 0
    if inventory_snapshots is not None and len(frame):
        stock = sku_velocity(orders, order_lines, inventory_snapshots, window=window)
        out = (window.days - stock.set_index("sku").in_stock_days).reindex(frame.sku)
        frame["days_out_of_stock"] = out.fillna(0).to_numpy()
    frame = frame.astype({"days_out_of_stock": "int64"})
    frame["is_mostly_out_of_stock"] = frame.days_out_of_stock * 2 > window.days
    frame = frame.sort_values(["views", "sku"], ascending=[False, True])
    return frame[["sku", "title", "views", "add_to_carts", "count_orders", "quantity_sold",
                  "add_to_cart_rate", "view_to_order_rate", "days_out_of_stock",
                  "is_mostly_out_of_stock"]].reset_index(drop=True)


def many_views_few_orders(pages: pd.DataFrame, *, quantile: float = HIGH_VIEWS_QUANTILE,
                          min_views: int = MIN_VIEWS,
                          factor: float = LOW_CONVERSION_FACTOR,
                          out_of_stock: bool = False) -> pd.DataFrame:
    """The rows of a product_page_results frame with many views and few orders.

    Adds store_view_to_order_rate (over all rows). Most viewed first. Rows marked
    is_mostly_out_of_stock are left out; `out_of_stock=True` returns just those instead
    (the pages that would be listed had the product been in stock).

    >>> pages = pd.DataFrame({"sku": list("ABCD"), "views": [400, 300, 100, 60],
    ...     "count_orders": [2, 30, 10, 6]})
    >>> many_views_few_orders(pages).sku.tolist()
    ['A']
    """
    if pages.empty:
        return pages.assign(store_view_to_order_rate=pd.Series(dtype="float64"))
    store_rate = ratio(pages.count_orders.sum(), pages.views.sum())
    floor = max(float(pages.views.quantile(quantile)), float(min_views))
    rate = series_ratio(pages.count_orders, pages.views)
    chosen = pages[(pages.views >= floor) & (rate < (store_rate or 0) * factor)]
    if "is_mostly_out_of_stock" in chosen:
        chosen = chosen[chosen.is_mostly_out_of_stock == out_of_stock]
    elif out_of_stock:
        chosen = chosen.iloc[:0]
    return chosen.assign(store_view_to_order_rate=store_rate).reset_index(drop=True)
