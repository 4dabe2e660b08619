"""The demand forecast and its backtest (opslib.metrics.forecast)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def test_forecast_ignores_stock_out_days(stock_out_store, tiny_store):
    """A sold 2 a day on its 14 in-stock days, then 14 days out of stock; B 1 a day. A's
    share is measured on its in-stock days only (2 of every 3 units then), so it gets more
    than if the same zeros were days in stock without a sale (share 28 of 56 units)."""
    history = _history(stock_out_store, "2025-06-28")
    model = fc.forecast_weeks(history, origin=dt.date(2025, 6, 28), weeks=2)
    naive = fc.baseline_weeks(history, origin=dt.date(2025, 6, 28), weeks=2)
    row = {sku: i for i, sku in enumerate(history.skus)}
    # Shares 2/3 and about 28/56 = 1/2 (B's recent days weigh more) scaled to add up to 1:
    # about 4/7 and 3/7 of the store's 2 units a day.
    assert model[row["A"]].tolist() == pytest.approx([8.0, 8.0], rel=0.02)
    assert model[row["A"]] + model[row["B"]] == pytest.approx([14.0, 14.0])
    assert naive[row["A"]].tolist() == pytest.approx([7.0, 7.0])
    unsold = _history(_in_stock_but_unsold(stock_out_store, tiny_store), "2025-06-28")
    same_zeros = fc.forecast_weeks(unsold, origin=dt.date(2025, 6, 28), weeks=2)
    assert same_zeros[row["A"]].tolist() == pytest.approx([7.0, 7.0], rel=0.03)
    assert (model[row["A"]] > 1.1 * same_zeros[row["A"]]).all()


def _in_stock_but_unsold(store, tiny_store):
    """The same sales, but A's last 14 days show stock on hand (no sale: no demand)."""
    t = store.table
    snaps = t("inventory_snapshots").to_pandas().assign(on_hand=50).to_dict("records")
    return tiny_store({"orders": t("orders").to_pandas().to_dict("records"),
                       "order_lines": t("order_lines").to_pandas().to_dict("records"),
                       "inventory_snapshots": snaps,
                       "products": t("products").to_pandas().to_dict("records")})


def test_wape_golden():
    """|10 − 8| + |0 − 1| + |5 − 5| = 3 over 15 units sold = 0.2."""
    assert fc.wape(np.array([10.0, 0.0, 5.0]), np.array([8.0, 1.0, 5.0])) == pytest.approx(0.2)
    assert fc.wape(np.zeros(2), np.ones(2)) is None


def test_backtest_origins_spread_over_the_last_year(small_demo_store):
    """For 30 Nov 2025: 13 origins 3 weeks apart, the last 8 weeks before D (5 Oct), the
    first 44 weeks before (25 Jan); their 8-week forecasts cover the year to D."""
    origins = fc.backtest_origins(DEMO_UNTIL)
    assert len(origins) == 13 and str(origins[-1]) == "2025-10-05"
    assert str(origins[0]) == "2025-01-26"
    assert {(b - a).days for a, b in zip(origins, origins[1:])} == {21}
    tested = _demo_backtest(small_demo_store)
    assert tested.actual.shape == (len(tested.skus), len(tested.origins), 8)
    assert tested.by_origin().iloc[-1].count_sku_weeks == tested.scored.sum()


def _demo_backtest(store, day=DEMO_UNTIL, read_to=None):
    t = store.table
    history = fc.demand_history(t("orders"), t("order_lines"), t("inventory_snapshots"),
                                t("products"), t("promotions"),
                                window=fc.read_window(store.window(read_to or day)))
    return fc.backtest(history, report_date=day)


def test_backtest_references_by_hand(stock_out_store):
    """B sells 1 a day in stock all the time: every reference forecasts 7 a week (no year of
    history: seasonal naive = baseline) and every error is 0. A's stock-out weeks are not
    scored."""
    history = _history(stock_out_store, "2025-06-28")
    b = history.skus.index("B")
    origin = dt.date(2025, 6, 28) - dt.timedelta(weeks=8)
    assert history.index_of(origin) < fc.BASELINE_DAYS - 1
    assert not fc.can_backtest(history, dt.date(2025, 6, 28))
    assert fc.seasonal_naive_weeks(history, origin=dt.date(2025, 6, 28))[b].tolist() == \
        pytest.approx([7.0] * 8)


def test_room_captured_golden():
    """(0.56 − 0.50) ÷ (0.56 − 0.48) = 0.75; no room (hindsight not better) → None."""
    assert fc.room_captured(0.50, 0.56, 0.48) == pytest.approx(0.75)
    assert fc.room_captured(0.50, 0.48, 0.48) is None


