"""Marketing today: what goes out today, how yesterday's posts, emails and ads did."""

from __future__ import annotations

import datetime as dt

from opslib import display as show
from opslib.store import Store
from opslib.views.base import section
from opslib.views.daily import data
from opslib.views.daily.common import table, tiles

__all__ = ["calendar", "posts", "emails", "ads", "promotions", "figures"]

# The tables this page reads: `playbook run` checks them against the data contract
# before the notebook runs (a test keeps this in step with what the page reads).
READS = ("orders", "email_campaigns", "social_posts", "ad_spend_daily", "content_calendar",
         "promotions")

_RATES = {"open_rate": "rate", "click_rate": "rate", "unsubscribe_rate": "rate",
          "spam_rate": "rate", "delivered": "count", "attributed_orders": "count",
          "attributed_revenue": "money", "revenue_per_recipient": "money"}


@section("Content calendar")
def calendar(store: Store, day: dt.date) -> list:
    """Items planned for D and today (D+1) and older ones still to do (overdue in red)."""
    items = data.calendar(store, day)
    return [table(store, items.drop(columns=["is_due"]), highlight="is_overdue",
                  units={"planned_date": "date"},
                  empty=f"Nothing planned for {day} or the day after, and nothing overdue.")]


@section("Yesterday's posts")
def posts(store: Store, day: dt.date) -> list:
    return [table(store, data.posts(store, day),
                  units={"impressions": "count", "reach": "count", "engagements": "count",
                         "engagement_rate": "rate", "link_clicks": "count"},
                  empty=f"No post published on {day}.")]


@section("Yesterday's emails")
def emails(store: Store, day: dt.date) -> list:
    return [table(store, data.emails(store, day), units=_RATES,
                  empty=f"No email sent on {day}.")]


@section("Yesterday's ads")
def ads(store: Store, day: dt.date) -> list:
    """Spend and platform-reported results per campaign."""
    frame = data.ads(store, day)
    spend, value = float(frame.ad_spend.sum()), float(frame.conversion_value.sum())
    return [tiles(store, [show.Tile("Ad spend", spend, "money"),
                          show.Tile("Platform-reported value", value, "money"),
                          show.Tile("ROAS (platforms)", value / spend if spend else None,
                                    "ratio")]),
            table(store, frame, units={"ad_spend": "money", "impressions": "count",
                                       "clicks": "count", "click_through_rate": "rate",
                                       "conversions": "number", "conversion_value": "money",
                                       "roas": "ratio"},
                  empty=f"No ad spend on {day}.")]


@section("Promotions live")
def promotions(store: Store, day: dt.date) -> list:
    """Running at the end of D or starting today, with D's orders using each code."""
    live = data.promotions(store, day)
    currency = store.settings.store.currency
    live = live.assign(value=[show.offer(k, v, currency=currency)
                              for k, v in zip(live.kind, live.value)]).rename(
        columns={"value": "offer"})
    return [table(store, live,
                  units={"offer": "text", "days_left": "days", "count_orders": "count",
                         "discounts": "money"},
                  empty="No promotion is running.")]


def figures(store: Store, day: dt.date) -> dict[str, float | None]:
    """count_calendar_items_due (None without a content calendar)."""
    if not store.has("content_calendar"):
        return {"count_calendar_items_due": None}
    return {"count_calendar_items_due": float(data.calendar(store, day).is_due.sum())}
