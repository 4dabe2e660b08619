"""Stock: positions, velocity, days of cover, stock-outs and what they cost, incoming POs.

Definitions (docs/metrics.md):

* available = on_hand − committed, from the SKU's latest snapshot on or before D (looked
  for in the SNAPSHOT_LOOKBACK_DAYS days to D; older stock figures are not trusted).
* A SKU is out of stock when available ≤ 0.
* velocity = units sold ÷ in-stock days over the VELOCITY_DAYS days to D. A day is out of
  stock when its snapshot shows available ≤ 0 and nothing sold; days without a snapshot
  count as in stock. Units come from counted orders (see opslib.metrics.sales).
* days of cover = available ÷ velocity (0 when out of stock; empty when nothing sells).
* lost revenue per day = velocity × current price, for a SKU out of stock.
* bestsellers = the top `bestseller_count` SKUs by units sold over the VELOCITY_DAYS days.
"""

from __future__ import annotations

import ibis
import pandas as pd
from ibis import _

from opslib.metrics.common import lookback, next_days, require, series_ratio
from opslib.metrics.sales import counted_lines
from opslib.store import Window, in_window, local_date

__all__ = ["VELOCITY_DAYS", "SNAPSHOT_LOOKBACK_DAYS", "PO_LOOKBACK_DAYS", "stock_position",
           "sku_velocity", "stock_cover", "out_of_stock", "incoming_purchase_orders"]

VELOCITY_DAYS = 28
SNAPSHOT_LOOKBACK_DAYS = 7
PO_LOOKBACK_DAYS = 365

_SNAPSHOT_COLUMNS = ("snapshot_date", "sku", "on_hand", "committed", "incoming")


def _position(inventory_snapshots: ibis.Table, as_of: Window) -> ibis.Table:
    require(inventory_snapshots, "inventory_snapshots", _SNAPSHOT_COLUMNS)
    recent = inventory_snapshots.filter(
        in_window(inventory_snapshots.snapshot_date, lookback(as_of, SNAPSHOT_LOOKBACK_DAYS)))
    latest = recent.group_by("sku").aggregate(latest_date=_.snapshot_date.max())
    joined = recent.inner_join(latest, [recent.sku == latest.sku,
                                        recent.snapshot_date == latest.latest_date])
    return joined.select("sku", "snapshot_date", "on_hand", "committed", "incoming",
                         available=_.on_hand - _.committed)


def stock_position(inventory_snapshots: ibis.Table, *, as_of: Window) -> pd.DataFrame:
    """Each SKU's stock at the end of the day (its latest snapshot in the last 7 days).

    Grain: SKU. Columns: sku, snapshot_date, on_hand, committed, available, incoming.
    """
    frame = _position(inventory_snapshots, as_of).order_by("sku").to_pandas()
    return frame.astype({"on_hand": "int64", "committed": "int64", "available": "int64",
                         "incoming": "int64"})


def _velocity(orders: ibis.Table, order_lines: ibis.Table,
              inventory_snapshots: ibis.Table, window: Window) -> ibis.Table:
    require(inventory_snapshots, "inventory_snapshots", _SNAPSHOT_COLUMNS)
    lines = counted_lines(orders, order_lines, window=window)
    lines = lines.filter(lines.sku.notnull())
    sold_days = lines.group_by(["sku", "date_day"]).aggregate(units=_.quantity.sum())
    snaps = inventory_snapshots.filter(in_window(inventory_snapshots.snapshot_date, window))
    out_days = snaps.filter((snaps.on_hand - snaps.committed) <= 0).select(
        "sku", date_day="snapshot_date")
    out_days = out_days.anti_join(sold_days, ["sku", "date_day"])
    out_count = out_days.group_by("sku").aggregate(out_of_stock_days=_.count())
    units = sold_days.group_by("sku").aggregate(quantity_sold=_.units.sum())
    last_in = snaps.filter((snaps.on_hand - snaps.committed) > 0).group_by("sku").aggregate(
        last_in_stock_date=_.snapshot_date.max())
    skus = snaps.select("sku").union(units.select("sku")).distinct()
    out = skus.left_join(units, "sku").select("sku", "quantity_sold")
    out = out.left_join(out_count, "sku").select("sku", "quantity_sold", "out_of_stock_days")
    out = out.left_join(last_in, "sku").select(
        "sku", "quantity_sold", "out_of_stock_days", "last_in_stock_date")
    in_stock_days = window.days - out.out_of_stock_days.fill_null(0)
    return out.select(
        "sku", "last_in_stock_date",
        quantity_sold=out.quantity_sold.fill_null(0),
        in_stock_days=in_stock_days,
        velocity=ibis.ifelse(in_stock_days > 0,
                             out.quantity_sold.fill_null(0) / in_stock_days.cast("float64"),
                             ibis.null("float64")),
    )


