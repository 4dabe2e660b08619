"""Next month's marketing plan: this month's email program, social results against targets
and next month's targets, a draft promotion plan, and gaps in next month's calendar.

Definitions (docs/metrics.md, "Monthly"):

* Email rates are those of opslib.metrics.social (over delivered, one-off campaigns; flows
  apart); spam rate = spam complaints ÷ delivered.
* net list growth = new subscribers − unsubscribes − spam complaints − hard bounces
  (email_list_daily), per day; a month is the sum of its days (count_net_new_subscribers).
* Social targets in playbook.toml [targets.social] are per week (as the weekly playbook
  reads them); a month's target = weekly target × days ÷ 7 for reach and followers gained,
  the same rate for the engagement rate. Proposed targets for next month = the average of
  the last TARGET_MONTHS months' results (per day, times next month's days) raised by
  TARGET_STEP, shown per month and per week.
* Promotion plan: stock to push (slow and dead stock, most value first, from
  opslib.metrics.planning.stock_health); seasonal SKUs (units in next month last year at
  least SEASONAL_LIFT × those of the report month last year, with at least
  SEASONAL_MIN_UNITS units); last year's promotions in next month's dates and what they
  sold (counted orders using the code).
* Calendar gaps: for each channel, the days of next month with nothing planned (items not
  skipped); and the days with nothing planned on any channel.
"""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
from ibis import _

from opslib.metrics.common import full_calendar, ratio, require
from opslib.metrics.months import months_back, next_month, order_values, same_month_last_year
from opslib.metrics.sales import sales_by_sku
from opslib.metrics.social import daily_email, email_totals, social_by_platform
from opslib.store import Window, in_window

__all__ = ["TARGET_MONTHS", "TARGET_STEP", "SEASONAL_LIFT", "SEASONAL_MIN_UNITS",
           "CALENDAR_CHANNELS", "email_program", "daily_list_growth", "list_growth",
           "social_against_targets", "proposed_social_targets", "seasonal_skus",
           "promotions_last_year", "calendar_gaps", "days_without_plans", "day_ranges"]

TARGET_MONTHS = 3
TARGET_STEP = 0.05
SEASONAL_LIFT = 1.2
SEASONAL_MIN_UNITS = 5
CALENDAR_CHANNELS = ("social", "email", "site", "promotion", "banner")
_LIST_COLUMNS = ("date_day", "subscribers", "new_subscribers", "unsubscribes",
                 "spam_complaints", "hard_bounces")


def email_program(email_campaigns: ibis.Table, *, window: Window) -> dict[str, float | None]:
    """The window's one-off campaign figures (opslib.metrics.social) plus the spam rate.

    Keys: count_sends, delivered, email_open_rate, email_click_rate,
    email_unsubscribe_rate, email_spam_rate, attributed_revenue, revenue_per_recipient.
    """
    daily = daily_email(email_campaigns, window=window)
    out = email_totals(daily)
    out["email_spam_rate"] = ratio(int(daily.spam_complaints.sum()), out["delivered"])
    return out


def daily_list_growth(email_list_daily: ibis.Table, *, window: Window) -> pd.DataFrame:
    """The mailing list per day (a full calendar).

    Grain: day. Columns: date_day, subscribers (end of day; empty on a day without a row),
    new_subscribers, unsubscribes, spam_complaints, hard_bounces, count_net_new_subscribers
    (new − unsubscribes − complaints − hard bounces; 0 on a day without a row).
    """
    require(email_list_daily, "email_list_daily", _LIST_COLUMNS)
    rows = email_list_daily.filter(in_window(email_list_daily.date_day, window))
    frame = rows.select(*_LIST_COLUMNS).to_pandas()
    sums = ["new_subscribers", "unsubscribes", "spam_complaints", "hard_bounces"]
    out = full_calendar(frame, window, zero=sums)
    out["count_net_new_subscribers"] = (out.new_subscribers - out.unsubscribes
                                        - out.spam_complaints - out.hard_bounces)
    out["subscribers"] = out.subscribers.astype("Float64")
    return out[["date_day", *(_LIST_COLUMNS[1:]), "count_net_new_subscribers"]]


def list_growth(daily: pd.DataFrame) -> dict[str, float | None]:
    """The window's list figures from a daily_list_growth frame: sums and the end size.

    >>> d = pd.DataFrame({"subscribers": [100, 103], "new_subscribers": [5, 4],
    ...     "unsubscribes": [1, 1], "spam_complaints": [0, 0], "hard_bounces": [1, 0],
    ...     "count_net_new_subscribers": [3, 3]})
    >>> list_growth(d)["count_net_new_subscribers"], list_growth(d)["subscribers_end"]
    (6, 103.0)
    """
    known = daily.subscribers.dropna()
    return {
        "new_subscribers": int(daily.new_subscribers.sum()),
        "unsubscribes": int(daily.unsubscribes.sum()),
        "count_net_new_subscribers": int(daily.count_net_new_subscribers.sum()),
        "subscribers_end": float(known.iloc[-1]) if len(known) else None,
    }


