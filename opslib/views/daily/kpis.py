"""KPIs: day D against the same weekday last week and the average of the last four."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from opslib import charts
from opslib import display as show
from opslib.store import Store
from opslib.views.base import section
from opslib.views.daily import data
from opslib.views.daily.common import table, tiles

__all__ = ["headline", "comparison", "trend", "figures"]

# The tables this page reads: `playbook run` checks them against the data contract
# before the notebook runs (a test keeps this in step with what the page reads).
READS = ("orders", "order_lines", "returns", "web_traffic_daily", "ad_spend_daily")



def _number(value: float) -> float | None:
    return None if pd.isna(value) else float(value)


@section("Yesterday against a usual day")
def headline(store: Store, day: dt.date) -> list:
    """One tile per KPI, against the average of the last four same weekdays; red = alert."""
    rows = data.kpi_comparison(store, day)
    _, missing = data.kpi_days(store, day)
    items = [show.Tile(r.label, _number(r.value), r.unit, _number(r.avg_last_4_same_weekdays),
                       f"avg of last 4 {day:%A}s", bool(r.is_flagged))
             for r in rows.itertuples()]
    notes = [show.no_data(name, section="KPIs") for name in missing]
    return [tiles(store, items), *notes]


@section("KPI table")
def comparison(store: Store, day: dt.date) -> list:
    """The numbers behind the tiles, each KPI in its own unit; flagged KPIs in red."""
    rows = data.kpi_comparison(store, day)
    currency = store.settings.store.currency
    frame = rows[["kpi", "is_flagged"]].assign(kpi=rows.label)
    for column in ("value", "same_weekday_last_week", "avg_last_4_same_weekdays"):
        frame[column] = [show.format_value(_number(v), u, currency=currency)
                         for v, u in zip(rows[column], rows.unit)]
    for column in ("change_vs_last_week", "change_vs_avg"):
        frame[column] = [show.format_value(_number(v), "rate") for v in rows[column]]
    band = store.settings.targets.alert_band
    return [table(store, frame, highlight="is_flagged",
                  units={c: "text" for c in frame.columns if c != "is_flagged"}),
            show.note(f"Red: outside the KPI's band in playbook.toml, or more than "
                      f"{band:.0%} away from the average of the last four {day:%A}s.")]


@section("The last four weeks")
def trend(store: Store, day: dt.date) -> list:
    """Orders and net sales for the 28 days to D."""
    frame = data.kpi_days(store, day)[0].iloc[-data.TREND_DAYS:]
    return [charts.line(frame, x="date_day", y="count_orders", y_unit="count",
                        title="Orders per day", height=160),
            charts.line(frame, x="date_day", y="net_sales", y_unit="money",
                        title="Net sales per day", height=160)]


def figures(store: Store, day: dt.date) -> dict[str, float | None]:
    """gross_sales, discounts, net_sales, avg_order_value, quantity_sold, count_sessions,
    conversion_rate, ad_spend, blended_roas for day D (None where undefined or no data)."""
    names = ["gross_sales", "discounts", "net_sales", "avg_order_value", "quantity_sold",
             "count_sessions", "conversion_rate", "ad_spend", "blended_roas"]
    if not (store.has("orders") and store.has("order_lines")):
        return dict.fromkeys(names)
    row = data.kpi_days(store, day)[0].iloc[-1]
    return {name: _number(row[name]) for name in names}
