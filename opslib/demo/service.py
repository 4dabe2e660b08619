"""After the order: shipments, returns and refunds, support tickets, surveys.

Events are first generated as they will happen (a parcel shipped today is delivered on
Thursday), then cut at the end of `until`: an event after it is left empty and the row's
status says where things stand that evening; a row whose first event is after it (a
return not yet requested) does not exist yet.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from opslib.demo.catalog import CATEGORIES, Catalog
from opslib.demo.customers import Customers
from opslib.demo.ledger import Ledger
from opslib.demo.orders import OrderBatch
from opslib.demo.plan import HOUR, World, labels
from opslib.schema import RETURN_REASONS, TICKET_CHANNELS

__all__ = ["Counters", "Aftercare", "aftercare"]

NAT = np.datetime64("NaT")
CARRIER_DAYS = "1111110"  # carriers deliver Monday to Saturday
STAFF_DAYS = "1111111"  # a support rota answers every day (office hours)
EVERY_DAY = "1111111"
WRONG_ITEM_RATE = 0.007
TRACKING_NEVER_SENT = 0.03
ABROAD_PROMISE_DAYS = 5
# Return reasons (order of RETURN_REASONS): the usual mix, and apparel's (sizes).
REASON_MIX = np.array([0.03, 0.13, 0.14, 0.10, 0.04, 0.40, 0.16])
APPAREL_REASON_MIX = np.array([0.02, 0.06, 0.10, 0.52, 0.03, 0.20, 0.07])
QUESTIONS_PER_ORDER = 0.04
TICKET_CHANNEL_MIX = np.array([0.38, 0.22, 0.08, 0.10, 0.09, 0.13, 0.0])


@dataclass
class Counters:
    """Running id numbers across months (shipments, returns, tickets, responses...)."""

    shipment: int = 0
    return_: int = 0
    ticket: int = 0
    response: int = 0
    checkout: int = 0

    def take(self, name: str, k: int) -> np.ndarray:
        start = getattr(self, name)
        setattr(self, name, start + k)
        return np.arange(start + 1, start + k + 1)


@dataclass
class Aftercare:
    """The month's shipments, returns, tickets and surveys, and refunds per order."""

    shipments: pd.DataFrame
    returns: pd.DataFrame
    tickets: pd.DataFrame
    surveys: pd.DataFrame
    refunded: np.ndarray  # cents refunded per order of the batch by the end of `until`


def aftercare(batch: OrderBatch, world: World, catalog: Catalog, customers: Customers,
              ledger: Ledger, counters: Counters, rng: np.random.Generator) -> Aftercare:
    """Everything that follows the month's orders, as of the end of `until`."""
    parcels = _parcels(batch, world, rng)
    ledger.add("shipping_cost", parcels["day"], parcels["cost"], parcels["carrier"])
    items, refunds = _returns(batch, world, catalog, parcels, rng)
    refunded = np.zeros(len(batch), np.int64)
    for part in (items, refunds):
        cash = (part["resolution"] == "refund") & ~np.isnat(part["refunded"]) \
            & (part["refunded"] < world.calendar.end)
        np.add.at(refunded, part["order"][cash], part["amount"][cash])
        ledger.add("refunds", world.calendar.day_index(part["refunded"][cash]),
                   part["amount"][cash], batch.payment[part["order"][cash]])
    tickets = _tickets(batch, world, catalog, customers, parcels, items, rng)
    surveys = _surveys(batch, world, parcels, items, tickets, rng)
    ticket_frame = _tickets_frame(batch, world, catalog, customers, tickets, counters)
    return Aftercare(
        shipments=_shipments_frame(batch, world, parcels, counters),
        returns=_returns_frame(batch, world, catalog, items, refunds, counters),
        tickets=ticket_frame,
        surveys=_surveys_frame(batch, world, customers, tickets,
                               ticket_frame["ticket_id"].to_numpy(object), surveys, counters),
        refunded=refunded)


