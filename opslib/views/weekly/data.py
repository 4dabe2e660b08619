"""The weekly pages' data: each metric for (store, week), computed once per page.

A week is a `Window` of seven local days (D−6…D; `opslib.views.report_window`). Every
weekly figure comes from the daily metric functions over that window, so a week is the
sum of its days. Results are cached per store object and window; callers must not modify
the frames they get. Every loader raises MissingTableError when a table it needs is absent.
"""

from __future__ import annotations

import datetime as dt
import functools

import pandas as pd

from opslib.errors import MissingTableError
from opslib.metrics import (
    cash, competitors, content, fulfilment, funnel, kpis, marketing, periods, returns, sales,
    service, social, support, web,
)
from opslib.metrics.common import lookback
from opslib.schema import TABLES
from opslib.store import Store, Window

__all__ = [
    "TREND_WEEKS", "week_before", "week_last_year", "history_start", "has_history", "kpi_days",
    "kpi_week", "shipments_week", "returns_week", "tickets_days", "tickets_week", "trend_days",
    "site_week", "traffic_by_source", "product_pages", "cash_days", "cash_week",
    "cash_by_category", "other_currency_lines", "balances", "payables", "social_days",
    "followers_days", "social_week", "social_by_platform", "posts", "email_days", "email_week",
    "emails", "ad_days", "ads", "new_customers", "unresolved", "call_back", "csat_days",
    "csat_week", "tickets_by", "contact_rate_trend", "price_position", "price_changes",
    "category_trends", "products_to_improve",
]

TREND_WEEKS = 8
_CACHE = 256


def week_before(week: Window) -> Window:
    return periods.previous_period(week)


def week_last_year(week: Window) -> Window:
    return periods.same_period_last_year(week)


@functools.lru_cache(maxsize=_CACHE)
def history_start(store: Store, table: str) -> dt.date | None:
    """The first local day of a table's data (by its time column); None when it is empty."""
    column = TABLES[table].time_column
    values = store.table(table)[column]
    first = values.min().execute()
    if first is None or first != first:  # None or NaT
        return None
    if isinstance(first, pd.Timestamp) and first.tzinfo is not None:
        return first.tz_convert(store.zone).date()
    return pd.Timestamp(first).date()


def has_history(store: Store, table: str, window: Window) -> bool:
    """Whether the table's data reach back to the start of `window` (for last-year figures)."""
    first = history_start(store, table) if store.has(table) else None
    return first is not None and first <= window.start


@functools.lru_cache(maxsize=_CACHE)
def kpi_days(store: Store, window: Window) -> pd.DataFrame:
    """kpis.daily_kpis over the window (sessions and ad spend empty when absent)."""
    traffic = web.daily_traffic(store.table("web_traffic_daily"), window=window) \
        if store.has("web_traffic_daily") else None
    ads_daily = ad_days(store, window) if store.has("ad_spend_daily") else None
    daily = sales.daily_sales(store.table("orders"), store.table("order_lines"),
                              store.optional("returns"), window=window)
    return kpis.daily_kpis(daily, traffic, ads_daily)


def kpi_week(store: Store, window: Window) -> dict[str, float | None]:
    """periods.kpi_totals of the window's daily KPIs."""
    return periods.kpi_totals(kpi_days(store, window))


@functools.lru_cache(maxsize=_CACHE)
def shipments_week(store: Store, window: Window) -> dict[str, int]:
    frame = fulfilment.daily_shipments(store.table("shipments"), window=window)
    return {"count_shipments": int(frame.count_shipments.sum())}


@functools.lru_cache(maxsize=_CACHE)
def returns_week(store: Store, window: Window) -> dict[str, float]:
    frame = returns.daily_returns(store.table("returns"), window=window)
    return {"count_returns": int(frame.count_returns_requested.sum()),
            "refund_amount": float(frame.returns_amount.sum()),
            "count_refunds": int(frame.count_refunds.sum())}


@functools.lru_cache(maxsize=_CACHE)
def tickets_days(store: Store, window: Window) -> pd.DataFrame:
    return support.daily_tickets(store.table("tickets"), window=window,
                                 sla_hours=store.settings.service.first_response_hours)


