"""Site analytics on a tiny hand-built store: traffic by source, funnel, product pages."""

from __future__ import annotations

import pandas as pd
import pytest
from product_pages import pages_store

from opslib.metrics import funnel
from opslib.store import Window

ZONE = "Europe/London"
WEEK = Window.of("2025-06-02", "2025-06-08", zone=ZONE)


def _traffic(day, source, medium, sessions, bounces, carts, checkouts, orders):
    return {"date_day": day, "source": source, "medium": medium, "sessions": sessions,
            "users": sessions, "pageviews": 3 * sessions, "bounces": bounces,
            "add_to_cart_sessions": carts, "checkout_sessions": checkouts, "orders": orders}


@pytest.fixture
def traffic(tiny_store):
    """google/organic 2 Jun 100 sessions (40 bounces, 10 carts, 5 checkouts, 2 orders) and
    3 Jun 100 (30, 10, 5, 3); email/email 2 Jun 50 (10, 10, 6, 4); 9 Jun is after the week."""
    store = tiny_store({"web_traffic_daily": [
        _traffic("2025-06-02", "google", "organic", 100, 40, 10, 5, 2),
        _traffic("2025-06-03", "google", "organic", 100, 30, 10, 5, 3),
        _traffic("2025-06-02", "email", "email", 50, 10, 10, 6, 4),
        _traffic("2025-06-09", "google", "organic", 1000, 500, 99, 50, 20),
    ]})
    return store.table("web_traffic_daily")


def test_traffic_by_source_golden_values(traffic):
    """google/organic: 200 sessions, 80% of 250; bounce 70 ÷ 200 = 35%; carts 10%;
    checkout 5%; 5 orders, 2.5%. email: 50 (20%); bounce 20%; carts 20%; checkout 12%;
    4 orders, 8%."""
    frame = funnel.traffic_by_source(traffic, window=WEEK)
    assert frame[["source", "medium"]].values.tolist() == [["google", "organic"],
                                                           ["email", "email"]]
    assert frame.count_sessions.tolist() == [200, 50]
    assert frame.session_share.tolist() == [0.8, 0.2]
    assert frame.bounce_rate.tolist() == [0.35, 0.2]
    assert frame.add_to_cart_rate.tolist() == [0.1, 0.2]
    assert frame.checkout_rate.tolist() == [0.05, 0.12]
    assert frame.orders.tolist() == [5, 4]
    assert frame.order_rate.tolist() == [0.025, 0.08]


def test_site_totals_and_funnel_steps(traffic):
    """250 sessions → 30 carts (12%) → 16 checkouts (16 ÷ 30 = 53.3%) → 9 orders
    (9 ÷ 16 = 56.25%); of sessions: 12%, 6.4%, 3.6%. Bounce 80 ÷ 250 = 32%."""
    totals = funnel.site_totals(traffic, window=WEEK)
    assert totals == {"count_sessions": 250, "bounces": 80, "add_to_cart_sessions": 30,
                      "checkout_sessions": 16, "orders": 9, "bounce_rate": 0.32}
    steps = funnel.funnel_steps(totals)
    assert steps.step.tolist() == ["Sessions", "Added to cart", "Reached checkout", "Ordered"]
    assert steps.count_sessions.tolist() == [250, 30, 16, 9]
    assert steps.step_rate.tolist()[1:] == pytest.approx([0.12, 16 / 30, 9 / 16])
    assert steps.rate_of_sessions.tolist() == pytest.approx([1.0, 0.12, 0.064, 0.036])


def test_a_week_without_traffic_has_no_rates(traffic):
    """No rows: zero counts, no bounce rate, and no rate at any funnel step."""
    quiet = Window.of("2025-05-01", "2025-05-07", zone=ZONE)
    totals = funnel.site_totals(traffic, window=quiet)
    assert totals["count_sessions"] == 0 and totals["bounce_rate"] is None
    assert funnel.funnel_steps(totals).step_rate.isna().all()
    assert funnel.traffic_by_source(traffic, window=quiet).empty


