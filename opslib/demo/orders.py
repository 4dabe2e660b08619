"""Orders and order lines, a month at a time.

Order counts follow the planned demand curve; each order gets a time in local shopping hours,
a channel, a traffic source, a payment method, lines and a ship date. A day loop then assigns
customers (returning ones who are due, else new ones) and picks each line's SKU from what is
in stock, so stock-outs really stop sales. Amounts are integer cents, so
total = subtotal − discount + shipping + tax holds exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from opslib.demo.catalog import Catalog
from opslib.demo.customers import Customers
from opslib.demo.ledger import PAYMENT_METHODS as PAYMENTS
from opslib.demo.ledger import Ledger
from opslib.demo.plan import HOUR, TRAFFIC, World, labels
from opslib.demo.stock import Stock

__all__ = ["OrderBatch", "simulate_month", "order_frames", "book_orders", "CHANNELS"]

CHANNELS = ("online_store", "marketplace", "social")
CHANNEL_SHARE = (0.88, 0.07, 0.05)
MARKETPLACES = ("amazon", "ebay")
SOCIAL_SHOPS = ("instagram", "facebook", "tiktok")
PAYMENT_SHARE = (0.57, 0.20, 0.13, 0.07, 0.02, 0.01, 0.0)
# Orders by local hour, 07:00–22:59: a lunch bump and an evening peak.
ORDER_HOURS = np.arange(7, 23)
HOUR_WEIGHTS = np.array([2, 3, 4, 5, 6, 7, 6, 5, 5, 6, 7, 9, 10, 9, 7, 5], dtype=float)
GUEST_SHARE = 0.05
RETURNING_CAP = 0.75  # at most this share of a day's orders come from due customers
CANCEL_SHARE = 0.022
HOLD_SHARE = 0.01
EXPRESS_SHARE = 0.10
GIFT_WRAP_CENTS = 350
GIFT_WRAP_TITLE = "Gift wrapping"  # the title of the custom line (no SKU) it is sold as
FREE_SHIPPING_FROM_CENTS = 5000
SHIPPING_CENTS = {"standard": 395, "express": 695, "abroad": 995}
FIXED_MIN_CENTS = 6000  # the fixed-amount promotion needs a subtotal of at least this


@dataclass
class OrderBatch:
    """A month of orders (one entry per order) and their lines, times in local wall time."""

    number: np.ndarray
    day: np.ndarray
    created: np.ndarray
    channel: np.ndarray  # index into CHANNELS
    traffic: np.ndarray  # index into TRAFFIC (online store), else -1
    source: np.ndarray
    payment: np.ndarray  # index into PAYMENTS
    customer: np.ndarray  # customer index, -1 for guests and marketplace orders
    new_customer: np.ndarray
    country: np.ndarray
    express: np.ndarray
    cancel_at: np.ndarray  # NaT if never cancelled (may lie after `until`)
    ship_at: np.ndarray  # NaT if cancelled (may lie after `until`)
    code: np.ndarray  # discount code or None
    subtotal: np.ndarray  # cents
    discount: np.ndarray
    shipping: np.ndarray
    tax: np.ndarray
    total: np.ndarray
    line_order: np.ndarray  # index of the line's order in this batch
    line_number: np.ndarray
    line_sku: np.ndarray  # SKU index, -1 for gift wrapping (a custom item)
    line_qty: np.ndarray
    line_price: np.ndarray  # cents
    line_discount: np.ndarray  # cents

    def __len__(self) -> int:
        return len(self.number)

    @property
    def order_ids(self) -> np.ndarray:
        return labels("O", self.number, 7)

    @property
    def product_lines(self) -> np.ndarray:
        """Indexes of lines that are products (not gift wrapping)."""
        return np.flatnonzero(self.line_sku >= 0)


def simulate_month(world: World, catalog: Catalog, customers: Customers, stock: Stock, *,
                   first_day: int, stop_day: int, first_number: int,
                   rng: np.random.Generator) -> OrderBatch:
    """Orders placed on history days first_day..stop_day-1, numbered from first_number."""
    cal = world.calendar
    per_day = rng.poisson(world.demand[first_day:stop_day])
    day = np.repeat(np.arange(first_day, stop_day), per_day)
    n = len(day)
    hour = rng.choice(ORDER_HOURS, n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    seconds = hour * 3600 + rng.uniform(0, 3600, n)
    order = np.lexsort((seconds, day))
    day, seconds = day[order], seconds[order]
    created = cal.at(day, seconds)

    channel = rng.choice(len(CHANNELS), n, p=CHANNEL_SHARE)
    online = channel == 0
    traffic = np.full(n, -1)
    mix = np.cumsum(world.traffic_mix[day[online]], axis=1)
    traffic[online] = (mix < rng.random((int(online.sum()), 1))).sum(axis=1)
    sources = np.array([t.source for t in TRAFFIC], dtype=object)
    source = np.where(online, sources[np.maximum(traffic, 0)],
                      np.where(channel == 1, rng.choice(MARKETPLACES, n),
                               rng.choice(SOCIAL_SHOPS, n))).astype(object)
    payment = np.where(channel == 1, PAYMENTS.index("marketplace"),
                       rng.choice(len(PAYMENTS), n, p=PAYMENT_SHARE))
    guest = online & (rng.random(n) < GUEST_SHARE)
    express = (channel != 1) & (rng.random(n) < EXPRESS_SHARE)

    cancel_at = np.where(rng.random(n) < CANCEL_SHARE,
                         created + (rng.uniform(0.3, 18, n) * 3600e6).astype("timedelta64[us]"),
                         np.datetime64("NaT"))
    ship_at = _ship_times(world, created, payment, ~np.isnat(cancel_at), rng)
    ship_at[~np.isnat(cancel_at)] = np.datetime64("NaT")

    n_lines = rng.choice([1, 2, 3, 4], n, p=[0.58, 0.26, 0.11, 0.05])
    line_order = np.repeat(np.arange(n), n_lines)
    line_number = np.arange(len(line_order)) - np.repeat(np.cumsum(n_lines) - n_lines, n_lines) + 1
    line_qty = rng.choice([1, 2, 3], len(line_order), p=[0.86, 0.11, 0.03])
    line_sku = np.zeros(len(line_order), np.int64)

    customer = np.full(n, -1)
    new_customer = np.zeros(n, bool)
    ship_day = np.where(np.isnat(ship_at), -1, cal.day_index(ship_at))
    cancel_day = np.where(np.isnat(cancel_at) | (cancel_at >= cal.end), -1,
                          cal.day_index(cancel_at))
    order_bounds = np.searchsorted(day, np.arange(first_day, stop_day + 1))
    line_bounds = np.searchsorted(line_order, order_bounds)
    for d in range(first_day, stop_day):
        o0, o1 = order_bounds[d - first_day], order_bounds[d - first_day + 1]
        known = np.flatnonzero((channel[o0:o1] != 1) & ~guest[o0:o1]) + o0
        _assign_customers(customers, d, known, created, customer, new_customer, rng)
        l0, l1 = line_bounds[d - first_day], line_bounds[d - first_day + 1]
        available = stock.morning(d)
        line_sku[l0:l1] = stock.choose_skus(d, line_qty[l0:l1], available, rng)
        owner = line_order[l0:l1]
        stock.book(d, line_sku[l0:l1], line_qty[l0:l1], ship_day[owner], cancel_day[owner])
        stock.evening(d)

    country = np.where(customer >= 0, customers.countries(np.maximum(customer, 0)),
                       np.where(rng.random(n) < 0.05, rng.choice(world.locale.abroad, n),
                                world.locale.country)).astype(object)
    line_order, line_number, line_sku, line_qty = _add_gift_wrap(
        day, cal, line_order, line_number, line_sku, line_qty, n_lines, rng)
    batch = OrderBatch(
        number=first_number + np.arange(n), day=day, created=created, channel=channel,
        traffic=traffic, source=source, payment=payment, customer=customer,
        new_customer=new_customer, country=country, express=express, cancel_at=cancel_at,
        ship_at=ship_at, code=np.full(n, None, dtype=object), subtotal=np.zeros(n, np.int64),
        discount=np.zeros(n, np.int64), shipping=np.zeros(n, np.int64),
        tax=np.zeros(n, np.int64), total=np.zeros(n, np.int64), line_order=line_order,
        line_number=line_number, line_sku=line_sku, line_qty=line_qty,
        line_price=np.where(line_sku >= 0, catalog.price_cents[np.maximum(line_sku, 0)],
                            GIFT_WRAP_CENTS),
        line_discount=np.zeros(len(line_order), np.int64))
    _price(batch, world, customers, rng)
    return batch


def _ship_times(world: World, created: np.ndarray, payment: np.ndarray,
                cancelled: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """When each order leaves the warehouse: same working day if placed before 13:00 (most
    of the time), else the next; a tail of slow ones (stock checks, peak-season backlog);
    bank transfers wait for the money first; a few orders are put on hold (address to
    confirm) for one to three times the ship-by promise. Two orders placed just before
    the promise ran out on `until` are still on hold that evening, so the daily list of
    late orders is never empty."""
    cal = world.calendar
    n = len(created)
    waits = np.where(payment == PAYMENTS.index("bank_transfer"), rng.integers(1, 4, n), 0)
    ready = created + waits * 24 * HOUR
    promise = max(world.ship_within_hours, 1) * HOUR
    held = rng.random(n) < HOLD_SHARE
    ready = np.where(held, ready + (rng.uniform(1, 3, n) * promise.astype(np.int64)).astype(
        "timedelta64[us]"), ready)
    overdue = np.flatnonzero(~cancelled & (created < cal.end - promise)
                             & (created >= cal.end - promise - 2 * 24 * HOUR))
    last_held = rng.permutation(overdue)[:2]
    ready[last_held] = cal.end + (rng.uniform(0, 48, len(last_held)) * 3600e6).astype(
        "timedelta64[us]")
    ready_day = ready.astype("datetime64[D]")
    hour = (ready - ready_day.astype("datetime64[us]")) / HOUR
    working = np.is_busday(ready_day, holidays=cal.holidays)
    same_day = working & (hour < 13) & (rng.random(n) < 0.75)
    offset = np.where(working & ~same_day, 1, 0)
    month_day = pd.DatetimeIndex(ready_day)
    peak = ((month_day.month == 11) & (month_day.day >= 25)) | \
        ((month_day.month == 12) & (month_day.day <= 20))
    offset += (rng.random(n) < 0.08) * rng.integers(1, 4, n)
    offset += (peak & (rng.random(n) < 0.35)).astype(int)
    ship_day = cal.workday(ready, offset)
    return ship_day.astype("datetime64[us]") + (rng.uniform(15, 18.5, n) * 3600e6).astype(
        "timedelta64[us]")


def _assign_customers(customers: Customers, day: int, known: np.ndarray, created: np.ndarray,
                      customer: np.ndarray, new_customer: np.ndarray,
                      rng: np.random.Generator) -> None:
    """Give the day's non-guest orders a customer: due regulars first, else new customers."""
    if not len(known):
        return
    due = customers.due(day)
    k = min(len(due), int(round(RETURNING_CAP * len(known))))
    slots = rng.permutation(known)
    customer[slots[:k]] = due[:k]
    fresh = np.sort(slots[k:])
    customer[fresh] = customers.create(created[fresh], rng)
    new_customer[fresh] = True
    when = (created[known] - created[known].astype("datetime64[D]").astype(
        "datetime64[us]")) / (24 * HOUR) + day
    customers.ordered(customer[known], when, rng)


