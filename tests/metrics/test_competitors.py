"""Competitor prices and category trends on a tiny hand-built store (week 2–8 June 2025)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from handbuilt import at

from opslib.metrics import competitors
from opslib.store import Window

ZONE = "Europe/London"
WEEK = Window.of("2025-06-02", "2025-06-08", zone=ZONE)
D = Window.of("2025-06-08", zone=ZONE)

PRODUCTS = [
    {"sku": "A", "title": "Mug", "category": "Mugs", "price": 20.0},
    {"sku": "B", "title": "Candle", "category": "Candles", "price": 10.0},
    {"sku": "C", "title": "Teapot", "category": "Mugs", "price": 50.0},
    {"sku": "T", "title": "Towel", "category": "Textiles", "price": 20.0},
    {"sku": "G", "title": "Gift box", "category": "Gifts", "price": 30.0},
]


def _seen(day, competitor, sku, price, note=None):
    return {"observed_date": day, "competitor": competitor, "sku": sku, "price": price,
            "note": note}


@pytest.fixture
def prices(tiny_store):
    """X: A 20.50 (26 May) → 19.50 (2 Jun); B 10.20 on 26 May and 2 Jun.
    Y: A 25.00 (12 May, still within 28 days of 8 Jun); C 40.00 (1 May, too old);
    B 9.50 (27 May) → 9.79 (3 Jun) → 9.99 (5 Jun).
    Z: E 5.00 (4 Jun), a SKU we do not sell."""
    rows = [
        _seen("2025-05-26", "X", "A", 20.5), _seen("2025-06-02", "X", "A", 19.5, "on sale"),
        _seen("2025-05-26", "X", "B", 10.2), _seen("2025-06-02", "X", "B", 10.2),
        _seen("2025-05-12", "Y", "A", 25.0), _seen("2025-05-01", "Y", "C", 40.0),
        _seen("2025-05-27", "Y", "B", 9.5), _seen("2025-06-03", "Y", "B", 9.79),
        _seen("2025-06-05", "Y", "B", 9.99), _seen("2025-06-04", "Z", "E", 5.0),
    ]
    products = PRODUCTS + [{"sku": "E", "title": "Elsewhere", "category": "Other",
                            "price": 1.0, "status": "archived"}]
    store = tiny_store({"products": products, "competitor_prices": rows})
    return store, store.table("competitor_prices"), store.table("products")


def test_price_position_golden_values(prices):
    """Latest price per competitor and SKU in the 28 days to 8 June, against ours:
    X A 19.50 vs 20: −0.50, −2.5% → cheaper (beyond ±2%); Y B 9.99 vs 10: −0.1% → same;
    X B 10.20 vs 10: +2.0% exactly → same (the tolerance is inclusive); Y A 25 vs 20: +25% →
    dearer; Z E 5.00 vs 1.00: +400% → dearer. Y C (1 May) is too old. Biggest undercut first."""
    _, seen, products = prices
    frame = competitors.price_position(seen, products, as_of=D)
    assert list(zip(frame.competitor, frame.sku)) == [("X", "A"), ("Y", "B"), ("X", "B"),
                                                      ("Y", "A"), ("Z", "E")]
    assert frame.competitor_is.tolist() == ["cheaper", "same", "same", "dearer", "dearer"]
    assert frame.price_gap_amount.round(2).tolist() == [-0.5, -0.01, 0.2, 5.0, 4.0]
    assert frame.price_gap_rate.tolist() == pytest.approx([-0.025, -0.001, 0.02, 0.25, 4.0])
    assert frame.note.tolist()[0] == "on sale"


def test_a_price_for_a_sku_we_do_not_list_has_no_position(tiny_store):
    """A competitor SKU missing from our catalogue keeps its row, with no price or position."""
    store = tiny_store({"products": PRODUCTS,
                        "competitor_prices": [_seen("2025-06-04", "Z", "A", 21.0),
                                              _seen("2025-06-04", "Z", "NEW", 5.0)]})
    frame = competitors.price_position(store.table("competitor_prices"),
                                       store.table("products"), as_of=D)
    unknown = frame[frame.sku == "NEW"].iloc[0]
    assert math.isnan(unknown.our_price) and pd.isna(unknown.competitor_is)
    assert frame.sku.tolist() == ["A", "NEW"]


def test_position_summary_counts_per_competitor(prices):
    """X: 2 SKUs (1 cheaper, 1 same), median gap (−2.5% + 2%) ÷ 2 = −0.25%.
    Y: 2 SKUs (1 same, 1 dearer), median (−0.1% + 25%) ÷ 2 = 12.45%. Z: 1 dearer."""
    _, seen, products = prices
    summary = competitors.position_summary(competitors.price_position(seen, products, as_of=D))
    rows = summary.set_index("competitor")
    assert rows.loc["X", ["count_skus", "count_cheaper", "count_same", "count_dearer"]] \
        .tolist() == [2, 1, 1, 0]
    assert rows.loc["Y", ["count_skus", "count_cheaper", "count_same", "count_dearer"]] \
        .tolist() == [2, 0, 1, 1]
    assert rows.median_price_gap_rate.tolist() == pytest.approx([-0.0025, 0.1245, 4.0])


def test_price_changes_seen_this_week(prices):
    """X A 20.50 → 19.50 on 2 Jun (−1.00, −4.88%); Y B 9.79 → 9.99 on 5 Jun (+0.20,
    +2.04%); Y B 9.50 → 9.79 on 3 Jun (+0.29, +3.05%). X B did not change; Z E has no
    earlier price. Biggest cut first."""
    _, seen, products = prices
    frame = competitors.price_changes(seen, products, window=WEEK)
    assert list(zip(frame.competitor, frame.sku, frame.observed_date.dt.day)) == [
        ("X", "A", 2), ("Y", "B", 5), ("Y", "B", 3)]
    assert frame.previous_price.tolist() == [20.5, 9.79, 9.5]
    assert frame.price_change_amount.round(2).tolist() == [-1.0, 0.2, 0.29]
    assert frame.price_change_rate.tolist() == pytest.approx(
        [-1 / 20.5, 0.2 / 9.79, 0.29 / 9.5])
    assert frame.our_price.tolist() == [20.0, 10.0, 10.0]


def test_tolerance_is_a_keyword_option(prices):
    """With a 3% tolerance, X A (−2.5%) counts as the same price."""
    _, seen, products = prices
    frame = competitors.price_position(seen, products, as_of=D, tolerance=0.03)
    assert frame.competitor_is.tolist()[0] == "same"


def _order(order_id, created, lines, *, cancelled=None):
    order = {"order_id": order_id, "order_number": f"#{order_id}", "created_at": at(created),
             "cancelled_at": at(cancelled)}
    rows = [{"order_id": order_id, "line_number": n, "created_at": at(created), "sku": sku,
             "quantity": quantity, "unit_price": price}
            for n, (sku, quantity, price) in enumerate(lines, start=1)]
    return order, rows


def test_category_trends_against_the_four_weeks_before(tiny_store):
    """Week 2–8 Jun against 5 May – 1 Jun (28 days, ÷ 4 for an average week):
    Mugs: week A 2 × 20 + C 1 × 50 = 90; before A 4 × 20 + C 50 = 130 → 32.50 a week;
    90 ÷ 32.50 − 1 = +176.9% → growing.
    Textiles: week 21; before 4 × 20 = 80 → 20 a week; +5% → steady.
    Candles: week 10; before 80 → 20 a week; −50% → shrinking.
    Gifts: week 0; before 30 → 7.50 a week; −100% → shrinking.
    A custom line without SKU: week 5, nothing before → new (its own row).
    An order cancelled the same day (A 10 × 20 on 4 Jun) does not count."""
    made = [
        _order("o1", "2025-06-03 10:00", [("A", 2, 20.0), ("B", 1, 10.0)]),
        _order("o2", "2025-06-07 23:30", [("C", 1, 50.0), (None, 1, 5.0), ("T", 1, 21.0)]),
        _order("o3", "2025-05-10 10:00", [("A", 4, 20.0)]),
        _order("o4", "2025-05-20 10:00", [("B", 8, 10.0), ("T", 4, 20.0)]),
        _order("o5", "2025-05-30 10:00", [("C", 1, 50.0)]),
        _order("o6", "2025-06-04 10:00", [("A", 10, 20.0)], cancelled="2025-06-04 11:00"),
        _order("o7", "2025-05-15 10:00", [("G", 1, 30.0)]),
        _order("o8", "2025-05-04 10:00", [("A", 100, 20.0)]),  # before the four weeks
    ]
    store = tiny_store({"products": PRODUCTS, "orders": [o for o, _ in made],
                        "order_lines": [line for _, rows in made for line in rows]})
    frame = competitors.category_trends(store.table("orders"), store.table("order_lines"),
                                        store.table("products"), window=WEEK)
    assert frame.category.tolist() == [competitors.UNKNOWN_CATEGORY, "Mugs", "Textiles",
                                       "Candles", "Gifts"]
    assert frame.trend.tolist() == ["new", "growing", "steady", "shrinking", "shrinking"]
    assert frame.gross_sales.tolist() == [5.0, 90.0, 21.0, 10.0, 0.0]
    assert frame.gross_sales_weekly_avg_prev.tolist() == [0.0, 32.5, 20.0, 20.0, 7.5]
    assert frame.change_rate.tolist()[1:] == pytest.approx([90 / 32.5 - 1, 0.05, -0.5, -1.0])
    assert frame.quantity_sold.tolist() == [1, 3, 1, 1, 0]
