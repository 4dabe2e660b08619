"""Returns and refunds: open returns by age and reason, refunds due, what came back on D."""

from __future__ import annotations

import datetime as dt

from opslib import charts
from opslib import display as show
from opslib.metrics.common import AGE_BUCKETS, count_by_age
from opslib.store import Store
from opslib.views.base import section
from opslib.views.daily import data
from opslib.views.daily.common import table, tiles

__all__ = ["summary", "open_returns", "refunds_due", "received", "figures"]

# The tables this page reads: `playbook run` checks them against the data contract
# before the notebook runs (a test keeps this in step with what the page reads).
READS = ("orders", "returns")

_BUCKETS = {column: "count" for *_, column in AGE_BUCKETS} | {"count_total": "count"}


@section("Returns at a glance")
def summary(store: Store, day: dt.date) -> list:
    """Tiles: open returns, refunds due (count and money), asked for and received on D."""
    events = data.returns_day(store, day)
    due = data.refunds_due(store, day)
    return [tiles(store, [
        show.Tile("Open returns", float(len(data.open_returns(store, day))), "count"),
        show.Tile("Refunds due", float(len(due)), "count"),
        show.Tile("Refunds due (amount)", float(due.refund_amount.sum()), "money"),
        show.Tile("Returns requested", float(events.count_returns_requested), "count"),
        show.Tile("Items received back", float(events.count_returns_received), "count"),
        show.Tile("Refunded", float(events.returns_amount), "money"),
    ])]


@section("Open returns by age and reason")
def open_returns(store: Store, day: dt.date) -> list:
    """Counts by reason × age, a chart, and the list, oldest first."""
    frame = data.open_returns(store, day)
    by_reason = count_by_age(frame, by="reason")
    chart = charts.bar(by_reason, x="reason", y="count_total", horizontal=True,
                       y_unit="count", title="Open returns by reason", height=160)
    return [
        table(store, by_reason, units=_BUCKETS, empty="No open return."),
        chart,
        table(store, frame, title="Open returns, oldest first",
              units={"quantity": "count", "age_days": "count", "refund_amount": "money"},
              highlight="is_refund_due", empty="No open return."),
        show.note("Rows in red are waiting for a refund."),
    ] if not frame.empty else [table(store, frame, empty="No open return.")]


@section("Refunds due")
def refunds_due(store: Store, day: dt.date) -> list:
    """Returns received (or needing no item) whose money has not gone back yet."""
    return [table(store, data.refunds_due(store, day),
                  units={"quantity": "count", "days_waiting": "days", "refund_amount": "money"},
                  empty="No refund is due.")]


@section("Received back")
def received(store: Store, day: dt.date) -> list:
    """Items that arrived back on D: inspect, restock, refund."""
    return [table(store, data.returns_received(store, day),
                  units={"quantity": "count", "refund_amount": "money"},
                  empty=f"Nothing came back on {day}.")]


def figures(store: Store, day: dt.date) -> dict[str, float | None]:
    """count_returns_open and count_refunds_due (None without returns data)."""
    if not (store.has("returns") and store.has("orders")):
        return {"count_returns_open": None, "count_refunds_due": None}
    return {"count_returns_open": float(len(data.open_returns(store, day))),
            "count_refunds_due": float(len(data.refunds_due(store, day)))}
