"""The customer lists to act on and the loyalty tiers, on a tiny hand-built store.

test_customers.py's store (as of D = 30 June 2025, Europe/London, every order at 12:00
local, no discounts), plus:

    c7  1 Mar £70       one order, 121 days before D; subscribed; named `=HYPERLINK("x")`
    c8  1 Jun £15       one order, 29 days before D
    c9  1 Dec 2024 £40  one order, 211 days before D
    guest G@Example.com 15 Feb £35 (no customer_id): one order, 135 days before D

Subscribed: c1, c5, c7. Tiers: Bronze (1 order), Silver (£150 and 3 orders), Gold (£300 and
3 orders). Surveys (June unless said):

    s1 nps 3 c2 "-5 stars, never again"   s2 csat 2 on o10 (c4's order, no customer_id) "Late"
    s3 review 1 c3 "<b>broken</b>"         s4 nps 6 c1 (no comment)
    s5 nps 9 c6 "Great"                    s6 csat 1 c5 on 30 May; s7 review 2 c7 on 1 July
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_customers import _ORDERS

from opslib.config import LoyaltyTier
from opslib.exports import LIST_MIME, list_frame, safe_csv
from opslib.metrics import customers as cm
from opslib.metrics import outreach
from opslib.metrics.months import month_of
from opslib.store import Window

from handbuilt import at

ZONE = "Europe/London"
D = Window.of("2025-06-30", zone=ZONE)
JUNE = month_of("2025-06-30", zone=ZONE)
TIERS = (LoyaltyTier("Bronze", 0.0, 1), LoyaltyTier("Silver", 150.0, 3),
         LoyaltyTier("Gold", 300.0, 3))
HYPERLINK = '=HYPERLINK("x")'
_MORE = [("o15", "c7", "2025-03-01 12:00", 70.0), ("o16", "c8", "2025-06-01 12:00", 15.0),
         ("o17", "c9", "2024-12-01 12:00", 40.0), ("o18", None, "2025-02-15 12:00", 35.0)]
_SURVEYS = [
    ("s1", "c2", None, "2025-06-12", "nps", 3, "-5 stars, never again"),
    ("s2", None, "o10", "2025-06-15", "csat", 2, "Late"),
    ("s3", "c3", None, "2025-06-20", "review", 1, "<b>broken</b>"),
    ("s4", "c1", None, "2025-06-25", "nps", 6, None),
    ("s5", "c6", None, "2025-06-26", "nps", 9, "Great"),
    ("s6", "c5", None, "2025-05-30", "csat", 1, "Bad"),
    ("s7", "c7", None, "2025-07-01", "review", 2, "Meh"),
]


@pytest.fixture
def list_store(tiny_store):
    rows = _ORDERS + _MORE
    orders = [{"order_id": oid, "order_number": f"#{oid}", "customer_id": cid,
               "email": "G@Example.com" if oid == "o18" else None,
               "created_at": at(when), "subtotal": amount, "total_amount": amount}
              for oid, cid, when, amount in rows]
    lines = [{"order_id": oid, "line_number": 1, "created_at": at(when), "sku": "A",
              "quantity": 1, "unit_price": amount} for oid, _, when, amount in rows]
    people = [{"customer_id": f"c{i}", "name": HYPERLINK if i == 7 else f"Customer {i}",
               "email": f"c{i}@example.com", "phone": f"+44 7700 90012{i}",
               "created_at": at("2025-01-01 09:00"), "has_marketing_consent": i in (1, 5, 7)}
              for i in range(1, 10)]
    surveys = [{"response_id": rid, "customer_id": cid, "order_id": oid,
                "submitted_at": at(f"{day} 10:00" if rid != "s7" else f"{day} 00:30"),
                "kind": kind, "score": score, "comment": comment}
               for rid, cid, oid, day, kind, score, comment in _SURVEYS]
    return tiny_store({"orders": orders, "order_lines": lines, "customers": people,
                       "surveys": surveys},
                      loyalty={"tiers": [{"name": t.name, "min_spend": t.min_spend,
                                          "min_orders": t.min_orders} for t in TIERS]})


def _t(store):
    return store.table("orders"), store.table("order_lines"), store.table("customers")


def test_win_back_is_one_time_buyers_60_to_180_days_on(list_store):
    """c5 (102 days), c7 (121), the guest (135), most recent first; c4 and c8 are too
    recent, c9 too old, repeat customers never on it. Marketing keeps c5 and c7: the guest
    has no consent on record and is counted as left out."""
    frame = cm.win_back(*_t(list_store), as_of=D)
    assert frame.email.tolist() == ["c5@example.com", "c7@example.com", "g@example.com"]
    assert frame.days_since_last_order.tolist() == [102, 121, 135]
    assert list(frame.columns[:3]) == ["email", "first_name", "last_name"]
    assert pd.isna(frame.customer_id.iloc[2]) and frame.first_name.iloc[0] == "Customer"
    kept, left_out = outreach.consented(frame)
    assert kept.email.tolist() == ["c5@example.com", "c7@example.com"] and left_out == 1
    assert "has_marketing_consent" not in kept


def test_detractors_worst_first_with_comments_and_contacts(list_store):
    """June's low scores on a 0–1 scale: s3 review 1 (0), s2 csat 2 (0.25, c4 through the
    rated order), s1 nps 3 (0.3), s4 nps 6 (0.6); s5 (nps 9) is no detractor, s6 and s7
    fall outside June."""
    frame = cm.detractors(list_store.table("surveys"), list_store.table("orders"),
                          list_store.table("customers"), window=JUNE)
    assert frame.customer_id.tolist() == ["c3", "c4", "c2", "c1"]
    assert frame.score.tolist() == [1, 2, 3, 6]
    assert frame.comment.tolist()[:3] == ["<b>broken</b>", "Late", "-5 stars, never again"]
    assert frame.phone.iloc[1] == "+44 7700 900124"
    assert frame.has_marketing_consent.tolist() == [False, False, False, True]
    assert list(frame.columns[:4]) == ["email", "first_name", "last_name", "phone"]


def test_comments_detractors_first_then_the_rest(list_store):
    """Every June comment: the three detractors worst first, then s5; s4 wrote nothing."""
    frame = cm.survey_comments(list_store.table("surveys"), window=JUNE)
    assert frame.comment.tolist() == ["<b>broken</b>", "Late", "-5 stars, never again",
                                      "Great"]
    assert frame.is_detractor.tolist() == [True, True, True, False]


def test_segment_list_holds_every_customer_with_scores(list_store):
    """Ten known customers (c1–c9 and the guest), each once, with the segment and scores
    rfm_scores gives; the segment sizes add up to rfm_segments'."""
    frame = cm.segment_list(*_t(list_store), as_of=D)
    assert len(frame) == 10 and frame.email.is_unique
    scored = cm.rfm_scores(*_t(list_store)[:2], as_of=D).to_pandas().set_index("customer_id")
    for row in frame.dropna(subset=["customer_id"]).itertuples():
        assert row.rfm_segment == scored.loc[row.customer_id, "rfm_segment"]
        assert row.recency_score == scored.loc[row.customer_id, "recency_score"]
    sizes = cm.rfm_segments(*_t(list_store)[:2], as_of=D).set_index("rfm_segment")
    assert frame.rfm_segment.value_counts().to_dict() == \
        sizes.count_customers[sizes.count_customers > 0].to_dict()