def tickets_week(store: Store, window: Window) -> dict[str, int]:
    return {"count_tickets_opened": int(tickets_days(store, window).count_tickets_opened.sum())}


@functools.lru_cache(maxsize=_CACHE)
def trend_days(store: Store, week: Window) -> pd.DataFrame:
    """Daily KPIs (and tickets, when present) for the TREND_WEEKS weeks to D."""
    span = lookback(week, 7 * TREND_WEEKS)
    frame = kpi_days(store, span)
    if store.has("tickets"):
        frame = frame.merge(tickets_days(store, span)[["date_day", "count_tickets_opened"]],
                            on="date_day", how="left")
    return frame


@functools.lru_cache(maxsize=_CACHE)
def site_week(store: Store, window: Window) -> dict[str, float | None]:
    return funnel.site_totals(store.table("web_traffic_daily"), window=window)


@functools.lru_cache(maxsize=_CACHE)
def traffic_by_source(store: Store, window: Window) -> pd.DataFrame:
    return funnel.traffic_by_source(store.table("web_traffic_daily"), window=window)


@functools.lru_cache(maxsize=_CACHE)
def product_pages(store: Store, window: Window) -> pd.DataFrame:
    return funnel.product_page_results(
        store.table("product_views_daily"), store.table("orders"), store.table("order_lines"),
        store.optional("products"), window=window,
        inventory_snapshots=store.optional("inventory_snapshots"))


def _currency(store: Store) -> str:
    return store.settings.store.currency


@functools.lru_cache(maxsize=_CACHE)
def cash_days(store: Store, window: Window) -> pd.DataFrame:
    return cash.daily_cash(store.table("bank_transactions"), window=window,
                           currency=_currency(store))


def cash_week(store: Store, window: Window) -> dict[str, float | int]:
    return cash.cash_totals(cash_days(store, window))


@functools.lru_cache(maxsize=_CACHE)
def cash_by_category(store: Store, window: Window) -> pd.DataFrame:
    return cash.cash_by_category(store.table("bank_transactions"), window=window,
                                 currency=_currency(store))


@functools.lru_cache(maxsize=_CACHE)
def other_currency_lines(store: Store, window: Window) -> pd.DataFrame:
    return cash.other_currency_lines(store.table("bank_transactions"), window=window,
                                     currency=_currency(store))


@functools.lru_cache(maxsize=_CACHE)
def balances(store: Store, week: Window) -> pd.DataFrame:
    """End-of-day balances per account for the TREND_WEEKS weeks to D."""
    return cash.daily_balance(store.table("bank_transactions"),
                              window=lookback(week, 7 * TREND_WEEKS), currency=_currency(store))


@functools.lru_cache(maxsize=_CACHE)
def payables(store: Store, week: Window) -> pd.DataFrame:
    return cash.payables_due(store.table("purchase_orders"), as_of=lookback(week, 1))


@functools.lru_cache(maxsize=_CACHE)
def social_days(store: Store, window: Window) -> pd.DataFrame:
    return social.daily_social(store.table("social_posts"), window=window)


@functools.lru_cache(maxsize=_CACHE)
def followers_days(store: Store, window: Window) -> pd.DataFrame:
    return social.daily_followers(store.table("social_accounts_daily"), window=window)


def social_week(store: Store, window: Window) -> dict[str, float | None]:
    """social.social_totals for the window; a figure is None when its table is absent."""
    posts_daily = social_days(store, window) if store.has("social_posts") else None
    followers = followers_days(store, window) if store.has("social_accounts_daily") else None
    if posts_daily is None and followers is None:
        raise MissingTableError("social_posts")
    return social.social_totals(posts_daily, followers)


@functools.lru_cache(maxsize=_CACHE)
def social_by_platform(store: Store, window: Window) -> pd.DataFrame:
    posts_table = store.optional("social_posts")
    accounts = store.optional("social_accounts_daily")
    if posts_table is None and accounts is None:
        raise MissingTableError("social_posts")
    return social.social_by_platform(posts_table, accounts, window=window,
                                     targets=store.settings.targets.social)


