"""Stock metrics as of the end of Saturday 28 June 2025 (28-day window 1–28 June)."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest
from handbuilt import at

from opslib.metrics import stock
from opslib.store import Window

ZONE = "Europe/London"
D = Window.of("2025-06-28", zone=ZONE)


def _snap(day, sku, on_hand, committed=0, incoming=0):
    return {"snapshot_date": day, "sku": sku, "on_hand": on_hand, "committed": committed,
            "incoming": incoming}


def _days(first, last):
    start, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    return [str(start + dt.timedelta(days=i)) for i in range((end - start).days + 1)]


@pytest.fixture
def store(tiny_store):
    """Sales in June: A 14 on the 2nd + 14 on the 10th = 28; B 6 on the 5th; C 10 on the
    20th (its 50 on 25 May are before the window); E 1 on the 27th.
    Snapshots: A 30 on hand, 2 committed on the 28th. B out on 1–7 Jun (it still sold on
    the 5th), 4 on hand / 1 committed on the 28th. C 10 on the 20th, 0 from 21 to 28 Jun.
    D 0 on the 28th, never sold. E (a draft) 0 on the 28th. F counted only on 20 Jun (too
    old to trust on the 28th). G oversold (−2) on the 25th."""
    sales = [("o1", "2025-06-02 10:00", "A", 14), ("o2", "2025-06-10 10:00", "A", 14),
             ("o3", "2025-06-05 10:00", "B", 6), ("o4", "2025-06-20 10:00", "C", 10),
             ("o5", "2025-05-25 10:00", "C", 50), ("o6", "2025-06-27 10:00", "E", 1)]
    orders = [{"order_id": o, "created_at": at(t)} for o, t, _, _ in sales]
    lines = [{"order_id": o, "created_at": at(t), "sku": s, "quantity": q, "unit_price": 1.0}
             for o, t, s, q in sales]
    snaps = [_snap("2025-06-28", "A", 30, 2), _snap("2025-06-28", "B", 4, 1),
             _snap("2025-06-20", "C", 10), _snap("2025-06-28", "D", 0),
             _snap("2025-06-28", "E", 0), _snap("2025-06-20", "F", 9),
             _snap("2025-06-25", "G", -2, 0, 5)]
    snaps += [_snap(day, "B", 0) for day in _days("2025-06-01", "2025-06-07")]
    snaps += [_snap(day, "C", 0) for day in _days("2025-06-21", "2025-06-28")]
    prices = {"A": 10.0, "B": 20.0, "C": 5.0, "D": 8.0, "E": 3.0, "F": 4.0, "G": 12.0}
    products = [{"sku": s, "product_id": s, "title": f"Product {s}", "category": "c",
                 "price": p, "status": "draft" if s == "E" else "active"}
                for s, p in prices.items()]
    return tiny_store({"orders": orders, "order_lines": lines, "inventory_snapshots": snaps,
                       "products": products})


def _tables(store):
    return (store.table("orders"), store.table("order_lines"),
            store.table("inventory_snapshots"), store.table("products"))


def test_velocity_counts_in_stock_days_only(store):
    """B: out of stock on 1–7 Jun, but it sold on the 5th, so 6 days out → 22 in stock →
    6 ÷ 22 = 0.2727/day. C: out 21–28 Jun (8 days) → 20 in stock → 10 ÷ 20 = 0.5/day, last
    in stock on the 20th. A: 28 ÷ 28 = 1.0."""
    frame = stock.sku_velocity(*_tables(store)[:3], window=Window.of("2025-06-01",
                                                                     "2025-06-28", zone=ZONE))
    rows = frame.set_index("sku")
    assert rows.loc["A", "velocity"] == pytest.approx(1.0)
    assert rows.loc["B", "in_stock_days"] == 22
    assert rows.loc["B", "velocity"] == pytest.approx(6 / 22)
    assert rows.loc["C", "velocity"] == pytest.approx(0.5)
    assert rows.loc["C", "last_in_stock_date"] == pd.Timestamp("2025-06-20")


def test_bestsellers_and_days_of_cover(store):
    """Top 3 by units: A 28, C 10, B 6 (E's 1 unit is fourth). Cover: A 28 ÷ 1.0 = 28 days;
    C 0 available → 0 days, out of stock; B 3 ÷ (6/22) = 11.0 days < 14 → low cover."""
    frame = stock.stock_cover(*_tables(store), as_of=D, bestseller_count=3, low_cover_days=14)
    assert frame.sku.tolist() == ["A", "C", "B"]
    assert frame["rank"].tolist() == [1, 2, 3]
    assert frame.quantity_sold_rolling_28d.tolist() == [28, 10, 6]
    assert frame.days_of_cover.tolist() == [28.0, 0.0, 11.0]
    assert frame.is_out_of_stock.tolist() == [False, True, False]
    assert frame.is_low_cover.tolist() == [False, False, True]


def test_out_of_stock_with_lost_revenue(store):
    """Active and available ≤ 0: C (0.5/day × £5 = £2.50 a day, a bestseller), D (never
    sold: £0), G (oversold −2 on its 25 Jun snapshot). E is a draft; F's snapshot is too old."""
    frame = stock.out_of_stock(*_tables(store), as_of=D, bestseller_count=3)
    assert frame.sku.tolist() == ["C", "D", "G"]
    assert frame.lost_revenue_per_day.tolist() == [2.5, 0.0, 0.0]
    assert frame.is_bestseller.tolist() == [True, False, False]
    assert frame.available.tolist() == [0, 0, -2]
    assert frame.last_in_stock_date.iloc[0] == pd.Timestamp("2025-06-20")


def test_stock_position_uses_the_latest_recent_snapshot(store):
    """C's latest snapshot is the 28th (0 on hand), G's the 25th; F (20th) is too old."""
    frame = stock.stock_position(store.table("inventory_snapshots"), as_of=D).set_index("sku")
    assert "F" not in frame.index
    assert frame.loc["C", "available"] == 0 and frame.loc["A", "available"] == 28
    assert frame.loc["G", "snapshot_date"] == pd.Timestamp("2025-06-25")


def test_incoming_purchase_orders(tiny_store):
    """Open at the end of 28 Jun and due by 12 Jul: p2 (due 25 Jun: 3 days late), p1
    (1 Jul: in 3 days), p5 (2 Jul, received only on the 29th), p7 (no date, listed last).
    p3 is due after the horizon, p4 arrived, p6 was cancelled, p8 was placed on the 29th."""
    def po(po_id, ordered, expected=None, received=None, status="ordered"):
        return {"po_id": po_id, "supplier": "S", "sku": "A", "quantity": 10,
                "ordered_at": at(ordered), "expected_at": at(expected),
                "received_at": at(received), "status": status}
    store = tiny_store({"purchase_orders": [
        po("p1", "2025-06-15 09:00", "2025-07-01 10:00"),
        po("p2", "2025-06-01 09:00", "2025-06-25 10:00"),
        po("p3", "2025-06-01 09:00", "2025-07-20 10:00"),
        po("p4", "2025-06-01 09:00", "2025-06-30 10:00", "2025-06-27 10:00", "received"),
        po("p5", "2025-06-01 09:00", "2025-07-02 10:00", "2025-06-29 10:00", "received"),
        po("p6", "2025-06-01 09:00", "2025-07-01 10:00", status="cancelled"),
        po("p7", "2025-06-20 09:00"),
        po("p8", "2025-06-29 09:00", "2025-07-01 10:00"),
    ]})
    frame = stock.incoming_purchase_orders(store.table("purchase_orders"), as_of=D)
    assert frame.po_id.tolist() == ["p2", "p1", "p5", "p7"]
    assert frame.days_until_expected.tolist()[:3] == [-3, 3, 4]
    assert frame.is_overdue.tolist() == [True, False, False, False]


def test_stock_watch_shows_out_of_stock_bestsellers_in_red_with_a_bar_label(store):
    """On the page, C (a bestseller with 0.0 days of cover) is red like B (low cover), not
    black like A, and the chart labels C and E (0 on hand) "out of stock" at zero instead
    of showing no bar at all."""
    from opslib.views.daily import stock_watch

    table, chart = stock_watch.bestsellers(store, dt.date(2025, 6, 28)).parts
    rows = {title: row for row in table.html.split("<tr>")[2:]
            for title in ("Product A", "Product B", "Product C") if title in row}
    assert ["#c62828" in rows[t] for t in ("Product A", "Product B", "Product C")] == \
        [False, True, True]
    svg = chart.to_svg()
    assert svg.count(">out of stock</text>") == 2 and "#c62828" in svg


@pytest.mark.parametrize(("available", "sold"), [(1, 10), (3, 30), (2, 70)])
def test_journal_and_stock_watch_write_days_of_cover_alike(tiny_store, available, sold):
    """The to-do line for a bestseller running low says its days of cover as the stock-watch
    table does (1 ÷ (10 ÷ 28) = 2.8 days, not "3 day(s)"; 0.8 days, not "1 day(s)")."""
    from opslib.views.daily import journal, stock_watch

    orders = [{"order_id": "o1", "created_at": at("2025-06-10 10:00")}]
    lines = [{"order_id": "o1", "created_at": at("2025-06-10 10:00"), "sku": "L",
              "quantity": sold, "unit_price": 1.0}]
    products = [{"sku": "L", "product_id": "L", "title": "Lamp", "category": "c", "price": 9.0,
                 "status": "active"}]
    built = tiny_store({"orders": orders, "order_lines": lines, "products": products,
                        "inventory_snapshots": [_snap("2025-06-28", "L", available)]})
    day = dt.date(2025, 6, 28)
    cover = stock_watch.bestsellers(built, day).parts[0].html
    shown = re.search(r">([\d.,]+ ?(?:d|days?))</td>", cover).group(1)
    tasks = journal.todo_frame(built, day)[0]
    assert tasks[tasks.area == "Stock"].task.tolist() == [f"Reorder L Lamp: {shown} of cover left"]