def _monthly_targets(targets: dict[str, dict[str, float]], days: int) -> dict:
    scale = days / 7
    return {platform: {goal: (value if goal == "engagement_rate" else value * scale)
                       for goal, value in goals.items()}
            for platform, goals in targets.items()}


def social_against_targets(social_posts: ibis.Table | None,
                           social_accounts_daily: ibis.Table | None, *, window: Window,
                           weekly_targets: dict[str, dict[str, float]]) -> pd.DataFrame:
    """The window's social results per platform against the weekly targets scaled to it.

    Columns as opslib.metrics.social.social_by_platform (targets scaled to the window).
    """
    return social_by_platform(social_posts, social_accounts_daily, window=window,
                              targets=_monthly_targets(weekly_targets, window.days))


def proposed_social_targets(social_posts: ibis.Table | None,
                            social_accounts_daily: ibis.Table | None, *, month: Window,
                            weekly_targets: dict[str, dict[str, float]]) -> pd.DataFrame:
    """Next month's targets from the last TARGET_MONTHS months' results, + TARGET_STEP.

    Grain: platform. Columns: platform, reach_target_next_month,
    engagement_rate_target_next_month, followers_gained_target_next_month, and the
    weekly equivalents (reach_target_weekly, engagement_rate_target_weekly,
    followers_gained_target_weekly) to put in playbook.toml.
    """
    frames = []
    for back in range(TARGET_MONTHS):
        window = months_back(month, back)
        result = social_by_platform(social_posts, social_accounts_daily, window=window,
                                    targets=None)
        result = result.assign(days=window.days)
        frames.append(result)
    history = pd.concat(frames, ignore_index=True)
    following = next_month(month)
    rows = []
    for platform, group in history.groupby("platform"):
        days = group.days.sum()
        reach = group.reach.sum(min_count=1) / days * following.days
        gained = group.count_followers_gained.sum(min_count=1) / days * following.days
        rate = ratio(group.engagements.sum(min_count=1), group.reach.sum(min_count=1))
        step = 1 + TARGET_STEP
        rows.append({"platform": platform,
                     "reach_target_next_month": None if pd.isna(reach) else round(reach * step),
                     "engagement_rate_target_next_month": None if rate is None
                     else rate * step,
                     "followers_gained_target_next_month": None if pd.isna(gained)
                     else round(max(gained, 0) * step)})
    out = pd.DataFrame(rows, columns=["platform", "reach_target_next_month",
                                      "engagement_rate_target_next_month",
                                      "followers_gained_target_next_month"])
    out = out.astype({"reach_target_next_month": "float64",
                      "engagement_rate_target_next_month": "float64",
                      "followers_gained_target_next_month": "float64"})
    per_week = 7 / following.days
    out["reach_target_weekly"] = (out.reach_target_next_month * per_week).round()
    out["engagement_rate_target_weekly"] = out.engagement_rate_target_next_month
    out["followers_gained_target_weekly"] = (out.followers_gained_target_next_month
                                             * per_week).round()
    return out


def seasonal_skus(orders: ibis.Table, order_lines: ibis.Table, products: ibis.Table, *,
                  month: Window) -> pd.DataFrame:
    """Active SKUs that sold clearly more in next month last year than in this month then.

    Grain: SKU. Columns: sku, title, category, quantity_sold_this_month_last_year,
    quantity_sold_next_month_last_year, seasonal_lift. Biggest lift in units first.
    Empty when the store has no history a year back: its first order came after the first
    day of this month last year (a month without orders is no baseline).
    """
    require(products, "products", ("sku", "title", "category", "status"))
    this_then = same_month_last_year(month)
    next_then = same_month_last_year(next_month(month))
    first = orders.created_at.min().to_pandas()
    has_year = first is not None and not pd.isna(first) and \
        pd.Timestamp(first).tz_convert(month.zone).date() <= this_then.start
    before = sales_by_sku(orders, order_lines, window=this_then)[["sku", "quantity_sold"]]
    after = sales_by_sku(orders, order_lines, window=next_then)[["sku", "quantity_sold"]]
    frame = after.merge(before, on="sku", how="left", suffixes=("_next", "_this")).fillna(0)
    frame = frame.rename(columns={"quantity_sold_next": "quantity_sold_next_month_last_year",
                                  "quantity_sold_this": "quantity_sold_this_month_last_year"})
    daily_next = frame.quantity_sold_next_month_last_year / next_then.days
    daily_this = frame.quantity_sold_this_month_last_year / this_then.days
    frame["seasonal_lift"] = (daily_next / daily_this.where(daily_this > 0)).round(2)
    keep = has_year & (frame.quantity_sold_next_month_last_year >= SEASONAL_MIN_UNITS) & (
        (daily_this == 0) | (daily_next >= SEASONAL_LIFT * daily_this))
    active = products.filter(products.status == "active").select(
        "sku", "title", "category").to_pandas()
    out = active.merge(frame[keep], on="sku")
    out["extra_units"] = out.quantity_sold_next_month_last_year - \
        out.quantity_sold_this_month_last_year
    out = out.sort_values(["extra_units", "sku"], ascending=[False, True])
    return out[["sku", "title", "category", "quantity_sold_this_month_last_year",
                "quantity_sold_next_month_last_year", "seasonal_lift"]].reset_index(drop=True) \
        .astype({"quantity_sold_this_month_last_year": "int64",
                 "quantity_sold_next_month_last_year": "int64"})


