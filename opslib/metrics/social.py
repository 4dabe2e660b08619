"""Marketing over a week: social reach and engagement against targets, emails, ads and CAC.

Rules (docs/metrics.md, "Weekly"):

* Posts count on the local day they were published, with their results as exported (a post
  keeps collecting reach after that day, so a later re-run can show more).
* reach = Σ reach of the posts published in the window: an account reached by two posts
  counts twice. Instagram's and Facebook's account-level reach counts each account once, so
  it is lower; the targets in playbook.toml [targets.social] are in our unit.
* engagement rate = Σ engagements ÷ Σ reach of the window's posts (the per-post rate of
  opslib.metrics.marketing, weighted by reach). Meta's own tools define it differently:
  Instagram Insights shows interactions and accounts engaged but no rate, Meta's ads
  reporting divides post engagements by impressions (a lower figure, since impressions ≥
  reach), and many social tools divide by followers. We divide by reach because every post
  export has it and Instagram no longer reports impressions (replaced by views in 2025).
* followers gained = followers at the end of the window − followers at the end of the day
  before it, per platform (a net figure: new followers minus those who left); per day, the
  change from the platform's previous row, so the week is the sum of its days.
* Emails: open, click and unsubscribe rates = unique opens, unique clicks, unsubscribes ÷
  delivered; revenue per recipient = attributed revenue ÷ delivered, as in Klaviyo (whose
  "recipients" are the delivered emails). The week's headline rates are over one-off
  campaigns only: automated flows go to people who just acted (higher rates) and are shown
  apart.
* Ads: ROAS = the platform's conversion value ÷ spend; cost per conversion = spend ÷ the
  platform's conversions, per platform and campaign (what ad platforms call CPA; it counts
  every attributed purchase, not only new customers). CAC = all ad spend ÷ new customers
  (customers whose first counted order falls in the window) for the shop as a whole: the
  data do not tie a new customer to a campaign.
"""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
from ibis import _

from opslib.metrics.common import full_calendar, ratio, require, series_ratio
from opslib.metrics.sales import counted_orders
from opslib.store import Window, in_window, local_date

__all__ = ["FOLLOWER_LOOKBACK_DAYS", "POST_RANK_COUNT", "daily_social", "daily_followers",
           "social_by_platform", "social_totals", "best_and_worst_posts", "daily_email",
           "email_totals", "email_by_name", "ads_by_platform", "with_cost_per_conversion",
           "count_new_customers", "first_orders", "customer_acquisition_cost"]

FOLLOWER_LOOKBACK_DAYS = 14
POST_RANK_COUNT = 3
_HISTORY_START = dt.date(1970, 1, 2)

_POST_COLUMNS = ("post_id", "platform", "published_at", "impressions", "reach", "engagements",
                 "link_clicks")
_POST_SUMS = ("impressions", "reach", "engagements", "link_clicks")
_EMAIL_SUMS = ("sent", "delivered", "unique_opens", "unique_clicks", "unsubscribes",
               "spam_complaints", "attributed_orders", "attributed_revenue")


def _posts(social_posts: ibis.Table, window: Window) -> ibis.Table:
    require(social_posts, "social_posts", _POST_COLUMNS)
    return social_posts.filter(in_window(social_posts.published_at, window))


def daily_social(social_posts: ibis.Table, *, window: Window) -> pd.DataFrame:
    """Posts published per local day, all platforms (a full calendar).

    Grain: day. Columns: date_day, count_posts, impressions, reach, engagements, link_clicks
    (0 on a day without posts).
    """
    rows = _posts(social_posts, window)
    frame = rows.group_by(date_day=local_date(rows.published_at, window.zone)).aggregate(
        count_posts=_.count(), **{name: rows[name].sum() for name in _POST_SUMS}).to_pandas()
    return full_calendar(frame, window, zero=["count_posts", *_POST_SUMS])


