"""Seasonal products for the plan of December 2025 (report month November 2025, London)."""

from __future__ import annotations

import pytest
from handbuilt import at

from opslib.metrics import marketing_plan as plan
from opslib.metrics.months import month_of

NOVEMBER = month_of("2025-11-30", zone="Europe/London")


def _store(tiny_store, first_order: str):
    """S sold 2 units on 20 Nov 2024 and 10 on 10 Dec 2024 (a Christmas product); T sold
    8 in December 2024 and none in November. The store's first order is `first_order`."""
    sales = [(first_order, "X", 1), ("2024-11-20 10:00", "S", 2), ("2024-12-10 10:00", "S", 10),
             ("2024-12-12 10:00", "T", 8)]
    sales = [row for row in sales if row[0] >= first_order]
    orders = [{"order_id": f"o{i}", "created_at": at(when)} for i, (when, _, _) in
              enumerate(sales)]
    lines = [{"order_id": f"o{i}", "created_at": at(when), "sku": sku, "quantity": n,
              "unit_price": 5.0} for i, (when, sku, n) in enumerate(sales)]
    products = [{"sku": s, "title": f"Product {s}", "category": "c", "status": "active"}
                for s in "STX"]
    return tiny_store({"orders": orders, "order_lines": lines, "products": products})


@pytest.mark.parametrize("first_order", ["2024-10-01 09:00", "2024-11-01 00:30"])
def test_seasonal_skus_with_a_year_of_history(tiny_store, first_order):
    """History reaches 1 November 2024: S (10 ÷ 31 a day against 2 ÷ 30: lift 4.84) and T
    (nothing in November, 8 in December) are seasonal, T's 8 extra units after S's 8."""
    store = _store(tiny_store, first_order)
    frame = plan.seasonal_skus(store.table("orders"), store.table("order_lines"),
                               store.table("products"), month=NOVEMBER)
    assert frame.sku.tolist() == ["S", "T"]
    assert frame.seasonal_lift.iloc[0] == pytest.approx(round((10 / 31) / (2 / 30), 2))


@pytest.mark.parametrize("first_order", ["2024-11-02 09:00", "2024-12-01 09:00"])
def test_seasonal_skus_are_empty_without_a_year_of_history(tiny_store, first_order):
    """Data from 2 November or 1 December 2024: November 2024 is not a full baseline, so
    nothing is called seasonal (T's December sales would otherwise look like a jump from 0)."""
    store = _store(tiny_store, first_order)
    frame = plan.seasonal_skus(store.table("orders"), store.table("order_lines"),
                               store.table("products"), month=NOVEMBER)
    assert frame.empty
    assert list(frame.columns) == ["sku", "title", "category",
                                   "quantity_sold_this_month_last_year",
                                   "quantity_sold_next_month_last_year", "seasonal_lift"]
