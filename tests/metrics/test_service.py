"""Service follow-up as of the end of Tuesday 10 June 2025 (London, UTC+1), for the week
4–10 June; unresolved after 3 days, first response within 24 h."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest
from handbuilt import at

from opslib.metrics import service
from opslib.store import Window

ZONE = "Europe/London"
D = Window.of("2025-06-10", zone=ZONE)
WEEK = Window.of("2025-06-04", "2025-06-10", zone=ZONE)
RULES = {"after_days": 3, "sla_hours": 24}


def _ticket(ticket_id, created, category, *, customer=None, sku=None, resolved=None,
            escalated=False):
    return {"ticket_id": ticket_id, "channel": "email", "customer_id": customer,
            "order_id": f"O-{ticket_id}", "sku": sku, "subject": f"<i>{ticket_id}</i>",
            "category": category, "created_at": at(created),
            "first_response_at": at(created) + pd.Timedelta(hours=1),
            "resolved_at": at(resolved), "status": "resolved" if resolved else "open",
            "is_escalated": escalated}


def _score(response_id, submitted, score, *, customer=None, ticket=None, kind="csat"):
    return {"response_id": response_id, "customer_id": customer, "ticket_id": ticket,
            "submitted_at": at(submitted), "kind": kind, "score": score}


@pytest.fixture
def store(tiny_store):
    """Open at the end of 10 June (11 June 00:00 local):
    k5 C1 2 Jun 10:00 (resolved only on 12 Jun) — 8 d 14 h → 8.6 days;
    k1 C1 5 Jun 09:00 — 5 d 15 h → 5.6; k7 (no customer) 6 Jun 09:00 — 4.6;
    k2 C2 7 Jun 12:00 — 3.5; k3 C8 8 Jun 00:00 — exactly 3 days, not *more* than 3;
    k6 C3 10 Jun 10:00, escalated — 0.6. k4 C5 and k8 were resolved by 9 June.
    Scores in the week (csat unless said): r1 C4 2; r2 for ticket k4 (customer C5 via the
    ticket) 1; r3 C6 5; r4 C7 4 at 23:30 on 10 Jun; r7 C1 2; r5 3 at 00:30 on 11 Jun (next
    day); r6 an NPS of 2 (not csat)."""
    tickets = [
        _ticket("k1", "2025-06-05 09:00", "return", customer="C1", sku="A"),
        _ticket("k2", "2025-06-07 12:00", "where_is_my_order", customer="C2"),
        _ticket("k3", "2025-06-08 00:00", "product_question", customer="C8", sku="B"),
        _ticket("k4", "2025-06-01 10:00", "product_question", customer="C5", sku="A",
                resolved="2025-06-09 10:00"),
        _ticket("k5", "2025-06-02 10:00", "return", customer="C1", sku="A",
                resolved="2025-06-12 10:00"),
        _ticket("k6", "2025-06-10 10:00", "complaint", customer="C3", escalated=True),
        _ticket("k7", "2025-06-06 09:00", "where_is_my_order"),
        _ticket("k8", "2025-06-09 09:00", "product_question", customer="C9", sku="A",
                resolved="2025-06-09 12:00"),
    ]
    surveys = [
        _score("r1", "2025-06-05 10:00", 2, customer="C4"),
        _score("r2", "2025-06-09 12:00", 1, ticket="k4"),
        _score("r3", "2025-06-06 10:00", 5, customer="C6"),
        _score("r4", "2025-06-10 23:30", 4, customer="C7"),
        _score("r5", "2025-06-11 00:30", 3, customer="C7"),
        _score("r6", "2025-06-06 10:00", 2, customer="C6", kind="nps"),
        _score("r7", "2025-06-08 10:00", 2, customer="C1"),
    ]
    customers = [{"customer_id": c, "name": f"Name {c}", "email": f"{c.lower()}@example.com",
                  "phone": "+44 7700 900111", "created_at": at("2024-01-01 00:00")}
                 for c in ("C1", "C2", "C3", "C4")]
    products = [{"sku": "A", "title": "Mug"}, {"sku": "B", "title": "Candle"}]
    return tiny_store({"tickets": tickets, "surveys": surveys, "customers": customers,
                       "products": products})


def test_unresolved_for_more_than_n_days(store):
    """k5 8.6, k1 5.6, k7 4.6, k2 3.5 days, oldest first; k3 (exactly 3 days) and k6 are
    too recent; k4 and k8 were resolved."""
    frame = service.unresolved_tickets(store.table("tickets"), as_of=D, **RULES)
    assert frame.ticket_id.tolist() == ["k5", "k1", "k7", "k2"]
    assert frame.days_open.tolist() == [8.6, 5.6, 4.6, 3.5]
    assert frame.customer_id.tolist()[:2] == ["C1", "C1"]
    assert pd.isna(frame.customer_id.iloc[2])
    assert frame.sku.tolist()[:2] == ["A", "A"]


def test_customers_to_call_back(store):
    """C1: k5 and k1 open more than 3 days, and a CSAT of 2 (max 8.6 days). C2: k2 (3.5).
    C3: escalated k6 (0.6). C5: CSAT 1 through ticket k4. C4: CSAT 2. Not listed: k7 (no
    customer), C6 (csat 5, and an NPS of 2 is not csat), C7 (4 this week, 3 next week), C8
    (k3, exactly 3 days). Longest waiting first, then the lowest score."""
    frame = service.customers_to_call_back(
        store.table("tickets"), store.table("surveys"), store.table("customers"), as_of=D,
        window=WEEK, **RULES)
    assert frame.customer_id.tolist() == ["C1", "C2", "C3", "C5", "C4"]
    assert frame.reasons.tolist() == [
        "2 ticket(s) open more than 3 days; CSAT score 2 this week",
        "1 ticket(s) open more than 3 days",
        "1 escalated ticket(s) open",
        "CSAT score 1 this week",
        "CSAT score 2 this week"]
    assert frame.count_open_tickets.tolist() == [2, 1, 1, 0, 0]
    assert frame.max_days_open.tolist()[:3] == [8.6, 3.5, 0.6]
    assert frame.lowest_csat_score.tolist()[3:] == [1, 2]
    assert frame.name.tolist()[:3] == ["Name C1", "Name C2", "Name C3"]
    assert pd.isna(frame.name.iloc[3])  # C5 is not in the customers table


def test_call_back_without_surveys_or_customers(store):
    """Without survey data only ticket reasons count; without customers, no names."""
    frame = service.customers_to_call_back(store.table("tickets"), as_of=D, window=WEEK,
                                           **RULES)
    assert frame.customer_id.tolist() == ["C1", "C2", "C3"]
    assert frame.name.isna().all()


def test_daily_csat_and_the_week(store):
    """csat scores by local day: 5 Jun r1 (2); 6 Jun r3 (5); 8 Jun r7 (2); 9 Jun r2 (1);
    10 Jun r4 (4, at 23:30 local = 22:30 UTC). r5 (00:30 on 11 Jun) and the NPS are out.
    Week: 5 answers, 2 of them 4–5 → CSAT 40%."""
    daily = service.daily_csat(store.table("surveys"), window=WEEK)
    assert daily.count_csat_responses.tolist() == [0, 1, 1, 0, 1, 1, 1]
    assert daily.count_csat_satisfied.tolist() == [0, 0, 1, 0, 0, 0, 1]
    assert math.isnan(daily.csat_rate.iloc[0]) and daily.csat_rate.iloc[2] == 1.0
    assert service.csat_totals(daily) == {"count_csat_responses": 5,
                                          "count_csat_satisfied": 2, "csat_rate": 0.4}


def test_csat_of_a_week_without_answers_is_empty(store):
    """No csat answers: 0 responses and no rate (not 0%)."""
    quiet = service.daily_csat(store.table("surveys"),
                               window=Window.of("2025-05-01", "2025-05-07", zone=ZONE))
    assert service.csat_totals(quiet) == {"count_csat_responses": 0,
                                          "count_csat_satisfied": 0, "csat_rate": None}


def test_tickets_per_category_against_the_week_before(store):
    """Opened 4–10 Jun: k1 return, k2 and k7 where is my order, k3 and k8 product question,
    k6 complaint. 28 May – 3 Jun: k4 product question, k5 return."""
    frame = service.tickets_by(store.table("tickets"), window=WEEK, by="category")
    assert frame.category.tolist() == ["product_question", "where_is_my_order", "return",
                                       "complaint"]
    assert frame.count_tickets_opened.tolist() == [2, 2, 1, 1]
    assert frame.count_tickets_opened_prev.tolist() == [1, 0, 1, 0]
    assert frame.change.tolist() == [1, 2, 0, 1]


def test_tickets_per_product(store):
    """With a SKU: this week k1 and k8 on A, k3 on B; the week before k4 and k5 on A."""
    frame = service.tickets_by(store.table("tickets"), store.table("products"), window=WEEK,
                               by="sku")
    assert frame[["sku", "title", "count_tickets_opened", "count_tickets_opened_prev",
                  "change"]].values.tolist() == [["A", "Mug", 2, 2, 0],
                                                 ["B", "Candle", 1, 0, 1]]


def test_tickets_by_refuses_an_unknown_grouping(store):
    with pytest.raises(ValueError, match="category"):
        service.tickets_by(store.table("tickets"), window=WEEK, by="channel")


def test_weekly_contact_rate():
    """Two weeks to Sunday 15 June: 6 tickets over 3 × 40 + 4 × 20 = 200 orders → 3 per
    100; then 5 tickets and no order rows at all (0 orders) → empty."""
    days = pd.date_range("2025-06-02", periods=14)
    tickets = pd.DataFrame({"date_day": days, "count_tickets_opened": [1] * 6 + [0] * 3
                            + [1] * 5})
    orders = pd.DataFrame({"date_day": days[:7], "count_orders": [40, 40, 40, 20, 20, 20, 20]})
    frame = service.weekly_contact_rate(tickets, orders, last_day=dt.date(2025, 6, 15))
    assert frame.week_end.dt.day.tolist() == [8, 15]
    assert frame.count_tickets_opened.tolist() == [6, 5]
    assert frame.count_orders.tolist() == [200, 0]
    assert frame.tickets_per_100_orders.tolist()[0] == 3.0
    assert math.isnan(frame.tickets_per_100_orders.iloc[1])
