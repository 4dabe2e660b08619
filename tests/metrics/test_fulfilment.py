"""Fulfilment metrics as of the end of Tuesday 10 June 2025 (London, UTC+1), 24 h ship-by.

The end of D is 11 June 00:00 local; ages and lateness are measured to that instant.
"""

from __future__ import annotations

import pandas as pd
import pytest
from handbuilt import at
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opslib.metrics import fulfilment
from opslib.store import Window

ZONE = "Europe/London"
D = Window.of("2025-06-10", zone=ZONE)


def _order(order_id, placed, *, cancelled=None, status="unfulfilled"):
    return {"order_id": order_id, "order_number": f"#{order_id}", "created_at": at(placed),
            "cancelled_at": at(cancelled), "fulfillment_status": status}


def _line(order_id, number, placed, sku, quantity):
    return {"order_id": order_id, "line_number": number, "created_at": at(placed), "sku": sku,
            "quantity": quantity, "unit_price": 10.0}


def _parcel(shipment_id, order_id, shipped, *, promised=None, delivered=None,
            tracking_sent=None, tracking="TN"):
    return {"shipment_id": shipment_id, "order_id": order_id, "carrier": "Royal Mail",
            "service": "standard", "tracking_number": tracking, "shipped_at": at(shipped),
            "promised_at": at(promised), "delivered_at": at(delivered),
            "tracking_sent_at": at(tracking_sent)}


@pytest.fixture
def store(tiny_store):
    """Orders a1…a10 to test what is open; b1…b7 are shipped orders whose parcels matter.

    a1 10 Jun 15:00 (A×2, B×1) open · a2 8 Jun 10:00 (A×1), shipped 11 Jun → open at D ·
    a3 1 Jun 12:00 (B×4) open · a4 shipped 10 Jun · a5 cancelled 10 Jun · a6 9 Jun 14:00
    (C×1), cancelled only on 12 Jun → open at D · a7 fulfilled without a parcel (collected) ·
    a8 10 Jun 23:30 local (A×1) open · a9 1 Mar, beyond the 60-day look-back · a10 11 Jun
    00:30 local (23:30 UTC on the 10th) → after D.
    """
    orders = [
        _order("a1", "2025-06-10 15:00"), _order("a2", "2025-06-08 10:00"),
        _order("a3", "2025-06-01 12:00"), _order("a4", "2025-06-09 12:00"),
        _order("a5", "2025-06-09 13:00", cancelled="2025-06-10 09:00"),
        _order("a6", "2025-06-09 14:00", cancelled="2025-06-12 09:00"),
        _order("a7", "2025-06-05 10:00", status="fulfilled"),
        _order("a8", "2025-06-10 23:30"), _order("a9", "2025-03-01 10:00"),
        _order("a10", "2025-06-11 00:30"),
    ] + [_order(f"b{i}", placed, status="fulfilled") for i, placed in enumerate(
        ["2025-06-02 09:00", "2025-06-05 09:00", "2025-06-03 09:00", "2025-06-02 10:00",
         "2025-06-10 10:00", "2025-05-19 09:00", "2025-06-08 09:00"], start=1)]
    lines = [
        _line("a1", 1, "2025-06-10 15:00", "A", 2), _line("a1", 2, "2025-06-10 15:00", "B", 1),
        _line("a2", 1, "2025-06-08 10:00", "A", 1), _line("a3", 1, "2025-06-01 12:00", "B", 4),
        _line("a4", 1, "2025-06-09 12:00", "A", 7), _line("a5", 1, "2025-06-09 13:00", "A", 9),
        _line("a6", 1, "2025-06-09 14:00", "C", 1), _line("a7", 1, "2025-06-05 10:00", "C", 3),
        _line("a8", 1, "2025-06-10 23:30", "A", 1), _line("a9", 1, "2025-03-01 10:00", "B", 2),
        _line("a10", 1, "2025-06-11 00:30", "A", 5),
    ]
    parcels = [
        _parcel("s2", "a2", "2025-06-11 09:00"),
        _parcel("s4", "a4", "2025-06-10 08:00", promised="2025-06-12 18:00",
                tracking_sent="2025-06-10 08:05"),
        _parcel("late1", "b1", "2025-06-03 10:00", promised="2025-06-07 12:00"),
        _parcel("late2", "b2", "2025-06-06 10:00", promised="2025-06-09 12:00",
                delivered="2025-06-12 10:00", tracking_sent="2025-06-06 10:30"),
        _parcel("ontime", "b3", "2025-06-04 10:00", promised="2025-06-07 12:00",
                delivered="2025-06-06 10:00", tracking_sent="2025-06-04 10:05"),
        _parcel("was_late", "b4", "2025-06-03 10:00", promised="2025-06-05 12:00",
                delivered="2025-06-08 10:00", tracking_sent="2025-06-03 10:05"),
        _parcel("tr", "b5", "2025-06-10 22:00", tracking_sent="2025-06-11 07:00"),
        _parcel("old", "b6", "2025-05-20 09:00", promised="2025-05-23 12:00"),
        _parcel("notrack", "b7", "2025-06-09 09:00", tracking=None),
    ]
    returns = [
        {"return_id": "w1", "order_id": "a4", "sku": "A", "quantity": 1, "reason": "wrong_item",
         "requested_at": at("2025-06-10 10:00")},
        {"return_id": "w2", "order_id": "a4", "sku": "A", "quantity": 1, "reason": "size",
         "requested_at": at("2025-06-10 11:00")},
        {"return_id": "w3", "order_id": "b1", "sku": "B", "quantity": 1, "reason": "wrong_item",
         "requested_at": at("2025-06-02 11:00")},
    ]
    products = [{"sku": s, "product_id": s, "title": f"Product {s}", "category": "c"}
                for s in "ABC"]
    return tiny_store({"orders": orders, "order_lines": lines, "shipments": parcels,
                       "returns": returns, "products": products})


