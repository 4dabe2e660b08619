"""Daily lists to act on: carts to chase, orders awaiting payment, customers to ask for a review.

Each list is *as of the end of a day* D (`as_of` is D's one-day Window): rows created after D
and events after D (an order placed on D+1, a delivery, a ticket, a score) never change D's
list. Every list is about customers and starts with email, first_name, last_name (what
e-mail tools import), then its own columns, and carries has_marketing_consent.

Rules (docs/metrics.md, "Lists to act on"):

* Contacts come from the customer record (by customer_id, else by the e-mail address,
  case-insensitive) as it was at the end of D (customers created later are not read): the
  name is split at its first space into first_name and last_name. The e-mail is the one on
  the checkout or order, else the customer's. Consent is the customer's
  has_marketing_consent now (the data has no time for it); no customer record, no consent.
* abandoned_checkouts: checkouts with an e-mail started in the ABANDONED_HOURS (72) hours
  before the end of D and not followed, by the end of D, by an order placed at or after the
  checkout from the same e-mail (case-insensitive) or customer, or by the order the checkout
  became. One row per e-mail address (its latest such checkout), most valuable cart first.
* unpaid_orders: orders placed in the OPEN_ORDER_LOOKBACK_DAYS to D, with financial_status
  pending or authorized, not cancelled by the end of D. The payment state has no time in
  the data: a re-run of an old day uses the state now. Pending orders (a bank transfer, cash
  on delivery not yet confirmed) are held from shipping (opslib.metrics.fulfilment);
  authorized ones (card or pay-later money reserved, taken when the parcel ships) are not.
  Oldest first.
* review_requests: orders whose every parcel (shipped in the OPEN_ORDER_LOOKBACK_DAYS to D)
  was delivered by the end of D, the last one 7 to 14 local days before D, not cancelled,
  and by the end of D: no return asked for, no complaint ticket (category
  `complaint`, or escalated to a manager) about the order or from the customer since the
  order was placed, no low score (CSAT or review ≤ 2, NPS ≤ 6) for the order or from the
  customer in the SCORE_LOOKBACK_DAYS to D. One row per e-mail address (its latest
  delivery; an order without any e-mail is kept, for the page to count), the longest
  delivered first (they leave the list soonest).
"""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
from ibis import _

from opslib.metrics.common import hours_between, lookback, require, to_local
from opslib.metrics.fulfilment import HELD_PAYMENT_STATUSES, OPEN_ORDER_LOOKBACK_DAYS
from opslib.store import Window, in_window

__all__ = ["ABANDONED_HOURS", "REVIEW_AFTER_DAYS", "LOW_SCORES", "SCORE_LOOKBACK_DAYS",
           "COMPLAINT_CATEGORIES", "UNPAID_STATUSES", "split_name",
           "with_contacts", "abandoned_checkouts", "unpaid_orders", "review_requests",
           "consented"]

ABANDONED_HOURS = 72
REVIEW_AFTER_DAYS = (7, 14)  # delivered this many days before D (inclusive)
LOW_SCORES = {"csat": 2, "review": 2, "nps": 6}  # a score at or below is low
SCORE_LOOKBACK_DAYS = 180
COMPLAINT_CATEGORIES = ("complaint",)
UNPAID_STATUSES = ("pending", "authorized")

_CONTACTS = ["email", "first_name", "last_name"]


def split_name(name: object) -> tuple[str | None, str | None]:
    """A full name as (first name, last name): split at the first space.

    >>> split_name("Ada  King Lovelace"), split_name("Cher"), split_name(None)
    (('Ada', 'King Lovelace'), ('Cher', None), (None, None))
    """
    if not isinstance(name, str) or not name.strip():
        return None, None
    first, _, last = name.strip().partition(" ")
    return first, last.strip() or None


