"""Profit: cost of goods, gross profit, shipping profit and loss, contribution margin.

Definitions (docs/metrics.md, "Profit"):

* unit cost of a SKU = products.unit_cost; where the product has none, the unit cost of its
  latest purchase order placed by the end of the window. A line whose SKU has neither (or no
  SKU at all) has an unknown cost: it adds nothing to cogs and its units are counted in
  quantity_cost_unknown, so unknown_cost_rate shows how much of cogs is missing — a missing
  cost is never taken as 0.
* cogs = Σ quantity × unit cost over the lines of the counted orders (opslib.metrics.sales),
  booked on the order's day like gross sales. Returned units are not taken back out of cogs:
  the data do not say whether they went back on the shelf.
* gross profit = net sales − cogs; gross margin rate = gross profit ÷ net sales.
* shipping P&L, over the counted orders of the window: shipping_charged = Σ what the orders
  paid for shipping, shipping_cost = Σ what the carriers charged for their parcels,
  shipping_margin = charged − cost. An order belongs to the carrier of its first parcel
  ("(not shipped)" while it has none).
* contribution margin = net sales − cogs + shipping charged − carrier cost − payment fees
  (bank lines of category `fees` booked in the window, as a positive cost) − ad spend.

Every figure is a sum over days, so a week or a month is the same call over a longer window
and Σ daily = week = month.
"""

from __future__ import annotations

import ibis
import pandas as pd
from ibis import _

from opslib.metrics.common import full_calendar, ratio, require, series_ratio
from opslib.metrics.performance import sku_net_sales
from opslib.metrics.sales import counted_lines, counted_orders, daily_sales
from opslib.store import Window, in_window

__all__ = ["DAILY_PROFIT_COLUMNS", "CONTRIBUTION_STEPS", "NOT_SHIPPED", "unit_costs",
           "daily_profit", "profit_totals", "profit_by_sku", "profit_by_category",
           "profit_changes", "order_shipping", "shipping_pnl", "shipping_totals",
           "payment_fees", "ad_spend", "contribution_margin", "contribution_steps"]

DAILY_PROFIT_COLUMNS = ("date_day", "net_sales", "cogs", "gross_profit", "gross_margin_rate",
                        "quantity_sold", "quantity_cost_unknown", "unknown_cost_rate")
# The steps from net sales to contribution margin: (name, sign).
CONTRIBUTION_STEPS = (("net_sales", 1), ("cogs", -1), ("shipping_charged", 1),
                      ("shipping_cost", -1), ("payment_fees", -1), ("ad_spend", -1))
NOT_SHIPPED = "(not shipped)"
NO_PRODUCT = "(no product)"


def unit_costs(products: ibis.Table, purchase_orders: ibis.Table | None = None, *,
               window: Window) -> ibis.Table:
    """The unit cost of every SKU: the product's, else its latest purchase order's (placed
    before the window ends). Grain: SKU. Columns: sku, unit_cost (null when unknown)."""
    require(products, "products", ("sku", "unit_cost"))
    own = products.select("sku", own_cost=products.unit_cost.cast("float64"))
    if purchase_orders is None:
        return own.select("sku", unit_cost=own.own_cost)
    require(purchase_orders, "purchase_orders", ("sku", "unit_cost", "ordered_at"))
    placed = purchase_orders.filter(purchase_orders.ordered_at < window.hi)
    newest = ibis.window(group_by="sku", order_by=[ibis.desc("ordered_at"),
                                                   ibis.desc("unit_cost")])
    latest = placed.mutate(n=ibis.row_number().over(newest)).filter(_.n == 0).select(
        "sku", po_cost=_.unit_cost.cast("float64"))
    joined = own.left_join(latest, "sku")
    return joined.select("sku", unit_cost=ibis.coalesce(joined.own_cost, joined.po_cost))


def costed_lines(orders: ibis.Table, order_lines: ibis.Table, products: ibis.Table,
                 purchase_orders: ibis.Table | None, window: Window) -> ibis.Table:
    """The window's counted lines with line_cogs (0 when the cost is unknown) and
    quantity_cost_unknown (the line's units when it is) (engine side)."""
    lines = counted_lines(orders, order_lines, window=window)
    joined = lines.left_join(unit_costs(products, purchase_orders, window=window), "sku")
    known = joined.unit_cost.notnull()
    return joined.mutate(
        line_cogs=ibis.ifelse(known, joined.quantity * joined.unit_cost, 0.0),
        quantity_cost_unknown=ibis.ifelse(known, 0, joined.quantity))


