"""Customer and loyalty metrics on a tiny hand-built store (zone Europe/London).

The store, as of D = 30 June 2025 (every order at 12:00 local unless said, no discounts):

    c1  10 Jan £100, 9 Feb £100, 11 Mar £100      gaps 30, 30 → usual interval 30
    c2  1 Apr £50, 1 May £50, 1 Jun £50           gaps 30, 31 → usual interval 30.5
        + 1 Jul 00:30 local £50 (23:30 UTC on 30 June: July locally, never seen as of June)
    c3  5 Jun £40, 20 Jun £20                     gap 15
    c4  10 Jun £30                                one order, not subscribed
    c5  20 Mar £25                                one order, subscribed
    c6  20 Jan £10, 1 May £10                     gap 101
    o14    15 Jun £60                             no customer_id and no email: unknown

Days since the last order on 30 June: c1 111, c2 29, c3 10, c4 20, c5 102, c6 60.
Store median time to second order: median(c1 30, c2 30, c3 15, c6 101) = 30.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opslib.metrics import customers as cm
from opslib.metrics import sales, social
from opslib.metrics.months import month_of
from opslib.store import Window

from handbuilt import at, build_store

ZONE = "Europe/London"
JUNE = month_of("2025-06-30", zone=ZONE)
D = Window.of("2025-06-30", zone=ZONE)

_ORDERS = [
    ("o1", "c1", "2025-01-10 12:00", 100.0), ("o2", "c1", "2025-02-09 12:00", 100.0),
    ("o3", "c1", "2025-03-11 12:00", 100.0),
    ("o4", "c2", "2025-04-01 12:00", 50.0), ("o5", "c2", "2025-05-01 12:00", 50.0),
    ("o6", "c2", "2025-06-01 12:00", 50.0), ("o7", "c2", "2025-07-01 00:30", 50.0),
    ("o8", "c3", "2025-06-05 12:00", 40.0), ("o9", "c3", "2025-06-20 12:00", 20.0),
    ("o10", "c4", "2025-06-10 12:00", 30.0),
    ("o11", "c5", "2025-03-20 12:00", 25.0),
    ("o12", "c6", "2025-01-20 12:00", 10.0), ("o13", "c6", "2025-05-01 12:00", 10.0),
    ("o14", None, "2025-06-15 12:00", 60.0),
]


@pytest.fixture
def loyalty_store(tiny_store):
    """The store of the module docstring, with surveys in June."""
    orders = [{"order_id": oid, "order_number": f"#{oid}", "customer_id": cid,
               "created_at": at(when), "subtotal": amount, "total_amount": amount}
              for oid, cid, when, amount in _ORDERS]
    lines = [{"order_id": oid, "line_number": 1, "created_at": at(when), "sku": "A",
              "quantity": 1, "unit_price": amount} for oid, _, when, amount in _ORDERS]
    people = [{"customer_id": f"c{i}", "name": f"Customer {i}", "email": f"c{i}@example.com",
               "phone": f"+44 7700 90012{i}", "created_at": at("2025-01-01 09:00"),
               "has_marketing_consent": i == 5} for i in range(1, 7)]
    surveys = [{"response_id": f"s{i}", "submitted_at": at(f"2025-06-{10 + i} 10:00"),
                "kind": kind, "score": score}
               for i, (kind, score) in enumerate([("csat", 5), ("csat", 4), ("csat", 2),
                                                  ("nps", 10), ("nps", 9), ("nps", 7),
                                                  ("nps", 3), ("review", 4), ("review", 5)])]
    return tiny_store({"orders": orders, "order_lines": lines, "customers": people,
                       "surveys": surveys})


def _t(store):
    return store.table("orders"), store.table("order_lines")


def test_new_vs_returning_split(loyalty_store):
    """June: new = c3, c4 (2 customers, 3 orders, 40 + 20 + 30 = £90); returning = c2
    (1 customer, 1 order, £50); unknown 1 order £60. 5 orders, £200 in all — the same as
    the sales functions count for June."""
    frame = cm.new_vs_returning(*_t(loyalty_store), window=JUNE).set_index("customer_type")
    assert frame.loc["new", ["count_customers", "count_orders", "sales_amount"]].tolist() == \
        [2, 3, 90.0]
    assert frame.loc["returning", ["count_customers", "count_orders", "sales_amount"]] \
        .tolist() == [1, 1, 50.0]
    assert pd.isna(frame.loc["unknown", "count_customers"])
    assert frame.loc["unknown", "count_orders"] == 1
    assert frame.loc["new", "avg_order_value"] == pytest.approx(30.0)
    month = sales.totals(sales.daily_sales(*_t(loyalty_store), None, window=JUNE))
    assert frame.count_orders.sum() == month["count_orders"] == 5
    assert frame.sales_amount.sum() == pytest.approx(month["gross_sales"] - month["discounts"])


def test_returning_customer_rate_uses_the_look_back(loyalty_store):
    """June customers: c2, c3, c4 = 3. New: c3, c4. Returning (an order that was not their
    first ever): c2 (third order) and c3 (second order, also in June) → 2 ÷ 3."""
    figures = cm.customer_figures(loyalty_store.table("orders"), window=JUNE)
    assert figures["count_new_customers"] == social.count_new_customers(
        loyalty_store.table("orders"), window=JUNE)
    assert figures == {"count_customers": 3, "count_new_customers": 2,
                       "count_returning_customers": 2,
                       "returning_customer_rate": pytest.approx(2 / 3)}


def test_customer_figures_of_an_empty_month(loyalty_store):
    """August has no orders: counts 0, the rate is empty (no customers to divide by)."""
    figures = cm.customer_figures(loyalty_store.table("orders"),
                                  window=month_of("2025-08-01", zone=ZONE))
    assert figures["count_customers"] == 0 and figures["returning_customer_rate"] is None


def test_repeat_purchase_rate_of_a_cohort(loyalty_store):
    """January's new customers: c1 (second order after 30 days ≤ 90: repeat) and c6 (after
    101 days: not within 90) → 1 ÷ 2. March's (c5, never again) → 0 ÷ 1."""
    january = cm.repeat_purchase_rate(*_t(loyalty_store),
                                      cohort=month_of("2025-01-01", zone=ZONE))
    assert january == {"cohort_month": dt.date(2025, 1, 1), "count_new_customers": 2,
                       "count_repeat_customers": 1, "repeat_purchase_rate": 0.5}
    march = cm.repeat_purchase_rate(*_t(loyalty_store), cohort=month_of("2025-03-01",
                                                                         zone=ZONE))
    assert march["repeat_purchase_rate"] == 0.0


