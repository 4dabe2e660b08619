"""Marketing: the content calendar, posts, emails, ads and live promotions.

Rules (docs/metrics.md):

* A calendar item is done at the end of D when done_at is before the day ended; an item now
  `done` whose done_at came later was still to do on D (its exact earlier status is not
  recorded, so it shows as `planned`). `skipped` carries no time and counts as settled.
* Due items at the end of D: planned on or before D+1 (today, when the report is read in the
  morning) and neither done nor skipped; overdue = planned on or before D.
* Rates over delivered emails (open, click, unsubscribe, spam), as Klaviyo and Mailchimp do.
* ROAS = the platform's conversion value ÷ spend; blended ROAS = (gross sales − discounts)
  of all orders ÷ all ad spend (see opslib.metrics.kpis).
* Look-back: calendar items planned in the CALENDAR_LOOKBACK_DAYS days to D.
"""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
from ibis import _

from opslib.metrics.common import full_calendar, require, series_ratio, to_local
from opslib.metrics.sales import counted_orders
from opslib.store import Window, in_window

__all__ = ["CALENDAR_LOOKBACK_DAYS", "calendar_items", "daily_ad_spend", "ad_results",
           "social_posts_published", "email_results", "live_promotions"]

CALENDAR_LOOKBACK_DAYS = 30


def calendar_items(content_calendar: ibis.Table, *, as_of: Window, ahead_days: int = 1,
                   lookback_days: int = CALENDAR_LOOKBACK_DAYS) -> pd.DataFrame:
    """Calendar items for D and the `ahead_days` after it, and older items still to do.

    Grain: calendar item. Columns: item_id, planned_date, channel, title, owner, status (at
    the end of D), is_due (to do, planned up to D + ahead_days), is_overdue (to do, planned
    up to D). Overdue first, then by date.
    """
    require(content_calendar, "content_calendar", ("item_id", "planned_date", "channel",
                                                   "title", "owner", "status", "done_at"))
    end = as_of.hi
    last_day = as_of.end + dt.timedelta(days=ahead_days)
    span = Window.of(as_of.end - dt.timedelta(days=lookback_days - 1), last_day,
                     zone=as_of.zone)
    items = content_calendar.filter(in_window(content_calendar.planned_date, span))
    done_by_end = items.done_at.notnull() & (items.done_at < end)
    status = ibis.cases(
        (done_by_end, "done"),
        ((items.status == "done") & items.done_at.isnull(), "done"),
        (items.status == "done", "planned"),
        else_=items.status)
    items = items.mutate(status=status)
    to_do = items.status.isin(["planned", "ready"])
    items = items.mutate(is_due=to_do, is_overdue=to_do & (items.planned_date <= as_of.end))
    items = items.filter((items.planned_date >= as_of.end) | items.is_due)
    frame = items.select("item_id", "planned_date", "channel", "title", "owner", "status",
                         "is_due", "is_overdue").to_pandas()
    frame = frame.sort_values(["is_overdue", "planned_date", "item_id"],
                              ascending=[False, True, True]).reset_index(drop=True)
    return frame.astype({"is_due": "bool", "is_overdue": "bool"})


def daily_ad_spend(ad_spend_daily: ibis.Table, *, window: Window) -> pd.DataFrame:
    """Ad spend over all platforms per day (a full calendar).

    Grain: day. Columns: date_day, ad_spend, ad_impressions, ad_clicks, ad_conversions,
    ad_conversion_value (as the platforms report them).
    """
    require(ad_spend_daily, "ad_spend_daily", ("date_day", "spend", "impressions", "clicks",
                                               "conversions", "conversion_value"))
    rows = ad_spend_daily.filter(in_window(ad_spend_daily.date_day, window))
    frame = rows.group_by("date_day").aggregate(
        ad_spend=_.spend.sum(), ad_impressions=_.impressions.sum(), ad_clicks=_.clicks.sum(),
        ad_conversions=_.conversions.sum(), ad_conversion_value=_.conversion_value.sum(),
    ).to_pandas()
    out = full_calendar(frame, window, zero=["ad_spend", "ad_impressions", "ad_clicks",
                                             "ad_conversions", "ad_conversion_value"])
    return out.astype({"ad_spend": "float64", "ad_conversions": "float64",
                       "ad_conversion_value": "float64"})


def ad_results(ad_spend_daily: ibis.Table, *, window: Window) -> pd.DataFrame:
    """Results per platform and campaign over the window, biggest spend first.

    Grain: platform × campaign. Columns: platform, campaign, ad_spend, impressions, clicks,
    click_through_rate (clicks ÷ impressions), conversions, conversion_value, roas
    (conversion value ÷ spend, as the platform attributes it).
    """
    require(ad_spend_daily, "ad_spend_daily", ("date_day", "platform", "campaign", "spend",
                                               "impressions", "clicks", "conversions",
                                               "conversion_value"))
    rows = ad_spend_daily.filter(in_window(ad_spend_daily.date_day, window))
    frame = rows.group_by(["platform", "campaign"]).aggregate(
        ad_spend=_.spend.sum(), impressions=_.impressions.sum(), clicks=_.clicks.sum(),
        conversions=_.conversions.sum(), conversion_value=_.conversion_value.sum(),
    ).to_pandas()
    frame["click_through_rate"] = series_ratio(frame.clicks, frame.impressions)
    frame["roas"] = series_ratio(frame.conversion_value, frame.ad_spend)
    frame = frame.sort_values(["ad_spend", "platform", "campaign"],
                              ascending=[False, True, True]).reset_index(drop=True)
    return frame[["platform", "campaign", "ad_spend", "impressions", "clicks",
                  "click_through_rate", "conversions", "conversion_value", "roas"]]