def _open(store):
    return fulfilment.open_orders(store.table("orders"), store.table("order_lines"),
                                  store.table("shipments"), as_of=D, ship_within_hours=24)


def test_open_orders_as_of_the_end_of_the_day(store):
    """Open at 11 Jun 00:00: a3, a2, a6, a1, a8 (oldest first). Ages to the end of D:
    a3 9 d 12 h = 228 h → 9 days; a2 2 d 14 h = 62 h → 2; a6 34 h → 1; a1 9 h → 0;
    a8 0.5 h → 0. Past the 24 h promise by 228 − 24 = 204, 62 − 24 = 38, 34 − 24 = 10 h;
    a1 and a8 are not due yet (0)."""
    frame = _open(store)
    assert frame.order_id.tolist() == ["a3", "a2", "a6", "a1", "a8"]
    assert frame.age_days.tolist() == [9, 2, 1, 0, 0]
    assert frame.age_bucket.tolist() == [">7 days", "2–3 days", "0–1 days", "0–1 days",
                                         "0–1 days"]
    assert frame.hours_past_ship_by.tolist() == pytest.approx([204, 38, 10, 0, 0])
    assert frame.is_past_ship_by.tolist() == [True, True, True, False, False]
    assert frame.quantity.tolist() == [4, 1, 1, 3, 1]
    assert str(frame.created_at.dt.tz) == ZONE
    assert frame.created_at.iloc[-1] == pd.Timestamp("2025-06-10 23:30", tz=ZONE)


def test_nothing_open_before_the_first_order(store):
    """On 1 May no order had been placed yet (a9 is older but outside a 7-day look-back)."""
    frame = fulfilment.open_orders(store.table("orders"), store.table("order_lines"),
                                   store.table("shipments"),
                                   as_of=Window.of("2025-05-01", zone=ZONE),
                                   ship_within_hours=24, lookback_days=7)
    assert frame.empty and list(frame.columns)[:2] == ["order_id", "order_number"]


def test_pick_list_by_sku_oldest_first(store):
    """Lines of the open orders: A = a1 2 + a2 1 + a8 1 = 4 units in 3 orders (oldest a2,
    8 Jun); B = a1 1 + a3 4 = 5 in 2 (oldest a3, 1 Jun); C = a6 1 (oldest a6, 9 Jun).
    Sorted by oldest waiting order: B, A, C."""
    frame = fulfilment.pick_list(store.table("orders"), store.table("order_lines"),
                                 store.table("shipments"), store.table("products"), as_of=D)
    assert frame.sku.tolist() == ["B", "A", "C"]
    assert frame.quantity.tolist() == [5, 4, 1]
    assert frame.count_orders.tolist() == [2, 3, 1]
    assert frame.oldest_order_number.tolist() == ["#a3", "#a2", "#a6"]
    assert frame.title.tolist() == ["Product B", "Product A", "Product C"]


def test_pick_list_shows_the_title_of_lines_without_a_sku(tiny_store):
    """Lines without a SKU (gift wrap, a tip, a typed-in product) show the title the shop
    gave them, one row per title; a SKU line shows its product's title, or its own when
    the SKU is unknown in products; only a line with neither SKU nor title (a table written
    before lines had titles) falls back to its price."""
    orders = [_order("c1", "2025-06-09 10:00"), _order("c2", "2025-06-10 10:00")]
    lines = [{**_line("c1", 1, "2025-06-09 10:00", "A", 1), "title": "Old name of A"},
             {**_line("c1", 2, "2025-06-09 10:00", None, 1), "unit_price": 3.5,
              "title": "Gift wrap"},
             {**_line("c2", 1, "2025-06-10 10:00", None, 2), "unit_price": 3.5,
              "title": "Gift wrap"},
             {**_line("c2", 2, "2025-06-10 10:00", None, 1), "unit_price": 12.0,
              "title": "Engraved mug <Mum>, red"},
             {**_line("c2", 3, "2025-06-10 10:00", "Z", 1), "title": "Discontinued Z"},
             {**_line("c2", 4, "2025-06-10 10:00", None, 1), "unit_price": 3.5}]
    built = tiny_store({"orders": orders, "order_lines": lines, "shipments": [],
                        "products": [{"sku": "A", "title": "Product A"}]})
    frame = fulfilment.pick_list(built.table("orders"), built.table("order_lines"),
                                 built.table("shipments"), built.table("products"), as_of=D)
    rows = dict(zip(frame.title, zip(frame.sku.fillna(""), frame.quantity,
                                     frame.count_orders)))
    assert rows == {"Product A": ("A", 1, 1), "Gift wrap": ("", 3, 2),
                    "Engraved mug <Mum>, red": ("", 1, 1), "Discontinued Z": ("Z", 1, 1),
                    "Custom item (no SKU), 3.50 each": ("", 1, 1)}


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["A", "B", None]),
                          st.sampled_from(["Gift wrap", "Tip", "A", "<i>x</i>", None]),
                          st.integers(1, 5)), min_size=1, max_size=8))