def daily_profit(orders: ibis.Table, order_lines: ibis.Table, returns: ibis.Table | None,
                 products: ibis.Table, purchase_orders: ibis.Table | None = None, *,
                 window: Window) -> pd.DataFrame:
    """One row per local day (a full calendar): DAILY_PROFIT_COLUMNS.

    Grain: day. net_sales is opslib.metrics.sales' figure; cogs and the units are 0 on a
    day without orders; the rates are empty when their denominator is 0.
    """
    sold = daily_sales(orders, order_lines, returns, window=window)
    costed = costed_lines(orders, order_lines, products, purchase_orders, window)
    by_day = costed.group_by("date_day").aggregate(
        cogs=_.line_cogs.sum(), quantity_cost_unknown=_.quantity_cost_unknown.sum()) \
        .to_pandas()
    frame = sold[["date_day", "net_sales", "quantity_sold"]].merge(
        full_calendar(by_day, window, zero=["cogs", "quantity_cost_unknown"]), on="date_day")
    frame["cogs"] = frame.cogs.astype("float64")
    frame["quantity_cost_unknown"] = frame.quantity_cost_unknown.astype("int64")
    frame["gross_profit"] = frame.net_sales - frame.cogs
    frame["gross_margin_rate"] = series_ratio(frame.gross_profit, frame.net_sales)
    frame["unknown_cost_rate"] = series_ratio(frame.quantity_cost_unknown,
                                              frame.quantity_sold)
    return frame[list(DAILY_PROFIT_COLUMNS)]


def profit_totals(daily: pd.DataFrame) -> dict[str, float | None]:
    """The window's figures from a daily_profit frame: sums, and the rates of the sums.

    >>> days = pd.DataFrame({"net_sales": [100.0, -10.0], "cogs": [40.0, 0.0],
    ...     "quantity_sold": [4, 0], "quantity_cost_unknown": [1, 0]})
    >>> t = profit_totals(days)
    >>> t["gross_profit"], t["gross_margin_rate"], t["unknown_cost_rate"]
    (50.0, 0.5555555555555556, 0.25)
    """
    net, cogs = float(daily.net_sales.sum()), float(daily.cogs.sum())
    units, unknown = int(daily.quantity_sold.sum()), int(daily.quantity_cost_unknown.sum())
    return {"net_sales": net, "cogs": cogs, "gross_profit": net - cogs,
            "gross_margin_rate": ratio(net - cogs, net), "quantity_sold": units,
            "quantity_cost_unknown": unknown, "unknown_cost_rate": ratio(unknown, units)}


def profit_by_sku(orders: ibis.Table, order_lines: ibis.Table, returns: ibis.Table | None,
                  products: ibis.Table, purchase_orders: ibis.Table | None = None, *,
                  window: Window) -> pd.DataFrame:
    """Net sales, cogs and gross profit per SKU over the window, most profit first.

    Grain: SKU (net sales as opslib.metrics.performance.sku_net_sales: gross − line
    discounts − the SKU's refunds; SKU-less lines and refunds are one row with an empty
    sku). Columns: sku, title, category, quantity_sold, net_sales, unit_cost, cogs,
    gross_profit, gross_margin_rate, is_cost_known. An unknown cost leaves cogs and gross
    profit empty for that SKU.
    """
    require(products, "products", ("sku", "title", "category"))
    sales = sku_net_sales(orders, order_lines, returns, window=window)
    costs = unit_costs(products, purchase_orders, window=window).to_pandas()
    names = products.select("sku", "title", "category").to_pandas()
    frame = sales.merge(costs, on="sku", how="left").merge(names, on="sku", how="left")
    frame["unit_cost"] = frame.unit_cost.astype("float64")
    frame["is_cost_known"] = frame.unit_cost.notna()
    frame["cogs"] = frame.quantity_sold * frame.unit_cost
    frame["gross_profit"] = frame.net_sales - frame.cogs
    frame["gross_margin_rate"] = series_ratio(frame.gross_profit, frame.net_sales)
    frame = frame.sort_values(["gross_profit", "net_sales", "sku"],
                              ascending=[False, False, True], na_position="last")
    return frame[["sku", "title", "category", "quantity_sold", "net_sales", "unit_cost",
                  "cogs", "gross_profit", "gross_margin_rate", "is_cost_known"]] \
        .reset_index(drop=True)


