"""Profit and goals for every cadence: the loaders (computed once per store and window) and
the month-to-date pacing section the daily journal and the weekly report share.

Profit needs orders, order lines and products (MissingTableError otherwise); purchase
orders, returns, shipments, bank lines and ad spend are used when present, and a page
names the ones that are absent. Without `[goals]` the pacing section shows nothing and
records nothing.
"""

from __future__ import annotations

import datetime as dt
import functools

import ibis
import pandas as pd

from opslib import display as show
from opslib import glossary
from opslib.errors import MissingTableError
from opslib.metrics import goals, profit, sales, sources
from opslib.metrics.months import month_of
from opslib.store import Store, Window
from opslib.views.base import section
from opslib.views.monthly.data import first_order_day

__all__ = ["OPTIONAL", "absent_note", "profit_days", "profit_figures",
           "contribution_parts", "shipping", "sales_by", "goal_values", "pacing",
           "pacing_section", "goal_figures"]

# Tables profit reads when they exist (a page says when one is absent).
OPTIONAL = ("purchase_orders", "returns", "shipments", "bank_transactions", "ad_spend_daily")
_CACHE = 128


def absent_note(store: Store, names: tuple[str, ...]) -> list[show.Block]:
    """A note naming the optional tables that are absent (empty list when all exist)."""
    missing = [name for name in names if not store.has(name)]
    if not missing:
        return []
    return [show.note("Counted as 0 for lack of data: " + ", ".join(
        name.replace("_", " ") for name in missing) + ".")]


@functools.lru_cache(maxsize=_CACHE)
def profit_days(store: Store, window: Window) -> pd.DataFrame:
    """profit.daily_profit over the window."""
    t = store.table
    return profit.daily_profit(t("orders"), t("order_lines"), store.optional("returns"),
                               t("products"), store.optional("purchase_orders"),
                               window=window)


@functools.lru_cache(maxsize=_CACHE)
def shipping(store: Store, window: Window) -> pd.DataFrame:
    """profit.shipping_pnl over the window."""
    return profit.shipping_pnl(store.table("orders"), store.optional("shipments"),
                               window=window)


@functools.lru_cache(maxsize=_CACHE)
def contribution_parts(store: Store, window: Window) -> dict[str, float | None]:
    """The steps of profit.CONTRIBUTION_STEPS and contribution_margin for the window."""
    parts: dict[str, float | None] = dict(profit_figures(store, window))
    parts.update(profit.shipping_totals(shipping(store, window)))
    parts["payment_fees"] = profit.payment_fees(store.optional("bank_transactions"),
                                                window=window)
    parts["ad_spend"] = profit.ad_spend(store.optional("ad_spend_daily"), window=window)
    parts["contribution_margin"] = profit.contribution_margin(parts)
    return parts


@functools.lru_cache(maxsize=_CACHE)
def profit_figures(store: Store, window: Window) -> dict[str, float | None]:
    """profit.profit_totals of the window's days."""
    return profit.profit_totals(profit_days(store, window))


@functools.lru_cache(maxsize=_CACHE)
def _order_facts(store: Store, window: Window) -> ibis.Table:
    """sources.order_facts of the window, computed once into a temporary table."""
    t = store.table
    return store.materialize(sources.order_facts(
        t("orders"), t("order_lines"), t("products"), store.optional("purchase_orders"),
        window=window))


@functools.lru_cache(maxsize=_CACHE)
def sales_by(store: Store, window: Window, by: str) -> pd.DataFrame:
    """sources.sales_by over the window."""
    t = store.table
    return sources.sales_by(t("orders"), t("order_lines"), store.optional("returns"),
                            t("products"), store.optional("purchase_orders"),
                            window=window, by=by, facts=_order_facts(store, window))


def goal_values(store: Store, day: dt.date) -> dict[str, float | None]:
    """The goals set for D's month: {figure name: goal} (only the goals that are set)."""
    month = month_of(day, zone=store.zone).start
    out = {}
    for key, name, _unit in goals.GOALS:
        value = store.settings.goals.for_month(key, month)
        if value is not None:
            out[name] = float(value)
    return out


@functools.lru_cache(maxsize=_CACHE)
def pacing(store: Store, day: dt.date) -> pd.DataFrame:
    """goals.pace for D's month (an empty frame when no goal is set for it)."""
    wanted = goal_values(store, day)
    month = month_of(day, zone=store.zone)
    if not wanted:
        return goals.pace({}, {}, day=day, month=month)
    span = goals.history_window(day, zone=store.zone)
    first = first_order_day(store)
    if first is not None and first > span.start:
        span = Window.of(min(first, day), day, zone=store.zone)
    t = store.table
    daily = sales.daily_sales(t("orders"), t("order_lines"), store.optional("returns"),
                              window=span).set_index("date_day")
    series = {"net_sales": daily.net_sales, "count_orders": daily.count_orders}
    if "count_new_customers" in wanted:
        series["count_new_customers"] = goals.daily_new_customers(
            t("orders"), window=span).set_index("date_day").count_new_customers
    if "gross_profit" in wanted:
        series["gross_profit"] = profit_days(store, span).set_index("date_day").gross_profit
    return goals.pace(series, wanted, day=day, month=month)


_UNITS = {name: unit for _key, name, unit in goals.GOALS}


@section("Month to date against the goals")
def pacing_section(store: Store, day: dt.date) -> list:
    """Each goal: month to date, projection to month end; red when the projection misses.
    Nothing at all without goals for D's month."""
    frame = pacing(store, day)
    if frame.empty:
        return []
    currency = store.settings.store.currency
    items = [show.Tile(f"{glossary.label(row.figure)}: projected for {day:%B}",
                       row.projected, _UNITS[row.figure], row.goal, "goal")
             for row in frame.itertuples()]
    missed = [glossary.label(name).lower() for name in
              frame.figure[frame.is_projected_to_miss]]
    shown = frame.assign(figure=[glossary.label(name) for name in frame.figure])
    for column in ("goal", "mtd", "projected"):
        shown[column] = [show.format_value(value, _UNITS[name], currency=currency)
                         for value, name in zip(frame[column], frame.figure)]
    units = dict.fromkeys(("figure", "goal", "mtd", "projected"), "text")
    warning = [show.note(f"Projected to miss the {day:%B} goal: " + ", ".join(missed) + ".",
                         kind="warning")] if missed else []
    return [show.tiles(items, currency=currency), *warning,
            show.table(shown, units=units, highlight="is_projected_to_miss",
                       currency=currency),
            show.note("Projection: month to date plus, for each day left, the last 28 days' "
                      "daily average × the weekday's usual share (last 8 weeks) × last "
                      "year's shape of the rest of the month (when a year of history "
                      "exists). Red: the projection falls short of the goal.")]


def goal_figures(store: Store, day: dt.date) -> dict[str, float | None]:
    """`<figure>_mtd`, `<figure>_goal` and `<figure>_projected` for each goal set for D's
    month (an empty dict without goals; None when a table it needs is absent)."""
    out: dict[str, float | None] = {}
    try:
        frame = pacing(store, day)
    except MissingTableError:
        return {f"{name}{suffix}": goal if suffix == "_goal" else None
                for name, goal in goal_values(store, day).items()
                for suffix in ("_mtd", "_goal", "_projected")}
    for row in frame.itertuples():
        out[f"{row.figure}_mtd"] = float(row.mtd)
        out[f"{row.figure}_goal"] = float(row.goal)
        out[f"{row.figure}_projected"] = float(row.projected)
    return out

