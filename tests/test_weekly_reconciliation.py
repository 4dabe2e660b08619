"""Reconciliation: every weekly count and sum is the sum of its seven daily values.

On the small demo store, for the week to DEMO_UNTIL and the week before it, each weekly
figure (as the weekly pages compute and record it) is compared with the daily metric
functions called once per day — seven separate one-day windows — and added up. Ratios
are checked to be the ratio of those sums.
"""

from __future__ import annotations

import datetime as dt

import pytest

from opslib.metrics import (
    cash, competitors, fulfilment, funnel, marketing, returns, sales, service, social,
    support, web,
)
from opslib.store import Window
from opslib.views.weekly import cash as cash_page
from opslib.views.weekly import data, kpi_report, marketing_social, site_analytics

WEEKS_BACK = {"last": 0, "before": 1}


def _week_to(last_day: dt.date) -> Window:
    return Window.of(last_day - dt.timedelta(days=6), last_day, zone="Europe/London")


@pytest.fixture(params=sorted(WEEKS_BACK))
def week(request, demo_until) -> Window:
    """The week to DEMO_UNTIL, and the week before it."""
    return _week_to(demo_until - dt.timedelta(days=7 * WEEKS_BACK[request.param]))


def _days(week: Window) -> list[Window]:
    return [Window.of(week.start + dt.timedelta(days=n), zone=week.zone) for n in range(7)]


def _daily_sum(week: Window, daily, column: str) -> float:
    """Σ over the seven days of `column` in daily(one_day_window) (a one-row frame)."""
    return sum(float(daily(day)[column].sum()) for day in _days(week))


def test_the_demo_week_is_busy_enough_to_mean_something(small_demo_store, demo_until):
    """Guard: the checks below compare real numbers, not zeros."""
    week = _week_to(demo_until)
    figures = kpi_report.week_figures(small_demo_store, week)
    assert figures["count_orders"] > 50 and figures["count_shipments"] > 20
    assert figures["count_returns"] > 0 and figures["count_tickets_opened"] > 0
    assert cash_page.figures(small_demo_store, week)["cash_in"] > 0


def test_kpi_report_counts_and_sums(small_demo_store, week):
    """Orders, net sales, shipments, returns, refunds and tickets of the week = Σ of days;
    AOV and conversion are ratios of the summed days."""
    store, t = small_demo_store, small_demo_store.table
    figures = kpi_report.week_figures(store, week)

    def day_sales(day):
        return sales.daily_sales(t("orders"), t("order_lines"), t("returns"), window=day)

    orders = _daily_sum(week, day_sales, "count_orders")
    assert figures["count_orders"] == orders
    assert figures["net_sales"] == pytest.approx(_daily_sum(week, day_sales, "net_sales"))
    after_discounts = _daily_sum(week, day_sales, "gross_sales") - \
        _daily_sum(week, day_sales, "discounts")
    assert figures["avg_order_value"] == pytest.approx(after_discounts / orders)
    sessions = _daily_sum(week, lambda d: web.daily_traffic(t("web_traffic_daily"), window=d),
                          "count_sessions")
    assert figures["conversion_rate"] == pytest.approx(orders / sessions)
    assert figures["count_shipments"] == _daily_sum(
        week, lambda d: fulfilment.daily_shipments(t("shipments"), window=d), "count_shipments")

    def day_returns(d):
        return returns.daily_returns(t("returns"), window=d)

    assert figures["count_returns"] == _daily_sum(week, day_returns, "count_returns_requested")
    assert figures["refund_amount"] == pytest.approx(_daily_sum(week, day_returns,
                                                                "returns_amount"))
    assert figures["count_tickets_opened"] == _daily_sum(
        week, lambda d: support.daily_tickets(t("tickets"), window=d, sla_hours=24),
        "count_tickets_opened")


def test_site_figures(small_demo_store, week):
    """Sessions, funnel steps and bounces of the week = Σ of the daily traffic; the by-source
    table adds up to the same sessions; bounce rate = Σ bounces ÷ Σ sessions."""
    store, t = small_demo_store, small_demo_store.table

    def day(d):
        return web.daily_traffic(t("web_traffic_daily"), window=d)

    totals = funnel.site_totals(t("web_traffic_daily"), window=week)
    for column in ("count_sessions", "add_to_cart_sessions", "checkout_sessions", "bounces"):
        assert totals[column] == _daily_sum(week, day, column), column
    assert totals["bounce_rate"] == pytest.approx(
        _daily_sum(week, day, "bounces") / _daily_sum(week, day, "count_sessions"))
    assert site_analytics.figures(store, week)["count_sessions"] == totals["count_sessions"]
    by_source = funnel.traffic_by_source(t("web_traffic_daily"), window=week)
    assert by_source.count_sessions.sum() == totals["count_sessions"]
    assert by_source.orders.sum() == totals["orders"]