def daily_followers(social_accounts_daily: ibis.Table, *, window: Window,
                    lookback_days: int = FOLLOWER_LOOKBACK_DAYS) -> pd.DataFrame:
    """Followers per platform and day, with the change from the platform's previous row.

    Grain: day × platform (the rows present in the window). Columns: date_day, platform,
    followers, followers_gained (empty for a platform's first row within `lookback_days`
    before the window).
    """
    require(social_accounts_daily, "social_accounts_daily", ("date_day", "platform",
                                                             "followers"))
    span = Window.of(window.start - dt.timedelta(days=lookback_days), window.end,
                     zone=window.zone)
    rows = social_accounts_daily.filter(in_window(social_accounts_daily.date_day, span))
    rows = rows.mutate(followers_gained=rows.followers - rows.followers.lag().over(
        group_by=rows.platform, order_by=rows.date_day))
    rows = rows.filter(in_window(rows.date_day, window))
    frame = rows.select("date_day", "platform", "followers", "followers_gained") \
        .order_by(["date_day", "platform"]).to_pandas()
    frame["date_day"] = pd.to_datetime(frame.date_day)
    return frame.astype({"followers": "int64", "followers_gained": "Int64"})


def social_by_platform(social_posts: ibis.Table | None,
                       social_accounts_daily: ibis.Table | None, *, window: Window,
                       targets: dict[str, dict[str, float]] | None = None) -> pd.DataFrame:
    """The window's social results per platform against the weekly targets.

    Either table may be None (no such data). Grain: platform (with posts, follower rows or a
    target). Columns: platform, count_posts, reach, reach_target, engagements,
    social_engagement_rate, engagement_rate_target, followers, count_followers_gained,
    followers_gained_target, is_below_target (any figure with a target falls short).
    """
    targets = targets or {}
    posts = pd.DataFrame(columns=["count_posts", "reach", "engagements"], dtype="float64")
    follows = pd.DataFrame(columns=["followers", "count_followers_gained"], dtype="float64")
    if social_posts is not None:
        rows = _posts(social_posts, window)
        posts = rows.group_by("platform").aggregate(
            count_posts=_.count(), reach=_.reach.sum(), engagements=_.engagements.sum()) \
            .to_pandas().set_index("platform").astype("float64")
    if social_accounts_daily is not None:
        days = daily_followers(social_accounts_daily, window=window)
        days = days.astype({"followers": "float64", "followers_gained": "float64"})
        follows = days.groupby("platform").agg(
            followers=("followers", "last"),
            count_followers_gained=("followers_gained", lambda s: s.sum(min_count=1)))
    platforms = sorted(set(posts.index) | set(follows.index) | set(targets))
    frame = posts.reindex(platforms).join(follows.reindex(platforms))
    if social_posts is not None:  # a platform without posts this week: 0, not unknown
        frame[["count_posts", "reach", "engagements"]] = \
            frame[["count_posts", "reach", "engagements"]].fillna(0.0)
    frame.index.name = "platform"
    frame = frame.reset_index()
    frame["social_engagement_rate"] = series_ratio(frame.engagements, frame.reach)
    short = pd.Series(False, index=frame.index)
    for goal, value in (("reach", "reach"), ("engagement_rate", "social_engagement_rate"),
                        ("followers_gained", "count_followers_gained")):
        target = pd.Series([targets.get(p, {}).get(goal, float("nan"))
                            for p in frame.platform], index=frame.index, dtype="float64")
        frame[f"{goal}_target"] = target
        short |= target.notna() & (frame[value].isna() | (frame[value] < target))
    frame["is_below_target"] = short.astype("bool")
    columns = ["platform", "count_posts", "reach", "reach_target", "engagements",
               "social_engagement_rate", "engagement_rate_target", "followers",
               "count_followers_gained", "followers_gained_target", "is_below_target"]
    return frame[columns]


def social_totals(posts_daily: pd.DataFrame | None,
                  followers_daily: pd.DataFrame | None) -> dict[str, float | None]:
    """The window's headline social figures from daily_social and daily_followers frames.

    Keys: count_posts, reach, engagements, social_engagement_rate (Σ engagements ÷ Σ reach),
    count_followers_gained (Σ over platforms and days; None without follower rows).
    """
    out: dict[str, float | None] = {"count_posts": None, "reach": None, "engagements": None,
                                    "social_engagement_rate": None,
                                    "count_followers_gained": None}
    if posts_daily is not None:
        for name in ("count_posts", "reach", "engagements"):
            out[name] = int(posts_daily[name].sum())
        out["social_engagement_rate"] = ratio(out["engagements"], out["reach"])
    if followers_daily is not None and followers_daily.followers_gained.notna().any():
        out["count_followers_gained"] = int(followers_daily.followers_gained.sum())
    return out


