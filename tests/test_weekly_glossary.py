"""docs/metrics.md defines every weekly headline figure and every column the weekly
metric functions return."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from opslib.metrics import cash, competitors, content, funnel, marketing, periods, service, social
from opslib.store import Window

GLOSSARY = Path(__file__).resolve().parents[1] / "docs" / "metrics.md"
WEEKLY_NAMES = ("count_orders", "net_sales", "avg_order_value", "conversion_rate",
                "count_sessions", "count_shipments", "count_returns", "refund_amount",
                "count_tickets_opened", "csat_rate", "social_engagement_rate",
                "count_followers_gained", "email_open_rate", "email_click_rate", "ad_spend",
                "blended_roas", "cash_in", "cash_out", "net_cash_flow")


def _defined(text: str) -> set[str]:
    """Names in the first cell of every glossary table row (`name`, or several)."""
    names = set()
    for line in text.splitlines():
        if line.startswith("| `"):
            first = line.split("|")[1]
            names.update(re.findall(r"`([a-z0-9_]+)`", first))
    return names


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    following = text.find("\n## ", start + len(heading))
    return text[start:] if following < 0 else text[start:following]


def test_every_weekly_headline_figure_is_defined_in_the_weekly_section():
    weekly = _section(GLOSSARY.read_text(encoding="utf-8"), "## Weekly")
    table = _section(weekly, "### Weekly headline figures")
    assert set(WEEKLY_NAMES) <= _defined(table)
    assert "_prev_week" in weekly


def _frames(store, last_day: dt.date) -> dict[str, list[str]]:
    week = Window.of(last_day - dt.timedelta(days=6), last_day, zone=store.zone)
    day = Window.of(last_day, zone=store.zone)
    t = store.table
    rules = {"after_days": 3, "sla_hours": 24}
    pages = funnel.product_page_results(t("product_views_daily"), t("orders"),
                                        t("order_lines"), t("products"), window=week)
    results = marketing.ad_results(t("ad_spend_daily"), window=week)
    position = competitors.price_position(t("competitor_prices"), t("products"), as_of=day)
    frames = {
        "daily_cash": cash.daily_cash(t("bank_transactions"), window=week, currency="GBP"),
        "cash_by_category": cash.cash_by_category(t("bank_transactions"), window=week,
                                                  currency="GBP"),
        "other_currency_lines": cash.other_currency_lines(t("bank_transactions"),
                                                          window=week, currency="GBP"),
        "daily_balance": cash.daily_balance(t("bank_transactions"), window=week,
                                            currency="GBP"),
        "payables_due": cash.payables_due(t("purchase_orders"), as_of=day),
        "price_position": position,
        "position_summary": competitors.position_summary(position),
        "price_changes": competitors.price_changes(t("competitor_prices"), t("products"),
                                                   window=week),
        "category_trends": competitors.category_trends(t("orders"), t("order_lines"),
                                                       t("products"), window=week),
        "products_to_improve": content.products_to_improve(
            t("products"), window=week, product_views_daily=t("product_views_daily"),
            orders=t("orders"), order_lines=t("order_lines"), returns=t("returns"),
            tickets=t("tickets")),
        "traffic_by_source": funnel.traffic_by_source(t("web_traffic_daily"), window=week),
        "funnel_steps": funnel.funnel_steps(funnel.site_totals(t("web_traffic_daily"),
                                                               window=week)),
        "product_page_results": pages,
        "many_views_few_orders": funnel.many_views_few_orders(pages),
        "daily_social": social.daily_social(t("social_posts"), window=week),
        "daily_followers": social.daily_followers(t("social_accounts_daily"), window=week),
        "social_by_platform": social.social_by_platform(
            t("social_posts"), t("social_accounts_daily"), window=week),
        "best_and_worst_posts": social.best_and_worst_posts(
            marketing.social_posts_published(t("social_posts"), window=week)),
        "daily_email": social.daily_email(t("email_campaigns"), window=week),
        "email_by_name": social.email_by_name(t("email_campaigns"), window=week),
        "ads_by_platform": social.ads_by_platform(results),
        "with_cost_per_conversion": social.with_cost_per_conversion(results),
        "unresolved_tickets": service.unresolved_tickets(t("tickets"), as_of=day, **rules),
        "customers_to_call_back": service.customers_to_call_back(
            t("tickets"), t("surveys"), t("customers"), as_of=day, window=week, **rules),
        "daily_csat": service.daily_csat(t("surveys"), window=week),
        "tickets_by_category": service.tickets_by(t("tickets"), window=week, by="category"),
        "tickets_by_sku": service.tickets_by(t("tickets"), t("products"), window=week,
                                             by="sku"),
        "compare_periods": periods.compare_periods([("count_orders", "Orders", "count")],
                                                   {}, {}),
    }
    return {name: list(frame.columns) for name, frame in frames.items()}


@pytest.mark.slow
def test_every_weekly_report_column_is_in_the_glossary(small_demo_store, demo_until):
    """Each column of each weekly metric frame has a row in docs/metrics.md."""
    defined = _defined(GLOSSARY.read_text(encoding="utf-8"))
    missing = {name: [c for c in columns if c not in defined]
               for name, columns in _frames(small_demo_store, demo_until).items()}
    assert {name: cols for name, cols in missing.items() if cols} == {}
