"""The performance review's money sections: cost of goods and gross profit, the
contribution margin waterfall, shipping profit and loss, where sales came from, and what
customers are worth against what they cost to win."""

from __future__ import annotations

import datetime as dt
import functools

import altair as alt
import pandas as pd

from opslib import charts, glossary
from opslib.metrics import profit, sources, value
from opslib.store import Store, Window
from opslib.views import money
from opslib.views.base import section
from opslib.views.monthly import data
from opslib.views.monthly.common import (
    comparison_table, comparison_tiles, month_label, periods, recorded, table, three_months,
)

__all__ = ["ROWS", "profit_headline", "waterfall", "profit_by_product", "shipping",
           "where_sales_come_from", "customer_value", "figures"]

# The tables these sections read, as READS of a page (checked before the notebook runs).
READS = ("products", "orders", "order_lines", "returns", "purchase_orders", "shipments",
         "bank_transactions", "ad_spend_daily", "customers")

ROWS = glossary.rows(
    "net_sales", "cogs", "gross_profit", "gross_margin_rate", "unknown_cost_rate",
    "shipping_margin", "contribution_margin",
)
_RECORDED = ("cogs", "gross_profit", "gross_margin_rate", "unknown_cost_rate",
             "shipping_charged", "shipping_cost", "shipping_margin", "payment_fees",
             "contribution_margin")
_TITLES = {"channel": "By channel", "source": "By marketing source",
           "shipping_country": "By country (shipping address)",
           "discount_code": "By discount code (this month's codes)"}


def _parts(store: Store, window: Window) -> dict[str, float | None]:
    store.table("products")
    return money.contribution_parts(store, window)


@section("Cost of goods and gross profit")
def profit_headline(store: Store, day: dt.date) -> list:
    """Gross profit and contribution margin against the month before and last year."""
    values = three_months(store, day, _parts)
    return [comparison_tiles(store, values, ROWS), comparison_table(store, day, values, ROWS),
            *money.absent_note(store, money.OPTIONAL)]


@section("From net sales to contribution margin")
def waterfall(store: Store, day: dt.date) -> list:
    """The month's waterfall chart, and the steps for the three months."""
    values = three_months(store, day, _parts)
    steps = profit.contribution_steps(values[0])
    steps["label"] = [glossary.label(name) for name in steps.step]
    steps["kind"] = ["total" if name in ("net_sales", "contribution_margin") else
                     "up" if amount >= 0 else "down"
                     for name, amount in zip(steps.step, steps.amount)]
    currency = store.settings.store.currency
    order = list(steps.label)
    chart = alt.Chart(steps).mark_bar().encode(
        x=alt.X("label:N", sort=order, title=None),
        y=alt.Y("start:Q", title=glossary.axis_title("contribution_margin", currency=currency)),
        y2="end:Q",
        color=alt.Color("kind:N", title=None, scale=alt.Scale(
            domain=["total", "up", "down"], range=["#455a64", "#2e7d32", "#c62828"])),
        tooltip=["label", "amount"]).properties(
        title=f"Contribution margin, {month_label(periods(store, day)[0])}", width=640,
        height=240)
    rows = [(name, glossary.label(name), "money") for name, _ in profit.CONTRIBUTION_STEPS]
    rows.append(("contribution_margin", glossary.label("contribution_margin"), "money"))
    return [charts.to_display(chart), comparison_table(store, day, values, rows)]


@section("Profit by category and product")
def profit_by_product(store: Store, day: dt.date) -> list:
    """Gross profit per category; the biggest gains and drops in gross profit per SKU."""
    now, before, _ = periods(store, day)
    categories = _by_sku(store, now)
    return [table(store, _by_category(store, now), title=f"Categories, {month_label(now)}"),
            table(store, profit.profit_changes(categories, _by_sku(store, before)),
                  title=f"Winners and losers by gross profit: {month_label(now)} against "
                        f"{month_label(before)}", empty="No product sold in either month."),
            table(store, categories[~categories.is_cost_known & categories.sku.notna()],
                  title="Products sold without a known unit cost (not in cogs)",
                  empty="Every product sold has a unit cost.")]


@functools.lru_cache(maxsize=64)
def _by_sku(store: Store, window: Window) -> pd.DataFrame:
    t = store.table
    return profit.profit_by_sku(t("orders"), t("order_lines"), store.optional("returns"),
                                t("products"), store.optional("purchase_orders"),
                                window=window)


def _by_category(store: Store, window: Window) -> pd.DataFrame:
    t = store.table
    return profit.profit_by_category(t("orders"), t("order_lines"),
                                     store.optional("returns"), t("products"),
                                     store.optional("purchase_orders"), window=window)


@section("Shipping profit and loss")
def shipping(store: Store, day: dt.date) -> list:
    """Shipping charged against what the carriers charged, per carrier."""
    now, before, _ = periods(store, day)
    return [table(store, money.shipping(store, now), title=month_label(now)),
            table(store, money.shipping(store, before), title=month_label(before)),
            *money.absent_note(store, ("shipments",))]


@section("Where sales came from")
def where_sales_come_from(store: Store, day: dt.date) -> list:
    """By channel, source, country and discount code; new against returning customers;
    customers by country and city."""
    now = periods(store, day)[0]
    t = store.table
    parts = [table(store, money.sales_by(store, now, by), title=_TITLES[by],
                   units={by: "text"}) for by in sources.DIMENSIONS]
    parts.append(table(store, sources.new_vs_returning_categories(
        t("orders"), t("order_lines"), t("products"), window=now,
        history=data.customer_history(store, day)),
        title="What new and returning customers buy (line sales by category)"))
    if store.has("customers"):
        parts.append(table(store, sources.customers_by_place(
            t("orders"), t("order_lines"), t("customers"), window=now),
            title="Customers by country and city", limit=30))
    return parts


@functools.lru_cache(maxsize=64)
def _cohorts(store: Store, day: dt.date) -> pd.DataFrame:
    t = store.table
    return value.cohort_value(t("orders"), t("order_lines"), t("products"),
                              store.optional("purchase_orders"),
                              store.optional("ad_spend_daily"),
                              as_of=store.window(day), history=data.customer_history(store, day))


@section("Customer value and acquisition cost")
def customer_value(store: Store, day: dt.date) -> list:
    """Revenue and gross profit per customer of each monthly cohort at 3, 6 and 12 months;
    acquisition cost, LTV:CAC and payback."""
    frame = _cohorts(store, day)
    return [table(store, frame, units={"cohort_month": "month"}),
            *money.absent_note(store, ("ad_spend_daily",))]


def figures(store: Store, day: dt.date) -> dict[str, float | None]:
    """The money figures with _prev_month and _prev_year twins, and the month's
    customer_acquisition_cost, ltv_to_cac_ratio and payback_months."""
    if not store.has("products"):
        return {**{name + suffix: None for name in _RECORDED
                   for suffix in ("", "_prev_month", "_prev_year")},
                "customer_acquisition_cost": None, "ltv_to_cac_ratio": None,
                "payback_months": None}
    out = recorded(three_months(store, day, _parts), _RECORDED)
    out.update(value.value_figures(_cohorts(store, day)))
    return out
