"""The journal: what happened on day D and today's to-do list, most urgent first.

The to-do list gathers the other daily checks in this order: orders past the ship-by
promise, tickets past the first-response service level, bestsellers out of stock, calendar
items due; then late parcels, refunds due, tracking numbers not sent, escalated tickets and
bestsellers running low. A check whose table is absent is named below the list.
"""

from __future__ import annotations

import datetime as dt
import functools

import pandas as pd

from opslib import display as show
from opslib.errors import MissingTableError
from opslib.store import Store
from opslib.views import money
from opslib.views.base import section
from opslib.views.daily import data
from opslib.views.daily.common import attempt, table, tiles, weekday_before

__all__ = ["summary", "goals", "todo", "todo_frame", "figures", "TODO_COLUMNS"]

# The tables this page reads: `playbook run` checks them against the data contract
# before the notebook runs (a test keeps this in step with what the page reads, every goal
# set: a gross-profit goal costs the lines with purchase_orders).
READS = ("products", "orders", "order_lines", "shipments", "returns", "inventory_snapshots",
         "tickets", "content_calendar", "purchase_orders")

TODO_COLUMNS = ("priority", "area", "task", "count_items")


@section("The day in numbers")
def summary(store: Store, day: dt.date) -> list:
    """Tiles: orders received, parcels shipped, tickets opened and waiting, returns, refunds."""
    notes: list = []
    items: list[show.Tile] = []
    trend = attempt(lambda: data.sales_trend(store, day, 8), section="Orders received",
                    notes=notes)
    if trend is not None:
        items.append(show.Tile("Orders received", float(trend.count_orders.iloc[-1]), "count",
                               float(trend.count_orders.iloc[0]), weekday_before(day)))
    sent = attempt(lambda: data.shipments_day(store, day), section="Shipments sent",
                   notes=notes)
    if sent is not None:
        items.append(show.Tile("Parcels shipped", sent["count_shipments"], "count"))
    opened = attempt(lambda: data.tickets_day(store, day), section="Tickets", notes=notes)
    if opened is not None:
        waiting = data.open_tickets(store, day)
        items.append(show.Tile("Tickets opened", float(opened.count_tickets_opened), "count"))
        items.append(show.Tile("Tickets waiting for a reply",
                               float((~waiting.is_answered).sum()), "count"))
    asked = attempt(lambda: data.returns_day(store, day), section="Returns", notes=notes)
    if asked is not None:
        due = data.refunds_due(store, day)
        items.append(show.Tile("Returns requested", float(asked.count_returns_requested),
                               "count"))
        items.append(show.Tile("Refunds due", float(len(due)), "count"))
        items.append(show.Tile("Refunds due (amount)", float(due.refund_amount.sum()), "money"))
    return [tiles(store, items), *notes]


# Month to date against the `[goals]` of playbook.toml, with the projection to month end
# (nothing without goals).
goals = money.pacing_section


@functools.lru_cache(maxsize=64)  # the page and its figures (and the digest) share it
def todo_frame(store: Store, day: dt.date) -> tuple[pd.DataFrame, list[str]]:
    """Today's to-do list (TODO_COLUMNS), most urgent first, and the checks skipped.

    Grain: task. count_items is how many orders, tickets, parcels... the task covers.
    """
    tasks: list[tuple[str, str, int]] = []
    skipped: list[str] = []
    for check in _CHECKS:
        try:
            tasks.extend(check(store, day))
        except MissingTableError as err:
            skipped.append(f"{_AREA[check]} (no {err.table} data)")
    frame = pd.DataFrame(tasks, columns=["area", "task", "count_items"])
    frame.insert(0, "priority", range(1, len(frame) + 1))
    return frame.astype({"priority": "int64", "count_items": "int64"}), skipped


@section("Today's to-do list")
def todo(store: Store, day: dt.date) -> list:
    """The to-do table, and a note naming any check that could not run."""
    frame, skipped = todo_frame(store, day)
    parts = [table(store, frame, empty="Nothing urgent: every check is clear.")]
    if skipped:
        parts.append(show.note("Not checked, for lack of data: " + "; ".join(skipped) + "."))
    return parts


def figures(store: Store, day: dt.date) -> dict[str, float | None]:
    """The journal's headline figures: count_orders, count_tickets_opened and
    count_todo_tasks (the rows of today's to-do list, shown first on the front page); with
    `[goals]`, `<figure>_mtd`, `<figure>_goal` and `<figure>_projected` of each goal."""
    out: dict[str, float | None] = {"count_orders": None, "count_tickets_opened": None,
                                    "count_todo_tasks": float(len(todo_frame(store, day)[0]))}
    if store.has("orders") and store.has("order_lines"):
        out["count_orders"] = data.sales_day(store, day)["count_orders"]
    if store.has("tickets"):
        out["count_tickets_opened"] = float(data.tickets_day(store, day).count_tickets_opened)
    out.update(money.goal_figures(store, day))
    return out


