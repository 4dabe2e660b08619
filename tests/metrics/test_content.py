"""Products to improve for the week 2–8 June 2025 (London), with their reasons."""

from __future__ import annotations

import pytest
from handbuilt import at
from product_pages import pages_store

from opslib.metrics import content
from opslib.store import Window

ZONE = "Europe/London"
WEEK = Window.of("2025-06-02", "2025-06-08", zone=ZONE)


def _product(sku, *, status="active", description=True, images=3):
    return {"sku": sku, "title": f"Product {sku}", "category": "Mugs", "status": status,
            "has_description": description, "image_count": images}


def _return(return_id, sku, requested, reason="not_as_described"):
    return {"return_id": return_id, "order_id": "o1", "sku": sku, "quantity": 1,
            "reason": reason, "requested_at": at(requested), "status": "requested"}


def _question(ticket_id, sku, created, category="product_question"):
    return {"ticket_id": ticket_id, "sku": sku, "category": category,
            "created_at": at(created), "status": "open"}


@pytest.fixture
def store(tiny_store):
    """Page views and orders as in product_pages (A: 400 views, 1 order — many views, few
    orders). Catalogue: B no description; C no image; D a draft without description (not
    live, never listed); E, F, G fine. Returns 'not as described' in the 28 days to 8 June:
    E twice (12 May is the first day counted, 7 Jun), F once; A once on 11 May (too old);
    E once 'damaged' (another reason). Product questions: C 3 and F 2 in the 28 days, F one
    more on 10 May (too old), G 3 'complaint' tickets (not questions)."""
    products = [_product("A"), _product("B", description=False), _product("C", images=0),
                _product("D", status="draft", description=False), _product("E"),
                _product("F"), _product("G")]
    returns = [_return("r1", "E", "2025-05-12 00:30"), _return("r2", "E", "2025-06-07 10:00"),
               _return("r3", "F", "2025-06-01 10:00"), _return("r4", "A", "2025-05-11 10:00"),
               _return("r5", "E", "2025-06-03 10:00", reason="damaged")]
    tickets = [_question(f"q{n}", "C", f"2025-06-0{n} 10:00") for n in (2, 3, 4)] + \
        [_question("q5", "F", "2025-06-05 10:00"), _question("q6", "F", "2025-05-20 10:00"),
         _question("q7", "F", "2025-05-10 10:00")] + \
        [_question(f"c{n}", "G", f"2025-06-0{n} 10:00", category="complaint")
         for n in (2, 3, 4)]
    return pages_store(tiny_store, products=products, returns=returns, tickets=tickets)


def _improve(store, **only):
    tables = {name: store.table(name) for name in ("product_views_daily", "orders",
                                                   "order_lines", "returns", "tickets")}
    tables.update(only)
    return content.products_to_improve(store.table("products"), window=WEEK, **tables)


def test_products_to_improve_with_their_reasons(store):
    """C has two reasons (no image; 3 questions); then one reason each, most viewed first:
    A (400 views: 0.25% to order against the shop's 20 ÷ 860 = 2.3%), B (300 views, no
    description), then E (2 returns 'not as described') — no views."""
    frame = _improve(store)
    assert frame.sku.tolist() == ["C", "A", "B", "E"]
    assert frame.count_reasons.tolist() == [2, 1, 1, 1]
    assert frame.reasons.tolist() == [
        "no image; 3 product questions in 28 days",
        "many views, few orders (400 views, 0.2% to order vs 2.3% for the shop)",
        "no description",
        "2 returns 'not as described' in 28 days"]
    assert frame.count_returns_not_as_described.tolist() == [0, 0, 0, 2]
    assert frame.count_product_questions.tolist() == [3, 0, 0, 0]
    assert frame.views.tolist() == [100, 400, 300, 0]


def test_reason_counts(store):
    """One product per reason, except 'product questions' (C) and 'no image' (C) counted
    on the same product."""
    counts = content.reason_counts(_improve(store))
    assert counts == {"many views, few orders": 1, "returns 'not as described'": 1,
                      "no description": 1, "no image": 1, "product questions": 1}


def test_absent_tables_leave_out_their_reasons(store):
    """Without views, returns and tickets only the catalogue speaks: B and C."""
    frame = _improve(store, product_views_daily=None, orders=None, order_lines=None,
                     returns=None, tickets=None)
    assert frame.sku.tolist() == ["B", "C"]
    assert frame.reasons.tolist() == ["no description", "no image"]


def test_thresholds_are_at_least(store):
    """F has 1 return and 2 questions in 28 days: under both thresholds (2 and 3)."""
    assert "F" not in _improve(store).sku.tolist()
    assert content.MIN_NOT_AS_DESCRIBED == 2 and content.MIN_PRODUCT_QUESTIONS == 3