def best_and_worst_posts(posts: pd.DataFrame, *, count: int = POST_RANK_COUNT) -> pd.DataFrame:
    """The best and worst posts by engagement rate, from marketing.social_posts_published.

    Posts without reach are left out (no rate). With fewer than 2 × count posts, the top
    half is best and the rest worst, so no post is both. Adds `rank_label` (best / worst)
    as the first column; best first, then worst from the lowest rate.

    >>> posts = pd.DataFrame({"post_id": list("abcde"),
    ...     "engagement_rate": [0.05, 0.01, 0.09, None, 0.03], "engagements": [5, 1, 9, 0, 3]})
    >>> best_and_worst_posts(posts, count=2)[["rank_label", "post_id"]].values.tolist()
    [['best', 'c'], ['best', 'a'], ['worst', 'b'], ['worst', 'e']]
    """
    rated = posts[posts.engagement_rate.notna()]
    ranked = rated.sort_values(["engagement_rate", "engagements"], ascending=[False, False])
    best_count = min(count, (len(ranked) + 1) // 2)
    best = ranked.head(best_count)
    worst = ranked.iloc[best_count:].sort_values(["engagement_rate", "engagements"]) \
        .head(count)
    out = pd.concat([best.assign(rank_label="best"), worst.assign(rank_label="worst")])
    return out[["rank_label", *posts.columns]].reset_index(drop=True)


def daily_email(email_campaigns: ibis.Table, *, window: Window,
                kind: str | None = "campaign") -> pd.DataFrame:
    """Emails sent per local day (a full calendar), one-off campaigns by default.

    `kind` is "campaign", "flow" or None (both). Grain: day. Columns: date_day, count_sends,
    sent, delivered, unique_opens, unique_clicks, unsubscribes, spam_complaints,
    attributed_orders, attributed_revenue (0 on a day without sends).
    """
    require(email_campaigns, "email_campaigns", ("campaign_id", "kind", "sent_at",
                                                 *_EMAIL_SUMS))
    rows = email_campaigns.filter(in_window(email_campaigns.sent_at, window))
    if kind is not None:
        rows = rows.filter(rows.kind == kind)
    frame = rows.group_by(date_day=local_date(rows.sent_at, window.zone)).aggregate(
        count_sends=_.count(), **{name: rows[name].sum() for name in _EMAIL_SUMS}).to_pandas()
    out = full_calendar(frame, window, zero=["count_sends", *_EMAIL_SUMS])
    return out.astype({"attributed_revenue": "float64"})


def email_totals(daily: pd.DataFrame) -> dict[str, float | None]:
    """The window's email figures from a daily_email frame: sums, and rates of the sums.

    >>> day = pd.DataFrame({"count_sends": [1, 1], "delivered": [900, 100],
    ...     "unique_opens": [400, 50], "unique_clicks": [30, 10], "unsubscribes": [4, 1],
    ...     "attributed_revenue": [180.0, 20.0]})
    >>> t = email_totals(day)
    >>> t["email_open_rate"], t["email_click_rate"], t["revenue_per_recipient"]
    (0.45, 0.04, 0.2)
    """
    delivered = int(daily.delivered.sum())
    return {
        "count_sends": int(daily.count_sends.sum()),
        "delivered": delivered,
        "email_open_rate": ratio(int(daily.unique_opens.sum()), delivered),
        "email_click_rate": ratio(int(daily.unique_clicks.sum()), delivered),
        "email_unsubscribe_rate": ratio(int(daily.unsubscribes.sum()), delivered),
        "attributed_revenue": float(daily.attributed_revenue.sum()),
        "revenue_per_recipient": ratio(float(daily.attributed_revenue.sum()), delivered),
    }


def email_by_name(email_campaigns: ibis.Table, *, window: Window) -> pd.DataFrame:
    """Emails sent in the window per campaign or flow name, campaigns first.

    A flow sends every day; its sends are added up. Grain: kind × name. Columns: kind,
    name, count_sends, delivered, open_rate, click_rate, unsubscribe_rate (each of the sums
    ÷ delivered), attributed_revenue, revenue_per_recipient.
    """
    require(email_campaigns, "email_campaigns", ("name", "kind", "sent_at", *_EMAIL_SUMS))
    rows = email_campaigns.filter(in_window(email_campaigns.sent_at, window))
    frame = rows.group_by(["kind", "name"]).aggregate(
        count_sends=_.count(), first_sent_at=_.sent_at.min(),
        **{name: rows[name].sum() for name in _EMAIL_SUMS}).to_pandas()
    out = frame[["kind", "name", "count_sends", "delivered"]].copy()
    for column, source in (("open_rate", "unique_opens"), ("click_rate", "unique_clicks"),
                           ("unsubscribe_rate", "unsubscribes")):
        out[column] = series_ratio(frame[source], frame.delivered)
    out["attributed_revenue"] = frame.attributed_revenue.astype("float64")
    out["revenue_per_recipient"] = series_ratio(frame.attributed_revenue, frame.delivered)
    order = frame.kind.map({"campaign": 0}).fillna(1)
    out = out.assign(_order=order, _sent=frame.first_sent_at).sort_values(
        ["_order", "_sent", "name"]).drop(columns=["_order", "_sent"])
    return out.astype({"count_sends": "int64", "delivered": "int64"}).reset_index(drop=True)


def ads_by_platform(results: pd.DataFrame) -> pd.DataFrame:
    """Roll marketing.ad_results (platform × campaign) up to platforms, with a total row.

    Grain: platform, then "All platforms". Columns: platform, ad_spend, clicks,
    conversions, conversion_value, roas, cost_per_conversion.

    >>> r = pd.DataFrame({"platform": ["google", "google", "meta"], "ad_spend": [10.0, 30.0, 20.0],
    ...     "clicks": [5, 15, 10], "conversions": [1.0, 3.0, 0.0],
    ...     "conversion_value": [50.0, 70.0, 0.0]})
    >>> ads_by_platform(r)[["platform", "roas", "cost_per_conversion"]].values.tolist()
    [['google', 3.0, 10.0], ['meta', 0.0, nan], ['All platforms', 2.0, 15.0]]
    """
    sums = ["ad_spend", "clicks", "conversions", "conversion_value"]
    by = results.groupby("platform", sort=False)[sums].sum().reset_index()
    by = by.sort_values(["ad_spend", "platform"], ascending=[False, True])
    total = pd.DataFrame([{"platform": "All platforms", **results[sums].sum().to_dict()}])
    out = pd.concat([by, total], ignore_index=True) if len(by) else by
    out["roas"] = series_ratio(out.conversion_value, out.ad_spend)
    out["cost_per_conversion"] = series_ratio(out.ad_spend, out.conversions)
    return out.astype({"ad_spend": "float64", "clicks": "int64", "conversions": "float64",
                       "conversion_value": "float64"})[
        ["platform", *sums, "roas", "cost_per_conversion"]].reset_index(drop=True)


def with_cost_per_conversion(results: pd.DataFrame) -> pd.DataFrame:
    """A copy of marketing.ad_results with cost_per_conversion (spend ÷ the platform's
    conversions; empty without conversions).

    >>> r = pd.DataFrame({"ad_spend": [30.0, 5.0], "conversions": [1.5, 0.0]})
    >>> with_cost_per_conversion(r).cost_per_conversion.tolist()
    [20.0, nan]
    """
    return results.assign(cost_per_conversion=series_ratio(results.ad_spend,
                                                           results.conversions))


def count_new_customers(orders: ibis.Table, *, window: Window) -> int:
    """Customers whose first counted order falls in the window.

    A customer is the order's customer_id, else its email in lower case (a guest); orders
    with neither are left out. Orders are counted as in daily sales (a same-day cancellation
    is not an order), over all history to the window's end.
    """
    return int(first_orders(orders, window=window).count().to_pyarrow().as_py())


def first_orders(orders: ibis.Table, *, window: Window) -> ibis.Table:
    """The customers whose first counted order falls in the window (as count_new_customers
    counts them): columns customer, first_at."""
    require(orders, "orders", ("customer_id", "email", "created_at", "cancelled_at"))
    history = counted_orders(orders, window=Window.of(_HISTORY_START, window.end,
                                                      zone=window.zone))
    who = ibis.coalesce(history.customer_id, history.email.lower())
    first = history.filter(who.notnull()).group_by(customer=who).aggregate(
        first_at=_.created_at.min())
    return first.filter(first.first_at >= window.lo)


def customer_acquisition_cost(ad_spend: float | None,
                              new_customers: int | None) -> float | None:
    """All ad spend ÷ new customers; None without new customers.

    >>> customer_acquisition_cost(250.0, 10), customer_acquisition_cost(250.0, 0)
    (25.0, None)
    """
    return ratio(ad_spend, new_customers)
