"""Calendar months for the monthly playbook, and the order values its metrics share.

The monthly report covers the calendar month of D (DESIGN §5) and sets it against the month
before and the same month a year earlier. A month is an ordinary `Window`, so every daily
metric function gives the month's figure when called with it.

>>> m = month_of("2025-03-14", zone="Europe/London")
>>> m.start, m.end
(datetime.date(2025, 3, 1), datetime.date(2025, 3, 31))
>>> previous_month(m).start, same_month_last_year(m).end, next_month(m).end
(datetime.date(2025, 2, 1), datetime.date(2024, 3, 31), datetime.date(2025, 4, 30))
>>> leap = month_of("2024-02-10", zone="UTC")
>>> same_month_last_year(leap).end
datetime.date(2023, 2, 28)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import ibis
from ibis import _

from opslib.metrics.common import require
from opslib.metrics.sales import counted_lines, counted_orders
from opslib.store import Window

__all__ = ["HISTORY_START", "COMPARISONS", "month_of", "previous_month", "next_month",
           "same_month_last_year", "months_back", "trailing_months", "month_starts",
           "history", "compare", "order_values"]

# The first day any history query reads from: far enough back for every real shop.
HISTORY_START = dt.date(1970, 1, 1)
# Suffixes of the comparison figures: this month, the month before, the same month last year.
COMPARISONS = ("", "_prev_month", "_prev_year")


def _last_day(year: int, month: int) -> dt.date:
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return following - dt.timedelta(days=1)


def month_of(day: dt.date | str, *, zone: str) -> Window:
    """The calendar month (local days) that contains `day`."""
    day = dt.date.fromisoformat(str(day))
    return Window.of(day.replace(day=1), _last_day(day.year, day.month), zone=zone)


def months_back(month: Window, count: int) -> Window:
    """The calendar month `count` months before `month` (negative = later).

    >>> months_back(month_of("2025-01-31", zone="UTC"), 2).start
    datetime.date(2024, 11, 1)
    """
    index = month.start.year * 12 + month.start.month - 1 - count
    return month_of(dt.date(index // 12, index % 12 + 1, 1), zone=month.zone)


def previous_month(month: Window) -> Window:
    """The calendar month before."""
    return months_back(month, 1)


def next_month(month: Window) -> Window:
    """The calendar month after."""
    return months_back(month, -1)


def same_month_last_year(month: Window) -> Window:
    """The same calendar month a year earlier."""
    return months_back(month, 12)


def trailing_months(month: Window, count: int) -> Window:
    """The `count` calendar months ending with `month`, as one window.

    >>> trailing_months(month_of("2025-03-02", zone="UTC"), 13).start
    datetime.date(2024, 3, 1)
    """
    if count < 1:
        raise ValueError(f"a span of months needs at least 1 month, found {count}")
    return Window.of(months_back(month, count - 1).start, month.end, zone=month.zone)


def month_starts(window: Window) -> list[dt.date]:
    """The first day of every calendar month the window touches, oldest first."""
    out, month = [], month_of(window.start, zone=window.zone)
    while month.start <= window.end:
        out.append(month.start)
        month = next_month(month)
    return out


def history(as_of: Window) -> Window:
    """Every local day from HISTORY_START to the end of the as-of window (all history)."""
    return Window.of(HISTORY_START, as_of.end, zone=as_of.zone)


def compare(figures: Callable[[Window], dict[str, float | None]], month: Window,
            names: tuple[str, ...] | None = None) -> dict[str, float | None]:
    """A month's figures with the month before (`_prev_month`) and last year (`_prev_year`).

    `figures(window)` returns {name: value} for one month; `names` keeps only those.

    >>> m = month_of("2025-03-01", zone="UTC")
    >>> compare(lambda w: {"days": w.days}, m)
    {'days': 31, 'days_prev_month': 28, 'days_prev_year': 31}
    """
    windows = zip(COMPARISONS, (month, previous_month(month), same_month_last_year(month)))
    results = {suffix: figures(window) for suffix, window in windows}
    keep = names or tuple(results[""])
    return {name + suffix: results[suffix][name] for name in keep for suffix in COMPARISONS}


def order_values(orders: ibis.Table, order_lines: ibis.Table, *,
                 window: Window) -> ibis.Table:
    """The counted orders of the window with what each was worth (an engine expression).

    Grain: order. Columns: order_id, customer_id, email, customer_key (the customer_id,
    else the order's email in lower case for a guest checkout), created_at, date_day,
    discount_code, shipping_amount, gross_sales (Σ unit price × quantity of its lines),
    discounts (the order's discount_amount), sales_amount = gross_sales − discounts (what
    the average order value averages; returns are booked later, on their refund date).
    The orders and lines are those opslib.metrics.sales counts, so the window's
    Σ sales_amount equals its gross sales − discounts.
    """
    require(orders, "orders", ("order_id", "customer_id", "email", "discount_code"))
    placed = counted_orders(orders, window=window)
    lines = counted_lines(orders, order_lines, window=window)
    gross = lines.group_by("order_id").aggregate(gross_sales=_.line_gross.sum())
    joined = placed.left_join(gross, "order_id")
    gross_sales = joined.gross_sales.fill_null(0).cast("float64")
    return joined.select(
        "order_id", "customer_id", "email", "created_at", "date_day", "discount_code",
        "shipping_amount",
        customer_key=ibis.coalesce(joined.customer_id, joined.email.lower()),
        gross_sales=gross_sales, discounts=joined.discount_amount.cast("float64"),
        sales_amount=gross_sales - joined.discount_amount.cast("float64"))