def sku_velocity(orders: ibis.Table, order_lines: ibis.Table,
                 inventory_snapshots: ibis.Table, *, window: Window) -> pd.DataFrame:
    """Units per in-stock day for every SKU that sold or was counted in the window.

    Grain: SKU. Columns: sku, quantity_sold, in_stock_days, velocity (empty when the SKU
    was out of stock every day), last_in_stock_date (empty when never in stock in the window).
    """
    frame = _velocity(orders, order_lines, inventory_snapshots, window).order_by(
        "sku").to_pandas()
    return frame[["sku", "quantity_sold", "in_stock_days", "velocity", "last_in_stock_date"]] \
        .astype({"quantity_sold": "int64", "in_stock_days": "int64", "velocity": "float64"})


def stock_cover(orders: ibis.Table, order_lines: ibis.Table, inventory_snapshots: ibis.Table,
                products: ibis.Table, *, as_of: Window, bestseller_count: int,
                low_cover_days: int) -> pd.DataFrame:
    """The bestsellers and how many days their stock lasts at the current pace.

    Grain: SKU, the top `bestseller_count` by units over the VELOCITY_DAYS days to D.
    Columns: rank, sku, title, quantity_sold_rolling_28d, velocity, available, incoming,
    days_of_cover, is_out_of_stock, is_low_cover (in stock, under `low_cover_days`).
    A bestseller without a recent snapshot has empty stock columns and is not flagged.
    """
    require(products, "products", ("sku", "title", "price", "status"))
    window = lookback(as_of, VELOCITY_DAYS)
    speed = _velocity(orders, order_lines, inventory_snapshots, window)
    top = speed.filter(speed.quantity_sold > 0).order_by(
        [ibis.desc("quantity_sold"), "sku"]).limit(bestseller_count)
    position = _position(inventory_snapshots, as_of).select("sku", "available", "incoming")
    frame = top.left_join(position, "sku").left_join(products.select("sku", "title"), "sku") \
        .select("sku", "title", "quantity_sold", "velocity", "available", "incoming") \
        .to_pandas()
    frame = frame.sort_values(["quantity_sold", "sku"], ascending=[False, True]) \
        .reset_index(drop=True)
    frame.insert(0, "rank", range(1, len(frame) + 1))
    available = pd.to_numeric(frame.available, errors="coerce").astype("float64")
    cover = series_ratio(available.clip(lower=0), frame.velocity)
    frame["days_of_cover"] = cover.round(1)
    frame["is_out_of_stock"] = (available <= 0).fillna(False).astype(bool)
    frame["is_low_cover"] = (~frame.is_out_of_stock & (cover < low_cover_days)).fillna(False) \
        .astype(bool)
    frame = frame.rename(columns={"quantity_sold": "quantity_sold_rolling_28d"})
    return frame.astype({"rank": "int64", "quantity_sold_rolling_28d": "int64",
                         "velocity": "float64", "available": "Int64", "incoming": "Int64"})