def _add_gift_wrap(day: np.ndarray, cal, line_order: np.ndarray, line_number: np.ndarray,
                   line_sku: np.ndarray, line_qty: np.ndarray, n_lines: np.ndarray,
                   rng: np.random.Generator):
    """Gift wrapping as a custom line (no SKU) on some orders, most before Christmas."""
    dates = pd.DatetimeIndex(cal.days[day])
    rate = np.where((dates.month == 12) & (dates.day <= 22), 0.12, 0.03)
    wrapped = np.flatnonzero(rng.random(len(day)) < rate)
    order = np.concatenate([line_order, wrapped])
    number = np.concatenate([line_number, n_lines[wrapped] + 1])
    sku = np.concatenate([line_sku, np.full(len(wrapped), -1)])
    qty = np.concatenate([line_qty, np.ones(len(wrapped), np.int64)])
    sort = np.lexsort((number, order))
    return order[sort], number[sort], sku[sort], qty[sort]


def _price(batch: OrderBatch, world: World, customers: Customers,
           rng: np.random.Generator) -> None:
    """Discount codes, line discounts, shipping and tax, in cents."""
    n = len(batch)
    promos = world.promotions
    kind = np.array([p.kind for p in promos] + [""], dtype=object)
    value = np.array([p.value for p in promos] + [0.0])
    uptake = np.array([p.uptake for p in promos] + [0.0])
    codes = np.array([p.code for p in promos] + [None], dtype=object)
    welcome = next(i for i, p in enumerate(promos) if p.last is None)
    gross = batch.line_qty * batch.line_price
    subtotal = np.bincount(batch.line_order, gross, minlength=n).astype(np.int64)
    units = np.bincount(batch.line_order, batch.line_qty, minlength=n)

    promo = world.promo_of_day[batch.day]
    promo = np.where((batch.channel != 1) & (rng.random(n) < uptake[promo]), promo, -1)
    consenting = (batch.customer >= 0) & customers.consent[np.maximum(batch.customer, 0)]
    first_order = (promo < 0) & batch.new_customer & consenting & (rng.random(n) < 0.3)
    promo = np.where(first_order, welcome, promo)
    promo = np.where((kind[promo] == "bundle") & (units < 2), -1, promo)
    promo = np.where((kind[promo] == "fixed_amount") & (subtotal < FIXED_MIN_CENTS), -1, promo)

    percent = np.isin(kind[promo], ["percent", "bundle"])
    line_percent = np.where(percent, value[promo], 0)[batch.line_order]
    batch.line_discount = np.round(gross * line_percent / 100).astype(np.int64)
    discount = np.bincount(batch.line_order, batch.line_discount, minlength=n).astype(np.int64)
    discount += np.where(kind[promo] == "fixed_amount", np.round(value[promo] * 100),
                         0).astype(np.int64)
    home = batch.country == world.locale.country
    standard = np.where(subtotal - discount >= FREE_SHIPPING_FROM_CENTS, 0,
                        SHIPPING_CENTS["standard"])
    standard = np.where(kind[promo] == "free_shipping", 0, standard)
    shipping = np.where(~home, SHIPPING_CENTS["abroad"],
                        np.where(batch.express, SHIPPING_CENTS["express"], standard))
    shipping = np.where(batch.channel == 1, 0, shipping)
    tax = np.where(home, np.round((subtotal - discount + shipping) * world.locale.tax_rate),
                   0).astype(np.int64)
    batch.code = codes[promo]
    batch.subtotal, batch.discount = subtotal, discount
    batch.shipping, batch.tax = shipping.astype(np.int64), tax
    batch.total = subtotal - discount + batch.shipping + tax