def with_contacts(frame: pd.DataFrame, customers: ibis.Table | None, *,
                  as_of: Window) -> pd.DataFrame:
    """`frame` (customer_id, email) with the contact columns first and
    has_marketing_consent: its customer found by customer_id, else by e-mail."""
    out = frame.copy()
    key = out.email.str.strip().str.lower()
    people = pd.DataFrame(columns=["customer_id", "email", "name", "has_marketing_consent"])
    ids = out.customer_id.dropna().unique().tolist()
    emails = key.dropna().unique().tolist()
    if customers is not None and (ids or emails):
        require(customers, "customers", ("customer_id", "email", "name", "created_at",
                                         "has_marketing_consent"))
        known = customers.filter(customers.created_at < as_of.hi)
        match = known.customer_id.isin(ids or [""]) | \
            known.email.strip().lower().isin(emails or [""])
        people = known.filter(match).select("customer_id", "email", "name",
                                            "has_marketing_consent") \
            .order_by("customer_id").to_pandas()
    by_id = people.set_index("customer_id")
    by_email = people.assign(key=people.email.str.strip().str.lower()).dropna(subset=["key"]) \
        .drop_duplicates("key").set_index("key")
    found = out.customer_id.map(by_id.name).where(out.customer_id.isin(by_id.index),
                                                  key.map(by_email.name))
    consent = out.customer_id.map(by_id.has_marketing_consent).where(
        out.customer_id.isin(by_id.index), key.map(by_email.has_marketing_consent))
    email = out.email.where(out.email.notna(), out.customer_id.map(by_id.email))
    names = [split_name(name) for name in found]
    out.insert(0, "last_name", pd.Series([last for _, last in names], index=out.index,
                                         dtype="object"))
    out.insert(0, "first_name", pd.Series([first for first, _ in names], index=out.index,
                                          dtype="object"))
    out = out.drop(columns=["email"])
    out.insert(0, "email", email.astype("object").where(email.notna(), None))
    out["has_marketing_consent"] = consent.astype("boolean").fillna(False).astype("bool")
    return out


