"""The monthly pages' data: each metric for (store, month), computed once per page.

Every monthly count and sum comes from the daily metric functions over the month's window.
Results are cached per store object and window (or day); callers must not modify the
frames they get. Every loader raises MissingTableError when a table it needs is absent.
"""

from __future__ import annotations

import datetime as dt
import functools

import ibis
import pandas as pd

from opslib.metrics import (
    customers, forecast, marketing_plan, performance, planning, policy, sales, social, web,
)
from opslib.metrics.months import month_of, trailing_months
from opslib.store import Store, Window

__all__ = ["TREND_MONTHS", "first_order_day", "COHORT_MONTHS", "sales_figures", "customer_figures",
           "customer_history", "repeat_figures", "policy_figures", "marketing_figures", "demand_history",
           "backtest", "reorder_plan", "backtest_stockouts", "stock_health", "trend"]

TREND_MONTHS = 13
COHORT_MONTHS = 12
_CACHE = 64


@functools.lru_cache(maxsize=_CACHE)
def first_order_day(store: Store) -> dt.date | None:
    """The local day of the store's first order (None without orders)."""
    first = store.table("orders").created_at.min().execute()
    if first is None or first != first:
        return None
    return pd.Timestamp(first).tz_convert(store.zone).date()


@functools.lru_cache(maxsize=_CACHE)
def sales_figures(store: Store, window: Window) -> dict[str, float | None]:
    """Orders, net sales, AOV (sales.totals of the days), conversion and cart abandonment."""
    t = store.table
    out: dict[str, float | None] = dict(sales.totals(sales.daily_sales(
        t("orders"), t("order_lines"), store.optional("returns"), window=window)))
    out["count_sessions"] = None
    out["conversion_rate"] = None
    out["cart_abandonment_rate"] = None
    if store.has("web_traffic_daily"):
        sessions = int(web.daily_traffic(t("web_traffic_daily"),
                                         window=window).count_sessions.sum())
        out["count_sessions"] = sessions
        out["conversion_rate"] = web.conversion_rate(out["count_orders"], sessions)
    if store.has("checkouts"):
        out.update(performance.checkout_totals(performance.daily_checkouts(
            t("checkouts"), window=window)))
    return out


@functools.lru_cache(maxsize=_CACHE)
def customer_figures(store: Store, window: Window, day: dt.date) -> dict[str, float | None]:
    """New and returning customers (count_new_customers as opslib.metrics.social counts it)
    for a window ending on or before the report day D."""
    out: dict[str, float | None] = dict(customers.customer_figures(
        store.table("orders"), window=window, history=customer_history(store, day)))
    out["count_new_customers"] = social.count_new_customers(store.table("orders"),
                                                            window=window)
    return out


@functools.lru_cache(maxsize=_CACHE)
def customer_history(store: Store, day: dt.date) -> ibis.Table:
    """Every known customer's counted orders to D (customers.customer_history), computed
    once into a temporary table: the loyalty sections all read it instead of each asking
    the engine to number every customer's orders again."""
    return store.materialize(customers.customer_history(
        store.table("orders"), store.table("order_lines"), as_of=store.window(day)))


@functools.lru_cache(maxsize=_CACHE)
def repeat_figures(store: Store, window: Window, day: dt.date) -> dict[str, object]:
    """The 90-day repeat-purchase rate of the latest cohort month reported by the window's
    end (a window ending on or before the report day D)."""
    cohort = customers.repeat_cohort_month(window.end, zone=store.zone)
    out = customers.repeat_purchase_rate(store.table("orders"), store.table("order_lines"),
                                         cohort=cohort, history=customer_history(store, day))
    return {"cohort_month": out["cohort_month"], "cohort_size": out["count_new_customers"],
            "count_repeat_customers": out["count_repeat_customers"],
            "repeat_purchase_rate_90d": out["repeat_purchase_rate"]}


