"""Support metrics as of the end of Tuesday 10 June 2025 (London), first response within 24 h."""

from __future__ import annotations

import math

import pytest
from handbuilt import at

from opslib.metrics import support
from opslib.store import Window

ZONE = "Europe/London"
D = Window.of("2025-06-10", zone=ZONE)


def _ticket(ticket_id, channel, created, *, answered=None, resolved=None, status="open",
            escalated=False):
    return {"ticket_id": ticket_id, "channel": channel, "subject": f"<b>{ticket_id}</b>",
            "created_at": at(created), "first_response_at": at(answered),
            "resolved_at": at(resolved), "status": status, "is_escalated": escalated}


@pytest.fixture
def store(tiny_store):
    """t1 email 10 Jun 09:00, answered in 1 h · t2 chat 9 Jun 22:00, answered 10 Jun 00:00
    (2 h), resolved 10 Jun 12:00 · t3 email 9 Jun 08:00, answered 10 Jun 12:00 (28 h, late)
    · t4 instagram 10 Jun 02:00, answered 12:00 (10 h), resolved 12 Jun · t5 facebook
    9 Jun 20:00, never answered · t6 whatsapp 10 Jun 20:00, answered 11 Jun 08:00 (12 h) ·
    t7 email 1 Jun, answered, escalated, still open · t8 phone 5 Jun, closed with no
    resolved_at · t9 chat 11 Jun 00:30 local (23:30 UTC on the 10th) · t10 email
    10 Jun 23:30 local, unanswered."""
    rows = [
        _ticket("t1", "email", "2025-06-10 09:00", answered="2025-06-10 10:00"),
        _ticket("t2", "chat", "2025-06-09 22:00", answered="2025-06-10 00:00",
                resolved="2025-06-10 12:00", status="resolved"),
        _ticket("t3", "email", "2025-06-09 08:00", answered="2025-06-10 12:00"),
        _ticket("t4", "instagram", "2025-06-10 02:00", answered="2025-06-10 12:00",
                resolved="2025-06-12 09:00", status="resolved"),
        _ticket("t5", "facebook", "2025-06-09 20:00"),
        _ticket("t6", "whatsapp", "2025-06-10 20:00", answered="2025-06-11 08:00"),
        _ticket("t7", "email", "2025-06-01 10:00", answered="2025-06-01 12:00", escalated=True,
                status="pending"),
        _ticket("t8", "phone", "2025-06-05 10:00", answered="2025-06-05 11:00",
                status="closed"),
        _ticket("t9", "chat", "2025-06-11 00:30"),
        _ticket("t10", "email", "2025-06-10 23:30"),
    ]
    return tiny_store({"tickets": rows})


def test_open_tickets_at_the_end_of_the_day(store):
    """Open at 11 Jun 00:00: t5 first (past the reply deadline), then oldest first: t7, t3,
    t4 (resolved only on the 12th), t1, t6, t10 — t2 was resolved on the 10th, t8 is closed,
    t9 came in on the 11th.
    Ages: t5 28 h → 1; t7 9 d 14 h → 9; t3 40 h → 1; t4 22 h, t1 15 h, t6 4 h,
    t10 0.5 h → 0.
    Unanswered: t5 28 h (> 24 h: a breach), t6 4 h (its answer came on the 11th), t10 0.5 h;
    the answered ones wait for nothing (empty, not 0 h)."""
    frame = support.open_tickets(store.table("tickets"), as_of=D, sla_hours=24)
    assert frame.ticket_id.tolist() == ["t5", "t7", "t3", "t4", "t1", "t6", "t10"]
    assert frame.age_days.tolist() == [1, 9, 1, 0, 0, 0, 0]
    assert frame.hours_waiting.fillna(-1).tolist() == [28.0, -1, -1, -1, -1, 4.0, 0.5]
    breaches = frame[frame.is_first_response_breach]
    assert breaches.ticket_id.tolist() == ["t5"]
    social_waiting = frame[frame.is_social & ~frame.is_answered]
    assert social_waiting.ticket_id.tolist() == ["t5", "t6"]
    assert frame[frame.is_escalated].ticket_id.tolist() == ["t7"]


def test_first_response_times_of_the_day(store):
    """Answered on 10 Jun: t1 1 h, t2 2 h, t4 10 h, t3 28 h. Median (2 + 10) ÷ 2 = 6;
    p90 at rank 0.9 × 3 = 2.7 → 10 + 0.7 × (28 − 10) = 22.6; within 24 h: 3 of 4 = 0.75."""
    summary = support.first_response_summary(store.table("tickets"), window=D, sla_hours=24)
    assert summary["count_first_responses"] == 4
    assert summary["median_first_response_hours"] == pytest.approx(6.0)
    assert summary["p90_first_response_hours"] == pytest.approx(22.6)
    assert summary["first_response_sla_rate"] == pytest.approx(0.75)


def test_daily_tickets_full_calendar(store):
    """Opened: 9 Jun t3, t5, t2 = 3; 10 Jun t4, t1, t6, t10 = 4; 11 Jun t9 = 1; 12 Jun 0.
    First responses: 9 Jun none (median empty); 10 Jun 4 (median 6); 11 Jun t6 (12 h).
    Resolved: 10 Jun t2; 12 Jun t4."""
    frame = support.daily_tickets(store.table("tickets"),
                                  window=Window.of("2025-06-09", "2025-06-12", zone=ZONE),
                                  sla_hours=24)
    assert frame.count_tickets_opened.tolist() == [3, 4, 1, 0]
    assert frame.count_first_responses.tolist() == [0, 4, 1, 0]
    assert math.isnan(frame.median_first_response_hours.iloc[0])
    assert frame.median_first_response_hours.iloc[1:3].tolist() == pytest.approx([6.0, 12.0])
    assert math.isnan(frame.first_response_sla_rate.iloc[0])
    assert frame.count_tickets_resolved.tolist() == [0, 1, 0, 1]


def test_a_day_without_answers_has_no_median(store):
    """1 May: nothing answered → median, p90 and SLA rate are None (undefined), count 0."""
    summary = support.first_response_summary(store.table("tickets"),
                                             window=Window.of("2025-05-01", zone=ZONE),
                                             sla_hours=24)
    assert summary == {"count_first_responses": 0, "median_first_response_hours": None,
                       "p90_first_response_hours": None, "first_response_sla_rate": None}


def test_contact_rate_per_100_orders():
    """4 tickets for 40 orders → 10 per 100 orders; no orders → undefined."""
    assert support.contact_rate(4, 40) == pytest.approx(10.0)
    assert support.contact_rate(4, 0) is None
