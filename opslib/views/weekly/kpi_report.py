"""KPI report: how did the week go against the week before and the same week last year?"""

from __future__ import annotations

import altair as alt

from opslib import charts, glossary
from opslib import display as show
from opslib.errors import MissingTableError
from opslib.store import Store, Window
from opslib.views.base import section
from opslib.views.weekly import common, data

__all__ = ["ROWS", "week_figures", "headline", "trend", "figures"]

# The tables this page reads: `playbook run` checks them against the data contract
# before the notebook runs (a test keeps this in step with what the page reads).
READS = ("orders", "order_lines", "shipments", "returns", "tickets", "web_traffic_daily",
         "ad_spend_daily")

ROWS = glossary.rows(
    "count_orders", "count_shipments", "count_returns", "refund_amount", "net_sales",
    "avg_order_value", "conversion_rate", "count_tickets_opened",
)
_NAMES = [name for name, _, _ in ROWS]
_PARTS = (
    (("orders", "order_lines"), ("count_orders", "net_sales", "avg_order_value",
                                 "conversion_rate"), data.kpi_week),
    (("shipments",), ("count_shipments",), data.shipments_week),
    (("returns",), ("count_returns", "refund_amount"), data.returns_week),
    (("tickets",), ("count_tickets_opened",), data.tickets_week),
)


def week_figures(store: Store, window: Window) -> dict[str, float | None]:
    """The report's figures for any window; a figure whose table is absent is None."""
    out: dict[str, float | None] = {}
    for tables, names, loader in _PARTS:
        values = common.safely(loader, store, window, names) \
            if all(store.has(t) for t in tables) else dict.fromkeys(names)
        out.update({name: values.get(name) for name in names})
    return out


@section("The week against the week before")
def headline(store: Store, week: Window) -> list:
    """Tiles against last week; the table adds the same week last year."""
    if not store.has("orders") or not store.has("order_lines"):
        raise MissingTableError("orders")
    parts = common.comparison(store, week, ROWS, week_figures, history="orders")
    needed = {t for tables, _, _ in _PARTS for t in tables} | {"web_traffic_daily"}
    absent = sorted(t for t in needed if not store.has(t))
    return parts + [show.no_data(name, section="KPI report") for name in absent]


_TREND = (("count_orders", "Orders per day", "count"), ("net_sales", "Net sales per day", "money"),
          ("conversion_rate", "Conversion rate per day", "rate"),
          ("count_tickets_opened", "Tickets opened per day", "count"))


@section("Daily trend, last eight weeks")
def trend(store: Store, week: Window) -> list:
    """Orders, net sales, conversion and tickets per day for the eight weeks to D."""
    frame = data.trend_days(store, week)
    drawn = [charts.line(frame, x="date_day", y=column, y_unit=unit, title=title, height=120,
                         currency=store.settings.store.currency)
             for column, title, unit in _TREND
             if column in frame and frame[column].notna().any()]
    return [charts.to_display(alt.vconcat(*(chart.altair for chart in drawn)),
                              " ".join(chart.description for chart in drawn))]


def figures(store: Store, week: Window) -> dict[str, float | None]:
    """count_orders, net_sales, avg_order_value, conversion_rate, count_shipments,
    count_returns, refund_amount, count_tickets_opened, each with its _prev_week twin."""
    return common.figures(store, week, _NAMES, week_figures)
