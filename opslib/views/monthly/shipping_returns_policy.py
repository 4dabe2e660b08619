"""Shipping, returns and service policy: carriers, lateness, return reasons, a free-shipping
what-if, and service per channel."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from opslib import charts
from opslib import display as show
from opslib.metrics import policy
from opslib.store import Store
from opslib.views.base import section
from opslib.views.monthly import data
from opslib.views.monthly.common import (
    comparison_table, comparison_tiles, periods, recorded, table, three_months,
)

__all__ = ["HEADLINE", "headline", "carriers", "return_reasons", "free_shipping", "service",
           "figures"]

# The tables this page reads: `playbook run` checks them against the data contract
# before the notebook runs (a test keeps this in step with what the page reads).
READS = ("orders", "order_lines", "shipments", "returns", "tickets", "surveys")

HEADLINE = (
    ("late_delivery_rate", "Late-delivery rate", "rate"),
    ("return_rate", "Return rate (requests per order)", "rate"),
    ("count_returns_requested", "Return requests", "count"),
    ("returns_amount", "Refunded", "money"),
)


@section("The month at a glance")
def headline(store: Store, day: dt.date) -> list:
    """Late deliveries and returns against the month before and last year."""
    values = three_months(store, day, data.policy_figures)
    return [comparison_tiles(store, values, HEADLINE),
            comparison_table(store, day, values, HEADLINE)]


@section("Carriers: cost, delivery time, lateness")
def carriers(store: Store, day: dt.date) -> list:
    """Per carrier and service: parcels, cost, delivery days, late-delivery rate."""
    frame = policy.shipping_by_carrier(store.table("shipments"), window=periods(store, day)[0])
    return [table(store, frame, units={
        "count_shipments": "count", "shipping_cost": "money", "avg_shipping_cost": "money",
        "median_delivery_days": "days", "p90_delivery_days": "days", "count_promised": "count",
        "count_late": "count", "late_delivery_rate": "rate"})]


@section("Why things come back")
def return_reasons(store: Store, day: dt.date) -> list:
    """Return requests by reason (wrong item, damaged, not as described...)."""
    frame = policy.return_reasons(store.table("returns"), window=periods(store, day)[0])
    return [table(store, frame, units={"count_returns": "count", "share_of_returns": "rate",
                                       "quantity_returned": "count", "refund_amount": "money"}),
            charts.bar(frame, x="reason", y="count_returns", horizontal=True, y_unit="count",
                       title="Return requests by reason", height=160)]


@section("Free-shipping threshold: what if")
def free_shipping(store: Store, day: dt.date, *,
                  thresholds: Sequence[float] | None = None) -> list:
    """For each threshold: orders above it and the shipping income free shipping would cost.

    Pass `thresholds=[...]` to try your own (default: the quartiles of order value).
    """
    t = store.table
    shipments = store.optional("shipments")
    frame = policy.free_shipping_what_if(t("orders"), t("order_lines"), shipments,
                                         window=periods(store, day)[0], thresholds=thresholds)
    return [table(store, frame, units={
        "threshold": "money", "count_orders_above": "count", "share_of_orders_above": "rate",
        "shipping_charged_above": "money", "carrier_cost_above": "money",
        "share_already_free": "rate"}),
            show.note("Order value = goods after discounts. 'Shipping charged above' is the "
                      "shipping income you would give up by shipping free from that value; "
                      "to try other thresholds, call free_shipping(store, day, "
                      "thresholds=[...]).")]


@section("Service per channel")
def service(store: Store, day: dt.date) -> list:
    """Response and resolution times, escalations and CSAT for the month's tickets."""
    surveys = store.optional("surveys")
    frame = policy.service_by_channel(store.table("tickets"), surveys,
                                      window=periods(store, day)[0])
    return [table(store, frame, units={
        "count_tickets": "count", "median_first_response_hours": "hours",
        "p90_first_response_hours": "hours", "count_resolved": "count",
        "median_resolution_hours": "hours", "p90_resolution_hours": "hours",
        "count_escalated": "count", "escalation_rate": "rate",
        "count_csat_responses": "count", "csat_rate": "rate"})]


def figures(store: Store, day: dt.date) -> dict[str, float | None]:
    """return_rate, late_delivery_rate (each with _prev_month and _prev_year)."""
    values = three_months(store, day, data.policy_figures)
    return recorded(values, ("return_rate", "late_delivery_rate"))
