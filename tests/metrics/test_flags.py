"""Flags on weekly and monthly figures (opslib.metrics.flags)."""

from __future__ import annotations

import pandas as pd

from opslib.metrics import flags, periods


def test_bands_win_over_the_alert_band():
    """conversion_rate has a band: a 50% drop inside it is not flagged; net_sales has none:
    a 40% drop against last year is."""
    frame = periods.compare_periods(
        [("conversion_rate", "Conversion", "rate"), ("net_sales", "Net sales", "money")],
        {"conversion_rate": 0.02, "net_sales": 60.0},
        {"conversion_rate": 0.04, "net_sales": 62.0},
        {"conversion_rate": 0.04, "net_sales": 100.0})
    out = flags.flag_periods(frame, alert_band=0.3,
                             bands={"conversion_rate": {"low": 0.01, "high": 0.06}})
    assert out.is_flagged.tolist() == [False, True]
    assert out.flag_reason.tolist() == ["", "down 40% vs last year"]


def test_unknown_values_raise_no_flag():
    """No base (a first week, or last year out of reach): nothing to flag."""
    frame = periods.compare_periods([("count_orders", "Orders", "count")],
                                    {"count_orders": 10}, {"count_orders": 0}, None)
    assert not flags.flag_periods(frame, alert_band=0.3).is_flagged.iloc[0]
    assert flags.flag_reason("x", None, None, None, alert_band=0.3,
                             bands={"x": {"low": 1}}) == ""


def test_the_input_frame_is_not_changed():
    frame = pd.DataFrame({"kpi": ["a"], "value": [2.0], "change_vs_prev": [1.0],
                          "change_vs_last_year": [None]})
    flags.flag_periods(frame, alert_band=0.3)
    assert list(frame.columns) == ["kpi", "value", "change_vs_prev", "change_vs_last_year"]
