"""Inventory planning: the reorder plan, ABC classes, slow and dead stock, stock value.

Definitions (DESIGN §4; docs/metrics.md, "Monthly"), all as of the end of D:

* available, incoming: the SKU's latest snapshot (opslib.metrics.stock.stock_position).
* velocity = units sold ÷ in-stock days over the 28 days to D (opslib.metrics.stock).
* lead time: products.lead_time_days, else the supplier's median days from ordering to
  receipt on its received purchase orders of the last year, else unknown (the row says so
  and is planned with a lead time of 0).
* safety stock = z × σ, z the standard normal quantile of the `service_level` (1.645 for
  95%) and σ the standard deviation about zero (root mean square) of the forecast's error
  over the lead time in the backtest (opslib.metrics.forecast): for each origin, actual −
  forecast units summed over the first ⌈lead time ÷ 7⌉ weeks (all in stock), scaled by
  √(lead time ÷ (7 × those weeks)). From the SKU's own errors when it has MIN_ERRORS
  origins, else pooled by demand class (the class's root mean square error ÷ its mean
  forecast over the same weeks, × the SKU's forecast over its lead time), else (no backtest
  error at all) √(forecast over the lead time), the error of Poisson demand.
* reorder point on a day = forecast demand over the lead time from that day + safety
  stock; the `reorder_point` column is the one on D+1.
* the plan walks the demand forecast day by day: the order-by date is the first day the
  stock position (available + incoming − forecast demand since D) is at or below the
  reorder point; on that day, suggested order = forecast over lead time + `cover_days` +
  safety stock − position then (on D itself: − available − incoming), rounded up to whole
  units. SKUs whose order-by date falls within `horizon_days` are in the plan.
* stock-outs avoided in the backtest (`backtest_stockouts`): from each backtest origin, the
  plan is run on the stock position of that day; a SKU-day out of stock in the 8 weeks
  after it counts as avoided when the plan's order would have arrived by then (order-by day
  + lead time) with enough units for the day: available that day + the order − the forecast
  of the out-of-stock days since it arrived > 0. The safety stock is today's.
* order cost = quantity × products.unit_cost (else the latest purchase-order unit cost).
* ABC by gross sales over the 365 days to D: A while the running share before the SKU is
  under 80%, B under 95%, C the rest (and every SKU that sold nothing).
* stock value = on hand (never below 0) × unit cost. Dead stock: on hand and no sale in the
  90 days to D. Slow stock: on hand, sold, and more than SLOW_COVER_DAYS days of cover at
  the 90-day pace.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from statistics import NormalDist

import ibis
import numpy as np
import pandas as pd
from ibis import _

from opslib.metrics.common import lookback, require, series_ratio
from opslib.metrics.forecast import Backtest, DemandHistory, demand_classes, forecast_daily
from opslib.metrics.sales import sales_by_sku
from opslib.metrics.stock import VELOCITY_DAYS, sku_velocity, stock_position
from opslib.store import Window, in_window, seconds_between

__all__ = ["ABC_SHARES", "ABC_DAYS", "DEAD_AFTER_DAYS", "SLOW_COVER_DAYS", "PLAN_HORIZON_DAYS",
           "supplier_lead_times", "reorder_plan", "plan_by_supplier", "abc_classes",
           "abc_summary", "stock_health", "stock_figures", "order_schedule",
           "purchase_orders", "MIN_ERRORS", "lead_time_error", "safety_stock",
           "backtest_stockouts"]

ABC_SHARES = (0.80, 0.95)  # A up to 80% of revenue, B the next 15%, C the last 5%
ABC_DAYS = 365
DEAD_AFTER_DAYS = 90
SLOW_COVER_DAYS = 180
PLAN_HORIZON_DAYS = 30
MIN_ERRORS = 6  # backtest origins a SKU needs for its own lead-time error
_PO_COLUMNS = ("supplier", "sku", "unit_cost", "ordered_at", "received_at")


def supplier_lead_times(purchase_orders: ibis.Table, *, as_of: Window) -> pd.DataFrame:
    """Median observed days from order to receipt per supplier (POs received in the year).

    Grain: supplier. Columns: supplier, lead_time_days_observed, count_purchase_orders.
    """
    require(purchase_orders, "purchase_orders", _PO_COLUMNS)
    received = purchase_orders.filter(
        in_window(purchase_orders.received_at, lookback(as_of, 365)))
    days = seconds_between(received.received_at, received.ordered_at) / 86400
    frame = received.mutate(days=days).group_by("supplier").aggregate(
        lead_time_days_observed=_.days.median(), count_purchase_orders=_.count()).to_pandas()
    frame["lead_time_days_observed"] = frame.lead_time_days_observed.astype("float64").round(1)
    return frame


def _latest_po_costs(purchase_orders: ibis.Table, as_of: Window) -> pd.DataFrame:
    placed = purchase_orders.filter(purchase_orders.ordered_at < as_of.hi)
    by_sku = ibis.window(group_by="sku", order_by=ibis.desc("ordered_at"))
    latest = placed.mutate(n=ibis.row_number().over(by_sku)).filter(_.n == 0)
    return latest.select("sku", po_unit_cost="unit_cost").to_pandas()


def order_schedule(position: float, daily: np.ndarray, *, safety_stock: float,
                   lead_days: int, cover_days: int, horizon_days: int) -> tuple[int, int] | None:
    """(day index after D, quantity) of the next order, or None within the horizon.

    Day 0 is D+1. The position is available + incoming; `daily` the forecast units from
    D+1 on (long enough for horizon + lead + cover). The reorder point on a day is the
    forecast over the lead time from it + the safety stock.

    >>> order_schedule(10, np.full(60, 1.0), safety_stock=5, lead_days=7, cover_days=14,
    ...                horizon_days=30)
    (0, 16)
    >>> order_schedule(20, np.full(60, 1.0), safety_stock=5, lead_days=7, cover_days=14,
    ...                horizon_days=30)
    (8, 14)
    """
    used = np.concatenate([[0.0], np.cumsum(daily)])  # used[t]: demand of days 0..t-1
    for day in range(horizon_days + 1):
        projected = position - used[day]
        if projected <= used[day + lead_days] - used[day] + safety_stock:
            need = used[day + lead_days + cover_days] - used[day] + safety_stock - projected
            quantity = math.ceil(round(need, 6))
            return (day, quantity) if quantity > 0 else None
    return None


def lead_time_error(backtest: Backtest, classes: np.ndarray, lead_days: np.ndarray,
                    lead_forecast: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """σ of the forecast error over each SKU's lead time, and where it came from.

    Arrays follow `backtest.skus`: demand class, lead time in days and the forecast over
    the lead time from D. Returns (σ in units, source: `SKU`, `class` or `Poisson`); the
    rules are the module doc's.
    """
    weeks = np.clip(np.ceil(lead_days / 7).astype(int), 1, backtest.actual.shape[2])
    scale = np.sqrt(lead_days / (7 * weeks))
    guess = backtest.forecasts["forecast"]
    error = np.cumsum(backtest.actual - guess, axis=2)
    made = np.cumsum(guess, axis=2)
    whole = np.cumprod(backtest.scored, axis=2).astype(bool)
    rows = np.arange(len(lead_days))
    e, f, ok = (x[rows, :, weeks - 1] for x in (error, made, whole))  # [sku, origin]
    count = ok.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        own = np.sqrt((e ** 2 * ok).sum(axis=1) / count) * scale
    sigma = np.sqrt(np.maximum(lead_forecast, 0.0))
    source = np.full(len(rows), "Poisson", dtype=object)
    for label in np.unique(classes):
        cells = (classes == label)[:, None] & ok
        if cells.sum() == 0 or f[cells].mean() <= 0:
            continue
        ratio = np.sqrt((e[cells] ** 2).mean()) / f[cells].mean()
        pooled = classes == label
        sigma = np.where(pooled, ratio * lead_forecast, sigma)
        source = np.where(pooled, "class", source)
    mine = count >= MIN_ERRORS
    return np.where(mine, own, sigma), np.where(mine, "SKU", source)


def safety_stock(sigma: np.ndarray, service_level: float) -> np.ndarray:
    """z(service level) × σ.

    >>> safety_stock(np.array([2.0, 0.0]), 0.95).round(3).tolist()
    [3.29, 0.0]
    """
    return NormalDist().inv_cdf(service_level) * sigma


@functools.lru_cache(maxsize=8)
def _plan_items(products: ibis.Table, inventory_snapshots: ibis.Table, orders: ibis.Table,
                order_lines: ibis.Table, purchase_orders: ibis.Table | None,
                as_of: Window) -> pd.DataFrame:
    """Active SKUs with a snapshot: position, velocity, lead time (known or not), unit cost.
    Cached (the plan and its backtest replay read the same): callers must not modify it."""
    require(products, "products", ("sku", "title", "status", "supplier", "unit_cost",
                                   "lead_time_days"))
    items = products.filter(products.status == "active").select(
        "sku", "title", "supplier", "unit_cost", "lead_time_days").to_pandas()
    position = stock_position(inventory_snapshots, as_of=as_of)[["sku", "available",
                                                                 "incoming"]]
    speed = sku_velocity(orders, order_lines, inventory_snapshots,
                         window=lookback(as_of, VELOCITY_DAYS))[["sku", "velocity"]]
    items = items.merge(position, on="sku", how="inner").merge(speed, on="sku", how="left")
    items["velocity"] = items.velocity.astype("float64").fillna(0.0)
    lead = items.lead_time_days.astype("Float64")
    costs = items.unit_cost.astype("Float64")
    if purchase_orders is not None:
        observed = supplier_lead_times(purchase_orders, as_of=as_of)
        items = items.merge(observed[["supplier", "lead_time_days_observed"]], on="supplier",
                            how="left")
        lead = lead.fillna(items.lead_time_days_observed.astype("Float64").round())
        costs = costs.fillna(items[["sku"]].merge(_latest_po_costs(purchase_orders, as_of),
                                                  on="sku", how="left").po_unit_cost
                             .astype("Float64"))
    items["is_lead_time_known"] = lead.notna().to_numpy(dtype=bool)
    items["lead_time_days"] = lead.fillna(0).astype("int64")
    items["unit_cost"] = costs.astype("float64")
    return items


def _safety(history: DemandHistory, backtest: Backtest | None, items: pd.DataFrame,
            daily: np.ndarray, service_level: float, day: dt.date) -> pd.DataFrame:
    """Per item: demand_class, lead_time_error, safety_basis, safety_stock as of `day`."""
    row_of = {sku: i for i, sku in enumerate(history.skus)}
    lead = np.zeros(len(history.skus), dtype=int)
    rows = items.sku.map(row_of)
    present = rows.notna().to_numpy()
    lead[rows[present].astype(int).to_numpy()] = items.lead_time_days.to_numpy()[present]
    used = np.concatenate([np.zeros((len(lead), 1)), np.cumsum(daily, axis=1)], axis=1)
    lead_forecast = used[np.arange(len(lead)), lead]
    classes = demand_classes(history, history.index_of(day))
    if backtest is None:
        sigma = np.sqrt(np.maximum(lead_forecast, 0.0))
        source = np.full(len(lead), "Poisson", dtype=object)
    else:
        sigma, source = lead_time_error(backtest, classes, lead, lead_forecast)
    frame = pd.DataFrame({"sku": list(history.skus), "demand_class": classes,
                          "lead_time_error": sigma, "safety_basis": source,
                          "safety_stock": safety_stock(sigma, service_level)})
    out = items[["sku"]].merge(frame, on="sku", how="left")
    return out.fillna({"demand_class": "intermittent", "lead_time_error": 0.0,
                       "safety_basis": "Poisson", "safety_stock": 0.0})


def reorder_plan(history: DemandHistory, products: ibis.Table,
                 inventory_snapshots: ibis.Table, orders: ibis.Table,
                 order_lines: ibis.Table, purchase_orders: ibis.Table | None = None, *,
                 as_of: Window, service_level: float, cover_days: int,
                 backtest: Backtest | None = None,
                 horizon_days: int = PLAN_HORIZON_DAYS) -> pd.DataFrame:
    """What to order, how much, by when, from whom, at what cost (active SKUs only).

    `backtest` is forecast.backtest as of D (None: a store too young for one).
    Grain: SKU to order within `horizon_days`. Columns: sku, title, supplier, available,
    incoming, velocity, lead_time_days, is_lead_time_known, safety_stock, reorder_point,
    order_by_date, is_due_now (order by D+1), suggested_quantity, unit_cost, order_cost,
    demand_class, lead_time_error, safety_basis. Soonest first, then the costliest.
    """
    items = _plan_items(products, inventory_snapshots, orders, order_lines, purchase_orders,
                        as_of)
    longest = int(items.lead_time_days.max()) if len(items) else 0
    span = horizon_days + longest + cover_days + 1
    daily = forecast_daily(history, origin=as_of.end, days=span)
    items = items.merge(_safety(history, backtest, items, daily, service_level, as_of.end),
                        on="sku")
    row_of = {sku: i for i, sku in enumerate(history.skus)}
    rows = []
    for item in items.itertuples():
        demand = daily[row_of[item.sku]] if item.sku in row_of else np.zeros(span)
        lead = int(item.lead_time_days)
        found = order_schedule(float(item.available + item.incoming), demand,
                               safety_stock=float(item.safety_stock), lead_days=lead,
                               cover_days=cover_days, horizon_days=horizon_days)
        if found is None:
            continue
        day, quantity = found
        rows.append({"sku": item.sku, "order_by_date": as_of.end + dt.timedelta(days=day + 1),
                     "is_due_now": day == 0, "suggested_quantity": quantity,
                     "reorder_point": float(demand[:lead].sum() + item.safety_stock)})
    plan = items.merge(pd.DataFrame(rows, columns=["sku", "order_by_date", "is_due_now",
                                                   "suggested_quantity", "reorder_point"]),
                       on="sku")
    plan["order_cost"] = (plan.suggested_quantity * plan.unit_cost).round(2)
    plan["order_by_date"] = pd.to_datetime(plan.order_by_date)
    plan = plan.sort_values(["order_by_date", "order_cost", "sku"],
                            ascending=[True, False, True]).reset_index(drop=True)
    columns = ["sku", "title", "supplier", "available", "incoming", "velocity",
               "lead_time_days", "is_lead_time_known", "safety_stock", "reorder_point",
               "order_by_date", "is_due_now", "suggested_quantity", "unit_cost", "order_cost",
               "demand_class", "lead_time_error", "safety_basis"]
    return plan[columns].astype({"is_due_now": "bool", "suggested_quantity": "int64",
                                 "safety_stock": "float64", "reorder_point": "float64",
                                 "lead_time_error": "float64", "demand_class": "object",
                                 "safety_basis": "object"})


def backtest_stockouts(history: DemandHistory, backtest: Backtest, products: ibis.Table,
                       inventory_snapshots: ibis.Table, orders: ibis.Table,
                       order_lines: ibis.Table, purchase_orders: ibis.Table | None = None, *,
                       as_of: Window, service_level: float, cover_days: int) -> pd.DataFrame:
    """Out-of-stock SKU-days after each backtest origin, and those the plan would have
    avoided (module doc). Active SKUs with a snapshot on the origin.

    Grain: origin, and a last row over all origins (`origin` None). Columns: origin, label,
    count_stockout_days, count_stockout_days_avoided, share_stockout_days_avoided.
    """
    items = _plan_items(products, inventory_snapshots, orders, order_lines, purchase_orders,
                        as_of)
    items = items[items.sku.isin(history.skus)].reset_index(drop=True)
    longest = int(items.lead_time_days.max()) if len(items) else 0
    horizon = 7 * backtest.actual.shape[2]
    today = forecast_daily(history, origin=as_of.end, days=longest + 1)
    buffers = _safety(history, backtest, items, today, service_level,
                      as_of.end).safety_stock.to_numpy()
    rows = [history.skus.index(s) for s in items.sku]
    missing = history.out_of_stock
    out = []
    for origin in backtest.origins:
        o = history.index_of(origin)
        daily = forecast_daily(history, origin=origin, days=horizon + longest + cover_days + 1)
        stockouts = avoided = 0
        for s, lead, buffer in zip(rows, items.lead_time_days.to_numpy(), buffers):
            out_days = missing[s, o + 1:o + 1 + horizon]
            stockouts += int(out_days.sum())
            position = history.available[s, o] + np.nan_to_num(history.incoming[s, o])
            if not out_days.any() or np.isnan(position):
                continue
            found = order_schedule(float(position), daily[s], safety_stock=float(buffer),
                                   lead_days=int(lead), cover_days=cover_days,
                                   horizon_days=horizon - 1)
            if found is None:
                continue
            arrives = found[0] + int(lead)
            after = np.arange(horizon) >= arrives
            lost = np.cumsum(np.where(out_days & after, daily[s, :horizon], 0.0))
            left = history.available[s, o + 1:o + 1 + horizon] + found[1] - lost
            avoided += int((out_days & after & (np.nan_to_num(left) > 0)).sum())
        out.append({"origin": origin, "label": f"origin {origin}",
                    "count_stockout_days": stockouts, "count_stockout_days_avoided": avoided})
    frame = pd.DataFrame(out, columns=["origin", "label", "count_stockout_days",
                                       "count_stockout_days_avoided"])
    total = {"origin": None, "label": "all origins",
             "count_stockout_days": int(frame.count_stockout_days.sum()),
             "count_stockout_days_avoided": int(frame.count_stockout_days_avoided.sum())}
    frame = pd.concat([frame, pd.DataFrame([total])], ignore_index=True)
    frame["share_stockout_days_avoided"] = series_ratio(frame.count_stockout_days_avoided,
                                                        frame.count_stockout_days)
    return frame


def plan_by_supplier(plan: pd.DataFrame) -> pd.DataFrame:
    """The reorder plan per supplier: lines, units, cost, the first order-by date.

    >>> p = pd.DataFrame({"supplier": ["A", "A", "B"], "sku": ["x", "y", "z"],
    ...     "suggested_quantity": [5, 7, 1], "order_cost": [10.0, 14.0, 3.0],
    ...     "order_by_date": pd.to_datetime(["2025-01-03", "2025-01-02", "2025-01-09"])})
    >>> plan_by_supplier(p).to_dict("records")[0]["first_order_by_date"]
    Timestamp('2025-01-02 00:00:00')
    """
    if plan.empty:
        return pd.DataFrame(columns=["supplier", "count_skus", "suggested_quantity",
                                     "order_cost", "first_order_by_date"])
    out = plan.groupby(plan.supplier.fillna("(no supplier)")).agg(
        count_skus=("sku", "count"), suggested_quantity=("suggested_quantity", "sum"),
        order_cost=("order_cost", "sum"), first_order_by_date=("order_by_date", "min"))
    return out.reset_index().sort_values(["first_order_by_date", "supplier"]) \
        .reset_index(drop=True)


def abc_classes(orders: ibis.Table, order_lines: ibis.Table, products: ibis.Table, *,
                as_of: Window, days: int = ABC_DAYS) -> pd.DataFrame:
    """ABC class of every active SKU by gross sales over the `days` to D.

    Grain: SKU. Columns: sku, title, gross_sales, share_of_sales, cumulative_share (after
    the SKU), abc_class. Biggest first.
    """
    require(products, "products", ("sku", "title", "status"))
    sold = sales_by_sku(orders, order_lines, window=lookback(as_of, days))
    items = products.filter(products.status == "active").select("sku", "title").to_pandas()
    frame = items.merge(sold[["sku", "gross_sales"]], on="sku", how="left")
    frame["gross_sales"] = frame.gross_sales.astype("float64").fillna(0.0)
    frame = frame.sort_values(["gross_sales", "sku"], ascending=[False, True]) \
        .reset_index(drop=True)
    total = frame.gross_sales.sum()
    frame["share_of_sales"] = frame.gross_sales / total if total else 0.0
    frame["cumulative_share"] = frame.share_of_sales.cumsum()
    before = frame.cumulative_share - frame.share_of_sales
    frame["abc_class"] = np.where(
        (frame.gross_sales > 0) & (before < ABC_SHARES[0] - 1e-12), "A",
        np.where((frame.gross_sales > 0) & (before < ABC_SHARES[1] - 1e-12), "B", "C"))
    return frame


def abc_summary(classes: pd.DataFrame) -> pd.DataFrame:
    """SKUs and sales per ABC class (A, B, C, always all three)."""
    out = classes.groupby("abc_class").agg(count_skus=("sku", "count"),
                                           gross_sales=("gross_sales", "sum"))
    out = out.reindex(["A", "B", "C"]).fillna(0).reset_index()
    total = out.gross_sales.sum()
    out["share_of_sales"] = out.gross_sales / total if total else 0.0
    return out.astype({"count_skus": "int64", "gross_sales": "float64"})


def stock_health(inventory_snapshots: ibis.Table, orders: ibis.Table,
                 order_lines: ibis.Table, products: ibis.Table, *,
                 as_of: Window) -> pd.DataFrame:
    """Every SKU with a recent snapshot: on hand, its value, and whether it is slow or dead.

    Grain: SKU. Columns: sku, title, category, status, on_hand, available, unit_cost,
    stock_value (on hand ≥ 0 × unit cost; empty without a cost), quantity_sold_90d,
    days_of_cover_90d (available ÷ (units in 90 days ÷ 90)), stock_state (`dead`, `slow`,
    `ok`, or `none` when nothing is on hand). Most valuable first.
    """
    require(products, "products", ("sku", "title", "category", "status", "unit_cost"))
    position = stock_position(inventory_snapshots, as_of=as_of)
    sold = sales_by_sku(orders, order_lines, window=lookback(as_of, DEAD_AFTER_DAYS))
    items = products.select("sku", "title", "category", "status", "unit_cost").to_pandas()
    frame = position[["sku", "on_hand", "available"]].merge(items, on="sku", how="left") \
        .merge(sold[["sku", "quantity_sold"]], on="sku", how="left")
    frame["quantity_sold_90d"] = frame.quantity_sold.fillna(0).astype("int64")
    frame["unit_cost"] = frame.unit_cost.astype("float64")
    frame["stock_value"] = (frame.on_hand.clip(lower=0) * frame.unit_cost).round(2)
    pace = frame.quantity_sold_90d / DEAD_AFTER_DAYS
    frame["days_of_cover_90d"] = series_ratio(frame.available.clip(lower=0), pace).round(1)
    on_hand = frame.on_hand > 0
    frame["stock_state"] = np.select(
        [~on_hand, frame.quantity_sold_90d == 0, frame.days_of_cover_90d > SLOW_COVER_DAYS],
        ["none", "dead", "slow"], "ok")
    frame = frame.sort_values(["stock_value", "sku"], ascending=[False, True],
                              na_position="last").reset_index(drop=True)
    return frame[["sku", "title", "category", "status", "on_hand", "available", "unit_cost",
                  "stock_value", "quantity_sold_90d", "days_of_cover_90d", "stock_state"]]


def stock_figures(health: pd.DataFrame, plan: pd.DataFrame) -> dict[str, float | None]:
    """stock_value (at cost), count_skus_to_reorder (the plan's SKUs), dead/slow values.

    >>> h = pd.DataFrame({"stock_value": [100.0, 20.0, None], "stock_state": ["ok", "dead",
    ...     "none"]})
    >>> stock_figures(h, pd.DataFrame({"sku": ["x"]}))["stock_value"]
    120.0
    """
    value = health.stock_value
    return {"stock_value": float(value.sum()),
            "count_skus_to_reorder": float(len(plan)),
            "dead_stock_value": float(value[health.stock_state == "dead"].sum()),
            "slow_stock_value": float(value[health.stock_state == "slow"].sum()),
            "count_skus_without_cost": float(health.unit_cost.isna().sum()
                                             if "unit_cost" in health else 0)}


def purchase_orders(plan: pd.DataFrame) -> pd.DataFrame:
    """The reorder plan as draft purchase orders: one line per SKU, grouped by supplier.

    Grain: SKU of the plan. Columns: supplier ("(no supplier)" when unknown), sku, title,
    quantity (the suggested quantity), unit_cost, line_total (quantity × unit cost; empty
    without a cost), order_by_date, supplier_total (Σ line_total of the supplier's lines).
    Suppliers by their first order-by date, lines by order-by date then SKU.

    >>> p = pd.DataFrame({"supplier": ["B", "A", "A"], "sku": ["z", "y", "x"],
    ...     "title": ["Z", "Y", "X"], "suggested_quantity": [1, 7, 5],
    ...     "unit_cost": [3.0, 2.0, 2.0], "order_cost": [3.0, 14.0, 10.0],
    ...     "order_by_date": pd.to_datetime(["2025-01-09", "2025-01-02", "2025-01-03"])})
    >>> purchase_orders(p)[["supplier", "sku", "line_total", "supplier_total"]].values.tolist()
    [['A', 'y', 14.0, 24.0], ['A', 'x', 10.0, 24.0], ['B', 'z', 3.0, 3.0]]
    """
    lines = plan.assign(supplier=plan.supplier.fillna("(no supplier)")).rename(
        columns={"suggested_quantity": "quantity", "order_cost": "line_total"})
    by_supplier = lines.groupby("supplier")
    lines["first_order_by"] = by_supplier.order_by_date.transform("min")
    lines["supplier_total"] = by_supplier.line_total.transform("sum").astype("float64")
    lines = lines.sort_values(["first_order_by", "supplier", "order_by_date", "sku"])
    return lines[["supplier", "sku", "title", "quantity", "unit_cost", "line_total",
                  "order_by_date", "supplier_total"]].reset_index(drop=True)