def test_repeat_cohort_is_the_latest_month_with_90_days_passed():
    """30 June: March (31 Mar + 90 days = 29 June ≤ 30 June); April would need 29 July."""
    assert cm.repeat_cohort_month(dt.date(2025, 6, 30), zone=ZONE).start == dt.date(2025, 3, 1)


def test_cohort_retention_golden(loyalty_store):
    """Six cohorts to June: January (c1, c6) ordered in Jan 2/2, Feb c1, Mar c1, Apr none,
    May c6, Jun none → 1, .5, .5, 0, .5, 0. March (c5) → 1, 0, 0, 0. April (c2) → 1, 1, 1
    (its 1 July order is not seen). June (c3, c4) → 1."""
    frame = cm.cohort_retention(*_t(loyalty_store), as_of=D, months=6)
    by_cohort = {month.strftime("%Y-%m"): group.retention_rate.tolist()
                 for month, group in frame.groupby("cohort_month")}
    assert by_cohort == {"2025-01": [1.0, 0.5, 0.5, 0.0, 0.5, 0.0],
                         "2025-03": [1.0, 0.0, 0.0, 0.0], "2025-04": [1.0, 1.0, 1.0],
                         "2025-06": [1.0]}
    matrix = cm.retention_matrix(frame)
    assert matrix.cohort_size.tolist() == [2, 1, 1, 2]
    assert pd.isna(matrix.loc[3, "month_1"])


