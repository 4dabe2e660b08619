"""Cost of goods, gross profit, shipping P&L and contribution margin (opslib.metrics.profit):
golden values on the hand-built money store, reconciliation over days, weeks and a month,
and an independent pandas recomputation on the demo store."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from demo_data import DEMO_UNTIL
from money_store import TABLES

from opslib.metrics import profit, sales
from opslib.metrics.months import month_of
from opslib.store import Window

ZONE = "Europe/London"
JUNE = Window.of("2025-06-01", "2025-06-30", zone=ZONE)


@pytest.fixture
def money(tiny_store):
    return tiny_store(TABLES)


def _args(store, *names):
    return [store.table(name) if store.has(name) else None for name in names]


def _daily(store, window=JUNE):
    return profit.daily_profit(*_args(store, "orders", "order_lines", "returns", "products",
                                      "purchase_orders"), window=window)


def test_daily_cogs_and_gross_profit_golden_values(money):
    """1 June: net 55 − 5 = 50; cogs A 2×4 + B 1×7 (latest purchase order before the
    window's end; not the July one at 9) = 15; C has no cost: 1 of 4 units unknown;
    gross profit 35, margin 0.7.
    2 June: net 30 − refund 10 = 20; cogs A 3×4 = 12 (o4 cancelled the same day); gross
    profit 8, margin 0.4."""
    days = _daily(money).set_index("date_day")
    first, second = days.loc["2025-06-01"], days.loc["2025-06-02"]
    assert (first.net_sales, first.cogs, first.gross_profit) == (50.0, 15.0, 35.0)
    assert first.gross_margin_rate == pytest.approx(0.7)
    assert (first.quantity_sold, first.quantity_cost_unknown) == (4, 1)
    assert first.unknown_cost_rate == pytest.approx(0.25)
    assert (second.net_sales, second.cogs, second.gross_profit) == (20.0, 12.0, 8.0)
    assert second.unknown_cost_rate == 0.0
    assert len(days) == 30 and days.loc["2025-06-03"].cogs == 0.0
    assert pd.isna(days.loc["2025-06-03"].gross_margin_rate)


def test_month_totals_golden_values(money):
    """June: net 70, cogs 27, gross profit 43, margin 43 ÷ 70; 1 of 7 units of unknown cost."""
    out = profit.profit_totals(_daily(money))
    assert (out["net_sales"], out["cogs"], out["gross_profit"]) == (70.0, 27.0, 43.0)
    assert out["gross_margin_rate"] == pytest.approx(43 / 70)
    assert out["unknown_cost_rate"] == pytest.approx(1 / 7)


def test_a_product_without_cost_shows_in_the_unknown_share_and_never_as_zero(money,
                                                                            tiny_store):
    """C has no cost: its SKU row has no cogs or gross profit, its unit is in the unknown
    share. Giving C a cost of 5 adds exactly 1 × 5 to cogs and clears the unknown share."""
    skus = profit.profit_by_sku(*_args(money, "orders", "order_lines", "returns", "products",
                                       "purchase_orders"), window=JUNE).set_index("sku")
    assert not skus.loc["C", "is_cost_known"]
    assert pd.isna(skus.loc["C", "cogs"]) and pd.isna(skus.loc["C", "gross_profit"])
    assert skus.loc["B", "unit_cost"] == 7.0 and skus.loc["B", "gross_profit"] == 13.0
    assert skus.loc["A", "net_sales"] == 40.0 and skus.loc["A", "gross_profit"] == 20.0
    costed = {**TABLES, "products": [dict(p, unit_cost=5.0) if p["sku"] == "C" else p
                                     for p in TABLES["products"]]}
    before = profit.profit_totals(_daily(money))
    after = profit.profit_totals(_daily(tiny_store(costed)))
    assert after["cogs"] == before["cogs"] + 5.0
    assert (before["quantity_cost_unknown"], after["quantity_cost_unknown"]) == (1, 0)


def test_categories_add_up_to_the_store(money):
    """Cups: 40 − 20 = 20; Plates: 35 − 7 (C unknown adds no cost) = 28, 1 unit unknown;
    (no product): the order discount −5. The rows add up to net 70 and cogs 27."""
    frame = profit.profit_by_category(*_args(money, "orders", "order_lines", "returns",
                                             "products", "purchase_orders"),
                                      window=JUNE).set_index("category")
    assert frame.loc["Cups", ["net_sales", "cogs", "gross_profit"]].tolist() == [40, 20, 20]
    assert frame.loc["Plates", ["net_sales", "cogs", "gross_profit"]].tolist() == [35, 7, 28]
    assert frame.loc["Plates", "quantity_cost_unknown"] == 1
    assert frame.loc["(no product)", "net_sales"] == -5.0
    assert frame.net_sales.sum() == 70.0 and frame.cogs.sum() == 27.0


def test_profit_changes_rank_gains_and_drops():
    """A gains 20 − 5 = 15; B drops 3 − 10 = −7; C (unknown cost) is left out."""
    now = pd.DataFrame({"sku": ["A", "B", "C"], "title": ["a", "b", "c"],
                        "category": ["x"] * 3, "gross_profit": [20.0, 3.0, None],
                        "net_sales": [40.0, 10.0, 15.0], "is_cost_known": [True, True, False]})
    before = now.assign(gross_profit=[5.0, 10.0, None])
    frame = profit.profit_changes(now, before)
    assert frame[["rank_label", "sku", "gross_profit_change"]].values.tolist() == \
        [["gain", "A", 15.0], ["drop", "B", -7.0]]


def test_shipping_pnl_golden_values(money):
    """DPD: o1 charged 4.50, parcel 6 → −1.50. Royal Mail: o3 charged 4.50, two parcels
    3.20 + 2 → −0.70. o2 is not shipped: charged 0, cost 0."""
    frame = profit.shipping_pnl(money.table("orders"), money.table("shipments"),
                                window=JUNE).set_index("carrier")
    assert frame.loc["DPD", ["count_orders", "count_shipments"]].tolist() == [1, 1]
    assert frame.loc["DPD", "shipping_margin"] == pytest.approx(-1.5)
    assert frame.loc["Royal Mail", "count_shipments"] == 2
    assert frame.loc["Royal Mail", "shipping_cost"] == pytest.approx(5.2)
    assert frame.loc[profit.NOT_SHIPPED, "count_orders"] == 1
    totals = profit.shipping_totals(frame)
    assert totals["shipping_charged"] == 9.0
    assert totals["shipping_margin"] == pytest.approx(-2.2)


def test_contribution_margin_golden_value(money):
    """70 − 27 + 9 − 11.20 − fees 3.50 (the July fee and the payout left out) − ads 10
    (May's left out) = 27.30; the waterfall ends there."""
    parts = profit.profit_totals(_daily(money))
    parts.update(profit.shipping_totals(profit.shipping_pnl(
        money.table("orders"), money.table("shipments"), window=JUNE)))
    parts["payment_fees"] = profit.payment_fees(money.table("bank_transactions"), window=JUNE)
    parts["ad_spend"] = profit.ad_spend(money.table("ad_spend_daily"), window=JUNE)
    assert (parts["payment_fees"], parts["ad_spend"]) == (3.5, 10.0)
    assert profit.contribution_margin(parts) == pytest.approx(27.3)
    steps = profit.contribution_steps(parts)
    assert steps.end.iloc[-1] == pytest.approx(27.3)
    assert steps.amount.iloc[:-1].sum() == pytest.approx(27.3)


def test_without_optional_tables_costs_are_zero_not_errors(money):
    """No purchase orders: B's cost is unknown too; no shipments: every order unshipped."""
    days = profit.daily_profit(*_args(money, "orders", "order_lines", "returns", "products"),
                               None, window=JUNE)
    assert profit.profit_totals(days)["quantity_cost_unknown"] == 2
    frame = profit.shipping_pnl(money.table("orders"), None, window=JUNE)
    assert frame.carrier.tolist() == [profit.NOT_SHIPPED] and frame.count_orders.iloc[0] == 3
    assert profit.payment_fees(None, window=JUNE) == 0.0


def _demo(store, window):
    return profit.daily_profit(*_args(store, "orders", "order_lines", "returns", "products",
                                      "purchase_orders"), window=window)


def test_cogs_and_gross_profit_reconcile_days_weeks_and_month(small_demo_store):
    """November on the demo store: Σ daily = each week's own call = the month's own call."""
    month = month_of(DEMO_UNTIL, zone=ZONE)
    days = _demo(small_demo_store, month)
    whole = profit.profit_totals(days)
    assert whole["cogs"] > 0 and whole["quantity_cost_unknown"] > 0
    weeks = [Window.of(start, min(start + dt.timedelta(days=6), month.end), zone=ZONE)
             for start in pd.date_range(month.start, month.end, freq="7D").date]
    by_week = [profit.profit_totals(_demo(small_demo_store, week)) for week in weeks]
    for name in ("cogs", "gross_profit", "net_sales"):
        assert sum(w[name] for w in by_week) == pytest.approx(whole[name])
        assert float(days[name].sum()) == pytest.approx(whole[name])
    assert whole["net_sales"] == pytest.approx(sales.totals(sales.daily_sales(
        *_args(small_demo_store, "orders", "order_lines", "returns"), window=month))["net_sales"])


def test_cogs_agree_with_pandas_on_the_parquet(small_demo_dir, small_demo_store):
    """An independent recomputation from the Parquet files: counted November orders (local
    day, same-day cancellations out), their lines × the product's cost, else the latest
    purchase order's, the rest unknown."""
    read = lambda name: pd.read_parquet(small_demo_dir / "tables" / f"{name}.parquet")  # noqa: E731
    orders, lines = read("orders"), read("order_lines")
    products, pos = read("products"), read("purchase_orders")
    local = orders.created_at.dt.tz_convert(ZONE)
    day = local.dt.date
    cancel = orders.cancelled_at.dt.tz_convert(ZONE).dt.date
    counted = orders[(day >= dt.date(2025, 11, 1)) & (day <= DEMO_UNTIL)
                     & ~(cancel.notna() & (cancel <= day))]
    sold = lines[lines.order_id.isin(counted.order_id)]
    end = pd.Timestamp(DEMO_UNTIL + dt.timedelta(days=1)).tz_localize(ZONE)
    latest = pos[pos.ordered_at < end].sort_values("ordered_at").groupby("sku").unit_cost.last()
    cost = sold.sku.map(products.set_index("sku").unit_cost).fillna(sold.sku.map(latest))
    expected_cogs = float((sold.quantity * cost).sum())
    expected_unknown = int(sold.quantity[cost.isna()].sum())
    got = profit.profit_totals(_demo(small_demo_store, month_of(DEMO_UNTIL, zone=ZONE)))
    assert got["cogs"] == pytest.approx(expected_cogs)
    assert got["quantity_cost_unknown"] == expected_unknown