def _parcels(batch: OrderBatch, world: World, rng: np.random.Generator) -> dict:
    """One parcel per order shipped by the end of `until`, with its natural delivery."""
    cal = world.calendar
    order = np.flatnonzero(~np.isnat(batch.ship_at) & (batch.ship_at < cal.end))
    n = len(order)
    carriers = world.locale.carriers
    carrier = rng.choice(len(carriers), n, p=[c.share for c in carriers])
    abroad = batch.country[order] != world.locale.country
    express = batch.express[order] & ~abroad
    express_days = np.array([c.express_days for c in carriers])[carrier]
    standard_days = np.array([c.standard_days for c in carriers])[carrier]
    promise = np.where(abroad, ABROAD_PROMISE_DAYS,
                       np.where(express, express_days, standard_days))
    shipped = batch.ship_at[order]
    promised = cal.workday(shipped, promise, weekmask=CARRIER_DAYS).astype(
        "datetime64[us]") + 20 * HOUR
    dates = pd.DatetimeIndex(shipped)
    peak = ((dates.month == 11) & (dates.day >= 25)) | (dates.month == 12)
    late_rate = np.array([c.late_rate for c in carriers])[carrier] * np.where(peak, 1.6, 1.0) \
        * np.where(abroad, 1.5, 1.0)
    late = rng.random(n) < late_rate
    transit = np.where(late, promise + rng.integers(1, 5, n),
                       np.maximum(promise - (rng.random(n) < 0.25), 1))
    delivered = cal.workday(shipped, transit, weekmask=CARRIER_DAYS).astype(
        "datetime64[us]") + (rng.uniform(8, 19.9, n) * 3600e6).astype("timedelta64[us]")
    fate = rng.random(n)
    lost, back = fate < 0.006, (fate >= 0.006) & (fate < 0.010)
    delivered[lost | back] = NAT
    units = np.bincount(batch.line_order, batch.line_qty, minlength=len(batch))[order]
    rate = np.where(express, np.array([c.cost_express for c in carriers])[carrier],
                    np.array([c.cost_standard for c in carriers])[carrier])
    cost = np.where(abroad, 980 + 120 * units, np.round(rate * 100 * (1 + 0.08 * (units - 1))))
    sent = shipped + (rng.uniform(5, 90, n) * 60e6).astype("timedelta64[us]")
    sent[rng.random(n) < TRACKING_NEVER_SENT] = NAT
    return {"order": order, "carrier": carrier, "express": express, "abroad": abroad,
            "shipped": shipped, "promised": promised, "delivered": delivered, "lost": lost,
            "back": back, "sent": sent, "cost": cost.astype(np.int64),
            "day": cal.day_index(shipped), "wrong_item": rng.random(n) < WRONG_ITEM_RATE,
            "late": late | lost}


def _shipments_frame(batch: OrderBatch, world: World, parcels: dict,
                     counters: Counters) -> pd.DataFrame:
    cal = world.calendar
    end = cal.end
    delivered = parcels["delivered"]
    arrived = ~np.isnat(delivered) & (delivered < end)
    settled = parcels["promised"] + 3 * 24 * HOUR < end
    status = np.where(arrived, "delivered", "in_transit").astype(object)
    status[parcels["lost"] & settled] = "exception"
    status[parcels["back"] & settled] = "returned_to_sender"
    carriers = world.locale.carriers
    n = len(parcels["order"])
    number = (batch.number[parcels["order"]] * 7919 + 104729) % 10 ** 9
    prefix = np.array([c.tracking_prefix for c in carriers], dtype=object)[parcels["carrier"]]
    sent = parcels["sent"]
    return pd.DataFrame({
        "shipment_id": labels("S", counters.take("shipment", n), 7),
        "order_id": labels("O", batch.number[parcels["order"]], 7),
        "carrier": np.array([c.name for c in carriers], dtype=object)[parcels["carrier"]],
        "service": np.where(parcels["abroad"], "international",
                            np.where(parcels["express"], "express", "standard")),
        "tracking_number": prefix + labels("", number, 9),
        "shipped_at": cal.to_utc(parcels["shipped"]),
        "promised_at": cal.to_utc(parcels["promised"]),
        "delivered_at": cal.to_utc(np.where(arrived, delivered, NAT)),
        "status": status,
        "shipping_cost": parcels["cost"] / 100,
        "tracking_sent_at": cal.to_utc(np.where(sent < end, sent, NAT)),
    })