def test_backtest_errors_golden():
    """Two SKU-weeks scored (one not): actual 10 and 5, forecast 8 and 6 → WAPE 3 ÷ 15 =
    0.2, bias (−2 + 1) ÷ 15."""
    actual = np.array([[[10.0, 5.0, 100.0]]])
    scored = np.array([[[True, True, False]]])
    tested = fc.Backtest(skus=("a",), origins=(dt.date(2025, 1, 1),), actual=actual,
                         scored=scored, forecasts={name: np.array([[[8.0, 6.0, 0.0]]])
                                                   for name in fc.REFERENCES})
    assert tested.errors("forecast") == pytest.approx({"wape": 0.2, "bias": -1 / 15})
    assert tested.by_horizon().forecast_wape.tolist()[:2] == pytest.approx([0.2, 0.2])


def test_backtest_is_the_same_for_a_store_that_continues(small_demo_store):
    """Metamorphic: the backtest as of 30 Sep 2025 read from a history that stops there and
    from one that goes on to 30 Nov is the same (nothing after D is used)."""
    day = dt.date(2025, 9, 30)
    cut = _demo_backtest(small_demo_store, day)
    longer = _demo_backtest(small_demo_store, day, read_to=DEMO_UNTIL)
    rows = [longer.skus.index(s) for s in cut.skus]
    assert cut.origins == longer.origins
    for name in fc.REFERENCES:
        assert np.allclose(cut.forecasts[name], longer.forecasts[name][rows])
    assert cut.figures() == pytest.approx(longer.figures())


def test_demand_classes_syntetos_boylan(tiny_store):
    """Weekly sales over 4 in-stock weeks: 2,2,2,2 smooth; 4,0,4,0 intermittent (ADI 2);
    1,9,1,9 erratic (CV² 0.64); 1,0,9,0 lumpy; a SKU that never sold is intermittent."""
    pattern = {"S": [2, 2, 2, 2], "I": [4, 0, 4, 0], "E": [1, 9, 1, 9], "L": [1, 0, 9, 0],
               "N": [0, 0, 0, 0]}
    orders, lines, snaps = [], [], []
    for w in range(4):
        for d in range(7):
            day = dt.date(2025, 6, 2) + dt.timedelta(weeks=w, days=d)
            for sku, units in pattern.items():
                snaps.append({"snapshot_date": day, "sku": sku, "on_hand": 50,
                              "committed": 0, "incoming": 0})
                if d == 0 and units[w]:
                    oid = f"{sku}{w}"
                    when = at(f"{day} 12:00")
                    orders.append({"order_id": oid, "order_number": oid, "created_at": when})
                    lines.append({"order_id": oid, "line_number": 1, "created_at": when,
                                  "sku": sku, "quantity": units[w], "unit_price": 10.0})
    products = [{"sku": s, "product_id": s, "title": s, "category": "c", "price": 10.0}
                for s in pattern]
    store = tiny_store({"orders": orders, "order_lines": lines, "inventory_snapshots": snaps,
                        "products": products})
    t = store.table
    history = fc.demand_history(t("orders"), t("order_lines"), t("inventory_snapshots"),
                                t("products"), None,
                                window=Window.of("2025-06-02", "2025-06-29", zone=ZONE))
    classes = dict(zip(history.skus, fc.demand_classes(history, len(history.days) - 1)))
    assert classes == {"S": "smooth", "I": "intermittent", "E": "erratic", "L": "lumpy",
                       "N": "intermittent"}


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


def _promo_history(n_days, promotions, units):
    """One SKU selling `units[day]`, always in stock, with the given promotions
    (code, kind, first day index, last day index)."""
    days = pd.date_range("2024-01-01", periods=n_days, freq="D")
    frame = pd.DataFrame([{"promo_code": code, "kind": kind, "first_day": days[a],
                           "last_day": days[b]} for code, kind, a, b in promotions])
    return fc.DemandHistory(days=days, skus=("A",), categories=("c",),
                            category_of=np.array([0]), units=np.asarray(units)[None, :],
                            available=np.full((1, n_days), 50.0),
                            incoming=np.zeros((1, n_days)), promotions=frame)


def test_a_promotion_repeated_yearly_gets_the_mean_lift_of_its_past_runs():
    """P ran 3 days a year for two years (units ×2, then ×1.5: lifts 1.75 and 1.375 at
    PROMO_WEIGHT 0.75); a 7-day sale of the same kind sold ×3 once. The planned third P gets
    the mean of its own runs (1.5625), not the median of the kind's promotion days (2.5)."""
    units = np.full(940, 10.0)
    units[100:107] = 30.0
    units[200:203] = 20.0
    units[564:567] = 15.0
    history = _promo_history(940, [("Q1", "percent", 100, 106), ("P1", "percent", 200, 202),
                                   ("P2", "percent", 564, 566), ("P3", "percent", 928, 930)],
                             units)
    daily = fc.forecast_daily(history, origin=history.days[910].date(), days=28)[0]
    week = daily[14:21]  # days 925–931: P3 on 928–930
    assert week[3:6] / week[0] == pytest.approx([1.5625] * 3)
    assert week[6] == pytest.approx(week[0])