@functools.lru_cache(maxsize=_CACHE)
def posts(store: Store, window: Window) -> pd.DataFrame:
    return marketing.social_posts_published(store.table("social_posts"), window=window)


@functools.lru_cache(maxsize=_CACHE)
def email_days(store: Store, window: Window) -> pd.DataFrame:
    return social.daily_email(store.table("email_campaigns"), window=window)


def email_week(store: Store, window: Window) -> dict[str, float | None]:
    return social.email_totals(email_days(store, window))


@functools.lru_cache(maxsize=_CACHE)
def emails(store: Store, window: Window) -> pd.DataFrame:
    return social.email_by_name(store.table("email_campaigns"), window=window)


@functools.lru_cache(maxsize=_CACHE)
def ad_days(store: Store, window: Window) -> pd.DataFrame:
    return marketing.daily_ad_spend(store.table("ad_spend_daily"), window=window)


@functools.lru_cache(maxsize=_CACHE)
def ads(store: Store, window: Window) -> pd.DataFrame:
    return marketing.ad_results(store.table("ad_spend_daily"), window=window)


@functools.lru_cache(maxsize=_CACHE)
def new_customers(store: Store, window: Window) -> int:
    return social.count_new_customers(store.table("orders"), window=window)


def _service_rules(store: Store) -> dict[str, int]:
    rules = store.settings.service
    return {"after_days": rules.unresolved_after_days, "sla_hours": rules.first_response_hours}


@functools.lru_cache(maxsize=_CACHE)
def unresolved(store: Store, week: Window) -> pd.DataFrame:
    return service.unresolved_tickets(store.table("tickets"), as_of=lookback(week, 1),
                                      **_service_rules(store))


@functools.lru_cache(maxsize=_CACHE)
def call_back(store: Store, week: Window) -> pd.DataFrame:
    return service.customers_to_call_back(
        store.table("tickets"), store.optional("surveys"), store.optional("customers"),
        as_of=lookback(week, 1), window=week, **_service_rules(store))


@functools.lru_cache(maxsize=_CACHE)
def csat_days(store: Store, window: Window) -> pd.DataFrame:
    return service.daily_csat(store.table("surveys"), window=window)


def csat_week(store: Store, window: Window) -> dict[str, float | int | None]:
    return service.csat_totals(csat_days(store, window))


@functools.lru_cache(maxsize=_CACHE)
def tickets_by(store: Store, window: Window, by: str) -> pd.DataFrame:
    return service.tickets_by(store.table("tickets"), store.optional("products"),
                              window=window, by=by)


@functools.lru_cache(maxsize=_CACHE)
def contact_rate_trend(store: Store, week: Window) -> pd.DataFrame:
    """Weekly contact rate for the TREND_WEEKS weeks to D."""
    span = lookback(week, 7 * TREND_WEEKS)
    return service.weekly_contact_rate(tickets_days(store, span), kpi_days(store, span),
                                       last_day=week.end)


@functools.lru_cache(maxsize=_CACHE)
def price_position(store: Store, week: Window) -> pd.DataFrame:
    return competitors.price_position(store.table("competitor_prices"),
                                      store.table("products"), as_of=lookback(week, 1))


@functools.lru_cache(maxsize=_CACHE)
def price_changes(store: Store, week: Window) -> pd.DataFrame:
    return competitors.price_changes(store.table("competitor_prices"), store.table("products"),
                                     window=week)


@functools.lru_cache(maxsize=_CACHE)
def category_trends(store: Store, week: Window) -> pd.DataFrame:
    return competitors.category_trends(store.table("orders"), store.table("order_lines"),
                                       store.table("products"), window=week)


@functools.lru_cache(maxsize=_CACHE)
def products_to_improve(store: Store, week: Window) -> pd.DataFrame:
    views_ready = all(store.has(t) for t in ("product_views_daily", "orders", "order_lines"))
    return content.products_to_improve(
        store.table("products"), window=week,
        product_views_daily=store.optional("product_views_daily") if views_ready else None,
        orders=store.optional("orders") if views_ready else None,
        order_lines=store.optional("order_lines") if views_ready else None,
        returns=store.optional("returns"), tickets=store.optional("tickets"),
        inventory_snapshots=store.optional("inventory_snapshots"))