def test_rfm_scores_golden(loyalty_store):
    """Six customers; R and M score = 1 + ⌊5 × (customers strictly worse) ÷ 6⌋.
    Recency (days): c1 111 (0 worse → 1), c5 102 (1 → 1), c6 60 (2 → 2), c2 29 (3 → 3),
    c4 20 (4 → 4), c3 10 (5 → 5).
    Frequency (from the order count): c4, c5 one order → 1; c3, c6 two → 2; c1, c2 three → 3.
    Monetary: c6 £20 (0 → 1), c5 £25 (1 → 1), c4 £30 (2 → 2), c3 £60 (3 → 3),
    c2 £150 (4 → 4), c1 £300 (5 → 5).
    Segments from (R, F): c1 (1, 3) At risk; c2 (3, 3) Need attention; c3 (5, 2)
    Potential loyalists; c4 (4, 1) Promising; c5 (1, 1) and c6 (2, 2) Hibernating."""
    scores = cm.rfm_scores(*_t(loyalty_store), as_of=D).to_pandas().set_index("customer_id")
    got = scores[["recency_score", "frequency_score", "monetary_score", "rfm_segment"]]
    assert got.sort_index().to_dict("index") == {
        "c1": {"recency_score": 1, "frequency_score": 3, "monetary_score": 5,
               "rfm_segment": "At risk"},
        "c2": {"recency_score": 3, "frequency_score": 3, "monetary_score": 4,
               "rfm_segment": "Need attention"},
        "c3": {"recency_score": 5, "frequency_score": 2, "monetary_score": 3,
               "rfm_segment": "Potential loyalists"},
        "c4": {"recency_score": 4, "frequency_score": 1, "monetary_score": 2,
               "rfm_segment": "Promising"},
        "c5": {"recency_score": 1, "frequency_score": 1, "monetary_score": 1,
               "rfm_segment": "Hibernating"},
        "c6": {"recency_score": 2, "frequency_score": 2, "monetary_score": 1,
               "rfm_segment": "Hibernating"},
    }


def _skewed_store(build, counts: dict[str, tuple[int, int]]):
    """Customers → (orders, days from the last order to 30 June); orders 20 days apart."""
    orders = []
    for cid, (count, since) in counts.items():
        last = dt.datetime(2025, 6, 30, 12) - dt.timedelta(days=since)
        orders += [{"order_id": f"{cid}-{n}", "order_number": f"#{cid}-{n}",
                    "customer_id": cid, "created_at": at(str(last - dt.timedelta(days=20 * n))),
                    "subtotal": 10.0, "total_amount": 10.0} for n in range(count)]
    lines = [{"order_id": o["order_id"], "line_number": 1, "created_at": o["created_at"],
              "sku": "A", "quantity": 1, "unit_price": 10.0} for o in orders]
    return build({"orders": orders, "order_lines": lines})


def test_rfm_frequency_on_a_skewed_store(tiny_store):
    """20 customers, 14 (70%) with one order. As ranks, the 2-order customers would score
    F 1 + ⌊5 × 14 ÷ 20⌋ = 4 and every other repeat customer 5: no F 2 or 3. By order count:
    2 → 2, 3 → 3, 4 → 4, 7 → 5.
    R = 1 + ⌊(customers with more days since their last order) ÷ 4⌋, by days: one00…one07
    300…230 (R 1–2); r3 200 (8 older → R 3); one08…one10 150…130 (R 3); one11…one13
    100…80 and r3b 70 (R 4); r4 10, r7 5, r2a 2, r2b 1 (R 5).
    Segments: r3 (3, 3) Need attention; r3b (4, 3), r2a and r2b (5, 2) Potential loyalists;
    r4 (5, 4) and r7 (5, 5) Champions."""
    counts = {f"one{i:02}": (1, 300 - 10 * i) for i in range(8)}
    counts |= {f"one{i:02}": (1, days) for i, days in zip(range(8, 14),
                                                         (150, 140, 130, 100, 90, 80))}
    counts |= {"r3": (3, 200), "r3b": (3, 70), "r4": (4, 10), "r7": (7, 5), "r2a": (2, 2),
               "r2b": (2, 1)}
    store = _skewed_store(tiny_store, counts)
    scores = cm.rfm_scores(*_t(store), as_of=D).to_pandas().set_index("customer_id")
    assert (scores.frequency_score[[c for c in counts if c.startswith("one")]] == 1).all()
    repeat = scores.loc[["r2a", "r2b", "r3", "r3b", "r4", "r7"]]
    assert repeat[["recency_score", "frequency_score", "rfm_segment"]].values.tolist() == [
        [5, 2, "Potential loyalists"], [5, 2, "Potential loyalists"], [3, 3, "Need attention"],
        [4, 3, "Potential loyalists"], [5, 4, "Champions"], [5, 5, "Champions"]]
    segments = cm.rfm_segments(*_t(store), as_of=D).set_index("rfm_segment").count_customers
    assert (segments["Potential loyalists"], segments["Need attention"]) == (3, 1)


