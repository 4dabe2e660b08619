"""Inventory planning: next weeks' demand, what to order by when, ABC, slow and dead stock."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from opslib import charts
from opslib import display as show
from opslib.metrics import forecast, planning
from opslib.store import Store
from opslib.views.base import section
from opslib.views.monthly import data
from opslib.views.monthly.common import table, tiles

__all__ = ["FORECAST_ROWS", "summary", "demand", "forecast_quality", "reorder", "abc",
           "slow_and_dead", "figures"]

# The tables this page reads: `playbook run` checks them against the data contract
# before the notebook runs (a test keeps this in step with what the page reads).
READS = ("products", "orders", "order_lines", "inventory_snapshots", "purchase_orders",
         "promotions")

FORECAST_ROWS = 30
_PLAN_UNITS = {"available": "count", "incoming": "count", "velocity": "number",
               "lead_time_days": "count", "safety_stock": "number", "reorder_point": "number",
               "order_by_date": "date", "suggested_quantity": "count", "unit_cost": "money",
               "order_cost": "money"}


@section("Stock at a glance")
def summary(store: Store, day: dt.date) -> list:
    """Stock value, SKUs to reorder this month (and now), dead and slow stock value."""
    plan = data.reorder_plan(store, day)
    health = data.stock_health(store, day)
    values = planning.stock_figures(health, plan)
    items = [show.Tile("Stock value (at cost)", values["stock_value"], "money"),
             show.Tile("SKUs to reorder in 30 days", values["count_skus_to_reorder"], "count"),
             show.Tile("Of which due now", float(plan.is_due_now.sum()), "count",
                       flagged=bool(plan.is_due_now.any())),
             show.Tile("Dead stock value", values["dead_stock_value"], "money"),
             show.Tile("Slow stock value", values["slow_stock_value"], "money")]
    notes = [] if not values["count_skus_without_cost"] else [show.note(
        f"{values['count_skus_without_cost']:.0f} SKUs have no unit cost: their stock is "
        f"not valued.", kind="warning")]
    return [tiles(store, items), *notes]


@section("Demand forecast, next 8 weeks")
def demand(store: Store, day: dt.date) -> list:
    """Units per week per active SKU (seasonal, stock-outs ignored), biggest first."""
    history = data.demand_history(store, day)
    frame = forecast.demand_forecast(history, store.table("products"),
                                     as_of=store.window(day))
    weekly = forecast.forecast_weeks(history, origin=day).sum(axis=0)
    past = history.units[:, -7 * forecast.HORIZON_WEEKS * 2:].sum(axis=0)
    past_weeks = past.reshape(-1, 7).sum(axis=1)
    first_past = day - dt.timedelta(days=len(past) - 1)
    line = pd.DataFrame({
        "week_start": [pd.Timestamp(first_past + dt.timedelta(weeks=i))
                       for i in range(len(past_weeks))]
                      + [pd.Timestamp(day + dt.timedelta(days=1, weeks=i))
                         for i in range(len(weekly))],
        "units": list(past_weeks) + list(weekly),
        "series": ["sold"] * len(past_weeks) + ["forecast"] * len(weekly)})
    units = {c: "number" for c in frame.columns if c.startswith("week_")}
    return [charts.line(line, x="week_start", y="units", color="series", y_unit="count",
                        title="Units per week: the last 16 weeks and the forecast", height=180),
            table(store, frame, limit=FORECAST_ROWS,
                  units={**units, "forecast_units": "number",
                         "quantity_sold_rolling_28d": "count"})]


@section("Forecast quality (backtest)")
def forecast_quality(store: Store, day: dt.date) -> list:
    """WAPE of the forecast and of the naive baseline (last 28 days' average)."""
    frame = data.backtest(store, day)
    total = frame.iloc[-1]
    better = total.forecast_wape < total.baseline_wape
    return [table(store, frame.drop(columns="origin"),
                  units={"count_sku_weeks": "count", "actual_units": "count",
                         "forecast_wape": "rate", "baseline_wape": "rate"}),
            show.note(f"Over {total.count_sku_weeks:,} SKU-weeks in stock all week, the "
                      f"forecast's error (WAPE) is {total.forecast_wape:.1%} against "
                      f"{total.baseline_wape:.1%} for the naive baseline: the forecast is "
                      f"{'better' if better else 'not better'}.",
                      kind="info" if better else "warning")]


@section("Reorder plan")
def reorder(store: Store, day: dt.date) -> list:
    """What to order in the next 30 days: how much, by when, from whom, at what cost."""
    plan = data.reorder_plan(store, day)
    unknown = int((~plan.is_lead_time_known).sum()) if len(plan) else 0
    notes = [show.note(f"{unknown} SKUs have no lead time (in products or past purchase "
                       f"orders): planned as if delivered at once.", kind="warning")] \
        if unknown else []
    return [table(store, planning.plan_by_supplier(plan), title="By supplier",
                  units={"count_skus": "count", "suggested_quantity": "count",
                         "order_cost": "money", "first_order_by_date": "date"},
                  empty="Nothing to reorder in the next 30 days."),
            table(store, plan.drop(columns="is_lead_time_known"), highlight="is_due_now",
                  title="By SKU (red: order now)", units=_PLAN_UNITS,
                  empty="Nothing to reorder in the next 30 days."), *notes]


@section("ABC classes")
def abc(store: Store, day: dt.date) -> list:
    """SKUs by share of the last 12 months' sales: A 80%, B 15%, C 5%."""
    t = store.table
    classes = planning.abc_classes(t("orders"), t("order_lines"), t("products"),
                                   as_of=store.window(day))
    return [table(store, planning.abc_summary(classes),
                  units={"count_skus": "count", "gross_sales": "money",
                         "share_of_sales": "rate"}),
            table(store, classes, limit=FORECAST_ROWS, title="Top SKUs",
                  units={"gross_sales": "money", "share_of_sales": "rate",
                         "cumulative_share": "rate"})]


@section("Slow and dead stock")
def slow_and_dead(store: Store, day: dt.date) -> list:
    """Stock with no sale in 90 days (dead) or more than 180 days of cover (slow)."""
    health = data.stock_health(store, day)
    stuck = health[health.stock_state.isin(["dead", "slow"])]
    return [table(store, stuck, units={"on_hand": "count", "available": "count",
                                       "unit_cost": "money", "stock_value": "money",
                                       "quantity_sold_90d": "count",
                                       "days_of_cover_90d": "days"},
                  empty="No slow or dead stock.")]


def figures(store: Store, day: dt.date) -> dict[str, float | None]:
    """stock_value, count_skus_to_reorder, forecast_wape, baseline_wape."""
    values = planning.stock_figures(data.stock_health(store, day), data.reorder_plan(store, day))
    quality = data.backtest(store, day).iloc[-1]
    return {"stock_value": values["stock_value"],
            "count_skus_to_reorder": values["count_skus_to_reorder"],
            "forecast_wape": float(quality.forecast_wape),
            "baseline_wape": float(quality.baseline_wape)}