def _money(store: Store, value: float) -> str:
    return show.format_value(value, "money", currency=store.settings.store.currency)


def _late_orders(store: Store, day: dt.date) -> list[tuple[str, str, int]]:
    orders = data.open_orders(store, day)
    late = orders[orders.is_past_ship_by]
    if late.empty:
        return []
    oldest = late.iloc[0]
    hours = store.settings.service.ship_within_hours
    return [("Shipping", f"Ship {len(late)} order(s) past the {hours} h ship-by promise "
             f"(oldest {oldest.order_number}, placed {oldest.age_days} day(s) ago)", len(late))]


def _late_answers(store: Store, day: dt.date) -> list[tuple[str, str, int]]:
    tickets = data.open_tickets(store, day)
    late = tickets[tickets.is_first_response_breach]
    if late.empty:
        return []
    hours = store.settings.service.first_response_hours
    social = int(late.is_social.sum())
    extra = f"; {social} on social channels" if social else ""
    return [("Customer service", f"Answer {len(late)} ticket(s) waiting more than {hours} h "
             f"for a first reply (longest {late.hours_waiting.max():.0f} h{extra})", len(late))]


def _bestsellers_out(store: Store, day: dt.date) -> list[tuple[str, str, int]]:
    empty = data.out_of_stock(store, day)
    return [("Stock", f"Restock {row.sku} {row.title}: a bestseller out of stock, about "
             f"{_money(store, row.lost_revenue_per_day)} of sales lost a day", 1)
            for row in empty[empty.is_bestseller].itertuples()]


_VERBS = {"social": "Post", "email": "Send", "site": "Update the site", "promotion": "Launch",
          "banner": "Put up"}


def _calendar_due(store: Store, day: dt.date) -> list[tuple[str, str, int]]:
    items = data.calendar(store, day)
    return [("Marketing", f"{_VERBS.get(row.channel, 'Do')}: {row.title} (planned "
             f"{row.planned_date:%a %d %b}{', overdue' if row.is_overdue else ''})", 1)
            for row in items[items.is_due].itertuples()]


def _late_parcels(store: Store, day: dt.date) -> list[tuple[str, str, int]]:
    late = data.late_shipments(store, day)
    if late.empty:
        return []
    return [("Shipping", f"Chase {len(late)} parcel(s) past their promised delivery (up to "
             f"{late.days_late.max():.1f} days late)", len(late))]


def _refunds(store: Store, day: dt.date) -> list[tuple[str, str, int]]:
    due = data.refunds_due(store, day)
    if due.empty:
        return []
    return [("Returns", f"Refund {len(due)} return(s) waiting for their money "
             f"({_money(store, due.refund_amount.sum())})", len(due))]


def _tracking(store: Store, day: dt.date) -> list[tuple[str, str, int]]:
    unsent = data.tracking_not_sent(store, day)
    if unsent.empty:
        return []
    return [("Shipping", f"Send tracking numbers for {len(unsent)} parcel(s) that left "
             f"without one", len(unsent))]


def _escalations(store: Store, day: dt.date) -> list[tuple[str, str, int]]:
    tickets = data.open_tickets(store, day)
    escalated = tickets[tickets.is_escalated]
    if escalated.empty:
        return []
    return [("Customer service", f"Follow up {len(escalated)} escalated ticket(s)",
             len(escalated))]


def _running_low(store: Store, day: dt.date) -> list[tuple[str, str, int]]:
    cover = data.stock_cover(store, day)
    return [("Stock", f"Reorder {row.sku} {row.title}: "
             f"{show.format_value(row.days_of_cover, 'days')} of cover left", 1)
            for row in cover[cover.is_low_cover].itertuples()]


_CHECKS = (_late_orders, _late_answers, _bestsellers_out, _calendar_due, _late_parcels,
           _refunds, _tracking, _escalations, _running_low)
_AREA = {_late_orders: "orders past ship-by", _late_answers: "first-response breaches",
         _bestsellers_out: "bestseller stock-outs", _calendar_due: "calendar items due",
         _late_parcels: "late parcels", _refunds: "refunds due",
         _tracking: "tracking not sent", _escalations: "escalations",
         _running_low: "bestsellers running low"}
