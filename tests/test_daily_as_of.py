"""As-of correctness: the daily report for D is the same whether the store goes on past D.

How the test is built, and why it is honest:

The small demo store runs to DEMO_UNTIL; the report day D is 14 days earlier, so the store
holds two weeks of "future": orders placed, parcels shipped and delivered, tickets answered,
returns refunded, stock counted after D. The test then builds the store *as an export taken
at the end of D would have shown it*: rows created after D are dropped, and every event
that happened after D is undone — its timestamp emptied and the status it caused rolled
back (a parcel delivered on D+3 is `in_transit`, a ticket resolved on D+1 is open, a
purchase order received later is `ordered`, a calendar item done later is `planned`).

Where the data records a time, that cut is exact. Some states carry no time at all (a return
`rejected` or `closed`, a ticket `closed` without resolved_at, an escalation, a calendar item
`skipped`, an order fulfilled without any parcel); for those the cut applies the same
documented assumption the metrics make (docs/metrics.md), and the escalation flag is kept as
it is now. Plans that exist before they happen (content calendar, promotions, products) are
kept. Post-D engagement numbers of posts and emails are kept too: the data has one value
per post, so neither store could tell them apart.

Every daily figure and every list the daily pages show is then computed on both stores for
D and must be identical: a metric that peeks at post-D data (a status, a later timestamp, a
row placed after D) makes this test fail.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from demo_data import DEMO_UNTIL

from opslib.schema import TABLES
from opslib.store import Store, Window
from opslib.tables import write_table
from opslib.views.daily import (
    customer_service, data, journal, kpis, marketing_today, orders_shipping, returns_refunds,
    stock_watch,
)

D = DEMO_UNTIL - dt.timedelta(days=14)
PAGES = (journal, orders_shipping, returns_refunds, customer_service, stock_watch, kpis,
         marketing_today)


def _undo(frame: pd.DataFrame, column: str, end: pd.Timestamp) -> pd.Series:
    """Rows whose event `column` happened after the end of D; the event is emptied."""
    later = frame[column].notna() & (frame[column] >= end)
    frame.loc[later, column] = pd.NaT
    return later


def cut_at(src: Path, dst: Path, day: dt.date, zone: str) -> Path:
    """Write the store `src` into `dst` as it stood at the end of `day` (see module doc)."""
    end = Window.of(day, zone=zone).hi
    frames = {name: pd.read_parquet(src / "tables" / f"{name}.parquet")
              for name in TABLES if (src / "tables" / f"{name}.parquet").exists()}
    out: dict[str, pd.DataFrame] = {}
    for name, frame in frames.items():
        time_column = TABLES[name].time_column
        if name in ("products", "content_calendar", "promotions") or time_column is None:
            out[name] = frame.copy()
        elif TABLES[name].column(time_column).type == "date":
            out[name] = frame[pd.to_datetime(frame[time_column]) <= pd.Timestamp(day)].copy()
        else:
            out[name] = frame[frame[time_column] < end].copy()

    orders, parcels = out["orders"], out["shipments"]
    _undo(orders, "cancelled_at", end)
    delivered_later = _undo(parcels, "delivered_at", end)
    parcels.loc[delivered_later, "status"] = "in_transit"
    _undo(parcels, "tracking_sent_at", end)
    ever_shipped = frames["shipments"].order_id
    shipped_by_end = set(parcels.order_id)
    had_parcel_later = orders.order_id.isin(ever_shipped) & ~orders.order_id.isin(shipped_by_end)
    orders.loc[had_parcel_later, "fulfillment_status"] = "unfulfilled"

    refunds = out["returns"]
    refunded_later = _undo(refunds, "refunded_at", end)
    received_later = _undo(refunds, "received_at", end)
    undone = refunded_later | received_later
    refunds.loc[undone, "status"] = refunds.loc[undone, "received_at"].notna().map(
        {True: "received", False: "in_transit"})

    tickets = out["tickets"]
    answered_later = _undo(tickets, "first_response_at", end)
    resolved_later = _undo(tickets, "resolved_at", end)
    reopened = resolved_later | (answered_later & tickets.status.isin(["resolved", "closed"])
                                 & tickets.resolved_at.isna())
    tickets.loc[reopened, "status"] = "open"

    pos = out["purchase_orders"]
    received_po_later = _undo(pos, "received_at", end)
    pos.loc[received_po_later, "status"] = "ordered"

    calendar = out["content_calendar"]
    done_later = _undo(calendar, "done_at", end)
    calendar.loc[done_later, "status"] = "planned"

    if "checkouts" in out:
        later_orders = ~out["checkouts"].completed_order_id.isin(orders.order_id)
        out["checkouts"].loc[later_orders, "completed_order_id"] = None
    for name, frame in out.items():
        write_table(dst, name, frame)
    return dst


@pytest.fixture(scope="module")
def stores(small_demo_dir, demo_settings, tmp_path_factory) -> tuple[Store, Store]:
    """(the demo store running 14 days past D, the same store cut at the end of D)."""
    cut = cut_at(small_demo_dir, tmp_path_factory.mktemp("cut_at_d"), D,
                 demo_settings.store.timezone)
    return Store.open(small_demo_dir, demo_settings), Store.open(cut, demo_settings)


def test_the_cut_store_really_lost_the_future(stores):
    """Sanity: the long store has activity after D that the cut store does not."""
    long, cut = stores
    after = Window.of(D + dt.timedelta(days=1), DEMO_UNTIL, zone=long.zone)
    placed = long.table("orders").created_at
    assert long.table("orders").filter((placed >= after.lo)).count().execute() > 0
    assert cut.table("orders").filter(cut.table("orders").created_at >= after.lo) \
        .count().execute() == 0


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.__name__.rsplit(".", 1)[1])
def test_headline_figures_for_d_ignore_what_came_after(stores, page):
    """Every recorded figure of D is the same on the long store and on the store cut at D."""
    long, cut = stores
    assert page.figures(long, D) == pytest.approx(page.figures(cut, D), nan_ok=True)


LISTS = [name for name in data.__all__ if name not in ("as_of", "sales_trend")
         and callable(getattr(data, name))]


@pytest.mark.parametrize("name", LISTS)
def test_every_daily_list_for_d_ignores_what_came_after(stores, name):
    """Each daily list and figure set (pick list, open tickets, stock-outs...) is identical."""
    long, cut = stores
    loader = getattr(data, name)
    left, right = loader(long, D), loader(cut, D)
    if isinstance(left, tuple):
        left, right = left[0], right[0]
    if isinstance(left, pd.DataFrame):
        pd.testing.assert_frame_equal(left.reset_index(drop=True), right.reset_index(drop=True),
                                      check_dtype=False)
    elif isinstance(left, pd.Series):
        pd.testing.assert_series_equal(left, right, check_dtype=False)
    else:
        assert left == pytest.approx(right, nan_ok=True)


def test_the_to_do_list_for_d_ignores_what_came_after(stores):
    long, cut = stores
    pd.testing.assert_frame_equal(journal.todo_frame(long, D)[0], journal.todo_frame(cut, D)[0])


def test_the_long_store_has_different_figures_for_its_own_last_day(stores):
    """The comparison is not vacuous: the stores do differ, just not as of D."""
    long, cut = stores
    assert orders_shipping.figures(long, DEMO_UNTIL) != orders_shipping.figures(cut, DEMO_UNTIL)