def order_frames(batch: OrderBatch, world: World, catalog: Catalog, customers: Customers,
                 refunded: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """orders and order_lines as of the end of `until`; `refunded` is cents refunded per
    order by then (from returns)."""
    cal = world.calendar
    cancelled = ~np.isnat(batch.cancel_at) & (batch.cancel_at < cal.end)
    shipped = ~np.isnat(batch.ship_at) & (batch.ship_at < cal.end)
    method = np.array(PAYMENTS, dtype=object)[batch.payment]
    status = np.full(len(batch), "paid", dtype=object)
    status[(method == "klarna") & ~shipped] = "authorized"
    status[(method == "bank_transfer") & ~shipped] = "pending"
    status[refunded > 0] = "partially_refunded"
    status[refunded >= batch.total] = "refunded"
    voided = np.isin(method, ["card", "apple_pay", "klarna", "bank_transfer"])
    status[cancelled] = np.where(voided[cancelled], "voided", "refunded")
    ids = batch.order_ids
    orders = pd.DataFrame({
        "order_id": ids,
        "order_number": "#" + pd.Series(batch.number + 1000).astype(str),
        "customer_id": customers.ids(batch.customer),
        "email": np.where(batch.customer >= 0, customers.emails(batch.customer),
                          np.where(batch.channel == 1, None,
                                   labels("guest", batch.number, 7) + "@example.net")),
        "created_at": cal.to_utc(batch.created),
        "currency": world.currency,
        "financial_status": status,
        "fulfillment_status": np.where(shipped, "fulfilled", "unfulfilled"),
        "cancelled_at": cal.to_utc(np.where(cancelled, batch.cancel_at, np.datetime64("NaT"))),
        "channel": np.array(CHANNELS, dtype=object)[batch.channel],
        "source": batch.source,
        "discount_code": batch.code,
        "payment_method": method,
        "subtotal": batch.subtotal / 100, "discount_amount": batch.discount / 100,
        "shipping_amount": batch.shipping / 100, "tax_amount": batch.tax / 100,
        "total_amount": batch.total / 100,
        "shipping_country": batch.country,
    })
    skus = np.concatenate([catalog.products["sku"].to_numpy(object), [None]])
    titles = np.concatenate([catalog.products["title"].to_numpy(object), [GIFT_WRAP_TITLE]])
    lines = pd.DataFrame({
        "order_id": ids[batch.line_order],
        "line_number": batch.line_number,
        "sku": skus[batch.line_sku],
        "title": titles[batch.line_sku],
        "quantity": batch.line_qty,
        "unit_price": batch.line_price / 100,
        "discount_amount": batch.line_discount / 100,
        "created_at": orders["created_at"].take(batch.line_order).reset_index(drop=True),
    })
    return orders, lines


def book_orders(batch: OrderBatch, world: World, customers: Customers, ledger: Ledger) -> None:
    """Add the month's orders to the day-level totals (traffic, list sign-ups, money in)."""
    online = batch.channel == 0
    ledger.add("orders", batch.day)
    ledger.add("online_orders", batch.day[online], 1, batch.traffic[online])
    ledger.add("online_revenue", batch.day[online], batch.total[online], batch.traffic[online])
    consenting = batch.new_customer & customers.consent[np.maximum(batch.customer, 0)]
    ledger.add("new_subscribers", batch.day[consenting])
    kept = np.isnat(batch.cancel_at) | (batch.cancel_at >= world.calendar.end)
    ledger.add("payments", batch.day[kept], batch.total[kept], batch.payment[kept])
    ledger.add("tax", batch.day[kept], batch.tax[kept])