def test_marketing_figures(small_demo_store, week):
    """Ad spend = Σ daily spend (and the by-campaign table adds up to it); blended ROAS =
    Σ (gross − discounts) ÷ Σ spend; social posts, reach and engagements = Σ of the daily
    posts (marketing.social_posts_published, one day at a time); followers gained = Σ of the
    daily changes; campaign emails delivered and opened = Σ of the daily sends
    (marketing.email_results)."""
    store, t = small_demo_store, small_demo_store.table
    figures = marketing_social.week_figures(store, week)
    spend = _daily_sum(week, lambda d: marketing.daily_ad_spend(t("ad_spend_daily"), window=d),
                       "ad_spend")
    assert figures["ad_spend"] == pytest.approx(spend)
    assert marketing.ad_results(t("ad_spend_daily"), window=week).ad_spend.sum() == \
        pytest.approx(spend)

    def day_sales(day):
        return sales.daily_sales(t("orders"), t("order_lines"), t("returns"), window=day)

    revenue = _daily_sum(week, day_sales, "gross_sales") - _daily_sum(week, day_sales,
                                                                      "discounts")
    assert figures["blended_roas"] == pytest.approx(revenue / spend)

    def day_posts(d):
        return marketing.social_posts_published(t("social_posts"), window=d)

    week_posts = social.daily_social(t("social_posts"), window=week)
    assert int(week_posts.count_posts.sum()) == sum(len(day_posts(d)) for d in _days(week))
    reach = _daily_sum(week, day_posts, "reach")
    engagements = _daily_sum(week, day_posts, "engagements")
    assert figures["reach"] == reach
    assert figures["social_engagement_rate"] == pytest.approx(engagements / reach)
    gained = sum(float(social.daily_followers(t("social_accounts_daily"), window=d)
                       .followers_gained.sum()) for d in _days(week))
    assert figures["count_followers_gained"] == gained
    by_platform = social.social_by_platform(t("social_posts"), t("social_accounts_daily"),
                                            window=week)
    assert by_platform.count_followers_gained.sum() == gained
    assert by_platform.reach.sum() == reach

    def day_campaigns(day):
        sent = marketing.email_results(t("email_campaigns"), window=day)
        return sent[sent.kind == "campaign"].assign(
            opens=lambda f: f.open_rate * f.delivered)

    totals = social.email_totals(social.daily_email(t("email_campaigns"), window=week))
    assert totals["delivered"] == _daily_sum(week, day_campaigns, "delivered")
    assert figures["email_open_rate"] == pytest.approx(
        _daily_sum(week, day_campaigns, "opens") / totals["delivered"])


def test_cash_figures(small_demo_store, week):
    """Money in, out and net of the week = Σ of the daily cash; the by-category table adds
    up to the same; the closing balance moves by the week's net flow."""
    store, t = small_demo_store, small_demo_store.table
    figures = cash_page.figures(store, week)

    def day(d):
        return cash.daily_cash(t("bank_transactions"), window=d, currency="GBP")

    for name in ("cash_in", "cash_out", "net_cash_flow"):
        assert figures[name] == pytest.approx(_daily_sum(week, day, name)), name
    by_category = cash.cash_by_category(t("bank_transactions"), window=week, currency="GBP")
    assert by_category.cash_in.sum() == pytest.approx(figures["cash_in"])
    assert by_category.cash_out.sum() == pytest.approx(figures["cash_out"])
    balance = cash.daily_balance(t("bank_transactions"), window=Window.of(
        week.start - dt.timedelta(days=1), week.end, zone=week.zone), currency="GBP")
    total = balance.groupby("date_day").balance_amount.sum()
    assert total.iloc[-1] - total.iloc[0] == pytest.approx(figures["net_cash_flow"])


def test_service_figures(small_demo_store, week):
    """CSAT answers and satisfied answers of the week = Σ of the days; tickets per category
    add up to the week's tickets opened = Σ of the daily tickets."""
    store, t = small_demo_store, small_demo_store.table

    def day(d):
        return service.daily_csat(t("surveys"), window=d)

    totals = data.csat_week(store, week)
    assert totals["count_csat_responses"] == _daily_sum(week, day, "count_csat_responses")
    assert totals["csat_rate"] == pytest.approx(
        _daily_sum(week, day, "count_csat_satisfied")
        / _daily_sum(week, day, "count_csat_responses"))
    opened = _daily_sum(week, lambda d: support.daily_tickets(t("tickets"), window=d,
                                                              sla_hours=24),
                        "count_tickets_opened")
    by_category = service.tickets_by(t("tickets"), window=week, by="category")
    assert by_category.count_tickets_opened.sum() == opened


def test_category_trends_add_up_to_the_week(small_demo_store, week):
    """Gross sales over all categories of the week = Σ of the daily gross sales."""
    t = small_demo_store.table
    trends = competitors.category_trends(t("orders"), t("order_lines"), t("products"),
                                         window=week)
    gross = _daily_sum(week, lambda d: sales.daily_sales(t("orders"), t("order_lines"),
                                                         t("returns"), window=d),
                       "gross_sales")
    assert trends.gross_sales.sum() == pytest.approx(gross)
