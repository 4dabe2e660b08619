"""Customer service: who is waiting for us, for how long, and how fast we answered on D."""

from __future__ import annotations

import datetime as dt

from opslib import charts
from opslib import display as show
from opslib.metrics import support
from opslib.metrics.common import AGE_BUCKETS, count_by_age
from opslib.store import Store
from opslib.views.base import section
from opslib.views.daily import data
from opslib.views.daily.common import table, tiles

__all__ = ["summary", "open_by_channel", "breaches", "social_unanswered", "escalations",
           "figures"]

# The tables this page reads: `playbook run` checks them against the data contract
# before the notebook runs (a test keeps this in step with what the page reads).
READS = ("orders", "order_lines", "returns", "tickets")

_BUCKETS = {column: "count" for *_, column in AGE_BUCKETS} | {"count_total": "count"}
_LIST = ["ticket_id", "channel", "category", "subject", "created_at", "hours_waiting"]


@section("Service at a glance")
def summary(store: Store, day: dt.date) -> list:
    """Tiles: opened, open, waiting, breaches, response times, contact rate."""
    sla = store.settings.service.first_response_hours
    opened = data.tickets_day(store, day)
    waiting = data.open_tickets(store, day)
    answers = data.first_responses(store, day)
    orders = data.sales_day(store, day)["count_orders"] if store.has("orders") and \
        store.has("order_lines") else None
    rate = support.contact_rate(float(opened.count_tickets_opened), orders)
    breached = int(waiting.is_first_response_breach.sum())
    return [tiles(store, [
        show.Tile("Tickets opened", float(opened.count_tickets_opened), "count"),
        show.Tile("Open at day end", float(len(waiting)), "count"),
        show.Tile("Waiting for a first reply", float((~waiting.is_answered).sum()), "count"),
        show.Tile(f"Waiting over {sla} h", float(breached), "count"),
        show.Tile("Median first response", answers["median_first_response_hours"], "hours"),
        show.Tile("p90 first response", answers["p90_first_response_hours"], "hours"),
        show.Tile(f"Answered within {sla} h", answers["first_response_sla_rate"], "rate"),
        show.Tile("Tickets per 100 orders", rate, "number"),
    ])]


@section("Open tickets by channel and age")
def open_by_channel(store: Store, day: dt.date) -> list:
    frame = count_by_age(data.open_tickets(store, day), by="channel")
    if frame.empty:
        return [show.note("No ticket is open.")]
    return [table(store, frame, units=_BUCKETS),
            charts.bar(frame, x="channel", y="count_total", horizontal=True, y_unit="count",
                       title="Open tickets by channel", height=160)]


@section("First-response breaches")
def breaches(store: Store, day: dt.date) -> list:
    """Tickets with no first reply after the service level, longest waiting first."""
    tickets = data.open_tickets(store, day)
    late = tickets[tickets.is_first_response_breach].sort_values(
        "hours_waiting", ascending=False)
    sla = store.settings.service.first_response_hours
    return [table(store, late[_LIST], units={"hours_waiting": "hours"},
                  empty=f"No ticket has waited more than {sla} h for a first reply.")]


@section("Unanswered messages on social channels")
def social_unanswered(store: Store, day: dt.date) -> list:
    tickets = data.open_tickets(store, day)
    waiting = tickets[tickets.is_social & ~tickets.is_answered]
    return [table(store, waiting[_LIST], units={"hours_waiting": "hours"},
                  empty="No social message is waiting for a reply.")]


@section("Escalations")
def escalations(store: Store, day: dt.date) -> list:
    """Open tickets handed to a manager (the flag as it is now: it has no time stamp)."""
    tickets = data.open_tickets(store, day)
    columns = ["ticket_id", "channel", "category", "subject", "created_at", "age_days",
               "is_answered"]
    return [table(store, tickets[tickets.is_escalated][columns], units={"age_days": "count"},
                  empty="No open escalated ticket.")]


def figures(store: Store, day: dt.date) -> dict[str, float | None]:
    """count_tickets_open and median_first_response_hours (None without tickets data)."""
    if not store.has("tickets"):
        return {"count_tickets_open": None, "median_first_response_hours": None}
    return {"count_tickets_open": float(len(data.open_tickets(store, day))),
            "median_first_response_hours":
                data.first_responses(store, day)["median_first_response_hours"]}
