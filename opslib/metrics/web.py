"""Web: sessions and the shop funnel per day, and the conversion rate.

conversion rate = orders (the shop's counted orders, opslib.metrics.sales) ÷ sessions (the
analytics tool's). Google Analytics and Shopify each divide their own counts (sessions with
a purchase ÷ sessions), so their rate can differ from ours when the two tools disagree on
orders.
"""

from __future__ import annotations

import ibis
import pandas as pd
from ibis import _

from opslib.metrics.common import full_calendar, ratio, require
from opslib.store import Window, in_window

__all__ = ["daily_traffic", "conversion_rate", "TRAFFIC_COLUMNS"]

TRAFFIC_COLUMNS = ("date_day", "count_sessions", "count_users", "pageviews", "bounces",
                   "add_to_cart_sessions", "checkout_sessions")


def daily_traffic(web_traffic_daily: ibis.Table, *, window: Window) -> pd.DataFrame:
    """Sessions and funnel steps over all sources per day (a full calendar).

    Grain: day. Columns: TRAFFIC_COLUMNS (counts, 0 on a day without traffic rows).
    """
    require(web_traffic_daily, "web_traffic_daily", (
        "date_day", "sessions", "users", "pageviews", "bounces", "add_to_cart_sessions",
        "checkout_sessions"))
    rows = web_traffic_daily.filter(in_window(web_traffic_daily.date_day, window))
    frame = rows.group_by("date_day").aggregate(
        count_sessions=_.sessions.sum(), count_users=_.users.sum(),
        pageviews=_.pageviews.sum(), bounces=_.bounces.sum(),
        add_to_cart_sessions=_.add_to_cart_sessions.sum(),
        checkout_sessions=_.checkout_sessions.sum()).to_pandas()
    return full_calendar(frame, window, zero=list(TRAFFIC_COLUMNS[1:]))


def conversion_rate(count_orders: int | float | None,
                    count_sessions: int | float | None) -> float | None:
    """Orders ÷ sessions as a 0–1 fraction; None without sessions.

    >>> conversion_rate(3, 120), conversion_rate(3, 0)
    (0.025, None)
    """
    return ratio(count_orders, count_sessions)