def consented(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The rows with marketing consent (without that column) and how many were left out."""
    kept = frame[frame.has_marketing_consent]
    return kept.drop(columns=["has_marketing_consent"]).reset_index(drop=True), \
        int(len(frame) - len(kept))


def _latest_per_email(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """One row per e-mail address (case-insensitive): the latest by `column`, then `_id`;
    rows without an address are all kept."""
    key = frame.email.str.strip().str.lower()
    ordered = frame.assign(_key=key).sort_values([column, "_id"], ascending=False)
    return ordered[ordered._key.isna() | ~ordered._key.duplicated()].drop(columns=["_key"])


def abandoned_checkouts(checkouts: ibis.Table, orders: ibis.Table,
                        customers: ibis.Table | None = None, *, as_of: Window,
                        hours: int = ABANDONED_HOURS) -> pd.DataFrame:
    """Checkouts with an e-mail left without an order in the `hours` to the end of D.

    Grain: e-mail address. Columns: email, first_name, last_name, checkout_id, started_at
    (store time), cart_value, hours_since_started (to the end of D), customer_id,
    has_marketing_consent. Most valuable cart first.
    """
    require(checkouts, "checkouts", ("checkout_id", "customer_id", "email", "created_at",
                                     "value", "completed_order_id"))
    require(orders, "orders", ("order_id", "customer_id", "email", "created_at"))
    end = as_of.hi
    start = end - pd.Timedelta(hours=hours)
    started = checkouts.filter((checkouts.created_at >= start) & (checkouts.created_at < end)
                               & checkouts.email.notnull())
    started = started.select(
        "checkout_id", "customer_id", "email", "completed_order_id",
        started_at=started.created_at, cart_value=started.value.cast("float64"),
        hours_since_started=hours_between(end, started.created_at).round(1)).to_pandas()
    placed = orders.filter((orders.created_at >= start) & (orders.created_at < end)).select(
        "order_id", "customer_id", "email", "created_at").to_pandas()
    started["_key"] = started.email.str.strip().str.lower()
    placed["_key"] = placed.email.str.strip().str.lower()
    followed = set(started.checkout_id[started.completed_order_id.isin(placed.order_id)])
    for column in ("_key", "customer_id"):
        pairs = started.dropna(subset=[column]).merge(
            placed.dropna(subset=[column])[[column, "created_at"]], on=column)
        followed |= set(pairs.checkout_id[pairs.created_at >= pairs.started_at])
    left = started[~started.checkout_id.isin(followed)].assign(_id=lambda f: f.checkout_id)
    left = _latest_per_email(left, "started_at").drop(columns=["_id", "completed_order_id"])
    frame = with_contacts(left, customers, as_of=as_of)
    frame = frame.sort_values(["cart_value", "started_at", "checkout_id"],
                              ascending=[False, False, True])
    frame = to_local(frame, as_of.zone, ["started_at"])
    return frame[_CONTACTS + ["checkout_id", "started_at", "cart_value", "hours_since_started",
                              "customer_id", "has_marketing_consent"]] \
        .astype({"cart_value": "float64", "hours_since_started": "float64"}) \
        .reset_index(drop=True)


def unpaid_orders(orders: ibis.Table, customers: ibis.Table | None = None, *, as_of: Window,
                  lookback_days: int = OPEN_ORDER_LOOKBACK_DAYS) -> pd.DataFrame:
    """Orders placed and not paid by the end of D (pending or authorized), not cancelled.

    Grain: order. Columns: email, first_name, last_name, order_number, placed_at (store
    time), payment_status, payment_method, total_amount, age_days (whole days since
    placed), is_held_from_shipping (pending: not shipped until paid), customer_id,
    has_marketing_consent. Oldest first.
    """
    require(orders, "orders", ("order_id", "order_number", "customer_id", "email", "created_at",
                               "cancelled_at", "financial_status", "payment_method",
                               "total_amount"))
    end = as_of.hi
    placed = orders.filter(in_window(orders.created_at, lookback(as_of, lookback_days)))
    unpaid = placed.filter(placed.financial_status.isin(UNPAID_STATUSES) &
                           (placed.cancelled_at.isnull() | (placed.cancelled_at >= end)))
    frame = unpaid.select(
        "customer_id", "email", "order_number", "order_id", placed_at=unpaid.created_at,
        payment_status=unpaid.financial_status, payment_method=unpaid.payment_method,
        total_amount=unpaid.total_amount.cast("float64"),
        age_days=(hours_between(end, unpaid.created_at) / 24).floor().cast("int64"),
        is_held_from_shipping=unpaid.financial_status.isin(HELD_PAYMENT_STATUSES),
    ).order_by(["placed_at", "order_id"]).to_pandas()
    frame = to_local(with_contacts(frame, customers, as_of=as_of), as_of.zone, ["placed_at"])
    return frame[_CONTACTS + ["order_number", "placed_at", "payment_status", "payment_method",
                              "total_amount", "age_days", "is_held_from_shipping",
                              "customer_id", "has_marketing_consent"]] \
        .astype({"age_days": "int64", "is_held_from_shipping": "bool",
                 "total_amount": "float64"}).reset_index(drop=True)


def _delivered(shipments: ibis.Table, *, as_of: Window, lookback_days: int) -> pd.DataFrame:
    """Orders whose every parcel was delivered by the end of D, the last one 7–14 days
    before D: order_id, delivered_at."""
    require(shipments, "shipments", ("order_id", "shipped_at", "delivered_at"))
    parcels = shipments.filter(in_window(shipments.shipped_at, lookback(as_of, lookback_days)))
    # A parcel delivered after D puts the order's last delivery after the window.
    per_order = parcels.group_by("order_id").aggregate(
        delivered_at=_.delivered_at.max(),
        in_transit=ibis.ifelse(_.delivered_at.isnull(), 1, 0).sum())
    first, last = REVIEW_AFTER_DAYS
    days = Window.of(as_of.end - dt.timedelta(days=last), as_of.end - dt.timedelta(days=first),
                     zone=as_of.zone)
    due = per_order.filter((per_order.in_transit == 0) & in_window(per_order.delivered_at, days))
    return due.select("order_id", "delivered_at").to_pandas()


def review_requests(orders: ibis.Table, shipments: ibis.Table,
                    returns: ibis.Table | None = None, tickets: ibis.Table | None = None,
                    surveys: ibis.Table | None = None, customers: ibis.Table | None = None, *,
                    as_of: Window,
                    lookback_days: int = OPEN_ORDER_LOOKBACK_DAYS) -> pd.DataFrame:
    """Happy customers to ask for a review: delivered 7–14 days before D, no return, no
    complaint, no low score (an absent table checks nothing).

    Grain: e-mail address. Columns: email, first_name, last_name, order_number,
    delivered_at (store time), days_since_delivered, total_amount, customer_id,
    has_marketing_consent. The longest delivered first.
    """
    require(orders, "orders", ("order_id", "order_number", "customer_id", "email",
                               "created_at", "cancelled_at", "total_amount"))
    end = as_of.hi
    due = _delivered(shipments, as_of=as_of, lookback_days=lookback_days)
    ids = due.order_id.tolist() or [""]
    placed = orders.filter(orders.order_id.isin(ids) & (orders.created_at < end) &
                           (orders.cancelled_at.isnull() | (orders.cancelled_at >= end)))
    frame = placed.select("order_id", "order_number", "customer_id", "email", "created_at",
                          total_amount=placed.total_amount.cast("float64")).to_pandas() \
        .merge(due, on="order_id")
    customer_ids = frame.customer_id.dropna().unique().tolist() or [""]
    unhappy = set()
    if returns is not None:
        require(returns, "returns", ("order_id", "requested_at"))
        asked = returns.filter(returns.order_id.isin(ids) & (returns.requested_at < end))
        unhappy |= set(asked.order_id.to_pandas())
    if tickets is not None:
        require(tickets, "tickets", ("order_id", "customer_id", "category", "is_escalated",
                                     "created_at"))
        since = frame.created_at.min() if len(frame) else end
        complaint = tickets.category.isin(COMPLAINT_CATEGORIES) | tickets.is_escalated
        about = tickets.order_id.isin(ids) | tickets.customer_id.isin(customer_ids)
        found = tickets.filter(complaint & about & (tickets.created_at >= since) &
                               (tickets.created_at < end)) \
            .select("order_id", "customer_id", "created_at").to_pandas()
        unhappy |= set(found.order_id.dropna())
        pairs = frame.merge(found.dropna(subset=["customer_id"]), on="customer_id",
                            suffixes=("", "_ticket"))
        unhappy |= set(pairs.order_id[pairs.created_at_ticket >= pairs.created_at])
    if surveys is not None:
        require(surveys, "surveys", ("order_id", "customer_id", "submitted_at", "kind", "score"))
        low = ibis.or_(*[(surveys.kind == kind) & (surveys.score <= score)
                         for kind, score in LOW_SCORES.items()])
        scored = surveys.filter(low & in_window(surveys.submitted_at,
                                                lookback(as_of, SCORE_LOOKBACK_DAYS)) &
                                (surveys.order_id.isin(ids) |
                                 surveys.customer_id.isin(customer_ids)))
        found = scored.select("order_id", "customer_id").to_pandas()
        unhappy |= set(found.order_id.dropna())
        unhappy |= set(frame.order_id[frame.customer_id.isin(found.customer_id.dropna())])
    frame = frame[~frame.order_id.isin(unhappy)]
    frame = with_contacts(frame, customers, as_of=as_of)
    frame = _latest_per_email(frame.assign(_id=frame.order_id), "delivered_at")
    frame["days_since_delivered"] = (as_of.end - to_local(frame, as_of.zone, ["delivered_at"])
                                     .delivered_at.dt.date).map(lambda d: d.days)
    frame = to_local(frame.sort_values(["delivered_at", "order_id"]), as_of.zone,
                     ["delivered_at"])
    return frame[_CONTACTS + ["order_number", "delivered_at", "days_since_delivered",
                              "total_amount", "customer_id", "has_marketing_consent"]] \
        .astype({"days_since_delivered": "int64", "total_amount": "float64"}) \
        .reset_index(drop=True)
