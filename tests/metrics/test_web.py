"""Web metrics: daily sessions over all sources and the conversion rate."""

from __future__ import annotations

from opslib.metrics import web
from opslib.store import Window


def test_daily_traffic_sums_sources_on_a_full_calendar(tiny_store):
    """1 Jun: google 100 + (direct) 50 = 150 sessions, 30 + 10 = 40 add-to-cart sessions;
    2 Jun: no rows → 0; 3 Jun: google 80."""
    def row(day, source, sessions, carts):
        return {"date_day": day, "source": source, "medium": "organic", "sessions": sessions,
                "users": sessions, "add_to_cart_sessions": carts}
    store = tiny_store({"web_traffic_daily": [
        row("2025-06-01", "google", 100, 30), row("2025-06-01", "(direct)", 50, 10),
        row("2025-06-03", "google", 80, 5)]})
    frame = web.daily_traffic(store.table("web_traffic_daily"),
                              window=Window.of("2025-06-01", "2025-06-03", zone="UTC"))
    assert frame.count_sessions.tolist() == [150, 0, 80]
    assert frame.add_to_cart_sessions.tolist() == [40, 0, 5]
    assert frame.count_sessions.dtype == "int64"


def test_conversion_rate_is_orders_over_sessions():
    """6 orders from 150 sessions → 0.04; no sessions → undefined (None), not 0."""
    assert web.conversion_rate(6, 150) == 0.04
    assert web.conversion_rate(0, 150) == 0.0
    assert web.conversion_rate(6, 0) is None
