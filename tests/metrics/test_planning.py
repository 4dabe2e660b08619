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
    """Four weeks of history: too short for a backtest, so the lead-time error is that of
    Poisson demand. A: forecast 2 a day, 14 over the 7-day lead time, σ = √14 = 3.742,
    safety = 1.645 × 3.742 = 6.154 (95%), reorder point 14 + 6.154 = 20.154; position 10
    ≤ 20.154 → order now (1 July): forecast over 7 + 28 days = 70 + 6.154 − 10 available −
    0 incoming = 66.154 → 67 units at £4 = £268. B: 1 a day, reorder point 7 + 1.645 × √7
    = 11.35; 100 − 1 a day reaches it after 89 days, beyond the 30-day plan → not listed."""
    t = plan_store.table
    history = fc.demand_history(t("orders"), t("order_lines"), t("inventory_snapshots"),
                                t("products"), None, window=Window.of("2025-06-01",
                                                                      "2025-06-30", zone=ZONE))
    plan = planning.reorder_plan(history, t("products"), t("inventory_snapshots"), t("orders"),
                                 t("order_lines"), None, as_of=D, service_level=0.95,
                                 cover_days=28)
    assert plan.sku.tolist() == ["A"]
    row = plan.iloc[0]
    assert row.velocity == 2.0 and row.safety_basis == "Poisson"
    assert row.safety_stock == pytest.approx(6.1545, abs=1e-4)
    assert row.reorder_point == pytest.approx(20.1545, abs=1e-4)
    assert row.order_by_date == pd.Timestamp("2025-07-01") and row.is_due_now
    assert (row.suggested_quantity, row.order_cost) == (67, 268.0)
    assert planning.plan_by_supplier(plan).iloc[0].order_cost == 268.0


def test_order_later_in_the_month():
    """Position 20, 1 a day, safety 5: reorder point 7 + 5 = 12, reached on day 8 (20 − 8 =
    12); order then forecast 7 + 14 = 21 + 5 safety − 12 = 14 units."""
    import numpy as np
    assert planning.order_schedule(20, np.full(60, 1.0), safety_stock=5, lead_days=7,
                                   cover_days=14, horizon_days=30) == (8, 14)


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



def test_purchase_orders_are_the_plan_as_lines_by_supplier():
    """Plan lines of suppliers T (by 3 July), S (by 1 and 9 July) and none (by 2 July):
    S's lines first (its first order-by date is the soonest), then the unnamed supplier,
    then T; a line without a unit cost has no total and leaves its supplier's total alone."""
    plan = pd.DataFrame({
        "sku": ["A", "B", "C", "D"], "title": ["Mug", "Cup", "Jug", "Pot"],
        "supplier": ["S", "T", None, "S"], "suggested_quantity": [60, 5, 2, 10],
        "unit_cost": [4.0, 3.0, float("nan"), 1.5], "order_cost": [240.0, 15.0, float("nan"),
                                                                   15.0],
        "order_by_date": pd.to_datetime(["2025-07-01", "2025-07-03", "2025-07-02",
                                         "2025-07-09"])})
    lines = planning.purchase_orders(plan)
    assert lines.columns.tolist() == ["supplier", "sku", "title", "quantity", "unit_cost",
                                      "line_total", "order_by_date", "supplier_total"]
    assert lines[["supplier", "sku", "quantity"]].values.tolist() == [
        ["S", "A", 60], ["S", "D", 10], ["(no supplier)", "C", 2], ["T", "B", 5]]
    assert lines.supplier_total.tolist() == [255.0, 255.0, 0.0, 15.0]
    assert pd.isna(lines.line_total[2])
    assert planning.purchase_orders(plan.iloc[:0]).empty


def test_the_inventory_report_hands_the_purchase_orders_over(plan_store):
    """The report's section hands the whole reorder plan of D over as purchase_orders."""
    from opslib.exports import LIST_MIME
    from opslib.views.monthly import data, inventory_planning

    day = dt.date(2025, 6, 30)
    expected = planning.purchase_orders(data.reorder_plan(plan_store, day))
    block = inventory_planning.purchase_orders(plan_store, day).parts[0]
    handed = block.extra[LIST_MIME]
    assert handed["name"] == "purchase_orders" and len(expected) > 0
    assert handed["rows"] == [[v.date().isoformat() if isinstance(v, pd.Timestamp) else v
                               for v in row] for row in expected.values.tolist()]
    assert all(len(row[6]) == 10 for row in handed["rows"])  # the order-by day, YYYY-MM-DD