def promotions_last_year(promotions: ibis.Table, orders: ibis.Table, order_lines: ibis.Table,
                         *, month: Window) -> pd.DataFrame:
    """Promotions that ran in next month's dates last year, and what they sold.

    Grain: promotion. Columns: promo_code, name, kind, value, starts_at, ends_at (local
    date), count_orders (counted orders in that month using the code), sales_amount (their
    gross − discounts), discounts.
    """
    require(promotions, "promotions", ("promo_code", "name", "starts_at", "ends_at", "kind",
                                       "value"))
    then = same_month_last_year(next_month(month))
    ran = promotions.filter((promotions.starts_at < then.hi) & (
        promotions.ends_at.isnull() | (promotions.ends_at > then.lo)))
    frame = ran.select("promo_code", "name", "kind", "value", "starts_at", "ends_at") \
        .order_by("starts_at").to_pandas()
    placed = order_values(orders, order_lines, window=then)
    placed = placed.filter(placed.discount_code.notnull())
    used = placed.group_by(code=placed.discount_code.upper()).aggregate(
        count_orders=_.count(), sales_amount=_.sales_amount.sum(),
        discounts=_.discounts.sum()).to_pandas()
    frame = frame.assign(code=frame.promo_code.str.upper()).merge(used, on="code", how="left")
    frame["count_orders"] = frame.count_orders.fillna(0).astype("int64")
    for column in ("sales_amount", "discounts"):
        frame[column] = frame[column].astype("float64").fillna(0.0)
    for column in ("starts_at", "ends_at"):
        local = pd.to_datetime(frame[column], utc=True).dt.tz_convert(month.zone)
        frame[column] = local.dt.tz_localize(None).dt.normalize()
    return frame.drop(columns="code").sort_values(["sales_amount", "promo_code"],
                                                  ascending=[False, True]).reset_index(drop=True)


def day_ranges(days: list[dt.date]) -> str:
    """Days of one month as compact ranges.

    >>> day_ranges([dt.date(2025, 12, d) for d in (1, 2, 3, 5, 9, 10)])
    '1–3, 5, 9–10'
    >>> day_ranges([])
    ''
    """
    numbers = sorted(day.day for day in days)
    parts, start = [], None
    for i, number in enumerate(numbers):
        if start is None:
            start = number
        if i + 1 == len(numbers) or numbers[i + 1] != number + 1:
            parts.append(f"{start}" if start == number else f"{start}–{number}")
            start = None
    return ", ".join(parts)


def _planned(content_calendar: ibis.Table, window: Window) -> pd.DataFrame:
    require(content_calendar, "content_calendar", ("item_id", "planned_date", "channel",
                                                   "status"))
    items = content_calendar.filter(in_window(content_calendar.planned_date, window) &
                                    (content_calendar.status != "skipped"))
    frame = items.group_by(["planned_date", "channel"]).aggregate(count_items=_.count()) \
        .to_pandas()
    frame["planned_date"] = pd.to_datetime(frame.planned_date)
    return frame


def calendar_gaps(content_calendar: ibis.Table, *, month: Window) -> pd.DataFrame:
    """For each channel, next month's days with nothing planned.

    Grain: channel (CALENDAR_CHANNELS). Columns: channel, count_items,
    count_days_planned, count_days_empty, empty_days (compact day numbers, e.g. 1–3, 9).
    """
    following = next_month(month)
    planned = _planned(content_calendar, following)
    days = list(following.dates())
    rows = []
    for channel in CALENDAR_CHANNELS:
        mine = planned[planned.channel == channel]
        busy = set(mine.planned_date)
        empty = [day.date() for day in days if day not in busy]
        rows.append({"channel": channel, "count_items": int(mine.count_items.sum()),
                     "count_days_planned": len(days) - len(empty),
                     "count_days_empty": len(empty), "empty_days": day_ranges(empty)})
    return pd.DataFrame(rows)


def days_without_plans(content_calendar: ibis.Table, *, month: Window) -> pd.DataFrame:
    """Next month's days with nothing planned on any channel.

    Grain: day. Columns: planned_date, weekday.
    """
    following = next_month(month)
    busy = set(_planned(content_calendar, following).planned_date)
    empty = [day for day in following.dates() if day not in busy]
    return pd.DataFrame({"planned_date": pd.to_datetime(empty),
                         "weekday": [day.strftime("%A") for day in empty]})
