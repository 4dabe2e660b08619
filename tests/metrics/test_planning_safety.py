"""Safety stock from the backtest's forecast error (issue 18, item 4), worked out by hand."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opslib.config import Settings
from opslib.errors import SettingsError
from opslib.metrics import forecast as fc
from opslib.metrics import planning

from demo_data import DEMO_UNTIL

ORIGINS = tuple(dt.date(2025, 1, 5) + dt.timedelta(weeks=3 * k) for k in range(6))


def _backtest(actual: np.ndarray, forecast: np.ndarray, scored: np.ndarray) -> fc.Backtest:
    skus = tuple("abc"[:actual.shape[0]])
    return fc.Backtest(skus=skus, origins=ORIGINS[:actual.shape[1]], actual=actual,
                       scored=scored, forecasts={name: forecast for name in fc.REFERENCES})


def test_own_error_over_a_two_week_lead_time():
    """SKU a, forecast 5 a week, lead time 14 days = 2 weeks (scale √(14 ÷ 14) = 1): the
    errors over the first two weeks of the 6 origins are 2, −2, 2, −2, 4, 0 → σ = √(32 ÷ 6)
    = 2.309; safety at 95% = 1.645 × 2.309 = 3.799. With a 10-day lead time σ is scaled by
    √(10 ÷ 14)."""
    errors = np.array([2.0, -2.0, 2.0, -2.0, 4.0, 0.0])
    forecast = np.full((1, 6, 8), 5.0)
    actual = forecast.copy()
    actual[0, :, 0] += errors  # the whole error in week 1, none in week 2
    scored = np.ones((1, 6, 8), dtype=bool)
    sigma, source = planning.lead_time_error(_backtest(actual, forecast, scored),
                                             np.array(["smooth"]), np.array([14]),
                                             np.array([10.0]))
    assert sigma[0] == pytest.approx(np.sqrt(32 / 6)) and source[0] == "SKU"
    assert planning.safety_stock(sigma, 0.95)[0] == pytest.approx(3.7987, abs=1e-4)
    short, _ = planning.lead_time_error(_backtest(actual, forecast, scored),
                                        np.array(["smooth"]), np.array([10]), np.array([7.0]))
    assert short[0] == pytest.approx(np.sqrt(32 / 6) * np.sqrt(10 / 14))


def test_too_few_errors_pool_by_demand_class_else_poisson():
    """b has 3 origins in stock (fewer than 6): pooled with a (same class). Over a's 6 and
    b's 3 two-week windows: squared errors 4, 4, 4, 4, 16, 0 and 0, 0, 0 → RMS √(32 ÷ 9) =
    1.886, mean forecast 10 → 0.1886 of the forecast; b's forecast over its lead time is 20
    → σ = 3.771. c (lumpy, never in stock) has no class errors: √9 = 3 (Poisson)."""
    forecast = np.full((3, 6, 8), 5.0)
    actual = forecast.copy()
    actual[0, :, 0] += np.array([2.0, -2.0, 2.0, -2.0, 4.0, 0.0])
    scored = np.ones((3, 6, 8), dtype=bool)
    scored[1, 3:] = False
    scored[2] = False
    sigma, source = planning.lead_time_error(
        _backtest(actual, forecast, scored), np.array(["smooth", "smooth", "lumpy"]),
        np.array([14, 14, 7]), np.array([10.0, 20.0, 9.0]))
    assert source.tolist() == ["SKU", "class", "Poisson"]
    assert sigma[1] == pytest.approx(np.sqrt(32 / 9) / 10 * 20)
    assert sigma[2] == pytest.approx(3.0)


def test_higher_service_level_means_more_safety_stock():
    """z(0.5) = 0: no safety stock; z(0.99) = 2.326."""
    sigma = np.array([1.0, 4.0])
    assert planning.safety_stock(sigma, 0.5).tolist() == [0.0, 0.0]
    assert planning.safety_stock(sigma, 0.99) == pytest.approx([2.3263, 9.3054], abs=1e-4)


def test_service_level_setting_replaces_safety_days():
    """service_level defaults to 95%; the old safety_days is refused with how to fix it."""
    assert Settings.from_dict({}).stock.service_level == 0.95
    with pytest.raises(SettingsError, match="replace safety_days with service_level"):
        Settings.from_dict({"stock": {"safety_days": 7}})
    for bad in (1, 0.3, "95%"):
        with pytest.raises(SettingsError, match="stock.service_level"):
            Settings.from_dict({"stock": {"service_level": bad}})


@pytest.fixture(scope="module")
def stockouts(small_demo_store):
    t = small_demo_store.table
    history = fc.demand_history(t("orders"), t("order_lines"), t("inventory_snapshots"),
                                t("products"), t("promotions"),
                                window=fc.read_window(small_demo_store.window(DEMO_UNTIL)))
    tested = fc.backtest(history, report_date=DEMO_UNTIL)

    def run(level: float):
        return planning.backtest_stockouts(
            history, tested, t("products"), t("inventory_snapshots"), t("orders"),
            t("order_lines"), t("purchase_orders"), as_of=small_demo_store.window(DEMO_UNTIL),
            service_level=level, cover_days=28)
    return run


def test_stockouts_avoided_in_the_backtest(stockouts):
    """Per origin, avoided ≤ out-of-stock days; the total row adds them up; a higher
    service level (more safety stock, earlier and larger orders) avoids at least as many."""
    low, high = stockouts(0.5), stockouts(0.99)
    for frame in (low, high):
        assert (frame.count_stockout_days_avoided <= frame.count_stockout_days).all()
        assert frame.iloc[-1].count_stockout_days == frame.count_stockout_days[:-1].sum()
    assert high.iloc[-1].count_stockout_days > 0
    assert high.iloc[-1].count_stockout_days_avoided > 0
    assert high.iloc[-1].count_stockout_days_avoided >= low.iloc[-1].count_stockout_days_avoided


@settings(max_examples=25, deadline=None)
@given(scale=st.floats(0.1, 10), lead=st.integers(1, 70),
       errors=st.lists(st.floats(-20, 20), min_size=6, max_size=6))
def test_lead_time_error_scales_with_demand(scale, lead, errors):
    """Metamorphic: a shop selling c times as much with c times the errors needs c times the
    safety stock, whether σ is the SKU's own or its class's."""
    forecast = np.full((2, 6, 8), 5.0)
    actual = forecast + np.array(errors)[None, :, None]
    scored = np.ones((2, 6, 8), dtype=bool)
    scored[1, 2:] = False  # the second SKU pools with the first
    classes, leads = np.array(["smooth", "smooth"]), np.array([lead, lead])
    base, _ = planning.lead_time_error(_backtest(actual, forecast, scored), classes, leads,
                                       np.array([10.0, 10.0]))
    scaled, _ = planning.lead_time_error(_backtest(scale * actual, scale * forecast, scored),
                                         classes, leads, np.array([10.0, 10.0]) * scale)
    assert scaled == pytest.approx(scale * base, rel=1e-9, abs=1e-9)
