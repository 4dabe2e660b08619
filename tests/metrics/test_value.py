"""Customer value against acquisition cost (opslib.metrics.value) on a hand-built store."""

from __future__ import annotations

import pandas as pd
import pytest
from handbuilt import at

from opslib.metrics import value
from opslib.store import Window


def _order(order_id, created, customer, sku, quantity):
    return {"order_id": order_id, "order_number": order_id, "created_at": at(created),
            "customer_id": customer, "email": f"{customer}@example.com"}, \
        {"order_id": order_id, "line_number": 1, "created_at": at(created), "sku": sku,
         "quantity": quantity, "unit_price": 10.0 if sku == "A" else 20.0}


@pytest.fixture
def cohorts(tiny_store):
    """A sells at 10 and costs 4; B sells at 20 and costs 7 (its purchase order).

    April cohort (cu1, cu2): cu1 1×A 10 Apr, 2×A 5 May, 1×A 20 Jun; cu2 3×A 15 Apr.
    May cohort (cu3): 1×B 3 May. Ad spend: April 36, May 5, none in June.
    """
    pairs = [_order("o1", "2025-04-10 10:00", "cu1", "A", 1),
             _order("o2", "2025-04-15 10:00", "cu2", "A", 3),
             _order("o3", "2025-05-05 10:00", "cu1", "A", 2),
             _order("o4", "2025-05-03 10:00", "cu3", "B", 1),
             _order("o5", "2025-06-20 10:00", "cu1", "A", 1)]
    return tiny_store({
        "orders": [o for o, _ in pairs], "order_lines": [line for _, line in pairs],
        "products": [{"sku": "A", "unit_cost": 4.0}, {"sku": "B", "unit_cost": None}],
        "purchase_orders": [{"po_id": "p1", "supplier": "S", "sku": "B", "quantity": 5,
                             "unit_cost": 7.0, "ordered_at": at("2025-03-01 09:00")}],
        "ad_spend_daily": [{"date_day": "2025-04-02", "platform": "meta", "campaign": "c",
                            "spend": 36.0},
                           {"date_day": "2025-05-02", "platform": "meta", "campaign": "c",
                            "spend": 5.0}]})


def test_cohort_value_golden_values(cohorts):
    """As of 30 June (three cohorts: April, May, June).

    April, 2 customers: month 1 sales 10 + 30 = 40, profit 6 + 18 = 24; month 2 (May) cu1
    20, profit 12; month 3 (June) cu1 10, profit 6. Per customer at 3 months: sales 70 ÷ 2
    = 35, profit 42 ÷ 2 = 21; 6 and 12 months have not ended. CAC 36 ÷ 2 = 18; profit per
    customer 12 after month 1, 18 after month 2: payback in 2 months.
    May, 1 customer: 20, profit 13; its 3 months have not ended; CAC 5, payback 1.
    June: no new customer and no spend: every figure empty.
    """
    t = cohorts.table
    frame = value.cohort_value(t("orders"), t("order_lines"), t("products"),
                               t("purchase_orders"), t("ad_spend_daily"),
                               as_of=Window.of("2025-06-30", zone="Europe/London"),
                               cohorts=3)
    april, may, june = (row for _, row in frame.iterrows())
    assert april.cohort_month == pd.Timestamp("2025-04-01")
    assert april.count_new_customers == 2 and april.customer_acquisition_cost == 18.0
    assert (april.revenue_per_customer_3m, april.gross_profit_per_customer_3m) == (35.0, 21.0)
    assert pd.isna(april.revenue_per_customer_6m) and pd.isna(april.ltv_to_cac_ratio)
    assert april.payback_months == 2.0
    assert may.count_new_customers == 1 and may.customer_acquisition_cost == 5.0
    assert pd.isna(may.gross_profit_per_customer_3m) and may.payback_months == 1.0
    assert june.count_new_customers == 0 and pd.isna(june.customer_acquisition_cost)
    figures = value.value_figures(frame)
    assert figures["customer_acquisition_cost"] is None and figures["ltv_to_cac_ratio"] is None


def test_twelve_months_give_ltv_to_cac(cohorts):
    """A year on (31 March 2026), April's 12 months have ended: profit per customer 21 (no
    later orders) ÷ CAC 18."""
    t = cohorts.table
    frame = value.cohort_value(t("orders"), t("order_lines"), t("products"),
                               t("purchase_orders"), t("ad_spend_daily"),
                               as_of=Window.of("2026-03-31", zone="Europe/London"),
                               cohorts=12)
    april = frame.set_index("cohort_month").loc[pd.Timestamp("2025-04-01")]
    assert april.gross_profit_per_customer_12m == 21.0
    assert april.ltv_to_cac_ratio == pytest.approx(21 / 18)
    assert value.value_figures(frame)["ltv_to_cac_ratio"] == pytest.approx(21 / 18)
