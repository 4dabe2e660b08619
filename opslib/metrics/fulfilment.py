"""Fulfilment: what waits to be picked and shipped, what is late, what went out wrong.

Everything is *as of the end of a day* D (`as_of` is D's one-day Window; its `hi` is the
instant the day ended): an order placed on D and shipped on D+1 is open in D's report, and
stays open in any later re-run of D's report.

Rules (docs/metrics.md):

* An order awaits shipment at the end of D when it was placed by then, was not cancelled by
  then, and no parcel of it had been handed to the carrier by then. A first parcel counts as
  shipped: parcels carry no line detail, so a partly shipped order leaves the pick list.
* An order marked fulfilled that has no parcel at all (collected, digital, shipped outside
  the shop's carrier data) is never awaiting shipment; the data says nothing about when it
  was fulfilled.
* Look-back: only orders placed in the OPEN_ORDER_LOOKBACK_DAYS days to D are read, so a
  day's query stays the same size however long the history. An order still unshipped after
  that is treated as abandoned and no longer listed; fix or cancel it in the shop.
* The ship-by promise is placed_at + `ship_within_hours` (playbook.toml [service]).
* An order whose payment is pending (financial_status `pending`: a bank transfer or cash
  payment not received) is held: not awaiting shipment, off the pick list and the ship-by
  counts, listed as awaiting payment (opslib.metrics.outreach.unpaid_orders) until paid.
  An `authorized` order ships: its money is reserved and taken when the parcel goes out.
  The payment state has no time in the data, so a re-run of an old day uses it as it is now.
"""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
from ibis import _

from opslib.metrics.common import (
    age_bucket, full_calendar, hours_between, lookback, require, to_local,
)
from opslib.store import Window, in_window, local_date

__all__ = [
    "OPEN_ORDER_LOOKBACK_DAYS", "SHIPMENT_LOOKBACK_DAYS", "TRACKING_LOOKBACK_DAYS",
    "open_orders", "pick_list", "daily_shipments", "late_shipments", "tracking_not_sent",
    "wrong_item_returns", "with_order_numbers", "ORDER_NUMBER_LOOKBACK_DAYS",
    "HELD_PAYMENT_STATUSES",
]

OPEN_ORDER_LOOKBACK_DAYS = 60
SHIPMENT_LOOKBACK_DAYS = 60
TRACKING_LOOKBACK_DAYS = 14
ORDER_NUMBER_LOOKBACK_DAYS = 180

_ORDER_COLUMNS = ("order_id", "order_number", "created_at", "cancelled_at",
                  "fulfillment_status", "financial_status", "channel", "shipping_country")
HELD_PAYMENT_STATUSES = ("pending",)  # not shipped until paid (outreach.unpaid_orders)
_SHIPMENT_COLUMNS = ("shipment_id", "order_id", "carrier", "service", "tracking_number",
                     "shipped_at", "promised_at", "delivered_at", "tracking_sent_at")


def _awaiting(orders: ibis.Table, shipments: ibis.Table, *, as_of: Window,
              lookback_days: int) -> ibis.Table:
    require(orders, "orders", _ORDER_COLUMNS)
    require(shipments, "shipments", _SHIPMENT_COLUMNS)
    span = lookback(as_of, lookback_days)
    end = as_of.hi
    placed = orders.filter(in_window(orders.created_at, span))
    placed = placed.filter((placed.cancelled_at.isnull() | (placed.cancelled_at >= end)) &
                           ~placed.financial_status.isin(HELD_PAYMENT_STATUSES))
    parcels = shipments.filter(shipments.shipped_at >= span.lo).group_by("order_id").aggregate(
        first_shipped_at=_.shipped_at.min())
    joined = placed.left_join(parcels, "order_id")
    not_shipped = joined.first_shipped_at.isnull() | (joined.first_shipped_at >= end)
    without_parcel = (joined.fulfillment_status == "fulfilled") & joined.first_shipped_at.isnull()
    return joined.filter(not_shipped & ~without_parcel).drop("order_id_right", "first_shipped_at")


