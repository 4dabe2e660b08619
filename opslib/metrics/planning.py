"""Inventory planning: the reorder plan, ABC classes, slow and dead stock, stock value.

Definitions (DESIGN §4; docs/metrics.md, "Monthly"), all as of the end of D:

* available, incoming: the SKU's latest snapshot (opslib.metrics.stock.stock_position).
* velocity = units sold ÷ in-stock days over the 28 days to D (opslib.metrics.stock).
* lead time: products.lead_time_days, else the supplier's median days from ordering to
  receipt on its received purchase orders of the last year, else unknown (the row says so
  and is planned with a lead time of 0).
* safety stock = velocity × `safety_days`; reorder point = velocity × lead time + safety.
* the plan walks the demand forecast (opslib.metrics.forecast) day by day: the order-by date
  is the first day the stock position (available + incoming − forecast demand since D)
  is at or below the reorder point; on that day, suggested order = forecast over lead time
  + `cover_days` − position then (on D itself: − available − incoming), rounded up to whole
  units. SKUs whose order-by date falls within `horizon_days` are in the plan.
* order cost = quantity × products.unit_cost (else the latest purchase-order unit cost).
* ABC by gross sales over the 365 days to D: A while the running share before the SKU is
  under 80%, B under 95%, C the rest (and every SKU that sold nothing).
* stock value = on hand (never below 0) × unit cost. Dead stock: on hand and no sale in the
  90 days to D. Slow stock: on hand, sold, and more than SLOW_COVER_DAYS days of cover at
  the 90-day pace.
"""

from __future__ import annotations

import datetime as dt
import math

import ibis
import numpy as np
import pandas as pd
from ibis import _

from opslib.metrics.common import lookback, require, series_ratio
from opslib.metrics.forecast import DemandHistory, forecast_daily
from opslib.metrics.sales import sales_by_sku
from opslib.metrics.stock import VELOCITY_DAYS, sku_velocity, stock_position
from opslib.store import Window, in_window, seconds_between

__all__ = ["ABC_SHARES", "ABC_DAYS", "DEAD_AFTER_DAYS", "SLOW_COVER_DAYS", "PLAN_HORIZON_DAYS",
           "supplier_lead_times", "reorder_plan", "plan_by_supplier", "abc_classes",
           "abc_summary", "stock_health", "stock_figures", "order_schedule"]

ABC_SHARES = (0.80, 0.95)  # A up to 80% of revenue, B the next 15%, C the last 5%
ABC_DAYS = 365
DEAD_AFTER_DAYS = 90
SLOW_COVER_DAYS = 180
PLAN_HORIZON_DAYS = 30
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


def order_schedule(position: float, daily: np.ndarray, *, reorder_point: float,
                   lead_days: int, cover_days: int, horizon_days: int) -> tuple[int, int] | None:
    """(day index after D, quantity) of the next order, or None within the horizon.

    Day 0 is D+1. The position is available + incoming; `daily` the forecast units from
    D+1 on (long enough for horizon + lead + cover).

    >>> order_schedule(10, np.full(60, 1.0), reorder_point=12, lead_days=7, cover_days=14,
    ...                horizon_days=30)
    (0, 11)
    >>> order_schedule(20, np.full(60, 1.0), reorder_point=12, lead_days=7, cover_days=14,
    ...                horizon_days=30)
    (8, 9)
    """
    used = np.concatenate([[0.0], np.cumsum(daily)])  # used[t]: demand of days 0..t-1
    for day in range(horizon_days + 1):
        projected = position - used[day]
        if projected <= reorder_point:
            need = used[day + lead_days + cover_days] - used[day] - projected
            quantity = math.ceil(round(need, 6))
            return (day, quantity) if quantity > 0 else None
    return None


def reorder_plan(history: DemandHistory, products: ibis.Table,
                 inventory_snapshots: ibis.Table, orders: ibis.Table,
                 order_lines: ibis.Table, purchase_orders: ibis.Table | None = None, *,
                 as_of: Window, safety_days: int, cover_days: int,
                 horizon_days: int = PLAN_HORIZON_DAYS) -> pd.DataFrame:
    """What to order, how much, by when, from whom, at what cost (active SKUs only).

    Grain: SKU to order within `horizon_days`. Columns: sku, title, supplier, available,
    incoming, velocity, lead_time_days, is_lead_time_known, safety_stock, reorder_point,
    order_by_date, is_due_now (order by D+1), suggested_quantity, unit_cost, order_cost.
    Soonest first, then the costliest.
    """
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
    items["safety_stock"] = items.velocity * safety_days
    items["reorder_point"] = items.velocity * items.lead_time_days + items.safety_stock
    longest = int(items.lead_time_days.max()) if len(items) else 0
    span = horizon_days + longest + cover_days + 1
    daily = forecast_daily(history, origin=as_of.end, days=span)
    row_of = {sku: i for i, sku in enumerate(history.skus)}
    rows = []
    for item in items.itertuples():
        demand = daily[row_of[item.sku]] if item.sku in row_of else np.zeros(span)
        found = order_schedule(float(item.available + item.incoming), demand,
                               reorder_point=float(item.reorder_point),
                               lead_days=int(item.lead_time_days), cover_days=cover_days,
                               horizon_days=horizon_days)
        if found is None:
            continue
        day, quantity = found
        rows.append({"sku": item.sku, "order_by_date": as_of.end + dt.timedelta(days=day + 1),
                     "is_due_now": day == 0, "suggested_quantity": quantity})
    plan = items.merge(pd.DataFrame(rows, columns=["sku", "order_by_date", "is_due_now",
                                                   "suggested_quantity"]), on="sku")
    plan["order_cost"] = (plan.suggested_quantity * plan.unit_cost).round(2)
    plan["order_by_date"] = pd.to_datetime(plan.order_by_date)
    plan = plan.sort_values(["order_by_date", "order_cost", "sku"],
                            ascending=[True, False, True]).reset_index(drop=True)
    columns = ["sku", "title", "supplier", "available", "incoming", "velocity",
               "lead_time_days", "is_lead_time_known", "safety_stock", "reorder_point",
               "order_by_date", "is_due_now", "suggested_quantity", "unit_cost", "order_cost"]
    return plan[columns].astype({"is_due_now": "bool", "suggested_quantity": "int64",
                                 "safety_stock": "float64", "reorder_point": "float64"})


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