@functools.lru_cache(maxsize=_CACHE)
def policy_figures(store: Store, window: Window) -> dict[str, float | None]:
    """Return rate (daily functions) and late-delivery rate of the window."""
    t = store.table
    out: dict[str, float | None] = {"return_rate": None, "late_delivery_rate": None}
    if store.has("returns"):
        out.update(policy.return_figures(t("orders"), t("order_lines"), t("returns"),
                                         window=window))
    if store.has("shipments"):
        out.update(policy.late_deliveries(t("shipments"), window=window))
    return out


@functools.lru_cache(maxsize=_CACHE)
def marketing_figures(store: Store, window: Window) -> dict[str, float | None]:
    """Email program figures and net list growth of the window."""
    out: dict[str, float | None] = {"email_open_rate": None, "email_click_rate": None,
                                    "count_net_new_subscribers": None}
    if store.has("email_campaigns"):
        out.update(marketing_plan.email_program(store.table("email_campaigns"), window=window))
    if store.has("email_list_daily"):
        out.update(marketing_plan.list_growth(marketing_plan.daily_list_growth(
            store.table("email_list_daily"), window=window)))
    return out


@functools.lru_cache(maxsize=_CACHE)
def demand_history(store: Store, day: dt.date) -> forecast.DemandHistory:
    """Units and stock per SKU × day for the forecast and its backtest as of D."""
    t = store.table
    return forecast.demand_history(t("orders"), t("order_lines"), t("inventory_snapshots"),
                                   t("products"), store.optional("promotions"),
                                   window=forecast.read_window(store.window(day)))


@functools.lru_cache(maxsize=_CACHE)
def backtest(store: Store, day: dt.date) -> forecast.Backtest | None:
    """forecast.backtest as of D (None when the history is too short for one)."""
    history = demand_history(store, day)
    if not forecast.can_backtest(history, day):
        return None
    return forecast.backtest(history, report_date=day)


@functools.lru_cache(maxsize=_CACHE)
def reorder_plan(store: Store, day: dt.date) -> pd.DataFrame:
    """planning.reorder_plan as of D with the settings' service level and cover days."""
    t, rules = store.table, store.settings.stock
    return planning.reorder_plan(
        demand_history(store, day), t("products"), t("inventory_snapshots"), t("orders"),
        t("order_lines"), store.optional("purchase_orders"), as_of=store.window(day),
        service_level=rules.service_level, cover_days=rules.cover_days,
        backtest=backtest(store, day))


@functools.lru_cache(maxsize=_CACHE)
def backtest_stockouts(store: Store, day: dt.date) -> pd.DataFrame | None:
    """planning.backtest_stockouts as of D (None without a backtest)."""
    t, rules, tested = store.table, store.settings.stock, backtest(store, day)
    if tested is None:
        return None
    return planning.backtest_stockouts(
        demand_history(store, day), tested, t("products"), t("inventory_snapshots"),
        t("orders"), t("order_lines"), store.optional("purchase_orders"),
        as_of=store.window(day), service_level=rules.service_level,
        cover_days=rules.cover_days)


@functools.lru_cache(maxsize=_CACHE)
def stock_health(store: Store, day: dt.date) -> pd.DataFrame:
    """planning.stock_health as of D."""
    t = store.table
    return planning.stock_health(t("inventory_snapshots"), t("orders"), t("order_lines"),
                                 t("products"), as_of=store.window(day))


@functools.lru_cache(maxsize=_CACHE)
def trend(store: Store, day: dt.date) -> pd.DataFrame:
    """performance.monthly_trend for the TREND_MONTHS months to D."""
    t = store.table
    window = Window.of(trailing_months(month_of(day, zone=store.zone), TREND_MONTHS).start,
                       day, zone=store.zone)
    return performance.monthly_trend(t("orders"), t("order_lines"), store.optional("returns"),
                                     store.optional("web_traffic_daily"), window=window)