def open_orders(orders: ibis.Table, order_lines: ibis.Table, shipments: ibis.Table, *,
                as_of: Window, ship_within_hours: int,
                lookback_days: int = OPEN_ORDER_LOOKBACK_DAYS) -> pd.DataFrame:
    """Orders awaiting shipment at the end of the day, oldest first.

    Grain: order. Columns: order_id, order_number, created_at (store time), channel,
    shipping_country, quantity (units to ship), age_days (whole days since placed),
    age_bucket (0–1, 2–3, 4–7, >7 days), ship_by_at, hours_past_ship_by (0 when not yet
    due), is_past_ship_by.
    """
    require(order_lines, "order_lines", ("order_id", "quantity", "created_at"))
    end = as_of.hi
    awaiting = _awaiting(orders, shipments, as_of=as_of, lookback_days=lookback_days)
    span = lookback(as_of, lookback_days)
    lines = order_lines.filter(in_window(order_lines.created_at, span))
    units = lines.group_by("order_id").aggregate(quantity=_.quantity.sum())
    age_hours = hours_between(end, awaiting.created_at)
    past = age_hours - ship_within_hours
    frame = awaiting.left_join(units, "order_id").select(
        "order_id", "order_number", "created_at", "channel", "shipping_country",
        quantity=_.quantity.fill_null(0),
        age_days=(age_hours / 24).floor().cast("int64"),
        ship_by_at=awaiting.created_at + ibis.interval(hours=ship_within_hours),
        hours_past_ship_by=ibis.greatest(past, 0),
        is_past_ship_by=past > 0,
    )
    frame = frame.mutate(age_bucket=age_bucket(frame.age_days)).order_by(
        ["created_at", "order_id"]).to_pandas()
    frame = to_local(frame, as_of.zone, ["created_at", "ship_by_at"])
    columns = ["order_id", "order_number", "created_at", "channel", "shipping_country",
               "quantity", "age_days", "age_bucket", "ship_by_at", "hours_past_ship_by",
               "is_past_ship_by"]
    return frame[columns].astype({"quantity": "int64", "age_days": "int64",
                                  "hours_past_ship_by": "float64", "is_past_ship_by": "bool"})


def pick_list(orders: ibis.Table, order_lines: ibis.Table, shipments: ibis.Table,
              products: ibis.Table | None = None, *, as_of: Window,
              lookback_days: int = OPEN_ORDER_LOOKBACK_DAYS) -> pd.DataFrame:
    """What to pick: lines of orders awaiting shipment at the end of the day, by SKU.

    Grain: SKU; lines without a SKU (custom items, tips, gift wrap) are one row per line
    title, with an empty sku. Columns: sku, title, quantity, count_orders,
    oldest_order_number, oldest_order_at (store time). The title is the product's (when
    products are given), else the title the shop gave the line; a line without SKU or title
    (a table written before lines had titles) reads "Custom item (no SKU), <price> each".
    Sorted by the oldest waiting order first.
    """
    require(order_lines, "order_lines", ("order_id", "sku", "quantity", "unit_price",
                                         "created_at", "title"))
    awaiting = _awaiting(orders, shipments, as_of=as_of, lookback_days=lookback_days)
    span = lookback(as_of, lookback_days)
    lines = order_lines.filter(in_window(order_lines.created_at, span))
    joined = lines.inner_join(awaiting.select("order_id", "order_number",
                                              order_created_at="created_at"), "order_id")
    custom = joined.sku.isnull()
    picks = joined.group_by(
        "sku", custom_title=ibis.ifelse(custom, joined.title, None),
        custom_price=ibis.ifelse(custom & joined.title.isnull(),
                                 joined.unit_price.cast("float64"), None),
    ).aggregate(
        quantity=_.quantity.sum(), count_orders=_.order_id.nunique(),
        oldest_order_number=_.order_number.argmin(_.order_created_at),
        oldest_order_at=_.order_created_at.min(), line_title=_.title.max())
    columns = ["sku", "title", "quantity", "count_orders", "oldest_order_number",
               "oldest_order_at"]
    if products is not None:
        require(products, "products", ("sku", "title"))
        picks = picks.left_join(products.select("sku", "title"), "sku").drop("sku_right")
    else:
        picks = picks.mutate(title=ibis.null("string"))
    frame = picks.order_by(["oldest_order_at", "sku", "custom_title", "custom_price"]) \
        .to_pandas()
    frame = to_local(frame, as_of.zone, ["oldest_order_at"])
    unnamed = frame.custom_price.notna()
    frame["title"] = frame.title.astype("object").fillna(frame.line_title).where(
        ~unnamed, frame.custom_price.map(lambda price: f"Custom item (no SKU), {price:,.2f} each"))
    return frame[columns].astype({"quantity": "int64", "count_orders": "int64"})


def daily_shipments(shipments: ibis.Table, *, window: Window) -> pd.DataFrame:
    """Parcels handed to the carrier per local day (a full calendar).

    Grain: day. Columns: date_day, count_shipments, count_orders_shipped (distinct orders).
    """
    require(shipments, "shipments", _SHIPMENT_COLUMNS)
    sent = shipments.filter(in_window(shipments.shipped_at, window))
    frame = sent.group_by(date_day=local_date(sent.shipped_at, window.zone)).aggregate(
        count_shipments=_.count(), count_orders_shipped=_.order_id.nunique()).to_pandas()
    return full_calendar(frame, window, zero=["count_shipments", "count_orders_shipped"])