def _returns(batch: OrderBatch, world: World, catalog: Catalog, parcels: dict,
             rng: np.random.Generator) -> tuple[dict, dict]:
    """Item returns and order-level refunds that have been requested by the end of `until`
    (times as they happen; the frame cuts them)."""
    cal = world.calendar
    delivered = parcels["delivered"]
    came = ~np.isnat(delivered)
    line = _pick_product_line(batch, parcels["order"], rng)
    sku = batch.line_sku[line]
    late_delivery = came & (delivered > parcels["promised"])
    wrong = came & parcels["wrong_item"]
    chance = catalog.return_rate[sku] * np.where(late_delivery, 2.0, 1.0)
    returns = np.flatnonzero(came & ((rng.random(len(line)) < chance) | wrong))
    apparel = catalog.category_of[sku[returns]] == [c.name for c in CATEGORIES].index("Apparel")
    mix = np.where(apparel[:, None], APPAREL_REASON_MIX, REASON_MIX)
    mix[late_delivery[returns], RETURN_REASONS.index("late")] += 0.3
    mix /= mix.sum(axis=1, keepdims=True)
    reason = (np.cumsum(mix, axis=1) < rng.random((len(returns), 1))).sum(axis=1)
    reason[wrong[returns]] = RETURN_REASONS.index("wrong_item")
    k = len(returns)
    requested = cal.next_open(delivered[returns] + (rng.gamma(2, 2.5, k) * 24 * HOUR
                                                    ).astype("timedelta64[us]"),
                              rng, opens=8, closes=22, weekmask=EVERY_DAY)
    posted = requested + (rng.uniform(0.5, 4, k) * 24 * HOUR).astype("timedelta64[us]")
    received = cal.workday(posted, rng.integers(1, 4, k)).astype("datetime64[us]") + \
        (rng.uniform(9, 16, k) * 3600e6).astype("timedelta64[us]")
    processed = cal.next_open(received + (rng.gamma(1.5, 1.2, k) * 24 * HOUR).astype(
        "timedelta64[us]"), rng, opens=9, closes=17, weekmask="1111100")
    fault = np.isin(reason, [RETURN_REASONS.index(r) for r in ("wrong_item", "damaged")])
    resolution = np.where(rng.random(k) < np.where(fault, 0.35, 0.18), "exchange",
                          np.where(rng.random(k) < 0.12, "store_credit", "refund"))
    rejected = (reason == RETURN_REASONS.index("changed_mind")) & (rng.random(k) < 0.08)
    line_i = line[returns]
    qty = np.where(rng.random(k) < 0.8, batch.line_qty[line_i], 1)
    paid = batch.line_qty[line_i] * batch.line_price[line_i] - batch.line_discount[line_i]
    amount = np.round(paid * qty / batch.line_qty[line_i]).astype(np.int64)
    items = {"order": parcels["order"][returns], "parcel": returns, "sku": sku[returns],
             "qty": qty, "reason": reason, "requested": requested, "posted": posted,
             "received": received, "processed": processed, "resolution": resolution,
             "rejected": rejected, "amount": amount,
             "refunded": np.where((resolution == "refund") & ~rejected, processed, NAT)}
    keep = requested < cal.end
    items = {name: values[keep] for name, values in items.items()}

    goodwill = came & ((late_delivery & (rng.random(len(line)) < 0.10))
                       | (rng.random(len(line)) < 0.007))
    goodwill[returns] = False
    g = np.flatnonzero(goodwill)
    order = parcels["order"][g]
    reason_g = np.where(late_delivery[g], RETURN_REASONS.index("late"),
                        np.where(rng.random(len(g)) < 0.7, RETURN_REASONS.index("damaged"),
                                 RETURN_REASONS.index("other")))
    amount_g = np.where((reason_g == RETURN_REASONS.index("late")) & (batch.shipping[order] > 0),
                        batch.shipping[order],
                        np.round(batch.subtotal[order] * rng.uniform(0.1, 0.25, len(g))))
    requested_g = cal.next_open(delivered[g] + (rng.uniform(0.1, 3, len(g)) * 24 * HOUR
                                                ).astype("timedelta64[us]"),
                                rng, opens=8, closes=22, weekmask=EVERY_DAY)
    refunded_g = cal.next_open(requested_g + (rng.uniform(1, 30, len(g)) * 3600e6).astype(
        "timedelta64[us]"), rng, opens=9, closes=17, weekmask="1111100")
    refunds = {"order": order, "reason": reason_g, "requested": requested_g,
               "refunded": refunded_g, "amount": amount_g.astype(np.int64),
               "resolution": np.full(len(g), "refund", dtype=object)}
    keep = requested_g < cal.end
    return items, {name: values[keep] for name, values in refunds.items()}


