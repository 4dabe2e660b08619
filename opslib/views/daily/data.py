"""The daily pages' data: each metric for (store, day), computed once per page.

Several sections (and the journal's to-do list) need the same frame; the results are
cached per store object and day, so a page asks the engine once. Callers must not modify
the frames they get. Every loader raises MissingTableError when a table it needs is absent.
"""

from __future__ import annotations

import datetime as dt
import functools

import pandas as pd

from opslib.errors import MissingTableError
from opslib.metrics import (
    fulfilment, kpis, marketing, outreach, returns, sales, stock, support, web,
)
from opslib.metrics.common import lookback
from opslib.store import Store, Window

__all__ = [
    "WRONG_ITEM_DAYS", "PO_HORIZON_DAYS", "TREND_DAYS", "as_of", "sales_day", "sales_trend",
    "shipments_day", "open_orders", "pick_list", "late_shipments", "tracking_not_sent",
    "wrong_items", "open_returns", "refunds_due", "returns_received", "returns_day",
    "open_tickets", "tickets_day", "first_responses", "stock_cover", "out_of_stock",
    "incoming_purchase_orders", "kpi_days", "kpi_comparison", "calendar", "posts", "emails",
    "ads", "promotions", "unpaid_orders", "abandoned_checkouts", "review_requests",
]

WRONG_ITEM_DAYS = 7  # wrong-item returns are rare: the orders page shows the last week
PO_HORIZON_DAYS = 14  # purchase orders due within two weeks (or late)
TREND_DAYS = 28  # the KPI page's charts
_CACHE = 256


def as_of(store: Store, day: dt.date) -> Window:
    """Day D in the store's time zone (its `hi` is the end of D)."""
    return Window.of(day, zone=store.zone)


@functools.lru_cache(maxsize=_CACHE)
def sales_trend(store: Store, day: dt.date, days: int) -> pd.DataFrame:
    """daily_sales for the `days` days to D (returns booked only when the table exists)."""
    refunds = store.optional("returns")
    return sales.daily_sales(store.table("orders"), store.table("order_lines"), refunds,
                             window=lookback(as_of(store, day), days))


def sales_day(store: Store, day: dt.date) -> dict[str, float | None]:
    """Day D's sales figures (sales.totals of one day)."""
    return sales.totals(sales_trend(store, day, 1))


@functools.lru_cache(maxsize=_CACHE)
def shipments_day(store: Store, day: dt.date) -> dict[str, int]:
    frame = fulfilment.daily_shipments(store.table("shipments"), window=as_of(store, day))
    return {"count_shipments": int(frame.count_shipments.sum()),
            "count_orders_shipped": int(frame.count_orders_shipped.sum())}


@functools.lru_cache(maxsize=_CACHE)
def open_orders(store: Store, day: dt.date) -> pd.DataFrame:
    return fulfilment.open_orders(
        store.table("orders"), store.table("order_lines"), store.table("shipments"),
        as_of=as_of(store, day), ship_within_hours=store.settings.service.ship_within_hours)


@functools.lru_cache(maxsize=_CACHE)
def pick_list(store: Store, day: dt.date) -> pd.DataFrame:
    products = store.optional("products")
    return fulfilment.pick_list(store.table("orders"), store.table("order_lines"),
                                store.table("shipments"), products, as_of=as_of(store, day))


@functools.lru_cache(maxsize=_CACHE)
def late_shipments(store: Store, day: dt.date) -> pd.DataFrame:
    return fulfilment.late_shipments(store.table("shipments"), store.table("orders"),
                                     as_of=as_of(store, day))


@functools.lru_cache(maxsize=_CACHE)
def tracking_not_sent(store: Store, day: dt.date) -> pd.DataFrame:
    return fulfilment.tracking_not_sent(store.table("shipments"), store.table("orders"),
                                        as_of=as_of(store, day))


@functools.lru_cache(maxsize=_CACHE)
def wrong_items(store: Store, day: dt.date) -> pd.DataFrame:
    return fulfilment.wrong_item_returns(store.table("returns"), store.table("orders"),
                                         window=lookback(as_of(store, day), WRONG_ITEM_DAYS))


@functools.lru_cache(maxsize=_CACHE)
def open_returns(store: Store, day: dt.date) -> pd.DataFrame:
    return returns.open_returns(store.table("returns"), store.table("orders"),
                                as_of=as_of(store, day))


@functools.lru_cache(maxsize=_CACHE)
def refunds_due(store: Store, day: dt.date) -> pd.DataFrame:
    return returns.refunds_due(store.table("returns"), store.table("orders"),
                               as_of=as_of(store, day))


@functools.lru_cache(maxsize=_CACHE)
def returns_received(store: Store, day: dt.date) -> pd.DataFrame:
    return returns.returns_received(store.table("returns"), store.table("orders"),
                                    window=as_of(store, day))


@functools.lru_cache(maxsize=_CACHE)
def returns_day(store: Store, day: dt.date) -> pd.Series:
    return returns.daily_returns(store.table("returns"), window=as_of(store, day)).iloc[0]


