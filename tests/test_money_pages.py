"""The money sections of the weekly and monthly pages: flags on the comparison tables, the
waterfall, and every column a person reads named in the glossary."""

from __future__ import annotations

import datetime as dt

import pytest
from demo_data import DEMO_UNTIL

from opslib import glossary
from opslib.config import Settings
from opslib.metrics import policy, profit
from opslib.store import Store, Window
from opslib.views import money
from opslib.views.monthly import money as monthly_money
from opslib.views.weekly import kpi_report
from opslib.views.weekly import money as weekly_money

WEEK = Window.of(DEMO_UNTIL - dt.timedelta(days=6), DEMO_UNTIL, zone="Europe/London")


@pytest.fixture(scope="module")
def banded(small_demo_dir) -> Store:
    """The demo store with a net sales band no week can reach, and a wide alert band."""
    return Store.open(small_demo_dir, Settings.from_dict({"targets": {
        "alert_band": 0.99, "bands": {"net_sales": {"low": 1e9}}}}))


def _html(section) -> str:
    return "".join(part._repr_mimebundle_().get("text/html", "") for part in section.parts
                   if hasattr(part, "_repr_mimebundle_"))


def test_weekly_comparison_flags_a_figure_outside_its_band(banded):
    """Net sales below the band: its row says why and is red; the tile is flagged."""
    html = _html(kpi_report.headline(banded, WEEK))
    assert "below the band (low 1e+09)" in html
    assert "outside alert band" in html


def test_monthly_comparison_flags_a_figure_outside_its_band(banded):
    html = _html(monthly_money.profit_headline(banded, DEMO_UNTIL))
    assert "below the band (low 1e+09)" in html


def test_no_flag_within_the_bands(small_demo_dir):
    """With an alert band of 99% and no bands, nothing on the money table is flagged."""
    store = Store.open(small_demo_dir, Settings.from_dict({"targets": {"alert_band": 0.99}}))
    assert "below the band" not in _html(weekly_money.gross_profit(store, WEEK))


def test_the_waterfall_ends_at_the_contribution_margin(small_demo_store):
    """The chart's steps add up to the recorded contribution margin."""
    month = Window.of("2025-11-01", DEMO_UNTIL, zone="Europe/London")
    parts = money.contribution_parts(small_demo_store, month)
    steps = profit.contribution_steps(parts)
    assert steps.end.iloc[-1] == pytest.approx(parts["contribution_margin"])
    assert all(parts[name] > 0 for name, _ in profit.CONTRIBUTION_STEPS), parts
    assert monthly_money.figures(small_demo_store, DEMO_UNTIL)["contribution_margin"] == \
        pytest.approx(parts["contribution_margin"])


def test_the_free_shipping_what_if_reads_the_shipping_pnl(small_demo_store):
    """From a threshold of 0 every order is 'above': the what-if's carrier cost and
    shipping charged are the shipping P&L's totals."""
    t = small_demo_store.table
    month = Window.of("2025-11-01", DEMO_UNTIL, zone="Europe/London")
    what_if = policy.free_shipping_what_if(t("orders"), t("order_lines"), t("shipments"),
                                           window=month, thresholds=[0.0]).iloc[0]
    totals = profit.shipping_totals(profit.shipping_pnl(t("orders"), t("shipments"),
                                                        window=month))
    assert what_if.carrier_cost_above == pytest.approx(totals["shipping_cost"])
    assert what_if.shipping_charged_above == pytest.approx(totals["shipping_charged"])


def test_every_money_column_has_a_glossary_entry(small_demo_store):
    """Each column the money sections show is named in the glossary (label, unit, meaning)."""
    month = Window.of("2025-11-01", DEMO_UNTIL, zone="Europe/London")
    frames = [money.sales_by(small_demo_store, WEEK, "channel"),
              money.shipping(small_demo_store, month),
              money.profit_days(small_demo_store, month),
              monthly_money._by_sku(small_demo_store, month),
              monthly_money._cohorts(small_demo_store, DEMO_UNTIL),
              money.pacing(small_demo_store, DEMO_UNTIL)]
    columns = {c for frame in frames for c in frame.columns} - {"is_projected_to_miss"}
    assert sorted(c for c in columns if glossary.entry(c) is None) == []