def _pick_product_line(batch: OrderBatch, orders: np.ndarray,
                       rng: np.random.Generator) -> np.ndarray:
    """For each order, one of its product lines at random (gift wrapping is never it)."""
    product = batch.product_lines
    owner = batch.line_order[product]
    first = np.searchsorted(owner, orders)
    count = np.searchsorted(owner, orders, side="right") - first
    return product[first + (rng.random(len(orders)) * count).astype(np.int64)]


def _returns_frame(batch: OrderBatch, world: World, catalog: Catalog, items: dict,
                   refunds: dict, counters: Counters) -> pd.DataFrame:
    cal = world.calendar
    end = cal.end

    def cut(times: np.ndarray) -> np.ndarray:
        return np.where(times < end, times, NAT)

    posted, received, processed = (items[k] < end for k in ("posted", "received",
                                                             "processed"))
    resolution = items["resolution"].astype(object)
    status = np.select(
        [processed & items["rejected"], processed & (resolution == "refund"), processed,
         received, posted],
        ["rejected", "refunded", "closed", "received", "in_transit"], "requested")
    resolution[items["rejected"]] = None
    amount = np.where((resolution == "exchange") | items["rejected"], np.nan,
                      items["amount"] / 100)
    skus = catalog.products["sku"].to_numpy(object)
    reasons = np.array(RETURN_REASONS, dtype=object)
    item_rows = pd.DataFrame({
        "order_id": labels("O", batch.number[items["order"]], 7),
        "sku": skus[items["sku"]], "quantity": items["qty"].astype(float),
        "reason": reasons[items["reason"]],
        "requested_at": items["requested"], "received_at": cut(items["received"]),
        "refunded_at": cut(items["refunded"]), "refund_amount": amount,
        "resolution": resolution, "status": status})
    refund_rows = pd.DataFrame({
        "order_id": labels("O", batch.number[refunds["order"]], 7), "sku": None,
        "quantity": np.nan, "reason": reasons[refunds["reason"]],
        "requested_at": refunds["requested"], "received_at": NAT,
        "refunded_at": cut(refunds["refunded"]), "refund_amount": refunds["amount"] / 100,
        "resolution": refunds["resolution"],
        "status": np.where(refunds["refunded"] < end, "refunded", "requested")})
    frame = pd.concat([item_rows, refund_rows], ignore_index=True)
    frame = frame.sort_values("requested_at", kind="stable", ignore_index=True)
    frame.insert(0, "return_id", labels("R", counters.take("return_", len(frame)), 6))
    frame["quantity"] = frame["quantity"].astype("Int64")
    for column in ("requested_at", "received_at", "refunded_at"):
        frame[column] = cal.to_utc(frame[column].to_numpy("datetime64[us]"))
    return frame


def _tickets(batch: OrderBatch, world: World, catalog: Catalog, customers: Customers,
             parcels: dict, items: dict, rng: np.random.Generator) -> dict:
    """Support contacts: late parcels, impatient customers, returns, complaints, payment
    questions, other, and pre-sale product questions (no order)."""
    cal = world.calendar
    parts: list[dict] = []

    def hours(k: int, lo: float, hi: float) -> np.ndarray:
        return _span(rng, k, lo, hi, HOUR)

    def add(category: str, order: np.ndarray, sku: np.ndarray, created: np.ndarray,
            resolve_after: np.ndarray | None = None) -> None:
        created = cal.next_open(created, rng, opens=8, closes=22, weekmask=EVERY_DAY)
        parts.append({"category": np.full(len(order), category, dtype=object),
                      "order": order, "sku": sku, "created": created,
                      "resolve_after": resolve_after if resolve_after is not None
                      else np.full(len(order), NAT)})

    p = parcels

    def none(k: int) -> np.ndarray:
        return np.full(k, -1)

    late = np.flatnonzero(p["late"] & (rng.random(len(p["order"])) < 0.35))
    asked = p["promised"][late] + hours(len(late), 3, 48)
    before = np.isnat(p["delivered"][late]) | (asked < p["delivered"][late])
    late = late[before]
    add("where_is_my_order", p["order"][late], none(len(late)), asked[before],
        p["delivered"][late])
    eager = np.flatnonzero(rng.random(len(p["order"])) < 0.02)
    asked = p["shipped"][eager] + hours(len(eager), 24, 72)
    before = ~np.isnat(p["delivered"][eager]) & (asked < p["delivered"][eager])
    eager = eager[before]
    add("where_is_my_order", p["order"][eager], none(len(eager)), asked[before],
        p["delivered"][eager])
    wrong = np.flatnonzero(p["wrong_item"] & ~np.isnat(p["delivered"])
                           & (rng.random(len(p["order"])) < 0.9))
    line = _pick_product_line(batch, p["order"][wrong], rng)
    add("complaint", p["order"][wrong], batch.line_sku[line],
        p["delivered"][wrong] + hours(len(wrong), 2, 30))
    about = np.flatnonzero(rng.random(len(items["order"])) < 0.4)
    add("return", items["order"][about], items["sku"][about],
        items["requested"][about] - hours(len(about), 0, 6), items["processed"][about])
    damaged = np.flatnonzero((items["reason"] == RETURN_REASONS.index("damaged"))
                             & (rng.random(len(items["order"])) < 0.5))
    add("complaint", items["order"][damaged], items["sku"][damaged],
        items["requested"][damaged] - hours(len(damaged), 1, 12))
    n = len(batch)
    for category, rate, lo, hi in (("payment", 0.006, 0.1, 24), ("other", 0.008, 24, 240)):
        chosen = np.flatnonzero(rng.random(n) < rate)
        add(category, chosen, none(len(chosen)), batch.created[chosen]
            + hours(len(chosen), lo, hi))
    q_day, q_sku, q_at = _questions(batch, world, catalog, rng)
    add("product_question", none(len(q_day)), q_sku, q_at)

    tickets = {k: np.concatenate([part[k] for part in parts]) for k in parts[0]}
    keep = tickets["created"] < cal.end
    tickets = {k: v[keep] for k, v in tickets.items()}
    return _respond(tickets, batch, world, customers, rng)