def profit_by_category(orders: ibis.Table, order_lines: ibis.Table,
                       returns: ibis.Table | None, products: ibis.Table,
                       purchase_orders: ibis.Table | None = None, *,
                       window: Window) -> pd.DataFrame:
    """Net sales, cogs and gross profit per category; the rows add up to the store's
    figures (order-level discounts, SKU-less lines and refunds in "(no product)").

    Grain: category. Columns: category, net_sales, cogs, gross_profit, gross_margin_rate,
    quantity_sold, quantity_cost_unknown. Units of unknown cost add nothing to cogs.
    """
    skus = profit_by_sku(orders, order_lines, returns, products, purchase_orders,
                         window=window)
    skus = skus.assign(category=skus.category.fillna(NO_PRODUCT),
                       cogs=skus.cogs.fillna(0.0),
                       quantity_cost_unknown=skus.quantity_sold.where(~skus.is_cost_known, 0))
    frame = skus.groupby("category", as_index=False)[
        ["net_sales", "cogs", "quantity_sold", "quantity_cost_unknown"]].sum()
    store_net = float(daily_sales(orders, order_lines, returns, window=window).net_sales.sum())
    rest = store_net - float(frame.net_sales.sum())
    if round(rest, 2) != 0:
        if NO_PRODUCT not in set(frame.category):
            frame.loc[len(frame)] = [NO_PRODUCT, 0.0, 0.0, 0, 0]
        frame.loc[frame.category == NO_PRODUCT, "net_sales"] += rest
    frame["gross_profit"] = frame.net_sales - frame.cogs
    frame["gross_margin_rate"] = series_ratio(frame.gross_profit, frame.net_sales)
    frame = frame.astype({"quantity_sold": "int64", "quantity_cost_unknown": "int64"})
    return frame.sort_values(["gross_profit", "category"], ascending=[False, True])[
        ["category", "net_sales", "cogs", "gross_profit", "gross_margin_rate",
         "quantity_sold", "quantity_cost_unknown"]].reset_index(drop=True)


def profit_changes(now: pd.DataFrame, before: pd.DataFrame, *, count: int = 10
                   ) -> pd.DataFrame:
    """The `count` biggest gains and drops in gross profit per SKU between two
    profit_by_sku frames (SKUs of unknown cost and SKU-less rows left out).

    Grain: SKU. Columns: rank_label (gain / drop), sku, title, category, gross_profit,
    gross_profit_before, gross_profit_change, net_sales, net_sales_before.
    """
    keep = ["sku", "title", "category", "gross_profit", "net_sales"]
    known = [f[f.is_cost_known & f.sku.notna()][keep] for f in (now, before)]
    frame = known[0].merge(known[1], on="sku", how="outer", suffixes=("", "_before"))
    frame["title"] = frame.title.fillna(frame.title_before)
    frame["category"] = frame.category.fillna(frame.category_before)
    for column in ("gross_profit", "gross_profit_before", "net_sales", "net_sales_before"):
        frame[column] = frame[column].astype("float64").fillna(0.0)
    frame["gross_profit_change"] = frame.gross_profit - frame.gross_profit_before
    gains = frame[frame.gross_profit_change > 0].nlargest(count, "gross_profit_change")
    drops = frame[frame.gross_profit_change < 0].nsmallest(count, "gross_profit_change")
    out = pd.concat([gains.assign(rank_label="gain"), drops.assign(rank_label="drop")])
    return out[["rank_label", "sku", "title", "category", "gross_profit",
                "gross_profit_before", "gross_profit_change", "net_sales",
                "net_sales_before"]].reset_index(drop=True)


def order_shipping(orders: ibis.Table, shipments: ibis.Table | None, *,
                   window: Window) -> ibis.Table:
    """The counted orders of the window with what their shipping earned and cost.

    Grain: order. Columns: order_id, carrier (of the first parcel; "(not shipped)"),
    count_shipments, shipping_charged (the order's shipping_amount), shipping_cost (Σ the
    carrier's charge for its parcels; 0 without parcels or shipments data).
    """
    placed = counted_orders(orders, window=window).select(
        "order_id", shipping_charged=_.shipping_amount.cast("float64"))
    if shipments is None:
        return placed.mutate(carrier=ibis.literal(NOT_SHIPPED), count_shipments=0,
                             shipping_cost=0.0)
    require(shipments, "shipments", ("order_id", "carrier", "shipped_at", "shipping_cost"))
    parcels = shipments.semi_join(placed, "order_id").group_by("order_id").aggregate(
        carrier=_.carrier.argmin(_.shipped_at), count_shipments=_.count(),
        shipping_cost=_.shipping_cost.fill_null(0).sum())
    joined = placed.left_join(parcels, "order_id")
    return joined.select(
        "order_id", "shipping_charged",
        carrier=joined.carrier.fill_null(NOT_SHIPPED),
        count_shipments=joined.count_shipments.fill_null(0),
        shipping_cost=joined.shipping_cost.fill_null(0).cast("float64"))