@settings(max_examples=10, deadline=None)
@given(counts=st.lists(st.integers(1, 9), min_size=1, max_size=8),
       extra_one_order=st.integers(0, 12))
def test_more_orders_never_lower_the_frequency_score(tmp_path_factory, counts,
                                                     extra_one_order):
    """Metamorphic: a customer with more orders never has a lower F score, and adding
    one-order customers (a more skewed store) changes nobody else's F score."""
    def scores(people):
        store = _skewed_store(lambda t: build_store(tmp_path_factory.mktemp("rfm"), t), people)
        return cm.rfm_scores(*_t(store), as_of=D).to_pandas().set_index("customer_id")

    people = {f"c{i}": (n, 1 + i) for i, n in enumerate(counts)}
    base = scores(people)
    ranked = base.sort_values("count_orders")
    assert ranked.frequency_score.is_monotonic_increasing
    assert base.frequency_score.between(1, 5).all()
    more = scores(people | {f"new{i}": (1, 50 + i) for i in range(extra_one_order)})
    assert more.frequency_score[base.index].tolist() == base.frequency_score.tolist()


def test_rfm_segments_sizes_and_value(loyalty_store):
    """Hibernating = c5 + c6: 2 customers, £25 + £20 = £45 of £585 lifetime sales; every
    segment is listed (empty ones with 0)."""
    frame = cm.rfm_segments(*_t(loyalty_store), as_of=D).set_index("rfm_segment")
    assert len(frame) == len(cm.RFM_SEGMENTS)
    assert frame.loc["Hibernating", "count_customers"] == 2
    assert frame.loc["Hibernating", "sales_amount_lifetime"] == 45.0
    assert frame.loc["Hibernating", "share_of_sales"] == pytest.approx(45 / 585)
    assert frame.loc["Champions", "count_customers"] == 0
    assert frame.count_customers.sum() == 6


def test_every_r_f_pair_has_exactly_one_segment():
    """The segment grid covers the 25 (R, F) pairs once each."""
    pairs = [(r, f) for _, rs, fs in cm.RFM_SEGMENTS for r in rs for f in fs]
    assert sorted(pairs) == [(r, f) for r in range(1, 6) for f in range(1, 6)]


def test_lapse_ratio_golden(loyalty_store):
    """c1 111 ÷ 30 = 3.7 lost; c2 29 ÷ 30.5 = 0.95 at risk; c3 10 ÷ 15 active;
    c4 (one order) 20 ÷ store median 30 = 0.67 active; c5 102 ÷ 30 = 3.4 lost;
    c6 60 ÷ 101 = 0.59 active."""
    frame = cm.lapse_ratios(*_t(loyalty_store), as_of=D).to_pandas().set_index("customer_id")
    assert frame.lapse_ratio.sort_index().round(4).tolist() == \
        [round(111 / 30, 4), round(29 / 30.5, 4), round(10 / 15, 4), round(20 / 30, 4),
         round(102 / 30, 4), round(60 / 101, 4)]
    assert frame.lapse_status.sort_index().tolist() == \
        ["lost", "at_risk", "active", "active", "lost", "active"]
    assert cm.median_days_to_second_order(*_t(loyalty_store), as_of=D) == 30.0


def test_call_list_is_lapsed_regulars_most_valuable_first(loyalty_store):
    """Regulars (3+ orders) who lapsed: c1 (lost, £300) then c2 (at risk, £150)."""
    frame = cm.call_list(*_t(loyalty_store), loyalty_store.table("customers"), as_of=D)
    assert frame.customer_id.tolist() == ["c1", "c2"]
    assert frame.email.tolist() == ["c1@example.com", "c2@example.com"]
    assert frame.lapse_status.tolist() == ["lost", "at_risk"]


