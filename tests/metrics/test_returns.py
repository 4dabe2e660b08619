"""Returns metrics as of the end of Tuesday 10 June 2025 (London; the day ends 11 Jun 00:00)."""

from __future__ import annotations

import pytest
from handbuilt import at

from opslib.metrics import returns as rm
from opslib.metrics.common import count_by_age
from opslib.store import Window

ZONE = "Europe/London"
D = Window.of("2025-06-10", zone=ZONE)


def _return(return_id, requested, *, sku="A", received=None, refunded=None, amount=10.0,
            reason="size", resolution="refund", status="requested"):
    return {"return_id": return_id, "order_id": "o1", "sku": sku,
            "quantity": None if sku is None else 1, "reason": reason,
            "requested_at": at(requested), "received_at": at(received),
            "refunded_at": at(refunded), "refund_amount": amount, "resolution": resolution,
            "status": status}


@pytest.fixture
def store(tiny_store):
    """r1 asked 9 Jun, item not back · r2 asked 1 Jun, back 5 Jun 12:00, unpaid (damaged) ·
    r3 refunded 10 Jun 15:00 (12) · r4 back 6 Jun 10:00, refunded only 11 Jun · r5 rejected
    after arriving 7 Jun · r6 closed when asked 8 Jun · r7 an exchange back 8 Jun ·
    r8 order-level refund of 5 (no SKU, late) asked 10 Jun 16:00 · r9 asked 11 Jun 00:30
    local (23:30 UTC on the 10th) · r10 asked 10 Jan, beyond the 120-day look-back ·
    r11 closed, but its item came back only on 12 Jun · r12 back 10 Jun 11:00 and refunded
    the same day (20)."""
    rows = [
        _return("r1", "2025-06-09 10:00"),
        _return("r2", "2025-06-01 09:00", received="2025-06-05 12:00", reason="damaged",
                status="received"),
        _return("r3", "2025-06-02 09:00", received="2025-06-04 09:00",
                refunded="2025-06-10 15:00", amount=12.0, status="refunded"),
        _return("r4", "2025-06-03 10:00", received="2025-06-06 10:00",
                refunded="2025-06-11 09:00", status="refunded"),
        _return("r5", "2025-06-04 10:00", received="2025-06-07 10:00", status="rejected"),
        _return("r6", "2025-06-08 10:00", status="closed"),
        _return("r7", "2025-06-05 12:00", received="2025-06-08 12:00", resolution="exchange",
                status="received"),
        _return("r8", "2025-06-10 16:00", sku=None, amount=5.0, reason="late", resolution=None),
        _return("r9", "2025-06-11 00:30"),
        _return("r10", "2025-01-10 10:00"),
        _return("r11", "2025-06-09 08:00", received="2025-06-12 10:00", reason="changed_mind",
                status="closed"),
        _return("r12", "2025-06-07 10:00", received="2025-06-10 11:00",
                refunded="2025-06-10 15:00", amount=20.0, status="refunded"),
    ]
    orders = [{"order_id": "o1", "order_number": "#1001", "created_at": at("2025-05-30 10:00")}]
    return tiny_store({"returns": rows, "orders": orders})


def test_open_returns_at_the_end_of_the_day(store):
    """Open at 11 Jun 00:00, oldest first: r2, r4 (refunded only on the 11th), r7, r11
    (closed only once its item came back on the 12th), r1, r8. Ages: r2 9 d 15 h → 9;
    r4 7 d 14 h → 7; r7 5 d 12 h → 5; r11 1 d 16 h → 1; r1 1 d 14 h → 1; r8 8 h → 0."""
    frame = rm.open_returns(store.table("returns"), store.table("orders"), as_of=D)
    assert frame.return_id.tolist() == ["r2", "r4", "r7", "r11", "r1", "r8"]
    assert frame.age_days.tolist() == [9, 7, 5, 1, 1, 0]
    assert frame.stage.tolist() == ["received", "received", "received", "awaiting item",
                                    "awaiting item", "no item"]
    assert frame.is_refund_due.tolist() == [True, True, False, False, False, True]
    assert set(frame.order_number) == {"#1001"}


def test_refunds_due_longest_waiting_first(store):
    """Due: r2 back since 5 Jun 12:00 → 5 d 12 h = 5.5 days; r4 since 6 Jun 10:00 →
    110 h = 4.6 days; r8 (no item) asked 10 Jun 16:00 → 8 h = 0.3 days. The exchange r7 is
    not money owed."""
    frame = rm.refunds_due(store.table("returns"), store.table("orders"), as_of=D)
    assert frame.return_id.tolist() == ["r2", "r4", "r8"]
    assert frame.days_waiting.tolist() == [5.5, 4.6, 0.3]
    assert frame.refund_amount.sum() == 25.0


def test_open_returns_by_reason_and_age(store):
    """size: r4 (4–7), r7 (4–7), r1 (0–1) = 3; damaged r2 (>7); changed_mind r11 (0–1);
    late r8 (0–1)."""
    table = count_by_age(rm.open_returns(store.table("returns"), store.table("orders"),
                                         as_of=D), by="reason")
    first = table.iloc[0].to_dict()
    assert first == {"reason": "size", "age_0_to_1_days": 1, "age_2_to_3_days": 0,
                     "age_4_to_7_days": 2, "age_over_7_days": 0, "count_total": 3}
    assert table.count_total.sum() == 6


def test_returns_received_on_the_day(store):
    """Back on 10 Jun: r12 (11:00), refunded at 15:00 the same day."""
    frame = rm.returns_received(store.table("returns"), store.table("orders"), window=D)
    assert frame.return_id.tolist() == ["r12"]
    assert frame.is_refunded.tolist() == [True]


def test_daily_returns_counts_each_event_on_its_own_day(store):
    """10 Jun: asked r8 (r9 is 11 Jun locally) = 1; received r12 = 1; refunded r3 12 +
    r12 20 = 2 refunds, 32. 11 Jun: asked r9; refunded r4 (10). 12 Jun: received r11."""
    frame = rm.daily_returns(store.table("returns"),
                             window=Window.of("2025-06-10", "2025-06-12", zone=ZONE))
    assert frame.count_returns_requested.tolist() == [1, 1, 0]
    assert frame.count_returns_received.tolist() == [1, 0, 1]
    assert frame.count_refunds.tolist() == [2, 1, 0]
    assert frame.returns_amount.tolist() == [32.0, 10.0, 0.0]


def test_empty_day(store):
    """1 May: nothing asked, received or refunded — zeros, not gaps."""
    frame = rm.daily_returns(store.table("returns"), window=Window.of("2025-05-01", zone=ZONE))
    assert frame.iloc[0, 1:].tolist() == [0, 0, 0, 0.0]