def shipping_pnl(orders: ibis.Table, shipments: ibis.Table | None, *,
                 window: Window) -> pd.DataFrame:
    """Shipping charged against carrier cost per carrier, over the window's orders.

    Grain: carrier (largest cost first). Columns: carrier, count_orders, count_shipments,
    shipping_charged, shipping_cost, shipping_margin (charged − cost).
    """
    per_order = order_shipping(orders, shipments, window=window)
    frame = per_order.group_by("carrier").aggregate(
        count_orders=_.count(), count_shipments=_.count_shipments.sum(),
        shipping_charged=_.shipping_charged.sum(), shipping_cost=_.shipping_cost.sum()) \
        .to_pandas()
    frame = frame.astype({"count_orders": "int64", "count_shipments": "int64",
                          "shipping_charged": "float64", "shipping_cost": "float64"})
    frame["shipping_margin"] = frame.shipping_charged - frame.shipping_cost
    return frame.sort_values(["shipping_cost", "carrier"], ascending=[False, True]) \
        .reset_index(drop=True)


def shipping_totals(pnl: pd.DataFrame) -> dict[str, float]:
    """shipping_charged, shipping_cost and shipping_margin of a shipping_pnl frame."""
    charged, cost = float(pnl.shipping_charged.sum()), float(pnl.shipping_cost.sum())
    return {"shipping_charged": charged, "shipping_cost": cost,
            "shipping_margin": charged - cost}


def payment_fees(bank_transactions: ibis.Table | None, *, window: Window) -> float:
    """Bank lines of category `fees` booked in the window, as a positive cost (0 without
    bank data)."""
    if bank_transactions is None:
        return 0.0
    require(bank_transactions, "bank_transactions", ("booked_date", "amount", "category"))
    fees = bank_transactions.filter((bank_transactions.category == "fees")
                                    & in_window(bank_transactions.booked_date, window))
    total = fees.amount.sum().execute()
    return 0.0 if total is None or pd.isna(total) else -float(total)


def ad_spend(ad_spend_daily: ibis.Table | None, *, window: Window) -> float:
    """Σ ad spend of the window's days (0 without ad data)."""
    if ad_spend_daily is None:
        return 0.0
    require(ad_spend_daily, "ad_spend_daily", ("date_day", "spend"))
    spent = ad_spend_daily.filter(in_window(ad_spend_daily.date_day, window)).spend.sum() \
        .execute()
    return 0.0 if spent is None or pd.isna(spent) else float(spent)


def contribution_margin(parts: dict[str, float | None]) -> float | None:
    """net sales − cogs + shipping charged − shipping cost − payment fees − ad spend.

    >>> contribution_margin({"net_sales": 100.0, "cogs": 40.0, "shipping_charged": 10.0,
    ...     "shipping_cost": 12.0, "payment_fees": 3.0, "ad_spend": 20.0})
    35.0
    """
    values = [parts.get(name) for name, _ in CONTRIBUTION_STEPS]
    if any(value is None or pd.isna(value) for value in values):
        return None
    return float(sum(sign * value for (_, sign), value in zip(CONTRIBUTION_STEPS, values)))


def contribution_steps(parts: dict[str, float | None]) -> pd.DataFrame:
    """The waterfall from net sales to contribution margin.

    Grain: step. Columns: step, amount (signed), start, end (the running total before and
    after the step); the last row, contribution_margin, runs from 0 to the total.

    >>> f = contribution_steps({"net_sales": 100.0, "cogs": 40.0, "shipping_charged": 10.0,
    ...     "shipping_cost": 12.0, "payment_fees": 3.0, "ad_spend": 20.0})
    >>> f.end.tolist()
    [100.0, 60.0, 70.0, 58.0, 55.0, 35.0, 35.0]
    """
    rows, running = [], 0.0
    for name, sign in CONTRIBUTION_STEPS:
        amount = sign * float(parts[name] or 0.0)
        rows.append({"step": name, "amount": amount, "start": running,
                     "end": running + amount})
        running += amount
    rows.append({"step": "contribution_margin", "amount": running, "start": 0.0,
                 "end": running})
    return pd.DataFrame(rows, columns=["step", "amount", "start", "end"])