def test_one_time_buyers_not_subscribed(loyalty_store):
    """One-order customers: c4 (not subscribed) and c5 (subscribed) → only c4."""
    frame = cm.one_time_buyers_not_subscribed(*_t(loyalty_store),
                                              loyalty_store.table("customers"), as_of=D)
    assert frame.customer_id.tolist() == ["c4"]


def test_survey_scores_by_month(loyalty_store):
    """June: csat 5, 4, 2 → 2 of 3 satisfied; nps 10, 9, 7, 3 → (2 − 1) ÷ 4 = +25;
    reviews 4, 5 → 4.5. May has no responses: counts 0, scores empty."""
    frame = cm.survey_scores(loyalty_store.table("surveys"),
                             window=Window.of("2025-05-01", "2025-06-30", zone=ZONE))
    may, june = frame.iloc[0], frame.iloc[1]
    assert may.count_csat == 0 and pd.isna(may.csat_rate) and pd.isna(may.net_promoter_score)
    assert june.csat_rate == pytest.approx(2 / 3)
    assert june.net_promoter_score == pytest.approx(25.0)
    assert june.avg_review_score == pytest.approx(4.5)


def _frames_equal(left, right) -> bool:
    if isinstance(left, dict):
        return left == right
    pd.testing.assert_frame_equal(left.reset_index(drop=True), right.reset_index(drop=True))
    return True


@pytest.mark.parametrize("as_of_day", [dt.date(2025, 11, 30), dt.date(2025, 8, 31)])
def test_a_shared_history_gives_the_same_figures(small_demo_store, as_of_day):
    """The loyalty figures computed from one customer history materialised as of 30
    November equal those computed from the tables, as of that day and as of an earlier
    one (sequence numbers and gaps do not depend on later orders)."""
    store, t = small_demo_store, small_demo_store.table
    shared = store.materialize(cm.customer_history(t("orders"), t("order_lines"),
                                                   as_of=store.window(dt.date(2025, 11, 30))))
    month = month_of(as_of_day, zone=store.zone)
    as_of = store.window(as_of_day)
    cohort = cm.repeat_cohort_month(as_of_day, zone=store.zone)
    figures = {
        "customer_figures": lambda h: cm.customer_figures(t("orders"), window=month, history=h),
        "new_vs_returning": lambda h: cm.new_vs_returning(t("orders"), t("order_lines"),
                                                          window=month, history=h),
        "repeat": lambda h: cm.repeat_purchase_rate(t("orders"), t("order_lines"),
                                                    cohort=cohort, history=h),
        "cohorts": lambda h: cm.cohort_retention(t("orders"), t("order_lines"), as_of=as_of,
                                                 history=h),
        "rfm": lambda h: cm.rfm_segments(t("orders"), t("order_lines"), as_of=as_of,
                                         history=h),
        "call_list": lambda h: cm.call_list(t("orders"), t("order_lines"), t("customers"),
                                            as_of=as_of, history=h),
        "lapse": lambda h: cm.lapse_summary(t("orders"), t("order_lines"), as_of=as_of,
                                            history=h),
        "one_time": lambda h: cm.one_time_buyers_not_subscribed(
            t("orders"), t("order_lines"), t("customers"), as_of=as_of, history=h),
    }
    for name, compute in figures.items():
        alone, shared_result = compute(None), compute(shared)
        assert _frames_equal(alone, shared_result), name
    assert cm.customer_figures(t("orders"), window=month)["count_customers"] > 50


def test_owners_call_list_shows_contacts_and_staff_pages_do_not_have_it(loyalty_store):
    """The monthly report's call list shows c1's and c2's email and phone in full (they are
    there to be called); no staff page shows that list."""
    from pathlib import Path

    from opslib.views.monthly import customers_loyalty

    table, _ = customers_loyalty.call_list(loyalty_store, dt.date(2025, 6, 30)).parts
    for i in (1, 2):
        assert f"c{i}@example.com" in table.html and f"+44 7700 90012{i}" in table.html
    pages = Path(customers_loyalty.__file__).parents[2] / "serve" / "staff_pages"
    sources = [p.read_text(encoding="utf-8") for p in pages.glob("*.ipynb")]
    assert sources and not any("customers_loyalty" in s or "call_list" in s for s in sources)