def test_overlapping_promotions_take_the_larger_lift():
    """A one-day sale (units ×3 last year: lift 2.5) on the first day of a 20-day free-shipping
    promotion (units ×1.29 over its days: lift 1.2175), listed after it; the day they overlap
    gets the larger lift, the other days the long one's."""
    units = np.full(800, 10.0)
    units[200:220] = 12.0
    units[200] = 30.0
    history = _promo_history(800, [("C1", "percent", 200, 200),
                                   ("L1", "free_shipping", 200, 219),
                                   ("C2", "percent", 564, 564),
                                   ("L2", "free_shipping", 564, 583)], units)
    daily = fc.forecast_daily(history, origin=history.days[540].date(), days=56)[0]
    week = daily[21:28]  # one forecast week, days 562–568: C2 and L2 start on 564
    assert week[2] / week[0] == pytest.approx(2.5)
    assert week[3:] / week[0] == pytest.approx([1.2175] * 4)


def _two_categories(a_units, b_units):
    """SKU a (category A) and SKU b (category B) selling `a_units` and `b_units` a day,
    always in stock, no promotions."""
    days = pd.date_range("2024-01-01", periods=len(a_units), freq="D")
    units = np.array([a_units, b_units], dtype=float)
    return fc.DemandHistory(days=days, skus=("a", "b"), categories=("A", "B"),
                            category_of=np.array([0, 1]), units=units,
                            available=np.full(units.shape, 50.0),
                            incoming=np.zeros(units.shape),
                            promotions=pd.DataFrame(columns=["promo_code", "kind",
                                                             "first_day", "last_day"]))


@pytest.mark.parametrize(("a_blocks", "expected"), [((40, 20, 30), 0.379),
                                                    ((31, 29, 30), 0.300)])
def test_category_mix_is_shrunk_toward_the_years_share(a_blocks, expected):
    """Three 56-day blocks of 100 units each (newest first A 40, 20, 30; B the rest): A's
    shares p = .4, .2, .3 vary by τ² = var(p) − noise = .01 − .0021 (noise = p̄(1 − p̄) ÷ n
    = .3 × .7 ÷ 100, p̄ = .3), so the recent share .4 keeps weight .0079 ÷ (.0079 + .0021)
    = .79: .79 × .4 + .21 × .3 = .379 of the store's units go to A (the old rule: .4).
    With shares .31, .29, .30 the variance (.0001) is all noise: A gets the year's .3."""
    a = np.repeat(np.array(a_blocks[::-1], dtype=float) / 56, 56)
    history = _two_categories(a, 100 / 56 - a)
    daily = fc.forecast_daily(history, origin=history.days[-1].date(), days=7)
    assert daily[0] / daily.sum(axis=0) == pytest.approx([expected] * 7, abs=1e-9)
    assert daily.sum(axis=0) == pytest.approx([100 / 56] * 7)  # the store's level unchanged


def test_category_season_pools_the_same_weeks_two_years_back():
    """A and B sell 10 a day each for 800 days, except A sold 20 a day in the week after
    the origin's date a year earlier. The forecast's first week looks at those ±14 days
    (35 days) one and two years back: a year back A had 420 of 770 units, share .5455 =
    1.0909 × its .5 before, B .9091 × (350 units); two years back both 1 × (350 units).
    Pooled by units: A (420 × 1.0909 + 350) ÷ 770 = 1.0496, moved 770 ÷ 970 of the way
    from 1: 1.0394; B (350 × .9091 + 350) ÷ 700 = .9545, moved 700 ÷ 900: .9646. A's share
    .5 × 1.0394 ÷ (.5 × 1.0394 + .5 × .9646) = .5187 (one year only: .5298)."""
    a = np.full(800, 10.0)
    a[799 - 364 + 1:799 - 364 + 8] = 20.0
    history = _two_categories(a, np.full(800, 10.0))
    daily = fc.forecast_daily(history, origin=history.days[799].date(), days=7)
    assert daily[0] / daily.sum(axis=0) == pytest.approx([0.5187] * 7, abs=2e-4)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 60), st.integers(1, 60)), min_size=3, max_size=6))
def test_shrunk_share_lies_between_recent_and_yearly_and_trusts_more_units(blocks):
    """Each category's shrunk share lies between its newest block's share and its share
    over all blocks; with ten times the units (less noise) it moves toward the newest."""
    counts = np.array(blocks, dtype=float).T
    recent = counts[:, 0] / counts[:, 0].sum()
    overall = counts.sum(axis=1) / counts.sum()
    shrunk, sharper = fc._shrunk_share(counts), fc._shrunk_share(10 * counts)
    low, high = np.minimum(recent, overall), np.maximum(recent, overall)
    assert ((low - 1e-12 <= shrunk) & (shrunk <= high + 1e-12)).all()
    assert (np.abs(sharper - recent) <= np.abs(shrunk - recent) + 1e-12).all()
