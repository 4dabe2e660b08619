"""Inventory planning: next weeks' demand, what to order by when, ABC, slow and dead stock."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from opslib import charts
from opslib import display as show
from opslib.exports import action_list
from opslib.metrics import forecast, planning
from opslib.store import Store
from opslib.views.base import section
from opslib.views.monthly import data
from opslib.views.monthly.common import table, tiles

__all__ = ["FORECAST_ROWS", "summary", "demand", "forecast_quality", "reorder", "abc",
           "slow_and_dead", "figures", "purchase_orders"]

# The tables this page reads: `playbook run` checks them against the data contract
# before the notebook runs (a test keeps this in step with what the page reads).
READS = ("products", "orders", "order_lines", "inventory_snapshots", "purchase_orders",
         "promotions")

FORECAST_ROWS = 30
_PLAN_UNITS = {"available": "count", "incoming": "count", "velocity": "number",
               "lead_time_days": "count", "safety_stock": "number", "reorder_point": "number",
               "lead_time_error": "number",
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
    """The forecast's error over a year of rolling origins, against three references."""
    tested = data.backtest(store, day)
    if tested is None:
        return [show.note("Less than 12 weeks of history: no backtest yet. Safety stock "
                          "assumes Poisson demand until there is one.", kind="info")]
    values = tested.figures()
    room = values["share_of_room_captured"]
    misses = ([] if room is not None and room >= 0.5 else ["under half the room"]) + \
        ([] if values["forecast_wape"] <= values["seasonal_naive_wape"]
         else ["worse than seasonal naive"])
    good = not misses
    items = [show.Tile("Forecast error (WAPE)", values["forecast_wape"], "rate"),
             show.Tile("Baseline (28-day mean)", values["baseline_wape"], "rate"),
             show.Tile("Seasonal naive", values["seasonal_naive_wape"], "rate"),
             show.Tile("Hindsight (the floor)", values["hindsight_wape"], "rate"),
             show.Tile("Forecast bias", values["forecast_bias"], "rate"),
             show.Tile("Share of the room captured", room, "rate", flagged=not good)]
    rates = {f"{name}_wape": "rate" for name in forecast.REFERENCES}
    verdict = (f"captures {room:.0%} of the room between the baseline and hindsight"
               if room is not None else "has no room to gain over the baseline")
    if misses:
        verdict += (": " + " and ".join(misses)
                    + " (the targets: at least half, and no worse than seasonal naive)")
    return [tiles(store, items),
            show.note(f"{len(tested.origins)} origins over the last year, each forecasting 8 "
                      f"weeks; scored on {int(tested.scored.sum()):,} SKU-weeks in stock all "
                      f"week. The forecast {verdict}.", kind="info" if good else "warning"),
            table(store, tested.by_horizon(), title="Error by weeks ahead",
                  units={"count_sku_weeks": "count", **rates, "forecast_bias": "rate"}),
            table(store, tested.by_origin().drop(columns="origin"), title="Error by origin",
                  units={"count_sku_weeks": "count", "actual_units": "count", **rates})]


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
                  empty="Nothing to reorder in the next 30 days."), *notes,
            *_stockouts_avoided(store, day)]


def _stockouts_avoided(store: Store, day: dt.date) -> list:
    frame = data.backtest_stockouts(store, day)
    if frame is None:
        return []
    total = frame.iloc[-1]
    level = store.settings.stock.service_level
    return [show.note(f"In the backtest, SKUs were out of stock on {total.count_stockout_days:,}"
                      f" SKU-days; ordering by this plan (safety stock for a {level:.0%} "
                      f"service level) would have avoided {total.count_stockout_days_avoided:,}"
                      f" of them.", kind="info"),
            table(store, frame.drop(columns="origin"), title="Stock-outs the plan would have "
                  "avoided (backtest)", units={"count_stockout_days": "count",
                                               "count_stockout_days_avoided": "count",
                                               "share_stockout_days_avoided": "rate"})]


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
    """stock_value, count_skus_to_reorder and the backtest's figures (forecast_wape,
    baseline_wape, seasonal_naive_wape, hindsight_wape, forecast_bias,
    share_of_room_captured; None without a backtest)."""
    values = planning.stock_figures(data.stock_health(store, day), data.reorder_plan(store, day))
    tested = data.backtest(store, day)
    quality = tested.figures() if tested is not None else dict.fromkeys(
        ["forecast_wape", "baseline_wape", "seasonal_naive_wape", "hindsight_wape",
         "forecast_bias", "share_of_room_captured"])
    return {"stock_value": values["stock_value"],
            "count_skus_to_reorder": values["count_skus_to_reorder"], **quality}


@section("Draft purchase orders")
def purchase_orders(store: Store, day: dt.date) -> list:
    """The reorder plan as purchase-order lines grouped by supplier (lists/purchase_orders.csv)."""
    lines = planning.purchase_orders(data.reorder_plan(store, day))
    return [action_list("purchase_orders", lines, contacts=False, limit=FORECAST_ROWS,
                        currency=store.settings.store.currency,
                        units={"quantity": "count", "unit_cost": "money",
                               "line_total": "money", "order_by_date": "date",
                               "supplier_total": "money"},
                        empty="Nothing to reorder in the next 30 days."),
            show.note("One line per SKU to order in the next 30 days, grouped by supplier "
                      "(soonest order-by date first): check the quantities, then send each "
                      "supplier its lines.")]