def test_every_unit_is_on_the_pick_list_under_its_title(tiny_store, drawn):
    """However lines are drawn, each unit is picked once, and the units without a SKU but
    with a title are on that title's row (even a title equal to a product's)."""
    orders = [_order("o1", "2025-06-09 10:00")]
    lines = [{**_line("o1", n, "2025-06-09 10:00", sku, quantity), "title": title}
             for n, (sku, title, quantity) in enumerate(drawn, start=1)]
    built = tiny_store({"orders": orders, "order_lines": lines, "shipments": [],
                        "products": [{"sku": "A", "title": "Product A"},
                                     {"sku": "B", "title": "Product B"}]})
    frame = fulfilment.pick_list(built.table("orders"), built.table("order_lines"),
                                 built.table("shipments"), built.table("products"), as_of=D)
    assert frame.quantity.sum() == sum(q for *_, q in drawn)
    assert frame.title.notna().all()
    custom = frame[frame.sku.isna()].groupby("title").quantity.sum()
    expected = pd.Series([q for sku, title, q in drawn if sku is None and title],
                         index=[title for sku, title, q in drawn if sku is None and title],
                         dtype="int64").groupby(level=0).sum()
    assert custom.drop([t for t in custom.index if t.startswith("Custom item (no SKU)")]) \
        .sort_index().to_dict() == expected.sort_index().to_dict()


def test_daily_shipments_counts_parcels_by_local_day(store):
    """9 Jun: notrack; 10 Jun: s4 (08:00) and tr (22:00); 11 Jun: s2."""
    frame = fulfilment.daily_shipments(store.table("shipments"),
                                       window=Window.of("2025-06-09", "2025-06-11", zone=ZONE))
    assert frame.count_shipments.tolist() == [1, 2, 1]


def test_late_shipments_are_undelivered_past_their_promise(store):
    """Not delivered by 11 Jun 00:00 and promised before: old (promised 23 May 12:00 →
    18 d 12 h = 18.5 days late), late1 (7 Jun 12:00 → 3.5), late2 (9 Jun 12:00 → 1.5;
    delivered only on the 12th). was_late was delivered on the 8th: no longer to chase."""
    frame = fulfilment.late_shipments(store.table("shipments"), store.table("orders"), as_of=D)
    assert frame.shipment_id.tolist() == ["old", "late1", "late2"]
    assert frame.days_late.tolist() == [18.5, 3.5, 1.5]
    assert frame.order_number.tolist() == ["#b6", "#b1", "#b2"]


def test_tracking_not_sent_by_the_end_of_the_day(store):
    """Shipped in the 14 days to D, undelivered, no tracking message by 11 Jun 00:00:
    late1 (shipped 3 Jun 10:00 → 182 h), notrack (9 Jun 09:00 → 39 h, no number at all),
    tr (10 Jun 22:00 → 2 h; its message went out on the 11th, too late for D).
    old shipped 20 May: beyond the 14-day look-back."""
    frame = fulfilment.tracking_not_sent(store.table("shipments"), store.table("orders"),
                                         as_of=D)
    assert frame.shipment_id.tolist() == ["late1", "notrack", "tr"]
    assert frame.hours_since_shipped.tolist() == [182.0, 39.0, 2.0]
    assert frame.has_tracking_number.tolist() == [True, False, True]


def test_wrong_item_returns_in_the_last_week(store):
    """4–10 Jun: only w1 (wrong item, 10 Jun); w2 is a size return, w3 is from 2 Jun."""
    frame = fulfilment.wrong_item_returns(store.table("returns"), store.table("orders"),
                                          window=Window.of("2025-06-04", "2025-06-10",
                                                           zone=ZONE))
    assert frame.to_dict("records")[0] | {"requested_at": None} == {
        "return_id": "w1", "order_number": "#a4", "sku": "A", "quantity": 1,
        "requested_at": None}
    assert len(frame) == 1
