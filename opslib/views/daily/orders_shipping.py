"""Orders and shipping: what to pick and ship, what is overdue, which parcels to chase."""

from __future__ import annotations

import datetime as dt

from opslib import charts
from opslib import display as show
from opslib.exports import action_list
from opslib.metrics.common import AGE_BUCKETS, count_by_age
from opslib.store import Store
from opslib.views.base import section
from opslib.views.daily import data
from opslib.views.daily.common import table, tiles

__all__ = ["summary", "pick_list", "awaiting_payment", "overdue_orders", "late_shipments",
           "tracking_not_sent", "wrong_items", "figures"]

# The tables this page reads: `playbook run` checks them against the data contract
# before the notebook runs (a test keeps this in step with what the page reads).
READS = ("products", "orders", "order_lines", "shipments", "returns", "customers")

_BUCKETS = {column: "count" for *_, column in AGE_BUCKETS} | {"count_total": "count"}


@section("Shipping at a glance")
def summary(store: Store, day: dt.date) -> list:
    """Tiles: awaiting shipment, past ship-by, parcels shipped on D, late, without tracking."""
    waiting = data.open_orders(store, day)
    return [tiles(store, [
        show.Tile("Orders awaiting shipment", float(len(waiting)), "count"),
        show.Tile("Past the ship-by promise", float(waiting.is_past_ship_by.sum()), "count"),
        show.Tile("Parcels shipped", data.shipments_day(store, day)["count_shipments"],
                  "count"),
        show.Tile("Parcels late", float(len(data.late_shipments(store, day))), "count"),
        show.Tile("Tracking not sent", float(len(data.tracking_not_sent(store, day))),
                  "count"),
    ])]


@section("Pick list")
def pick_list(store: Store, day: dt.date) -> list:
    """Units to pick per SKU for every order awaiting shipment, oldest order first."""
    return [table(store, data.pick_list(store, day),
                  units={"quantity": "count", "count_orders": "count"},
                  empty="Nothing to pick: every order has shipped.")]


@section("Awaiting payment")
def awaiting_payment(store: Store, day: dt.date) -> list:
    """Orders placed and not paid at the end of D, oldest first (the `unpaid_orders` list).

    Pending payments are held: not on the pick list nor in the ship-by counts until paid.
    Authorized ones are picked as usual (the money is taken when the parcel ships).
    """
    frame = data.unpaid_orders(store, day)
    parts = [action_list("unpaid_orders", frame, currency=store.settings.store.currency,
                         empty="No order is waiting for its payment.")]
    held = int(frame.is_held_from_shipping.sum())
    if held:
        parts.append(show.note(f"{held} order(s) with the payment pending are held off the "
                               f"pick list until paid: remind the customer, or cancel. "
                               f"Authorized payments are picked as usual."))
    return parts


@section("Orders past the ship-by promise")
def overdue_orders(store: Store, day: dt.date) -> list:
    """Orders awaiting shipment by age, and the list of those past the promise (in red)."""
    waiting = data.open_orders(store, day)
    ages = count_by_age(waiting)
    chart_frame = waiting.groupby("age_bucket").size().reindex(
        [label for _, _, label, _ in AGE_BUCKETS], fill_value=0).rename("count_orders") \
        .rename_axis("age_bucket").reset_index()
    late = waiting[waiting.is_past_ship_by]
    return [
        table(store, ages, title="Orders awaiting shipment, by days since they were placed",
              units=_BUCKETS),
        charts.bar(chart_frame, x="age_bucket", y="count_orders", y_unit="count",
                   title="Orders awaiting shipment by age", height=160),
        table(store, late.drop(columns=["order_id", "is_past_ship_by"]),
              title="Past the ship-by promise, oldest first",
              units={"quantity": "count", "age_days": "count", "hours_past_ship_by": "hours"},
              empty="No order is past its ship-by promise."),
    ]


@section("Shipments late against their promised date")
def late_shipments(store: Store, day: dt.date) -> list:
    return [table(store, data.late_shipments(store, day), units={"days_late": "days"},
                  empty="No parcel is past its promised delivery date.")]


@section("Parcels shipped without tracking sent to the customer")
def tracking_not_sent(store: Store, day: dt.date) -> list:
    return [table(store, data.tracking_not_sent(store, day),
                  units={"hours_since_shipped": "hours"},
                  empty="Every parcel in transit has had its tracking number sent.")]


@section("Wrong-item incidents")
def wrong_items(store: Store, day: dt.date) -> list:
    """Returns for a wrong item asked for in the last 7 days: picking mistakes to trace."""
    return [table(store, data.wrong_items(store, day), units={"quantity": "count"},
                  title=f"Asked for in the {data.WRONG_ITEM_DAYS} days to {day}",
                  empty="No wrong-item return in the last week.")]


def figures(store: Store, day: dt.date) -> dict[str, float | None]:
    """count_orders_awaiting_shipment, count_orders_past_ship_by, count_shipments_late,
    count_unpaid_orders."""
    out: dict[str, float | None] = dict.fromkeys(
        ["count_orders_awaiting_shipment", "count_orders_past_ship_by",
         "count_shipments_late", "count_unpaid_orders"])
    if store.has("orders"):
        out["count_unpaid_orders"] = float(len(data.unpaid_orders(store, day)))
    if all(store.has(t) for t in ("orders", "order_lines", "shipments")):
        waiting = data.open_orders(store, day)
        out["count_orders_awaiting_shipment"] = float(len(waiting))
        out["count_orders_past_ship_by"] = float(waiting.is_past_ship_by.sum())
    if store.has("shipments") and store.has("orders"):
        out["count_shipments_late"] = float(len(data.late_shipments(store, day)))
    return out
