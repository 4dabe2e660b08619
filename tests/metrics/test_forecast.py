"""The demand forecast and its backtest (opslib.metrics.forecast)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from opslib.metrics import forecast as fc
from opslib.store import Window

from handbuilt import at

ZONE = "Europe/London"
DEMO_UNTIL = dt.date(2025, 11, 30)


@pytest.fixture
def stock_out_store(tiny_store):
    """SKU A sells 2 units a day on the 28 days 1–28 June when in stock; from 15 June it is
    out of stock (available 0, nothing sold). SKU B sells 1 a day and never runs out."""
    orders, lines, snaps = [], [], []
    for i in range(28):
        day = dt.date(2025, 6, 1) + dt.timedelta(days=i)
        for sku, units, out in (("A", 2, i >= 14), ("B", 1, False)):
            snaps.append({"snapshot_date": day, "sku": sku, "on_hand": 0 if out else 50,
                          "committed": 0, "incoming": 0})
            if not out:
                oid = f"{sku}{i}"
                when = at(f"{day} 12:00")
                orders.append({"order_id": oid, "order_number": oid, "created_at": when})
                lines.append({"order_id": oid, "line_number": 1, "created_at": when,
                              "sku": sku, "quantity": units, "unit_price": 10.0})
    products = [{"sku": s, "product_id": s, "title": s, "category": "c", "price": 10.0}
                for s in ("A", "B")]
    return tiny_store({"orders": orders, "order_lines": lines, "inventory_snapshots": snaps,
                       "products": products})


def _history(store, end):
    t = store.table
    return fc.demand_history(t("orders"), t("order_lines"), t("inventory_snapshots"),
                             t("products"), None,
                             window=Window.of("2025-06-01", end, zone=ZONE))


def test_forecast_ignores_stock_out_days(stock_out_store):
    """A sold 2 a day on its 14 in-stock days and nothing on 14 stock-out days: the forecast
    is 2 a day = 14 a week (no season: less than a year of history); the naive baseline
    averages the stock-out days in: 28 units ÷ 28 days × 7 = 7 a week. B: 7 a week both."""
    history = _history(stock_out_store, "2025-06-28")
    model = fc.forecast_weeks(history, origin=dt.date(2025, 6, 28), weeks=2)
    naive = fc.baseline_weeks(history, origin=dt.date(2025, 6, 28), weeks=2)
    row = {sku: i for i, sku in enumerate(history.skus)}
    assert model[row["A"]].tolist() == pytest.approx([14.0, 14.0])
    assert naive[row["A"]].tolist() == pytest.approx([7.0, 7.0])
    assert model[row["B"]].tolist() == pytest.approx([7.0, 7.0])


def test_wape_golden():
    """|10 − 8| + |0 − 1| + |5 − 5| = 3 over 15 units sold = 0.2."""
    assert fc.wape(np.array([10.0, 0.0, 5.0]), np.array([8.0, 1.0, 5.0])) == pytest.approx(0.2)
    assert fc.wape(np.zeros(2), np.ones(2)) is None


def test_backtest_origins_are_four_weeks_apart_ending_eight_weeks_before(small_demo_store):
    """For 30 Nov 2025: origins 13 Jul, 10 Aug, 7 Sep, 5 Oct (the last 8 weeks before)."""
    frame = _demo_backtest(small_demo_store)
    assert [str(d) for d in frame.origin[:4]] == ["2025-07-13", "2025-08-10", "2025-09-07",
                                                  "2025-10-05"]
    assert frame.iloc[-1].count_sku_weeks == frame.count_sku_weeks[:4].sum()


def _demo_backtest(store):
    t = store.table
    history = fc.demand_history(t("orders"), t("order_lines"), t("inventory_snapshots"),
                                t("products"), t("promotions"),
                                window=fc.read_window(store.window(DEMO_UNTIL)))
    return fc.backtest(history, report_date=DEMO_UNTIL)


@pytest.mark.slow
def test_forecast_beats_the_naive_baseline_on_the_demo_store(small_demo_store):
    """Over the four origins pooled, the forecast's WAPE is below the baseline's."""
    total = _demo_backtest(small_demo_store).iloc[-1]
    assert total.forecast_wape < total.baseline_wape


def test_forecast_uses_only_data_up_to_the_origin(small_demo_store):
    """Cutting the history at the origin changes nothing in the forecast from it."""
    t = small_demo_store.table
    origin = dt.date(2025, 9, 7)
    full = fc.demand_history(t("orders"), t("order_lines"), t("inventory_snapshots"),
                             t("products"), t("promotions"),
                             window=fc.read_window(small_demo_store.window(DEMO_UNTIL)))
    cut = fc.demand_history(t("orders"), t("order_lines"), t("inventory_snapshots"),
                            t("products"), t("promotions"),
                            window=Window.of(full.days[0].date(), origin, zone=ZONE))
    a = fc.forecast_weeks(full, origin=origin)
    b = fc.forecast_weeks(cut, origin=origin)
    rows = [full.skus.index(s) for s in cut.skus]
    assert np.allclose(a[rows], b)