@functools.lru_cache(maxsize=_CACHE)
def open_tickets(store: Store, day: dt.date) -> pd.DataFrame:
    return support.open_tickets(store.table("tickets"), as_of=as_of(store, day),
                                sla_hours=store.settings.service.first_response_hours)


@functools.lru_cache(maxsize=_CACHE)
def tickets_day(store: Store, day: dt.date) -> pd.Series:
    return support.daily_tickets(store.table("tickets"), window=as_of(store, day),
                                 sla_hours=store.settings.service.first_response_hours).iloc[0]


@functools.lru_cache(maxsize=_CACHE)
def first_responses(store: Store, day: dt.date) -> dict[str, float | None]:
    return support.first_response_summary(
        store.table("tickets"), window=as_of(store, day),
        sla_hours=store.settings.service.first_response_hours)


def _stock_tables(store: Store) -> tuple:
    return (store.table("orders"), store.table("order_lines"),
            store.table("inventory_snapshots"), store.table("products"))


@functools.lru_cache(maxsize=_CACHE)
def stock_cover(store: Store, day: dt.date) -> pd.DataFrame:
    rules = store.settings.stock
    return stock.stock_cover(*_stock_tables(store), as_of=as_of(store, day),
                             bestseller_count=rules.bestseller_count,
                             low_cover_days=rules.low_cover_days)


@functools.lru_cache(maxsize=_CACHE)
def out_of_stock(store: Store, day: dt.date) -> pd.DataFrame:
    return stock.out_of_stock(*_stock_tables(store), as_of=as_of(store, day),
                              bestseller_count=store.settings.stock.bestseller_count)


@functools.lru_cache(maxsize=_CACHE)
def incoming_purchase_orders(store: Store, day: dt.date) -> pd.DataFrame:
    products = store.optional("products")
    return stock.incoming_purchase_orders(store.table("purchase_orders"), products,
                                          as_of=as_of(store, day), horizon_days=PO_HORIZON_DAYS)


@functools.lru_cache(maxsize=_CACHE)
def kpi_days(store: Store, day: dt.date) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """daily_kpis over D and the 28 days before, and the optional tables that are absent."""
    days = kpis.COMPARE_DAYS + 1
    window = lookback(as_of(store, day), days)
    missing = []
    traffic = ads = None
    try:
        traffic = web.daily_traffic(store.table("web_traffic_daily"), window=window)
    except MissingTableError as err:
        missing.append(err.table)
    try:
        ads = marketing.daily_ad_spend(store.table("ad_spend_daily"), window=window)
    except MissingTableError as err:
        missing.append(err.table)
    frame = kpis.daily_kpis(sales_trend(store, day, days), traffic, ads)
    return frame, tuple(missing)


@functools.lru_cache(maxsize=_CACHE)
def kpi_comparison(store: Store, day: dt.date) -> pd.DataFrame:
    targets = store.settings.targets
    return kpis.compare_kpis(kpi_days(store, day)[0], day=day, alert_band=targets.alert_band,
                             bands=targets.bands)


@functools.lru_cache(maxsize=_CACHE)
def calendar(store: Store, day: dt.date) -> pd.DataFrame:
    return marketing.calendar_items(store.table("content_calendar"), as_of=as_of(store, day))


@functools.lru_cache(maxsize=_CACHE)
def posts(store: Store, day: dt.date) -> pd.DataFrame:
    return marketing.social_posts_published(store.table("social_posts"),
                                            window=as_of(store, day))


@functools.lru_cache(maxsize=_CACHE)
def emails(store: Store, day: dt.date) -> pd.DataFrame:
    return marketing.email_results(store.table("email_campaigns"), window=as_of(store, day))


@functools.lru_cache(maxsize=_CACHE)
def ads(store: Store, day: dt.date) -> pd.DataFrame:
    return marketing.ad_results(store.table("ad_spend_daily"), window=as_of(store, day))


@functools.lru_cache(maxsize=_CACHE)
def promotions(store: Store, day: dt.date) -> pd.DataFrame:
    orders = store.optional("orders")
    return marketing.live_promotions(store.table("promotions"), orders, as_of=as_of(store, day))


@functools.lru_cache(maxsize=_CACHE)
def unpaid_orders(store: Store, day: dt.date) -> pd.DataFrame:
    return outreach.unpaid_orders(store.table("orders"), store.optional("customers"),
                                  as_of=as_of(store, day))


@functools.lru_cache(maxsize=_CACHE)
def abandoned_checkouts(store: Store, day: dt.date) -> pd.DataFrame:
    return outreach.abandoned_checkouts(store.table("checkouts"), store.table("orders"),
                                        store.optional("customers"), as_of=as_of(store, day))


@functools.lru_cache(maxsize=_CACHE)
def review_requests(store: Store, day: dt.date) -> pd.DataFrame:
    """outreach.review_requests; returns, tickets or surveys that are absent check nothing."""
    return outreach.review_requests(
        store.table("orders"), store.table("shipments"), store.optional("returns"),
        store.optional("tickets"), store.optional("surveys"), store.optional("customers"),
        as_of=as_of(store, day))
