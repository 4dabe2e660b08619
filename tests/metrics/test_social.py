"""Weekly marketing: social against targets, posts, emails, new customers (2–8 June 2025)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from handbuilt import at

from opslib.metrics import marketing, social
from opslib.store import Window

ZONE = "Europe/London"
WEEK = Window.of("2025-06-02", "2025-06-08", zone=ZONE)
TARGETS = {"instagram": {"reach": 1400, "engagement_rate": 0.05, "followers_gained": 80},
           "facebook": {"reach": 600},
           "tiktok": {"reach": 100},
           "pinterest": {"followers_gained": 10}}


def _post(post_id, platform, published, reach, engagements, impressions=0, clicks=0):
    return {"post_id": post_id, "platform": platform, "published_at": at(published),
            "format": "image", "impressions": impressions, "reach": reach,
            "engagements": engagements, "link_clicks": clicks}


def _followers(day, platform, followers):
    return {"date_day": day, "platform": platform, "followers": followers}


@pytest.fixture
def store(tiny_store):
    """Posts: p1 instagram 2 Jun reach 1,000, 50 engagements; p2 instagram 4 Jun 500, 10;
    p3 facebook 5 Jun 400, 20; p4 facebook 8 Jun 23:30 local 100, 0; p5 tiktok at 00:30 on
    9 Jun (next week); p6 instagram 1 Jun (last week).
    Followers: instagram 1,010 on 1 Jun → 1,050 (5 Jun) → 1,100 (8 Jun); facebook first
    seen 3 Jun (500), then 520 (8 Jun); tiktok 300 (1 Jun) → 290 (8 Jun)."""
    posts = [_post("p1", "instagram", "2025-06-02 10:00", 1000, 50, 1500, 5),
             _post("p2", "instagram", "2025-06-04 10:00", 500, 10, 600, 1),
             _post("p3", "facebook", "2025-06-05 10:00", 400, 20, 800, 2),
             _post("p4", "facebook", "2025-06-08 23:30", 100, 0, 100, 0),
             _post("p5", "tiktok", "2025-06-09 00:30", 9999, 999),
             _post("p6", "instagram", "2025-06-01 10:00", 7777, 777)]
    accounts = [_followers("2025-05-31", "instagram", 1000),
                _followers("2025-06-01", "instagram", 1010),
                _followers("2025-06-05", "instagram", 1050),
                _followers("2025-06-08", "instagram", 1100),
                _followers("2025-06-03", "facebook", 500),
                _followers("2025-06-08", "facebook", 520),
                _followers("2025-06-01", "tiktok", 300),
                _followers("2025-06-08", "tiktok", 290)]
    return tiny_store({"social_posts": posts, "social_accounts_daily": accounts})


def test_daily_social_by_local_day(store):
    """2 Jun p1, 4 Jun p2, 5 Jun p3, 8 Jun p4 (23:30 local is 22:30 UTC, still the 8th)."""
    daily = social.daily_social(store.table("social_posts"), window=WEEK)
    assert daily.count_posts.tolist() == [1, 0, 1, 1, 0, 0, 1]
    assert daily.reach.tolist() == [1000, 0, 500, 400, 0, 0, 100]
    assert daily.engagements.tolist() == [50, 0, 10, 20, 0, 0, 0]


def test_daily_followers_change_from_the_previous_row(store):
    """instagram +40 (5 Jun, from 1,010 on 1 Jun) and +50 (8 Jun); facebook: its first row
    has nothing before it (empty), then +20; tiktok −10."""
    daily = social.daily_followers(store.table("social_accounts_daily"), window=WEEK)
    got = {(d.day, p): g for d, p, g in zip(daily.date_day, daily.platform,
                                            daily.followers_gained)}
    assert got[(5, "instagram")] == 40 and got[(8, "instagram")] == 50
    assert pd.isna(got[(3, "facebook")]) and got[(8, "facebook")] == 20
    assert got[(8, "tiktok")] == -10


def test_social_by_platform_against_targets(store):
    """instagram: 2 posts, reach 1,500 (target 1,400 met), 60 engagements, 60 ÷ 1,500 = 4%
    (target 5%: short), followers 1,100, +90 (target 80 met) → below target.
    facebook: reach 500 < 600 → below; 20 ÷ 500 = 4%; +20 (first row has no base).
    pinterest: a target and no data → 0 posts, followers unknown → below.
    tiktok: no posts this week, reach 0 < 100 → below; −10 followers."""
    frame = social.social_by_platform(store.table("social_posts"),
                                      store.table("social_accounts_daily"), window=WEEK,
                                      targets=TARGETS).set_index("platform")
    assert frame.index.tolist() == ["facebook", "instagram", "pinterest", "tiktok"]
    assert frame.count_posts.tolist() == [2, 2, 0, 0]
    assert frame.reach.tolist() == [500, 1500, 0, 0]
    assert frame.loc["instagram", "social_engagement_rate"] == 0.04
    assert frame.loc["facebook", "social_engagement_rate"] == 0.04
    assert math.isnan(frame.loc["tiktok", "social_engagement_rate"])
    assert frame.loc["instagram", "followers"] == 1100
    assert frame.loc["instagram", "count_followers_gained"] == 90
    assert frame.loc["facebook", "count_followers_gained"] == 20
    assert frame.loc["tiktok", "count_followers_gained"] == -10
    assert math.isnan(frame.loc["pinterest", "count_followers_gained"])
    assert frame.loc["instagram", "reach_target"] == 1400
    assert frame.is_below_target.tolist() == [True, True, True, True]


def test_a_platform_meeting_every_target_is_not_flagged(store):
    """instagram with a 4% engagement target meets all three."""
    targets = {"instagram": {"reach": 1400, "engagement_rate": 0.04, "followers_gained": 80}}
    frame = social.social_by_platform(store.table("social_posts"),
                                      store.table("social_accounts_daily"), window=WEEK,
                                      targets=targets).set_index("platform")
    assert not frame.loc["instagram", "is_below_target"]
    assert not frame.loc["facebook", "is_below_target"]  # no target, never flagged


def test_social_totals_of_the_week(store):
    """4 posts, reach 2,000, 80 engagements → 4%; followers 90 + 20 − 10 = 100."""
    totals = social.social_totals(
        social.daily_social(store.table("social_posts"), window=WEEK),
        social.daily_followers(store.table("social_accounts_daily"), window=WEEK))
    assert totals == {"count_posts": 4, "reach": 2000, "engagements": 80,
                      "social_engagement_rate": 0.04, "count_followers_gained": 100}


def test_best_and_worst_posts(store):
    """Rates: p1 5% (50), p3 5% (20), p2 2%, p4 0%. One each: best p1 (ties go to more
    engagements), worst p4. Three each from four posts: best p1, p3; worst p4, p2."""
    posts = marketing.social_posts_published(store.table("social_posts"), window=WEEK)
    one = social.best_and_worst_posts(posts, count=1)
    assert one[["rank_label", "post_id"]].values.tolist() == [["best", "p1"], ["worst", "p4"]]
    three = social.best_and_worst_posts(posts, count=3)
    assert three.post_id.tolist() == ["p1", "p3", "p4", "p2"]
    assert three.rank_label.tolist() == ["best", "best", "worst", "worst"]


def _email(campaign_id, name, kind, sent, delivered, opens, clicks, unsubscribes, revenue):
    return {"campaign_id": campaign_id, "name": name, "kind": kind, "sent_at": at(sent),
            "sent": delivered, "delivered": delivered, "unique_opens": opens,
            "unique_clicks": clicks, "unsubscribes": unsubscribes, "spam_complaints": 0,
            "bounces": 0, "attributed_orders": 1, "attributed_revenue": revenue}


@pytest.fixture
def emails(tiny_store):
    """Campaigns: June news 3 Jun (1,000 delivered, 400 opens, 30 clicks, 3 unsubscribes,
    £200); Summer sale 6 Jun (500, 100, 20, 2, £50); Late news 9 Jun (next week).
    Flow Welcome: 3 Jun (100, 60, 10, 0, £100) and 4 Jun (50, 20, 5, 0, £0)."""
    rows = [_email("e1", "June news", "campaign", "2025-06-03 10:00", 1000, 400, 30, 3, 200.0),
            _email("e2", "Summer sale", "campaign", "2025-06-06 10:00", 500, 100, 20, 2, 50.0),
            _email("e3", "Late news", "campaign", "2025-06-09 10:00", 900, 900, 900, 9, 9.0),
            _email("f1", "Welcome", "flow", "2025-06-03 12:00", 100, 60, 10, 0, 100.0),
            _email("f2", "Welcome", "flow", "2025-06-04 12:00", 50, 20, 5, 0, 0.0)]
    return tiny_store({"email_campaigns": rows}).table("email_campaigns")


def test_email_totals_over_campaigns(emails):
    """Campaigns only: 1,500 delivered; opens 500 ÷ 1,500 = 33.3%; clicks 50 ÷ 1,500 = 3.3%;
    unsubscribes 5 ÷ 1,500; revenue 250 ÷ 1,500 = £0.1667 per recipient."""
    totals = social.email_totals(social.daily_email(emails, window=WEEK))
    assert totals["count_sends"] == 2 and totals["delivered"] == 1500
    assert totals["email_open_rate"] == pytest.approx(1 / 3)
    assert totals["email_click_rate"] == pytest.approx(1 / 30)
    assert totals["email_unsubscribe_rate"] == pytest.approx(1 / 300)
    assert totals["revenue_per_recipient"] == pytest.approx(1 / 6)


def test_email_totals_with_flows(emails):
    """kind=None adds the flow: 1,650 delivered, opens 580 ÷ 1,650."""
    totals = social.email_totals(social.daily_email(emails, window=WEEK, kind=None))
    assert totals["delivered"] == 1650
    assert totals["email_open_rate"] == pytest.approx(580 / 1650)


def test_email_by_name(emails):
    """Campaigns first (by send time), then the flow with its two sends added up:
    150 delivered, opens 80 ÷ 150, clicks 15 ÷ 150 = 10%, £100 ÷ 150 per recipient."""
    frame = social.email_by_name(emails, window=WEEK)
    assert frame.name.tolist() == ["June news", "Summer sale", "Welcome"]
    assert frame.count_sends.tolist() == [1, 1, 2]
    assert frame.delivered.tolist() == [1000, 500, 150]
    assert frame.open_rate.tolist() == pytest.approx([0.4, 0.2, 80 / 150])
    assert frame.click_rate.tolist() == pytest.approx([0.03, 0.04, 0.1])
    assert frame.revenue_per_recipient.tolist() == pytest.approx([0.2, 0.1, 100 / 150])


def test_a_week_without_emails_has_no_rates(emails):
    quiet = Window.of("2025-05-01", "2025-05-07", zone=ZONE)
    totals = social.email_totals(social.daily_email(emails, window=quiet))
    assert totals["delivered"] == 0 and totals["email_open_rate"] is None


def test_count_new_customers(tiny_store):
    """New in the week: c2 (two orders, counted once) and c3 (its first order was cancelled
    the same day, its second counts). Not new: c1 (ordered on 1 May), the guest G@x.com
    (ordered on 10 May as g@x.com), c4 (only a same-day cancellation), c5 (first order on
    9 Jun), an order with neither customer nor email."""
    def order(order_id, customer, created, *, email=None, cancelled=None):
        return {"order_id": order_id, "order_number": order_id, "customer_id": customer,
                "email": email, "created_at": at(created), "cancelled_at": at(cancelled)}
    store = tiny_store({"orders": [
        order("a", "c1", "2025-05-01 10:00"), order("b", "c1", "2025-06-03 10:00"),
        order("c", "c2", "2025-06-03 10:00"), order("d", "c2", "2025-06-05 10:00"),
        order("e", "c3", "2025-06-02 10:00", cancelled="2025-06-02 11:00"),
        order("f", "c3", "2025-06-06 10:00"),
        order("g", None, "2025-05-10 10:00", email="g@x.com"),
        order("h", None, "2025-06-04 10:00", email="G@x.com"),
        order("i", "c4", "2025-06-04 10:00", cancelled="2025-06-04 12:00"),
        order("j", "c5", "2025-06-09 10:00"), order("k", None, "2025-06-04 10:00")]})
    assert social.count_new_customers(store.table("orders"), window=WEEK) == 2
    assert social.customer_acquisition_cost(100.0, 2) == 50.0
