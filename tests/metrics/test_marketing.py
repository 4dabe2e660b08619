"""Marketing metrics for Tuesday 10 June 2025 (London; the day ends 11 Jun 00:00 local)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from handbuilt import at

from opslib.metrics import marketing
from opslib.store import Window

ZONE = "Europe/London"
D = Window.of("2025-06-10", zone=ZONE)


def _item(item_id, planned, status="planned", done=None, channel="social"):
    return {"item_id": item_id, "planned_date": planned, "channel": channel,
            "title": f"Item {item_id}", "status": status, "done_at": at(done)}


def test_calendar_items_for_today_and_tomorrow(tiny_store):
    """c1 (10 Jun) done at 09:00 · c2 (10 Jun) done only on the 11th → still to do at the
    end of D, overdue · c3 (11 Jun) ready · c4 (8 Jun) planned → overdue · c5 (9 Jun)
    skipped · c6 (12 Jun) beyond tomorrow · c7 (1 Apr) beyond the 30-day look-back ·
    c8 (11 Jun) done at an unknown time. Shown: overdue first (c4, c2), then by date
    (c1, c3, c8). Due: c4, c2, c3 = 3."""
    store = tiny_store({"content_calendar": [
        _item("c1", "2025-06-10", "done", "2025-06-10 09:00"),
        _item("c2", "2025-06-10", "done", "2025-06-11 08:00", channel="email"),
        _item("c3", "2025-06-11", "ready"), _item("c4", "2025-06-08", channel="banner"),
        _item("c5", "2025-06-09", "skipped"), _item("c6", "2025-06-12"),
        _item("c7", "2025-04-01"), _item("c8", "2025-06-11", "done"),
    ]})
    frame = marketing.calendar_items(store.table("content_calendar"), as_of=D)
    assert frame.item_id.tolist() == ["c4", "c2", "c1", "c3", "c8"]
    assert frame.status.tolist() == ["planned", "planned", "done", "ready", "done"]
    assert frame.is_overdue.tolist() == [True, True, False, False, False]
    assert int(frame.is_due.sum()) == 3


@pytest.fixture
def ads_store(tiny_store):
    """10 Jun: google/brand £10, 1,000 impressions, 50 clicks, value £60; meta/prospecting
    £30, 5,000 impressions, 40 clicks, value £45. 9 Jun: google/brand £5."""
    def row(day, platform, campaign, spend, impressions=0, clicks=0, value=0.0):
        return {"date_day": day, "platform": platform, "campaign": campaign, "spend": spend,
                "impressions": impressions, "clicks": clicks, "conversions": 1.0,
                "conversion_value": value}
    return tiny_store({"ad_spend_daily": [
        row("2025-06-10", "google", "brand", 10.0, 1000, 50, 60.0),
        row("2025-06-10", "meta", "prospecting", 30.0, 5000, 40, 45.0),
        row("2025-06-09", "google", "brand", 5.0),
    ]})


def test_ad_results_per_campaign(ads_store):
    """meta: CTR 40 ÷ 5,000 = 0.008, ROAS 45 ÷ 30 = 1.5; google: CTR 0.05, ROAS 6."""
    frame = marketing.ad_results(ads_store.table("ad_spend_daily"), window=D)
    assert frame.platform.tolist() == ["meta", "google"]
    assert frame.click_through_rate.tolist() == pytest.approx([0.008, 0.05])
    assert frame.roas.tolist() == pytest.approx([1.5, 6.0])


def test_daily_ad_spend_full_calendar(ads_store):
    """9 Jun £5; 10 Jun 10 + 30 = £40; 11 Jun nothing → 0."""
    frame = marketing.daily_ad_spend(ads_store.table("ad_spend_daily"),
                                     window=Window.of("2025-06-09", "2025-06-11", zone=ZONE))
    assert frame.ad_spend.tolist() == [5.0, 40.0, 0.0]


def test_posts_and_emails_of_the_day(tiny_store):
    """p1 at 23:30 local on the 10th (reach 200, 10 engagements → 0.05) and p3 (reach 0 →
    rate empty) count; p2 at 00:30 local on the 11th does not. e1: 1,000 delivered, 400
    opens → 0.4, 50 clicks → 0.05, 5 unsubscribes → 0.005, 1 complaint → 0.001,
    £500 → £0.50 per recipient."""
    def post(post_id, published, reach, engagements):
        return {"post_id": post_id, "platform": "instagram", "published_at": at(published),
                "format": "image", "reach": reach, "engagements": engagements}
    store = tiny_store({
        "social_posts": [post("p1", "2025-06-10 23:30", 200, 10),
                         post("p2", "2025-06-11 00:30", 100, 5),
                         post("p3", "2025-06-10 08:00", 0, 0)],
        "email_campaigns": [{"campaign_id": "e1", "name": "June news", "kind": "campaign",
                             "sent_at": at("2025-06-10 10:00"), "sent": 1010,
                             "delivered": 1000, "unique_opens": 400, "unique_clicks": 50,
                             "unsubscribes": 5, "spam_complaints": 1,
                             "attributed_orders": 10, "attributed_revenue": 500.0}],
    })
    posts = marketing.social_posts_published(store.table("social_posts"), window=D)
    assert posts.post_id.tolist() == ["p3", "p1"]
    assert math.isnan(posts.engagement_rate.iloc[0]) and posts.engagement_rate.iloc[1] == 0.05
    emails = marketing.email_results(store.table("email_campaigns"), window=D)
    row = emails.iloc[0]
    assert (row.open_rate, row.click_rate, row.unsubscribe_rate, row.spam_rate) == \
        pytest.approx((0.4, 0.05, 0.005, 0.001))
    assert row.revenue_per_recipient == pytest.approx(0.5)


def test_live_promotions_with_the_days_orders(tiny_store):
    """Live at the end of 10 Jun: FOREVER (open-ended) and SUMMER10 (ends 15 Jun 00:00 →
    4.0 days left); FLASH starts tomorrow (listed, not live yet). OLD ended on the 9th,
    LATER starts on the 20th, EXACT ended at the very end of D. Two orders on D used
    SUMMER10 (typed in any case): discounts 5 + 3 = 8."""
    def promo(code, starts, ends=None):
        return {"promo_code": code, "name": code.title(), "starts_at": at(starts),
                "ends_at": at(ends), "kind": "percent", "value": 10.0}
    store = tiny_store({
        "promotions": [promo("SUMMER10", "2025-06-01 00:00", "2025-06-15 00:00"),
                       promo("FLASH", "2025-06-11 09:00", "2025-06-11 21:00"),
                       promo("OLD", "2025-05-01 00:00", "2025-06-09 00:00"),
                       promo("FOREVER", "2025-05-01 00:00"),
                       promo("LATER", "2025-06-20 00:00", "2025-06-30 00:00"),
                       promo("EXACT", "2025-06-01 00:00", "2025-06-11 00:00")],
        "orders": [{"order_id": "o1", "created_at": at("2025-06-10 10:00"),
                    "discount_code": "summer10", "discount_amount": 5.0},
                   {"order_id": "o2", "created_at": at("2025-06-10 11:00"),
                    "discount_code": "SUMMER10", "discount_amount": 3.0},
                   {"order_id": "o3", "created_at": at("2025-06-10 12:00")}],
    })
    frame = marketing.live_promotions(store.table("promotions"), store.table("orders"),
                                      as_of=D)
    assert frame.promo_code.tolist() == ["FOREVER", "SUMMER10", "FLASH"]
    assert frame.is_live.tolist() == [True, True, False]
    assert math.isnan(frame.days_left.iloc[0]) and frame.days_left.iloc[1] == 4.0
    assert frame.count_orders.tolist() == [0, 2, 0]
    assert frame.discounts.tolist() == [0.0, 8.0, 0.0]
    assert frame.starts_at.iloc[1] == pd.Timestamp("2025-06-01 00:00", tz=ZONE)