def test_product_page_results(tiny_store):
    """Most viewed first; A: 400 views, 20 carts (5%), 1 order, 2 units, 1 ÷ 400 = 0.25%.
    E (no views) and F (outside the week) are not listed."""
    store = pages_store(tiny_store)
    frame = funnel.product_page_results(store.table("product_views_daily"),
                                        store.table("orders"), store.table("order_lines"),
                                        store.table("products"), window=WEEK)
    assert frame.sku.tolist() == ["A", "B", "C", "D"]
    assert frame.views.tolist() == [400, 300, 100, 60]
    assert frame.count_orders.tolist() == [1, 12, 4, 3]
    assert frame.quantity_sold.tolist() == [2, 24, 8, 6]
    assert frame.title.tolist()[0] == "Product A"
    assert frame.add_to_cart_rate.tolist()[0] == 0.05
    assert frame.view_to_order_rate.tolist() == pytest.approx([0.0025, 0.04, 0.04, 0.05])


def test_many_views_few_orders(tiny_store):
    """75th percentile of 60, 100, 300, 400 views = 325; the shop converts 20 ÷ 860 = 2.33%,
    half is 1.16%. A (400 views, 0.25%) qualifies; B has 300 < 325 views."""
    store = pages_store(tiny_store)
    pages = funnel.product_page_results(store.table("product_views_daily"),
                                        store.table("orders"), store.table("order_lines"),
                                        window=WEEK)
    low = funnel.many_views_few_orders(pages)
    assert low.sku.tolist() == ["A"]
    assert low.store_view_to_order_rate.iloc[0] == pytest.approx(20 / 860)


def test_few_views_never_count_as_many():
    """Below MIN_VIEWS (50) a page is never 'much viewed', however badly it converts."""
    pages = pd.DataFrame({"sku": ["A", "B"], "views": [40, 30], "count_orders": [0, 5]})
    assert funnel.many_views_few_orders(pages).empty


def _stock(sku, out_days):
    """Snapshots of the week 2–8 June: `sku` has nothing available on its first `out_days`
    days without a sale (A sells only on the 4th) and 5 units on the others."""
    days = [f"2025-06-0{d}" for d in (2, 3, 5, 6, 7, 8, 4)]
    return [{"snapshot_date": day, "sku": sku, "on_hand": 0 if i < out_days else 5,
             "committed": 0, "incoming": 0} for i, day in enumerate(days)]


@pytest.mark.parametrize(("out_days", "listed"), [(0, True), (3, True), (4, False), (6, False)])
def test_a_product_out_of_stock_most_of_the_week_is_not_a_page_to_fix(tiny_store, out_days,
                                                                      listed):
    """A (400 views, 1 order) is the one page with many views and few orders; out of stock
    on 4 or more of the 7 days, it could not sell: it leaves the list (and every page that
    lists it: site analytics, product content) and is named in a note instead."""
    from opslib.metrics import content
    from opslib.views.weekly import product_content, site_analytics

    products = [{"sku": s, "title": f"Product {s}", "status": "active", "has_description": True,
                 "image_count": 1} for s in "ABCDEF"]
    store = pages_store(tiny_store, inventory_snapshots=_stock("A", out_days),
                        products=products)
    for page in (site_analytics.product_pages, product_content.to_improve):
        table, *notes = page(store, WEEK).parts
        assert ("Product A" in table.html) == listed
        left = [n.html for n in notes if "out of stock" in n.html]
        assert bool(left) != listed
        if left:
            assert f"A Product A (400 views, out of stock {out_days} of 7 days)" in left[0]
    t = store.table
    pages = funnel.product_page_results(t("product_views_daily"), t("orders"),
                                        t("order_lines"), t("products"), window=WEEK,
                                        inventory_snapshots=t("inventory_snapshots"))
    assert pages.set_index("sku").days_out_of_stock["A"] == out_days
    assert funnel.many_views_few_orders(pages).sku.tolist() == (["A"] if listed else [])
    improve = content.products_to_improve(
        t("products"), window=WEEK, product_views_daily=t("product_views_daily"),
        orders=t("orders"), order_lines=t("order_lines"),
        inventory_snapshots=t("inventory_snapshots"))
    assert improve.sku.tolist() == (["A"] if listed else [])
