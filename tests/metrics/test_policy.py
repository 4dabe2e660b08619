"""Shipping and returns policy metrics on tiny hand-built stores (opslib.metrics.policy)."""

from __future__ import annotations

import pytest

from opslib.metrics import policy
from opslib.metrics.months import month_of

from handbuilt import at

ZONE = "Europe/London"
JUNE = month_of("2025-06-15", zone=ZONE)


def test_free_shipping_what_if_golden(tiny_store):
    """Order values 20, 40, 60, 80 paying shipping 4, 4, 0, 4. From £50: the orders of 60
    and 80 → 2 of 4 = 50%; shipping given up 0 + 4 = £4; half already ship free; their
    parcels cost us 3 + 5 = £8."""
    values = {"o1": (20.0, 4.0, 2.0), "o2": (40.0, 4.0, 2.5), "o3": (60.0, 0.0, 3.0),
              "o4": (80.0, 4.0, 5.0)}
    when = at("2025-06-10 12:00")
    orders = [{"order_id": o, "order_number": o, "created_at": when, "shipping_amount": ship}
              for o, (_, ship, _) in values.items()]
    lines = [{"order_id": o, "line_number": 1, "created_at": when, "sku": "A", "quantity": 1,
              "unit_price": value} for o, (value, _, _) in values.items()]
    shipments = [{"shipment_id": f"s{o}", "order_id": o, "carrier": "C", "service": "std",
                  "shipped_at": at("2025-06-11 10:00"), "shipping_cost": cost}
                 for o, (_, _, cost) in values.items()]
    store = tiny_store({"orders": orders, "order_lines": lines, "shipments": shipments})
    t = store.table
    frame = policy.free_shipping_what_if(t("orders"), t("order_lines"), t("shipments"),
                                         window=JUNE, thresholds=[50, 100])
    first, second = frame.iloc[0], frame.iloc[1]
    assert (first.count_orders_above, first.share_of_orders_above) == (2, 0.5)
    assert (first.shipping_charged_above, first.carrier_cost_above) == (4.0, 8.0)
    assert first.share_already_free == 0.5
    assert second.count_orders_above == 0 and second.share_of_orders_above == 0.0


def test_late_delivery_rate_golden(tiny_store):
    """Promised in June: s1 delivered on time, s2 a day late, s3 never delivered → 2 of 3
    late. s4 is promised in July: not June's."""
    rows = [("s1", "2025-06-10 12:00", "2025-06-09 12:00"),
            ("s2", "2025-06-20 12:00", "2025-06-21 12:00"),
            ("s3", "2025-06-25 12:00", None),
            ("s4", "2025-07-02 12:00", None)]
    shipments = [{"shipment_id": s, "order_id": "o", "carrier": "C", "service": "std",
                  "shipped_at": at("2025-06-05 10:00"), "promised_at": at(p),
                  "delivered_at": at(d)} for s, p, d in rows]
    store = tiny_store({"shipments": shipments})
    figures = policy.late_deliveries(store.table("shipments"), window=JUNE)
    assert figures == {"count_promised": 3, "count_late": 2,
                       "late_delivery_rate": pytest.approx(2 / 3)}
    by_carrier = policy.shipping_by_carrier(store.table("shipments"), window=JUNE)
    assert by_carrier.iloc[0].late_delivery_rate == pytest.approx(2 / 3)


def test_return_reasons_lists_every_reason(tiny_store):
    """Two 'damaged' and one 'size' request in June: damaged 2/3, size 1/3, others 0."""
    returns = [{"return_id": r, "order_id": "o", "reason": reason, "quantity": 1,
                "requested_at": at("2025-06-12 09:00"), "refund_amount": 10.0}
               for r, reason in (("r1", "damaged"), ("r2", "damaged"), ("r3", "size"))]
    store = tiny_store({"returns": returns})
    frame = policy.return_reasons(store.table("returns"), window=JUNE).set_index("reason")
    assert frame.loc["damaged", "share_of_returns"] == pytest.approx(2 / 3)
    assert frame.loc["wrong_item", "count_returns"] == 0
    assert len(frame) == 7
