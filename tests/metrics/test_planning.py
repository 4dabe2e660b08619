"""Reorder plan and ABC classes on a tiny hand-built store (opslib.metrics.planning)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from opslib.metrics import forecast as fc
from opslib.metrics import planning
from opslib.store import Window

from handbuilt import at

ZONE = "Europe/London"
D = Window.of("2025-06-30", zone=ZONE)


@pytest.fixture
def plan_store(tiny_store):
    """A sells 2 a day and B 1 a day, 3–30 June; both from supplier S, lead time 7 days.
    On 30 June: A has 10 on hand, B 100; nothing committed or incoming."""
    orders, lines = [], []
    for i in range(28):
        day = dt.date(2025, 6, 3) + dt.timedelta(days=i)
        for sku, units in (("A", 2), ("B", 1)):
            oid, when = f"{sku}{i}", at(f"{day} 12:00")
            orders.append({"order_id": oid, "order_number": oid, "created_at": when})
            lines.append({"order_id": oid, "line_number": 1, "created_at": when, "sku": sku,
                          "quantity": units, "unit_price": 10.0})
    products = [{"sku": s, "product_id": s, "title": s, "category": "c", "price": 10.0,
                 "unit_cost": 4.0, "status": "active", "supplier": "S", "lead_time_days": 7}
                for s in ("A", "B")]
    snaps = [{"snapshot_date": dt.date(2025, 6, 30), "sku": "A", "on_hand": 10,
              "committed": 0, "incoming": 0},
             {"snapshot_date": dt.date(2025, 6, 30), "sku": "B", "on_hand": 100,
              "committed": 0, "incoming": 0}]
    return tiny_store({"orders": orders, "order_lines": lines, "products": products,
                       "inventory_snapshots": snaps})


def test_reorder_plan_golden(plan_store):
    """A: velocity 2, safety 2 × 7 = 14, reorder point 2 × 7 + 14 = 28; position 10 ≤ 28
    → order now (1 July): forecast over 7 + 28 days = 70 − 10 available − 0 incoming = 60
    units at £4 = £240. B: velocity 1, reorder point 14; 100 − 1 a day reaches 14 after 86
    days, beyond the 30-day plan → not listed."""
    t = plan_store.table
    history = fc.demand_history(t("orders"), t("order_lines"), t("inventory_snapshots"),
                                t("products"), None, window=Window.of("2025-06-01",
                                                                      "2025-06-30", zone=ZONE))
    plan = planning.reorder_plan(history, t("products"), t("inventory_snapshots"), t("orders"),
                                 t("order_lines"), None, as_of=D, safety_days=7, cover_days=28)
    assert plan.sku.tolist() == ["A"]
    row = plan.iloc[0]
    assert (row.velocity, row.safety_stock, row.reorder_point) == (2.0, 14.0, 28.0)
    assert row.order_by_date == pd.Timestamp("2025-07-01") and row.is_due_now
    assert (row.suggested_quantity, row.order_cost) == (60, 240.0)
    assert planning.plan_by_supplier(plan).iloc[0].order_cost == 240.0


def test_order_later_in_the_month():
    """Position 20, 1 a day, reorder point 12: reached on day 8 (20 − 8 = 12); order
    then forecast 7 + 14 = 21 − 12 = 9 units."""
    import numpy as np
    assert planning.order_schedule(20, np.full(60, 1.0), reorder_point=12, lead_days=7,
                                   cover_days=14, horizon_days=30) == (8, 9)


def test_abc_classes_80_15_5(tiny_store):
    """Gross sales 50, 30, 10, 6, 4 of 100: running share before each 0, .5, .8, .9, .96
    → A, A, B, B, C (A while the share before is under 80%, B under 95%)."""
    amounts = {"P1": 50.0, "P2": 30.0, "P3": 10.0, "P4": 6.0, "P5": 4.0}
    when = at("2025-06-10 12:00")
    orders = [{"order_id": s, "order_number": s, "created_at": when} for s in amounts]
    lines = [{"order_id": s, "line_number": 1, "created_at": when, "sku": s, "quantity": 1,
              "unit_price": v} for s, v in amounts.items()]
    products = [{"sku": s, "product_id": s, "title": s, "category": "c", "price": 1.0,
                 "status": "active"} for s in amounts]
    store = tiny_store({"orders": orders, "order_lines": lines, "products": products})
    t = store.table
    classes = planning.abc_classes(t("orders"), t("order_lines"), t("products"), as_of=D)
    assert classes.abc_class.tolist() == ["A", "A", "B", "B", "C"]
    summary = planning.abc_summary(classes).set_index("abc_class")
    assert summary.gross_sales.tolist() == [80.0, 16.0, 4.0]