def _questions(batch: OrderBatch, world: World, catalog: Catalog,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pre-sale product questions (no order): about 4 per 100 orders, about SKUs in
    proportion to their demand. The evening of `until` always has a few waiting, sent
    after the office closed, so the last day's inbox is never empty."""
    cal = world.calendar
    if not len(batch):
        return np.zeros(0, int), np.zeros(0, int), np.zeros(0, "datetime64[us]")
    days = np.arange(batch.day.min(), batch.day.max() + 1)
    per_day = rng.poisson(QUESTIONS_PER_ORDER * np.bincount(batch.day - days[0]))
    last = days == cal.n_days - 1
    per_day[last] = np.maximum(per_day[last], 3)
    day = np.repeat(days, per_day)
    hours = np.where(day == cal.n_days - 1, rng.uniform(18, 22, len(day)),
                     rng.uniform(8, 22, len(day)))
    share = np.cumsum(catalog.share[:, day].T, axis=1)
    sku = (share < rng.random((len(day), 1)) * share[:, -1:]).sum(axis=1)
    return day, np.minimum(sku, catalog.n - 1), cal.at(day, hours * 3600)


def _respond(tickets: dict, batch: OrderBatch, world: World, customers: Customers,
             rng: np.random.Generator) -> dict:
    """Channel, customer, first response, escalation and resolution of each ticket."""
    cal = world.calendar
    k = len(tickets["order"])
    order = tickets["order"]
    has_order = order >= 0
    channel = rng.choice(len(TICKET_CHANNELS), k, p=TICKET_CHANNEL_MIX)
    marketplace = has_order & (batch.channel[np.maximum(order, 0)] == 1)
    channel[marketplace] = TICKET_CHANNELS.index("marketplace")
    customer = np.where(has_order, batch.customer[np.maximum(order, 0)],
                        np.where(rng.random(k) < 0.4,
                                 rng.integers(0, max(customers.n, 1), k), -1))
    customer = np.where(customer < customers.n, customer, -1)
    name = np.array(TICKET_CHANNELS)[channel]
    live = name == "phone"
    median_hours = np.select([name == "chat", live, np.isin(name, ["whatsapp", "facebook",
                                                                   "instagram"])],
                             [0.2, 0.05, 9.0], 5.0)
    wait = rng.lognormal(np.log(median_hours), 0.7)
    wait += (rng.random(k) < 0.04) * rng.uniform(24, 72, k)
    first = tickets["created"] + (wait * 3600e6).astype("timedelta64[us]")
    first = np.where(live, first, cal.next_open(first, rng, opens=9, closes=17.5,
                                                weekmask=STAFF_DAYS))
    category = tickets["category"]
    escalated = rng.random(k) < np.where(category == "complaint", 0.25, 0.04)
    work = rng.lognormal(np.log(np.where(category == "complaint", 30, 6)), 0.8)
    work += escalated * rng.uniform(48, 144, k)
    resolved = first + (work * 3600e6).astype("timedelta64[us]")
    waiting = tickets["resolve_after"]
    resolved = np.where(~np.isnat(waiting) & (waiting > resolved),
                        waiting + (rng.uniform(1, 20, k) * 3600e6).astype("timedelta64[us]"),
                        resolved)
    resolved = cal.next_open(resolved, rng, opens=9, closes=17.5, weekmask=STAFF_DAYS)
    return dict(tickets, channel=channel, customer=customer, first=first, resolved=resolved,
                escalated=escalated)


def _tickets_frame(batch: OrderBatch, world: World, catalog: Catalog, customers: Customers,
                   tickets: dict, counters: Counters) -> pd.DataFrame:
    cal = world.calendar
    end = cal.end
    k = len(tickets["order"])
    answered = tickets["first"] < end
    solved = tickets["resolved"] < end
    recently = tickets["resolved"] >= end - 4 * 24 * HOUR
    status = np.select([solved & recently, solved, answered & (np.arange(k) % 5 < 3)],
                       ["resolved", "closed", "pending"], "open")
    order = tickets["order"]
    numbers = batch.number[np.maximum(order, 0)]
    sku = tickets["sku"]
    titles = catalog.products["title"].to_numpy(object)[np.maximum(sku, 0)]
    reference = "#" + pd.Series(numbers + 1000).astype(str)
    category = pd.Series(tickets["category"])
    pick = pd.Series(np.arange(k) % 3)
    subject = np.select(
        [category == "where_is_my_order", category == "return", category == "complaint",
         category == "product_question", category == "payment"],
        [np.where(pick == 0, "Where is my order " + reference + "?",
                  np.where(pick == 1, "Order " + reference + " still not here",
                           "Tracking for " + reference)),
         np.where(pick == 0, "Return for order " + reference,
                  "Can I send back the " + pd.Series(titles) + "?"),
         np.where(sku >= 0, "Wrong/damaged item: " + pd.Series(titles) + " <not what I ordered>",
                  "Complaint about order " + reference),
         np.where(pick == 0, "Question about " + pd.Series(titles),
                  "Is the " + pd.Series(titles) + " in stock & when?"),
         "Payment problem with order " + reference],
        "Question about order " + reference)
    channel = np.array(TICKET_CHANNELS, dtype=object)[tickets["channel"]]
    return pd.DataFrame({
        "ticket_id": labels("T", counters.take("ticket", k), 6),
        "channel": channel,
        "customer_id": customers.ids(tickets["customer"]),
        "order_id": np.where(order >= 0, labels("O", numbers, 7), None),
        "sku": np.where(sku >= 0, catalog.products["sku"].to_numpy(object)[np.maximum(sku, 0)],
                        None),
        "subject": subject,
        "category": tickets["category"],
        "created_at": cal.to_utc(tickets["created"]),
        "first_response_at": cal.to_utc(np.where(answered, tickets["first"], NAT)),
        "resolved_at": cal.to_utc(np.where(solved, tickets["resolved"], NAT)),
        "status": status,
        "is_escalated": tickets["escalated"] & answered,
    })


def _surveys(batch: OrderBatch, world: World, parcels: dict, items: dict, tickets: dict,
             rng: np.random.Generator) -> dict:
    """CSAT after resolved tickets, NPS and product reviews after deliveries."""
    cal = world.calendar

    def days(k: int, lo: float, hi: float) -> np.ndarray:
        return _span(rng, k, lo, hi, 24 * HOUR)

    solved = np.flatnonzero(~np.isnat(tickets["resolved"]) & (rng.random(len(tickets["order"]))
                                                             < 0.35))
    breached = (tickets["first"] - tickets["created"])[solved] > \
        world.first_response_hours * HOUR
    unhappy = tickets["escalated"][solved] | breached
    csat = _scores(rng, unhappy, np.array([0.05, 0.05, 0.10, 0.30, 0.50]),
                   np.array([0.18, 0.17, 0.20, 0.25, 0.20]), low=1)
    delivered = ~np.isnat(parcels["delivered"])
    late = parcels["late"]
    nps_i = np.flatnonzero(delivered & (batch.customer[parcels["order"]] >= 0)
                           & (rng.random(len(delivered)) < 0.10))
    nps = _scores(rng, late[nps_i], np.array([1, 1, 1, 1, 2, 3, 4, 8, 14, 28, 37]) / 100,
                  np.array([5, 5, 6, 7, 9, 12, 12, 14, 12, 10, 8]) / 100, low=0)
    review_i = np.flatnonzero(delivered & (rng.random(len(delivered)) < 0.07))
    disappointed = np.isin(parcels["order"][review_i],
                           items["order"][np.isin(items["reason"], [1, 2])]) | late[review_i]
    review = _scores(rng, disappointed, np.array([0.04, 0.05, 0.11, 0.28, 0.52]),
                     np.array([0.30, 0.25, 0.20, 0.15, 0.10]), low=1)
    kind = np.concatenate([np.full(len(solved), "csat"), np.full(len(nps_i), "nps"),
                           np.full(len(review_i), "review")]).astype(object)
    submitted = np.concatenate([
        tickets["resolved"][solved] + days(len(solved), 0.05, 2),
        parcels["delivered"][nps_i] + days(len(nps_i), 7, 14),
        parcels["delivered"][review_i] + days(len(review_i), 5, 21)])
    submitted = cal.next_open(submitted, rng, opens=8, closes=22, weekmask=EVERY_DAY)
    out = {"kind": kind, "score": np.concatenate([csat, nps, review]),
           "ticket": np.concatenate([solved, np.full(len(nps_i) + len(review_i), -1)]),
           "order": np.concatenate([tickets["order"][solved], parcels["order"][nps_i],
                                    parcels["order"][review_i]]),
           "submitted": submitted}
    keep = submitted < cal.end
    return {k: v[keep] for k, v in out.items()}


def _span(rng: np.random.Generator, k: int, lo: float, hi: float,
          unit: np.timedelta64) -> np.ndarray:
    """k random durations between lo and hi units."""
    return (rng.uniform(lo, hi, k) * unit.astype(np.int64)).astype("timedelta64[us]")


def _scores(rng: np.random.Generator, unhappy: np.ndarray, happy_mix: np.ndarray,
            unhappy_mix: np.ndarray, *, low: int) -> np.ndarray:
    """Scores drawn from one mix for happy and another for unhappy respondents."""
    mix = np.where(unhappy[:, None], unhappy_mix, happy_mix)
    return low + (np.cumsum(mix, axis=1) < rng.random((len(unhappy), 1))).sum(axis=1)


COMMENTS = {
    "low": ("Took far too long & nobody replied", "Item arrived damaged :(",
            "Not as described — colour is \"off\"", "Had to chase twice"),
    "mid": ("Fine, delivery was a bit slow", "OK but packaging could be better",
            "Nice <3 but smaller than expected"),
    "high": ("Lovely quality, will order again!", "Fast delivery & beautiful packaging",
             "Great service, thank you", "Perfect gift <3"),
}


def _surveys_frame(batch: OrderBatch, world: World, customers: Customers, tickets: dict,
                   ticket_ids: np.ndarray, surveys: dict, counters: Counters) -> pd.DataFrame:
    cal = world.calendar
    k = len(surveys["kind"])
    score = surveys["score"]
    top = np.where(surveys["kind"] == "nps", 10, 5)
    band = np.where(score >= top - 1, "high", np.where(score * 2 >= top, "mid", "low"))
    comment = np.full(k, None, dtype=object)
    with_text = np.flatnonzero(np.arange(k) % 10 < 3)
    for name, texts in COMMENTS.items():
        chosen = with_text[band[with_text] == name]
        comment[chosen] = np.array(texts, dtype=object)[chosen % len(texts)]
    order = surveys["order"]
    ticket = surveys["ticket"]
    customer = np.where(order >= 0, batch.customer[np.maximum(order, 0)],
                        tickets["customer"][np.maximum(ticket, 0)])
    return pd.DataFrame({
        "response_id": labels("SV", counters.take("response", k), 7),
        "customer_id": customers.ids(customer),
        "order_id": np.where(order >= 0, labels("O", batch.number[np.maximum(order, 0)], 7),
                             None),
        "ticket_id": np.where(ticket >= 0, ticket_ids[np.maximum(ticket, 0)], None),
        "submitted_at": cal.to_utc(surveys["submitted"]),
        "kind": surveys["kind"],
        "score": score,
        "comment": comment,
    })