def out_of_stock(orders: ibis.Table, order_lines: ibis.Table,
                 inventory_snapshots: ibis.Table, products: ibis.Table, *, as_of: Window,
                 bestseller_count: int) -> pd.DataFrame:
    """Active SKUs out of stock at the end of the day, costliest first.

    Grain: SKU. Columns: sku, title, price, available, incoming, velocity,
    lost_revenue_per_day (velocity × price), last_in_stock_date (empty when not in stock at
    any snapshot of the VELOCITY_DAYS days to D), is_bestseller.
    """
    require(products, "products", ("sku", "title", "price", "status"))
    window = lookback(as_of, VELOCITY_DAYS)
    position = _position(inventory_snapshots, as_of)
    empty = position.filter(position.available <= 0).select("sku", "available", "incoming")
    active = products.filter(products.status == "active").select("sku", "title", "price")
    speed = _velocity(orders, order_lines, inventory_snapshots, window)
    ranked = speed.filter(speed.quantity_sold > 0).order_by(
        [ibis.desc("quantity_sold"), "sku"]).limit(bestseller_count).select(
        "sku", is_bestseller=ibis.literal(True))
    frame = empty.inner_join(active, "sku") \
        .left_join(speed.select("sku", "velocity", "last_in_stock_date"), "sku") \
        .left_join(ranked, "sku") \
        .select("sku", "title", "price", "available", "incoming", "velocity",
                "last_in_stock_date", is_bestseller=_.is_bestseller.fill_null(False)) \
        .to_pandas()
    frame["velocity"] = frame.velocity.astype("float64").fillna(0.0)
    frame["lost_revenue_per_day"] = (frame.velocity * frame.price).round(2)
    frame = frame.sort_values(["lost_revenue_per_day", "sku"], ascending=[False, True])
    columns = ["sku", "title", "price", "available", "incoming", "velocity",
               "lost_revenue_per_day", "last_in_stock_date", "is_bestseller"]
    return frame[columns].reset_index(drop=True).astype(
        {"available": "int64", "incoming": "int64", "is_bestseller": "bool"})


def incoming_purchase_orders(purchase_orders: ibis.Table, products: ibis.Table | None = None,
                             *, as_of: Window, horizon_days: int = 14) -> pd.DataFrame:
    """Purchase orders open at the end of the day and due within `horizon_days` (or late).

    Grain: PO line. Open = placed by the end of D, not received by then, not draft or
    cancelled. Columns: po_id, supplier, sku, title (with products), quantity,
    expected_date (store's calendar; empty when the supplier gave none),
    days_until_expected (negative = overdue), is_overdue. Earliest first; lines without a
    date last.
    """
    require(purchase_orders, "purchase_orders", ("po_id", "supplier", "sku", "quantity",
                                                 "ordered_at", "expected_at", "received_at",
                                                 "status"))
    end = as_of.hi
    horizon_end = next_days(as_of, horizon_days).hi if horizon_days > 0 else end
    pos = purchase_orders.filter(
        in_window(purchase_orders.ordered_at, lookback(as_of, PO_LOOKBACK_DAYS)))
    pos = pos.filter((pos.received_at.isnull() | (pos.received_at >= end)) &
                     ~pos.status.isin(["draft", "cancelled"]))
    pos = pos.filter(pos.expected_at.isnull() | (pos.expected_at < horizon_end))
    pos = pos.mutate(expected_date=local_date(pos.expected_at, as_of.zone))
    columns = ["po_id", "supplier", "sku", "quantity", "expected_date"]
    if products is not None:
        require(products, "products", ("sku", "title"))
        pos = pos.left_join(products.select("sku", "title"), "sku")
        columns.insert(3, "title")
    frame = pos.select(*columns).to_pandas()
    expected = pd.to_datetime(frame.expected_date)
    frame["expected_date"] = expected
    frame["days_until_expected"] = (expected - pd.Timestamp(as_of.end)).dt.days.astype("Int64")
    frame["is_overdue"] = (frame.days_until_expected < 0).fillna(False).astype(bool)
    frame = frame.assign(_order=expected).sort_values(["_order", "po_id", "sku"],
                                                      na_position="last")
    return frame.drop(columns="_order").reset_index(drop=True).astype({"quantity": "int64"})