def test_loyalty_tiers_golden(list_store):
    """c1 (3 orders, £300) Gold then and now; c2 Bronze on 31 May (2 orders, £100) and
    Silver now (3, £150): up; c3, c4, c8 first ordered in June: new Bronze. Per tier: Gold
    1 customer, no June sales, c1 did not come back (repeat 0); Silver 1, £50, repeat 1;
    Bronze 8, 3 moved in, £60 + £30 + £15 = £105, none of the 5 earlier customers came back."""
    members = cm.loyalty_members(*_t(list_store)[:2], as_of=D, tiers=TIERS)
    by = members.set_index("customer_id")
    assert by.loc["c1", ["loyalty_tier", "previous_tier", "tier_move"]].tolist() == \
        ["Gold", "Gold", ""]
    assert by.loc["c2", ["loyalty_tier", "previous_tier", "tier_move"]].tolist() == \
        ["Silver", "Bronze", "up"]
    assert sorted(members[members.tier_move == "new"].customer_id) == ["c3", "c4", "c8"]
    summary = cm.tier_summary(members, tiers=TIERS, month=JUNE).set_index("loyalty_tier")
    assert summary.index.tolist() == ["Gold", "Silver", "Bronze"]
    assert summary.count_customers.tolist() == [1, 1, 8]
    assert summary.count_moved_up.tolist() == [0, 1, 3]
    assert summary.sales_amount.tolist() == [0.0, 50.0, 105.0]
    assert summary.repeat_rate.tolist() == [0.0, 1.0, 0.0]
    vip = cm.vip_list(members, list_store.table("customers"), tiers=TIERS, as_of=D)
    assert vip.email.tolist() == ["c1@example.com"]


