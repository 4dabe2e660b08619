"""KPIs: day D against the same weekday last week and the average of the last four."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from opslib import charts, glossary
from opslib import display as show
from opslib.store import Store
from opslib.views import money
from opslib.views.base import section
from opslib.views.daily import data
from opslib.views.daily.common import table, tiles

__all__ = ["headline", "comparison", "trend", "profit", "figures"]

# The tables this page reads: `playbook run` checks them against the data contract
# before the notebook runs (a test keeps this in step with what the page reads).
READS = ("orders", "order_lines", "returns", "web_traffic_daily", "ad_spend_daily",
         "products", "purchase_orders")
PROFIT_ROWS = ("net_sales", "cogs", "gross_profit", "gross_margin_rate", "unknown_cost_rate")



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
    weekday = f"{day:%A}"
    frame = pd.DataFrame({"Figure": rows.label, "is_flagged": rows.is_flagged})
    for column, header in (("value", f"{weekday} {day.day} {day:%B}"),
                           ("same_weekday_last_week", f"Last {weekday}"),
                           ("avg_last_4_same_weekdays", f"Average of the last 4 {weekday}s")):
        frame[header] = [show.format_value(_number(v), u, currency=currency)
                         for v, u in zip(rows[column], rows.unit)]
    for base, header in (("same_weekday_last_week", f"Change on last {weekday}"),
                         ("avg_last_4_same_weekdays", "Change on the average")):
        frame[header] = [show.change(_number(v), _number(b), unit=u, currency=currency)
                         for v, b, u in zip(rows.value, rows[base], rows.unit)]
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
                        title="Net sales per day", height=160,
                        currency=store.settings.store.currency)]


def _day_profit(store: Store, day: dt.date) -> dict[str, float | None]:
    return money.profit_figures(store, data.as_of(store, day))


@section("Gross profit")
def profit(store: Store, day: dt.date) -> list:
    """Day D's cost of goods and gross profit against the same weekday last week."""
    store.table("products")  # no products, no costs: a "no data" note instead
    week_ago = day - dt.timedelta(days=7)
    now, before = _day_profit(store, day), _day_profit(store, week_ago)
    currency = store.settings.store.currency
    frame = pd.DataFrame({
        "Figure": [glossary.label(name) for name in PROFIT_ROWS],
        f"{day:%A} {day.day} {day:%B}": [
            show.format_value(now[n], glossary.unit(n), currency=currency) for n in PROFIT_ROWS],
        f"Last {day:%A}": [
            show.format_value(before[n], glossary.unit(n), currency=currency)
            for n in PROFIT_ROWS],
        "Change": [show.change(now[n], before[n], unit=glossary.unit(n), currency=currency)
                   for n in PROFIT_ROWS]})
    blocks = [table(store, frame, units={c: "text" for c in frame.columns})]
    if now["unknown_cost_rate"]:
        blocks.append(show.note(
            f"{now['unknown_cost_rate']:.0%} of the units sold have no known cost (no unit cost "
            "on the product and no purchase order): their cost is missing from the cost of "
            "goods, not counted as zero."))
    return blocks


def figures(store: Store, day: dt.date) -> dict[str, float | None]:
    """gross_sales, discounts, net_sales, avg_order_value, quantity_sold, count_sessions,
    conversion_rate, ad_spend, blended_roas, cogs, gross_profit, gross_margin_rate and
    unknown_cost_rate for day D (None where undefined or no data)."""
    names = ["gross_sales", "discounts", "net_sales", "avg_order_value", "quantity_sold",
             "count_sessions", "conversion_rate", "ad_spend", "blended_roas"]
    costs = ["cogs", "gross_profit", "gross_margin_rate", "unknown_cost_rate"]
    if not (store.has("orders") and store.has("order_lines")):
        return dict.fromkeys(names + costs)
    row = data.kpi_days(store, day)[0].iloc[-1]
    result = {name: _number(row[name]) for name in names}
    day_profit = _day_profit(store, day) if store.has("products") else {}
    result.update({name: day_profit.get(name) for name in costs})
    return result
