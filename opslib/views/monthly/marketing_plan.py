"""Marketing plan: this month's email and social results, next month's targets, promotions
to plan and the days of next month's calendar with nothing planned."""

from __future__ import annotations

import datetime as dt

from opslib import display as show
from opslib.metrics import marketing_plan as plan
from opslib.metrics import social
from opslib.metrics.months import month_of, next_month
from opslib.store import Store
from opslib.views.base import section
from opslib.views.monthly import data
from opslib.views.monthly.common import (
    comparison_table, comparison_tiles, month_label, periods, recorded, table, three_months,
)

__all__ = ["HEADLINE", "email", "social_results", "promotion_plan", "calendar", "figures"]

# The tables this page reads: `playbook run` checks them against the data contract
# before the notebook runs (a test keeps this in step with what the page reads).
READS = ("products", "orders", "order_lines", "inventory_snapshots", "email_campaigns",
         "email_list_daily", "social_posts", "social_accounts_daily", "content_calendar",
         "promotions")

HEADLINE = (
    ("email_open_rate", "Open rate", "rate"),
    ("email_click_rate", "Click rate", "rate"),
    ("email_unsubscribe_rate", "Unsubscribe rate", "rate"),
    ("email_spam_rate", "Spam rate", "rate"),
    ("revenue_per_recipient", "Revenue per recipient", "money"),
    ("count_net_new_subscribers", "Net new subscribers", "count"),
    ("subscribers_end", "Subscribers at the end", "count"),
)
_RATES = {"delivered": "count", "open_rate": "rate", "click_rate": "rate",
          "unsubscribe_rate": "rate", "revenue_per_recipient": "money",
          "attributed_revenue": "money", "count_sends": "count"}


@section("Email program")
def email(store: Store, day: dt.date) -> list:
    """Campaign rates (over delivered) and list growth, against last month and last year."""
    values = three_months(store, day, data.marketing_figures)
    now = periods(store, day)[0]
    sends = social.email_by_name(store.table("email_campaigns"), window=now)
    return [comparison_tiles(store, values, HEADLINE),
            comparison_table(store, day, values, HEADLINE),
            table(store, sends, title="Campaigns and flows this month", units=_RATES)]


@section("Social: results against targets, and next month's targets")
def social_results(store: Store, day: dt.date) -> list:
    """This month per platform against [targets.social] (weekly, scaled to the month)."""
    now = periods(store, day)[0]
    targets = store.settings.targets.social
    posts, follows = store.optional("social_posts"), store.optional("social_accounts_daily")
    if posts is None and follows is None:
        return [show.no_data("social_posts", section="Social")]
    results = plan.social_against_targets(posts, follows, window=now, weekly_targets=targets)
    proposed = plan.proposed_social_targets(posts, follows, month=month_of(day, zone=store.zone),
                                            weekly_targets=targets)
    following = next_month(month_of(day, zone=store.zone))
    notes = [] if targets else [show.note("No targets in playbook.toml [targets.social] yet: "
                                          "the proposal below is a starting point.")]
    return [table(store, results, highlight="is_below_target",
                  title=f"{month_label(now)} (red: below a target)",
                  units={"count_posts": "count", "reach": "count", "reach_target": "count",
                         "engagements": "count", "social_engagement_rate": "rate",
                         "engagement_rate_target": "rate", "followers": "count",
                         "count_followers_gained": "count",
                         "followers_gained_target": "count"}), *notes,
            table(store, proposed, title=f"Proposed targets for {following.start:%B %Y} "
                  f"(last {plan.TARGET_MONTHS} months + {plan.TARGET_STEP:.0%})",
                  units={c: ("rate" if "rate" in c else "count") for c in proposed.columns
                         if c != "platform"})]


@section("Draft promotion plan for next month")
def promotion_plan(store: Store, day: dt.date) -> list:
    """Stock to push, seasonal products, and what last year's same month ran."""
    t = store.table
    month = month_of(day, zone=store.zone)
    health = data.stock_health(store, day)
    push = health[health.stock_state.isin(["dead", "slow"])][
        ["sku", "title", "category", "on_hand", "stock_value", "quantity_sold_90d",
         "stock_state"]]
    seasonal = plan.seasonal_skus(t("orders"), t("order_lines"), t("products"), month=month)
    parts = [table(store, push, title="Overstock and slow movers to push (most value first)",
                   units={"on_hand": "count", "stock_value": "money",
                          "quantity_sold_90d": "count"}, empty="No slow or dead stock."),
             table(store, seasonal, title="Seasonal products: sold more in next month last year",
                   units={"quantity_sold_this_month_last_year": "count",
                          "quantity_sold_next_month_last_year": "count",
                          "seasonal_lift": "ratio"},
                   empty="No history a year back, or nothing seasonal.")]
    if store.has("promotions"):
        last_year = plan.promotions_last_year(t("promotions"), t("orders"), t("order_lines"),
                                              month=month)
        currency = store.settings.store.currency
        last_year = last_year.assign(value=[show.offer(k, v, currency=currency) for k, v in
                                            zip(last_year.kind, last_year.value)]).rename(
            columns={"value": "offer"})
        parts.append(table(store, last_year, title="Last year's promotions in these dates",
                           units={"starts_at": "date", "ends_at": "date",
                                  "count_orders": "count", "sales_amount": "money",
                                  "discounts": "money", "offer": "text"},
                           empty="No promotion ran in these dates last year."))
    else:
        parts.append(show.no_data("promotions", section="Last year's promotions"))
    return parts


@section("Content calendar gaps next month")
def calendar(store: Store, day: dt.date) -> list:
    """Per channel, next month's days with nothing planned; days with nothing at all."""
    month = month_of(day, zone=store.zone)
    gaps = plan.calendar_gaps(store.table("content_calendar"), month=month)
    empty = plan.days_without_plans(store.table("content_calendar"), month=month)
    return [table(store, gaps, units={"count_items": "count", "count_days_planned": "count",
                                      "count_days_empty": "count", "empty_days": "text"}),
            table(store, empty, title="Days with nothing planned on any channel",
                  units={"planned_date": "date", "weekday": "text"},
                  empty="Every day of next month has something planned.")]


def figures(store: Store, day: dt.date) -> dict[str, float | None]:
    """email_open_rate, email_click_rate, count_net_new_subscribers (each with _prev_month
    and _prev_year)."""
    values = three_months(store, day, data.marketing_figures)
    return recorded(values, ("email_open_rate", "email_click_rate",
                             "count_net_new_subscribers"))
