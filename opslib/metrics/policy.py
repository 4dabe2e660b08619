"""Shipping, returns and service policy: what each carrier costs and how late it is, why
things come back, a free-shipping-threshold what-if, and service by channel.

Definitions (docs/metrics.md, "Monthly"):

* Shipping cost and delivery time are over the parcels shipped in the window; delivery days
  = (delivered_at − shipped_at) ÷ 24 h, for parcels delivered by the end of the window.
* late-delivery rate = parcels whose promised time fell in the window and that were not
  delivered by then (delivered later, or still not delivered at the end of the window) ÷
  parcels promised in the window. Judging each parcel in the month its promise fell due
  keeps a past month final.
* return rate = return requests in the window (item lines and order-level refunds, by
  requested_at; opslib.metrics.returns.daily_returns) ÷ orders counted in the window
  (opslib.metrics.sales) — returns per order, not the share of orders with a return.
* free-shipping what-if for a threshold T: orders whose value (gross − discounts) is at
  least T; their share of orders, the shipping they were charged (what free shipping from T
  would give up) and what the carrier charged us for them (the orders' carrier cost in the
  shipping profit and loss, opslib.metrics.profit.order_shipping).
* service by channel, for tickets created in the window: first-response and resolution
  hours (median and p90; resolution for tickets resolved by the end of the window),
  escalation rate, and CSAT (csat surveys submitted in the window about these tickets).
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import numpy as np
import pandas as pd
from ibis import _

from opslib.metrics.common import SATISFIED_MIN_SCORE, hours_between, ratio, require, \
    series_ratio
from opslib.metrics.months import order_values
from opslib.metrics.profit import order_shipping
from opslib.metrics.returns import daily_returns
from opslib.metrics.sales import daily_sales
from opslib.schema import RETURN_REASONS, TICKET_CHANNELS
from opslib.store import Window, in_window

__all__ = ["shipping_by_carrier", "late_deliveries", "return_figures", "return_reasons",
           "default_thresholds", "free_shipping_what_if", "service_by_channel"]

_SHIPMENT_COLUMNS = ("shipment_id", "order_id", "carrier", "service", "shipped_at",
                     "promised_at", "delivered_at", "shipping_cost")


def _late(shipments: ibis.Table, window: Window) -> ibis.Table:
    promised = shipments.filter(in_window(shipments.promised_at, window))
    late = promised.delivered_at.isnull() | (promised.delivered_at > promised.promised_at)
    return promised.mutate(is_late=late)


def shipping_by_carrier(shipments: ibis.Table, *, window: Window) -> pd.DataFrame:
    """Cost, delivery time and lateness per carrier and service, most parcels first.

    Grain: carrier × service. Columns: carrier, service, count_shipments, shipping_cost
    (Σ what the carrier charged), avg_shipping_cost (per parcel with a cost),
    median_delivery_days, p90_delivery_days, count_promised, count_late,
    late_delivery_rate.
    """
    require(shipments, "shipments", _SHIPMENT_COLUMNS)
    shipped = shipments.filter(in_window(shipments.shipped_at, window))
    delivered = shipped.delivered_at.notnull() & (shipped.delivered_at < window.hi)
    days = hours_between(shipped.delivered_at, shipped.shipped_at) / 24
    shipped = shipped.mutate(delivery_days=ibis.ifelse(delivered, days, ibis.null("float64")))
    cost = shipped.group_by(["carrier", "service"]).aggregate(
        count_shipments=_.count(), shipping_cost=_.shipping_cost.sum(),
        avg_shipping_cost=_.shipping_cost.mean(),
        median_delivery_days=_.delivery_days.median(),
        p90_delivery_days=_.delivery_days.quantile(0.9)).to_pandas()
    late = _late(shipments, window).group_by(["carrier", "service"]).aggregate(
        count_promised=_.count(), count_late=_.is_late.sum()).to_pandas()
    frame = cost.merge(late, on=["carrier", "service"], how="outer")
    for column in ("count_shipments", "count_promised", "count_late"):
        frame[column] = frame[column].fillna(0).astype("int64")
    for column in ("shipping_cost", "avg_shipping_cost", "median_delivery_days",
                   "p90_delivery_days"):
        frame[column] = frame[column].astype("float64")
    frame["shipping_cost"] = frame.shipping_cost.fillna(0.0)
    frame["late_delivery_rate"] = series_ratio(frame.count_late, frame.count_promised)
    return frame.sort_values(["count_shipments", "carrier", "service"],
                             ascending=[False, True, True]).reset_index(drop=True)


def late_deliveries(shipments: ibis.Table, *, window: Window) -> dict[str, float | None]:
    """count_promised, count_late and late_delivery_rate over the window (None if no promise)."""
    require(shipments, "shipments", _SHIPMENT_COLUMNS)
    row = _late(shipments, window).aggregate(count_promised=_.count(),
                                             count_late=_.is_late.sum()).to_pandas().iloc[0]
    promised = int(row.count_promised)
    late = 0 if promised == 0 else int(row.count_late)
    return {"count_promised": promised, "count_late": late,
            "late_delivery_rate": ratio(late, promised)}


def return_figures(orders: ibis.Table, order_lines: ibis.Table, returns: ibis.Table, *,
                   window: Window) -> dict[str, float | None]:
    """The window's return requests, orders and return rate, summed from the daily functions.

    Keys: count_returns_requested, count_orders, return_rate, returns_amount (refunds booked).
    """
    returned = daily_returns(returns, window=window)
    sold = daily_sales(orders, order_lines, returns, window=window)
    requested = int(returned.count_returns_requested.sum())
    placed = int(sold.count_orders.sum())
    return {"count_returns_requested": requested, "count_orders": placed,
            "return_rate": ratio(requested, placed),
            "returns_amount": float(returned.returns_amount.sum())}


def return_reasons(returns: ibis.Table, *, window: Window) -> pd.DataFrame:
    """Return requests of the window by reason (every reason, 0 when none), biggest first.

    Grain: reason. Columns: reason, count_returns, share_of_returns, quantity_returned
    (units of item returns), refund_amount (of these requests, refunded or to refund).
    """
    require(returns, "returns", ("requested_at", "reason", "quantity", "refund_amount"))
    asked = returns.filter(in_window(returns.requested_at, window))
    frame = asked.group_by("reason").aggregate(
        count_returns=_.count(), quantity_returned=_.quantity.sum(),
        refund_amount=_.refund_amount.sum()).to_pandas()
    known = list(RETURN_REASONS) + sorted(set(frame.reason) - set(RETURN_REASONS))
    out = pd.DataFrame({"reason": known}).merge(frame, on="reason", how="left")
    out["count_returns"] = out.count_returns.fillna(0).astype("int64")
    out["quantity_returned"] = out.quantity_returned.fillna(0).astype("int64")
    out["refund_amount"] = out.refund_amount.astype("float64").fillna(0.0)
    out["share_of_returns"] = series_ratio(out.count_returns,
                                           pd.Series(out.count_returns.sum(), index=out.index))
    out = out.sort_values(["count_returns", "reason"], ascending=[False, True])
    return out[["reason", "count_returns", "share_of_returns", "quantity_returned",
                "refund_amount"]].reset_index(drop=True)


def default_thresholds(values: pd.Series, *, step: float = 5.0) -> list[float]:
    """Thresholds to try: the quartiles and 90th percentile of order value, rounded to `step`.

    >>> default_thresholds(pd.Series([10.0, 20, 30, 40, 50, 60, 70, 80, 90, 100]))
    [30.0, 55.0, 80.0, 90.0]
    """
    values = values.dropna()
    if values.empty:
        return []
    points = np.quantile(values, [0.25, 0.5, 0.75, 0.9])
    rounded = sorted({float(max(step, round(p / step) * step)) for p in points})
    return rounded


def free_shipping_what_if(orders: ibis.Table, order_lines: ibis.Table,
                          shipments: ibis.Table | None = None, *, window: Window,
                          thresholds: Sequence[float] | None = None) -> pd.DataFrame:
    """What free shipping from each threshold would have meant for the window's orders.

    Grain: threshold (default: default_thresholds of the window's order values). Columns:
    threshold, count_orders_above (value ≥ threshold), share_of_orders_above,
    shipping_charged_above (shipping those orders paid: given up with free shipping),
    carrier_cost_above (what their parcels cost us; empty without shipments),
    share_already_free (of the orders above, those that paid no shipping).
    """
    placed = order_values(orders, order_lines, window=window)
    columns = ["order_id", "sales_amount", "shipping_amount"]
    frame = placed.select(*columns).to_pandas()
    costs = None
    if shipments is not None:
        require(shipments, "shipments", _SHIPMENT_COLUMNS)
        costs = order_shipping(orders, shipments, window=window).select(
            "order_id", carrier_cost="shipping_cost").to_pandas()
        frame = frame.merge(costs, on="order_id", how="left")
    chosen = list(thresholds) if thresholds is not None else \
        default_thresholds(frame.sales_amount)
    rows = []
    for threshold in chosen:
        above = frame[frame.sales_amount >= threshold]
        rows.append({
            "threshold": float(threshold), "count_orders_above": int(len(above)),
            "share_of_orders_above": ratio(len(above), len(frame)),
            "shipping_charged_above": float(above.shipping_amount.sum()),
            "carrier_cost_above": None if costs is None else
            float(above.carrier_cost.fillna(0).sum()),
            "share_already_free": ratio(int((above.shipping_amount == 0).sum()), len(above)),
        })
    return pd.DataFrame(rows, columns=["threshold", "count_orders_above",
                                       "share_of_orders_above", "shipping_charged_above",
                                       "carrier_cost_above", "share_already_free"]).astype(
        {"share_of_orders_above": "float64", "carrier_cost_above": "float64",
         "share_already_free": "float64"})


def service_by_channel(tickets: ibis.Table, surveys: ibis.Table | None = None, *,
                       window: Window) -> pd.DataFrame:
    """Tickets created in the window per channel: response and resolution times,
    escalations, CSAT. Every channel with tickets; busiest first.

    Grain: channel. Columns: channel, count_tickets, median_first_response_hours,
    p90_first_response_hours, count_resolved, median_resolution_hours,
    p90_resolution_hours, count_escalated, escalation_rate, count_csat_responses,
    csat_rate (share of csat scores 4–5; empty without responses).
    """
    require(tickets, "tickets", ("ticket_id", "channel", "created_at", "first_response_at",
                                 "resolved_at", "is_escalated"))
    made = tickets.filter(in_window(tickets.created_at, window))
    answered = made.first_response_at.notnull() & (made.first_response_at < window.hi)
    resolved = made.resolved_at.notnull() & (made.resolved_at < window.hi)
    made = made.mutate(
        first_response_hours=ibis.ifelse(answered, hours_between(made.first_response_at,
                                                                 made.created_at),
                                         ibis.null("float64")),
        resolution_hours=ibis.ifelse(resolved, hours_between(made.resolved_at,
                                                             made.created_at),
                                     ibis.null("float64")))
    frame = made.group_by("channel").aggregate(
        count_tickets=_.count(),
        median_first_response_hours=_.first_response_hours.median(),
        p90_first_response_hours=_.first_response_hours.quantile(0.9),
        count_resolved=_.resolution_hours.count(),
        median_resolution_hours=_.resolution_hours.median(),
        p90_resolution_hours=_.resolution_hours.quantile(0.9),
        count_escalated=_.is_escalated.sum()).to_pandas()
    frame["escalation_rate"] = series_ratio(frame.count_escalated, frame.count_tickets)
    scores = pd.DataFrame(columns=["channel", "count_csat_responses", "count_satisfied"])
    if surveys is not None:
        require(surveys, "surveys", ("ticket_id", "submitted_at", "kind", "score"))
        rated = surveys.filter(in_window(surveys.submitted_at, window) &
                               (surveys.kind == "csat"))
        rated = rated.inner_join(made.select("ticket_id", "channel"), "ticket_id")
        scores = rated.group_by("channel").aggregate(
            count_csat_responses=_.count(),
            count_satisfied=(_.score >= SATISFIED_MIN_SCORE).sum()).to_pandas()
    frame = frame.merge(scores, on="channel", how="left")
    frame["count_csat_responses"] = frame.count_csat_responses.fillna(0).astype("int64")
    frame["csat_rate"] = series_ratio(frame.count_satisfied, frame.count_csat_responses)
    order = {name: i for i, name in enumerate(TICKET_CHANNELS)}
    frame = frame.assign(_order=frame.channel.map(order)).sort_values(
        ["count_tickets", "_order"], ascending=[False, True])
    numbers = ["median_first_response_hours", "p90_first_response_hours",
               "median_resolution_hours", "p90_resolution_hours"]
    frame[numbers] = frame[numbers].astype("float64").round(1)
    return frame[["channel", "count_tickets", "median_first_response_hours",
                  "p90_first_response_hours", "count_resolved", "median_resolution_hours",
                  "p90_resolution_hours", "count_escalated", "escalation_rate",
                  "count_csat_responses", "csat_rate"]].reset_index(drop=True).astype(
        {"count_tickets": "int64", "count_resolved": "int64", "count_escalated": "int64"})
