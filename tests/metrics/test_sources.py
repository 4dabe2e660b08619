"""Where sales come from (opslib.metrics.sources) on the hand-built money store, and the
rows adding up to the store's net sales on the demo store."""

from __future__ import annotations

import pytest
from demo_data import DEMO_UNTIL
from money_store import TABLES

from opslib.metrics import sales, sources
from opslib.metrics.months import month_of
from opslib.store import Window

ZONE = "Europe/London"
JUNE = Window.of("2025-06-01", "2025-06-30", zone=ZONE)


def _tables(store, *names):
    return [store.table(name) if store.has(name) else None for name in names]


def _by(store, by, window=JUNE):
    return sources.sales_by(*_tables(store, "orders", "order_lines", "returns", "products",
                                     "purchase_orders"), window=window, by=by).set_index(by)


@pytest.fixture
def money(tiny_store):
    return tiny_store(TABLES)


def test_sales_by_channel_golden_values(money):
    """online_store: o1 (35 after its discount) + o2 (15) = 50, o1's refund 10 → net 40;
    both are first orders (2 new customers); cogs 15 (C unknown) → gross profit after
    discount 35. marketplace: o3, cu1's second order: 30, cogs 12 → 18, no new customer."""
    frame = _by(money, "channel")
    online, market = frame.loc["online_store"], frame.loc["marketplace"]
    assert online[["count_orders", "sales_after_discounts", "net_sales",
                   "count_new_customers", "cogs", "gross_profit_after_discount",
                   "quantity_cost_unknown"]].tolist() == [2, 50, 40, 2, 15, 35, 1]
    assert online.avg_order_value == 25.0
    assert market[["count_orders", "net_sales", "count_new_customers",
                   "gross_profit_after_discount"]].tolist() == [1, 30, 0, 18]
    assert frame.share_of_net_sales.sum() == pytest.approx(1.0)


def test_sales_by_discount_code_and_country(money):
    """SAVE5: o1, 35 − refund 10 = 25; no code: o2 + o3 = 45. GB: o1 + o3 = 65 − 10 = 55;
    FR: o2 = 15."""
    codes = _by(money, "discount_code")
    assert codes.net_sales.to_dict() == {sources.NONE: 45.0, "SAVE5": 25.0}
    countries = _by(money, "shipping_country")
    assert countries.net_sales.to_dict() == {"GB": 55.0, "FR": 15.0}
    assert countries.loc["GB", "count_new_customers"] == 1


def test_a_refund_of_an_unknown_order_is_kept_as_unknown(tiny_store):
    """A refund whose order is not in the orders table is a row of its own, not dropped."""
    stray = {"return_id": "r9", "order_id": "o-gone", "requested_at": TABLES["returns"][0][
        "requested_at"], "refunded_at": TABLES["returns"][0]["refunded_at"],
        "refund_amount": 7.0, "status": "refunded"}
    store = tiny_store({**TABLES, "returns": TABLES["returns"] + [stray]})
    frame = _by(store, "channel")
    assert frame.loc[sources.UNKNOWN, "net_sales"] == -7.0
    assert frame.net_sales.sum() == 63.0


def test_new_and_returning_customers_buy_differently(money):
    """New (o1, o2): Cups 20, Plates 20 + 15 = 35. Returning (o3): Cups 30."""
    frame = sources.new_vs_returning_categories(
        *_tables(money, "orders", "order_lines", "products"), window=JUNE).set_index(
        "category")
    assert frame.sales_new_customers.to_dict() == {"Plates": 35.0, "Cups": 20.0}
    assert frame.sales_returning_customers.to_dict() == {"Plates": 0.0, "Cups": 30.0}
    assert frame.share_returning_customers["Cups"] == 1.0


def test_customers_by_country_and_city(money):
    """cu1 London: 2 orders, 65; cu2 Paris: 1 order, 15."""
    frame = sources.customers_by_place(*_tables(money, "orders", "order_lines", "customers"),
                                       window=JUNE)
    assert frame[["country", "city", "count_customers", "count_orders",
                  "sales_after_discounts"]].values.tolist() == [
        ["GB", "London", 1, 2, 65.0], ["FR", "Paris", 1, 1, 15.0]]


def test_every_dimension_adds_up_to_net_sales_on_the_demo(small_demo_store):
    """November on the demo store: the rows of each dimension add up to the store's net
    sales and orders (nothing dropped, nothing counted twice)."""
    month = month_of(DEMO_UNTIL, zone=ZONE)
    tables = _tables(small_demo_store, "orders", "order_lines", "returns", "products",
                     "purchase_orders")
    store_sales = sales.totals(sales.daily_sales(*tables[:3], window=month))
    facts = small_demo_store.materialize(sources.order_facts(
        tables[0], tables[1], tables[3], tables[4], window=month))
    for by in sources.DIMENSIONS:
        frame = sources.sales_by(*tables, window=month, by=by, facts=facts)
        assert frame.net_sales.sum() == pytest.approx(store_sales["net_sales"]), by
        assert frame.count_orders.sum() == store_sales["count_orders"], by
