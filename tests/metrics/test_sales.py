"""Sales metrics on a tiny hand-built store (zone Europe/London; June is UTC+1)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from opslib.errors import SchemaViolation
from opslib.metrics import sales
from opslib.store import Window

from handbuilt import at

ZONE = "Europe/London"


def _order(order_id, created, *, cancelled=None, discount=0.0, shipping=0.0, tax=0.0):
    return {"order_id": order_id, "order_number": f"#{order_id}", "created_at": at(created),
            "cancelled_at": at(cancelled), "discount_amount": discount,
            "shipping_amount": shipping, "tax_amount": tax}


def _line(order_id, number, created, sku, quantity, price):
    return {"order_id": order_id, "line_number": number, "created_at": at(created), "sku": sku,
            "quantity": quantity, "unit_price": price}


@pytest.fixture
def june_store(tiny_store):
    """Five orders around 1–2 June 2025 and three returns.

    o1 1 Jun 09:00: A 2×10 + B 1×15 = 35, discount 5, shipping 4.50
    o2 1 Jun 23:30 local (22:30 UTC): A 1×10 = 10 — still 1 June locally
    o3 2 Jun 00:30 local (23:30 UTC on 1 Jun): B 3×15 = 45, discount 4.50 — 2 June locally
    o4 1 Jun 10:00, cancelled 11:00 the same day: A 5×10 — never counts
    o5 1 Jun 12:00, cancelled 3 Jun: C 1×8 — counts on 1 June (a later cancel is not a
       rewrite of history)
    r1 refunded 2 Jun 10:00, 10; r2 refunded 2 Jun 00:15 local (23:15 UTC 1 Jun), 5;
    r3 requested, not refunded (20) — no money back yet, so not booked.
    """
    orders = [
        _order("o1", "2025-06-01 09:00", discount=5.0, shipping=4.5),
        _order("o2", "2025-06-01 23:30"),
        _order("o3", "2025-06-02 00:30", discount=4.5),
        _order("o4", "2025-06-01 10:00", cancelled="2025-06-01 11:00"),
        _order("o5", "2025-06-01 12:00", cancelled="2025-06-03 09:00"),
    ]
    lines = [
        _line("o1", 1, "2025-06-01 09:00", "A", 2, 10.0),
        _line("o1", 2, "2025-06-01 09:00", "B", 1, 15.0),
        _line("o2", 1, "2025-06-01 23:30", "A", 1, 10.0),
        _line("o3", 1, "2025-06-02 00:30", "B", 3, 15.0),
        _line("o4", 1, "2025-06-01 10:00", "A", 5, 10.0),
        _line("o5", 1, "2025-06-01 12:00", "C", 1, 8.0),
    ]
    returns = [
        {"return_id": "r1", "order_id": "o2", "requested_at": at("2025-06-01 23:50"),
         "refunded_at": at("2025-06-02 10:00"), "refund_amount": 10.0, "status": "refunded"},
        {"return_id": "r2", "order_id": "o1", "requested_at": at("2025-06-01 20:00"),
         "refunded_at": at("2025-06-02 00:15"), "refund_amount": 5.0, "status": "refunded"},
        {"return_id": "r3", "order_id": "o1", "requested_at": at("2025-06-02 08:00"),
         "refund_amount": 20.0, "status": "requested"},
    ]
    return tiny_store({"orders": orders, "order_lines": lines, "returns": returns})


def _daily(store, start, end=None):
    return sales.daily_sales(store.table("orders"), store.table("order_lines"),
                             store.table("returns"), window=Window.of(start, end, zone=ZONE))


def test_daily_sales_golden_values(june_store):
    """1 June: o1 + o2 + o5 = 3 orders; gross 35 + 10 + 8 = 53; discounts 5; no refunds;
    net 53 − 5 = 48; total 48 + 4.50 shipping = 52.50; units 2 + 1 + 1 + 1 = 5;
    AOV (53 − 5) ÷ 3 = 16.
    2 June: o3 = 1 order; gross 45; discounts 4.50; returns r1 10 + r2 5 = 15;
    net 45 − 4.50 − 15 = 25.50; total 25.50; units 3; AOV (45 − 4.50) ÷ 1 = 40.50.
    """
    frame = _daily(june_store, "2025-06-01", "2025-06-02").set_index("date_day")
    first = frame.loc[pd.Timestamp("2025-06-01")]
    assert (first.count_orders, first.gross_sales, first.discounts) == (3, 53.0, 5.0)
    assert (first.returns_amount, first.net_sales, first.total_sales) == (0.0, 48.0, 52.5)
    assert (first.quantity_sold, first.avg_order_value) == (5, 16.0)
    second = frame.loc[pd.Timestamp("2025-06-02")]
    assert (second.count_orders, second.gross_sales, second.discounts) == (1, 45.0, 4.5)
    assert (second.returns_amount, second.net_sales, second.total_sales) == (15.0, 25.5, 25.5)
    assert (second.quantity_sold, second.avg_order_value) == (3, 40.5)
    assert list(frame.reset_index().columns) == list(sales.DAILY_SALES_COLUMNS)


def test_empty_day_is_a_row_of_zeros_and_an_empty_aov(june_store):
    """3 June has no orders and no refunds: counts and money 0, AOV empty (0 ÷ 0)."""
    frame = _daily(june_store, "2025-06-01", "2025-06-04")
    assert len(frame) == 4
    empty = frame.iloc[2]
    assert empty.date_day == pd.Timestamp("2025-06-03")
    assert (empty.count_orders, empty.gross_sales, empty.net_sales, empty.quantity_sold) == \
        (0, 0.0, 0.0, 0)
    assert math.isnan(empty.avg_order_value)
    assert frame.count_orders.dtype == "int64" and frame.quantity_sold.dtype == "int64"


def test_weekly_totals_are_the_sum_of_days(june_store):
    """Over 1–3 June: 4 orders, gross 98, discounts 9.50, returns 15, net 73.50;
    AOV from the sums (98 − 9.50) ÷ 4 = 22.125, not the mean of daily AOVs."""
    window_totals = sales.totals(_daily(june_store, "2025-06-01", "2025-06-03"))
    assert window_totals["count_orders"] == 4
    assert window_totals["gross_sales"] == 98.0
    assert window_totals["net_sales"] == 73.5
    assert window_totals["avg_order_value"] == pytest.approx(22.125)
    single_days = [sales.totals(_daily(june_store, d)) for d in
                   ("2025-06-01", "2025-06-02", "2025-06-03")]
    assert sum(t["count_orders"] for t in single_days) == window_totals["count_orders"]
    assert sum(t["net_sales"] for t in single_days) == window_totals["net_sales"]


def test_totals_of_an_empty_window_have_no_aov(june_store):
    """No orders: count 0, gross 0, AOV None (undefined), not 0."""
    empty = sales.totals(_daily(june_store, "2025-07-01"))
    assert empty["count_orders"] == 0 and empty["gross_sales"] == 0.0
    assert empty["avg_order_value"] is None


def test_order_at_23_30_local_belongs_to_that_local_day(june_store):
    """o2 at 23:30 BST (22:30 UTC) is a 1 June order; o3 at 00:30 BST on 2 June (23:30 UTC on
    1 June) is a 2 June order — by the store's calendar, not UTC's."""
    first = sales.counted_orders(june_store.table("orders"),
                                 window=Window.of("2025-06-01", zone=ZONE)).to_pandas()
    assert sorted(first.order_id) == ["o1", "o2", "o5"]


def test_dst_days_have_23_and_25_hours(tiny_store):
    """London: 30 Mar 2025 has 23 hours, 26 Oct 2025 has 25.
    30 Mar: 00:30 UTC (00:30 GMT) and 22:59 UTC (23:59 BST) count; 23:00 UTC is 00:00 BST on
    31 Mar and 29 Mar 23:59 UTC is 23:59 GMT on 29 Mar — neither counts. → 2 orders.
    26 Oct: 25 Oct 23:30 UTC (00:30 BST on 26th) and 26 Oct 23:30 UTC (23:30 GMT) count;
    27 Oct 00:00 UTC (00:00 GMT on 27th) does not. → 2 orders."""
    utc = [("a", "2025-03-30 00:30"), ("b", "2025-03-30 22:59"), ("c", "2025-03-30 23:00"),
           ("d", "2025-03-29 23:59"), ("e", "2025-10-25 23:30"), ("f", "2025-10-26 23:30"),
           ("g", "2025-10-27 00:00")]
    orders = [{"order_id": i, "created_at": pd.Timestamp(t, tz="UTC")} for i, t in utc]
    lines = [{"order_id": i, "created_at": pd.Timestamp(t, tz="UTC"), "sku": "A",
              "quantity": 1, "unit_price": 1.0} for i, t in utc]
    store = tiny_store({"orders": orders, "order_lines": lines})
    for day, expected in (("2025-03-30", 2), ("2025-10-26", 2), ("2025-03-31", 1)):
        frame = sales.daily_sales(store.table("orders"), store.table("order_lines"), None,
                                  window=Window.of(day, zone=ZONE))
        assert frame.count_orders.iloc[0] == expected, day
        assert frame.gross_sales.iloc[0] == expected, day


def test_no_returns_table_books_no_returns(june_store):
    """Without returns data, 2 June net = 45 − 4.50 = 40.50 (no refunds known)."""
    frame = sales.daily_sales(june_store.table("orders"), june_store.table("order_lines"),
                              None, window=Window.of("2025-06-02", zone=ZONE))
    assert frame.returns_amount.iloc[0] == 0.0 and frame.net_sales.iloc[0] == 40.5


def test_sales_by_sku_ranks_best_sellers(june_store):
    """1–2 June: B = 1 + 3 = 4 units (gross 60, 2 orders); A = 2 + 1 = 3 units (gross 30,
    2 orders; the cancelled o4's 5 units do not count); C = 1 unit (gross 8)."""
    frame = sales.sales_by_sku(june_store.table("orders"), june_store.table("order_lines"),
                               window=Window.of("2025-06-01", "2025-06-02", zone=ZONE))
    assert frame.to_dict("records") == [
        {"sku": "B", "quantity_sold": 4, "gross_sales": 60.0, "count_orders": 2},
        {"sku": "A", "quantity_sold": 3, "gross_sales": 30.0, "count_orders": 2},
        {"sku": "C", "quantity_sold": 1, "gross_sales": 8.0, "count_orders": 1},
    ]


def test_a_table_without_its_columns_is_a_schema_error(june_store):
    """Passing the wrong table names the missing column instead of failing deep in SQL."""
    with pytest.raises(SchemaViolation, match="cancelled_at"):
        sales.counted_orders(june_store.table("order_lines"),
                             window=Window.of("2025-06-01", zone=ZONE))