def with_order_numbers(rows: ibis.Table, orders: ibis.Table, *, window: Window,
                       days_before: int = ORDER_NUMBER_LOOKBACK_DAYS) -> ibis.Table:
    """`rows` (with an order_id) plus the order_number customers and staff know.

    Only orders placed from `days_before` days before the window are read (an order is
    placed before it ships or comes back); an older order shows its order_id instead.
    """
    require(orders, "orders", ("order_id", "order_number", "created_at"))
    span = Window.of(window.start - dt.timedelta(days=days_before), window.end,
                     zone=window.zone)
    numbers = orders.filter(in_window(orders.created_at, span)).select(
        "order_id", _order_number="order_number")
    joined = rows.left_join(numbers, "order_id")
    return joined.mutate(order_number=joined._order_number.fill_null(joined.order_id)) \
        .drop("_order_number")


def _parcels(shipments: ibis.Table, orders: ibis.Table, *, as_of: Window,
             lookback_days: int) -> ibis.Table:
    require(shipments, "shipments", _SHIPMENT_COLUMNS)
    span = lookback(as_of, lookback_days)
    parcels = shipments.filter(in_window(shipments.shipped_at, span))
    parcels = with_order_numbers(parcels, orders, window=span)
    delivered = parcels.delivered_at.notnull() & (parcels.delivered_at < as_of.hi)
    return parcels.filter(~delivered)


def late_shipments(shipments: ibis.Table, orders: ibis.Table, *, as_of: Window,
                   lookback_days: int = SHIPMENT_LOOKBACK_DAYS) -> pd.DataFrame:
    """Parcels not delivered by the end of the day although their promised date had passed.

    Grain: parcel (shipped in the `lookback_days` to D). Columns: shipment_id,
    order_number, carrier, service, tracking_number, shipped_at, promised_at (store time),
    days_late (days from the promise to the end of D). Most late first.
    """
    end = as_of.hi
    parcels = _parcels(shipments, orders, as_of=as_of, lookback_days=lookback_days)
    late = parcels.filter(parcels.promised_at.notnull() & (parcels.promised_at < end))
    late = late.select("shipment_id", "order_number", "carrier", "service", "tracking_number",
                       "shipped_at", "promised_at",
                       days_late=(hours_between(end, late.promised_at) / 24).round(1))
    frame = late.order_by([ibis.desc("days_late"), "shipment_id"]).to_pandas()
    return to_local(frame, as_of.zone, ["shipped_at", "promised_at"]).astype(
        {"days_late": "float64"})


def tracking_not_sent(shipments: ibis.Table, orders: ibis.Table, *, as_of: Window,
                      lookback_days: int = TRACKING_LOOKBACK_DAYS) -> pd.DataFrame:
    """Parcels in transit at the end of the day whose tracking number the customer never got.

    Grain: parcel shipped in the `lookback_days` to D, not delivered by the end of D, with
    no tracking message sent by then. Columns: shipment_id, order_number, carrier,
    tracking_number, shipped_at (store time), hours_since_shipped, has_tracking_number.
    Oldest first.
    """
    end = as_of.hi
    parcels = _parcels(shipments, orders, as_of=as_of, lookback_days=lookback_days)
    parcels = parcels.filter(parcels.shipped_at < end)
    unsent = parcels.filter(parcels.tracking_sent_at.isnull() | (parcels.tracking_sent_at >= end))
    unsent = unsent.select("shipment_id", "order_number", "carrier", "tracking_number",
                           "shipped_at",
                           hours_since_shipped=hours_between(end, unsent.shipped_at).round(1),
                           has_tracking_number=unsent.tracking_number.notnull())
    frame = unsent.order_by(["shipped_at", "shipment_id"]).to_pandas()
    return to_local(frame, as_of.zone, ["shipped_at"]).astype(
        {"hours_since_shipped": "float64", "has_tracking_number": "bool"})


def wrong_item_returns(returns: ibis.Table, orders: ibis.Table, *,
                       window: Window) -> pd.DataFrame:
    """Returns asked for in the window because the customer got the wrong item.

    Grain: return line. Columns: return_id, order_number, sku, quantity, requested_at (store
    time). A picking or labelling mistake to trace back to the packer. Newest first.
    """
    require(returns, "returns", ("return_id", "order_id", "sku", "quantity", "reason",
                                 "requested_at"))
    asked = returns.filter(in_window(returns.requested_at, window) &
                           (returns.reason == "wrong_item"))
    numbered = with_order_numbers(asked, orders, window=window)
    frame = numbered.select(
        "return_id", "order_number", "sku", "quantity", "requested_at").order_by(
        [ibis.desc("requested_at"), "return_id"]).to_pandas()
    return to_local(frame, window.zone, ["requested_at"])
