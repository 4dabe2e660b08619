"""KPIs of Sunday 29 June 2025 against the same weekday last week and the last four."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from opslib.metrics import kpis

D = dt.date(2025, 6, 29)


def _sales(orders_by_day: dict[str, int]) -> pd.DataFrame:
    """Every day of 1–29 June: 10 orders of £10 gross (£1 discount each) unless given."""
    days = pd.date_range("2025-06-01", "2025-06-29")
    orders = [orders_by_day.get(str(d.date()), 10) for d in days]
    return pd.DataFrame({"date_day": days, "count_orders": orders,
                         "gross_sales": [10.0 * n for n in orders],
                         "discounts": [1.0 * n for n in orders], "net_sales": [100.0] * len(days),
                         "quantity_sold": orders, "returns_amount": [0.0] * len(days)})


@pytest.fixture
def daily():
    """Orders on the Sundays: 1 Jun 16, 8 Jun 14, 15 Jun 12, 22 Jun 10, 29 Jun (D) 20.
    Sessions 1,000 every day; no ad data."""
    sales = _sales({"2025-06-01": 16, "2025-06-08": 14, "2025-06-15": 12, "2025-06-22": 10,
                    "2025-06-29": 20})
    traffic = pd.DataFrame({"date_day": sales.date_day, "count_sessions": 1000})
    return kpis.daily_kpis(sales, traffic, None)


def test_day_against_last_week_and_the_four_week_average(daily):
    """Orders: D 20 vs last week 10 → +100%; average (10 + 12 + 14 + 16) ÷ 4 = 13 →
    (20 − 13) ÷ 13 = +53.8% > 30% → flagged. Conversion: 20 ÷ 1,000 = 0.02 vs
    52 ÷ 4,000 = 0.013 (ratio of sums) → flagged. Net sales 100 every day → not flagged.
    AOV (£10 − £1) = £9 on every day → not flagged."""
    table = kpis.compare_kpis(daily, day=D, alert_band=0.3).set_index("kpi")
    orders = table.loc["count_orders"]
    assert (orders.value, orders.same_weekday_last_week, orders.avg_last_4_same_weekdays) == \
        (20.0, 10.0, 13.0)
    assert orders.change_vs_last_week == pytest.approx(1.0)
    assert orders.change_vs_avg == pytest.approx(7 / 13)
    assert orders.is_flagged
    conversion = table.loc["conversion_rate"]
    assert conversion.value == pytest.approx(0.02)
    assert conversion.avg_last_4_same_weekdays == pytest.approx(0.013)
    assert conversion.is_flagged
    assert not table.loc["net_sales"].is_flagged
    assert table.loc["avg_order_value"].value == pytest.approx(9.0)
    assert not table.loc["avg_order_value"].is_flagged
    assert list(table.index) == [k.name for k in kpis.KPIS]


def test_missing_ad_data_leaves_ad_kpis_empty_and_unflagged(daily):
    """No ad data: ad spend and blended ROAS are empty (unknown), never flagged."""
    table = kpis.compare_kpis(daily, day=D, alert_band=0.3).set_index("kpi")
    assert pd.isna(table.loc["ad_spend"].value) and pd.isna(table.loc["blended_roas"].value)
    assert not table.loc["blended_roas"].is_flagged


def test_a_band_from_settings_overrides_the_relative_rule(daily):
    """[targets.bands.net_sales] low = 150: net sales 100 < 150 → flagged although it equals
    its average; orders with a wide band (0–100) are no longer flagged."""
    table = kpis.compare_kpis(daily, day=D, alert_band=0.3,
                              bands={"net_sales": {"low": 150},
                                     "count_orders": {"low": 0, "high": 100}}).set_index("kpi")
    assert table.loc["net_sales"].is_flagged
    assert not table.loc["count_orders"].is_flagged


def test_blended_roas_and_zero_spend():
    """Gross £200 − discounts £20 = £180 of orders for £60 of ads → 3.0; no spend → empty
    (undefined), not 0."""
    sales = _sales({}).iloc[:2].assign(gross_sales=[200.0, 200.0], discounts=[20.0, 20.0])
    ads = pd.DataFrame({"date_day": sales.date_day, "ad_spend": [60.0, 0.0]})
    frame = kpis.daily_kpis(sales, None, ads)
    assert frame.blended_roas.iloc[0] == pytest.approx(3.0)
    assert pd.isna(frame.blended_roas.iloc[1])


def test_compare_needs_the_four_weeks_before(daily):
    """A frame that does not reach back four weeks is refused (no silent partial average)."""
    with pytest.raises(ValueError, match="4 same weekdays"):
        kpis.compare_kpis(daily.iloc[5:], day=D, alert_band=0.3)
