"""Marketing today: what goes out today, how yesterday's posts, emails and ads did."""

from __future__ import annotations

import datetime as dt

from opslib import display as show
from opslib.exports import action_list
from opslib.metrics import outreach
from opslib.store import Store
from opslib.views.base import section
from opslib.views.daily import data
from opslib.views.daily.common import table, tiles

__all__ = ["calendar", "posts", "emails", "ads", "promotions", "abandoned_checkouts",
           "review_requests", "figures"]

# The tables this page reads: `playbook run` checks them against the data contract
# before the notebook runs (a test keeps this in step with what the page reads).
READS = ("orders", "email_campaigns", "social_posts", "ad_spend_daily", "content_calendar",
         "promotions", "checkouts", "customers", "shipments", "returns", "tickets", "surveys")

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


def _abandoned(store: Store, day: dt.date) -> tuple:
    """The abandoned checkouts with marketing consent, and how many were left out."""
    return outreach.consented(data.abandoned_checkouts(store, day))


def _review_requests(store: Store, day: dt.date) -> tuple:
    """The review requests with an e-mail address, and how many orders had none."""
    frame = data.review_requests(store, day)
    return frame[frame.email.notna()].reset_index(drop=True), int(frame.email.isna().sum())


@section("Abandoned checkouts to chase")
def abandoned_checkouts(store: Store, day: dt.date) -> list:
    """Checkouts of the last 72 hours with no order after them, most valuable cart first:
    one row per e-mail, customers with marketing consent only (the `abandoned_checkouts`
    list)."""
    frame, left_out = _abandoned(store, day)
    parts = [action_list("abandoned_checkouts", frame, currency=store.settings.store.currency,
                         empty="No abandoned checkout to chase.")]
    if left_out:
        parts.append(show.note(f"{left_out} more abandoned checkout(s) left out: no marketing "
                               f"consent (or no customer record)."))
    return parts


@section("Ask for a review")
def review_requests(store: Store, day: dt.date) -> list:
    """Orders delivered 7–14 days before D with no return, complaint ticket or low score:
    one row per e-mail, the longest delivered first (the `review_requests` list)."""
    frame, without_email = _review_requests(store, day)
    parts = [action_list("review_requests", frame, currency=store.settings.store.currency,
                         empty="Nobody to ask for a review today.")]
    unchecked = [name for name in ("returns", "tickets", "surveys") if not store.has(name)]
    if unchecked:
        parts.append(show.note(f"Not checked (no {', '.join(unchecked)} data): returns, "
                               f"complaints or low scores of these customers may be missed."))
    if without_email:
        parts.append(show.note(f"{without_email} more delivered order(s) have no e-mail "
                               f"address (marketplace, point of sale) and are left out."))
    return parts


def figures(store: Store, day: dt.date) -> dict[str, float | None]:
    """count_calendar_items_due (None without a content calendar), count_abandoned_checkouts
    (None without checkouts), count_review_requests (None without orders and shipments)."""
    out: dict[str, float | None] = dict.fromkeys(
        ["count_calendar_items_due", "count_abandoned_checkouts", "count_review_requests"])
    if store.has("content_calendar"):
        out["count_calendar_items_due"] = float(data.calendar(store, day).is_due.sum())
    if store.has("checkouts") and store.has("orders"):
        out["count_abandoned_checkouts"] = float(len(_abandoned(store, day)[0]))
    if store.has("orders") and store.has("shipments"):
        out["count_review_requests"] = float(len(_review_requests(store, day)[0]))
    return out