def test_a_rolling_window_moves_customers_down(list_store):
    """Over the last 150 days c1 has 2 orders (9 Feb, 11 Mar) on 30 June but had 3 on
    31 May (10 Jan on): down from Gold to Bronze, and listed as a move."""
    members = cm.loyalty_members(*_t(list_store)[:2], as_of=D, tiers=TIERS, window_days=150)
    c1 = members.set_index("customer_id").loc["c1"]
    assert (c1.previous_tier, c1.loyalty_tier, c1.tier_move) == ("Gold", "Bronze", "down")
    moves = cm.tier_moves(members, list_store.table("customers"), tiers=TIERS, as_of=D)
    assert "c1" in moves.customer_id.tolist()
    summary = cm.tier_summary(members, tiers=TIERS, month=JUNE).set_index("loyalty_tier")
    assert summary.loc["Bronze", "count_moved_down"] == 1


def test_the_reports_lists_are_safe_in_a_spreadsheet(list_store):
    """The lists the monthly report hands to the runner: a name starting with `=` and a
    comment starting with `-` become text in the CSV; contacts are in full."""
    from opslib.views.monthly import customers_loyalty as page

    day = dt.date(2025, 6, 30)
    written = {}
    for build in (page.win_back, page.detractors):
        for part in build(list_store, day).parts:
            if part.extra and LIST_MIME in part.extra:
                written[part.extra[LIST_MIME]["name"]] = safe_csv(
                    list_frame(part.extra[LIST_MIME]))
    assert set(written) == {"win_back", "detractors"}
    assert "\"'=HYPERLINK(\"\"x\"\")\"" in written["win_back"]
    assert "\"'-5 stars, never again\"" in written["detractors"]
    assert "c3@example.com" in written["detractors"]
    assert page.lists(list_store, day)["vip"].email.tolist() == ["c1@example.com"]


def test_the_reports_show_comments_escaped_detractors_first(list_store):
    """The weekly follow-up (12–22 June: s1, s2, s3) and the monthly review show the
    comments as text, worst first: `<b>` is escaped, never markup."""
    from opslib.views.monthly import customers_loyalty
    from opslib.views.weekly import service_followup

    weekly = "".join(p.html for p in service_followup.comments(
        list_store, Window.of("2025-06-09", "2025-06-22", zone=ZONE)).parts)
    monthly = "".join(p.html for p in customers_loyalty.comments(
        list_store, dt.date(2025, 6, 30)).parts)
    for html in (weekly, monthly):
        assert "&lt;b&gt;broken&lt;/b&gt;" in html and "<b>broken" not in html
        assert html.index("broken") < html.index("Late") < html.index("-5 stars")
    assert "Great" not in weekly and monthly.index("-5 stars") < monthly.index("Great")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 12), st.floats(0, 1000, allow_nan=False)),
                min_size=1, max_size=30),
       st.integers(0, 5), st.floats(0, 300, allow_nan=False))
def test_a_tier_is_the_highest_reached_and_more_never_lowers_it(people, more_orders,
                                                                more_spend):
    """Each customer's tier has both thresholds reached and the next tier has not; more
    orders or spend never gives a lower tier."""
    orders = pd.Series([n for n, _ in people])
    spend = pd.Series([amount for _, amount in people])
    rank = {tier.name: i for i, tier in enumerate(TIERS)}
    tiers = cm.tier_of(orders, spend, TIERS)
    for n, amount, name in zip(orders, spend, tiers):
        i = rank.get(name, -1)
        if i >= 0:
            assert n >= TIERS[i].min_orders and amount >= TIERS[i].min_spend
        if i + 1 < len(TIERS):
            above = TIERS[i + 1]
            assert n < above.min_orders or amount < above.min_spend
    later = cm.tier_of(orders + more_orders, spend + more_spend, TIERS)
    assert (later.map(rank).fillna(-1) >= tiers.map(rank).fillna(-1)).all()