def social_posts_published(social_posts: ibis.Table, *, window: Window) -> pd.DataFrame:
    """Posts published in the window with their results so far.

    Grain: post. Columns: post_id, platform, format, published_at (store time),
    impressions, reach, engagements, engagement_rate (engagements ÷ reach), link_clicks.
    """
    require(social_posts, "social_posts", ("post_id", "platform", "published_at", "format",
                                           "impressions", "reach", "engagements",
                                           "link_clicks"))
    rows = social_posts.filter(in_window(social_posts.published_at, window))
    frame = rows.select("post_id", "platform", "format", "published_at", "impressions",
                        "reach", "engagements", "link_clicks").order_by(
        ["published_at", "post_id"]).to_pandas()
    frame.insert(7, "engagement_rate", series_ratio(frame.engagements, frame.reach))
    return to_local(frame, window.zone, ["published_at"])


def email_results(email_campaigns: ibis.Table, *, window: Window) -> pd.DataFrame:
    """Emails sent in the window (campaigns and flows) and how they did.

    Grain: campaign send. Columns: campaign_id, name, kind, sent_at (store time), delivered,
    open_rate, click_rate, unsubscribe_rate, spam_rate (each ÷ delivered),
    attributed_orders, attributed_revenue, revenue_per_recipient (÷ delivered).
    """
    require(email_campaigns, "email_campaigns", (
        "campaign_id", "name", "kind", "sent_at", "delivered", "unique_opens", "unique_clicks",
        "unsubscribes", "spam_complaints", "attributed_orders", "attributed_revenue"))
    rows = email_campaigns.filter(in_window(email_campaigns.sent_at, window))
    frame = rows.order_by(["sent_at", "campaign_id"]).to_pandas()
    out = frame[["campaign_id", "name", "kind", "sent_at", "delivered"]].copy()
    for column, source in (("open_rate", "unique_opens"), ("click_rate", "unique_clicks"),
                           ("unsubscribe_rate", "unsubscribes"),
                           ("spam_rate", "spam_complaints")):
        out[column] = series_ratio(frame[source], frame.delivered)
    out["attributed_orders"] = frame.attributed_orders
    out["attributed_revenue"] = frame.attributed_revenue.astype("float64")
    out["revenue_per_recipient"] = series_ratio(frame.attributed_revenue, frame.delivered)
    return to_local(out, window.zone, ["sent_at"])


def live_promotions(promotions: ibis.Table, orders: ibis.Table | None = None, *,
                    as_of: Window) -> pd.DataFrame:
    """Promotions running at the end of D or starting on D+1, with D's orders using them.

    Grain: promotion. Columns: promo_code, name, kind, value, starts_at, ends_at (store
    time), is_live (running at the end of D), days_left (to ends_at; empty if open-ended),
    count_orders and discounts (orders placed on D with this code; needs orders).
    """
    require(promotions, "promotions", ("promo_code", "name", "starts_at", "ends_at", "kind",
                                       "value"))
    end = as_of.hi
    tomorrow_end = as_of.shift(1).hi
    rows = promotions.filter((promotions.starts_at < tomorrow_end) &
                             (promotions.ends_at.isnull() | (promotions.ends_at > end)))
    frame = rows.select("promo_code", "name", "kind", "value", "starts_at", "ends_at") \
        .order_by(["starts_at", "promo_code"]).to_pandas()
    frame["is_live"] = pd.to_datetime(frame.starts_at, utc=True) < end
    left = (pd.to_datetime(frame.ends_at, utc=True) - end) / pd.Timedelta(days=1)
    frame["days_left"] = left.round(1).astype("float64")
    if orders is not None:
        require(orders, "orders", ("discount_code", "discount_amount"))
        placed = counted_orders(orders, window=as_of)
        placed = placed.filter(placed.discount_code.notnull())
        used = placed.group_by(promo_code=placed.discount_code.upper()).aggregate(
            count_orders=_.count(), discounts=_.discount_amount.sum()).to_pandas()
        frame = frame.assign(_code=frame.promo_code.str.upper()).merge(
            used.rename(columns={"promo_code": "_code"}), on="_code", how="left") \
            .drop(columns="_code")
        frame["count_orders"] = frame.count_orders.fillna(0).astype("int64")
        frame["discounts"] = frame.discounts.fillna(0.0).astype("float64")
    return to_local(frame, as_of.zone, ["starts_at", "ends_at"]).astype({"is_live": "bool"})
