"""The KPI report's money sections: gross profit against the week before and last year,
the month to date against the goals, and where the week's sales came from."""

from __future__ import annotations

from opslib import glossary
from opslib.metrics import sources
from opslib.store import Store, Window
from opslib.views import money
from opslib.views.base import section
from opslib.views.weekly import common

__all__ = ["ROWS", "gross_profit", "goals", "where_sales_come_from", "figures"]

# The tables these sections read, as READS of a page (checked before the notebook runs).
READS = ("products", "orders", "order_lines", "returns", "purchase_orders")

ROWS = glossary.rows(
    "net_sales", "cogs", "gross_profit", "gross_margin_rate", "unknown_cost_rate",
)
_RECORDED = ("cogs", "gross_profit", "gross_margin_rate")
_TITLES = {"channel": "By channel", "source": "By marketing source",
           "shipping_country": "By country", "discount_code": "By discount code"}


@section("Gross profit")
def gross_profit(store: Store, week: Window) -> list:
    """Cost of goods and gross profit against the week before and the same week last year."""
    store.table("products")
    return common.comparison(store, week, ROWS, money.profit_figures, history="orders") + \
        money.absent_note(store, ("purchase_orders", "returns"))


@section("Month to date against the goals")
def goals(store: Store, week: Window) -> list:
    """The pacing of D's month (nothing without `[goals]`)."""
    return money.pacing_section(store, week.end).parts


@section("Where the week's sales came from")
def where_sales_come_from(store: Store, week: Window) -> list:
    """Orders, sales, new customers and gross profit by channel, source, country and code."""
    parts = []
    for by in sources.DIMENSIONS:
        parts.append(common.table(store, money.sales_by(store, week, by), title=_TITLES[by],
                                  units={by: "text"}))
    return parts


def figures(store: Store, week: Window) -> dict[str, float | None]:
    """cogs, gross_profit and gross_margin_rate, each with its _prev_week twin (None when
    products are absent)."""
    if not store.has("products"):
        return {name + suffix: None for name in _RECORDED for suffix in ("", "_prev_week")}
    return common.figures(store, week, _RECORDED, money.profit_figures)
